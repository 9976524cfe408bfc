/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * producer: stream a large amount of data to a slow child with bounded
 * memory.
 *
 * send_async never refuses and never blocks, so a producer that is faster
 * than its reader must pace itself: it sends while the channel is not
 * congested, and resumes when notify::congested says it no longer is. The
 * queue then never holds much more than the high-water mark (1 MiB by
 * default), however much is streamed. The child reads with the blocking
 * API and takes a short nap now and then, as a busy worker would.
 */

#include <string.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

#define CHUNK (64 * 1024)
#define TOTAL (32 * 1024 * 1024)

typedef struct
{
  GMainLoop   *loop;
  GipcChannel *writer;
  GipcProcess *process;
  gsize        sent;
  guint64      peak_queued;
  gint         status;
} Producer;

static gint
child_main (GipcProcess *process,
            gpointer     user_data)
{
  GipcChannel *reader = user_data;
  gsize received = 0;
  guint n = 0;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) chunk = gipc_channel_receive (reader, NULL, &error);

      if (chunk == NULL)
        {
          if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED))
            break;
          g_printerr ("child: %s\n", error->message);
          return 1;
        }
      received += g_bytes_get_size (chunk);
      if (++n % 16 == 0)
        g_usleep (1000);   /* a slow reader */
    }

  return received == TOTAL ? 0 : 1;
}

static void
joined_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Producer *producer = user_data;
  g_autoptr(GError) error = NULL;

  if (gipc_process_join_finish (producer->process, result, &error))
    producer->status = gipc_process_get_exit_code (producer->process);
  else
    g_printerr ("join: %s\n", error->message);
  g_main_loop_quit (producer->loop);
}

static void
flushed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Producer *producer = user_data;
  g_autoptr(GError) error = NULL;

  if (!gipc_channel_flush_finish (producer->writer, result, &error))
    g_printerr ("flush: %s\n", error->message);
  /* Everything is in the pipe: the end of the stream tells the child. */
  gipc_channel_close (producer->writer, NULL);
  gipc_process_join_async (producer->process, NULL, joined_cb, producer);
}

/* Sends while the channel is not congested. */
static void
produce (Producer *producer)
{
  while (producer->sent < TOTAL && !gipc_channel_is_congested (producer->writer))
    {
      guint8 *data = g_malloc (CHUNK);
      g_autoptr(GBytes) chunk = NULL;

      memset (data, (int) (producer->sent / CHUNK), CHUNK);
      chunk = g_bytes_new_take (data, CHUNK);
      gipc_channel_send_async (producer->writer, chunk, NULL, NULL, NULL);
      producer->sent += CHUNK;
      producer->peak_queued = MAX (producer->peak_queued,
                                   gipc_channel_get_queued_bytes (producer->writer));
    }

  if (producer->sent == TOTAL)
    {
      producer->sent++;   /* once */
      gipc_channel_flush_async (producer->writer, NULL, flushed_cb, producer);
    }
}

static void
congested_cb (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  Producer *producer = user_data;

  if (!gipc_channel_is_congested (producer->writer))
    produce (producer);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) reader = NULL;
  Producer producer = { NULL, NULL, NULL, 0, 0, -1 };

  if (!gipc_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &producer.writer, &error))
    {
      g_printerr ("pipe: %s\n", error->message);
      return 1;
    }

  producer.process = gipc_process_new (child_main, reader, NULL);
  gipc_process_pass_channel (producer.process, reader);
  if (!gipc_process_start (producer.process, &error))
    {
      g_printerr ("start: %s\n", error->message);
      return 1;
    }

  producer.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (producer.writer, "notify::congested", G_CALLBACK (congested_cb), &producer);
  produce (&producer);
  g_main_loop_run (producer.loop);

  g_print ("streamed %d MiB; the queue held at most %" G_GUINT64_FORMAT " KiB "
           "(high-water mark %" G_GUINT64_FORMAT " KiB); child exit code %d\n",
           TOTAL / (1024 * 1024), producer.peak_queued / 1024,
           gipc_channel_get_high_water_mark (producer.writer) / 1024, producer.status);

  g_main_loop_unref (producer.loop);
  g_clear_object (&producer.writer);
  g_clear_object (&producer.process);

  return producer.status == 0 && producer.peak_queued <= 2 * 1024 * 1024 ? 0 : 1;
}
