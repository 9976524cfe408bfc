/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* hello: the README's C example (the docs check keeps the two the same).
 * A forked child sends one message.
 *
 * The channel the child writes to reaches it in two ways: as the target's
 * user data, and through gipc_process_pass_channel (), which keeps it
 * open in the child (every channel that is not passed is closed there).
 * start_child () does both with the same channel, so neither can be
 * forgotten; and the child prints any error, whose message names
 * gipc_process_pass_channel () when a channel was not passed. */

#include <gipc-glib/gipc-glib.h>

static gint
child (GipcProcess *process, gpointer writer)
{
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello from the child", 20);
  g_autoptr(GError) error = NULL;

  if (!gipc_channel_send (writer, hello, NULL, &error))
    {
      g_printerr ("child: %s\n", error->message);
      return 1;
    }
  return 0;
}

static GipcProcess *
start_child (GipcProcessFunc target, GipcChannel *channel, GError **error)
{
  g_autoptr(GipcProcess) process =
    gipc_process_new (target, g_object_ref (channel), g_object_unref);

  gipc_process_pass_channel (process, channel);
  if (!gipc_process_start (process, error))
    return NULL;
  return g_steal_pointer (&process);
}

int
main (void)
{
  g_autoptr(GipcChannel) r = NULL, w = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;

  if (!gipc_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w, &error) ||
      (process = start_child (child, w, &error)) == NULL ||
      (message = gipc_channel_receive (r, NULL, &error)) == NULL ||
      !gipc_process_join (process, -1, &error))
    {
      g_printerr ("hello: %s\n", error->message);
      return 1;
    }
  g_print ("%.*s, exit code %d\n", (int) g_bytes_get_size (message),
           (const gchar *) g_bytes_get_data (message, NULL),
           gipc_process_get_exit_code (process));
  return 0;
}
