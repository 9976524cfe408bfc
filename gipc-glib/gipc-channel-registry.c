/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* The process-wide registry of open channels, and what the process part
 * does with it (gipc-channel-private.h): passing a channel to a child,
 * closing the parent's channels in a fork-mode child, flushing before a
 * child exits. */

#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "gipc-channel.h"
#include "gipc-channel-private.h"
#include "gipc-channel-state-private.h"
#include "gipc-error.h"

/* The process-wide registry of open channels, for fork-mode hygiene. */
static GMutex registry_mutex;
static GHashTable *registry;

/* ------------------------------------------------------------------ */
/* Registry                                                            */

void
gipc_channel_registry_add (GipcChannel *self)
{
  g_mutex_lock (&registry_mutex);
  if (registry == NULL)
    registry = g_hash_table_new (NULL, NULL);
  g_hash_table_add (registry, self);
  self->registered = TRUE;
  g_mutex_unlock (&registry_mutex);
}

void
gipc_channel_registry_remove (GipcChannel *self)
{
  if (!self->registered)
    return;

  g_mutex_lock (&registry_mutex);
  g_hash_table_remove (registry, self);
  self->registered = FALSE;
  g_mutex_unlock (&registry_mutex);
}

void
gipc_channel_registry_lock (void)
{
  g_mutex_lock (&registry_mutex);
}

void
gipc_channel_registry_unlock (void)
{
  g_mutex_unlock (&registry_mutex);
}

guint
gipc_channel_get_n_open (void)
{
  guint n;

  g_mutex_lock (&registry_mutex);
  n = registry != NULL ? g_hash_table_size (registry) : 0;
  g_mutex_unlock (&registry_mutex);

  return n;
}

/* ------------------------------------------------------------------ */
/* Process hygiene (gipc-channel-private.h)                             */

void
gipc_channel_get_fds (GipcChannel *self,
                      int         *read_fd,
                      int         *write_fd)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  if (read_fd != NULL)
    *read_fd = self->stream.transport.read_fd;
  if (write_fd != NULL)
    *write_fd = self->stream.transport.write_fd;
}

gboolean
gipc_channel_get_peer_reset (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);

  return self->stream.transport.peer_reset;
}

gboolean
gipc_channel_prepare_pass (GipcChannel  *self,
                           gboolean      for_exec,
                           GError      **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);

  if (!gipc_channel_check_open (self, error))
    return FALSE;

  if (gipc_channel_is_busy (self) || self->listening)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           "An operation is in progress on this channel");
      return FALSE;
    }

  if (for_exec && (self->inbox.length > 0 || gipc_frame_stream_in_frame (&self->stream)))
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "The channel holds received data that a spawned program could not read");
      return FALSE;
    }

  if (self->stream.output.length > 0)
    {
      gipc_channel_pump_output (self);
      gipc_channel_sync_output_ref (self);
      if (self->stream.output.length > 0)
        {
          g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                               "Messages sent without a callback are still being written");
          return FALSE;
        }
    }

  return TRUE;
}

void
gipc_channel_mark_passed (GipcChannel *self)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  if (self->closed)
    return;

  self->passed = TRUE;
  gipc_channel_close_internal (self);
  g_object_notify_by_pspec (G_OBJECT (self), gipc_channel_properties[PROP_CLOSED]);
}

/* What a fork-mode child took over from its parent and must never run or
 * free (callbacks, destroy notifiers and free functions of the parent):
 * kept reachable here, so it is a deliberate leak and not a lost one. */
static GPtrArray *parent_leftovers;

static void
keep_leftover (gpointer pointer)
{
  if (pointer == NULL)
    return;
  if (parent_leftovers == NULL)
    parent_leftovers = g_ptr_array_new ();
  g_ptr_array_add (parent_leftovers, pointer);
}

/* In a fork-mode child: forget everything that belongs to the parent's
 * main context without running any of it. The GSource was orphaned with
 * the rest of the inherited context; the pending operations hold the
 * parent's callbacks and data. */
static void
forget_parent_state (GipcChannel *self)
{
  keep_leftover (self->source);
  keep_leftover (self->context);
  keep_leftover (self->send_ops.head);
  keep_leftover (self->receive_ops.head);
  keep_leftover (self->flush_ops.head);
  self->source = NULL;
  self->context = NULL;
  g_queue_init (&self->send_ops);
  g_queue_init (&self->flush_ops);
  g_queue_init (&self->receive_ops);
  self->listening = FALSE;
  self->sync_send = FALSE;
  self->sync_receive = FALSE;
  self->dispatch_depth = 0;
  self->cancel_pending = FALSE;
  self->inline_used = FALSE;
}

void
gipc_channel_child_after_fork (GipcChannel * const *keep,
                               guint                n_keep)
{
  GHashTableIter iter;
  gpointer key;

  if (registry == NULL)
    return;

  g_hash_table_iter_init (&iter, registry);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      GipcChannel *self = key;
      gboolean kept = FALSE;

      for (guint i = 0; i < n_keep; i++)
        kept |= keep[i] == self;

      forget_parent_state (self);

      if (kept)
        continue;

      /* Not ours: close the fds, silently. Queued output belongs to the
       * parent (it writes it); its GBytes may have the parent's free
       * functions, so it is leaked rather than freed here. */
      gipc_frame_stream_abandon_output (&self->stream, keep_leftover);
      self->output_held = FALSE;  /* its reference is the parent's, kept */
      self->closed = TRUE;
      gipc_frame_stream_close (&self->stream);
      self->not_passed = TRUE;
      self->registered = FALSE;
      g_hash_table_iter_remove (&iter);
    }
}

GPtrArray *
gipc_channel_dup_pipe_peers (GipcChannel *self)
{
  GPtrArray *peers = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), peers);

  if (self->pipe_id == 0)
    return peers;

  g_mutex_lock (&registry_mutex);
  if (registry != NULL)
    {
      g_hash_table_iter_init (&iter, registry);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          GipcChannel *other = key;

          if (other != self && other->pipe_id == self->pipe_id)
            g_ptr_array_add (peers, g_object_ref (other));
        }
    }
  g_mutex_unlock (&registry_mutex);

  return peers;
}

void
gipc_channel_flush_all (void)
{
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer key;

  g_mutex_lock (&registry_mutex);
  if (registry != NULL)
    {
      g_hash_table_iter_init (&iter, registry);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (open, g_object_ref (key));
    }
  g_mutex_unlock (&registry_mutex);

  for (guint i = 0; i < open->len; i++)
    {
      GipcChannel *self = open->pdata[i];
      g_autoptr(GError) error = NULL;

      if (self->closed || self->stream.output.length == 0 || self->write_error != NULL)
        continue;

      if (!gipc_channel_flush_output_blocking (self, NULL, G_MAXUINT64, &error))
        g_debug ("Channel %p: queued messages not written: %s", self, error->message);
      gipc_channel_sync_output_ref (self);
    }
}

/* In a fork-mode child, for a kept channel before it has a source: its
 * fds that sit on 0 to 2 (a parent started with stdio closed) are moved
 * to 3 or above, so that pointing stdin at /dev/null cannot replace them.
 * The low fds are closed. FALSE with errno set if dup fails. */
gboolean
gipc_channel_child_move_fds_above_stdio (GipcChannel *self)
{
  int old_read = self->stream.transport.read_fd;
  int old_write = self->stream.transport.write_fd;
  int *fds[2] = { &self->stream.transport.read_fd, &self->stream.transport.write_fd };

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (self->source == NULL, FALSE);

  for (guint k = 0; k < 2; k++)
    {
      int fd = *fds[k];
      int moved;

      if (fd < 0 || fd > 2)
        continue;

      /* One fd for both directions (a socket): move it once. */
      if (k == 1 && old_write == old_read)
        {
          self->stream.transport.write_fd = self->stream.transport.read_fd;
          continue;
        }

      moved = fcntl (fd, F_DUPFD_CLOEXEC, 3);
      if (moved < 0)
        return FALSE;
      *fds[k] = moved;
    }

  if (old_read >= 0 && old_read <= 2 && old_read != self->stream.transport.read_fd)
    close (old_read);
  if (old_write >= 0 && old_write <= 2 && old_write != old_read &&
      old_write != self->stream.transport.write_fd)
    close (old_write);

  return TRUE;
}

