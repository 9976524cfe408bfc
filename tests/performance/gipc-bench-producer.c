/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * gipc-bench-producer: a fast producer streaming to a slower consumer, with
 * and without flow control.
 *
 *   unbounded  send_async every message at once, then flush_async: the
 *              queue holds whatever the consumer has not read yet
 *   bounded    the producer pattern: send while the channel is not
 *              congested, resume on notify::congested, then flush_async
 *
 * Both stream --total MiB in 64 KiB messages (a new buffer each, as a real
 * producer makes them) to a fork-mode child that listens and checks every
 * message's size and first byte. Each variant runs in a fresh process of
 * its own (this program run again with --variant), so its peak RSS
 * (VmHWM) is its own; the figures are the best of --repeat runs for the
 * throughput and the largest peak RSS and queue.
 *
 * Usage: gipc-bench-producer [--total MiB] [--repeat N]
 */

#include <gipc-glib/gipc-glib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64 * 1024)

static gint opt_total_mib = 256;
static gint opt_repeat = 3;
static gchar *opt_variant;

typedef struct
{
  GMainLoop   *loop;
  GipcChannel *writer;
  GipcProcess *process;
  gboolean     bounded;
  gsize        total;
  gsize        sent;
  guint64      peak_queued;
  gboolean     flushing;
  gint         status;
} Run;

typedef struct
{
  GMainLoop *loop;
  gsize      received;
  guint      bad;
} Consumer;

static void
consumer_message_cb (GipcChannel *channel,
                     GBytes      *message,
                     gpointer     user_data)
{
  Consumer *consumer = user_data;
  gsize size;
  const guint8 *data = g_bytes_get_data (message, &size);

  if (size != CHUNK || data[0] != (guint8) (consumer->received / CHUNK))
    consumer->bad++;
  consumer->received += size;
}

static void
consumer_error_cb (GipcChannel  *channel,
                   const GError *error,
                   gpointer      user_data)
{
  Consumer *consumer = user_data;

  if (!g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED))
    consumer->bad++;
  g_main_loop_quit (consumer->loop);
}

static gint
consumer_main (GipcProcess *process,
               gpointer     user_data)
{
  GipcChannel *reader = user_data;
  Consumer consumer = { g_main_loop_new (NULL, FALSE), 0, 0 };

  g_signal_connect (reader, "message", G_CALLBACK (consumer_message_cb), &consumer);
  g_signal_connect (reader, "error", G_CALLBACK (consumer_error_cb), &consumer);
  gipc_channel_listen (reader);
  g_main_loop_run (consumer.loop);

  return consumer.bad == 0 && consumer.received == (gsize) opt_total_mib * 1024 * 1024 ? 0 : 1;
}

static void
joined_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Run *run = user_data;

  if (gipc_process_join_finish (run->process, result, NULL))
    run->status = gipc_process_get_exit_code (run->process);
  g_main_loop_quit (run->loop);
}

static void
flushed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  if (!gipc_channel_flush_finish (run->writer, result, &error))
    g_printerr ("flush: %s\n", error->message);
  gipc_channel_close (run->writer, NULL);
  gipc_process_join_async (run->process, NULL, joined_cb, run);
}

static void
produce (Run *run)
{
  while (run->sent < run->total &&
         !(run->bounded && gipc_channel_is_congested (run->writer)))
    {
      guint8 *data = g_malloc (CHUNK);
      g_autoptr(GBytes) chunk = NULL;

      memset (data, (int) (guint8) (run->sent / CHUNK), CHUNK);
      chunk = g_bytes_new_take (data, CHUNK);
      gipc_channel_send_async (run->writer, chunk, NULL, NULL, NULL);
      run->sent += CHUNK;
      run->peak_queued = MAX (run->peak_queued, gipc_channel_get_queued_bytes (run->writer));
    }

  if (run->sent == run->total && !run->flushing)
    {
      run->flushing = TRUE;
      gipc_channel_flush_async (run->writer, NULL, flushed_cb, run);
    }
}

static void
congested_cb (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  Run *run = user_data;

  if (!gipc_channel_is_congested (run->writer))
    produce (run);
}

static gsize
peak_rss_kib (void)
{
  g_autofree gchar *status = NULL;
  const gchar *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (line = strstr (status, "VmHWM:")) == NULL)
    return 0;
  return (gsize) g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10);
}

/* One variant, in this process: prints "mbps peak_rss_kib peak_queued". */
static int
run_variant (gboolean bounded)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) reader = NULL;
  Run run = { NULL, NULL, NULL, bounded, (gsize) opt_total_mib * 1024 * 1024, 0, 0, FALSE, -1 };
  gsize rss_before;
  gint64 start, elapsed;

  if (!gipc_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &run.writer, &error))
    g_error ("pipe: %s", error->message);
  run.process = gipc_process_new (consumer_main, reader, NULL);
  gipc_process_pass_channel (run.process, reader);
  if (!gipc_process_start (run.process, &error))
    g_error ("start: %s", error->message);

  run.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (run.writer, "notify::congested", G_CALLBACK (congested_cb), &run);
  rss_before = peak_rss_kib ();
  start = g_get_monotonic_time ();
  produce (&run);
  g_main_loop_run (run.loop);
  elapsed = g_get_monotonic_time () - start;

  if (run.status != 0)
    {
      g_printerr ("the consumer failed (exit code %d)\n", run.status);
      return 1;
    }

  printf ("%.1f %" G_GSIZE_FORMAT " %" G_GUINT64_FORMAT "\n",
          (gdouble) run.total / (gdouble) elapsed,
          peak_rss_kib () - rss_before, run.peak_queued);
  g_main_loop_unref (run.loop);
  g_clear_object (&run.writer);
  g_clear_object (&run.process);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  GOptionEntry entries[] = {
    { "total", 't', 0, G_OPTION_ARG_INT, &opt_total_mib, "MiB to stream (default 256)", "MIB" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat, "Runs per variant (default 3)", "N" },
    { "variant", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_variant, NULL, NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- producer against a slower consumer");
  g_autoptr(GError) error = NULL;
  const gchar *variants[] = { "unbounded", "bounded" };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  if (opt_variant != NULL)
    return run_variant (g_str_equal (opt_variant, "bounded"));

  printf ("%d MiB in 64 KiB messages to a fork-mode child that listens; "
          "best of %d runs (MB/s), largest peak RSS growth and queue\n\n",
          opt_total_mib, opt_repeat);
  printf ("| producer | MB/s | peak RSS growth | largest queue |\n");
  printf ("| --- | ---: | ---: | ---: |\n");

  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      gdouble best = 0;
      gsize rss = 0;
      guint64 queued = 0;

      for (gint i = 0; i < opt_repeat; i++)
        {
          g_autofree gchar *total = g_strdup_printf ("--total=%d", opt_total_mib);
          g_autofree gchar *variant = g_strdup_printf ("--variant=%s", variants[v]);
          const gchar *child_argv[] = { "/proc/self/exe", total, variant, NULL };
          g_autofree gchar *out = NULL;
          gint wait_status = 0;
          gdouble mbps;
          gsize r;
          guint64 q;

          if (!g_spawn_sync (NULL, (gchar **) child_argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN,
                             NULL, NULL, &out, NULL, &wait_status, &error) ||
              !g_spawn_check_wait_status (wait_status, &error))
            {
              g_printerr ("%s: %s\n", variants[v], error->message);
              return 1;
            }
          if (sscanf (out, "%lf %zu %" G_GUINT64_FORMAT, &mbps, &r, &q) != 3)
            {
              g_printerr ("%s: unexpected output: %s\n", variants[v], out);
              return 1;
            }
          best = MAX (best, mbps);
          rss = MAX (rss, r);
          queued = MAX (queued, q);
        }

      printf ("| %s | %.0f | %.1f MiB | %.1f MiB |\n", variants[v], best,
              (gdouble) rss / 1024, (gdouble) queued / (1024 * 1024));
    }

  return 0;
}
