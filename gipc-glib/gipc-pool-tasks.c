/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The pool's tasks: submitting, the queue, the dispatch that gives queued
 * tasks to workers (pipelining them in batches when every worker is busy)
 * and decides which workers to start and stop, the results (each task's
 * outcome, delivered once in its caller's context), task timeouts and
 * cancellation. It knows a worker only through its pipeline of sent
 * requests and the functions of gipc-pool-workers.c; it never starts,
 * watches or reaps a process itself, runs no user code with the lock held,
 * and never blocks the pool's context.
 */

#include "config.h"

#include <string.h>

#include <gio/gunixfdlist.h>

#include "gipc-async-result-private.h"
#include "gipc-error.h"
#include "gipc-pool-private.h"

/* The error of the tasks of a broken pool; it names the reason when the
 * last deaths were workers that could not start. */
static GError *
pool_broken_error_locked (GipcPool *self)
{
  if (self->last_start_error != NULL)
    return g_error_new (GIPC_ERROR, GIPC_ERROR_POOL_BROKEN,
                        "The pool's workers died more than %u times within %u ms "
                        "(restart-intensity); the last one could not start: %s; "
                        "call gipc_pool_reset()",
                        self->restart_intensity, self->restart_period,
                        self->last_start_error->message);
  return g_error_new (GIPC_ERROR, GIPC_ERROR_POOL_BROKEN,
                      "The pool's workers died more than %u times within %u ms "
                      "(restart-intensity); call gipc_pool_reset()",
                      self->restart_intensity, self->restart_period);
}

static void worker_advance_locked (GipcPool   *self,
                                   PoolWorker *w,
                                   GPtrArray  *done);
static void worker_send_request_locked (GipcPool    *self,
                                        PoolWorker  *w,
                                        GBytes      *bytes,
                                        GUnixFDList *fds,
                                        guint64      task_id);
static gboolean grace_expired_cb (gpointer data);


/* ---- tasks ---- */

PoolHandle *
gipc_pool_handle_ref (PoolHandle *h)
{
  g_atomic_int_inc (&h->ref_count);
  return h;
}

void
gipc_pool_handle_unref (PoolHandle *h)
{
  if (g_atomic_int_dec_and_test (&h->ref_count))
    g_free (h);
}

/* A strong reference to the pool, or NULL once it is disposed. */
GipcPool *
gipc_pool_handle_get (PoolHandle *h)
{
  GipcPool *pool;

  POOL_LOCK ();
  pool = h->pool != NULL ? g_object_ref (h->pool) : NULL;
  POOL_UNLOCK ();
  return pool;
}

PoolTask *
gipc_pool_task_ref (PoolTask *pt)
{
  g_atomic_int_inc (&pt->ref_count);
  return pt;
}

void
gipc_pool_task_unref (gpointer data)
{
  PoolTask *pt = data;

  if (!g_atomic_int_dec_and_test (&pt->ref_count))
    return;
  gipc_pool_handle_unref (pt->handle);
  g_main_context_unref (pt->pool_context);
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
 * gipc_pool_completions_run() once the lock is released. Takes @bytes, @fds, @error. */
void
gipc_pool_task_finish_locked (GipcPool    *self,
                              PoolTask    *pt,
                              GBytes      *bytes,
                              GUnixFDList *fds,
                              GError      *error,
                              GPtrArray   *done)
{
  Completion *c;

  g_assert (pt->state != TASK_DONE);
  gipc_pool_task_ref (pt);  /* the completion's */
  if (pt->state == TASK_QUEUED && self != NULL && task_queue_unlink (&self->queue, pt))
    gipc_pool_task_unref (pt);  /* the queue's reference; the completion holds another */
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
 * inside the _async call: see gipc_pool_completions_run_deferred). */
static gboolean
may_complete_here (GMainContext *context)
{
  GMainContext *current = g_main_context_get_thread_default ();

  if (current == NULL)
    current = g_main_context_default ();
  return current == context && g_main_context_is_owner (context);
}

/* One DoneList per thread is kept for the next entry point (reentered
 * entry points, from callbacks, make their own). */
static GPrivate spare_done = G_PRIVATE_INIT ((GDestroyNotify) g_ptr_array_unref);

DoneList *
gipc_pool_done_list_new (void)
{
  GPtrArray *done = g_private_get (&spare_done);

  if (done == NULL)
    return g_ptr_array_new ();
  g_private_set (&spare_done, NULL);
  return done;
}

void
gipc_pool_done_list_free (DoneList *done)
{
  if (done->len == 0 && g_private_get (&spare_done) == NULL)
    g_private_set (&spare_done, done);
  else
    g_ptr_array_unref (done);
}

/* Calls @pt's run_async callback with its outcome; in the caller's
 * context. */
static GObject *
pool_handle_get_object (gpointer handle)
{
  return (GObject *) gipc_pool_handle_get (handle);
}

/* The result reaches the pool through the task's handle, as the task did
 * (not a GWeakRef of its own: see gipc_async_result_new_for_handle ()). */
static void
task_deliver (PoolTask *pt)
{
  Completion *c = &pt->completion;
  GipcAsyncResult *result;

  result = gipc_async_result_new_for_handle (gipc_pool_handle_ref (pt->handle), pool_handle_get_object,
                                             (GDestroyNotify) gipc_pool_handle_unref,
                                             pt->cancellable, pt->callback, pt->user_data,
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
}

static gboolean
task_deliver_cb (gpointer data)
{
  task_deliver (data);
  return G_SOURCE_REMOVE;
}

/* Runs @func with a reference to @pt from an idle source of @context. */
static void
task_attach_idle (PoolTask     *pt,
                  GMainContext *context,
                  GSourceFunc   func,
                  const gchar  *name)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, name);
  g_source_set_callback (source, func, gipc_pool_task_ref (pt), gipc_pool_task_unref);
  g_source_attach (source, context);
  g_source_unref (source);
}

/* Delivers the outcomes; without the lock (callbacks may do anything).
 * A run_async result completes at once when this thread runs its caller's
 * context (as GTask does), else from an idle source there; @deferred
 * forces the idle source (inside run_async, or in dispose). */
static void
completions_run_full (GPtrArray *done,
                      gboolean   deferred)
{
  /* Whether the last context looked at may complete here: the results of
   * one dispatch mostly go to one context, and the answer holds while the
   * dispatch runs (a callback returns with the thread-default context and
   * the ownership it found). */
  GMainContext *seen = NULL;
  gboolean seen_here = FALSE;
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
          if (!deferred && pt->caller_context != seen)
            {
              /* (Held: a freed context's address may come again.) */
              g_clear_pointer (&seen, g_main_context_unref);
              seen = g_main_context_ref (pt->caller_context);
              seen_here = may_complete_here (seen);
            }
          if (!deferred && seen_here)
            task_deliver (pt);
          else
            {
              /* The outcome stays in pt until then. */
              task_attach_idle (pt, pt->caller_context, task_deliver_cb, "[gipc] pool task result");
              gipc_pool_task_unref (pt);  /* the completion's; c was part of it */
              continue;
            }
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
      gipc_pool_task_unref (pt);  /* c was part of it */
    }
  g_ptr_array_set_size (done, 0);
  g_clear_pointer (&seen, g_main_context_unref);
}

/* From the pool's GSource dispatches. */
void
gipc_pool_completions_run (GPtrArray *done)
{
  completions_run_full (done, FALSE);
}

/* Never calls a run_async callback before it returns. */
void
gipc_pool_completions_run_deferred (GPtrArray *done)
{
  completions_run_full (done, TRUE);
}

static void
pool_fail_queued_locked (GipcPool     *self,
                         const GError *error,
                         GPtrArray    *done)
{
  PoolTask *pt;

  while ((pt = g_queue_peek_head (&self->queue)) != NULL)
    gipc_pool_task_finish_locked (self, pt, NULL, NULL, g_error_copy (error), done);
}

/* A whole result (or error) has arrived from @w: the answer to the head of
 * its pipeline. */
void
gipc_pool_worker_answer_locked (GipcPool            *self,
                                PoolWorker          *w,
                                GipcPoolWireMessage *msg,
                                GBytes              *payload,
                                GUnixFDList         *fds,
                                GPtrArray           *done)
{
  SentEntry *head = g_queue_peek_head (&w->sent);

  if (head == NULL || head->id != msg->task_id)
    {
      gipc_pool_worker_protocol_error_locked (self, w,
                                              g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                           "Worker process %d answered task %" G_GUINT64_FORMAT
                                                           ", which it was not running",
                                                           (int) gipc_process_get_pid (w->process), msg->task_id));
      return;
    }

  sent_pop_head (&w->sent);
  w->tasks_done++;
  if (head->pt == NULL)
    /* The late answer of a cancelled task. */
    gipc_pool_source_clear (&w->kill_source);
  else if (self != NULL)
    {
      if (msg->kind == GIPC_POOL_WIRE_RESULT)
        gipc_pool_task_finish_locked (self, head->pt, g_bytes_ref (payload), fds != NULL ? g_object_ref (fds) : NULL,
                                      NULL, done);
      else
        gipc_pool_task_finish_locked (self, head->pt, NULL, NULL, gipc_pool_wire_message_to_error (msg), done);
    }
  if (head->pt != NULL)
    gipc_pool_task_unref (head->pt);
  if (w->n_spare < PIPELINE_DEPTH_MAX)
    {
      /* For the next requests: no allocation a task, pipelined or not. */
      head->link.next = w->spare_entry;
      w->spare_entry = head;
      w->n_spare++;
    }
  else
    g_free (head);

  if (g_queue_is_empty (&w->sent))
    {
      w->state = WORKER_IDLE;
      if (self != NULL && self->max_tasks_per_worker != 0 && w->tasks_done >= self->max_tasks_per_worker)
        gipc_pool_worker_retire_locked (self, w);
    }
  else if (self != NULL)
    worker_advance_locked (self, w, done);
}

/* ---- the pool's machinery (in the pool's context) ---- */

static gboolean
task_timeout_cb (gpointer data)
{
  PoolTask *pt = data;
  g_autoptr(GipcPool) self = gipc_pool_handle_get (pt->handle);
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();

  if (self == NULL)
    return G_SOURCE_REMOVE;
  POOL_LOCK ();
  /* An answer in the worker's ring came in time. */
  if (pt->state == TASK_RUNNING && !self->disposed)
    gipc_pool_worker_read_ring_locked (self, pt->worker, done);
  if (pt->state == TASK_RUNNING && !self->disposed)
    {
      PoolWorker *w = pt->worker;

      g_clear_pointer (&pt->timeout_source, g_source_unref);
      gipc_pool_worker_kill_locked (self, w);
      /* The timer runs for the head only: pt is the head. */
      gipc_pool_worker_take_sent_locked (self, w,
                                         g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                                      "The task ran longer than the pool's task-timeout (%u ms); "
                                                      "its worker process %d was killed",
                                                      self->task_timeout, (int) gipc_process_get_pid (w->process)),
                                         FALSE, done);
      gipc_pool_dispatch_locked (self, done);
    }
  POOL_UNLOCK ();
  gipc_pool_completions_run (done);
  gipc_pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

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
      g_source_set_callback (pt->timeout_source, task_timeout_cb, gipc_pool_task_ref (pt), gipc_pool_task_unref);
      g_source_attach (pt->timeout_source, self->context);
    }
  else if (head->pt == NULL && w->kill_source == NULL)
    w->kill_source = gipc_pool_worker_timeout (w, MAX (self->cancel_grace, PIPELINED_CANCEL_GRACE),
                                               grace_expired_cb, "[gipc] pool cancel grace");
}

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
  SentEntry *e = w->spare_entry;

  if (e == NULL)
    e = g_new0 (SentEntry, 1);
  else
    {
      w->spare_entry = e->link.next;
      w->n_spare--;
      memset (e, 0, sizeof *e);
    }
  task_queue_unlink (&self->queue, pt);
  pt->state = TASK_RUNNING;
  pt->worker = w;
  self->n_running++;
  e->id = pt->id;
  e->pt = pt;  /* the queue's reference */
  e->link.data = e;
  g_queue_push_tail_link (&w->sent, &e->link);
  w->state = WORKER_BUSY;
  gipc_pool_source_clear (&w->idle_source);

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
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();
  g_autoptr(GipcPool) self = gipc_pool_handle_get (w->handle);

  gipc_channel_send_with_fds_finish (GIPC_CHANNEL (source), result, &error);
  POOL_LOCK ();
  w->sends_pending--;
  /* EPIPE: the worker's end was closed before the request: it never got
   * it. */
  if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED) && w->unread_id == 0)
    w->unread_id = sd->task_id;
  gipc_pool_worker_maybe_gone_locked (w, done);
  POOL_UNLOCK ();
  gipc_pool_completions_run (done);
  if (self != NULL && !self->disposed)
    gipc_pool_emit_notifies (self);
  gipc_pool_worker_unref (w);
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
  sd->worker = gipc_pool_worker_ref (w);
  sd->task_id = task_id;
  w->sends_pending++;
  /* Its report comes in the pool's context. (The other sends need no
   * context: the channel listens in the pool's context.) */
  g_main_context_push_thread_default (self->context);
  gipc_channel_send_with_fds_async (w->channel, bytes, fds, NULL, request_sent_cb, sd);
  g_main_context_pop_thread_default (self->context);
}

/* Brings the pool's state forward: assigns queued tasks to idle workers,
 * decides which workers to start (started by the dispatch source, outside
 * the lock) and which to stop. Never runs user code. */
void
gipc_pool_dispatch_locked (GipcPool  *self,
                           GPtrArray *done)
{
  guint max = gipc_pool_max_workers_locked (self);
  guint min = MIN (self->min_workers, max);
  guint n_workers, n_starting = 0, n_idle = 0;
  GList *l, *next;

  if (self->disposed)
    return;

  if (self->broken)
    {
      g_autoptr(GError) error = pool_broken_error_locked (self);
      pool_fail_queued_locked (self, error, done);
    }

  for (l = self->workers; l != NULL && !g_queue_is_empty (&self->queue); l = l->next)
    {
      PoolWorker *w = l->data;

      if (w->state == WORKER_IDLE)
        pool_assign_locked (self, w, g_queue_peek_head (&self->queue));
    }

  n_workers = gipc_pool_count_workers_locked (self);
  for (l = self->workers; l != NULL; l = l->next)
    {
      PoolWorker *w = l->data;

      if (w->state == WORKER_STARTING)
        n_starting++;
      else if (w->state == WORKER_IDLE)
        n_idle++;
    }

  /* Start workers while tasks wait for them, or to keep min-workers;
   * not while a failed start's backoff runs (its end dispatches again). */
  if (!self->broken && self->backoff_source == NULL)
    while (n_workers < max &&
           (self->queue.length > n_starting || (!self->closing && n_workers < min)))
      {
        PoolWorker *w = g_new0 (PoolWorker, 1);

        w->ref_count = 2;  /* the list's, and the pending start's */
        w->handle = gipc_pool_handle_ref (self->handle);
        w->context = g_main_context_ref (self->context);
        w->attached = TRUE;
        w->state = WORKER_STARTING;
        w->func = self->func;
        w->func_data = self->func_data;
        w->depth = PIPELINE_DEPTH_MIN;
        self->workers = g_list_append (self->workers, w);
        n_workers++;
        n_starting++;
        if (self->dispatch_source == NULL)
          gipc_pool_schedule_dispatch (self);
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

          w->refill = g_queue_get_length (&w->sent) <= w->depth / 2;
        }
      while (gave && !g_queue_is_empty (&self->queue))
        {
          gave = FALSE;
          for (l = self->workers; l != NULL && !g_queue_is_empty (&self->queue); l = l->next)
            {
              PoolWorker *w = l->data;
              guint n_sent = g_queue_get_length (&w->sent);

              if (!w->refill || w->state != WORKER_BUSY || gipc_pool_worker_is_draining (w) || n_sent >= w->depth ||
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
          gipc_pool_worker_retire_locked (self, w);
          n_workers--;
        }
      else if (n_workers > min && w->idle_source == NULL)
        w->idle_source = gipc_pool_worker_timeout (w, self->idle_timeout, gipc_pool_worker_idle_timeout_cb,
                                                   "[gipc] pool worker idle timeout");
      else if (n_workers <= min)
        gipc_pool_source_clear (&w->idle_source);
    }

  if (self->closing && g_queue_is_empty (&self->queue) && self->n_running == 0 &&
      self->workers == NULL && self->n_alive == 0)
    {
      GList *tasks = g_steal_pointer (&self->close_tasks);

      for (l = tasks; l != NULL; l = l->next)
        {
          /* A close completes through the same path as tasks. */
          PoolTask *pt = l->data;

          gipc_pool_task_finish_locked (self, pt, NULL, NULL, NULL, done);
          gipc_pool_task_unref (pt);
        }
      g_list_free (tasks);
    }
}

/* Whether a worker waits for the dispatch source to start it. */
static gboolean
pool_has_pending_start_locked (GipcPool *self)
{
  GList *l;

  for (l = self->workers; l != NULL; l = l->next)
    {
      PoolWorker *w = l->data;

      if (w->state == WORKER_STARTING && w->process == NULL && w->channel == NULL &&
          !w->started && !w->start_taken)
        return TRUE;
    }
  return FALSE;
}

/* Before user code runs from the dispatch source (a callback may iterate
 * the context in a nested loop and wait for a task that needs a worker
 * still to start): the workers waiting for their start get another
 * dispatch source, which the nested loop runs. */
static void
pool_reschedule_if_pending (GipcPool *self)
{
  gboolean pending;

  POOL_LOCK ();
  pending = !self->disposed && pool_has_pending_start_locked (self);
  POOL_UNLOCK ();
  if (pending)
    gipc_pool_schedule_dispatch (self);
}

static gboolean
pool_dispatch_cb (gpointer data)
{
  g_autoptr(GipcPool) self = g_weak_ref_get (data);
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();

  if (self == NULL)
    return G_SOURCE_REMOVE;

  POOL_LOCK ();
  g_clear_pointer (&self->dispatch_source, g_source_unref);
  gipc_pool_dispatch_locked (self, done);
  POOL_UNLOCK ();
  if (done->len > 0)
    {
      pool_reschedule_if_pending (self);
      gipc_pool_completions_run (done);
    }

  /* One start at a time, each taken under the lock: a start that fails at
   * once runs callbacks, which may dispose the pool (the workers not yet
   * taken are then dropped by the dispose, the taken one stays ours) or
   * iterate the context (a nested dispatch takes the others). */
  for (;;)
    {
      PoolWorker *w;
      gboolean start;

      POOL_LOCK ();
      w = self->disposed ? NULL : gipc_pool_pending_start_take (self);
      start = w != NULL && w->attached;
      POOL_UNLOCK ();
      if (w == NULL)
        break;
      if (start)
        {
          pool_reschedule_if_pending (self);
          gipc_pool_worker_start (self, w);
        }
      gipc_pool_worker_unref (w);  /* from gipc_pool_pending_start_take */
      gipc_pool_worker_unref (w);  /* the pending start's */
    }
  gipc_pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

/* Any thread. */
void
gipc_pool_schedule_dispatch (GipcPool *self)
{
  POOL_LOCK ();
  if (self->dispatch_source == NULL && !self->disposed)
    {
      self->dispatch_source = g_idle_source_new ();
      /* Below the callbacks of finished tasks (completed from idle
       * sources at G_PRIORITY_DEFAULT): a worker start (a fork, or a
       * request to the fork server) must not delay them. */
      g_source_set_priority (self->dispatch_source, G_PRIORITY_DEFAULT_IDLE);
      gipc_pool_attach_weak (self, self->dispatch_source, pool_dispatch_cb,
                             "[gipc] pool dispatch");
    }
  POOL_UNLOCK ();
}

/* ---- cancellation ---- */

static gboolean
grace_expired_cb (gpointer data)
{
  PoolWorker *w = data;
  g_autoptr(GipcPool) self = gipc_pool_handle_get (w->handle);
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();

  POOL_LOCK ();
  g_clear_pointer (&w->kill_source, g_source_unref);
  /* A late answer in the worker's ring came in time. */
  gipc_pool_worker_read_ring_locked (self != NULL && !self->disposed ? self : NULL, w, done);
  if (gipc_pool_worker_is_draining (w) && w->state != WORKER_GONE)
    {
      if (self != NULL && !self->disposed)
        {
          gipc_pool_worker_kill_locked (self, w);
          gipc_pool_worker_take_sent_locked (self, w, NULL, FALSE, done);
          gipc_pool_dispatch_locked (self, done);
        }
      else
        gipc_pool_worker_kill_locked (NULL, w);
    }
  POOL_UNLOCK ();
  gipc_pool_completions_run (done);
  if (self != NULL)
    gipc_pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

static gboolean
task_cancel_cb (gpointer data)
{
  PoolTask *pt = data;
  g_autoptr(GipcPool) self = gipc_pool_handle_get (pt->handle);
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();

  if (self == NULL)
    return G_SOURCE_REMOVE;

  POOL_LOCK ();
  if (pt->state == TASK_QUEUED && !self->disposed)
    gipc_pool_task_finish_locked (self, pt, NULL, NULL,
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

        sd->worker = gipc_pool_worker_ref (w);
        sd->task_id = 0;
        w->sends_pending++;
        gipc_channel_send_with_fds_async (w->channel, msg, NULL, NULL, request_sent_cb, sd);
      }
      g_main_context_pop_thread_default (self->context);
      gipc_pool_task_finish_locked (self, pt, NULL, NULL,
                                    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                         "The task was cancelled while it ran"),
                                    done);
      gipc_pool_task_unref (pt);  /* the entry's reference */
      if (was_head)
        {
          /* It was the worker's current task. */
          if (self->cancel_grace == 0)
            {
              gipc_pool_worker_kill_locked (self, w);
              gipc_pool_worker_take_sent_locked (self, w, NULL, FALSE, done);
            }
          else
            {
              gipc_pool_source_clear (&w->kill_source);
              w->kill_source = gipc_pool_worker_timeout (w, self->cancel_grace, grace_expired_cb,
                                                         "[gipc] pool cancel grace");
            }
        }
      gipc_pool_dispatch_locked (self, done);
    }
  POOL_UNLOCK ();
  gipc_pool_completions_run (done);
  gipc_pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

/* Any thread (the one that cancels). */
static void
task_cancelled_cb (GCancellable *cancellable,
                   gpointer      data)
{
  PoolTask *pt = data;

  task_attach_idle (pt, pt->pool_context, task_cancel_cb, "[gipc] pool task cancel");
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

PoolTask *
gipc_pool_task_new (GipcPool     *self,
                    GBytes       *request,
                    GUnixFDList  *fds,
                    GCancellable *cancellable)
{
  PoolTask *pt = g_new0 (PoolTask, 1);

  pt->ref_count = 1;
  pt->handle = gipc_pool_handle_ref (self->handle);
  pt->pool_context = g_main_context_ref (self->context);
  pt->request = g_bytes_ref (request);
  pt->fds = fds != NULL ? g_object_ref (fds) : NULL;
  pt->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  return pt;
}

/* Queues @pt (any thread); the pool's context takes it from there. */
void
gipc_pool_submit (GipcPool *self,
                  PoolTask *pt)
{
  g_autoptr(DoneList) done = NULL;  /* only for a refusal: one per task costs */
  GError *error = NULL;
  gboolean may_assign;

  POOL_LOCK ();
  pt->id = ++self->next_task_id;
  if (self->closing)
    error = g_error_new_literal (GIPC_ERROR, GIPC_ERROR_CLOSED, "The pool is closed");
  else if (self->broken)
    error = pool_broken_error_locked (self);
  pt->state = TASK_QUEUED;
  task_queue_push_tail (&self->queue, gipc_pool_task_ref (pt));
  if (error != NULL)
    {
      done = gipc_pool_done_list_new ();
      gipc_pool_task_finish_locked (self, pt, NULL, NULL, error, done);
    }
  /* Tasks that queue behind others (every worker busy: pipelined tiny
   * tasks) go to the dispatch source without a try at the context. */
  may_assign = error == NULL && g_queue_peek_head (&self->queue) == pt;
  POOL_UNLOCK ();

  if (error != NULL)
    {
      gipc_pool_completions_run_deferred (done);
      return;
    }

  if (pt->cancellable != NULL)
    pt->cancel_id = g_cancellable_connect (pt->cancellable, G_CALLBACK (task_cancelled_cb),
                                           gipc_pool_task_ref (pt), gipc_pool_task_unref);

  /* Where the pool's context can be acquired (its own thread, or nobody
   * iterates it), a task goes to an idle worker at once; anything else
   * (starting workers, other threads) waits for the dispatch source. */
  if (may_assign && g_main_context_acquire (self->context))
    {
      gboolean assigned;

      POOL_LOCK ();
      assigned = pool_assign_idle_locked (self, pt);
      POOL_UNLOCK ();
      g_main_context_release (self->context);
      if (assigned)
        {
          gipc_pool_emit_notifies (self);
          return;
        }
    }
  gipc_pool_schedule_dispatch (self);
}
