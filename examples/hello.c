/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* hello: the README's C example. A forked child sends one message. */

#include <gipc-glib/gipc-glib.h>

static gint
child (GipcProcess *process,
       gpointer     writer)
{
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello from the child", 20);

  return gipc_channel_send (writer, hello, NULL, NULL) ? 0 : 1;
}

int
main (void)
{
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GBytes) message = NULL;

  gipc_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w, NULL);
  process = gipc_process_new (child, g_object_ref (w), g_object_unref);
  gipc_process_pass_channel (process, w);
  gipc_process_start (process, NULL);
  message = gipc_channel_receive (r, NULL, NULL);
  gipc_process_join (process, -1, NULL);
  g_print ("%.*s, exit code %d\n", (int) g_bytes_get_size (message),
           (const gchar *) g_bytes_get_data (message, NULL),
           gipc_process_get_exit_code (process));
  return 0;
}
