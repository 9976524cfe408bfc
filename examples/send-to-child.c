/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * send-to-child: messages from a parent to a child (gipc's
 * infinite_send_to_child.py, made finite).
 *
 * The parent sends a message from a timeout source on its main loop, as a
 * GUI would from a timer; the child reads them with the blocking API, with
 * no main loop at all, until the parent closes its end. Ctrl-C stops both:
 * the child ignores SIGINT, the parent catches it and terminates the child.
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gipc-glib/gipc-glib.h>

#define N_MESSAGES  5
#define INTERVAL_MS 100

typedef struct
{
  GMainLoop   *loop;
  GipcChannel *writer;
  GipcProcess *process;
  guint        n_sent;
  guint        n_done;
  gint         status;
} Parent;

static gint
child_main (GipcProcess *process,
            gpointer     user_data)
{
  GipcChannel *reader = user_data;
  guint n_received = 0;

  /* The parent handles Ctrl-C and tells the child to stop. */
  signal (SIGINT, SIG_IGN);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) message = gipc_channel_receive (reader, NULL, &error);
      gsize size;
      const gchar *data;

      if (message == NULL)
        {
          if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED))
            break;
          g_printerr ("child: %s\n", error->message);
          return 1;
        }

      data = g_bytes_get_data (message, &size);
      g_print ("child got: '%.*s'\n", (int) size, data);
      n_received++;
    }

  g_print ("child: the parent closed the channel after %u messages\n", n_received);

  return n_received == N_MESSAGES ? 0 : 1;
}

static void
joined_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Parent *parent = user_data;
  g_autoptr(GError) error = NULL;

  if (!gipc_process_join_finish (parent->process, result, &error))
    {
      g_printerr ("parent: join: %s\n", error->message);
      parent->status = 1;
    }
  else
    {
      gint exit_code = gipc_process_get_exit_code (parent->process);

      g_print ("parent: child exited with code %d\n", exit_code);
      if (exit_code != 0)
        parent->status = 1;
    }
  g_main_loop_quit (parent->loop);
}

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Parent *parent = user_data;
  g_autoptr(GError) error = NULL;

  if (!gipc_channel_send_finish (parent->writer, result, &error))
    {
      g_printerr ("parent: send: %s\n", error->message);
      parent->status = 1;
      gipc_process_terminate (parent->process, NULL);
      return;
    }

  /* After the last message, the child sees the end of the stream. */
  if (++parent->n_done == N_MESSAGES)
    gipc_channel_close (parent->writer, NULL);
}

static gboolean
send_tick_cb (gpointer user_data)
{
  Parent *parent = user_data;
  g_autofree gchar *text = NULL;
  g_autoptr(GBytes) message = NULL;

  parent->n_sent++;
  text = g_strdup_printf ("message %u of %u, sent from the main loop of process %d",
                          parent->n_sent, N_MESSAGES, (int) getpid ());
  message = g_bytes_new_take (text, strlen (text));
  text = NULL;
  gipc_channel_send_async (parent->writer, message, NULL, sent_cb, parent);

  return parent->n_sent < N_MESSAGES ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
sigint_cb (gpointer user_data)
{
  Parent *parent = user_data;

  g_print ("parent: interrupted, terminating the child\n");
  parent->status = 1;
  gipc_process_terminate (parent->process, NULL);

  return G_SOURCE_CONTINUE;
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) reader = NULL;
  Parent parent = { 0, };
  guint sigint_id;

  setvbuf (stdout, NULL, _IOLBF, 0);

  if (!gipc_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &parent.writer, &error))
    {
      g_printerr ("parent: %s\n", error->message);
      return 1;
    }

  parent.process = gipc_process_new (child_main, g_object_ref (reader), g_object_unref);
  gipc_process_pass_channel (parent.process, reader);
  if (!gipc_process_start (parent.process, &error))
    {
      g_printerr ("parent: %s\n", error->message);
      return 1;
    }

  parent.loop = g_main_loop_new (NULL, FALSE);
  sigint_id = g_unix_signal_add (SIGINT, sigint_cb, &parent);
  g_timeout_add (INTERVAL_MS, send_tick_cb, &parent);
  gipc_process_join_async (parent.process, NULL, joined_cb, &parent);
  g_main_loop_run (parent.loop);

  g_source_remove (sigint_id);
  g_main_loop_unref (parent.loop);
  g_object_unref (parent.writer);
  g_object_unref (parent.process);

  return parent.status;
}
