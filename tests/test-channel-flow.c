/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * GipcChannel flow control: queued-bytes, high-water-mark, congested and
 * its notify, flush_async / flush. The writer's pipe is shrunk to one page
 * and read by the test a frame at a time, so every transition happens at a
 * known byte count; a real slow child checks that a producer's memory
 * stays bounded.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

#include "test-util.h"

/* One page: the pipe holds one frame, and poll reports it writable only
 * once that frame is read, so each read lets exactly one more in. */
#define PIPE_SIZE   4096
#define FRAME       PIPE_SIZE         /* 4-byte header + payload */
#define PAYLOAD     (FRAME - 4)

typedef struct
{
  GMainContext *context;
  GipcChannel *writer;
  int raw_read;
  guint notifies;
  gboolean last_notified;
  gboolean in_send;                   /* a notify now would re-enter */
} Flow;

static void
congested_cb (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  Flow *f = user_data;

  g_assert_false (f->in_send);
  g_assert_true (g_main_context_is_owner (f->context));
  f->notifies++;
  f->last_notified = gipc_channel_is_congested (GIPC_CHANNEL (object));
}

static void
flow_init (Flow    *f,
           guint64  high_water_mark)
{
  g_autoptr(GError) error = NULL;
  int fds[2];

  memset (f, 0, sizeof *f);
  f->context = g_main_context_new ();
  g_main_context_push_thread_default (f->context);

  g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
  g_assert_cmpint (fcntl (fds[1], F_SETPIPE_SZ, PIPE_SIZE), ==, PIPE_SIZE);
  f->raw_read = fds[0];
  f->writer = gipc_channel_new_from_fds (-1, fds[1], &error);
  g_assert_no_error (error);
  gipc_channel_set_high_water_mark (f->writer, high_water_mark);
  g_signal_connect (f->writer, "notify::congested", G_CALLBACK (congested_cb), f);
}

static void
flow_clear (Flow *f)
{
  g_clear_object (&f->writer);
  if (f->raw_read >= 0)
    close (f->raw_read);
  gipc_test_drain_context (f->context);
  g_main_context_pop_thread_default (f->context);
  g_main_context_unref (f->context);
}

static void
flow_send (Flow *f,
           guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) m = gipc_test_pattern_bytes (PAYLOAD, i);

      f->in_send = TRUE;
      gipc_channel_send_async (f->writer, m, NULL, NULL, NULL);
      f->in_send = FALSE;
    }
}

/* The peer reads exactly @n bytes (the pipe must hold them). */
static void
flow_read (Flow  *f,
           gsize  n)
{
  g_autofree guint8 *buffer = g_malloc (n);

  gipc_test_read_exact (f->raw_read, buffer, n);
}

/* Lets the channel write what the pipe takes now. */
static void
flow_iterate (Flow *f)
{
  for (guint i = 0; i < 5; i++)
    g_main_context_iteration (f->context, FALSE);
}

/* The peer reads @n frames, one at a time, and the channel refills. */
static void
flow_drain (Flow  *f,
            guint  n)
{
  for (guint i = 0; i < n; i++)
    {
      flow_read (f, FRAME);
      flow_iterate (f);
    }
}

static void
test_congested_transitions (void)
{
  Flow f;

  flow_init (&f, 8 * FRAME);
  g_assert_cmpuint (gipc_channel_get_high_water_mark (f.writer), ==, 8 * FRAME);
  g_assert_false (gipc_channel_is_congested (f.writer));

  /* 20 frames in one go: the first is written at once, 19 are queued:
   * congested right after the send that crossed 8 frames, no notify from
   * inside send_async. */
  flow_send (&f, 20);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 19 * FRAME);
  g_assert_true (gipc_channel_is_congested (f.writer));
  g_assert_cmpuint (f.notifies, ==, 0);

  /* The notify comes from the context, once. */
  flow_iterate (&f);
  g_assert_cmpuint (f.notifies, ==, 1);
  g_assert_true (f.last_notified);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 19 * FRAME);

  /* Draining: still congested at the mark and above half of it... */
  flow_drain (&f, 11);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 8 * FRAME);
  g_assert_true (gipc_channel_is_congested (f.writer));
  flow_drain (&f, 3);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 5 * FRAME);
  g_assert_true (gipc_channel_is_congested (f.writer));
  g_assert_cmpuint (f.notifies, ==, 1);

  /* ...and FALSE at half: one notify. */
  flow_drain (&f, 1);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 4 * FRAME);
  g_assert_false (gipc_channel_is_congested (f.writer));
  g_assert_cmpuint (f.notifies, ==, 2);
  g_assert_false (f.last_notified);

  /* Hysteresis: back up to the mark is not congested; past it is. */
  flow_send (&f, 4);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 8 * FRAME);
  g_assert_false (gipc_channel_is_congested (f.writer));
  flow_send (&f, 1);
  g_assert_true (gipc_channel_is_congested (f.writer));
  flow_iterate (&f);
  g_assert_cmpuint (f.notifies, ==, 3);

  /* Everything arrives, and the end state is quiet. */
  flow_drain (&f, 9);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 0);
  g_assert_false (gipc_channel_is_congested (f.writer));
  g_assert_cmpuint (f.notifies, ==, 4);
  flow_read (&f, FRAME);
  g_assert_cmpuint (gipc_test_bytes_available (f.raw_read), ==, 0);

  flow_clear (&f);
}

static void
test_high_water_mark_setter (void)
{
  Flow f;

  flow_init (&f, 100 * FRAME);
  flow_send (&f, 10);     /* 9 queued */
  g_assert_false (gipc_channel_is_congested (f.writer));

  /* Lowering the mark below what is queued congests at once. */
  gipc_channel_set_high_water_mark (f.writer, 4 * FRAME);
  g_assert_true (gipc_channel_is_congested (f.writer));
  g_assert_cmpuint (f.notifies, ==, 0);
  flow_iterate (&f);
  g_assert_cmpuint (f.notifies, ==, 1);

  /* The property and the getters agree. */
  {
    guint64 mark = 0, queued = 0;
    gboolean congested = FALSE;

    g_object_get (f.writer, "high-water-mark", &mark, "queued-bytes", &queued,
                  "congested", &congested, NULL);
    g_assert_cmpuint (mark, ==, 4 * FRAME);
    g_assert_cmpuint (queued, ==, gipc_channel_get_queued_bytes (f.writer));
    g_assert_true (congested);
  }

  flow_drain (&f, 9);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 0);
  flow_read (&f, FRAME);
  flow_clear (&f);
}

/* The reader goes while congested: the queue is dropped with the failure,
 * and one notify says the channel is no longer congested. */
static void
test_close_ends_congestion (void)
{
  Flow f;
  g_autoptr(GError) error = NULL;
  int raw;

  flow_init (&f, 2 * FRAME);
  flow_send (&f, 10);
  flow_iterate (&f);
  g_assert_cmpuint (f.notifies, ==, 1);

  raw = f.raw_read;
  f.raw_read = -1;
  close (raw);
  flow_iterate (&f);
  g_assert_false (gipc_channel_is_congested (f.writer));
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 0);
  g_assert_cmpuint (f.notifies, ==, 2);
  g_assert_true (gipc_channel_close (f.writer, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f.notifies, ==, 2);
  flow_clear (&f);
}

typedef struct
{
  guint order[8];
  guint n;
  GError *errors[8];
} FlushLog;

typedef struct
{
  FlushLog *log;
  guint index;
} FlushCall;

static void
flush_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  FlushCall *call = user_data;
  FlushLog *log = call->log;
  GError *error = NULL;

  if (!gipc_channel_flush_finish (GIPC_CHANNEL (source), result, &error))
    g_assert_nonnull (error);
  log->errors[call->index] = error;
  log->order[log->n++] = call->index;
}

static void
test_flush_async_completes (void)
{
  Flow f;
  FlushLog log = { { 0 }, 0, { NULL } };
  FlushCall calls[3] = { { &log, 0 }, { &log, 1 }, { &log, 2 } };

  flow_init (&f, 1000 * FRAME);

  /* Nothing queued: done (from the context, not inside the call). */
  gipc_channel_flush_async (f.writer, NULL, flush_cb, &calls[0]);
  g_assert_cmpuint (log.n, ==, 0);
  flow_iterate (&f);
  g_assert_cmpuint (log.n, ==, 1);
  g_assert_null (log.errors[0]);

  /* 12 frames (1 in the pipe, 11 queued), a flush; 8 more, a flush. */
  log.n = 0;
  flow_send (&f, 12);
  gipc_channel_flush_async (f.writer, NULL, flush_cb, &calls[1]);
  flow_send (&f, 8);
  gipc_channel_flush_async (f.writer, NULL, flush_cb, &calls[2]);
  flow_iterate (&f);
  g_assert_cmpuint (log.n, ==, 0);

  /* Once the 12th frame is in the pipe, the first flush completes, and
   * only that one. */
  flow_drain (&f, 10);
  g_assert_cmpuint (log.n, ==, 0);
  flow_drain (&f, 1);
  g_assert_cmpuint (log.n, ==, 1);
  g_assert_cmpuint (log.order[0], ==, 1);
  g_assert_null (log.errors[1]);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 8 * FRAME);

  flow_drain (&f, 7);
  g_assert_cmpuint (log.n, ==, 1);
  flow_drain (&f, 1);
  g_assert_cmpuint (log.n, ==, 2);
  g_assert_cmpuint (log.order[1], ==, 2);
  g_assert_null (log.errors[2]);
  flow_read (&f, FRAME);

  flow_clear (&f);
}

static void
run_until_flushed (Flow     *f,
                   FlushLog *log,
                   guint     n)
{
  while (log->n < n)
    g_main_context_iteration (f->context, TRUE);
}

static void
test_flush_async_peer_closed (void)
{
  Flow f;
  FlushLog log = { { 0 }, 0, { NULL } };
  FlushCall calls[3] = { { &log, 0 }, { &log, 1 }, { &log, 2 } };
  int raw;

  flow_init (&f, 1000 * FRAME);
  flow_send (&f, 1);
  /* Written whole before the reader goes: this flush succeeds. */
  gipc_channel_flush_async (f.writer, NULL, flush_cb, &calls[0]);
  run_until_flushed (&f, &log, 1);
  g_assert_null (log.errors[0]);

  flow_send (&f, 10);
  gipc_channel_flush_async (f.writer, NULL, flush_cb, &calls[1]);
  gipc_channel_flush_async (f.writer, NULL, flush_cb, &calls[2]);
  flow_iterate (&f);
  g_assert_cmpuint (log.n, ==, 1);
  raw = f.raw_read;
  f.raw_read = -1;
  close (raw);
  run_until_flushed (&f, &log, 3);
  g_assert_cmpuint (log.order[1], ==, 1);
  g_assert_cmpuint (log.order[2], ==, 2);
  g_assert_error (log.errors[1], GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  g_assert_error (log.errors[2], GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);

  /* Later flushes fail the same way at once. */
  {
    FlushCall again = { &log, 3 };

    gipc_channel_flush_async (f.writer, NULL, flush_cb, &again);
    run_until_flushed (&f, &log, 4);
    g_assert_error (log.errors[3], GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  }

  for (guint i = 0; i < 4; i++)
    g_clear_error (&log.errors[i]);
  flow_clear (&f);
}

static void
test_flush_async_cancelled (void)
{
  Flow f;
  FlushLog log = { { 0 }, 0, { NULL } };
  FlushCall calls[2] = { { &log, 0 }, { &log, 1 } };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  flow_init (&f, 1000 * FRAME);
  flow_send (&f, 8);
  gipc_channel_flush_async (f.writer, cancellable, flush_cb, &calls[0]);
  gipc_channel_flush_async (f.writer, NULL, flush_cb, &calls[1]);
  flow_iterate (&f);
  g_cancellable_cancel (cancellable);
  run_until_flushed (&f, &log, 1);
  g_assert_cmpuint (log.order[0], ==, 0);
  g_assert_error (log.errors[0], G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The messages are still written, and the other flush sees them. */
  flow_drain (&f, 7);
  run_until_flushed (&f, &log, 2);
  flow_read (&f, FRAME);
  g_assert_null (log.errors[1]);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 0);

  /* Cancelled before the call: fails at once, from the context. */
  {
    FlushCall late = { &log, 2 };

    flow_send (&f, 1);
    gipc_channel_flush_async (f.writer, cancellable, flush_cb, &late);
    run_until_flushed (&f, &log, 3);
    g_assert_error (log.errors[2], G_IO_ERROR, G_IO_ERROR_CANCELLED);
    flow_read (&f, FRAME);
  }

  for (guint i = 0; i < 3; i++)
    g_clear_error (&log.errors[i]);
  flow_clear (&f);
}

static void
test_flush_misuse (void)
{
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GError) error = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w);
  g_assert_false (gipc_channel_flush (r, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_true (gipc_channel_flush (w, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_channel_close (w, &error));
  g_assert_false (gipc_channel_flush (w, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_CLOSED);
}

/* The blocking flush writes everything, iterating no context. */
static gpointer
slow_reader_thread (gpointer data)
{
  int fd = GPOINTER_TO_INT (data);
  guint8 buffer[PIPE_SIZE];
  gsize total = 0;
  ssize_t n;

  while ((n = read (fd, buffer, sizeof buffer)) > 0)
    {
      total += (gsize) n;
      g_usleep (500);
    }
  return GSIZE_TO_POINTER (total);
}

static void
test_flush_blocking (void)
{
  Flow f;
  g_autoptr(GError) error = NULL;
  GThread *thread;
  gsize total;
  int raw;

  flow_init (&f, 4 * FRAME);
  flow_send (&f, 64);
  g_assert_true (gipc_channel_is_congested (f.writer));
  raw = f.raw_read;
  f.raw_read = -1;
  thread = g_thread_new ("reader", slow_reader_thread, GINT_TO_POINTER (raw));

  g_assert_true (gipc_channel_flush (f.writer, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (f.writer), ==, 0);
  g_assert_false (gipc_channel_is_congested (f.writer));
  /* No context iteration happened: both notifies are still due, and both
   * come, though the state is back where it was: a producer waiting for
   * the change to FALSE must hear it. */
  g_assert_cmpuint (f.notifies, ==, 0);
  flow_iterate (&f);
  g_assert_cmpuint (f.notifies, ==, 2);
  g_assert_false (f.last_notified);

  g_clear_object (&f.writer);
  total = GPOINTER_TO_SIZE (g_thread_join (thread));
  g_assert_cmpuint (total, ==, 64 * FRAME);
  close (raw);
  flow_clear (&f);
}

/* A producer against a slow child: memory stays bounded by about the
 * high-water mark, whatever it sends. */
#define PRODUCER_MESSAGE  (64 * KiB)
#define PRODUCER_TOTAL    (96 * MiB)

static int
slow_consumer_target (GipcProcess *process,
                      gpointer     user_data)
{
  GipcChannel *channel = user_data;
  gsize total = 0;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) message = gipc_channel_receive (channel, NULL, &error);

      if (message == NULL)
        return total == PRODUCER_TOTAL ? 0 : 1;
      total += g_bytes_get_size (message);
      if (total % (4 * MiB) == 0)
        g_usleep (2000);
    }
}

typedef struct
{
  gboolean congested;
} Producer;

static void
producer_notify_cb (GObject    *object,
                    GParamSpec *pspec,
                    gpointer    user_data)
{
  ((Producer *) user_data)->congested = gipc_channel_is_congested (GIPC_CHANNEL (object));
}

static void
test_producer_memory_bounded (void)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = gipc_test_pattern_bytes (PRODUCER_MESSAGE, 9);
  Producer producer = { FALSE };
  gsize sent = 0, base, peak;
  guint64 peak_queued = 0;

  g_main_context_push_thread_default (context);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w);
  process = gipc_process_new (slow_consumer_target, r, NULL);
  gipc_process_pass_channel (process, r);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  g_signal_connect (w, "notify::congested", G_CALLBACK (producer_notify_cb), &producer);

  base = peak = gipc_test_status_kib ("VmRSS:");
  while (sent < PRODUCER_TOTAL)
    {
      /* The pattern: send while not congested, then wait for the notify. */
      while (sent < PRODUCER_TOTAL && !gipc_channel_is_congested (w))
        {
          /* A new buffer per message, as a real producer has: queued
           * messages hold their memory. */
          g_autoptr(GBytes) copy = g_bytes_new (g_bytes_get_data (message, NULL),
                                                PRODUCER_MESSAGE);

          gipc_channel_send_async (w, copy, NULL, NULL, NULL);
          sent += PRODUCER_MESSAGE;
          peak_queued = MAX (peak_queued, gipc_channel_get_queued_bytes (w));
        }
      producer.congested = TRUE;
      while (producer.congested && gipc_channel_is_congested (w))
        g_main_context_iteration (context, TRUE);
      peak = MAX (peak, gipc_test_status_kib ("VmRSS:"));
    }
  g_assert_true (gipc_channel_flush (w, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&w);
  g_assert_true (gipc_process_join (process, -1, &error));
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);

  g_test_message ("RSS %" G_GSIZE_FORMAT " KiB at start, peak %" G_GSIZE_FORMAT
                  " KiB; at most %" G_GUINT64_FORMAT " bytes queued; for %u MiB sent",
                  base, peak, peak_queued, PRODUCER_TOTAL / MiB);
  /* The queue never holds more than the mark plus the message that
   * crossed it. */
  g_assert_cmpuint (peak_queued, <=, GIPC_CHANNEL_DEFAULT_HIGH_WATER_MARK + 4 + PRODUCER_MESSAGE);
  /* Unbounded, RSS grows by the whole 96 MiB; bounded, by the 1 MiB mark
   * plus a message, with a generous margin for the allocator (ASan and
   * valgrind keep freed memory in quarantine, valgrind 20 MB of it, and
   * count their own shadow memory: there only the queue is checked). */
  if (!GIPC_TEST_ASAN && !gipc_test_running_on_valgrind ())
    g_assert_cmpuint (peak - base, <, 16 * 1024);

  gipc_test_drain_context (context);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* Fork mode: a child's messages queued at exit are written before it
 * exits (nothing is lost), so it waits for its reader, as a
 * multiprocessing child that put items on a queue does. A parent that
 * joins without reading sees its timeout, never a lost message. */
#define EXIT_FLUSH_MESSAGES 64

static int
send_then_exit_target (GipcProcess *process,
                       gpointer     user_data)
{
  GipcChannel *channel = user_data;

  for (guint i = 0; i < EXIT_FLUSH_MESSAGES; i++)
    {
      g_autoptr(GBytes) m = gipc_test_pattern_bytes (64 * KiB, i);

      gipc_channel_send_async (channel, m, NULL, NULL, NULL);
    }
  return 0;   /* 4 MiB still queued: written at exit */
}

static void
test_exit_flush_waits_for_reader (void)
{
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GError) error = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w);
  process = gipc_process_new (send_then_exit_target, w, NULL);
  gipc_process_pass_channel (process, w);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);

  /* Not read yet: the child is still writing. */
  g_assert_false (gipc_process_join (process, 300, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  g_assert_true (gipc_process_is_alive (process));

  for (guint i = 0; i < EXIT_FLUSH_MESSAGES; i++)
    {
      g_autoptr(GBytes) m = gipc_channel_receive (r, NULL, &error);

      g_assert_no_error (error);
      gipc_test_assert_pattern (m, 64 * KiB, i);
    }
  g_assert_true (gipc_process_join (process, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  gipc_test_add_func ("/channel/flow/congested-transitions", test_congested_transitions);
  gipc_test_add_func ("/channel/flow/high-water-mark-setter", test_high_water_mark_setter);
  gipc_test_add_func ("/channel/flow/reader-gone-ends-congestion", test_close_ends_congestion);
  gipc_test_add_func ("/channel/flow/flush-async", test_flush_async_completes);
  gipc_test_add_func ("/channel/flow/flush-async-peer-closed", test_flush_async_peer_closed);
  gipc_test_add_func ("/channel/flow/flush-async-cancelled", test_flush_async_cancelled);
  gipc_test_add_func ("/channel/flow/flush-misuse", test_flush_misuse);
  gipc_test_add_func ("/channel/flow/flush-blocking", test_flush_blocking);
  gipc_test_add_func ("/channel/flow/producer-memory-bounded", test_producer_memory_bounded);
  gipc_test_add_func ("/channel/flow/exit-flush-waits-for-reader", test_exit_flush_waits_for_reader);

  return g_test_run ();
}
