/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * demo: a parent and a fork-mode child talk over a duplex channel.
 *
 * Both sides use the asynchronous API on a GMainLoop. The parent sends a few
 * requests; the child answers each one, then sends a GVariant summary when
 * the parent says goodbye. The parent joins the child and prints its exit
 * code. Each line of the transcript is printed by the process that acts.
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

static const gchar * const requests[] = { "ping", "2 + 2", "hello" };

typedef struct
{
  GMainLoop   *loop;
  GipcChannel *channel;
  GipcProcess *process;
  guint        n_sent;
  guint        n_answered;
  gint         status;
} Demo;

static void
demo_fail (Demo         *demo,
           const gchar  *what,
           const GError *error)
{
  g_printerr ("demo: %s: %s\n", what, error->message);
  demo->status = 1;
  g_main_loop_quit (demo->loop);
}

static GBytes *
bytes_from_string (const gchar *text)
{
  return g_bytes_new (text, strlen (text));
}

static gchar *
string_from_bytes (GBytes *bytes)
{
  gsize size;
  const gchar *data = g_bytes_get_data (bytes, &size);

  return g_strndup (data, size);
}

/* ---- the child -------------------------------------------------------- */

static void child_receive_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static gchar *
answer_for (const gchar *request)
{
  if (g_str_equal (request, "ping"))
    return g_strdup ("pong");
  if (g_str_equal (request, "2 + 2"))
    return g_strdup ("4");
  return g_ascii_strup (request, -1);
}

static void
child_sent_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;

  if (!gipc_channel_send_finish (demo->channel, result, &error))
    {
      demo_fail (demo, "child: send", error);
      return;
    }

  gipc_channel_receive_async (demo->channel, NULL, child_receive_cb, demo);
}

static void
child_summary_sent_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;

  if (!gipc_channel_send_variant_finish (demo->channel, result, &error))
    {
      demo_fail (demo, "child: send summary", error);
      return;
    }

  g_main_loop_quit (demo->loop);
}

static void
child_receive_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autofree gchar *request = NULL;
  g_autofree gchar *answer = NULL;
  g_autoptr(GBytes) reply = NULL;

  message = gipc_channel_receive_finish (demo->channel, result, &error);
  if (message == NULL)
    {
      demo_fail (demo, "child: receive", error);
      return;
    }

  request = string_from_bytes (message);
  if (g_str_equal (request, "bye"))
    {
      GVariantDict dict;
      g_autoptr(GVariant) summary = NULL;

      g_print ("child  (%d) got \"bye\", sends a summary and exits\n", (int) getpid ());
      g_variant_dict_init (&dict, NULL);
      g_variant_dict_insert (&dict, "pid", "i", (gint32) getpid ());
      g_variant_dict_insert (&dict, "answered", "u", demo->n_answered);
      g_variant_dict_insert (&dict, "mood", "s", "happy");
      summary = g_variant_ref_sink (g_variant_dict_end (&dict));
      gipc_channel_send_variant_async (demo->channel, summary, NULL,
                                       child_summary_sent_cb, demo);
      return;
    }

  answer = answer_for (request);
  g_print ("child  (%d) got \"%s\", answers \"%s\"\n", (int) getpid (), request, answer);
  demo->n_answered++;
  reply = bytes_from_string (answer);
  gipc_channel_send_async (demo->channel, reply, NULL, child_sent_cb, demo);
}

static gint
child_main (GipcProcess *process,
            gpointer     user_data)
{
  /* The inherited main context was discarded: this loop starts clean. */
  Demo demo = { 0, };

  demo.loop = g_main_loop_new (NULL, FALSE);
  demo.channel = user_data;
  gipc_channel_receive_async (demo.channel, NULL, child_receive_cb, &demo);
  g_main_loop_run (demo.loop);
  g_main_loop_unref (demo.loop);

  return demo.status;
}

/* ---- the parent ------------------------------------------------------- */

static void parent_send_next (Demo *demo);

static void
parent_joined_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;
  gint exit_code;

  if (!gipc_process_join_finish (demo->process, result, &error))
    {
      demo_fail (demo, "parent: join", error);
      return;
    }

  exit_code = gipc_process_get_exit_code (demo->process);
  g_print ("parent (%d) joined the child: exit code %d\n", (int) getpid (), exit_code);
  if (exit_code != 0)
    demo->status = 1;
  g_main_loop_quit (demo->loop);
}

static void
parent_summary_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) summary = NULL;
  g_autofree gchar *text = NULL;

  summary = gipc_channel_receive_variant_finish (demo->channel, result, &error);
  if (summary == NULL)
    {
      demo_fail (demo, "parent: receive summary", error);
      return;
    }

  text = g_variant_print (summary, TRUE);
  g_print ("parent (%d) got a GVariant: %s\n", (int) getpid (), text);
  gipc_process_join_async (demo->process, NULL, parent_joined_cb, demo);
}

static void
parent_reply_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autofree gchar *text = NULL;

  reply = gipc_channel_receive_finish (demo->channel, result, &error);
  if (reply == NULL)
    {
      demo_fail (demo, "parent: receive", error);
      return;
    }

  text = string_from_bytes (reply);
  g_print ("parent (%d) got \"%s\"\n", (int) getpid (), text);
  parent_send_next (demo);
}

static void
parent_sent_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;

  if (!gipc_channel_send_finish (demo->channel, result, &error))
    {
      demo_fail (demo, "parent: send", error);
      return;
    }

  if (demo->n_sent <= G_N_ELEMENTS (requests))
    gipc_channel_receive_async (demo->channel, NULL, parent_reply_cb, demo);
  else
    gipc_channel_receive_variant_async (demo->channel, NULL, parent_summary_cb, demo);
}

static void
parent_send_next (Demo *demo)
{
  const gchar *text = "bye";
  g_autoptr(GBytes) message = NULL;

  if (demo->n_sent < G_N_ELEMENTS (requests))
    text = requests[demo->n_sent];
  demo->n_sent++;

  g_print ("parent (%d) sends \"%s\"\n", (int) getpid (), text);
  message = bytes_from_string (text);
  gipc_channel_send_async (demo->channel, message, NULL, parent_sent_cb, demo);
}

static gboolean
watchdog_cb (gpointer user_data)
{
  Demo *demo = user_data;

  g_printerr ("demo: no progress for 10 s, giving up\n");
  demo->status = 1;
  g_main_loop_quit (demo->loop);

  return G_SOURCE_REMOVE;
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) child_end = NULL;
  Demo demo = { 0, };
  guint watchdog;

  /* One line at a time, so the two processes' lines interleave in order
   * even when stdout is a pipe. The child inherits the setting. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  if (!gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX, &demo.channel, &child_end, &error))
    {
      g_printerr ("demo: %s\n", error->message);
      return 1;
    }

  demo.process = gipc_process_new (child_main, g_object_ref (child_end), g_object_unref);
  gipc_process_pass_channel (demo.process, child_end);
  if (!gipc_process_start (demo.process, &error))
    {
      g_printerr ("demo: %s\n", error->message);
      return 1;
    }
  g_print ("parent (%d) started child %d in fork mode\n",
           (int) getpid (), (int) gipc_process_get_pid (demo.process));

  demo.loop = g_main_loop_new (NULL, FALSE);
  watchdog = g_timeout_add_seconds (10, watchdog_cb, &demo);
  parent_send_next (&demo);
  g_main_loop_run (demo.loop);
  g_source_remove (watchdog);

  g_main_loop_unref (demo.loop);
  g_object_unref (demo.channel);
  g_object_unref (demo.process);

  return demo.status;
}
