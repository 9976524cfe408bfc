/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* The output half of a GipcChannel: the queue of frames, sends (async,
 * blocking, with fds), flushes and flow control (queued-bytes,
 * high-water-mark, congested). */

#include "config.h"

#include "gipc-channel.h"
#include "gipc-channel-source-private.h"
#include "gipc-channel-state-private.h"
#include "gipc-error.h"
#include "gipc-transport-private.h"

/* Queued output beyond which send_async writes what it can at once. */
#define OUTPUT_HIGH_WATER   (256 * 1024)

/* ------------------------------------------------------------------ */
/* Output                                                              */

/* While output is queued the channel holds a reference on itself, so
 * dropping the last user reference never blocks nor loses a message: the
 * source writes the rest, then the channel goes. Call after anything that
 * may change the output queue, with a reference held by the caller. */
void
gipc_channel_sync_output_ref (GipcChannel *self)
{
  if (self->stream.output.length > 0 && !self->output_held)
    {
      self->output_held = TRUE;
      g_object_ref (self);
    }
  else if (self->stream.output.length == 0 && self->output_held)
    {
      self->output_held = FALSE;
      g_object_unref (self);
    }
}

/* Flow control: TRUE above the high-water mark (or the fd budget), FALSE
 * again at or below half of it (and of the budget). What counts is what
 * the output holds: the bytes not yet written, the size of every
 * shared-memory message until the peer has taken it, and the fds queued
 * or in flight. Only state here (send_async calls it per message): the
 * notify is the dispatch's. */
void
gipc_channel_update_congestion (GipcChannel *self)
{
  guint64 queued = gipc_frame_stream_get_pending_bytes (&self->stream);
  guint fds = gipc_frame_stream_get_pending_fds (&self->stream);
  guint budget = fds > 0 ? gipc_frame_stream_get_fd_budget (&self->stream) : 0;
  gboolean over = queued > self->high_water_mark || fds > budget;
  gboolean calm = queued <= self->high_water_mark / 2 && fds <= budget / 2;

  if ((!self->congested && over) || (self->congested && calm))
    {
      self->congested = !self->congested;
      self->congestion_changes++;
    }
}

/* Polling for the fds in flight: from this interval, doubling while the
 * peer takes nothing, up to the maximum. */
#define IN_FLIGHT_POLL_MIN_US   1000
#define IN_FLIGHT_POLL_MAX_US   (100 * 1000)

/* Whether the dispatch must look at the fds in flight on its own: no fd
 * event tells when the peer has read them, and a writer held by the fd
 * budget, or a producer waiting for the congestion to end, waits for
 * that. */
static gboolean
needs_in_flight_poll (GipcChannel *self)
{
  return self->stream.held ||
         (self->congested && gipc_frame_stream_has_in_flight (&self->stream));
}

gint64
gipc_channel_output_wakeup (GipcChannel *self)
{
  if (self->closed || self->write_error != NULL || !needs_in_flight_poll (self))
    {
      /* The next wait starts with the shortest interval again. */
      self->in_flight_poll_at = 0;
      self->in_flight_poll_interval = 0;
      return -1;
    }

  if (self->in_flight_poll_interval == 0)
    self->in_flight_poll_interval = IN_FLIGHT_POLL_MIN_US;
  if (self->in_flight_poll_at == 0)
    self->in_flight_poll_at = g_get_monotonic_time () + self->in_flight_poll_interval;

  return self->in_flight_poll_at;
}

/* Looks at the fds in flight when the poll is due. TRUE if it is: the
 * caller then writes what the peer made room for. */
static gboolean
poll_in_flight (GipcChannel *self)
{
  if (self->in_flight_poll_at == 0 || g_get_monotonic_time () < self->in_flight_poll_at)
    return FALSE;

  self->in_flight_poll_at = 0;
  if (gipc_frame_stream_release_in_flight (&self->stream))
    self->in_flight_poll_interval = IN_FLIGHT_POLL_MIN_US;
  else
    self->in_flight_poll_interval = MIN (self->in_flight_poll_interval * 2, IN_FLIGHT_POLL_MAX_US);
  gipc_channel_update_congestion (self);
  return TRUE;
}

/* Appends one frame to the output queue; returns its stream offsets. */
static gboolean
queue_frame (GipcChannel  *self,
             GBytes       *message,
             GUnixFDList  *fds,
             guint64      *start,
             guint64      *end,
             GError      **error)
{
  if (!gipc_frame_stream_queue (&self->stream, message, fds, start, end, error))
    return FALSE;
  gipc_channel_update_congestion (self);
  return TRUE;
}

static void send_op_complete (SendOp *op,
                              GError *error);

/* Completes, in call order, every send that is written or failed. Only
 * from the dispatch: never inside send_async, and never out of order. */
static void
complete_finished_sends (GipcChannel *self)
{
  SendOp *op;

  while (!self->closed &&
         (op = g_queue_peek_head (&self->send_ops)) != NULL &&
         gipc_channel_send_op_finished (self, op))
    {
      g_queue_pop_head (&self->send_ops);
      send_op_complete (op, op->error);
    }
}

/* Records a write failure: every queued byte is dropped and every pending
 * send fails (completed by the dispatch); later sends fail the same
 * way. */
static void
fail_output (GipcChannel *self,
             GError      *error)
{
  if (self->write_error == NULL)
    {
      self->write_error = g_error_copy (error);
      g_debug ("Channel %p: sending failed: %s", self, error->message);
    }

  /* Flushes whose messages were not all written fail; the others are
   * done (the dispatch tells them apart by error). */
  for (GList *l = self->flush_ops.head; l != NULL; l = l->next)
    {
      FlushOp *op = l->data;

      if (op->error == NULL && op->target > self->stream.written)
        op->error = g_error_copy (error);
    }

  /* Sends whose messages were all written succeed (their callbacks just
   * have not run yet); the others fail. */
  for (GList *l = self->send_ops.head; l != NULL; l = l->next)
    {
      SendOp *op = l->data;

      if (op->error == NULL && op->end > self->stream.written)
        op->error = g_error_copy (error);
    }

  gipc_frame_stream_drop_output (&self->stream);
  gipc_channel_update_congestion (self);
}

/* Writes queued output until it is all written or the transport is full.
 * Never blocks. Does not complete sends (the caller does). */
static GipcFrameFlushResult
flush_output (GipcChannel  *self,
              GError      **error)
{
  GipcFrameFlushResult result = gipc_frame_stream_flush (&self->stream, error);

  /* A write may show that the peer took frames in flight. */
  gipc_frame_stream_release_in_flight (&self->stream);
  gipc_channel_update_congestion (self);
  return result;
}

/* Writes what it can now and records failures. */
void
gipc_channel_pump_output (GipcChannel *self)
{
  g_autoptr(GError) error = NULL;

  if (flush_output (self, &error) == GIPC_FRAME_FLUSH_FAILED)
    fail_output (self, error);
}

/* Writes all queued output, blocking. @cancellable counts only while the
 * stream has not passed the offset @cancel_limit: a frame that has begun
 * is always finished, and if even waiting fails then, the output is lost. */
gboolean
gipc_channel_flush_output_blocking (GipcChannel   *self,
                                    GCancellable  *cancellable,
                                    guint64        cancel_limit,
                                    GError       **error)
{
  GError *local_error = NULL;
  gint64 held_interval = 0;

  for (;;)
    {
      gboolean cancellable_now;
      short events;
      gint64 deadline;

      switch (flush_output (self, &local_error))
        {
        case GIPC_FRAME_FLUSH_DONE:
          return TRUE;

        case GIPC_FRAME_FLUSH_FAILED:
          fail_output (self, local_error);
          g_propagate_error (error, local_error);
          return FALSE;

        case GIPC_FRAME_FLUSH_HELD:
          /* Nothing tells when the peer takes the fds in flight: look
           * again after a while (an error or hang-up on the socket ends
           * the wait at once). */
          held_interval = held_interval == 0 ? IN_FLIGHT_POLL_MIN_US :
                          MIN (held_interval * 2, IN_FLIGHT_POLL_MAX_US);
          events = 0;
          deadline = g_get_monotonic_time () + held_interval;
          break;

        case GIPC_FRAME_FLUSH_AGAIN:
        default:
          held_interval = 0;
          events = G_IO_OUT;
          deadline = -1;
          break;
        }

      cancellable_now = self->stream.written <= cancel_limit;
      if (gipc_transport_wait_fd (self->stream.transport.write_fd, events,
                   cancellable_now ? cancellable : NULL, deadline, &local_error) < 0)
        {
          if (!cancellable_now)
            fail_output (self, local_error);
          g_propagate_error (error, local_error);
          return FALSE;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Send operations                                                     */

static void
send_op_free (SendOp *op)
{
  gipc_channel_cancel_watch_clear (&op->cancel);
  g_clear_object (&op->task);
  g_clear_error (&op->error);
  g_slice_free (SendOp, op);
}

static void
send_op_complete (SendOp *op,
                  GError *error)
{
  GTask *task = g_steal_pointer (&op->task);

  if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    g_task_return_boolean (task, TRUE);

  send_op_free (op);
  g_object_unref (task);
}

/* Removes the not-yet-started frame of a cancelled send from the output. */
static void
unqueue_frame (GipcChannel *self,
               guint64      start,
               guint64      end)
{
  guint64 length = end - start;

  gipc_frame_stream_unqueue (&self->stream, start, end);

  for (GList *o = self->send_ops.head; o != NULL; o = o->next)
    {
      SendOp *op = o->data;

      if (op->start >= end)
        {
          op->start -= length;
          op->end -= length;
        }
    }

  for (GList *o = self->flush_ops.head; o != NULL; o = o->next)
    {
      FlushOp *op = o->data;

      if (op->target >= end)
        op->target -= length;
    }

  gipc_channel_update_congestion (self);
}

static gboolean
send_internal (GipcChannel   *self,
               GBytes        *message,
               GUnixFDList   *fds,
               GCancellable  *cancellable,
               GTask         *task,
               GError       **error)
{
  guint64 start, end;
  gboolean was_idle;
  guint64 generation;

  was_idle = self->stream.output.length == 0;
  if (!queue_frame (self, message, fds, &start, &end, error))
    return FALSE;

  gipc_channel_ensure_source (self, FALSE);

  if (task != NULL)
    {
      SendOp *op = g_slice_new0 (SendOp);

      op->task = g_object_ref (task);
      op->start = start;
      op->end = end;
      g_queue_push_tail (&self->send_ops, op);
      gipc_channel_cancel_watch_init (&op->cancel, self, cancellable);
    }

  /* Latency: the first send of an iteration into an idle channel is
   * written at once. Throughput: the ones after it are coalesced and
   * written by the source on the next iteration, or at once when much is
   * queued. */
  generation = gipc_channel_source_get_generation (self->source);
  if (!self->stream.full &&
      ((was_idle && (!self->inline_used || self->inline_generation != generation)) ||
       self->stream.queued - self->stream.written >= OUTPUT_HIGH_WATER))
    {
      self->inline_used = TRUE;
      self->inline_generation = generation;
      gipc_channel_pump_output (self);
    }

  gipc_channel_update_source (self);
  gipc_channel_sync_output_ref (self);
  return TRUE;
}

/* Checks that @fds can go with a message on @self, before anything is
 * queued or written. */
static gboolean
check_fds (GipcChannel  *self,
           GUnixFDList  *fds,
           GError      **error)
{
  int n = fds != NULL ? g_unix_fd_list_get_length (fds) : 0;

  if (n == 0)
    return TRUE;

  if (!gipc_transport_can_pass_fds (&self->stream.transport))
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "This channel cannot pass file descriptors (make it "
                           "with GIPC_PIPE_FLAGS_UNIX_FDS)");
      return FALSE;
    }

  if (n > GIPC_CHANNEL_MAX_FDS_PER_MESSAGE)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "A message can carry at most %d file descriptors, not %d",
                   GIPC_CHANNEL_MAX_FDS_PER_MESSAGE, n);
      return FALSE;
    }

  return TRUE;
}

static void
send_async_internal (GipcChannel         *self,
                     GBytes              *message,
                     GUnixFDList         *fds,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data,
                     gpointer             source_tag)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  if (callback != NULL)
    {
      task = g_task_new (self, cancellable, callback, user_data);
      g_task_set_source_tag (task, source_tag);
      g_task_set_check_cancellable (task, FALSE);
    }

  if (!gipc_channel_check_can_send (self, &error) ||
      !gipc_channel_check_message_size (g_bytes_get_size (message), &error) ||
      !check_fds (self, fds, &error) ||
      g_cancellable_set_error_if_cancelled (cancellable, &error))
    goto fail;

  if (self->write_error != NULL)
    {
      error = g_error_copy (self->write_error);
      goto fail;
    }

  if (send_internal (self, message, fds, cancellable, task, &error))
    return;

fail:
  if (task != NULL)
    g_task_return_error (task, error);
  else
    {
      g_debug ("Channel %p: send_async without callback failed: %s", self, error->message);

      /* Nobody hears of this message: the channel fails where it would
       * have been written, as if its write had failed, so that the
       * messages before it arrive, no later message is delivered in its
       * place, and flush reports the error. A closed channel, one that
       * failed already and a cancelled send lose nothing unnoticed. */
      if (!self->closed && self->write_error == NULL && self->can_send &&
          !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gipc_frame_stream_queue_error (&self->stream, g_steal_pointer (&error));
          gipc_channel_ensure_source (self, FALSE);
          if (!self->stream.full)
            gipc_channel_pump_output (self);
          gipc_channel_update_source (self);
          gipc_channel_sync_output_ref (self);
        }
      g_clear_error (&error);
    }
}

/**
 * gipc_channel_send_async:
 * @self: a channel that can send
 * @message: the message
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (nullable): called when the whole message is in
 *   the pipe, or on failure; %NULL to fire and forget
 * @user_data: data for @callback
 *
 * Sends @message without blocking. Many sends may be in flight: they are
 * written in call order, never interleaved, and several may be written with
 * one system call. @callback runs in the thread-default main context of
 * the caller once the whole message is in the pipe; finish with
 * [method@Gipc.Channel.send_finish].
 *
 * With a %NULL @callback no [class@Gio.Task] is created: the message is
 * queued and written as soon as the pipe takes it; a failure is logged with
 * g_debug() and fails the channel, also when the message is refused before
 * it is queued (too large, too many fds): later sends and
 * [method@Gipc.Channel.flush_async] fail with the error, and no later
 * message is delivered in place of the lost one. The channel keeps itself
 * alive until such messages are written, so dropping the last reference
 * right after sending loses nothing.
 *
 * A queued message that cannot be sent (on a channel that passes fds, a
 * large message's memfd cannot be made, for example when no fd is free)
 * fails the channel as a failed write does: the messages before it are
 * written, its callback and those of every message after it, and every
 * pending flush, get the error, and nothing after it is written.
 *
 * Cancelling takes effect only before the first byte of the message is
 * written; after that the message is written whole and the send succeeds.
 *
 * Since: 1.0
 */
void
gipc_channel_send_async (GipcChannel         *self,
                         GBytes              *message,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  send_async_internal (self, message, NULL, cancellable, callback, user_data,
                       gipc_channel_send_async);
}

/**
 * gipc_channel_send_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.send_async].
 *
 * Returns: %TRUE if the whole message was written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_finish (GipcChannel   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gipc_channel_send_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gipc_channel_send:
 * @self: a channel that can send
 * @message: the message
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Sends @message, blocking the calling thread until the whole message is in
 * the pipe. It does not iterate any main context. Messages queued earlier
 * with [method@Gipc.Channel.send_async] and no callback are written first;
 * while sends with a callback are pending it fails with
 * %GIPC_ERROR_LOCKED.
 *
 * Cancelling takes effect only before the first byte is written.
 *
 * Returns: %TRUE if the whole message was written
 *
 * Since: 1.0
 */
static gboolean
send_sync (GipcChannel   *self,
           GBytes        *message,
           GUnixFDList   *fds,
           GCancellable  *cancellable,
           GError       **error)
{
  guint64 start, end;
  gboolean ok;

  if (!gipc_channel_check_can_send (self, error) ||
      !gipc_channel_check_message_size (g_bytes_get_size (message), error) ||
      !check_fds (self, fds, error))
    return FALSE;

  if (self->send_ops.length > 0 || self->sync_send)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           "Asynchronous sends are pending on this channel");
      return FALSE;
    }

  if (self->write_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->write_error));
      return FALSE;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  self->sync_send = TRUE;

  /* What is queued without a callback goes first; cancelling applies only
   * while none of our own message is written. */
  ok = queue_frame (self, message, fds, &start, &end, error);
  if (ok)
    {
      ok = gipc_channel_flush_output_blocking (self, cancellable, start, error);
      if (!ok && self->write_error == NULL)
        unqueue_frame (self, start, end);
    }

  self->sync_send = FALSE;
  /* A shared-memory message in flight may keep the channel congested
   * until the peer takes it: the source notifies that. */
  if (ok && self->congested && gipc_frame_stream_has_in_flight (&self->stream))
    gipc_channel_ensure_source (self, FALSE);
  gipc_channel_update_source (self);
  gipc_channel_sync_output_ref (self);

  return ok;
}

gboolean
gipc_channel_send (GipcChannel   *self,
                   GBytes        *message,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return send_sync (self, message, NULL, cancellable, error);
}

/**
 * gipc_channel_send_with_fds_async:
 * @self: a channel that can send and pass fds
 * @message: the message
 * @fds: (nullable): file descriptors to send with @message; the list is
 *   referenced until they are sent (the caller keeps its own copies open
 *   or closes them: the peer gets duplicates)
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (nullable): called when the whole message and
 *   its fds are in the socket, or on failure; %NULL to fire and forget
 * @user_data: data for @callback
 *
 * Like [method@Gipc.Channel.send_async], with file descriptors that arrive
 * with @message and no other message: the receiver gets them from
 * [method@Gipc.Channel.receive_with_fds_finish],
 * [method@Gipc.Channel.receive_with_fds] or
 * [signal@Gipc.Channel::message-with-fds]. Fails with %GIPC_ERROR_FAILED,
 * before anything is written, on a channel that cannot pass fds
 * ([property@Gipc.Channel:can-pass-fds]) or with more than
 * %GIPC_CHANNEL_MAX_FDS_PER_MESSAGE of them. A %NULL or empty @fds sends a
 * plain message.
 *
 * Since: 1.0
 */
void
gipc_channel_send_with_fds_async (GipcChannel         *self,
                                  GBytes              *message,
                                  GUnixFDList         *fds,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (fds == NULL || G_IS_UNIX_FD_LIST (fds));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  send_async_internal (self, message, fds, cancellable, callback, user_data,
                       gipc_channel_send_with_fds_async);
}

/**
 * gipc_channel_send_with_fds_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.send_with_fds_async].
 *
 * Returns: %TRUE if the whole message and its fds were written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_with_fds_finish (GipcChannel   *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gipc_channel_send_with_fds_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gipc_channel_send_with_fds:
 * @self: a channel that can send and pass fds
 * @message: the message
 * @fds: (nullable): file descriptors to send with @message (duplicates
 *   arrive; the caller's stay open)
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Like [method@Gipc.Channel.send], with file descriptors, as
 * [method@Gipc.Channel.send_with_fds_async] describes.
 *
 * Returns: %TRUE if the whole message and its fds were written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_with_fds (GipcChannel   *self,
                            GBytes        *message,
                            GUnixFDList   *fds,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (fds == NULL || G_IS_UNIX_FD_LIST (fds), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return send_sync (self, message, fds, cancellable, error);
}

/* ------------------------------------------------------------------ */
/* Flow control                                                        */

static void
flush_op_free (FlushOp *op)
{
  gipc_channel_cancel_watch_clear (&op->cancel);
  g_clear_object (&op->task);
  g_clear_error (&op->error);
  g_slice_free (FlushOp, op);
}

/* Consumes @op and @error (nullable). */
static void
flush_op_complete (FlushOp *op,
                   GError  *error)
{
  GTask *task = g_steal_pointer (&op->task);

  flush_op_free (op);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* Completes, in call order, the flushes whose messages are all written
 * (or failed). Each is taken out of the queue before its callback runs. */
static void
complete_finished_flushes (GipcChannel *self)
{
  FlushOp *op;

  while ((op = g_queue_peek_head (&self->flush_ops)) != NULL &&
         (op->error != NULL || op->target <= self->stream.written))
    {
      g_queue_pop_head (&self->flush_ops);
      flush_op_complete (op, g_steal_pointer (&op->error));
    }
}

/* Emits notify::congested once per change since the last call: from the
 * dispatch (or close) only, never inside the send_async that crossed the
 * mark. A handler may send (and change the state again): each change is
 * counted before its notify. */
void
gipc_channel_notify_congestion (GipcChannel *self)
{
  while (self->congestion_changes_notified != self->congestion_changes)
    {
      self->congestion_changes_notified++;
      g_object_notify_by_pspec (G_OBJECT (self), gipc_channel_properties[PROP_CONGESTED]);
    }
}

/**
 * gipc_channel_flush_async:
 * @self: a channel that can send
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called once every message queued before this
 *   call is written, or on failure
 * @user_data: data for @callback
 *
 * Waits, without blocking, until every message accepted by
 * [method@Gipc.Channel.send_async] (and its variant form) before this call
 * is in the pipe; finish with [method@Gipc.Channel.flush_finish]. Many
 * flushes may be pending; they complete in call order. A write that fails
 * first, or a queued message that cannot be sent, fails the flush with its
 * error (%GIPC_ERROR_PEER_CLOSED when the reader is gone). Cancelling
 * completes the flush with %G_IO_ERROR_CANCELLED and leaves the queued
 * messages to be written. A message sent as shared memory is written once
 * its frame and memfd are in the socket; the peer may not have taken it
 * yet ([property@Gipc.Channel:queued-bytes] still counts it).
 *
 * A producer that must not queue without bound can await a flush after
 * each batch, or watch [property@Gipc.Channel:congested].
 *
 * Since: 1.0
 */
void
gipc_channel_flush_async (GipcChannel         *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  FlushOp *op;

  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gipc_channel_flush_async);
  g_task_set_check_cancellable (task, FALSE);

  if (!gipc_channel_check_can_send (self, &error) ||
      g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (self->write_error != NULL)
    {
      g_task_return_error (task, g_error_copy (self->write_error));
      return;
    }

  if (self->stream.written >= self->stream.queued)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  gipc_channel_ensure_source (self, FALSE);
  op = g_slice_new0 (FlushOp);
  op->task = g_object_ref (task);
  op->target = self->stream.queued;
  g_queue_push_tail (&self->flush_ops, op);
  gipc_channel_cancel_watch_init (&op->cancel, self, cancellable);
}

/**
 * gipc_channel_flush_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.flush_async].
 *
 * Returns: %TRUE if every message queued before the flush is written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_flush_finish (GipcChannel   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gipc_channel_flush_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gipc_channel_flush:
 * @self: a channel that can send
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Writes every message queued with [method@Gipc.Channel.send_async],
 * blocking the calling thread until they are all in the pipe. Like every
 * blocking call it does not iterate any main context; the callbacks of the
 * sends it wrote run later, from the channel's context. Cancelling stops
 * the wait (%G_IO_ERROR_CANCELLED); what is not written stays queued and is
 * written from the channel's context (a message that has begun is always
 * finished, so the stream stays whole).
 *
 * Returns: %TRUE if everything queued is written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_flush (GipcChannel   *self,
                    GCancellable  *cancellable,
                    GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!gipc_channel_check_can_send (self, error))
    return FALSE;

  if (self->write_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->write_error));
      return FALSE;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  ok = gipc_channel_flush_output_blocking (self, cancellable, G_MAXUINT64, error);
  if (ok && self->congested && gipc_frame_stream_has_in_flight (&self->stream))
    gipc_channel_ensure_source (self, FALSE);
  gipc_channel_update_source (self);
  gipc_channel_sync_output_ref (self);

  return ok;
}

/* The getters are current at once: what the peer has taken no longer
 * counts. A change of the congestion is notified from the source. */
static void
release_taken (GipcChannel *self)
{
  if (gipc_frame_stream_release_in_flight (&self->stream))
    {
      guint changes = self->congestion_changes;

      gipc_channel_update_congestion (self);
      if (changes != self->congestion_changes && self->context != NULL)
        g_main_context_wakeup (self->context);
    }
}

/**
 * gipc_channel_get_queued_bytes:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:queued-bytes].
 *
 * Returns: the bytes accepted by the asynchronous sends and not yet
 *   written, frame headers included, plus the size of each shared-memory
 *   message the peer has not taken yet
 *
 * Since: 1.0
 */
guint64
gipc_channel_get_queued_bytes (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), 0);

  release_taken (self);
  return gipc_frame_stream_get_pending_bytes (&self->stream);
}

/**
 * gipc_channel_get_high_water_mark:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:high-water-mark].
 *
 * Returns: the high-water mark in bytes
 *
 * Since: 1.0
 */
guint64
gipc_channel_get_high_water_mark (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), 0);

  return self->high_water_mark;
}

/**
 * gipc_channel_set_high_water_mark:
 * @self: a channel
 * @bytes: the new high-water mark in bytes
 *
 * Sets [property@Gipc.Channel:high-water-mark]. The
 * [property@Gipc.Channel:congested] state follows at once; its notify comes
 * from the channel's context.
 *
 * Since: 1.0
 */
void
gipc_channel_set_high_water_mark (GipcChannel *self,
                                  guint64      bytes)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  if (self->high_water_mark == bytes)
    return;

  self->high_water_mark = bytes;
  gipc_channel_update_congestion (self);
  g_object_notify_by_pspec (G_OBJECT (self), gipc_channel_properties[PROP_HIGH_WATER_MARK]);
}

/**
 * gipc_channel_is_congested:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:congested].
 *
 * Returns: whether more than the high-water mark is queued, or more fds
 *   than the channel's fd budget (until both are back at or below half)
 *
 * Since: 1.0
 */
gboolean
gipc_channel_is_congested (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);

  release_taken (self);
  return self->congested;
}

/* ------------------------------------------------------------------ */
/* Dispatch and cancellation                                           */

/* The dispatch's output half (gipc-channel.c). */
void
gipc_channel_dispatch_output (GipcChannel  *self,
                              GIOCondition  write_revents)
{
  gboolean polled = poll_in_flight (self);

  if (write_revents != 0)
    self->stream.full = FALSE;
  if ((write_revents != 0 || (polled && self->stream.held)) && self->stream.output.length > 0)
    gipc_channel_pump_output (self);
  complete_finished_sends (self);
  complete_finished_flushes (self);
  if (!self->closed)
    gipc_channel_notify_congestion (self);
}

/* Completes the sends and flushes whose cancellable fired, for
 * complete_cancelled() in gipc-channel.c. A send is cancelled only before
 * its first byte is written; then it completes at once, not after the
 * sends before it (those may be stuck on a full pipe). Each operation is
 * taken out of its queue before its callback runs. */
void
gipc_channel_cancel_sends (GipcChannel *self)
{
  for (;;)
    {
      SendOp *found = NULL;
      GError *error = NULL;

      for (GList *l = self->send_ops.head; l != NULL && found == NULL; l = l->next)
        {
          SendOp *op = l->data;

          if (op->error == NULL && op->start >= self->stream.written &&
              gipc_channel_cancel_watch_fired (&op->cancel))
            found = op;
        }
      if (found == NULL)
        break;

      g_queue_remove (&self->send_ops, found);
      unqueue_frame (self, found->start, found->end);
      g_cancellable_set_error_if_cancelled (found->cancel.cancellable, &error);
      send_op_complete (found, error);
      g_error_free (error);
    }

  for (;;)
    {
      FlushOp *found = NULL;
      GError *error = NULL;

      for (GList *l = self->flush_ops.head; l != NULL && found == NULL; l = l->next)
        {
          FlushOp *op = l->data;

          if (op->error == NULL && gipc_channel_cancel_watch_fired (&op->cancel))
            found = op;
        }
      if (found == NULL)
        break;

      g_queue_remove (&self->flush_ops, found);
      g_cancellable_set_error_if_cancelled (found->cancel.cancellable, &error);
      flush_op_complete (found, error);
    }
}

