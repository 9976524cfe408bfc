/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include <gio/gunixfdlist.h>

#include "gipc-async-result-private.h"
#include "gipc-error.h"
#include "gipc-enum-types.h"
#include "gipc-pool.h"
#include "gipc-pool-wire-private.h"

/**
 * GipcPool:
 *
 * A bounded set of warm, optionally sandboxed worker processes that run
 * tasks: each task is one request (bytes and fds) and gets one result
 * (bytes and fds, or a #GError), exactly once, in the thread-default main
 * context of the [method@Gipc.Pool.run_async] caller, whatever happens to
 * the worker that runs it.
 *
 * Workers come in three kinds:
 *
 * - fork mode ([ctor@Gipc.Pool.new]): each worker is a fork of the program
 *   that runs a [callback@Gipc.WorkerFunc];
 * - fork-server targets ([ctor@Gipc.Pool.new_for_target]): each worker is
 *   a child of a [class@Gipc.ForkServer] whose target calls
 *   [func@Gipc.worker_serve]; the kind a GTK application should use;
 * - programs in any language ([ctor@Gipc.Pool.new_for_argv]) that call
 *   [func@Gipc.worker_serve] on `gipc_channel_new_inherited (0, ...)`.
 *
 * The outcomes of a task: the worker's result; the worker's own error
 * (domain, code and message travel back; a domain this process does not
 * know becomes %GIPC_ERROR_FAILED naming it); %GIPC_ERROR_WORKER_DIED when
 * the worker died running it (the message names the pid, the exit code or
 * signal, and whether a core could be dumped); %GIPC_ERROR_PROTOCOL when
 * the worker sent something that is not a result; %G_IO_ERROR_TIMED_OUT
 * after [property@Gipc.Pool:task-timeout]; %G_IO_ERROR_CANCELLED;
 * %GIPC_ERROR_POOL_BROKEN (see [property@Gipc.Pool:restart-intensity]);
 * %GIPC_ERROR_CLOSED after [method@Gipc.Pool.close_async]; or the error of
 * a worker that could not be started (e.g. %GIPC_ERROR_SPAWN_FAILED).
 * A worker's death fails only the task it ran; a task is never run twice.
 *
 * The pool's own work (starting, watching and stopping workers, timers)
 * happens in the thread-default main context of the thread that made the
 * pool ("the pool's context"), where [signal@Gipc.Pool::worker-started] and
 * [signal@Gipc.Pool::worker-exited] are emitted. [method@Gipc.Pool.run_async]
 * may be called from any thread.
 *
 * Until `gipc_process_start_async` exists, a worker is started (a
 * `fork()`, or a request to the fork server) from an idle callback in the
 * pool's context, never inside [method@Gipc.Pool.run_async].
 *
 * Since: 1.0
 */

typedef enum
{
  POOL_KIND_FORK,
  POOL_KIND_TARGET,
  POOL_KIND_ARGV,
} PoolKind;

typedef struct _PoolTask   PoolTask;
typedef struct _PoolHandle PoolHandle;
typedef struct _PoolWorker PoolWorker;

struct _GipcPool
{
  GObject parent_instance;

  /* What a worker is. Immutable after construction. */
  PoolKind         kind;
  GipcWorkerFunc   func;
  gpointer         func_data;
  GDestroyNotify   func_notify;
  GipcForkServer  *server;
  gchar           *target;
  GVariant        *target_args;
  gchar          **argv;
  GMainContext    *context;       /* the pool's context */


  /* Settings. */
  guint            max_workers;   /* 0: the number of CPUs */
  guint            min_workers;
  guint            idle_timeout;
  guint            max_tasks_per_worker;
  guint            task_timeout;
  guint            cancel_grace;
  guint            restart_intensity;
  guint            restart_period;
  guint            max_queued;
  GipcSandboxFlags sandbox;
  guint64          memory_limit;
  GPtrArray       *allowed_paths;     /* of gchar*, "r:" or "w:" prefixed */
  gboolean         allow_system_data; /* gipc_pool_sandbox_allow_system_data () */

  /* State. */
  GQueue           queue;             /* of PoolTask*, waiting for a worker */
  GList           *workers;           /* of PoolWorker*, attached */
  guint            n_running;
  guint64          next_task_id;
  GSource         *dispatch_source;
  GQueue           deaths;            /* monotonic times (gint64*) of unexpected deaths */
  gboolean         broken;
  gboolean         closing;
  GList           *close_tasks;       /* of PoolTask*: close_async calls */
  guint            n_alive;           /* worker processes not yet gone, attached or not */
  PoolHandle      *handle;            /* how tasks reach the pool */
  gboolean         disposed;

  /* Last notified values of the read-only properties. */
  guint            notified_queued;
  guint            notified_running;
  guint            notified_workers;
  gboolean         notified_congested;
};

G_DEFINE_FINAL_TYPE (GipcPool, gipc_pool, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MAX_WORKERS,
  PROP_MIN_WORKERS,
  PROP_IDLE_TIMEOUT,
  PROP_MAX_TASKS_PER_WORKER,
  PROP_TASK_TIMEOUT,
  PROP_CANCEL_GRACE,
  PROP_RESTART_INTENSITY,
  PROP_RESTART_PERIOD,
  PROP_MAX_QUEUED,
  PROP_SANDBOX,
  PROP_MEMORY_LIMIT,
  PROP_CONGESTED,
  PROP_QUEUED_TASKS,
  PROP_RUNNING_TASKS,
  PROP_WORKERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_WORKER_STARTED,
  SIGNAL_WORKER_EXITED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void pool_schedule_dispatch (GipcPool *self);

static guint
pool_max_workers_locked (GipcPool *self)
{
  return self->max_workers != 0 ? self->max_workers : MAX (1, (guint) g_get_num_processors ());
}

/* One lock for the state of every pool and worker: workers outlive their
 * pool (a killed worker is reaped after its pool is gone), and the lock is
 * never held while user code runs (callbacks, signals, notify). Recursive,
 * because a GIO call made under it may in principle call back. */
static GRecMutex pool_lock;

#define POOL_LOCK()   g_rec_mutex_lock (&pool_lock)
#define POOL_UNLOCK() g_rec_mutex_unlock (&pool_lock)

/* How long the pool waits, after a worker exited, for the end of its
 * channel (a grandchild may hold the other end) before it gives up on the
 * rest of the stream. */
#define EOF_WAIT_MS 2000

typedef enum
{
  TASK_QUEUED,
  TASK_RUNNING,
  TASK_DONE,
} TaskState;

typedef struct
{
  GMutex       mutex;
  GCond        cond;
  gboolean     done;
  GBytes      *result;
  GUnixFDList *fds;
  GError      *error;
} SyncWaiter;

/* How a task reaches its pool without keeping it alive: a GWeakRef per
 * task costs O(tasks) per task in GObject (a list of weak locations). */
struct _PoolHandle
{
  gint      ref_count;
  GipcPool *pool;   /* guarded by pool_lock; cleared when the pool is disposed */
};

/* A task's outcome, between task_finish_locked() and completions_run(). */
typedef struct
{
  PoolTask    *pt;
  GBytes      *bytes;
  GUnixFDList *fds;
  GError      *error;
} Completion;

struct _PoolTask
{
  gint          ref_count;
  PoolHandle   *handle;
  GMainContext *pool_context;
  /* gipc_pool_run_async: its result is a light GAsyncResult (no GTask:
   * its cost was a third of a tiny task's), made when the task is done,
   * in the caller's context, with the pool as its weakly held source
   * while the pool exists (gjs's Gio._promisify calls run_finish on it;
   * made at submission, a weak reference per pending task would cost
   * O(pending tasks) each in GObject); never recycled. */
  gboolean             is_async;    /* run_async or close_async */
  gpointer             source_tag;
  GAsyncReadyCallback  callback;
  gpointer             user_data;
  GMainContext        *caller_context;
  GTask        *task;       /* gipc_pool_close_async */
  SyncWaiter   *waiter;     /* gipc_pool_run */
  GBytes       *request;
  GUnixFDList  *fds;
  guint64       id;
  TaskState     state;
  PoolWorker   *worker;     /* while running (no reference) */
  GCancellable *cancellable;
  gulong        cancel_id;
  GSource      *timeout_source;
  Completion    completion;  /* a task finishes once: no allocation for it */
};

typedef enum
{
  WORKER_STARTING,
  WORKER_IDLE,
  WORKER_BUSY,
  WORKER_GONE,
} WorkerState;

struct _PoolWorker
{
  gint           ref_count;
  GWeakRef       pool;
  GMainContext  *context;
  gboolean       attached;      /* in pool->workers */
  WorkerState    state;
  GipcProcess   *process;
  GipcChannel   *channel;       /* our end */
  GipcChannel   *theirs;        /* the worker's end, until the start */
  GipcWorkerFunc func;          /* fork mode: read in the child */
  gpointer       func_data;
  GQueue         sent;          /* of SentEntry: requests sent, in order, not answered */
  guint          tasks_done;
  GSource       *idle_source;
  GSource       *kill_source;
  GSource       *eof_source;
  gulong         message_id;
  gulong         message_fds_id;
  gulong         error_id;
  gboolean       started;
  gboolean       channel_done;
  gboolean       exited;
  gboolean       killed_by_pool;
  gboolean       retiring;
  gint           exit_code;
  GError        *protocol_error;
  guint          sends_pending;
  guint64        unread_id;     /* a request the worker provably never read, or 0 */
  gboolean       awaiting_payload;
  GipcPoolWireMessage pending;
  GUnixFDList   *pending_fds;
  gulong         exited_id;
  GByteArray    *batch;         /* pipelined requests to send as one BATCH message, or NULL */
  gboolean       refill;        /* pool_dispatch_locked: its pipeline is to be topped up */
};

/* A request sent to a worker. The worker answers its requests in order,
 * one at a time: the head is the one it runs (or will run next); those
 * behind it have not started. */
typedef struct
{
  guint64   id;
  PoolTask *pt;   /* a reference; NULL once the task was cancelled (answered) */
} SentEntry;

#define PIPELINE_DEPTH 16
/* A busy worker's pipeline is topped up once it is down to this many
 * requests, so that requests go in batches (one channel message, one
 * wakeup of the worker, one dispatch here for several tasks). */
#define PIPELINE_REFILL (PIPELINE_DEPTH / 2)

/* Requests up to this size to an idle worker are written synchronously. */
#define SYNC_SEND_MAX 4096

/* A task cancelled while it waited behind its worker's current one is
 * skipped by the worker, which reads the cancel before it starts the next
 * request; it gets at least this long (ms) to say so once it is at the
 * head, before it is killed. */
#define PIPELINED_CANCEL_GRACE 200

typedef struct
{
  GBytes      *bytes;
  GUnixFDList *fds;
} ResultBox;

static void
result_box_free (gpointer data)
{
  ResultBox *box = data;

  g_clear_pointer (&box->bytes, g_bytes_unref);
  g_clear_object (&box->fds);
  g_free (box);
}

/* ---- tasks ---- */

static PoolHandle *
pool_handle_ref (PoolHandle *h)
{
  g_atomic_int_inc (&h->ref_count);
  return h;
}

static void
pool_handle_unref (PoolHandle *h)
{
  if (g_atomic_int_dec_and_test (&h->ref_count))
    g_free (h);
}

/* A strong reference to the pool, or NULL once it is disposed. */
static GipcPool *
pool_handle_get (PoolHandle *h)
{
  GipcPool *pool;

  POOL_LOCK ();
  pool = h->pool != NULL ? g_object_ref (h->pool) : NULL;
  POOL_UNLOCK ();
  return pool;
}

static PoolTask *
task_ref (PoolTask *pt)
{
  g_atomic_int_inc (&pt->ref_count);
  return pt;
}

static void
task_unref (gpointer data)
{
  PoolTask *pt = data;

  if (!g_atomic_int_dec_and_test (&pt->ref_count))
    return;
  pool_handle_unref (pt->handle);
  g_main_context_unref (pt->pool_context);
  g_clear_object (&pt->task);
  g_clear_pointer (&pt->caller_context, g_main_context_unref);
  /* An outcome never delivered (its context was never iterated again). */
  g_clear_pointer (&pt->completion.bytes, g_bytes_unref);
  g_clear_object (&pt->completion.fds);
  g_clear_error (&pt->completion.error);
  g_clear_pointer (&pt->request, g_bytes_unref);
  g_clear_object (&pt->fds);
  g_clear_object (&pt->cancellable);
  if (pt->waiter != NULL)
    {
      g_mutex_clear (&pt->waiter->mutex);
      g_cond_clear (&pt->waiter->cond);
      g_clear_pointer (&pt->waiter->result, g_bytes_unref);
      g_clear_object (&pt->waiter->fds);
      g_clear_error (&pt->waiter->error);
      g_free (pt->waiter);
    }
  g_free (pt);
}

/* Marks @pt done and records its outcome in @done, to be delivered by
 * completions_run() once the lock is released. Takes @bytes, @fds, @error. */
static void
task_finish_locked (GipcPool    *self,
                    PoolTask    *pt,
                    GBytes      *bytes,
                    GUnixFDList *fds,
                    GError      *error,
                    GPtrArray   *done)
{
  Completion *c;

  g_assert (pt->state != TASK_DONE);
  task_ref (pt);  /* the completion's */
  if (pt->state == TASK_QUEUED && self != NULL && g_queue_remove (&self->queue, pt))
    task_unref (pt);  /* the queue's reference; the completion holds another */
  if (pt->state == TASK_RUNNING && self != NULL)
    self->n_running--;
  pt->state = TASK_DONE;
  pt->worker = NULL;
  if (pt->timeout_source != NULL)
    {
      g_source_destroy (pt->timeout_source);
      g_clear_pointer (&pt->timeout_source, g_source_unref);
    }

  c = &pt->completion;
  c->pt = pt;
  c->bytes = bytes;
  c->fds = fds;
  c->error = error;
  g_ptr_array_add (done, c);
}

/* Whether a result made in @context may complete right now: this thread
 * runs @context as its thread-default one (a GSource dispatch of it, never
 * inside the _async call: see completions_run_deferred). */
static gboolean
may_complete_here (GMainContext *context)
{
  GMainContext *current = g_main_context_get_thread_default ();

  if (current == NULL)
    current = g_main_context_default ();
  return current == context && g_main_context_is_owner (context);
}

/* The list of finished tasks that each entry point of the pool fills and
 * delivers: one per thread is kept for the next entry point (reentered
 * entry points, from callbacks, make their own). */
typedef GPtrArray DoneList;

static GPrivate spare_done = G_PRIVATE_INIT ((GDestroyNotify) g_ptr_array_unref);

static DoneList *
done_list_new (void)
{
  GPtrArray *done = g_private_get (&spare_done);

  if (done == NULL)
    return g_ptr_array_new ();
  g_private_set (&spare_done, NULL);
  return done;
}

static void
done_list_free (DoneList *done)
{
  if (done->len == 0 && g_private_get (&spare_done) == NULL)
    g_private_set (&spare_done, done);
  else
    g_ptr_array_unref (done);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DoneList, done_list_free)

/* Calls @pt's run_async callback with its outcome; in the caller's
 * context. */
static void
task_deliver (PoolTask *pt)
{
  Completion *c = &pt->completion;
  GipcPool *pool = pool_handle_get (pt->handle);
  GipcAsyncResult *result;

  if (pool != NULL)
    result = gipc_async_result_new_weak (pool, pt->cancellable, pt->callback, pt->user_data,
                                         pt->source_tag);
  else
    result = gipc_async_result_new (NULL, pt->cancellable, pt->callback, pt->user_data,
                                    pt->source_tag);
  if (c->error != NULL)
    {
      g_clear_pointer (&c->bytes, g_bytes_unref);
      g_clear_object (&c->fds);
      gipc_async_result_set_error (result, g_steal_pointer (&c->error));
    }
  else
    {
      gipc_async_result_set_pointer (result, g_steal_pointer (&c->bytes),
                                     (GDestroyNotify) g_bytes_unref);
      gipc_async_result_set_fds (result, g_steal_pointer (&c->fds));
    }
  gipc_async_result_complete (result);
  g_clear_object (&pool);
}

static gboolean
task_deliver_cb (gpointer data)
{
  task_deliver (data);
  return G_SOURCE_REMOVE;
}

/* Delivers the outcomes; without the lock (callbacks may do anything).
 * A run_async result completes at once when this thread runs its caller's
 * context (as GTask does), else from an idle source there; @deferred
 * forces the idle source (inside run_async, or in dispose). */
static void
completions_run_full (GPtrArray *done,
                      gboolean   deferred)
{
  guint i;

  for (i = 0; i < done->len; i++)
    {
      Completion *c = g_ptr_array_index (done, i);
      PoolTask *pt = c->pt;

      if (pt->cancel_id != 0)
        {
          g_cancellable_disconnect (pt->cancellable, pt->cancel_id);
          pt->cancel_id = 0;
        }

      if (pt->is_async)
        {
          pt->is_async = FALSE;
          if (!deferred && may_complete_here (pt->caller_context))
            task_deliver (pt);
          else
            {
              /* The outcome stays in pt until then. */
              GSource *source = g_idle_source_new ();

              g_source_set_priority (source, G_PRIORITY_DEFAULT);
              g_source_set_static_name (source, "[gipc] pool task result");
              g_source_set_callback (source, task_deliver_cb, task_ref (pt), task_unref);
              g_source_attach (source, pt->caller_context);
              g_source_unref (source);
              task_unref (pt);  /* the completion's; c was part of it */
              continue;
            }
        }
      else if (pt->task != NULL)
        {
          GTask *task = g_steal_pointer (&pt->task);

          if (c->error != NULL)
            {
              g_clear_pointer (&c->bytes, g_bytes_unref);
              g_clear_object (&c->fds);
              g_task_return_error (task, g_steal_pointer (&c->error));
            }
          else
            {
              ResultBox *box = g_new0 (ResultBox, 1);

              box->bytes = g_steal_pointer (&c->bytes);
              box->fds = g_steal_pointer (&c->fds);
              g_task_return_pointer (task, box, result_box_free);
            }
          g_object_unref (task);
        }
      else if (pt->waiter != NULL)
        {
          SyncWaiter *waiter = pt->waiter;

          g_mutex_lock (&waiter->mutex);
          waiter->result = g_steal_pointer (&c->bytes);
          waiter->fds = g_steal_pointer (&c->fds);
          waiter->error = g_steal_pointer (&c->error);
          waiter->done = TRUE;
          g_cond_broadcast (&waiter->cond);
          g_mutex_unlock (&waiter->mutex);
          g_main_context_wakeup (pt->pool_context);
        }
      g_clear_pointer (&c->bytes, g_bytes_unref);
      g_clear_object (&c->fds);
      g_clear_error (&c->error);
      task_unref (pt);  /* c was part of it */
    }
  g_ptr_array_set_size (done, 0);
}

/* From the pool's GSource dispatches. */
static void
completions_run (GPtrArray *done)
{
  completions_run_full (done, FALSE);
}

/* Never calls a run_async callback before it returns. */
static void
completions_run_deferred (GPtrArray *done)
{
  completions_run_full (done, TRUE);
}

/* ---- workers ---- */

static PoolWorker *
worker_ref (PoolWorker *w)
{
  g_atomic_int_inc (&w->ref_count);
  return w;
}

static void
worker_unref (gpointer data)
{
  PoolWorker *w = data;

  if (!g_atomic_int_dec_and_test (&w->ref_count))
    return;
  while (!g_queue_is_empty (&w->sent))
    {
      SentEntry *e = g_queue_pop_head (&w->sent);

      if (e->pt != NULL)
        task_unref (e->pt);
      g_free (e);
    }
  if (w->exited_id != 0)
    g_signal_handler_disconnect (w->process, w->exited_id);
  g_clear_object (&w->process);
  if (w->channel != NULL)
    {
      g_clear_signal_handler (&w->message_id, w->channel);
      g_clear_signal_handler (&w->message_fds_id, w->channel);
      g_clear_signal_handler (&w->error_id, w->channel);
      gipc_channel_close (w->channel, NULL);
    }
  g_clear_object (&w->channel);
  g_clear_object (&w->theirs);
  g_clear_error (&w->protocol_error);
  if (w->batch != NULL)
    g_byte_array_unref (w->batch);
  gipc_pool_wire_message_clear (&w->pending);
  g_clear_object (&w->pending_fds);
  g_weak_ref_clear (&w->pool);
  g_main_context_unref (w->context);
  g_free (w);
}

static void
source_clear (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static GSource *
worker_timeout (PoolWorker  *w,
                guint        ms,
                GSourceFunc  func,
                const gchar *name)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_static_name (source, name);
  g_source_set_callback (source, func, worker_ref (w), worker_unref);
  g_source_attach (source, w->context);
  return source;
}

static gboolean
pool_congested_locked (GipcPool *self)
{
  return self->max_queued != 0 && self->queue.length > self->max_queued;
}

/* Workers that count: starting, idle or busy. */
/* A worker whose current task was cancelled, waiting for its answer (or
 * for cancel-grace to kill it): it no longer counts as one of the pool's
 * workers, so that a replacement can start at once. */
static gboolean
worker_is_draining (PoolWorker *w)
{
  SentEntry *head = g_queue_peek_head (&w->sent);

  return head != NULL && head->pt == NULL;
}

static guint
pool_count_workers_locked (GipcPool *self)
{
  guint n = 0;
  GList *l;

  for (l = self->workers; l != NULL; l = l->next)
    if (!worker_is_draining (l->data))
      n++;
  return n;
}

/* Empties @w's pipeline (a worker that is gone or killed): the head task,
 * the only one that may have run, gets @head_error (taken), unless
 * @head_unread; the tasks behind it never started and go back to the head
 * of the pool's queue, in order. */
static void
worker_take_sent_locked (GipcPool   *self,
                         PoolWorker *w,
                         GError     *head_error,
                         gboolean    head_unread,
                         GPtrArray  *done)
{
  GList *requeue = NULL, *l;
  gboolean first = TRUE;
  SentEntry *e;

  while ((e = g_queue_pop_head (&w->sent)) != NULL)
    {
      if (e->pt != NULL)
        {
          if (first && !head_unread && head_error != NULL)
            task_finish_locked (self, e->pt, NULL, NULL, g_steal_pointer (&head_error), done);
          else if (e->pt->state == TASK_RUNNING)
            requeue = g_list_prepend (requeue, task_ref (e->pt));
          task_unref (e->pt);
        }
      first = FALSE;
      g_free (e);
    }
  /* requeue is in reverse order: pushing each to the head restores it. */
  for (l = requeue; l != NULL; l = l->next)
    {
      PoolTask *pt = l->data;

      self->n_running--;
      pt->worker = NULL;
      pt->state = TASK_QUEUED;
      if (pt->timeout_source != NULL)
        {
          g_source_destroy (pt->timeout_source);
          g_clear_pointer (&pt->timeout_source, g_source_unref);
        }
      g_queue_push_head (&self->queue, pt);  /* the list's reference */
    }
  g_list_free (requeue);
  g_clear_error (&head_error);
}

static void
worker_detach_locked (GipcPool   *self,
                      PoolWorker *w)
{
  if (!w->attached)
    return;
  w->attached = FALSE;
  self->workers = g_list_remove (self->workers, w);
  source_clear (&w->idle_source);
  worker_unref (w);
}

/* Kills a worker the pool no longer wants (timeout, cancel, bad message);
 * its death is expected. */
static void
worker_kill_locked (GipcPool   *self,
                    PoolWorker *w)
{
  g_debug ("GipcPool: killing worker %d (state %d)", w->started ? (int) gipc_process_get_pid (w->process) : 0, w->state);
  w->killed_by_pool = TRUE;
  source_clear (&w->kill_source);
  if (self != NULL)
    worker_detach_locked (self, w);
  if (w->started && !w->exited)
    gipc_process_kill (w->process, NULL);
}

static void worker_close_channel (PoolWorker *w);

/* Stops an idle worker: our end of the channel is closed, so
 * gipc_worker_serve() returns and the worker exits. */
static void
worker_retire_locked (GipcPool   *self,
                      PoolWorker *w)
{
  w->retiring = TRUE;
  worker_detach_locked (self, w);
  worker_close_channel (w);
}

static gchar *
describe_death (PoolWorker *w)
{
  GPid pid = gipc_process_get_pid (w->process);

  if (w->exit_code >= 0)
    return g_strdup_printf ("Worker process %d exited with status %d while it ran the task",
                            (int) pid, w->exit_code);
  else
    {
      gint sig = -w->exit_code;
      const gchar *core;
      struct rlimit rl;

      switch (sig)
        {
        case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS:
        case SIGFPE: case SIGSEGV: case SIGSYS: case SIGXCPU: case SIGXFSZ:
          if (getrlimit (RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0)
            core = "no core dumped (core size limit 0)";
          else
            core = "core dumped (unless the system's core settings prevented it)";
          break;
        default:
          core = "no core dumped (the signal does not dump one)";
          break;
        }
      return g_strdup_printf ("Worker process %d was killed by signal %d (%s) while it ran the task; %s",
                              (int) pid, sig, g_strsignal (sig), core);
    }
}

static void pool_dispatch_locked (GipcPool  *self,
                                  GPtrArray *done);
static void pool_emit_notifies (GipcPool *self);

/* Records an unexpected death; breaks the pool when they come too fast. */
static void
pool_record_death_locked (GipcPool  *self,
                          GPtrArray *done)
{
  gint64 now = g_get_monotonic_time ();
  gint64 *t = g_new (gint64, 1);

  *t = now;
  g_queue_push_tail (&self->deaths, t);
  while (!g_queue_is_empty (&self->deaths) &&
         *(gint64 *) g_queue_peek_head (&self->deaths) < now - (gint64) self->restart_period * 1000)
    g_free (g_queue_pop_head (&self->deaths));

  if (!self->broken && self->deaths.length > self->restart_intensity)
    {
      self->broken = TRUE;
      g_debug ("GipcPool %p: %u worker deaths within %u ms: broken",
               self, self->deaths.length, self->restart_period);
    }
}

static void
pool_fail_queued_locked (GipcPool     *self,
                         const GError *error,
                         GPtrArray    *done)
{
  PoolTask *pt;

  while ((pt = g_queue_peek_head (&self->queue)) != NULL)
    task_finish_locked (self, pt, NULL, NULL, g_error_copy (error), done);
}

/* Once a worker has both exited and its channel has ended. */
static void
worker_maybe_gone_locked (PoolWorker *w,
                          GPtrArray  *done)
{
  g_autoptr(GipcPool) self = NULL;
  gboolean unexpected;

  if (!w->exited || !w->channel_done || w->sends_pending > 0 || w->state == WORKER_GONE)
    return;

  self = g_weak_ref_get (&w->pool);
  if (self != NULL && self->disposed)
    g_clear_object (&self);

  unexpected = !w->killed_by_pool && !w->retiring;
  w->state = WORKER_GONE;
  source_clear (&w->kill_source);
  source_clear (&w->eof_source);
  source_clear (&w->idle_source);

  if (self != NULL)
    {
      SentEntry *head = g_queue_peek_head (&w->sent);

      worker_detach_locked (self, w);
      self->n_alive--;
      if (head != NULL)
        {
          GError *error;
          /* It died before it read the head request (between tasks): no
           * task ran; they all go back to the queue. */
          gboolean head_unread = w->unread_id != 0 && w->unread_id == head->id;

          /* A protocol error counts when the worker died of our kill for
           * it; a worker that died on its own (a truncated frame is its
           * last words) is reported as a death. */
          if (w->protocol_error != NULL && w->exit_code == -SIGKILL)
            error = g_error_copy (w->protocol_error);
          else
            {
              g_autofree gchar *msg = describe_death (w);
              error = g_error_new_literal (GIPC_ERROR, GIPC_ERROR_WORKER_DIED, msg);
            }
          worker_take_sent_locked (self, w, error, head_unread, done);
        }
      if (unexpected)
        pool_record_death_locked (self, done);
      pool_dispatch_locked (self, done);
    }
  worker_unref (w);  /* the reference of the live process */
}


static gboolean
worker_eof_wait_cb (gpointer data)
{
  PoolWorker *w = data;
  g_autoptr(DoneList) done = done_list_new ();
  g_autoptr(GipcPool) self = g_weak_ref_get (&w->pool);

  POOL_LOCK ();
  g_clear_pointer (&w->eof_source, g_source_unref);
  if (!w->channel_done)
    {
      worker_close_channel (w);
      worker_maybe_gone_locked (w, done);
    }
  POOL_UNLOCK ();
  completions_run (done);
  if (self != NULL)
    pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

static void
worker_exited_cb (GipcProcess *process,
                  gint         exit_code,
                  gpointer     data)
{
  PoolWorker *w = data;
  g_autoptr(DoneList) done = done_list_new ();
  g_autoptr(GipcPool) self = g_weak_ref_get (&w->pool);

  worker_ref (w);
  POOL_LOCK ();
  w->exited = TRUE;
  w->exit_code = exit_code;
  source_clear (&w->kill_source);
  if (!w->channel_done && w->eof_source == NULL)
    w->eof_source = worker_timeout (w, EOF_WAIT_MS, worker_eof_wait_cb, "[gipc] pool worker end of stream");
  worker_maybe_gone_locked (w, done);
  POOL_UNLOCK ();

  completions_run (done);
  if (self != NULL && !self->disposed)
    {
      g_signal_emit (self, signals[SIGNAL_WORKER_EXITED], 0, process);
      pool_emit_notifies (self);
    }
  worker_unref (w);
}

/* A protocol violation: the worker is killed, its task fails with @error. */
static void
worker_protocol_error_locked (GipcPool   *self,
                              PoolWorker *w,
                              GError     *error)
{
  g_debug ("GipcPool: worker %d: %s", (int) gipc_process_get_pid (w->process), error->message);
  if (w->protocol_error == NULL)
    w->protocol_error = error;
  else
    g_error_free (error);
  /* Not killed_by_pool: a worker that sends garbage counts as a death. */
  if (w->started && !w->exited)
    gipc_process_kill (w->process, NULL);
}

static void worker_advance_locked (GipcPool   *self,
                                   PoolWorker *w,
                                   GPtrArray  *done);

/* A whole result (or error) has arrived from @w: the answer to the head of
 * its pipeline. */
static void
worker_answer_locked (GipcPool            *self,
                      PoolWorker          *w,
                      GipcPoolWireMessage *msg,
                      GBytes              *payload,
                      GUnixFDList         *fds,
                      GPtrArray           *done)
{
  SentEntry *head = g_queue_peek_head (&w->sent);

  if (head == NULL || head->id != msg->task_id)
    {
      worker_protocol_error_locked (self, w,
                                    g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                 "Worker process %d answered task %" G_GUINT64_FORMAT
                                                 ", which it was not running",
                                                 (int) gipc_process_get_pid (w->process), msg->task_id));
      return;
    }

  g_queue_pop_head (&w->sent);
  w->tasks_done++;
  if (head->pt == NULL)
    /* The late answer of a cancelled task. */
    source_clear (&w->kill_source);
  else if (self != NULL)
    {
      if (msg->kind == GIPC_POOL_WIRE_RESULT)
        task_finish_locked (self, head->pt, g_bytes_ref (payload), fds != NULL ? g_object_ref (fds) : NULL,
                            NULL, done);
      else
        task_finish_locked (self, head->pt, NULL, NULL, gipc_pool_wire_message_to_error (msg), done);
    }
  if (head->pt != NULL)
    task_unref (head->pt);
  g_free (head);

  if (g_queue_is_empty (&w->sent))
    {
      w->state = WORKER_IDLE;
      if (self != NULL && self->max_tasks_per_worker != 0 && w->tasks_done >= self->max_tasks_per_worker)
        worker_retire_locked (self, w);
    }
  else if (self != NULL)
    worker_advance_locked (self, w, done);
}

/* One message from @w (@bytes, maybe with @fds), or the end of its
 * stream (@error). The channel listens (push mode, its fast path). */
static void
worker_input (PoolWorker   *w,
              GBytes       *bytes,
              GUnixFDList  *fds,
              const GError *stream_error)
{
  g_autoptr(DoneList) done = done_list_new ();
  g_autoptr(GError) error = stream_error != NULL ? g_error_copy (stream_error) : NULL;
  g_autoptr(GipcPool) self = g_weak_ref_get (&w->pool);

  if (self != NULL && self->disposed)
    g_clear_object (&self);

  worker_ref (w);
  POOL_LOCK ();
  if (w->channel_done || (bytes != NULL && w->protocol_error != NULL))
    ;  /* nothing more is taken from a worker that is being killed */
  else if (bytes == NULL)
    {
      g_debug ("GipcPool: worker %d: end of its channel: %s",
               w->started ? (int) gipc_process_get_pid (w->process) : 0, error->message);
      if ((g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL) ||
                g_error_matches (error, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE)) &&
               !w->exited && !w->killed_by_pool && !w->retiring)
        {
          /* A corrupt stream, maybe from a live worker: it is killed. A
           * worker that died mid-message is reported as a death (see
           * worker_maybe_gone_locked); read errors such as ECONNRESET, and
           * the end of the stream, wait for the exit. */
          worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                              "Worker process %d sent a corrupt message: %s",
                                                              (int) gipc_process_get_pid (w->process),
                                                              error->message));
        }
      /* A read error (ECONNRESET) rather than the end of the stream: the
       * worker closed its end with our messages unread. A busy worker has
       * been sent nothing but its one request (a cancel empties the
       * head's entry, which then needs no answer). */
      if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_FAILED) &&
          g_queue_get_length (&w->sent) == 1 && !w->awaiting_payload && w->unread_id == 0)
        w->unread_id = ((SentEntry *) g_queue_peek_head (&w->sent))->id;
      w->channel_done = TRUE;
      worker_maybe_gone_locked (w, done);
    }
  else if (w->awaiting_payload)
    {
      w->awaiting_payload = FALSE;
      if (fds != NULL && g_unix_fd_list_get_length (fds) > 0)
        worker_protocol_error_locked (self, w, g_error_new_literal (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                                    "A worker's result payload carried fds"));
      else
        worker_answer_locked (self, w, &w->pending, bytes, w->pending_fds, done);
      gipc_pool_wire_message_clear (&w->pending);
      g_clear_object (&w->pending_fds);
    }
  else
    {
      GipcPoolWireMessage msg;
      guint n_fds = fds != NULL ? (guint) g_unix_fd_list_get_length (fds) : 0;

      if (!gipc_pool_wire_decode (bytes, &msg, &error))
        worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                            "Worker process %d sent a malformed result: %s",
                                                            (int) gipc_process_get_pid (w->process),
                                                            error->message));
      else if (msg.kind != GIPC_POOL_WIRE_RESULT && msg.kind != GIPC_POOL_WIRE_ERROR)
        worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                            "Worker process %d sent a message of kind 0x%02x",
                                                            (int) gipc_process_get_pid (w->process), msg.kind));
      else if (msg.n_fds != n_fds)
        worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                            "Worker process %d announced %u fds and sent %u",
                                                            (int) gipc_process_get_pid (w->process),
                                                            msg.n_fds, n_fds));
      else if (msg.flags & GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS)
        {
          w->pending = msg;
          memset (&msg, 0, sizeof msg);
          w->pending_fds = fds != NULL ? g_object_ref (fds) : NULL;
          w->awaiting_payload = TRUE;
        }
      else
        worker_answer_locked (self, w, &msg, msg.payload, fds, done);
      gipc_pool_wire_message_clear (&msg);
    }

  if (self != NULL)
    pool_dispatch_locked (self, done);
  POOL_UNLOCK ();

  completions_run (done);
  if (self != NULL)
    pool_emit_notifies (self);
  worker_unref (w);
}

static void
worker_message_cb (GipcChannel *channel,
                   GBytes      *message,
                   gpointer     data)
{
  worker_input (data, message, NULL, NULL);
}

static void
worker_message_with_fds_cb (GipcChannel *channel,
                            GBytes      *message,
                            GUnixFDList *fds,
                            gpointer     data)
{
  worker_input (data, message, fds, NULL);
}

static void
worker_error_cb (GipcChannel  *channel,
                 const GError *error,
                 gpointer      data)
{
  worker_input (data, NULL, NULL, error);
}

static void
worker_listen (PoolWorker *w)
{
  w->message_id = g_signal_connect (w->channel, "message", G_CALLBACK (worker_message_cb), w);
  w->message_fds_id = g_signal_connect (w->channel, "message-with-fds",
                                        G_CALLBACK (worker_message_with_fds_cb), w);
  w->error_id = g_signal_connect (w->channel, "error", G_CALLBACK (worker_error_cb), w);
  g_main_context_push_thread_default (w->context);
  gipc_channel_listen (w->channel);
  g_main_context_pop_thread_default (w->context);
}

/* Our end of @w's channel, closed: it stops listening, and the worker sees
 * the end of its stream. */
static void
worker_close_channel (PoolWorker *w)
{
  w->channel_done = TRUE;
  if (w->channel != NULL)
    gipc_channel_close (w->channel, NULL);
}

static gint
worker_process_main (GipcProcess *process,
                     gpointer     data)
{
  PoolWorker *w = data;

  return gipc_worker_serve (w->theirs, w->func, w->func_data);
}

/* Makes and starts a worker's process. The one place that starts workers:
 * when gipc_process_start_async exists, this becomes asynchronous. Called
 * in the pool's context, without the lock. */
static void
worker_start (GipcPool   *self,
              PoolWorker *w)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DoneList) done = done_list_new ();
  GipcChannel *mine = NULL, *theirs = NULL;
  GipcProcess *process = NULL;
  gboolean ok = FALSE;
  guint i;

  if (gipc_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &mine, &theirs, &error))
    {
      w->channel = mine;
      w->theirs = theirs;
      switch (self->kind)
        {
        case POOL_KIND_FORK:
          process = gipc_process_new (worker_process_main, w, NULL);
          break;
        case POOL_KIND_TARGET:
          process = gipc_process_new_for_target (self->server, self->target,
                                                 self->target_args);
          break;
        case POOL_KIND_ARGV:
          process = gipc_process_new_for_argv ((const gchar * const *) self->argv, &error);
          break;
        }
    }

  if (process != NULL)
    {
      w->process = process;
      gipc_process_pass_channel (process, theirs);
      gipc_process_set_die_with_parent (process, TRUE);
      POOL_LOCK ();
      gipc_process_set_sandbox (process, self->sandbox);
      gipc_process_set_memory_limit (process, self->memory_limit);
      for (i = 0; i < self->allowed_paths->len; i++)
        {
          const gchar *p = g_ptr_array_index (self->allowed_paths, i);
          gipc_process_sandbox_allow_path (process, p + 2, p[0] == 'w');
        }
      if (self->allow_system_data)
        gipc_process_sandbox_allow_system_data (process);
      POOL_UNLOCK ();
      w->exited_id = g_signal_connect (process, "exited", G_CALLBACK (worker_exited_cb), w);

      g_main_context_push_thread_default (self->context);
      ok = gipc_process_start (process, &error);
      g_main_context_pop_thread_default (self->context);
    }
  g_clear_object (&w->theirs);

  POOL_LOCK ();
  if (ok)
    {
      w->started = TRUE;
      self->n_alive++;
      worker_ref (w);  /* the live process's reference, dropped once it is gone */
      if (w->attached && w->state == WORKER_STARTING)
        w->state = WORKER_IDLE;
      else
        {
          /* Dropped while it started (pool disposed or closed). */
          w->killed_by_pool = TRUE;
          gipc_process_kill (process, NULL);
        }
      worker_listen (w);
    }
  else
    {
      PoolTask *pt;

      g_debug ("GipcPool %p: could not start a worker: %s", self, error->message);
      w->state = WORKER_GONE;
      worker_detach_locked (self, w);
      pt = g_queue_peek_head (&self->queue);
      if (pt != NULL)
        task_finish_locked (self, pt, NULL, NULL, g_error_copy (error), done);
      pool_record_death_locked (self, done);
    }
  pool_dispatch_locked (self, done);
  POOL_UNLOCK ();

  if (ok && !self->disposed)
    g_signal_emit (self, signals[SIGNAL_WORKER_STARTED], 0, process);
  completions_run (done);
}

/* ---- the pool's machinery (in the pool's context) ---- */

static gboolean
task_timeout_cb (gpointer data)
{
  PoolTask *pt = data;
  g_autoptr(GipcPool) self = pool_handle_get (pt->handle);
  g_autoptr(DoneList) done = done_list_new ();

  if (self == NULL)
    return G_SOURCE_REMOVE;
  POOL_LOCK ();
  if (pt->state == TASK_RUNNING && !self->disposed)
    {
      PoolWorker *w = pt->worker;

      g_clear_pointer (&pt->timeout_source, g_source_unref);
      worker_kill_locked (self, w);
      /* The timer runs for the head only: pt is the head. */
      worker_take_sent_locked (self, w,
                               g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                            "The task ran longer than the pool's task-timeout (%u ms); "
                                            "its worker process %d was killed",
                                            self->task_timeout, (int) gipc_process_get_pid (w->process)),
                               FALSE, done);
      pool_dispatch_locked (self, done);
    }
  POOL_UNLOCK ();
  completions_run (done);
  pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

static gboolean grace_expired_cb (gpointer data);

/* The head of @w's pipeline changed: its task's timeout starts now; a head
 * that was cancelled while it waited has cancel-grace to be answered. */
static void
worker_advance_locked (GipcPool   *self,
                       PoolWorker *w,
                       GPtrArray  *done)
{
  SentEntry *head = g_queue_peek_head (&w->sent);

  if (head == NULL)
    return;
  if (head->pt != NULL && self->task_timeout != 0 && head->pt->timeout_source == NULL)
    {
      PoolTask *pt = head->pt;

      pt->timeout_source = g_timeout_source_new (self->task_timeout);
      g_source_set_static_name (pt->timeout_source, "[gipc] pool task timeout");
      g_source_set_callback (pt->timeout_source, task_timeout_cb, task_ref (pt), task_unref);
      g_source_attach (pt->timeout_source, self->context);
    }
  else if (head->pt == NULL && w->kill_source == NULL)
    w->kill_source = worker_timeout (w, MAX (self->cancel_grace, PIPELINED_CANCEL_GRACE),
                                     grace_expired_cb, "[gipc] pool cancel grace");
}

static void worker_send_request_locked (GipcPool    *self,
                                        PoolWorker  *w,
                                        GBytes      *bytes,
                                        GUnixFDList *fds,
                                        guint64      task_id);

/* Sends the requests batched for @w: one alone as it is, several as one
 * BATCH message. They are behind the worker's current request: no report
 * of the write is needed (see worker_send_request_locked). */
static void
worker_flush_batch_locked (GipcPool   *self,
                           PoolWorker *w)
{
  g_autoptr(GBytes) message = NULL;

  if (w->batch == NULL)
    return;
  message = gipc_pool_wire_batch_end (g_steal_pointer (&w->batch));
  gipc_channel_send_with_fds_async (w->channel, message, NULL, NULL, NULL, NULL);
}

static void
pool_assign_locked (GipcPool   *self,
                    PoolWorker *w,
                    PoolTask   *pt)
{
  g_autoptr(GBytes) header = NULL;
  gboolean follows = FALSE;
  guint n_fds = pt->fds != NULL ? (guint) g_unix_fd_list_get_length (pt->fds) : 0;
  gsize size = g_bytes_get_size (pt->request);

  SentEntry *e = g_new0 (SentEntry, 1);

  g_queue_remove (&self->queue, pt);
  pt->state = TASK_RUNNING;
  pt->worker = w;
  self->n_running++;
  e->id = pt->id;
  e->pt = pt;  /* the queue's reference */
  g_queue_push_tail (&w->sent, e);
  w->state = WORKER_BUSY;
  source_clear (&w->idle_source);

  if (w->refill && w->sent.length > 1 && n_fds == 0 && size < GIPC_POOL_WIRE_INLINE_MAX)
    {
      /* Behind the worker's current request: goes with the batch. */
      if (w->batch == NULL)
        w->batch = gipc_pool_wire_batch_new ();
      gipc_pool_wire_batch_add_payload (w->batch, GIPC_POOL_WIRE_REQUEST, pt->id, pt->request);
      return;
    }
  worker_flush_batch_locked (self, w);
  header = gipc_pool_wire_encode_payload (GIPC_POOL_WIRE_REQUEST, pt->id, n_fds, pt->request, &follows);
  worker_send_request_locked (self, w, header, n_fds > 0 ? pt->fds : NULL, pt->id);
  if (follows)
    worker_send_request_locked (self, w, pt->request, NULL, pt->id);
  /* The request stays with the task until it is answered: a worker that
   * dies before it reads it gives it back to the queue. */
  if (g_queue_get_length (&w->sent) == 1)
    worker_advance_locked (self, w, NULL);
}

typedef struct
{
  PoolWorker *worker;
  guint64     task_id;
} SentData;

static void
request_sent_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  SentData *sd = data;
  PoolWorker *w = sd->worker;
  g_autoptr(GError) error = NULL;
  g_autoptr(DoneList) done = done_list_new ();
  g_autoptr(GipcPool) self = g_weak_ref_get (&w->pool);

  gipc_channel_send_with_fds_finish (GIPC_CHANNEL (source), result, &error);
  POOL_LOCK ();
  w->sends_pending--;
  /* EPIPE: the worker's end was closed before the request: it never got
   * it. */
  if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED) && w->unread_id == 0)
    w->unread_id = sd->task_id;
  worker_maybe_gone_locked (w, done);
  POOL_UNLOCK ();
  completions_run (done);
  if (self != NULL && !self->disposed)
    pool_emit_notifies (self);
  worker_unref (w);
  g_free (sd);
}

static void
worker_send_request_locked (GipcPool    *self,
                            PoolWorker  *w,
                            GBytes      *bytes,
                            GUnixFDList *fds,
                            guint64      task_id)
{
  SentData *sd;

  /* The fast path: a small request to a worker that has answered all it
   * was sent (so it has read it all: its socket buffer holds none of our
   * bytes and the write cannot block) is written at once, without a trip
   * through the main loop. */
  if (w->sends_pending == 0 && g_queue_get_length (&w->sent) == 1 &&
      g_bytes_get_size (bytes) <= SYNC_SEND_MAX)
    {
      g_autoptr(GError) error = NULL;

      if (gipc_channel_send_with_fds (w->channel, bytes, fds, NULL, &error))
        return;
      if (!g_error_matches (error, GIPC_ERROR, GIPC_ERROR_LOCKED))
        {
          if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED) && w->unread_id == 0)
            w->unread_id = task_id;
          return;  /* the receive side sees the end */
        }
    }

  /* A request behind the worker's current one needs no report of its
   * write: if the worker dies, it goes back to the queue anyway. */
  if (g_queue_get_length (&w->sent) > 1)
    {
      gipc_channel_send_with_fds_async (w->channel, bytes, fds, NULL, NULL, NULL);
      return;
    }

  sd = g_new0 (SentData, 1);
  sd->worker = worker_ref (w);
  sd->task_id = task_id;
  w->sends_pending++;
  /* Its report comes in the pool's context. (The other sends need no
   * context: the channel listens in the pool's context.) */
  g_main_context_push_thread_default (self->context);
  gipc_channel_send_with_fds_async (w->channel, bytes, fds, NULL, request_sent_cb, sd);
  g_main_context_pop_thread_default (self->context);
}

static gboolean
worker_idle_timeout_cb (gpointer data)
{
  PoolWorker *w = data;
  g_autoptr(GipcPool) self = g_weak_ref_get (&w->pool);
  g_autoptr(DoneList) done = done_list_new ();

  if (self == NULL)
    return G_SOURCE_REMOVE;
  POOL_LOCK ();
  g_clear_pointer (&w->idle_source, g_source_unref);
  if (w->attached && w->state == WORKER_IDLE && !self->disposed &&
      pool_count_workers_locked (self) > MIN (self->min_workers, pool_max_workers_locked (self)))
    worker_retire_locked (self, w);
  pool_dispatch_locked (self, done);
  POOL_UNLOCK ();
  completions_run (done);
  pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

static GList *pending_starts_take (GipcPool *self);

/* Brings the pool's state forward: assigns queued tasks to idle workers,
 * decides which workers to start (started by the dispatch source, outside
 * the lock) and which to stop. Never runs user code. */
static void
pool_dispatch_locked (GipcPool  *self,
                      GPtrArray *done)
{
  guint max = pool_max_workers_locked (self);
  guint min = MIN (self->min_workers, max);
  guint n_workers, n_starting = 0, n_idle = 0;
  GList *l, *next;

  if (self->disposed)
    return;

  if (self->broken)
    {
      g_autoptr(GError) error = g_error_new (GIPC_ERROR, GIPC_ERROR_POOL_BROKEN,
                                             "The pool's workers died more than %u times within %u ms "
                                             "(restart-intensity); call gipc_pool_reset()",
                                             self->restart_intensity, self->restart_period);
      pool_fail_queued_locked (self, error, done);
    }

  for (l = self->workers; l != NULL && !g_queue_is_empty (&self->queue); l = l->next)
    {
      PoolWorker *w = l->data;

      if (w->state == WORKER_IDLE)
        pool_assign_locked (self, w, g_queue_peek_head (&self->queue));
    }

  n_workers = pool_count_workers_locked (self);
  for (l = self->workers; l != NULL; l = l->next)
    {
      PoolWorker *w = l->data;

      if (w->state == WORKER_STARTING)
        n_starting++;
      else if (w->state == WORKER_IDLE)
        n_idle++;
    }

  /* Start workers while tasks wait for them, or to keep min-workers. */
  if (!self->broken)
    while (n_workers < max &&
           (self->queue.length > n_starting || (!self->closing && n_workers < min)))
      {
        PoolWorker *w = g_new0 (PoolWorker, 1);

        w->ref_count = 2;  /* the list's, and the pending start's */
        g_weak_ref_init (&w->pool, self);
        w->context = g_main_context_ref (self->context);
        w->attached = TRUE;
        w->state = WORKER_STARTING;
        w->func = self->func;
        w->func_data = self->func_data;
        self->workers = g_list_append (self->workers, w);
        n_workers++;
        n_starting++;
        if (self->dispatch_source == NULL)
          pool_schedule_dispatch (self);
      }

  /* Pipelining: when every worker is busy and no more can start, tasks
   * that wait are sent to the workers behind their current ones (a few
   * each, round robin), so that requests and results travel in batches. */
  if (!self->broken && n_starting == 0 && n_workers >= max &&
      self->queue.length > n_workers)
    {
      gboolean gave = TRUE;

      for (l = self->workers; l != NULL; l = l->next)
        {
          PoolWorker *w = l->data;

          w->refill = g_queue_get_length (&w->sent) <= PIPELINE_REFILL;
        }
      while (gave && !g_queue_is_empty (&self->queue))
        {
          gave = FALSE;
          for (l = self->workers; l != NULL && !g_queue_is_empty (&self->queue); l = l->next)
            {
              PoolWorker *w = l->data;
              guint n_sent = g_queue_get_length (&w->sent);

              if (!w->refill || w->state != WORKER_BUSY || worker_is_draining (w) || n_sent >= PIPELINE_DEPTH ||
                  (self->max_tasks_per_worker != 0 &&
                   w->tasks_done + n_sent >= self->max_tasks_per_worker))
                continue;
              pool_assign_locked (self, w, g_queue_peek_head (&self->queue));
              gave = TRUE;
            }
        }
      for (l = self->workers; l != NULL; l = l->next)
        {
          PoolWorker *w = l->data;

          w->refill = FALSE;
          worker_flush_batch_locked (self, w);
        }
    }

  /* Stop surplus idle workers: at once when closing with nothing queued or
   * with a zero idle-timeout, else after idle-timeout. */
  for (l = self->workers; l != NULL; l = next)
    {
      PoolWorker *w = l->data;

      next = l->next;
      if (w->state != WORKER_IDLE || !g_queue_is_empty (&self->queue))
        continue;
      if (self->closing || (n_workers > min && self->idle_timeout == 0) || n_workers > max)
        {
          worker_retire_locked (self, w);
          n_workers--;
        }
      else if (n_workers > min && w->idle_source == NULL)
        w->idle_source = worker_timeout (w, self->idle_timeout, worker_idle_timeout_cb,
                                         "[gipc] pool worker idle timeout");
      else if (n_workers <= min)
        source_clear (&w->idle_source);
    }

  if (self->closing && g_queue_is_empty (&self->queue) && self->n_running == 0 &&
      self->workers == NULL && self->n_alive == 0)
    {
      GList *tasks = g_steal_pointer (&self->close_tasks);

      for (l = tasks; l != NULL; l = l->next)
        {
          /* A close completes through the same path as tasks. */
          PoolTask *pt = l->data;

          task_finish_locked (self, pt, NULL, NULL, NULL, done);
          task_unref (pt);
        }
      g_list_free (tasks);
    }
}

static GList *
pending_starts_take (GipcPool *self)
{
  GList *starts = NULL, *l;

  for (l = self->workers; l != NULL; l = l->next)
    {
      PoolWorker *w = l->data;

      if (w->state == WORKER_STARTING && w->process == NULL && w->channel == NULL && !w->started)
        starts = g_list_prepend (starts, worker_ref (w));
    }
  return g_list_reverse (starts);
}

static void
pool_emit_notifies (GipcPool *self)
{
  guint queued, running, workers;
  gboolean congested;
  gboolean n_q, n_r, n_w, n_c;

  POOL_LOCK ();
  queued = self->queue.length;
  running = self->n_running;
  workers = pool_count_workers_locked (self);
  congested = pool_congested_locked (self);
  n_q = queued != self->notified_queued;
  n_r = running != self->notified_running;
  n_w = workers != self->notified_workers;
  n_c = congested != self->notified_congested;
  self->notified_queued = queued;
  self->notified_running = running;
  self->notified_workers = workers;
  self->notified_congested = congested;
  POOL_UNLOCK ();

  if (self->disposed || !(n_q || n_r || n_w || n_c))
    return;
  if (n_q)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUEUED_TASKS]);
  if (n_r)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING_TASKS]);
  if (n_w)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WORKERS]);
  if (n_c)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONGESTED]);
}

static gboolean
pool_dispatch_cb (gpointer data)
{
  g_autoptr(GipcPool) self = g_weak_ref_get (data);
  g_autoptr(DoneList) done = done_list_new ();
  GList *starts, *l;

  if (self == NULL)
    return G_SOURCE_REMOVE;

  POOL_LOCK ();
  g_clear_pointer (&self->dispatch_source, g_source_unref);
  pool_dispatch_locked (self, done);
  starts = self->disposed ? NULL : pending_starts_take (self);
  POOL_UNLOCK ();
  completions_run (done);

  for (l = starts; l != NULL; l = l->next)
    {
      PoolWorker *w = l->data;

      if (w->attached && !self->disposed)
        worker_start (self, w);
      worker_unref (w);  /* from pending_starts_take */
      worker_unref (w);  /* the pending start's */
    }
  g_list_free (starts);
  pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

/* Any thread. */
static void
pool_schedule_dispatch (GipcPool *self)
{
  GWeakRef *ref;

  POOL_LOCK ();
  if (self->dispatch_source == NULL && !self->disposed)
    {
      ref = g_new0 (GWeakRef, 1);
      g_weak_ref_init (ref, self);
      self->dispatch_source = g_idle_source_new ();
      /* Below the callbacks of finished tasks (completed from idle
       * sources at G_PRIORITY_DEFAULT): a worker start (a blocking fork until
       * gipc_process_start_async exists) must not delay them. */
      g_source_set_priority (self->dispatch_source, G_PRIORITY_DEFAULT_IDLE);
      g_source_set_static_name (self->dispatch_source, "[gipc] pool dispatch");
      g_source_set_callback (self->dispatch_source, pool_dispatch_cb, ref, weak_ref_free);
      g_source_attach (self->dispatch_source, self->context);
    }
  POOL_UNLOCK ();
}

/* ---- cancellation ---- */

static gboolean
grace_expired_cb (gpointer data)
{
  PoolWorker *w = data;
  g_autoptr(GipcPool) self = g_weak_ref_get (&w->pool);
  g_autoptr(DoneList) done = done_list_new ();

  POOL_LOCK ();
  g_clear_pointer (&w->kill_source, g_source_unref);
  if (worker_is_draining (w) && w->state != WORKER_GONE)
    {
      if (self != NULL && !self->disposed)
        {
          worker_kill_locked (self, w);
          worker_take_sent_locked (self, w, NULL, FALSE, done);
          pool_dispatch_locked (self, done);
        }
      else
        worker_kill_locked (NULL, w);
    }
  POOL_UNLOCK ();
  completions_run (done);
  if (self != NULL)
    pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

static gboolean
task_cancel_cb (gpointer data)
{
  PoolTask *pt = data;
  g_autoptr(GipcPool) self = pool_handle_get (pt->handle);
  g_autoptr(DoneList) done = done_list_new ();

  if (self == NULL)
    return G_SOURCE_REMOVE;

  POOL_LOCK ();
  if (pt->state == TASK_QUEUED && !self->disposed)
    task_finish_locked (self, pt, NULL, NULL,
                        g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                             "The task was cancelled before it started"),
                        done);
  else if (pt->state == TASK_RUNNING && !self->disposed)
    {
      PoolWorker *w = pt->worker;
      g_autoptr(GBytes) msg = gipc_pool_wire_encode_cancel (pt->id);
      SentEntry *head = g_queue_peek_head (&w->sent);
      gboolean was_head = head != NULL && head->pt == pt;
      GList *l;

      /* Its entry stays (the worker will answer it) without the task. */
      for (l = w->sent.head; l != NULL; l = l->next)
        {
          SentEntry *e = l->data;

          if (e->pt == pt)
            e->pt = NULL;
        }
      g_main_context_push_thread_default (self->context);
      {
        SentData *sd = g_new0 (SentData, 1);

        sd->worker = worker_ref (w);
        sd->task_id = 0;
        w->sends_pending++;
        gipc_channel_send_with_fds_async (w->channel, msg, NULL, NULL, request_sent_cb, sd);
      }
      g_main_context_pop_thread_default (self->context);
      task_finish_locked (self, pt, NULL, NULL,
                          g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               "The task was cancelled while it ran"),
                          done);
      task_unref (pt);  /* the entry's reference */
      if (was_head)
        {
          /* It was the worker's current task. */
          if (self->cancel_grace == 0)
            {
              worker_kill_locked (self, w);
              worker_take_sent_locked (self, w, NULL, FALSE, done);
            }
          else
            {
              source_clear (&w->kill_source);
              w->kill_source = worker_timeout (w, self->cancel_grace, grace_expired_cb,
                                               "[gipc] pool cancel grace");
            }
        }
      pool_dispatch_locked (self, done);
    }
  POOL_UNLOCK ();
  completions_run (done);
  pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

/* Any thread (the one that cancels). */
static void
task_cancelled_cb (GCancellable *cancellable,
                   gpointer      data)
{
  PoolTask *pt = data;
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[gipc] pool task cancel");
  g_source_set_callback (source, task_cancel_cb, task_ref (pt), task_unref);
  g_source_attach (source, pt->pool_context);
  g_source_unref (source);
}

/* ---- submitting ---- */

/* Gives queued @pt to an idle worker, if there is one. */
static gboolean
pool_assign_idle_locked (GipcPool *self,
                         PoolTask *pt)
{
  GList *l;

  if (self->disposed || self->broken || pt->state != TASK_QUEUED ||
      g_queue_peek_head (&self->queue) != pt)
    return FALSE;
  for (l = self->workers; l != NULL; l = l->next)
    {
      PoolWorker *w = l->data;

      if (w->state == WORKER_IDLE)
        {
          pool_assign_locked (self, w, pt);
          return TRUE;
        }
    }
  return FALSE;
}

static PoolTask *
task_new (GipcPool     *self,
          GBytes       *request,
          GUnixFDList  *fds,
          GCancellable *cancellable)
{
  PoolTask *pt = g_new0 (PoolTask, 1);

  pt->ref_count = 1;
  pt->handle = pool_handle_ref (self->handle);
  pt->pool_context = g_main_context_ref (self->context);
  pt->request = g_bytes_ref (request);
  pt->fds = fds != NULL ? g_object_ref (fds) : NULL;
  pt->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  return pt;
}

/* Queues @pt (any thread); the pool's context takes it from there. */
static void
pool_submit (GipcPool *self,
             PoolTask *pt)
{
  g_autoptr(DoneList) done = done_list_new ();
  GError *error = NULL;

  POOL_LOCK ();
  pt->id = ++self->next_task_id;
  if (self->closing)
    error = g_error_new_literal (GIPC_ERROR, GIPC_ERROR_CLOSED, "The pool is closed");
  else if (self->broken)
    error = g_error_new (GIPC_ERROR, GIPC_ERROR_POOL_BROKEN,
                         "The pool's workers died more than %u times within %u ms "
                         "(restart-intensity); call gipc_pool_reset()",
                         self->restart_intensity, self->restart_period);
  pt->state = TASK_QUEUED;
  g_queue_push_tail (&self->queue, task_ref (pt));
  if (error != NULL)
    task_finish_locked (self, pt, NULL, NULL, error, done);
  POOL_UNLOCK ();

  if (error != NULL)
    {
      completions_run_deferred (done);
      return;
    }

  if (pt->cancellable != NULL)
    pt->cancel_id = g_cancellable_connect (pt->cancellable, G_CALLBACK (task_cancelled_cb),
                                           task_ref (pt), task_unref);

  /* Where the pool's context can be acquired (its own thread, or nobody
   * iterates it), a task goes to an idle worker at once; anything else
   * (starting workers, other threads) waits for the dispatch source. */
  if (g_main_context_acquire (self->context))
    {
      gboolean assigned;

      POOL_LOCK ();
      assigned = pool_assign_idle_locked (self, pt);
      POOL_UNLOCK ();
      g_main_context_release (self->context);
      if (assigned)
        {
          pool_emit_notifies (self);
          return;
        }
    }
  pool_schedule_dispatch (self);
}

/**
 * gipc_pool_run_async:
 * @self: a pool
 * @request: the request: bytes for the worker function
 * @fds: (nullable): fds to pass to the worker with the request
 * @cancellable: (nullable): cancels the task: a queued task is removed; a
 *   running task's worker function sees its cancellable cancelled and the
 *   worker is killed after [property@Gipc.Pool:cancel-grace] unless it
 *   answered
 * @callback: (scope async) (closure user_data): called once with the
 *   outcome, in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Runs one task in one of the pool's workers: queues it, gives it to an
 * idle worker (or to a new one, started in the pool's context, while fewer
 * than [property@Gipc.Pool:max-workers] exist), and calls @callback with
 * its outcome, exactly once, whatever happens to the worker (see
 * [class@Gipc.Pool] for the outcomes). Call
 * [method@Gipc.Pool.run_finish] in @callback to get it.
 *
 * May be called from any thread. Never blocks and never refuses a task:
 * watch [property@Gipc.Pool:congested] for backpressure. A pool that is
 * broken (see [property@Gipc.Pool:restart-intensity]) fails the task with
 * %GIPC_ERROR_POOL_BROKEN, a closed one with %GIPC_ERROR_CLOSED.
 *
 * Pending tasks do not keep the pool alive: when the last reference is
 * dropped, every pending task completes with %G_IO_ERROR_CANCELLED.
 *
 * Since: 1.0
 */
void
gipc_pool_run_async (GipcPool            *self,
                     GBytes              *request,
                     GUnixFDList         *fds,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  GipcAsyncResult *result;
  GError *error = NULL;
  PoolTask *pt;

  g_return_if_fail (GIPC_IS_POOL (self));
  g_return_if_fail (request != NULL);
  g_return_if_fail (fds == NULL || G_IS_UNIX_FD_LIST (fds));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  /* No source object: pending tasks must not keep the pool alive. */
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      result = gipc_async_result_new_weak (self, cancellable, callback, user_data, gipc_pool_run_async);
      gipc_async_result_set_error (result, error);
      gipc_async_result_complete_in_idle (result);
      return;
    }

  pt = task_new (self, request, fds, cancellable);
  pt->is_async = TRUE;
  pt->source_tag = gipc_pool_run_async;
  pt->callback = callback;
  pt->user_data = user_data;
  pt->caller_context = g_main_context_ref_thread_default ();
  pool_submit (self, pt);
  task_unref (pt);
}

/**
 * gipc_pool_run_finish:
 * @self: (nullable): the pool; %NULL is accepted once the pool was finalized
 *   (its pending tasks then complete with %G_IO_ERROR_CANCELLED, and the
 *   callback may no longer have a pool to pass)
 * @result: the result given to the callback of [method@Gipc.Pool.run_async]
 * @out_fds: (out) (optional) (nullable) (transfer full): return location
 *   for the fds the worker sent with its result (%NULL when none); when
 *   @out_fds is %NULL they are closed
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Pool.run_async].
 *
 * Returns: (transfer full): the worker's result, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
gipc_pool_run_finish (GipcPool      *self,
                      GAsyncResult  *result,
                      GUnixFDList  **out_fds,
                      GError       **error)
{
  GipcAsyncResult *res;
  GCancellable *cancellable;
  GBytes *bytes;

  g_return_val_if_fail (self == NULL || GIPC_IS_POOL (self), NULL);
  g_return_val_if_fail (gipc_async_result_is_valid (result, NULL, gipc_pool_run_async), NULL);

  res = GIPC_ASYNC_RESULT (result);
  if (out_fds != NULL)
    *out_fds = NULL;
  /* As GTask did: a task whose cancellable was cancelled reports the
   * cancel, whatever came back. */
  cancellable = gipc_async_result_get_cancellable (res);
  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  bytes = gipc_async_result_propagate_pointer (res, error);
  if (bytes != NULL && out_fds != NULL)
    *out_fds = gipc_async_result_steal_fds (res);
  return bytes;
}

/**
 * gipc_pool_run:
 * @self: a pool
 * @request: the request: bytes for the worker function
 * @fds: (nullable): fds to pass to the worker with the request
 * @out_fds: (out) (optional) (nullable) (transfer full): return location
 *   for the fds the worker sent with its result (%NULL when none)
 * @cancellable: (nullable): cancels the task, as for
 *   [method@Gipc.Pool.run_async]
 * @error: return location for a #GError
 *
 * Runs one task and waits for its outcome: the blocking form of
 * [method@Gipc.Pool.run_async], with the same outcomes. Thread-safe: many
 * threads may run tasks at once.
 *
 * It works whether or not anybody iterates the pool's context: while
 * another thread does (a main loop), the pool's work happens there; while
 * nobody does, the calling thread iterates the pool's context itself until
 * its task is done, which may dispatch other sources of that context (of a
 * program that uses blocking calls only, there are none). Do not call it
 * from a callback of the pool's context that must not be re-entered.
 *
 * Returns: (transfer full): the worker's result, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
gipc_pool_run (GipcPool      *self,
               GBytes        *request,
               GUnixFDList   *fds,
               GUnixFDList  **out_fds,
               GCancellable  *cancellable,
               GError       **error)
{
  PoolTask *pt;
  SyncWaiter *waiter;
  GBytes *result;

  g_return_val_if_fail (GIPC_IS_POOL (self), NULL);
  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (fds == NULL || G_IS_UNIX_FD_LIST (fds), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  if (out_fds != NULL)
    *out_fds = NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  pt = task_new (self, request, fds, cancellable);
  waiter = g_new0 (SyncWaiter, 1);
  g_mutex_init (&waiter->mutex);
  g_cond_init (&waiter->cond);
  pt->waiter = waiter;
  pool_submit (self, pt);

  g_mutex_lock (&waiter->mutex);
  while (!waiter->done)
    {
      g_mutex_unlock (&waiter->mutex);
      if (g_main_context_acquire (self->context))
        {
          g_main_context_push_thread_default (self->context);
          g_main_context_iteration (self->context, TRUE);
          g_main_context_pop_thread_default (self->context);
          g_main_context_release (self->context);
          g_mutex_lock (&waiter->mutex);
        }
      else
        {
          /* Another thread iterates the pool's context; look again now and
           * then in case it stops. */
          g_mutex_lock (&waiter->mutex);
          if (!waiter->done)
            g_cond_wait_until (&waiter->cond, &waiter->mutex,
                               g_get_monotonic_time () + 20 * G_TIME_SPAN_MILLISECOND);
        }
    }
  g_mutex_unlock (&waiter->mutex);

  if (waiter->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&waiter->error));
      result = NULL;
    }
  else
    {
      result = g_steal_pointer (&waiter->result);
      if (out_fds != NULL)
        *out_fds = g_steal_pointer (&waiter->fds);
    }
  task_unref (pt);
  return result;
}

/**
 * gipc_pool_close_async:
 * @self: a pool
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (closure user_data): called once the pool has
 *   stopped, in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Closes the pool: new tasks fail with %GIPC_ERROR_CLOSED, the queued and
 * running ones finish, then every worker is stopped; @callback runs when
 * the last worker has exited. Finish with [method@Gipc.Pool.close_finish].
 *
 * Since: 1.0
 */
void
gipc_pool_close_async (GipcPool            *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  PoolTask *pt;

  g_return_if_fail (GIPC_IS_POOL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  /* A close completes through the task machinery (exactly once, also when
   * the pool is disposed first), with the pool as its weakly held source
   * (as run_async). */
  pt = g_new0 (PoolTask, 1);
  pt->ref_count = 1;
  pt->handle = pool_handle_ref (self->handle);
  pt->pool_context = g_main_context_ref (self->context);
  pt->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  pt->is_async = TRUE;
  pt->source_tag = gipc_pool_close_async;
  pt->callback = callback;
  pt->user_data = user_data;
  pt->caller_context = g_main_context_ref_thread_default ();
  pt->state = TASK_QUEUED;  /* in close_tasks, not in the queue */

  POOL_LOCK ();
  self->closing = TRUE;
  self->close_tasks = g_list_append (self->close_tasks, pt);
  POOL_UNLOCK ();
  pool_schedule_dispatch (self);
}

/**
 * gipc_pool_close_finish:
 * @self: (nullable): the pool; %NULL is accepted once the pool was finalized
 * @result: the result given to the callback of
 *   [method@Gipc.Pool.close_async]
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Pool.close_async].
 *
 * Returns: %TRUE once every task finished and every worker exited;
 *   %FALSE with %G_IO_ERROR_CANCELLED if the pool was finalized first
 *
 * Since: 1.0
 */
gboolean
gipc_pool_close_finish (GipcPool      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  GipcAsyncResult *res;
  GCancellable *cancellable;
  GError *local_error = NULL;

  g_return_val_if_fail (self == NULL || GIPC_IS_POOL (self), FALSE);
  g_return_val_if_fail (gipc_async_result_is_valid (result, NULL, gipc_pool_close_async), FALSE);

  res = GIPC_ASYNC_RESULT (result);
  /* As GTask did: a cancelled cancellable reports the cancel. */
  cancellable = gipc_async_result_get_cancellable (res);
  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  gipc_async_result_propagate_pointer (res, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

/**
 * gipc_pool_reset:
 * @self: a pool
 *
 * Clears a broken pool (see [property@Gipc.Pool:restart-intensity]): the
 * count of recent worker deaths starts again from zero, and the pool starts
 * workers for new tasks. Does nothing to a pool that is not broken but
 * forgetting its recent deaths.
 *
 * Since: 1.0
 */
void
gipc_pool_reset (GipcPool *self)
{
  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  self->broken = FALSE;
  g_queue_clear_full (&self->deaths, g_free);
  POOL_UNLOCK ();
  pool_schedule_dispatch (self);
}

static void
gipc_pool_dispose (GObject *object)
{
  GipcPool *self = GIPC_POOL (object);
  g_autoptr(DoneList) done = done_list_new ();
  PoolTask *pt;
  GList *l;

  POOL_LOCK ();
  if (!self->disposed)
    {
      self->disposed = TRUE;
      self->handle->pool = NULL;
      source_clear (&self->dispatch_source);
      while ((pt = g_queue_peek_head (&self->queue)) != NULL)
        {
          task_finish_locked (self, pt, NULL, NULL,
                              g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                   "The pool was finalized before the task ran"),
                              done);
        }
      while (self->workers != NULL)
        {
          PoolWorker *w = self->workers->data;

          SentEntry *e;
          /* A worker the dispatch source was to start holds a reference
           * for that start, which will not happen now. */
          gboolean start_pending = w->state == WORKER_STARTING && w->process == NULL;

          while ((e = g_queue_pop_head (&w->sent)) != NULL)
            {
              if (e->pt != NULL)
                {
                  task_finish_locked (self, e->pt, NULL, NULL,
                                      g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                           "The pool was finalized while the task ran"),
                                      done);
                  task_unref (e->pt);
                }
              g_free (e);
            }
          if (start_pending)
            {
              w->state = WORKER_GONE;
              worker_detach_locked (self, w);
              worker_unref (w);
            }
          else
            worker_kill_locked (self, w);
        }
      for (l = self->close_tasks; l != NULL; l = l->next)
        {
          task_finish_locked (self, l->data, NULL, NULL,
                              g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                   "The pool was finalized before it closed"),
                              done);
          task_unref (l->data);
        }
      g_clear_pointer (&self->close_tasks, g_list_free);
    }
  POOL_UNLOCK ();
  completions_run_deferred (done);

  G_OBJECT_CLASS (gipc_pool_parent_class)->dispose (object);
}

static void
gipc_pool_finalize (GObject *object)
{
  GipcPool *self = GIPC_POOL (object);

  if (self->func_notify != NULL)
    self->func_notify (self->func_data);
  g_clear_object (&self->server);
  g_free (self->target);
  g_clear_pointer (&self->target_args, g_variant_unref);
  g_strfreev (self->argv);
  g_ptr_array_unref (self->allowed_paths);
  g_queue_clear_full (&self->deaths, g_free);
  pool_handle_unref (self->handle);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (gipc_pool_parent_class)->finalize (object);
}

static void
gipc_pool_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  GipcPool *self = GIPC_POOL (object);

  switch (prop_id)
    {
    case PROP_MAX_WORKERS:
      g_value_set_uint (value, gipc_pool_get_max_workers (self));
      break;
    case PROP_MIN_WORKERS:
      g_value_set_uint (value, gipc_pool_get_min_workers (self));
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint (value, gipc_pool_get_idle_timeout (self));
      break;
    case PROP_MAX_TASKS_PER_WORKER:
      g_value_set_uint (value, gipc_pool_get_max_tasks_per_worker (self));
      break;
    case PROP_TASK_TIMEOUT:
      g_value_set_uint (value, gipc_pool_get_task_timeout (self));
      break;
    case PROP_CANCEL_GRACE:
      g_value_set_uint (value, gipc_pool_get_cancel_grace (self));
      break;
    case PROP_RESTART_INTENSITY:
      g_value_set_uint (value, gipc_pool_get_restart_intensity (self));
      break;
    case PROP_RESTART_PERIOD:
      g_value_set_uint (value, gipc_pool_get_restart_period (self));
      break;
    case PROP_MAX_QUEUED:
      g_value_set_uint (value, gipc_pool_get_max_queued (self));
      break;
    case PROP_SANDBOX:
      g_value_set_flags (value, gipc_pool_get_sandbox (self));
      break;
    case PROP_MEMORY_LIMIT:
      g_value_set_uint64 (value, gipc_pool_get_memory_limit (self));
      break;
    case PROP_CONGESTED:
      g_value_set_boolean (value, gipc_pool_is_congested (self));
      break;
    case PROP_QUEUED_TASKS:
      g_value_set_uint (value, gipc_pool_get_queued_tasks (self));
      break;
    case PROP_RUNNING_TASKS:
      g_value_set_uint (value, gipc_pool_get_running_tasks (self));
      break;
    case PROP_WORKERS:
      g_value_set_uint (value, gipc_pool_get_workers (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gipc_pool_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  GipcPool *self = GIPC_POOL (object);

  switch (prop_id)
    {
    case PROP_MAX_WORKERS:
      gipc_pool_set_max_workers (self, g_value_get_uint (value));
      break;
    case PROP_MIN_WORKERS:
      gipc_pool_set_min_workers (self, g_value_get_uint (value));
      break;
    case PROP_IDLE_TIMEOUT:
      gipc_pool_set_idle_timeout (self, g_value_get_uint (value));
      break;
    case PROP_MAX_TASKS_PER_WORKER:
      gipc_pool_set_max_tasks_per_worker (self, g_value_get_uint (value));
      break;
    case PROP_TASK_TIMEOUT:
      gipc_pool_set_task_timeout (self, g_value_get_uint (value));
      break;
    case PROP_CANCEL_GRACE:
      gipc_pool_set_cancel_grace (self, g_value_get_uint (value));
      break;
    case PROP_RESTART_INTENSITY:
      gipc_pool_set_restart_intensity (self, g_value_get_uint (value));
      break;
    case PROP_RESTART_PERIOD:
      gipc_pool_set_restart_period (self, g_value_get_uint (value));
      break;
    case PROP_MAX_QUEUED:
      gipc_pool_set_max_queued (self, g_value_get_uint (value));
      break;
    case PROP_SANDBOX:
      gipc_pool_set_sandbox (self, g_value_get_flags (value));
      break;
    case PROP_MEMORY_LIMIT:
      gipc_pool_set_memory_limit (self, g_value_get_uint64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gipc_pool_class_init (GipcPoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gipc_pool_dispose;
  object_class->finalize = gipc_pool_finalize;
  object_class->get_property = gipc_pool_get_property;
  object_class->set_property = gipc_pool_set_property;

  /**
   * GipcPool:max-workers:
   *
   * The most workers the pool runs at once. 0 (the default) stands for
   * the number of CPUs (`g_get_num_processors()`): the getter returns
   * that number. Set it before the first task.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_WORKERS] =
    g_param_spec_uint ("max-workers", NULL, NULL,
                       0, G_MAXINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:min-workers:
   *
   * How many workers the pool keeps warm, idle or not (never more than
   * [property@Gipc.Pool:max-workers]). Setting it starts them, in the
   * pool's context, soon after.
   *
   * Since: 1.0
   */
  properties[PROP_MIN_WORKERS] =
    g_param_spec_uint ("min-workers", NULL, NULL,
                       0, G_MAXINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:idle-timeout:
   *
   * How long (in milliseconds) an idle worker beyond
   * [property@Gipc.Pool:min-workers] lives before the pool stops it; 0
   * stops such workers as soon as they are idle.
   *
   * Since: 1.0
   */
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_uint ("idle-timeout", NULL, NULL,
                       0, G_MAXUINT, 30000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:max-tasks-per-worker:
   *
   * Recycling: a worker that has finished this many tasks is stopped
   * (its channel is closed and it exits) and a fresh one is started
   * when needed. 0 means never.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_TASKS_PER_WORKER] =
    g_param_spec_uint ("max-tasks-per-worker", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:task-timeout:
   *
   * How long (in milliseconds) a task may run in its worker: after
   * that, the worker is killed and the task fails with
   * %G_IO_ERROR_TIMED_OUT. 0 means no limit. It may be changed at any
   * time and applies to the tasks that start afterwards.
   *
   * Since: 1.0
   */
  properties[PROP_TASK_TIMEOUT] =
    g_param_spec_uint ("task-timeout", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:cancel-grace:
   *
   * How long (in milliseconds) the worker of a cancelled running task
   * may take to answer the cancel (the cancellable its function got is
   * cancelled) before the pool kills it with `SIGKILL`. The task's
   * callback runs with %G_IO_ERROR_CANCELLED at once in any case, and
   * the pool starts a replacement if tasks wait.
   *
   * Since: 1.0
   */
  properties[PROP_CANCEL_GRACE] =
    g_param_spec_uint ("cancel-grace", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:restart-intensity:
   *
   * Restart intensity, as in Erlang/OTP supervisors: when more than
   * this many workers die unexpectedly (crash, exit, failed start; not
   * the ones the pool stops or kills itself) within
   * [property@Gipc.Pool:restart-period], the pool is broken: it starts
   * no worker and fails the queued and new tasks with
   * %GIPC_ERROR_POOL_BROKEN until [method@Gipc.Pool.reset].
   *
   * Since: 1.0
   */
  properties[PROP_RESTART_INTENSITY] =
    g_param_spec_uint ("restart-intensity", NULL, NULL,
                       0, G_MAXUINT, 10,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:restart-period:
   *
   * The period (in milliseconds) of [property@Gipc.Pool:restart-
   * intensity].
   *
   * Since: 1.0
   */
  properties[PROP_RESTART_PERIOD] =
    g_param_spec_uint ("restart-period", NULL, NULL,
                       1, G_MAXUINT, 10000,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:max-queued:
   *
   * Backpressure: [property@Gipc.Pool:congested] is %TRUE while more
   * than this many tasks wait for a worker. 0 means never congested.
   * [method@Gipc.Pool.run_async] never refuses a task: a producer
   * watches `notify::congested`.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_QUEUED] =
    g_param_spec_uint ("max-queued", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:sandbox:
   *
   * The sandbox of every worker, as [method@Gipc.Process.set_sandbox]
   * applies it. Set it before the first task.
   *
   * Since: 1.0
   */
  properties[PROP_SANDBOX] =
    g_param_spec_flags ("sandbox", NULL, NULL,
                        GIPC_TYPE_SANDBOX_FLAGS, GIPC_SANDBOX_FLAGS_NONE,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:memory-limit:
   *
   * The memory limit (in bytes, 0 = none) of every worker, as
   * [method@Gipc.Process.set_memory_limit] applies it. A worker that
   * exceeds it fails its allocations (or dies), which fails its task only.
   * Set it before the first task.
   *
   * Since: 1.0
   */
  properties[PROP_MEMORY_LIMIT] =
    g_param_spec_uint64 ("memory-limit", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:congested: (getter is_congested)
   *
   * Whether more than [property@Gipc.Pool:max-queued] tasks wait for a
   * worker (never, when that is 0). Notified in the pool's context.
   *
   * Since: 1.0
   */
  properties[PROP_CONGESTED] =
    g_param_spec_boolean ("congested", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:queued-tasks:
   *
   * How many tasks wait for a worker. Notified in the pool's context.
   *
   * Since: 1.0
   */
  properties[PROP_QUEUED_TASKS] =
    g_param_spec_uint ("queued-tasks", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:running-tasks:
   *
   * How many tasks were given to a worker and are not answered yet: the
   * ones the workers run, and, when every worker is busy and tasks wait,
   * a few sent to each worker behind its current one (pipelining, so that
   * tiny tasks travel in batches). Notified in the pool's context.
   *
   * Since: 1.0
   */
  properties[PROP_RUNNING_TASKS] =
    g_param_spec_uint ("running-tasks", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcPool:workers:
   *
   * How many workers the pool has: starting, idle or running a task (a
   * worker that is being killed or stopped no longer counts). Notified in
   * the pool's context.
   *
   * Since: 1.0
   */
  properties[PROP_WORKERS] =
    g_param_spec_uint ("workers", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * GipcPool::worker-started:
   * @self: the pool
   * @worker: the worker's process, started
   *
   * Emitted in the pool's context when a worker process was started. The
   * handler may read the process's pid or name; it must not pass channels,
   * join or kill it.
   *
   * Since: 1.0
   */
  signals[SIGNAL_WORKER_STARTED] =
    g_signal_new ("worker-started",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL,
                  g_cclosure_marshal_VOID__OBJECT,
                  G_TYPE_NONE, 1, GIPC_TYPE_PROCESS);

  /**
   * GipcPool::worker-exited:
   * @self: the pool
   * @worker: the worker's process, which has exited
   *
   * Emitted in the pool's context when a worker process has exited (for
   * whatever reason: stopped by the pool, killed, crashed), with its exit
   * code available from [method@Gipc.Process.get_exit_code].
   *
   * Since: 1.0
   */
  signals[SIGNAL_WORKER_EXITED] =
    g_signal_new ("worker-exited",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL,
                  g_cclosure_marshal_VOID__OBJECT,
                  G_TYPE_NONE, 1, GIPC_TYPE_PROCESS);

  /* Touch the error domains a worker is likely to send back, so that
   * their names are known quarks here (see gipc_pool_wire_message_to_error). */
  (void) G_IO_ERROR;
  (void) G_FILE_ERROR;
  (void) G_CONVERT_ERROR;
  (void) G_KEY_FILE_ERROR;
  (void) G_MARKUP_ERROR;
  (void) G_VARIANT_PARSE_ERROR;
  (void) G_OPTION_ERROR;
  (void) G_SPAWN_ERROR;
  (void) G_URI_ERROR;
  (void) G_RESOLVER_ERROR;
  (void) G_DBUS_ERROR;
  (void) GIPC_ERROR;
}

static void
gipc_pool_init (GipcPool *self)
{
  g_queue_init (&self->queue);
  g_queue_init (&self->deaths);
  self->idle_timeout = 30000;
  self->restart_intensity = 10;
  self->restart_period = 10000;
  self->allowed_paths = g_ptr_array_new_with_free_func (g_free);
  self->context = g_main_context_ref_thread_default ();
  self->handle = g_new0 (PoolHandle, 1);
  self->handle->ref_count = 1;
  self->handle->pool = self;
}

/**
 * gipc_pool_new:
 * @func: (scope notified) (closure user_data) (destroy notify): the
 *   function each worker runs for each task
 * @user_data: data for @func
 * @notify: (nullable): frees @user_data when the pool is finalized (in
 *   this process only, never in a worker)
 *
 * Makes a pool of fork-mode workers: each worker is a fork of this program
 * (see [ctor@Gipc.Process.new]) that runs @func for each task it gets,
 * with [func@Gipc.worker_serve]. As every fork-mode child, it inherits the
 * program's memory as it is when the worker starts; prefer
 * [ctor@Gipc.Pool.new_for_target] in programs with threads (GTK).
 *
 * Returns: (transfer full): a new pool
 *
 * Since: 1.0
 */
GipcPool *
gipc_pool_new (GipcWorkerFunc func,
               gpointer       user_data,
               GDestroyNotify notify)
{
  GipcPool *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_object_new (GIPC_TYPE_POOL, NULL);
  self->kind = POOL_KIND_FORK;
  self->func = func;
  self->func_data = user_data;
  self->func_notify = notify;
  return self;
}

/**
 * gipc_pool_new_for_target:
 * @server: a fork server (started, or started before the first task)
 * @target: the name of a target of @server; the target calls
 *   [func@Gipc.worker_serve] on `gipc_channel_new_inherited (0, ...)` and
 *   returns its value
 * @args: (nullable): the arguments every worker's target gets; a floating
 *   reference is sunk
 *
 * Makes a pool whose workers are children of @server (see
 * [ctor@Gipc.Process.new_for_target]): the way for a GTK (or any threaded)
 * program.
 *
 * Returns: (transfer full): a new pool
 *
 * Since: 1.0
 */
GipcPool *
gipc_pool_new_for_target (GipcForkServer *server,
                          const gchar    *target,
                          GVariant       *args)
{
  GipcPool *self;

  g_return_val_if_fail (GIPC_IS_FORK_SERVER (server), NULL);
  g_return_val_if_fail (target != NULL, NULL);

  self = g_object_new (GIPC_TYPE_POOL, NULL);
  self->kind = POOL_KIND_TARGET;
  self->server = g_object_ref (server);
  self->target = g_strdup (target);
  self->target_args = args != NULL ? g_variant_ref_sink (args) : NULL;
  return self;
}

/**
 * gipc_pool_new_for_argv:
 * @argv: (array zero-terminated=1) (element-type filename): the worker
 *   program and its arguments; `argv[0]` is looked up in `PATH` unless it
 *   contains a slash
 *
 * Makes a pool whose workers run a program (in any language) that calls
 * [func@Gipc.worker_serve] on its inherited channel 0
 * (`gipc_channel_new_inherited (0, ...)`, see
 * [ctor@Gipc.Process.new_for_argv]). A program that cannot be started
 * fails the task that waited for it with the start's error.
 *
 * Returns: (transfer full): a new pool
 *
 * Since: 1.0
 */
GipcPool *
gipc_pool_new_for_argv (const gchar * const *argv)
{
  GipcPool *self;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  self = g_object_new (GIPC_TYPE_POOL, NULL);
  self->kind = POOL_KIND_ARGV;
  self->argv = g_strdupv ((gchar **) argv);
  return self;
}

/**
 * gipc_pool_get_sandbox:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:sandbox].
 *
 * Returns: the sandbox flags of every worker
 *
 * Since: 1.0
 */
GipcSandboxFlags
gipc_pool_get_sandbox (GipcPool *self)
{
  GipcSandboxFlags flags;

  g_return_val_if_fail (GIPC_IS_POOL (self), GIPC_SANDBOX_FLAGS_NONE);

  POOL_LOCK ();
  flags = self->sandbox;
  POOL_UNLOCK ();
  return flags;
}

/**
 * gipc_pool_set_sandbox:
 * @self: a pool
 * @flags: the sandbox of every worker
 *
 * Sets [property@Gipc.Pool:sandbox]: every worker started afterwards gets
 * it (see [method@Gipc.Process.set_sandbox]). A worker that cannot get it
 * does not start: the task waiting for it fails with
 * %GIPC_ERROR_SANDBOX_UNAVAILABLE.
 *
 * Since: 1.0
 */
void
gipc_pool_set_sandbox (GipcPool         *self,
                       GipcSandboxFlags  flags)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->sandbox != flags;
  self->sandbox = flags;
  POOL_UNLOCK ();
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SANDBOX]);
}

/**
 * gipc_pool_sandbox_allow_system_data:
 * @self: a pool
 *
 * Lets every worker started afterwards read the system's read-only data
 * despite its sandbox, as [method@Gipc.Process.sandbox_allow_system_data]
 * does for one process: what a decoder's lazy loaders need (gdk-pixbuf's
 * MIME database and loaders, fontconfig, locales) under
 * %GIPC_SANDBOX_FLAGS_NO_FILESYSTEM.
 *
 * Since: 1.0
 */
void
gipc_pool_sandbox_allow_system_data (GipcPool *self)
{
  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  self->allow_system_data = TRUE;
  POOL_UNLOCK ();
}

/**
 * gipc_pool_sandbox_allow_path:
 * @self: a pool
 * @path: (type filename): a file or directory
 * @writable: whether the workers may write beneath @path
 *
 * Lets every worker started afterwards reach @path despite its sandbox,
 * as [method@Gipc.Process.sandbox_allow_path] does for one process.
 *
 * Since: 1.0
 */
void
gipc_pool_sandbox_allow_path (GipcPool    *self,
                              const gchar *path,
                              gboolean     writable)
{
  g_return_if_fail (GIPC_IS_POOL (self));
  g_return_if_fail (path != NULL);

  POOL_LOCK ();
  g_ptr_array_add (self->allowed_paths, g_strconcat (writable ? "w:" : "r:", path, NULL));
  POOL_UNLOCK ();
}

/**
 * gipc_pool_get_memory_limit:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:memory-limit].
 *
 * Returns: the memory limit of every worker, in bytes (0 = none)
 *
 * Since: 1.0
 */
guint64
gipc_pool_get_memory_limit (GipcPool *self)
{
  guint64 value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->memory_limit;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_memory_limit:
 * @self: a pool
 * @bytes: the memory limit of every worker, in bytes (0 = none)
 *
 * Sets [property@Gipc.Pool:memory-limit] (see
 * [method@Gipc.Process.set_memory_limit]) for every worker started
 * afterwards.
 *
 * Since: 1.0
 */
void
gipc_pool_set_memory_limit (GipcPool *self,
                            guint64   bytes)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->memory_limit != bytes;
  self->memory_limit = bytes;
  POOL_UNLOCK ();
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MEMORY_LIMIT]);
}

/**
 * gipc_pool_is_congested:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:congested].
 *
 * Returns: whether more than [property@Gipc.Pool:max-queued] tasks wait
 *
 * Since: 1.0
 */
gboolean
gipc_pool_is_congested (GipcPool *self)
{
  gboolean value;

  g_return_val_if_fail (GIPC_IS_POOL (self), FALSE);

  POOL_LOCK ();
  value = pool_congested_locked (self);
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_get_queued_tasks:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:queued-tasks].
 *
 * Returns: how many tasks wait for a worker
 *
 * Since: 1.0
 */
guint
gipc_pool_get_queued_tasks (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->queue.length;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_get_running_tasks:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:running-tasks].
 *
 * Returns: how many tasks run in a worker now
 *
 * Since: 1.0
 */
guint
gipc_pool_get_running_tasks (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->n_running;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_get_workers:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:workers].
 *
 * Returns: how many workers the pool has
 *
 * Since: 1.0
 */
guint
gipc_pool_get_workers (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = pool_count_workers_locked (self);
  POOL_UNLOCK ();
  return value;
}
/**
 * gipc_pool_get_max_workers:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:max-workers].
 *
 * Returns: the value of [property@Gipc.Pool:max-workers]
 *
 * Since: 1.0
 */
guint
gipc_pool_get_max_workers (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = pool_max_workers_locked (self);
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_max_workers:
 * @self: a pool
 * @max_workers: the new value
 *
 * Sets [property@Gipc.Pool:max-workers].
 *
 * Since: 1.0
 */
void
gipc_pool_set_max_workers (GipcPool *self,
                           guint     max_workers)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->max_workers != max_workers;
  self->max_workers = max_workers;
  POOL_UNLOCK ();
  if (changed)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_WORKERS]);
      pool_schedule_dispatch (self);
    }
}

/**
 * gipc_pool_get_min_workers:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:min-workers].
 *
 * Returns: the value of [property@Gipc.Pool:min-workers]
 *
 * Since: 1.0
 */
guint
gipc_pool_get_min_workers (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->min_workers;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_min_workers:
 * @self: a pool
 * @min_workers: the new value
 *
 * Sets [property@Gipc.Pool:min-workers].
 *
 * Since: 1.0
 */
void
gipc_pool_set_min_workers (GipcPool *self,
                           guint     min_workers)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->min_workers != min_workers;
  self->min_workers = min_workers;
  POOL_UNLOCK ();
  if (changed)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MIN_WORKERS]);
      pool_schedule_dispatch (self);
    }
}

/**
 * gipc_pool_get_idle_timeout:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:idle-timeout].
 *
 * Returns: the value of [property@Gipc.Pool:idle-timeout]
 *
 * Since: 1.0
 */
guint
gipc_pool_get_idle_timeout (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->idle_timeout;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_idle_timeout:
 * @self: a pool
 * @idle_timeout_ms: the new value
 *
 * Sets [property@Gipc.Pool:idle-timeout].
 *
 * Since: 1.0
 */
void
gipc_pool_set_idle_timeout (GipcPool *self,
                            guint     idle_timeout_ms)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->idle_timeout != idle_timeout_ms;
  self->idle_timeout = idle_timeout_ms;
  POOL_UNLOCK ();
  if (changed)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_TIMEOUT]);
      pool_schedule_dispatch (self);
    }
}

/**
 * gipc_pool_get_max_tasks_per_worker:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:max-tasks-per-worker].
 *
 * Returns: the value of [property@Gipc.Pool:max-tasks-per-worker]
 *
 * Since: 1.0
 */
guint
gipc_pool_get_max_tasks_per_worker (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->max_tasks_per_worker;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_max_tasks_per_worker:
 * @self: a pool
 * @max_tasks: the new value
 *
 * Sets [property@Gipc.Pool:max-tasks-per-worker].
 *
 * Since: 1.0
 */
void
gipc_pool_set_max_tasks_per_worker (GipcPool *self,
                                    guint     max_tasks)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->max_tasks_per_worker != max_tasks;
  self->max_tasks_per_worker = max_tasks;
  POOL_UNLOCK ();
  if (changed)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_TASKS_PER_WORKER]);
      pool_schedule_dispatch (self);
    }
}

/**
 * gipc_pool_get_task_timeout:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:task-timeout].
 *
 * Returns: the value of [property@Gipc.Pool:task-timeout]
 *
 * Since: 1.0
 */
guint
gipc_pool_get_task_timeout (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->task_timeout;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_task_timeout:
 * @self: a pool
 * @task_timeout_ms: the new value
 *
 * Sets [property@Gipc.Pool:task-timeout].
 *
 * Since: 1.0
 */
void
gipc_pool_set_task_timeout (GipcPool *self,
                            guint     task_timeout_ms)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->task_timeout != task_timeout_ms;
  self->task_timeout = task_timeout_ms;
  POOL_UNLOCK ();
  if (changed)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TASK_TIMEOUT]);
      pool_schedule_dispatch (self);
    }
}

/**
 * gipc_pool_get_cancel_grace:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:cancel-grace].
 *
 * Returns: the value of [property@Gipc.Pool:cancel-grace]
 *
 * Since: 1.0
 */
guint
gipc_pool_get_cancel_grace (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->cancel_grace;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_cancel_grace:
 * @self: a pool
 * @cancel_grace_ms: the new value
 *
 * Sets [property@Gipc.Pool:cancel-grace].
 *
 * Since: 1.0
 */
void
gipc_pool_set_cancel_grace (GipcPool *self,
                            guint     cancel_grace_ms)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->cancel_grace != cancel_grace_ms;
  self->cancel_grace = cancel_grace_ms;
  POOL_UNLOCK ();
  if (changed)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CANCEL_GRACE]);
      pool_schedule_dispatch (self);
    }
}

/**
 * gipc_pool_get_restart_intensity:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:restart-intensity].
 *
 * Returns: the value of [property@Gipc.Pool:restart-intensity]
 *
 * Since: 1.0
 */
guint
gipc_pool_get_restart_intensity (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->restart_intensity;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_restart_intensity:
 * @self: a pool
 * @restart_intensity: the new value
 *
 * Sets [property@Gipc.Pool:restart-intensity].
 *
 * Since: 1.0
 */
void
gipc_pool_set_restart_intensity (GipcPool *self,
                                 guint     restart_intensity)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->restart_intensity != restart_intensity;
  self->restart_intensity = restart_intensity;
  POOL_UNLOCK ();
  if (changed)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESTART_INTENSITY]);
      pool_schedule_dispatch (self);
    }
}

/**
 * gipc_pool_get_restart_period:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:restart-period].
 *
 * Returns: the value of [property@Gipc.Pool:restart-period]
 *
 * Since: 1.0
 */
guint
gipc_pool_get_restart_period (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->restart_period;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_restart_period:
 * @self: a pool
 * @restart_period_ms: the new value
 *
 * Sets [property@Gipc.Pool:restart-period].
 *
 * Since: 1.0
 */
void
gipc_pool_set_restart_period (GipcPool *self,
                              guint     restart_period_ms)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->restart_period != restart_period_ms;
  self->restart_period = restart_period_ms;
  POOL_UNLOCK ();
  if (changed)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESTART_PERIOD]);
      pool_schedule_dispatch (self);
    }
}

/**
 * gipc_pool_get_max_queued:
 * @self: a pool
 *
 * Gets [property@Gipc.Pool:max-queued].
 *
 * Returns: the value of [property@Gipc.Pool:max-queued]
 *
 * Since: 1.0
 */
guint
gipc_pool_get_max_queued (GipcPool *self)
{
  guint value;

  g_return_val_if_fail (GIPC_IS_POOL (self), 0);

  POOL_LOCK ();
  value = self->max_queued;
  POOL_UNLOCK ();
  return value;
}

/**
 * gipc_pool_set_max_queued:
 * @self: a pool
 * @max_queued: the new value
 *
 * Sets [property@Gipc.Pool:max-queued].
 *
 * Since: 1.0
 */
void
gipc_pool_set_max_queued (GipcPool *self,
                          guint     max_queued)
{
  gboolean changed;

  g_return_if_fail (GIPC_IS_POOL (self));

  POOL_LOCK ();
  changed = self->max_queued != max_queued;
  self->max_queued = max_queued;
  POOL_UNLOCK ();
  if (changed)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_QUEUED]);
      pool_schedule_dispatch (self);
    }
}
