/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * What a GLib program does without gipc-glib: a GSubprocess with stdin and
 * stdout pipes, and GIO async streams with a length-framed protocol (4-byte
 * big-endian length + payload, as gipc). 64 B one-way and 8 B round trip.
 *
 * The writer chains one g_output_stream_write_all_async per frame (a stream
 * allows one pending operation); the reader wraps the pipe in a
 * GBufferedInputStream and reads each frame with two
 * g_input_stream_read_all_async calls (header, then payload). Every message
 * carries its sequence number, which the receiver checks.
 *
 * Prints one line per measure: RESULT <key> <value> <unit>.
 */

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_MAX 1024

typedef struct
{
  GMainLoop     *loop;
  GInputStream  *in;
  GOutputStream *out;
  gsize          size;
  gboolean       echo;
  guint64        count;
  gboolean       failed;
  guint8         header[4];
  guint8         pong[12];
  guint8         frame[FRAME_MAX];
  gsize          len;
  gdouble        deadline;
  gdouble        t0, t_end;
  gboolean       stopping;
  GError        *error;
} Bench;

static gdouble
now_s (void)
{
  return (gdouble) g_get_monotonic_time () / 1e6;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static guint32
get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static void
fail (Bench *b, GError *error)
{
  if (b->error == NULL)
    b->error = error;
  else
    g_error_free (error);
  b->failed = TRUE;
  g_main_loop_quit (b->loop);
}

/* --- the child: reads frames; counts them or echoes them ----------------- */

static void child_read_header (Bench *b);

static void
child_result_written_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    fail (b, error);
  g_main_loop_quit (b->loop);
}

static void
child_echo_written_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    {
      fail (b, error);
      return;
    }
  if (b->len == 0)
    g_main_loop_quit (b->loop);
  else
    child_read_header (b);
}

static void
child_frame_done (Bench *b)
{
  guint64 seq = 0;

  if (b->len == 0)
    {
      if (b->echo)
        {
          g_output_stream_write_all_async (b->out, b->header, 4, G_PRIORITY_DEFAULT, NULL,
                                           child_echo_written_cb, b);
        }
      else
        {
          static guint64 result;

          result = b->failed ? G_MAXUINT64 : b->count;
          g_output_stream_write_all_async (b->out, &result, sizeof result, G_PRIORITY_DEFAULT, NULL,
                                           child_result_written_cb, b);
        }
      return;
    }
  memcpy (&seq, b->frame + 4, sizeof seq);
  if (b->len != b->size || seq != b->count)
    b->failed = TRUE;
  b->count++;
  if (b->echo)
    g_output_stream_write_all_async (b->out, b->frame, 4 + b->len, G_PRIORITY_DEFAULT, NULL,
                                     child_echo_written_cb, b);
  else
    child_read_header (b);
}

static void
child_payload_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), res, &n, &error) || n != b->len)
    {
      fail (b, error != NULL ? error : g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "short read"));
      return;
    }
  child_frame_done (b);
}

static void
child_header_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), res, &n, &error) || n != 4)
    {
      fail (b, error != NULL ? error : g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "short read"));
      return;
    }
  b->len = get_be32 (b->frame);
  memcpy (b->header, b->frame, 4);
  if (b->len > FRAME_MAX - 4)
    {
      fail (b, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "frame too large"));
      return;
    }
  if (b->len == 0)
    child_frame_done (b);
  else
    g_input_stream_read_all_async (b->in, b->frame + 4, b->len, G_PRIORITY_DEFAULT, NULL,
                                   child_payload_cb, b);
}

static void
child_read_header (Bench *b)
{
  g_input_stream_read_all_async (b->in, b->frame, 4, G_PRIORITY_DEFAULT, NULL, child_header_cb, b);
}

static int
child_main (const gchar *mode, gsize size)
{
  Bench b;
  memset (&b, 0, sizeof b);
  b.loop = g_main_loop_new (NULL, FALSE);
  b.in = g_unix_input_stream_new (0, FALSE);
  b.out = g_unix_output_stream_new (1, FALSE);
  b.size = size;
  b.echo = g_str_equal (mode, "echo");
  child_read_header (&b);
  g_main_loop_run (b.loop);
  if (b.error != NULL)
    fprintf (stderr, "gsubprocess child: %s\n", b.error->message);
  return b.failed ? 1 : 0;
}

/* --- the parent ---------------------------------------------------------- */

static GSubprocess *
spawn_child (const gchar *mode, gsize size, GError **error)
{
  gchar *size_str = g_strdup_printf ("%" G_GSIZE_FORMAT, size);
  const gchar *argv[] = { "/proc/self/exe", "--child", mode, size_str, NULL };
  GSubprocess *sp = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                       error);

  g_free (size_str);
  return sp;
}

static void send_next (Bench *b);

static void
sent_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    {
      fail (b, error);
      return;
    }
  if (b->stopping)
    return;
  send_next (b);
}

static void
result_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;
  gsize n = 0;
  guint64 got;

  b->t_end = now_s ();
  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), res, &n, &error) || n != 8)
    {
      fail (b, error != NULL ? error : g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "no result"));
      return;
    }
  memcpy (&got, b->frame, 8);
  if (got != b->count)
    fail (b, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "sent %" G_GUINT64_FORMAT ", child got %"
                          G_GUINT64_FORMAT, b->count, got));
  g_main_loop_quit (b->loop);
}

static void
send_next (Bench *b)
{
  static guint8 end[4];

  if ((b->count & 63) == 0 && now_s () >= b->deadline)
    {
      b->stopping = TRUE;
      g_output_stream_write_all_async (b->out, end, 4, G_PRIORITY_DEFAULT, NULL, sent_cb, b);
      g_input_stream_read_all_async (b->in, b->frame, 8, G_PRIORITY_DEFAULT, NULL, result_cb, b);
      return;
    }
  memcpy (b->frame + 4, &b->count, 8);
  b->count++;
  g_output_stream_write_all_async (b->out, b->frame, 4 + b->size, G_PRIORITY_DEFAULT, NULL, sent_cb, b);
}

static void ping (Bench *b);

static void
pong_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;
  gsize n = 0;
  guint64 seq;
  static guint8 end[4];

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), res, &n, &error))
    {
      fail (b, error);
      return;
    }
  if (b->stopping)
    {
      g_main_loop_quit (b->loop);
      return;
    }
  memcpy (&seq, b->pong + 4, 8);
  if (n != 12 || seq != b->count)
    {
      fail (b, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "bad pong %" G_GUINT64_FORMAT, b->count));
      return;
    }
  b->count++;
  if ((b->count & 31) == 0 && (b->t_end = now_s ()) >= b->deadline)
    {
      b->stopping = TRUE;
      g_output_stream_write_all_async (b->out, end, 4, G_PRIORITY_DEFAULT, NULL, sent_cb, b);
      g_input_stream_read_all_async (b->in, b->pong, 4, G_PRIORITY_DEFAULT, NULL, pong_cb, b);
      return;
    }
  ping (b);
}

static void
ping_sent_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    fail (b, error);
}

static void
ping (Bench *b)
{
  memcpy (b->frame + 4, &b->count, 8);
  g_output_stream_write_all_async (b->out, b->frame, 12, G_PRIORITY_DEFAULT, NULL, ping_sent_cb, b);
  g_input_stream_read_all_async (b->in, b->pong, 12, G_PRIORITY_DEFAULT, NULL, pong_cb, b);
}

static gboolean
run (gboolean rtt, gdouble duration, gdouble *value)
{
  GError *error = NULL;
  GSubprocess *sp = spawn_child (rtt ? "echo" : "recv", rtt ? 8 : 64, &error);
  Bench b;
  gboolean ok;

  if (sp == NULL)
    {
      fprintf (stderr, "gsubprocess: %s\n", error->message);
      return FALSE;
    }
  memset (&b, 0, sizeof b);
  b.loop = g_main_loop_new (NULL, FALSE);
  b.out = g_subprocess_get_stdin_pipe (sp);
  b.in = g_subprocess_get_stdout_pipe (sp);
  b.size = rtt ? 8 : 64;
  put_be32 (b.frame, (guint32) b.size);
  memset (b.frame + 12, '.', b.size - 8);
  b.t0 = now_s ();
  b.deadline = b.t0 + duration;
  if (rtt)
    ping (&b);
  else
    send_next (&b);
  g_main_loop_run (b.loop);
  ok = !b.failed && g_subprocess_wait_check (sp, NULL, &error);
  if (!ok)
    fprintf (stderr, "gsubprocess: %s\n", b.error != NULL ? b.error->message : error->message);
  else if (rtt)
    *value = (b.t_end - b.t0) / (gdouble) b.count * 1e6;
  else
    *value = (gdouble) b.count / (b.t_end - b.t0);
  g_object_unref (sp);
  g_main_loop_unref (b.loop);
  return ok;
}

int
main (int argc, char **argv)
{
  gdouble duration = 0.9, best = 0, best_rtt = G_MAXDOUBLE;
  gint repeat = 3, i;

  if (argc == 4 && g_str_equal (argv[1], "--child"))
    return child_main (argv[2], (gsize) atoi (argv[3]));
  for (i = 1; i + 1 < argc; i++)
    {
      if (g_str_equal (argv[i], "--duration"))
        duration = g_ascii_strtod (argv[++i], NULL);
      else if (g_str_equal (argv[i], "--repeat"))
        repeat = atoi (argv[++i]);
    }
  for (i = 0; i < repeat; i++)
    {
      gdouble v = 0;

      if (!run (FALSE, duration / repeat, &v))
        return 1;
      best = MAX (best, v);
    }
  for (i = 0; i < repeat; i++)
    {
      gdouble v = 0;

      if (!run (TRUE, duration / repeat, &v))
        return 1;
      best_rtt = MIN (best_rtt, v);
    }
  printf ("RESULT oneway-64 %.0f msgs/s\n", best);
  printf ("RESULT rtt-8 %.2f us\n", best_rtt);
  return 0;
}
