/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * responsive: keep a main loop responsive while a child does CPU-heavy work,
 * as a GTK application would.
 *
 * The parent's main loop stands for a GUI: a 10 ms timeout keeps ticking
 * (a GUI would redraw) and counts its ticks. As a GTK program must (it has
 * threads), it starts its children through a fork server, started first
 * thing in main(). The child counts the primes below LIMIT by trial
 * division and reports its progress over a channel; the parent listens to
 * the channel ("message" signal, push style) and shows the progress as it
 * arrives. When the child is done its end of the channel closes, the
 * channel emits "error" (PEER_CLOSED), and the parent joins the child.
 */

#include <stdio.h>
#include <string.h>

#include <gipc-glib/gipc-glib.h>

#define LIMIT    2000000
#define TICK_MS  10

static gboolean
is_prime (guint n)
{
  if (n < 2)
    return FALSE;
  for (guint d = 2; d * d <= n; d++)
    if (n % d == 0)
      return FALSE;
  return TRUE;
}

static gboolean
send_text (GipcChannel  *channel,
           const gchar  *text,
           GError      **error)
{
  g_autoptr(GBytes) message = g_bytes_new (text, strlen (text));

  return gipc_channel_send (channel, message, NULL, error);
}

/* The fork server's target: runs in a child of the server. Its channel is
 * the first one passed; args is the limit. */
static gint
count_primes (GipcProcess *process,
              GVariant    *args,
              gpointer     user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, &error);
  g_autofree gchar *result = NULL;
  guint limit = g_variant_get_uint32 (args);
  guint n_primes = 0;

  if (channel == NULL)
    {
      g_printerr ("child: %s\n", error->message);
      return 1;
    }

  for (guint n = 0; n < limit; n++)
    {
      n_primes += is_prime (n);

      if ((n + 1) % (limit / 10) == 0)
        {
          g_autofree gchar *progress = g_strdup_printf ("progress %u", (n + 1) / (limit / 100));

          if (!send_text (channel, progress, &error))
            break;
        }
    }

  result = g_strdup_printf ("result %u", n_primes);
  if (error != NULL || !send_text (channel, result, &error))
    {
      g_printerr ("child: %s\n", error->message);
      return 1;
    }

  return 0;
}

typedef struct
{
  GMainLoop   *loop;
  GipcChannel *channel;
  GipcProcess *process;
  gint64       start;
  gint64       last_tick;
  gint64       max_gap;
  guint        n_ticks;
  guint        n_primes;
  gint         status;
} App;

static gboolean
tick_cb (gpointer user_data)
{
  App *app = user_data;
  gint64 now = g_get_monotonic_time ();

  app->n_ticks++;
  app->max_gap = MAX (app->max_gap, now - app->last_tick);
  app->last_tick = now;

  return G_SOURCE_CONTINUE;
}

static void
message_cb (GipcChannel *channel,
            GBytes      *message,
            gpointer     user_data)
{
  App *app = user_data;
  gsize size;
  const gchar *data = g_bytes_get_data (message, &size);
  g_autofree gchar *text = g_strndup (data, size);

  if (g_str_has_prefix (text, "progress "))
    g_print ("[tick %3u] child progress: %s%%\n", app->n_ticks, text + strlen ("progress "));
  else if (g_str_has_prefix (text, "result "))
    app->n_primes = (guint) g_ascii_strtoull (text + strlen ("result "), NULL, 10);
}

static void
joined_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  App *app = user_data;
  g_autoptr(GError) error = NULL;
  gdouble seconds = (g_get_monotonic_time () - app->start) / (gdouble) G_USEC_PER_SEC;

  if (!gipc_process_join_finish (app->process, result, &error) ||
      gipc_process_get_exit_code (app->process) != 0 || app->n_primes == 0)
    {
      g_printerr ("responsive: the child failed%s%s\n",
                  error != NULL ? ": " : "", error != NULL ? error->message : "");
      app->status = 1;
    }
  else
    {
      g_print ("child found %u primes below %d\n", app->n_primes, LIMIT);
      g_print ("the main loop ticked %u times in %.2f s, longest gap %.1f ms\n",
               app->n_ticks, seconds, app->max_gap / 1000.0);
    }
  g_main_loop_quit (app->loop);
}

static void
error_cb (GipcChannel  *channel,
          const GError *error,
          gpointer      user_data)
{
  App *app = user_data;

  /* PEER_CLOSED is the clean end of the stream: the child is done. */
  if (!g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED))
    {
      g_printerr ("responsive: %s\n", error->message);
      app->status = 1;
    }
  gipc_process_join_async (app->process, NULL, joined_cb, app);
}

int
main (void)
{
  g_autoptr(GipcForkServer) server = gipc_fork_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) child_end = NULL;
  App app = { 0, };
  guint tick_id;

  setvbuf (stdout, NULL, _IOLBF, 0);

  /* First thing: before GTK (or anything) starts a thread. */
  gipc_fork_server_add_target (server, "count-primes", count_primes, NULL, NULL);
  if (!gipc_fork_server_start (server, &error))
    {
      g_printerr ("responsive: %s\n", error->message);
      return 1;
    }

  if (!gipc_pipe (GIPC_PIPE_FLAGS_NONE, &app.channel, &child_end, &error))
    {
      g_printerr ("responsive: %s\n", error->message);
      return 1;
    }

  app.process = gipc_process_new_for_target (server, "count-primes", g_variant_new_uint32 (LIMIT));
  gipc_process_pass_channel (app.process, child_end);
  if (!gipc_process_start (app.process, &error))
    {
      g_printerr ("responsive: %s\n", error->message);
      return 1;
    }

  app.loop = g_main_loop_new (NULL, FALSE);
  app.start = app.last_tick = g_get_monotonic_time ();
  tick_id = g_timeout_add (TICK_MS, tick_cb, &app);
  g_signal_connect (app.channel, "message", G_CALLBACK (message_cb), &app);
  g_signal_connect (app.channel, "error", G_CALLBACK (error_cb), &app);
  gipc_channel_listen (app.channel);
  g_main_loop_run (app.loop);

  g_source_remove (tick_id);
  g_main_loop_unref (app.loop);
  g_object_unref (app.channel);
  g_object_unref (app.process);

  return app.status;
}
