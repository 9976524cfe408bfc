/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* GVariant messages: a value travels as the serialized form of a "v"
 * holding it, in normal form; the receiver checks that form before it
 * trusts the value. */

#include "config.h"

#include "gipc-channel.h"
#include "gipc-channel-state-private.h"
#include "gipc-error.h"

/* ------------------------------------------------------------------ */
/* GVariant                                                            */

static GBytes *
variant_to_message (GVariant *value)
{
  g_autoptr(GVariant) boxed = g_variant_ref_sink (g_variant_new_variant (value));
  g_autoptr(GVariant) normal = g_variant_get_normal_form (boxed);

  return g_variant_get_data_as_bytes (normal);
}

GVariant *
gipc_channel_message_to_variant (GBytes  *message,
                                 GError **error)
{
  g_autoptr(GVariant) boxed = NULL;

  boxed = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARIANT, message, FALSE));
  if (!g_variant_is_normal_form (boxed))
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "The message (%" G_GSIZE_FORMAT " bytes) is not a serialized GVariant "
                   "of type \"v\" in normal form",
                   g_bytes_get_size (message));
      return NULL;
    }

  return g_variant_get_variant (boxed);
}

static void
send_variant_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (gipc_channel_send_finish (GIPC_CHANNEL (object), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * gipc_channel_send_variant_async:
 * @self: a channel that can send
 * @value: the value to send; a floating reference is consumed
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (nullable): called when the message is in the
 *   pipe, or %NULL to fire and forget
 * @user_data: data for @callback
 *
 * Sends @value boxed in a `v` (so the receiver needs no type): the message
 * is the serialized normal form of `g_variant_new_variant (value)`.
 * Otherwise as [method@Gipc.Channel.send_async].
 *
 * Since: 1.0
 */
void
gipc_channel_send_variant_async (GipcChannel         *self,
                                 GVariant            *value,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GBytes) message = NULL;
  GTask *task;

  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (value != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  message = variant_to_message (value);

  if (callback == NULL)
    {
      gipc_channel_send_async (self, message, cancellable, NULL, NULL);
      return;
    }

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gipc_channel_send_variant_async);
  g_task_set_check_cancellable (task, FALSE);
  gipc_channel_send_async (self, message, cancellable, send_variant_cb, task);
}

/**
 * gipc_channel_send_variant_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.send_variant_async].
 *
 * Returns: %TRUE if the whole message was written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_variant_finish (GipcChannel   *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gipc_channel_send_variant_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gipc_channel_send_variant:
 * @self: a channel that can send
 * @value: the value to send; a floating reference is consumed
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Sends @value boxed in a `v`, blocking; see
 * [method@Gipc.Channel.send_variant_async] and [method@Gipc.Channel.send].
 *
 * Returns: %TRUE if the whole message was written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_variant (GipcChannel   *self,
                           GVariant      *value,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autoptr(GBytes) message = NULL;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  message = variant_to_message (value);

  return gipc_channel_send (self, message, cancellable, error);
}

/**
 * gipc_channel_receive_variant_async:
 * @self: a channel that can receive
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called with the next value
 * @user_data: data for @callback
 *
 * Receives the next message as a value sent with
 * [method@Gipc.Channel.send_variant_async]; finish with
 * [method@Gipc.Channel.receive_variant_finish]. A message that is not a
 * serialized `v` in normal form fails with %GIPC_ERROR_PROTOCOL (the
 * message is consumed; the channel stays usable).
 *
 * Since: 1.0
 */
void
gipc_channel_receive_variant_async (GipcChannel         *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  gipc_channel_receive_async_internal (self, TRUE, cancellable, callback, user_data,
                                       gipc_channel_receive_variant_async);
}

/**
 * gipc_channel_receive_variant_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.receive_variant_async].
 *
 * Returns: (transfer full): the value that was sent, or %NULL with @error
 *   set
 *
 * Since: 1.0
 */
GVariant *
gipc_channel_receive_variant_finish (GipcChannel   *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (gipc_async_result_is_valid (result, self, gipc_channel_receive_variant_async), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return gipc_async_result_propagate_pointer (GIPC_ASYNC_RESULT (result), error);
}

/**
 * gipc_channel_receive_variant:
 * @self: a channel that can receive
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Receives the next message as a value, blocking; see
 * [method@Gipc.Channel.receive_variant_async] and
 * [method@Gipc.Channel.receive].
 *
 * Returns: (transfer full): the value that was sent, or %NULL with @error
 *   set
 *
 * Since: 1.0
 */
GVariant *
gipc_channel_receive_variant (GipcChannel   *self,
                              GCancellable  *cancellable,
                              GError       **error)
{
  g_autoptr(GBytes) message = NULL;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  message = gipc_channel_receive (self, cancellable, error);
  if (message == NULL)
    return NULL;

  return gipc_channel_message_to_variant (message, error);
}

