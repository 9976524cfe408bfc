/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* The input half of a GipcChannel: the inbox of whole messages, receives
 * (async, blocking, with fds, with a timeout), and their delivery to
 * callbacks or, in push mode, to the message signals (or the library's
 * own listener: gipc_channel_set_message_func). */

#include "config.h"

#include "gipc-channel.h"
#include "gipc-channel-state-private.h"
#include "gipc-error.h"
#include "gipc-transport-private.h"

/* Fairness: what one dispatch may deliver before it yields to the other
 * sources of the main context. */
#define MAX_DELIVERIES      256
#define MAX_READS           8

/* ------------------------------------------------------------------ */
/* Input                                                               */

static void
set_read_error (GipcChannel *self,
                GError      *error)
{
  if (self->read_error == NULL)
    self->read_error = error;
  else
    g_error_free (error);
}

static void
inbox_push (GipcChannel *self,
            GBytes      *message,
            GUnixFDList *fds)
{
  InboxItem *item = g_slice_new0 (InboxItem);

  item->link.data = item;
  item->message = message;
  item->fds = fds;
  g_queue_push_tail_link (&self->inbox, &item->link);
}

/* The oldest message (transfer full); its fds into *fds (transfer full,
 * may be NULL). */
static GBytes *
inbox_pop (GipcChannel  *self,
           GUnixFDList **fds)
{
  InboxItem *item = g_queue_pop_head_link (&self->inbox)->data;
  GBytes *message = item->message;

  *fds = item->fds;
  g_slice_free (InboxItem, item);
  return message;
}

static void
inbox_item_free (InboxItem *item)
{
  g_bytes_unref (item->message);
  g_clear_object (&item->fds);
  g_slice_free (InboxItem, item);
}

/* Push mode: a message with fds goes to "message-with-fds" when it has a
 * handler, else to "message" (and its fds are closed). Consumes both. */
static void
emit_message (GipcChannel *self,
              GBytes      *message,
              GUnixFDList *fds)
{
  if (self->message_func != NULL)
    self->message_func (self, message, fds, self->message_func_data);
  else if (fds != NULL &&
      g_signal_has_handler_pending (self, gipc_channel_signals[SIGNAL_MESSAGE_WITH_FDS], 0, TRUE))
    g_signal_emit (self, gipc_channel_signals[SIGNAL_MESSAGE_WITH_FDS], 0, message, fds);
  else
    {
      /* Closed before the handlers run: an fd nobody asked for never
       * lingers in the process. */
      g_clear_object (&fds);
      g_signal_emit (self, gipc_channel_signals[SIGNAL_MESSAGE], 0, message);
    }
  g_clear_object (&fds);
  g_bytes_unref (message);
}

void
gipc_channel_set_message_func (GipcChannel            *self,
                               GipcChannelMessageFunc  func,
                               gpointer                user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  self->message_func = func;
  self->message_func_data = user_data;
}

/* A whole message from the stream: in push mode straight to the handlers
 * (when no older message waits in the inbox), else into the inbox. The
 * handlers may close the channel or iterate the context (a nested
 * dispatch may reach the end of the stream): the stream stops reading
 * then. */
static gboolean
take_message (GBytes      *message,
              GUnixFDList *fds,
              gpointer     user_data)
{
  GipcChannel *self = user_data;

  if (self->listening && self->inbox.length == 0)
    {
      emit_message (self, message, fds);
      return !self->closed && self->read_error == NULL;
    }

  inbox_push (self, message, fds);
  return TRUE;
}

typedef enum
{
  READ_MORE,       /* got data; there may be more */
  READ_AGAIN,      /* nothing available now */
  READ_END,        /* end of stream, error, or closed: stop */
} ReadResult;

/* One read from the stream, then its messages; never blocks. */
static ReadResult
read_once (GipcChannel *self)
{
  GError *error = NULL;

  switch (gipc_frame_stream_read (&self->stream, take_message, self, &error))
    {
    case GIPC_FRAME_READ_MORE:
      return READ_MORE;
    case GIPC_FRAME_READ_AGAIN:
      return READ_AGAIN;
    case GIPC_FRAME_READ_END:
      set_read_error (self, error);
      return READ_END;
    case GIPC_FRAME_READ_STOPPED:
    default:
      return READ_END;
    }
}

/* Reads until at least one whole message is in the inbox, or nothing more
 * is available now, or the stream ended. */
static void
fill_inbox (GipcChannel *self)
{
  while (self->inbox.length == 0 && self->read_error == NULL)
    {
      if (read_once (self) != READ_MORE)
        break;
    }
}

static void
receive_op_free (ReceiveOp *op)
{
  gipc_channel_cancel_watch_clear (&op->cancel);
  g_clear_object (&op->result);
  g_slice_free (ReceiveOp, op);
}

/* Completes a receive with @message (consumed) or @error (consumed). The
 * callback runs now when the receive was made in the context the channel's
 * source dispatches in (we are in that dispatch, never inside the call
 * that made the receive), otherwise from an idle in its own context. */
static void
receive_op_return (GipcChannel *self,
                   ReceiveOp   *op,
                   GBytes      *message,
                   GUnixFDList *fds,
                   GError      *error)
{
  GipcAsyncResult *result = g_steal_pointer (&op->result);
  gboolean variant = op->variant;

  receive_op_free (op);
  if (fds != NULL)
    gipc_async_result_set_fds (result, fds);

  if (message != NULL && variant)
    {
      GVariant *value = gipc_channel_message_to_variant (message, &error);

      g_bytes_unref (message);
      if (value != NULL)
        gipc_async_result_set_pointer (result, value, (GDestroyNotify) g_variant_unref);
    }
  else if (message != NULL)
    gipc_async_result_set_pointer (result, message, (GDestroyNotify) g_bytes_unref);

  if (error != NULL)
    gipc_async_result_set_error (result, error);

  if (self != NULL && gipc_async_result_get_context (result) == self->context &&
      g_main_context_is_owner (self->context))
    gipc_async_result_complete (result);
  else
    gipc_async_result_complete_in_idle (result);
}

/* Hands messages (or the sticky error) to the waiting receivers, or emits
 * them in push mode. Runs user code: the caller holds a reference. */
static void
deliver (GipcChannel *self)
{
  guint budget = MAX_DELIVERIES;

  while (!self->closed && self->inbox.length > 0 && budget > 0)
    {
      budget--;

      if (self->listening)
        {
          GUnixFDList *fds = NULL;
          GBytes *message = inbox_pop (self, &fds);

          emit_message (self, message, fds);
        }
      else
        {
          GList *link = g_queue_pop_head_link (&self->receive_ops);
          GUnixFDList *fds = NULL;
          GBytes *message;
          ReceiveOp *op;

          if (link == NULL)
            break;
          op = link->data;

          message = inbox_pop (self, &fds);
          receive_op_return (self, op, message, fds, NULL);
        }
    }

  if (self->closed || self->inbox.length > 0 || self->read_error == NULL)
    return;

  if (self->listening)
    {
      if (!self->error_emitted)
        {
          /* A copy: a handler may close the channel, which frees
           * read_error, while this or another handler still reads it. */
          g_autoptr(GError) error = g_error_copy (self->read_error);

          self->error_emitted = TRUE;
          self->listening = FALSE;
          gipc_channel_update_source (self);
          g_signal_emit (self, gipc_channel_signals[SIGNAL_ERROR], 0, error);
        }
      return;
    }

  while (!self->closed && budget-- > 0)
    {
      GList *link = g_queue_pop_head_link (&self->receive_ops);

      if (link == NULL)
        break;

      receive_op_return (self, link->data, NULL, NULL, g_error_copy (self->read_error));
    }
}

/* Fails the receives whose deadline passed. They are taken out of the
 * queue before any callback runs (a callback may iterate the context and
 * change the queue), then completed in call order. */
static void
expire_receives (GipcChannel *self)
{
  gint64 now = g_get_monotonic_time ();
  GQueue expired = G_QUEUE_INIT;
  ReceiveOp *op;
  GList *l = self->receive_ops.head;
  GList *link;

  while (l != NULL)
    {
      GList *next = l->next;

      op = l->data;
      if (op->deadline > 0 && op->deadline <= now)
        {
          if (l == self->receive_ops.head && gipc_frame_stream_in_frame (&self->stream))
            {
              /* The head's message has begun to arrive: it is read to its
               * end, no timeout splits a message. */
              op->deadline = 0;
            }
          else
            {
              g_queue_unlink (&self->receive_ops, l);
              g_queue_push_tail_link (&expired, l);
            }
        }
      l = next;
    }

  while ((link = g_queue_pop_head_link (&expired)) != NULL)
    receive_op_return (self, link->data, NULL, NULL,
                       g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                            "No message arrived within the channel's timeout"));
}

/* ------------------------------------------------------------------ */
/* Dispatch and cancellation                                           */

/* The dispatch's input half (gipc-channel.c). */
void
gipc_channel_dispatch_input (GipcChannel  *self,
                             GIOCondition  read_revents)
{
  if (!self->closed && read_revents != 0 && gipc_channel_wants_input (self) &&
      self->inbox.length == 0)
    {
      if (self->listening)
        {
          /* Push mode: take what is available, a buffer at a time. */
          for (guint i = 0; i < MAX_READS; i++)
            {
              ReadResult r;

              if (self->closed || !self->listening || self->read_error != NULL ||
                  self->inbox.length > 0)
                break;

              r = read_once (self);
              if (r != READ_MORE)
                break;
            }
        }
      else
        fill_inbox (self);
    }

  if (!self->closed)
    {
      deliver (self);
      if (!self->closed && self->receive_ops.length > 0)
        expire_receives (self);
    }
}

/* Completes the receives whose cancellable fired, for complete_cancelled()
 * in gipc-channel.c. Whatever part of a message has arrived stays in the
 * channel for the next receive. Each receive is taken out of the queue
 * before its callback runs. */
void
gipc_channel_cancel_receives (GipcChannel *self)
{
  for (;;)
    {
      ReceiveOp *found = NULL;
      GError *error = NULL;

      for (GList *l = self->receive_ops.head; l != NULL && found == NULL; l = l->next)
        {
          ReceiveOp *op = l->data;

          if (gipc_channel_cancel_watch_fired (&op->cancel))
            found = op;
        }
      if (found == NULL)
        break;

      g_queue_unlink (&self->receive_ops, &found->link);
      g_cancellable_set_error_if_cancelled (found->cancel.cancellable, &error);
      receive_op_return (self, found, NULL, NULL, error);
    }
}

/* For close (gipc-channel.c). */
void
gipc_channel_clear_input (GipcChannel *self)
{
  GList *link;

  /* The links are the items' own. */
  while ((link = g_queue_pop_head_link (&self->inbox)) != NULL)
    inbox_item_free (link->data);
  gipc_frame_stream_drop_input (&self->stream);
}

/* ------------------------------------------------------------------ */
/* Receives                                                            */

void
gipc_channel_receive_async_internal (GipcChannel         *self,
                                     gboolean             variant,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data,
                                     gpointer             source_tag)
{
  GipcAsyncResult *result;
  GError *error = NULL;
  ReceiveOp *op;

  result = gipc_async_result_new (self, cancellable, callback, user_data, source_tag);

  if (!gipc_channel_check_can_receive (self, &error))
    goto fail;

  if (self->listening || self->sync_receive)
    {
      g_set_error_literal (&error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           self->listening ?
                           "The channel is listening: messages arrive as the \"message\" signal" :
                           "A synchronous receive is in progress on this channel");
      goto fail;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    goto fail;

  gipc_channel_ensure_source (self, FALSE);

  op = g_slice_new0 (ReceiveOp);
  op->link.data = op;
  op->result = result;
  op->variant = variant;
  if (self->timeout_ms > 0)
    op->deadline = g_get_monotonic_time () + (gint64) self->timeout_ms * 1000;
  g_queue_push_tail_link (&self->receive_ops, &op->link);
  gipc_channel_cancel_watch_init (&op->cancel, self, cancellable);

  /* Inside our own dispatch (a callback starting the next receive) the
   * dispatch delivers it; otherwise the source wakes up for it. */
  if (self->dispatch_depth == 0)
    gipc_channel_update_source (self);
  return;

fail:
  gipc_async_result_set_error (result, error);
  gipc_async_result_complete_in_idle (result);
}

/**
 * gipc_channel_receive_async:
 * @self: a channel that can receive
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called with the next message
 * @user_data: data for @callback
 *
 * Receives the next whole message without blocking; finish with
 * [method@Gipc.Channel.receive_finish]. Many receives may be pending: each
 * gets the next message, in call order. The callback runs in the
 * thread-default main context of the caller, never from within this call.
 *
 * With [property@Gipc.Channel:timeout] set, a receive that sees no byte of
 * a new message within it fails with %G_IO_ERROR_TIMED_OUT; a message that
 * has begun to arrive is read to its end. Cancelling never loses data: a
 * message that has begun to arrive stays whole in the channel for the next
 * receive.
 *
 * Fails with %GIPC_ERROR_LOCKED while the channel is listening.
 *
 * Since: 1.0
 */
void
gipc_channel_receive_async (GipcChannel         *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  gipc_channel_receive_async_internal (self, FALSE, cancellable, callback, user_data,
                                       gipc_channel_receive_async);
}

/**
 * gipc_channel_receive_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.receive_async].
 *
 * Returns: (transfer full): the message (an empty #GBytes for a 0-byte
 *   message, never %NULL on success), or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
gipc_channel_receive_finish (GipcChannel   *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (gipc_async_result_is_valid (result, self, gipc_channel_receive_async), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return gipc_async_result_propagate_pointer (GIPC_ASYNC_RESULT (result), error);
}

/**
 * gipc_channel_receive_with_fds_async:
 * @self: a channel that can receive
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called with the next message and its file
 *   descriptors
 * @user_data: data for @callback
 *
 * Receives the next whole message and the file descriptors that came with
 * it, without blocking; finish with
 * [method@Gipc.Channel.receive_with_fds_finish]. It behaves as
 * [method@Gipc.Channel.receive_async] in every other way (order, timeout,
 * cancellation, %GIPC_ERROR_LOCKED while listening), and the two may be
 * mixed: each receive gets the next message.
 *
 * This is the pair that bindings turn into a promise or a coroutine (gjs:
 * `Gio._promisify (Gipc.Channel.prototype, 'receive_with_fds_async')`, then
 * `const [message, fds] = await channel.receive_with_fds_async (null)`;
 * Python: `message, fds = channel.receive_with_fds_finish (result)` in the
 * callback), so that they get a message's fds.
 *
 * Since: 1.0
 */
void
gipc_channel_receive_with_fds_async (GipcChannel         *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  gipc_channel_receive_async_internal (self, FALSE, cancellable, callback, user_data,
                                       gipc_channel_receive_with_fds_async);
}

/**
 * gipc_channel_receive_with_fds_finish:
 * @self: a channel
 * @result: the result given to the callback of
 *   [method@Gipc.Channel.receive_with_fds_async] (or of
 *   [method@Gipc.Channel.receive_async])
 * @fds: (out) (transfer full) (nullable) (optional): the fds that came with
 *   the message, or %NULL if none did
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.receive_with_fds_async] (or
 * [method@Gipc.Channel.receive_async]) like
 * [method@Gipc.Channel.receive_finish], and hands out the file descriptors
 * that came with the message (close-on-exec, owned by the caller through
 * the list). A message's fds arrive with that message and no other. Without
 * @fds (or with [method@Gipc.Channel.receive_finish]) they are closed.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
gipc_channel_receive_with_fds_finish (GipcChannel   *self,
                                      GAsyncResult  *result,
                                      GUnixFDList  **fds,
                                      GError       **error)
{
  GBytes *message;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (gipc_async_result_is_valid (result, self, gipc_channel_receive_with_fds_async) ||
                        gipc_async_result_is_valid (result, self, gipc_channel_receive_async), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (fds != NULL)
    *fds = NULL;
  message = gipc_async_result_propagate_pointer (GIPC_ASYNC_RESULT (result), error);
  if (message != NULL && fds != NULL)
    *fds = gipc_async_result_steal_fds (GIPC_ASYNC_RESULT (result));
  return message;
}

/**
 * gipc_channel_receive:
 * @self: a channel that can receive
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Receives the next whole message, blocking the calling thread. It does not
 * iterate any main context, so it works in a program with no main loop.
 * [property@Gipc.Channel:timeout] applies as for
 * [method@Gipc.Channel.receive_async].
 *
 * Fails with %GIPC_ERROR_LOCKED while the channel is listening or while
 * asynchronous receives are pending.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 *
 * Since: 1.0
 */
static GBytes *
receive_sync (GipcChannel   *self,
              GUnixFDList  **fds,
              GCancellable  *cancellable,
              GError       **error)
{
  GBytes *message = NULL;
  gint64 deadline = -1;

  *fds = NULL;

  if (!gipc_channel_check_can_receive (self, error))
    return NULL;

  if (self->listening || self->receive_ops.length > 0 || self->sync_receive)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           self->listening ?
                           "The channel is listening: messages arrive as the \"message\" signal" :
                           "Asynchronous receives are pending on this channel");
      return NULL;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (self->timeout_ms > 0)
    deadline = g_get_monotonic_time () + (gint64) self->timeout_ms * 1000;

  self->sync_receive = TRUE;

  for (;;)
    {
      int r;

      if (self->inbox.length == 0 && self->read_error == NULL)
        fill_inbox (self);

      if (self->inbox.length > 0)
        {
          message = inbox_pop (self, fds);
          break;
        }

      if (self->read_error != NULL)
        {
          g_propagate_error (error, g_error_copy (self->read_error));
          break;
        }

      /* No timeout once a message has begun to arrive. */
      r = gipc_transport_wait_fd (self->stream.transport.read_fd, G_IO_IN,
                   cancellable,
                   gipc_frame_stream_in_frame (&self->stream) ? -1 : deadline,
                   error);
      if (r < 0)
        break;
      if (r == 0 && !gipc_frame_stream_in_frame (&self->stream))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               "No message arrived within the channel's timeout");
          break;
        }
    }

  self->sync_receive = FALSE;
  gipc_channel_update_source (self);

  return message;
}

GBytes *
gipc_channel_receive (GipcChannel   *self,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GUnixFDList) fds = NULL;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The message's fds, if any, are closed with the list. */
  return receive_sync (self, &fds, cancellable, error);
}

/**
 * gipc_channel_receive_with_fds:
 * @self: a channel that can receive
 * @fds: (out) (transfer full) (nullable) (optional): the fds that came with
 *   the message, or %NULL if none did
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Like [method@Gipc.Channel.receive], and hands out the file descriptors
 * that came with the message (close-on-exec, owned by the caller through
 * the list). Without @fds they are closed.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
gipc_channel_receive_with_fds (GipcChannel   *self,
                               GUnixFDList  **fds,
                               GCancellable  *cancellable,
                               GError       **error)
{
  GUnixFDList *received = NULL;
  GBytes *message;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  message = receive_sync (self, &received, cancellable, error);
  if (fds != NULL)
    *fds = received;
  else
    g_clear_object (&received);
  return message;
}

