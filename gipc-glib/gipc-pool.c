/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The pool object: its properties, signals and public entry points
 * (gipc_pool_run_async and the rest, close, reset), construction and
 * disposal. It holds the pool's settings and hands the work to the other
 * two rooms: tasks (gipc-pool-tasks.c) and worker processes
 * (gipc-pool-workers.c). It decides nothing about scheduling or about a
 * worker's life itself, and emits its signals and notifications only
 * without the lock held.
 */

#include "config.h"

#include <gio/gunixfdlist.h>

#include "gipc-async-result-private.h"
#include "gipc-error.h"
#include "gipc-enum-types.h"
#include "gipc-pool-private.h"

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
 * A worker is started with [method@Gipc.Process.start_async] from an idle
 * callback in the pool's context, never inside [method@Gipc.Pool.run_async]:
 * the pool's context is never blocked on a child's set-up, on the program
 * it executes or on the fork server's reply. Tasks queued meanwhile go to
 * the worker once it is up; a starting worker counts toward
 * [property@Gipc.Pool:max-workers].
 *
 * Since: 1.0
 */

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

/* One lock for the state of every pool and worker: workers outlive their
 * pool (a killed worker is reaped after its pool is gone), and the lock is
 * never held while user code runs (callbacks, signals, notify). Recursive,
 * because a GIO call made under it may in principle call back. */
GRecMutex gipc_pool_lock;

void
gipc_pool_emit_worker_started (GipcPool    *self,
                               GipcProcess *worker)
{
  g_signal_emit (self, signals[SIGNAL_WORKER_STARTED], 0, worker);
}

void
gipc_pool_emit_worker_exited (GipcPool    *self,
                              GipcProcess *worker)
{
  g_signal_emit (self, signals[SIGNAL_WORKER_EXITED], 0, worker);
}

guint
gipc_pool_max_workers_locked (GipcPool *self)
{
  return self->max_workers != 0 ? self->max_workers : MAX (1, (guint) g_get_num_processors ());
}

static gboolean
pool_congested_locked (GipcPool *self)
{
  return self->max_queued != 0 && self->queue.length > self->max_queued;
}

void
gipc_pool_emit_notifies (GipcPool *self)
{
  guint queued, running, workers;
  gboolean congested;
  gboolean n_q, n_r, n_w, n_c;

  POOL_LOCK ();
  queued = self->queue.length;
  running = self->n_running;
  workers = gipc_pool_count_workers_locked (self);
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
  /* Twice per task: a plain cast, not G_OBJECT()'s checked one. */
  if (n_q)
    g_object_notify_by_pspec ((GObject *) self, properties[PROP_QUEUED_TASKS]);
  if (n_r)
    g_object_notify_by_pspec ((GObject *) self, properties[PROP_RUNNING_TASKS]);
  if (n_w)
    g_object_notify_by_pspec ((GObject *) self, properties[PROP_WORKERS]);
  if (n_c)
    g_object_notify_by_pspec ((GObject *) self, properties[PROP_CONGESTED]);
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

  pt = gipc_pool_task_new (self, request, fds, cancellable);
  pt->is_async = TRUE;
  pt->source_tag = gipc_pool_run_async;
  pt->callback = callback;
  pt->user_data = user_data;
  pt->caller_context = g_main_context_ref_thread_default ();
  gipc_pool_submit (self, pt);
  gipc_pool_task_unref (pt);
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

  pt = gipc_pool_task_new (self, request, fds, cancellable);
  waiter = g_new0 (SyncWaiter, 1);
  g_mutex_init (&waiter->mutex);
  g_cond_init (&waiter->cond);
  pt->waiter = waiter;
  gipc_pool_submit (self, pt);

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
  gipc_pool_task_unref (pt);
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
  pt->handle = gipc_pool_handle_ref (self->handle);
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
  gipc_pool_schedule_dispatch (self);
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
 * forgetting its recent deaths and the backoff after failed starts (the
 * next start may begin at once).
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
  g_clear_error (&self->last_start_error);
  gipc_pool_start_backoff_clear_locked (self);
  POOL_UNLOCK ();
  gipc_pool_schedule_dispatch (self);
}

static void
gipc_pool_dispose (GObject *object)
{
  GipcPool *self = GIPC_POOL (object);
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();
  PoolTask *pt;
  GList *l;

  POOL_LOCK ();
  if (!self->disposed)
    {
      self->disposed = TRUE;
      self->handle->pool = NULL;
      gipc_pool_source_clear (&self->dispatch_source);
      gipc_pool_start_backoff_clear_locked (self);
      while ((pt = g_queue_peek_head (&self->queue)) != NULL)
        {
          gipc_pool_task_finish_locked (self, pt, NULL, NULL,
                                        g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                             "The pool was finalized before the task ran"),
                                        done);
        }
      gipc_pool_workers_stop_locked (self, done);
      for (l = self->close_tasks; l != NULL; l = l->next)
        {
          gipc_pool_task_finish_locked (self, l->data, NULL, NULL,
                                        g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                             "The pool was finalized before it closed"),
                                        done);
          gipc_pool_task_unref (l->data);
        }
      g_clear_pointer (&self->close_tasks, g_list_free);
    }
  POOL_UNLOCK ();
  gipc_pool_completions_run_deferred (done);

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
  g_clear_error (&self->last_start_error);
  gipc_pool_handle_unref (self->handle);
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
   * A failed start is not retried at once: no new start begins for 10 ms,
   * doubling with each failure in a row up to 1 s (a successful start
   * and [method@Gipc.Pool.reset] forget it), so even a large intensity
   * costs only a few tries a second.
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
 * fails the task that waited for it with the start's error (unless
 * another worker is up or starting to run it), and breaks the pool after
 * [property@Gipc.Pool:restart-intensity] tries.
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
  value = gipc_pool_count_workers_locked (self);
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
  value = gipc_pool_max_workers_locked (self);
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
      gipc_pool_schedule_dispatch (self);
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
      gipc_pool_schedule_dispatch (self);
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
      gipc_pool_schedule_dispatch (self);
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
      gipc_pool_schedule_dispatch (self);
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
      gipc_pool_schedule_dispatch (self);
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
      gipc_pool_schedule_dispatch (self);
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
      gipc_pool_schedule_dispatch (self);
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
      gipc_pool_schedule_dispatch (self);
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
      gipc_pool_schedule_dispatch (self);
    }
}
