/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* The worker side of GipcPool: reads requests from the pool's channel, runs
 * the worker function for each, sends back its result or error. */

#include "config.h"

#include <string.h>

#include <gio/gunixfdlist.h>

#include "gipc-error.h"
#include "gipc-channel.h"
#include "gipc-channel-private.h"
#include "gipc-pool.h"
#include "gipc-pool-ring-private.h"
#include "gipc-pool-wire-private.h"

/* A queued request starts without a look for cancels when the context
 * was iterated this recently (see gipc_worker_serve). */
#define RECENT_READ_USEC 200

typedef struct
{
  GList        link;       /* in Worker.requests: no allocation per request */
  guint64      task_id;
  GBytes      *request;
  GUnixFDList *fds;
  gboolean     cancelled;  /* cancelled before it started: answered without running */
} WorkerRequest;

typedef struct
{
  GipcChannel    *channel;
  GipcWorkerFunc  func;
  gpointer        user_data;
  GMainContext   *context;
  GQueue          requests;          /* of WorkerRequest */
  WorkerRequest  *awaiting_payload;  /* header seen, payload is the next message */
  gboolean        running;
  guint64         current_id;
  GCancellable   *current_cancellable;
  gboolean        done;
  gint            exit_status;
  gboolean        fresh;             /* the only request came in the last iteration */
  gint64          last_read;         /* when the context was last iterated (monotonic µs) */
  WorkerRequest  *spare;             /* the last request served, for the next one */
  GipcPoolRing   *ring;              /* the pool's answer ring, or NULL */
  GBytes         *wake;              /* a WAKE message, made once */
  GCancellable   *spare_cancellable; /* held by a toggle reference: see next_cancellable () */
  gint           *spare_others;      /* its count of other references */
  GQuark          others_quark;
  guint           cancelled_signal;
} Worker;

static void
worker_request_free (WorkerRequest *req)
{
  g_clear_pointer (&req->request, g_bytes_unref);
  g_clear_object (&req->fds);
  g_free (req);
}

static void
worker_fail (Worker       *w,
             const GError *error)
{
  if (!g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED))
    {
      g_debug ("gipc_worker_serve: stopping: %s", error->message);
      w->exit_status = 1;
    }
  w->done = TRUE;
}

/* One message from the pool (the channel listens: push mode): the @size
 * bytes of @message at @offset, all of it or one record of a batch
 * (@in_batch: no slice is made of the record but its payload's). */
static void
worker_input (Worker      *w,
              GBytes      *message,
              gsize        offset,
              gsize        size,
              GUnixFDList *message_fds,
              gboolean     in_batch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fds = message_fds != NULL ? g_object_ref (message_fds) : NULL;
  GipcPoolWireMessage msg;
  guint n_fds;

  if (w->done)
    return;
  n_fds = fds != NULL ? (guint) g_unix_fd_list_get_length (fds) : 0;

  if (w->awaiting_payload != NULL)
    {
      if (n_fds != 0)
        {
          g_set_error_literal (&error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                               "Pool request payload carries fds");
          worker_fail (w, error);
          return;
        }
      g_assert (!in_batch);  /* no record announces a separate payload */
      w->awaiting_payload->request = g_bytes_ref (message);
      g_queue_push_tail_link (&w->requests, &w->awaiting_payload->link);
      w->awaiting_payload = NULL;
      return;
    }

  if (!gipc_pool_wire_decode_range (message, offset, size, &msg, &error))
    {
      worker_fail (w, error);
      return;
    }

  switch (msg.kind)
    {
    case GIPC_POOL_WIRE_BATCH:
      if (in_batch || n_fds != 0)
        {
          g_set_error_literal (&error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                               "Pool batch nested or with fds");
          break;
        }
      {
        gsize next = 0, at, len;

        while (!w->done && gipc_pool_wire_batch_next_range (msg.payload, &next, &at, &len, &error) &&
               len != 0)
          worker_input (w, msg.payload, at, len, NULL, TRUE);
      }
      break;

    case GIPC_POOL_WIRE_REQUEST:
      if (in_batch && (msg.flags & GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS) != 0)
        {
          g_set_error_literal (&error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                               "Pool request in a batch announces a separate payload");
          break;
        }
      if (msg.n_fds != n_fds)
        {
          g_set_error (&error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                       "Pool request announces %u fds but carries %u", msg.n_fds, n_fds);
          break;
        }
      {
        WorkerRequest *req = g_steal_pointer (&w->spare);

        if (req == NULL)
          req = g_new0 (WorkerRequest, 1);

        req->link.data = req;
        req->task_id = msg.task_id;
        req->fds = g_steal_pointer (&fds);
        if (msg.flags & GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS)
          w->awaiting_payload = req;
        else
          {
            req->request = g_steal_pointer (&msg.payload);
            w->fresh = g_queue_is_empty (&w->requests) && !w->running;
            g_queue_push_tail_link (&w->requests, &req->link);
          }
      }
      break;

    case GIPC_POOL_WIRE_RING:
      if (in_batch || n_fds != 1 || w->ring != NULL)
        {
          g_set_error_literal (&error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                               "Pool answer ring sent twice, in a batch or without its fd");
          break;
        }
      {
        g_autoptr(GError) ring_error = NULL;

        /* Without it, every answer goes on the channel: slower, the same. */
        w->ring = gipc_pool_ring_map (g_unix_fd_list_peek_fds (fds, NULL)[0], &ring_error);
        if (w->ring == NULL)
          g_debug ("gipc_worker_serve: answers go on the channel: %s", ring_error->message);
      }
      break;

    case GIPC_POOL_WIRE_CANCEL:
      if (w->running && w->current_id == msg.task_id)
        g_cancellable_cancel (w->current_cancellable);
      else
        {
          GList *l;

          /* A request not started yet is answered without running (the
           * pool waits for an answer to every request it sent). */
          for (l = w->requests.head; l != NULL; l = l->next)
            {
              WorkerRequest *req = l->data;

              if (req->task_id == msg.task_id)
                req->cancelled = TRUE;
            }
        }
      break;

    default:
      g_set_error (&error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "Unexpected pool message kind 0x%02x in a worker", msg.kind);
      break;
    }
  gipc_pool_wire_message_clear (&msg);

  if (error != NULL)
    worker_fail (w, error);
}

static void
message_cb (GipcChannel *channel,
            GBytes      *message,
            GUnixFDList *fds,
            gpointer     user_data)
{
  worker_input (user_data, message, 0, g_bytes_get_size (message), fds, FALSE);
}

static void
error_cb (GipcChannel  *channel,
          const GError *error,
          gpointer      user_data)
{
  worker_fail (user_data, error);
}

static gboolean
send_reply (Worker       *w,
            guint64       task_id,
            GBytes       *result,
            GUnixFDList  *out_fds,
            const GError *func_error,
            GError      **error)
{
  guint n_fds = out_fds != NULL ? (guint) g_unix_fd_list_get_length (out_fds) : 0;
  g_autoptr(GBytes) header = NULL;
  gboolean follows = FALSE;
  gboolean wake = FALSE;

  /* A small answer without fds goes in the ring when it fits: no system
   * call. When the pool waits for it, on the channel: that one message
   * wakes the pool and carries the answer. */
  if (w->ring != NULL && n_fds == 0 && !gipc_pool_ring_take_wakeup (w->ring))
    {
      gboolean written = FALSE;

      if (result != NULL && g_bytes_get_size (result) <= GIPC_POOL_RING_RECORD_MAX - GIPC_POOL_WIRE_HEADER_SIZE)
        {
          guint8 h[GIPC_POOL_WIRE_HEADER_SIZE];
          gsize size;
          gconstpointer data = g_bytes_get_data (result, &size);

          gipc_pool_wire_put_result_header (h, task_id);
          written = gipc_pool_ring_write (w->ring, h, sizeof h, data, size, &wake);
        }
      else if (result == NULL)
        {
          g_autoptr(GBytes) message = gipc_pool_wire_encode_error (task_id, 0, func_error);
          gsize size;
          gconstpointer data = g_bytes_get_data (message, &size);

          written = gipc_pool_ring_write (w->ring, data, size, NULL, 0, &wake);
        }
      if (written)
        {
          if (!wake)
            return TRUE;
          if (w->wake == NULL)
            w->wake = gipc_pool_wire_encode_control (GIPC_POOL_WIRE_WAKE, 0);
          return gipc_channel_send (w->channel, w->wake, NULL, error);
        }
    }

  if (result != NULL)
    header = gipc_pool_wire_encode_payload (GIPC_POOL_WIRE_RESULT, task_id, n_fds, result, &follows);
  else
    header = gipc_pool_wire_encode_error (task_id, n_fds, func_error);

  if (!gipc_channel_send_with_fds (w->channel, header, n_fds > 0 ? out_fds : NULL, NULL, error))
    return FALSE;
  if (follows && !gipc_channel_send (w->channel, result, NULL, error))
    return FALSE;
  return TRUE;
}

/* The count of references to a worker's cancellable other than the
 * worker's toggle reference, kept by its toggle notifications (GObject
 * notifies the holder of the only toggle reference when another reference
 * appears and when only the toggle reference is left). The count lives as
 * long as the cancellable (it is the cancellable's data), so a notification
 * from another thread never finds it freed. */

static void
cancellable_toggled (gpointer  data,
                     GObject  *object,
                     gboolean  is_last_ref)
{
  gint *others = data;

  if (is_last_ref)
    g_atomic_int_add (others, -1);
  else
    g_atomic_int_inc (others);
}

static void
drop_spare_cancellable (Worker *w)
{
  GCancellable *spare = g_steal_pointer (&w->spare_cancellable);

  /* Whoever else holds it keeps it alive. */
  if (spare != NULL)
    g_object_remove_toggle_ref (G_OBJECT (spare), cancellable_toggled,
                                g_steal_pointer (&w->spare_others));
}

/* The cancellable for the next request. A GCancellable and its finalization
 * cost more than a tiny task (about 2,500 instructions), so the previous
 * request's serves again when nothing but the worker's toggle reference
 * holds it, it was not cancelled, and no handler is left on its "cancelled"
 * signal (one left there must not run for a later task's cancel). It is
 * looked at here, when the next request starts, rather than as the function
 * returns: a reference the function handed to another thread (a
 * g_task_run_in_thread_sync () of a GIO call, say) is often dropped just
 * after the return, and in GLib 2.74 a toggle reference removed while
 * another thread drops the last other reference lets that thread's unref
 * read the object after it is freed (fixed in GLib 2.79.1). By the next
 * request such a thread is done, and the cancellable is free for reuse;
 * what is still held then is held for longer than a task (a function's
 * global, a binding's wrapper) and is given up. */
static GCancellable *
next_cancellable (Worker *w)
{
  GCancellable *spare = w->spare_cancellable;

  if (spare != NULL)
    {
      if (g_atomic_int_get (w->spare_others) == 0 &&
          !g_cancellable_is_cancelled (spare) &&
          !g_signal_has_handler_pending (spare, w->cancelled_signal, 0, TRUE))
        return spare;
      drop_spare_cancellable (w);
    }

  spare = g_cancellable_new ();
  if (w->cancelled_signal == 0)
    w->cancelled_signal = g_signal_lookup ("cancelled", G_TYPE_CANCELLABLE);  /* the class exists now */
  w->spare_others = g_new (gint, 1);
  *w->spare_others = 1;  /* the reference of g_cancellable_new (), dropped below */
  g_object_set_qdata_full (G_OBJECT (spare), w->others_quark, w->spare_others, g_free);
  g_object_add_toggle_ref (G_OBJECT (spare), cancellable_toggled, w->spare_others);
  g_object_unref (spare);
  w->spare_cancellable = spare;
  return spare;
}

static void
run_one (Worker *w)
{
  WorkerRequest *req = g_queue_pop_head_link (&w->requests)->data;
  g_autoptr(GError) func_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) out_fds = NULL;
  g_autoptr(GBytes) result = NULL;
  GCancellable *cancellable = next_cancellable (w);

  w->running = TRUE;
  w->current_id = req->task_id;
  w->current_cancellable = cancellable;

  if (req->cancelled)
    g_set_error_literal (&func_error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                         "The task was cancelled before it started");
  else
    result = w->func (req->request, req->fds, &out_fds, cancellable, w->user_data, &func_error);

  w->running = FALSE;
  w->current_cancellable = NULL;

  if (result == NULL && func_error == NULL)
    g_set_error_literal (&func_error, GIPC_ERROR, GIPC_ERROR_FAILED,
                         "The worker function returned NULL without setting an error");
  else if (result != NULL && func_error != NULL)
    g_clear_error (&func_error);

  if (!send_reply (w, req->task_id, result, out_fds, func_error, &error))
    worker_fail (w, error);
  /* Kept for the next request, emptied. */
  g_clear_pointer (&req->request, g_bytes_unref);
  g_clear_object (&req->fds);
  memset (req, 0, sizeof *req);
  if (w->spare == NULL)
    w->spare = req;
  else
    g_free (req);
}

/**
 * gipc_worker_serve:
 * @channel: the channel to the pool: in a program started by
 *   [ctor@Gipc.Pool.new_for_argv], `gipc_channel_new_inherited (0, &error)`;
 *   in a fork-server target of [ctor@Gipc.Pool.new_for_target], the same
 * @func: (scope call) (closure user_data): turns each request into a result
 * @user_data: data for @func
 *
 * Serves a [class@Gipc.Pool] in a worker process: receives the pool's
 * requests on @channel, runs @func for each, one at a time, and sends back
 * its result (bytes and fds) or its error (domain, code and message), until
 * the pool closes the channel.
 *
 * @func runs with a main context of its own as the thread-default context;
 * the worker reads the pool's messages (a cancel of the running task cancels
 * the cancellable @func got) whenever that context is iterated, so a long
 * function should use GIO's async calls or iterate it now and then
 * (`g_main_context_iteration (NULL, FALSE)`), and return soon after its
 * cancellable is cancelled. A function that does neither is killed after the
 * pool's [property@Gipc.Pool:cancel-grace] when its task is cancelled.
 *
 * Small answers (under 4 KiB, without fds) are written to the shared memory
 * the pool gave the worker, without a system call each. Large results
 * (64 KiB and more) travel as a message of their own, so that the channel
 * sends them as sealed shared memory; a result made with
 * [func@Gipc.shared_bytes_new] is sent without any copy.
 *
 * Returns: the exit status to use: 0 when the pool closed the channel, 1
 *   after a protocol error or a failed send
 *
 * Since: 1.0
 */
gint
gipc_worker_serve (GipcChannel    *channel,
                   GipcWorkerFunc  func,
                   gpointer        user_data)
{
  Worker w = { 0, };
  gulong error_id;
  guint i;

  g_return_val_if_fail (GIPC_IS_CHANNEL (channel), 1);
  g_return_val_if_fail (func != NULL, 1);

  w.channel = g_object_ref (channel);
  w.func = func;
  w.user_data = user_data;
  w.others_quark = g_quark_from_static_string ("gipc-worker-cancellable-others");
  w.context = g_main_context_new ();
  g_queue_init (&w.requests);
  g_main_context_push_thread_default (w.context);

  gipc_channel_set_message_func (w.channel, message_cb, &w);
  error_id = g_signal_connect (w.channel, "error", G_CALLBACK (error_cb), &w);
  gipc_channel_listen (w.channel);
  while (!w.done)
    {
      if (!w.running && !g_queue_is_empty (&w.requests))
        {
          /* Read what has arrived before starting a request that waited
           * behind another: the pool may have cancelled it. One iteration
           * dispatches every source that is ready (the channel reads all
           * that has arrived); a request that just came to an idle worker
           * starts at once, and so does one whose wait behind others
           * ended within RECENT_READ_USEC of the last read (tiny
           * pipelined tasks: a look that finds nothing costs a poll and
           * about 1,100 instructions a task). A cancel that comes later
           * than the read is the race every cancel has with a start: the
           * task runs, and its late answer is dropped by the pool. */
          if (!w.fresh && g_get_monotonic_time () - w.last_read >= RECENT_READ_USEC)
            {
              g_main_context_iteration (w.context, FALSE);
              w.last_read = g_get_monotonic_time ();
            }
          w.fresh = FALSE;
          if (!w.done)
            run_one (&w);
        }
      else
        {
          g_main_context_iteration (w.context, TRUE);
          w.last_read = g_get_monotonic_time ();
        }
    }

  /* Closing stops listening; what the context still holds runs while it
   * is ours. */
  gipc_channel_set_message_func (w.channel, NULL, NULL);
  g_signal_handler_disconnect (w.channel, error_id);
  gipc_channel_close (w.channel, NULL);
  for (i = 0; i < 64 && g_main_context_pending (w.context); i++)
    g_main_context_iteration (w.context, FALSE);

  while (!g_queue_is_empty (&w.requests))
    worker_request_free (g_queue_pop_head_link (&w.requests)->data);
  g_clear_pointer (&w.awaiting_payload, worker_request_free);
  g_clear_pointer (&w.spare, worker_request_free);
  g_clear_pointer (&w.ring, gipc_pool_ring_free);
  g_clear_pointer (&w.wake, g_bytes_unref);
  drop_spare_cancellable (&w);
  g_main_context_pop_thread_default (w.context);
  g_main_context_unref (w.context);
  g_object_unref (w.channel);
  return w.exit_status;
}
