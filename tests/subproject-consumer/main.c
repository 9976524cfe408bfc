/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors
 *
 * A program built against gipc-glib as a subproject: a fork-mode child
 * sends one message back. */

#include <gipc-glib/gipc-glib.h>

static gint
child (GipcProcess *process,
       gpointer     writer)
{
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello from the subproject", 25);

  return gipc_channel_send (writer, hello, NULL, NULL) ? 0 : 1;
}

int
main (void)
{
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;

  if (!gipc_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w, &error))
    g_error ("%s", error->message);
  process = gipc_process_new (child, g_object_ref (w), g_object_unref);
  gipc_process_pass_channel (process, w);
  if (!gipc_process_start (process, &error))
    g_error ("%s", error->message);
  message = gipc_channel_receive (r, NULL, &error);
  if (message == NULL)
    g_error ("%s", error->message);
  if (!gipc_process_join (process, 10000, &error))
    g_error ("%s", error->message);
  g_print ("%.*s, exit code %d, gipc-glib %s\n",
           (int) g_bytes_get_size (message),
           (const gchar *) g_bytes_get_data (message, NULL),
           gipc_process_get_exit_code (process), GIPC_VERSION_S);
  return gipc_process_get_exit_code (process);
}
