/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* What the three rooms of GipcPool share: the pool's, tasks' and workers'
 * structures, the one lock that guards them, and the functions each room
 * offers the others. gipc-pool.c is the GObject (properties, signals, the
 * public entry points); gipc-pool-tasks.c the tasks (queue, dispatch,
 * results, timeouts, cancellation); gipc-pool-workers.c the worker
 * processes (start, channel, death, restart intensity, idle timeout,
 * recycling). Not installed. */

#pragma once

#include <gio/gunixfdlist.h>

#include "gipc-pool.h"
#include "gipc-pool-ring-private.h"
#include "gipc-pool-wire-private.h"

G_BEGIN_DECLS

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
  GError          *last_start_error;  /* the last worker start failed so, or NULL */
  guint            start_backoff;     /* ms to wait after the last failed start; 0 after a good one */
  GSource         *backoff_source;    /* while it runs, no worker start is begun */
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

/* One lock for the state of every pool and worker: workers outlive their
 * pool (a killed worker is reaped after its pool is gone), and the lock is
 * never held while user code runs (callbacks, signals, notify). Recursive,
 * because a GIO call made under it may in principle call back. */
extern GRecMutex gipc_pool_lock;

#define POOL_LOCK()   g_rec_mutex_lock (&gipc_pool_lock)
#define POOL_UNLOCK() g_rec_mutex_unlock (&gipc_pool_lock)

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

/* A task's outcome, between gipc_pool_task_finish_locked() and gipc_pool_completions_run(). */
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
  GList         queue_link;  /* in GipcPool.queue while its data is set */
};

/* The pool's queue of tasks, linked through the tasks themselves: no
 * allocation, and a task leaves it (cancelled, failed) without a walk. */
static inline void
task_queue_push_tail (GQueue   *queue,
                      PoolTask *pt)
{
  pt->queue_link.data = pt;
  g_queue_push_tail_link (queue, &pt->queue_link);
}

static inline void
task_queue_push_head (GQueue   *queue,
                      PoolTask *pt)
{
  pt->queue_link.data = pt;
  g_queue_push_head_link (queue, &pt->queue_link);
}

/* Takes @pt off @queue; FALSE if it was not on it. */
static inline gboolean
task_queue_unlink (GQueue   *queue,
                   PoolTask *pt)
{
  if (pt->queue_link.data == NULL)
    return FALSE;
  g_queue_unlink (queue, &pt->queue_link);
  pt->queue_link.data = NULL;
  return TRUE;
}

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
  PoolHandle    *handle;        /* its pool's (no GWeakRef: a lock and qdata per message) */
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
  gulong         error_id;
  gboolean       started;
  gboolean       start_taken;   /* its pending start was taken by the dispatch source */
  gboolean       channel_done;
  gboolean       exited;
  gboolean       killed_by_pool;
  gboolean       retiring;
  gint           exit_code;
  gboolean       core_dumped;
  GError        *protocol_error;
  guint          sends_pending;
  guint64        unread_id;     /* a request the worker provably never read, or 0 */
  gboolean       awaiting_payload;
  GipcPoolWireMessage pending;
  GUnixFDList   *pending_fds;
  gulong         exited_id;
  GByteArray    *batch;         /* pipelined requests to send as one BATCH message, or NULL */
  gboolean       refill;        /* gipc_pool_dispatch_locked: its pipeline is to be topped up */
  gpointer       spare_entry;   /* SentEntries answered, for the next requests: a stack linked by link.next */
  guint          n_spare;       /* their number, at most PIPELINE_DEPTH_MAX */
  guint          depth;         /* requests it may have: PIPELINE_DEPTH_MIN to _MAX */
  gdouble        task_us;       /* its recent time a task (moving average), 0: unknown */
  gint64         answered_at;   /* when its ring last gave answers (monotonic µs), 0: never */
  GipcPoolRing  *ring;          /* where it writes its small answers, or NULL */
  GSource       *ring_source;   /* reads the ring in the pool's context */
  gint           ring_blocked;  /* (atomic) the ring's next answer waits for one on the channel */
};

/* A request sent to a worker. The worker answers its requests in order,
 * one at a time: the head is the one it runs (or will run next); those
 * behind it have not started. */
typedef struct
{
  GList     link; /* in PoolWorker.sent: no allocation for the list */
  guint64   id;
  PoolTask *pt;   /* a reference; NULL once the task was cancelled (answered) */
} SentEntry;

/* The head of @sent, taken off it, or NULL. */
static inline SentEntry *
sent_pop_head (GQueue *sent)
{
  GList *link = g_queue_pop_head_link (sent);

  return link != NULL ? link->data : NULL;
}

/* How many requests a busy worker is sent, its current one included: 16,
 * and more (up to 256) while its tasks are short, so that about
 * PIPELINE_TARGET_US of work waits behind its current one. A wakeup of a
 * worker costs tens of µs on a loaded machine: with tiny tasks, 16 in
 * flight left workers waiting for the next batch (one worker ran 230 k
 * tasks a second at 16, 620 k at 64). Long tasks keep 16, so that fewer
 * wait behind one worker while another could take them. */
#define PIPELINE_DEPTH_MIN 16
#define PIPELINE_DEPTH_MAX 256
#define PIPELINE_TARGET_US 1000
/* A busy worker's pipeline is topped up once it is down to half its
 * depth, so that requests go in batches (one channel message, one wakeup
 * of the worker, one dispatch here for several tasks). */

/* The wait before the next worker start after a failed one: from the
 * first, doubling at each failure in a row, up to the last; reset by a
 * start that succeeds, gipc_pool_reset and dispose. */
#define START_BACKOFF_MIN_MS 10
#define START_BACKOFF_MAX_MS 1000

/* Requests up to this size to an idle worker are written synchronously. */
#define SYNC_SEND_MAX 4096

/* A task cancelled while it waited behind its worker's current one is
 * skipped by the worker, which reads the cancel before it starts the next
 * request; it gets at least this long (ms) to say so once it is at the
 * head, before it is killed. */
#define PIPELINED_CANCEL_GRACE 200

/* The list of finished tasks that each entry point of the pool fills and
 * delivers once the lock is released. */
typedef GPtrArray DoneList;


/* gipc-pool.c */
guint        gipc_pool_max_workers_locked       (GipcPool     *self);
void         gipc_pool_emit_notifies            (GipcPool     *self);
void         gipc_pool_emit_worker_started      (GipcPool     *self,
                                                 GipcProcess  *worker);
void         gipc_pool_emit_worker_exited       (GipcPool     *self,
                                                 GipcProcess  *worker);

/* gipc-pool-tasks.c */
PoolHandle  *gipc_pool_handle_ref               (PoolHandle   *h);
void         gipc_pool_handle_unref             (PoolHandle   *h);
GipcPool    *gipc_pool_handle_get               (PoolHandle   *h);
PoolTask    *gipc_pool_task_new                 (GipcPool     *self,
                                                 GBytes       *request,
                                                 GUnixFDList  *fds,
                                                 GCancellable *cancellable);
PoolTask    *gipc_pool_task_ref                 (PoolTask     *pt);
void         gipc_pool_task_unref               (gpointer      data);
void         gipc_pool_task_finish_locked       (GipcPool     *self,
                                                 PoolTask     *pt,
                                                 GBytes       *bytes,
                                                 GUnixFDList  *fds,
                                                 GError       *error,
                                                 GPtrArray    *done);
DoneList    *gipc_pool_done_list_new            (void);
void         gipc_pool_done_list_free           (DoneList     *done);
void         gipc_pool_completions_run          (GPtrArray    *done);
void         gipc_pool_completions_run_deferred (GPtrArray    *done);
void         gipc_pool_submit                   (GipcPool     *self,
                                                 PoolTask     *pt);
void         gipc_pool_dispatch_locked          (GipcPool     *self,
                                                 GPtrArray    *done);
void         gipc_pool_schedule_dispatch        (GipcPool     *self);
void         gipc_pool_worker_answer_locked     (GipcPool            *self,
                                                 PoolWorker          *w,
                                                 GipcPoolWireMessage *msg,
                                                 GBytes              *payload,
                                                 GUnixFDList         *fds,
                                                 GPtrArray           *done);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DoneList, gipc_pool_done_list_free)

/* gipc-pool-workers.c */
PoolWorker  *gipc_pool_worker_ref               (PoolWorker   *w);
void         gipc_pool_worker_unref             (gpointer      data);
void         gipc_pool_source_clear             (GSource     **source);
/* Names @source and attaches it to the pool's context with @func called
 * with a GWeakRef to @self (the source does not keep the pool alive);
 * the caller keeps its reference to @source. */
void         gipc_pool_attach_weak              (GipcPool     *self,
                                                 GSource      *source,
                                                 GSourceFunc   func,
                                                 const gchar  *name);
GSource     *gipc_pool_worker_timeout           (PoolWorker   *w,
                                                 guint         ms,
                                                 GSourceFunc   func,
                                                 const gchar  *name);
gboolean     gipc_pool_worker_is_draining       (PoolWorker   *w);
guint        gipc_pool_count_workers_locked     (GipcPool     *self);
void         gipc_pool_worker_take_sent_locked  (GipcPool     *self,
                                                 PoolWorker   *w,
                                                 GError       *head_error,
                                                 gboolean      head_unread,
                                                 GPtrArray    *done);
void         gipc_pool_worker_detach_locked     (GipcPool     *self,
                                                 PoolWorker   *w);
void         gipc_pool_worker_kill_locked       (GipcPool     *self,
                                                 PoolWorker   *w);
void         gipc_pool_worker_retire_locked     (GipcPool     *self,
                                                 PoolWorker   *w);
void         gipc_pool_worker_maybe_gone_locked (PoolWorker   *w,
                                                 GPtrArray    *done);
/* Takes the answers waiting in @w's ring, in its pipeline's order (before
 * a judgement on its head: a timeout, a grace, its death). @self may be
 * NULL (disposed). */
void         gipc_pool_worker_read_ring_locked  (GipcPool     *self,
                                                 PoolWorker   *w,
                                                 GPtrArray    *done);
void         gipc_pool_worker_protocol_error_locked (GipcPool *self,
                                                     PoolWorker *w,
                                                     GError   *error);
gboolean     gipc_pool_worker_idle_timeout_cb   (gpointer      data);
PoolWorker  *gipc_pool_pending_start_take       (GipcPool     *self);
void         gipc_pool_worker_start             (GipcPool     *self,
                                                 PoolWorker   *w);
void         gipc_pool_workers_stop_locked      (GipcPool     *self,
                                                 GPtrArray    *done);
void         gipc_pool_start_backoff_clear_locked (GipcPool   *self);

G_END_DECLS
