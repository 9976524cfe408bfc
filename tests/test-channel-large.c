/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Flow control for large messages and fds (DESIGN.md "Flow control" and
 * "File descriptors and shared memory"): a message queued as shared memory
 * counts its full size in queued-bytes until the peer takes it, the fds in
 * flight are bounded, a producer that respects "congested" stays within
 * the mark in memory and in fds under a low RLIMIT_NOFILE, a queued message
 * that cannot be sent fails the channel (never silently dropped), and
 * notify::congested handlers may re-enter.
 *
 * The cases that change RLIMIT_NOFILE run in a subprocess of the test
 * (g_test_trap_subprocess), so the limit never reaches the other cases.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <gipc-glib/gipc-glib.h>

#include "test-util.h"

#define LARGE (2 * MiB)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* The lowest fd number that is free now. */
static int
lowest_free_fd (void)
{
  int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  return fd;
}

static void
set_nofile (rlim_t soft)
{
  struct rlimit limit;

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &limit));
  limit.rlim_cur = soft;
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &limit));
}

static void
iterate (GMainContext *context,
         guint         n)
{
  for (guint i = 0; i < n; i++)
    g_main_context_iteration (context, FALSE);
}

static GUnixFDList *
one_fd_list (void)
{
  g_autoptr(GError) error = NULL;
  GUnixFDList *list = g_unix_fd_list_new ();
  int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (g_unix_fd_list_append (list, fd, &error), >=, 0);
  g_assert_no_error (error);
  close (fd);
  return list;
}

/* A simplex socket channel pair made by hand, so the test can look into
 * the reader's socket (*read_fd stays the reader's). */
static void
make_socket_pair (GipcChannel **reader,
                  GipcChannel **writer,
                  int          *read_fd)
{
  g_autoptr(GError) error = NULL;
  int sv[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
  *read_fd = sv[0];
  *reader = gipc_channel_new_from_fds (sv[0], -1, &error);
  g_assert_no_error (error);
  *writer = gipc_channel_new_from_fds (-1, sv[1], &error);
  g_assert_no_error (error);
  g_assert_true (gipc_channel_get_can_pass_fds (*writer));
}

/* The receiver gets exactly @seeds (pattern messages of @sizes), then the
 * end of the stream, never a later message in place of a lost one. */
static void
assert_receives_then_end (GipcChannel  *reader,
                          const gsize  *sizes,
                          const guint  *seeds,
                          guint         n)
{
  g_autoptr(GError) error = NULL;
  GBytes *message;

  for (guint i = 0; i < n; i++)
    {
      message = gipc_channel_receive (reader, NULL, &error);
      g_assert_no_error (error);
      gipc_test_assert_pattern (message, sizes[i], seeds[i]);
      g_bytes_unref (message);
    }

  message = gipc_channel_receive (reader, NULL, &error);
  if (message != NULL)
    g_error ("A message of %" G_GSIZE_FORMAT " bytes arrived after a lost one",
             g_bytes_get_size (message));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
}

/* ------------------------------------------------------------------ */
/* No silent loss                                                      */

static void
flush_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  GError **error = user_data;

  g_assert_false (gipc_channel_flush_finish (GIPC_CHANNEL (source), result, error));
  g_assert_nonnull (*error);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError  *error;
} SendResult;

static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  SendResult *r = user_data;

  r->ok = gipc_channel_send_finish (GIPC_CHANNEL (source), result, &r->error);
  r->done = TRUE;
}

/* A message whose memfd cannot be made (no fd is free: RLIMIT_NOFILE is
 * lowered to the lowest free fd) fails the channel: the message before it
 * arrives, flush and the pending callbacks get the error, and neither the
 * fire-and-forget message behind it nor any later one arrives. */
static void
test_memfd_failure_fails_channel (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  {
    GMainContext *context = g_main_context_new ();
    g_autoptr(GipcChannel) r = NULL;
    g_autoptr(GipcChannel) w = NULL;
    g_autoptr(GBytes) a = gipc_test_pattern_bytes (100, 1);
    g_autoptr(GBytes) b = gipc_test_pattern_bytes (LARGE, 2);
    g_autoptr(GBytes) c = gipc_test_pattern_bytes (100, 3);
    g_autoptr(GBytes) d = gipc_test_pattern_bytes (100, 4);
    g_autoptr(GBytes) e = gipc_test_pattern_bytes (100, 5);
    g_autoptr(GError) flush_error = NULL;
    g_autoptr(GError) error = NULL;
    SendResult ra = { 0 }, rd = { 0 };
    struct rlimit saved;
    const gsize sizes[] = { 100 };
    const guint seeds[] = { 1 };

    g_main_context_push_thread_default (context);
    gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &r, &w);
    g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &saved));

    gipc_channel_send_async (w, a, NULL, send_cb, &ra);
    set_nofile (lowest_free_fd ());
    gipc_channel_send_async (w, b, NULL, NULL, NULL);        /* memfd fails */
    gipc_channel_send_async (w, c, NULL, NULL, NULL);        /* must not arrive */
    gipc_channel_send_async (w, d, NULL, send_cb, &rd);
    gipc_channel_flush_async (w, NULL, flush_cb, &flush_error);

    while (flush_error == NULL || !ra.done || !rd.done)
      g_main_context_iteration (context, TRUE);
    g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &saved));

    g_printerr ("# flush: %s\n", flush_error->message);
    g_assert_error (flush_error, GIPC_ERROR, GIPC_ERROR_FAILED);
    g_assert_nonnull (strstr (flush_error->message, "memfd"));
    g_assert_true (ra.ok);
    g_assert_false (rd.ok);
    g_assert_error (rd.error, GIPC_ERROR, GIPC_ERROR_FAILED);
    g_clear_error (&rd.error);

    /* Failed for good: later sends and flushes fail the same way. */
    gipc_channel_send_async (w, e, NULL, NULL, NULL);
    g_assert_false (gipc_channel_flush (w, NULL, &error));
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
    g_clear_error (&error);
    g_assert_false (gipc_channel_send (w, e, NULL, &error));
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
    g_clear_error (&error);

    g_assert_true (gipc_channel_close (w, &error));
    g_assert_no_error (error);
    assert_receives_then_end (r, sizes, seeds, G_N_ELEMENTS (sizes));

    gipc_test_drain_context (context);
    g_main_context_pop_thread_default (context);
    g_main_context_unref (context);
  }
}

/* The same through the blocking send: the message's error, and nothing
 * behind it. */
static void
test_memfd_failure_blocking (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  {
    g_autoptr(GipcChannel) r = NULL;
    g_autoptr(GipcChannel) w = NULL;
    g_autoptr(GBytes) a = gipc_test_pattern_bytes (100, 1);
    g_autoptr(GBytes) b = gipc_test_pattern_bytes (LARGE, 2);
    g_autoptr(GError) error = NULL;
    struct rlimit saved;
    const gsize sizes[] = { 100 };
    const guint seeds[] = { 1 };

    gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &r, &w);
    g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &saved));
    g_assert_true (gipc_channel_send (w, a, NULL, &error));
    set_nofile (lowest_free_fd ());
    g_assert_false (gipc_channel_send (w, b, NULL, &error));
    g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &saved));
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
    g_clear_error (&error);
    g_assert_false (gipc_channel_send (w, a, NULL, &error));
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
    g_clear_error (&error);

    g_assert_true (gipc_channel_close (w, &error));
    assert_receives_then_end (r, sizes, seeds, G_N_ELEMENTS (sizes));
  }
}

/* A fire-and-forget send refused before it is queued (more fds than a
 * message may carry) fails the channel too, since nobody else hears of
 * it: where it would have been written. The messages accepted before it,
 * more than the socket holds, all arrive whole; the one after it does
 * not. */
typedef struct
{
  GipcChannel *reader;
  GPtrArray   *messages;
  GError      *error;
} Collector;

static gpointer collect_thread (gpointer data);

static void
test_fire_and_forget_refused_fails_channel (void)
{
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GBytes) c = gipc_test_pattern_bytes (10, 99);
  g_autoptr(GUnixFDList) too_many = g_unix_fd_list_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GThread) thread = NULL;
  Collector collector = { NULL, g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), NULL };
  const guint n = 20;
  int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  for (guint i = 0; i < GIPC_CHANNEL_MAX_FDS_PER_MESSAGE + 1; i++)
    g_assert_cmpint (g_unix_fd_list_append (too_many, fd, NULL), >=, 0);
  close (fd);

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &r, &w);
  gipc_channel_set_shared_memory_threshold (w, 0);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) m = gipc_test_pattern_bytes (100 * KiB, i);

      gipc_channel_send_async (w, m, NULL, NULL, NULL);
    }
  gipc_channel_send_with_fds_async (w, c, too_many, NULL, NULL, NULL);
  gipc_channel_send_async (w, c, NULL, NULL, NULL);

  collector.reader = r;
  thread = g_thread_new ("collector", collect_thread, &collector);
  g_assert_false (gipc_channel_flush (w, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_true (gipc_channel_close (w, &error));
  g_assert_no_error (error);
  g_thread_join (g_steal_pointer (&thread));
  g_assert_error (collector.error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  g_clear_error (&collector.error);
  g_assert_cmpuint (collector.messages->len, ==, n);
  for (guint i = 0; i < n; i++)
    gipc_test_assert_pattern (collector.messages->pdata[i], 100 * KiB, i);
  g_ptr_array_unref (collector.messages);
}

/* ------------------------------------------------------------------ */
/* What counts in queued-bytes                                         */

static void
test_queued_bytes_counts_shared_memory (void)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GBytes) m = gipc_test_pattern_bytes (LARGE, 7);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (context);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &r, &w);
  g_assert_cmpuint (gipc_channel_get_high_water_mark (w), ==, MiB);

  /* Right after the send: its full size, and congested at once. */
  gipc_channel_send_async (w, m, NULL, NULL, NULL);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (w), >=, LARGE);
  g_assert_true (gipc_channel_is_congested (w));

  /* Written: the socket holds its memfd until the peer reads it. */
  iterate (context, 10);
  g_assert_true (gipc_channel_flush (w, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (w), >=, LARGE);
  g_assert_true (gipc_channel_is_congested (w));

  /* Taken: nothing counts any more, and the congestion ends. */
  got = gipc_channel_receive (r, NULL, &error);
  g_assert_no_error (error);
  gipc_test_assert_pattern (got, LARGE, 7);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (w), ==, 0);
  g_assert_false (gipc_channel_is_congested (w));

  g_clear_object (&w);
  gipc_test_drain_context (context);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* Without a getter call the dispatch sees the peer take the message and
 * notifies the end of the congestion (no fd event tells: it polls). */
static void
congested_flag_cb (GObject    *object,
                   GParamSpec *pspec,
                   gpointer    user_data)
{
  *(gboolean *) user_data = gipc_channel_is_congested (GIPC_CHANNEL (object));
}

static void
test_congestion_ends_when_taken (void)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GBytes) m = gipc_test_pattern_bytes (LARGE, 8);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;
  gboolean congested = FALSE;
  gboolean calm;

  g_main_context_push_thread_default (context);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &r, &w);
  g_signal_connect (w, "notify::congested", G_CALLBACK (congested_flag_cb), &congested);

  gipc_channel_send_async (w, m, NULL, NULL, NULL);
  while (!congested)
    g_main_context_iteration (context, TRUE);
  g_assert_true (gipc_channel_flush (w, NULL, &error));

  got = gipc_channel_receive (r, NULL, &error);
  g_assert_no_error (error);
  while (congested)
    g_main_context_iteration (context, TRUE);
  calm = !gipc_channel_is_congested (w);
  g_assert_true (calm);

  g_clear_object (&w);
  gipc_test_drain_context (context);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* The same after a blocking send: the message is written when send
 * returns, but the peer has not taken it, so the channel is congested,
 * and the end of the congestion is notified from the channel's source
 * (before: a blocking send made no source, and the notify never came). */
static gpointer
take_one_thread (gpointer data)
{
  GipcChannel *reader = data;
  GBytes *message;

  g_usleep (20 * 1000);
  message = gipc_channel_receive (reader, NULL, NULL);
  g_assert_nonnull (message);
  return message;
}

static void
test_congestion_ends_after_blocking_send (void)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GBytes) m = gipc_test_pattern_bytes (LARGE, 9);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GThread) thread = NULL;
  gboolean congested = TRUE;

  g_main_context_push_thread_default (context);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &r, &w);
  g_signal_connect (w, "notify::congested", G_CALLBACK (congested_flag_cb), &congested);

  g_assert_true (gipc_channel_send (w, m, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gipc_channel_get_queued_bytes (w), >=, LARGE);
  g_assert_true (gipc_channel_is_congested (w));

  thread = g_thread_new ("reader", take_one_thread, r);
  while (congested)
    g_main_context_iteration (context, TRUE);
  got = g_thread_join (g_steal_pointer (&thread));
  gipc_test_assert_pattern (got, LARGE, 9);
  g_assert_false (gipc_channel_is_congested (w));
  g_assert_cmpuint (gipc_channel_get_queued_bytes (w), ==, 0);

  g_clear_object (&w);
  gipc_test_drain_context (context);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

/* ------------------------------------------------------------------ */
/* The fd budget                                                       */

typedef struct
{
  GipcChannel *reader;
  guint        n;
  gint         received;     /* atomic */
  gulong       delay_us;
  gboolean     check_large;
  GError      *error;
} SlowReader;

static gpointer
slow_reader_thread (gpointer data)
{
  SlowReader *s = data;
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < s->n; i++)
    {
      g_autoptr(GUnixFDList) fds = NULL;
      GBytes *message;

      g_usleep (s->delay_us);
      message = gipc_channel_receive_with_fds (s->reader, &fds, NULL, &s->error);
      if (message == NULL)
        break;
      if (s->check_large)
        {
          const guint8 *p = g_bytes_get_data (message, NULL);

          /* The pattern's first and last bytes say which message it is. */
          g_assert_cmpuint (g_bytes_get_size (message), ==, LARGE);
          g_assert_cmpuint (p[0], ==, (guint8) ((i * 101) & 0xff));
        }
      g_bytes_unref (message);
      g_atomic_int_inc (&s->received);
    }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

/* Small messages with one fd each to a reader that does not read: the
 * socket holds at most the budget of them (RLIMIT_NOFILE 256: 16), the
 * writer holds the rest and is congested; then every one arrives, in
 * order, each with its fd. */
static void
test_fd_budget (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  {
    GMainContext *context = g_main_context_new ();
    g_autoptr(GipcChannel) r = NULL;
    g_autoptr(GipcChannel) w = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GThread) thread = NULL;
    const guint n = 100;
    const gsize frame = 8 + 10;   /* the fd format's header + payload */
    SlowReader s = { 0 };
    gsize in_socket;
    int read_fd;

    set_nofile (256);
    g_main_context_push_thread_default (context);
    make_socket_pair (&r, &w, &read_fd);

    for (guint i = 0; i < n; i++)
      {
        g_autoptr(GBytes) m = gipc_test_pattern_bytes (10, i);
        g_autoptr(GUnixFDList) fds = one_fd_list ();

        gipc_channel_send_with_fds_async (w, m, fds, NULL, NULL, NULL);
      }
    g_assert_true (gipc_channel_is_congested (w));
    iterate (context, 20);

    in_socket = gipc_test_bytes_available (read_fd);
    g_printerr ("# %" G_GSIZE_FORMAT " of %u frames in the socket\n", in_socket / frame, n);
    g_assert_cmpuint (in_socket / frame, <=, 16);
    g_assert_cmpuint (in_socket / frame, >=, 1);
    g_assert_true (gipc_channel_is_congested (w));

    s.reader = r;
    s.n = n;
    thread = g_thread_new ("reader", slow_reader_thread, &s);
    g_assert_true (gipc_channel_flush (w, NULL, &error));
    g_assert_no_error (error);
    g_thread_join (g_steal_pointer (&thread));
    g_assert_no_error (s.error);
    g_assert_cmpint (g_atomic_int_get (&s.received), ==, n);

    g_clear_object (&w);
    gipc_test_drain_context (context);
    g_main_context_pop_thread_default (context);
    g_main_context_unref (context);
  }
}

/* ------------------------------------------------------------------ */
/* A producer of large messages against a slow reader                  */

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

/* The producer respects "congested"; the reader (a thread) takes a 2 MiB
 * message every few milliseconds. Messages sent and not yet received each
 * hold 2 MiB (queued, or in the socket as a memfd): at most the mark plus
 * one message, plus the one the reader holds. The fds of the process stay
 * bounded, and no send fails (ETOOMANYREFS, EMFILE). */
static void
run_large_producer (GipcPipeFlags flags,
                    rlim_t        nofile)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GThread) thread = NULL;
  const guint n = 48;
  SlowReader s = { 0 };
  Producer producer = { FALSE };
  guint base_fds, max_fds = 0;
  gint max_outstanding = 0;
  guint64 max_queued = 0;

  if (nofile > 0)
    set_nofile (nofile);
  g_main_context_push_thread_default (context);
  gipc_test_make_pipe (flags, &r, &w);
  g_signal_connect (w, "notify::congested", G_CALLBACK (producer_notify_cb), &producer);

  base_fds = gipc_test_count_fds ();
  s.reader = r;
  s.n = n;
  s.delay_us = 3000;
  s.check_large = TRUE;
  thread = g_thread_new ("reader", slow_reader_thread, &s);

  for (guint i = 0; i < n; i++)
    {
      /* A new buffer per message, as a real producer has. */
      g_autoptr(GBytes) m = gipc_test_pattern_bytes (LARGE, i);

      while (gipc_channel_is_congested (w))
        {
          producer.congested = TRUE;
          while (producer.congested && gipc_channel_is_congested (w))
            g_main_context_iteration (context, TRUE);
        }
      gipc_channel_send_async (w, m, NULL, NULL, NULL);
      max_queued = MAX (max_queued, gipc_channel_get_queued_bytes (w));
      max_outstanding = MAX (max_outstanding, (gint) (i + 1) - g_atomic_int_get (&s.received));
      max_fds = MAX (max_fds, gipc_test_count_fds ());
    }
  g_assert_true (gipc_channel_flush (w, NULL, &error));
  g_assert_no_error (error);
  g_thread_join (g_steal_pointer (&thread));
  g_assert_no_error (s.error);
  g_assert_cmpint (g_atomic_int_get (&s.received), ==, n);

  g_printerr ("# RLIMIT_NOFILE %d, %s: at most %d messages sent and not received, "
                  "%" G_GUINT64_FORMAT " bytes queued, %u fds (%u at start)\n",
                  (int) nofile, flags & GIPC_PIPE_FLAGS_UNIX_FDS ? "socket" : "pipe",
                  max_outstanding, max_queued, max_fds, base_fds);
  /* Queued or in flight: the mark plus the message that crossed it. The
   * reader holds one more, and one may be between its read and its count. */
  g_assert_cmpint (max_outstanding, <=, 4);
  g_assert_cmpuint (max_queued, <=, MiB + LARGE + 64);
  g_assert_cmpuint (max_fds, <=, base_fds + 8);

  g_clear_object (&w);
  gipc_test_drain_context (context);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
}

static void
test_large_producer_socket_256 (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  run_large_producer (GIPC_PIPE_FLAGS_UNIX_FDS, 256);
}

static void
test_large_producer_socket_1024 (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  run_large_producer (GIPC_PIPE_FLAGS_UNIX_FDS, 1024);
}

static void
test_large_producer_pipe (void)
{
  run_large_producer (GIPC_PIPE_FLAGS_NONE, 0);
}

/* ------------------------------------------------------------------ */
/* Re-entrant notify::congested handlers                               */

typedef enum
{
  REENTER_ITERATE,
  REENTER_NESTED,
  REENTER_CLOSE,
  REENTER_UNREF,
  REENTER_SEND,
} Reenter;

typedef struct
{
  GMainContext *context;
  GipcChannel  *writer;      /* the test's reference, or NULL once dropped */
  Reenter       action;
  guint         notifies;
  guint         sent;        /* messages sent, by the test and the handler */
  gboolean      in_handler;
} Reentry;

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
reentrant_notify_cb (GObject    *object,
                     GParamSpec *pspec,
                     gpointer    user_data)
{
  Reentry *t = user_data;
  GipcChannel *channel = GIPC_CHANNEL (object);
  g_autoptr(GError) error = NULL;

  g_assert_false (t->in_handler && t->action != REENTER_ITERATE && t->action != REENTER_NESTED);
  t->notifies++;
  t->in_handler = TRUE;

  switch (t->action)
    {
    case REENTER_ITERATE:
      iterate (t->context, 3);
      break;

    case REENTER_NESTED:
      {
        g_autoptr(GMainLoop) loop = g_main_loop_new (t->context, FALSE);
        GSource *source = g_timeout_source_new (5);

        g_source_set_callback (source, quit_cb, loop, NULL);
        g_source_attach (source, t->context);
        g_source_unref (source);
        g_main_loop_run (loop);
      }
      break;

    case REENTER_CLOSE:
      /* Output is queued: LOCKED, and nothing changes. */
      if (!gipc_channel_close (channel, &error))
        g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
      break;

    case REENTER_UNREF:
      if (t->writer != NULL)
        g_clear_object (&t->writer);
      break;

    case REENTER_SEND:
      if (t->notifies <= 4 && gipc_channel_is_congested (channel))
        {
          g_autoptr(GBytes) m = gipc_test_pattern_bytes (LARGE, t->sent);

          gipc_channel_send_async (channel, m, NULL, NULL, NULL);
          t->sent++;
        }
      break;

    default:
      g_assert_not_reached ();
    }

  t->in_handler = FALSE;
}

/* Reads until the end of the stream. */
static gpointer
collect_thread (gpointer data)
{
  Collector *c = data;
  GMainContext *context = g_main_context_new ();
  GBytes *message;

  g_main_context_push_thread_default (context);
  while ((message = gipc_channel_receive (c->reader, NULL, &c->error)) != NULL)
    g_ptr_array_add (c->messages, message);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static void
run_reentrant (gconstpointer data)
{
  Reenter action = GPOINTER_TO_INT (data);
  GMainContext *context = g_main_context_new ();
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GError) error = NULL;
  Reentry t = { 0 };
  Collector collector = { NULL, g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), NULL };
  g_autoptr(GThread) thread = NULL;
  GWeakRef weak;

  gipc_test_arm_alarm ();
  g_main_context_push_thread_default (context);
  t.context = context;
  t.action = action;
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &r, &t.writer);
  g_weak_ref_init (&weak, t.writer);
  g_signal_connect (t.writer, "notify::congested", G_CALLBACK (reentrant_notify_cb), &t);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) m = gipc_test_pattern_bytes (LARGE, t.sent);

      gipc_channel_send_async (t.writer, m, NULL, NULL, NULL);
      t.sent++;
    }
  iterate (context, 5);

  /* Congestion ends (notified) once the reader takes the messages, and the
   * channel is not wedged, whatever the handlers did. */
  collector.reader = r;
  thread = g_thread_new ("collector", collect_thread, &collector);
  if (t.writer != NULL && !gipc_channel_is_closed (t.writer))
    {
      while (gipc_channel_is_congested (t.writer))
        g_main_context_iteration (context, TRUE);
      g_assert_true (gipc_channel_flush (t.writer, NULL, &error));
      g_assert_no_error (error);
    }
  g_clear_object (&t.writer);
  g_assert_cmpuint (t.notifies, >=, 1);

  /* The channel goes once its output is written. */
  while (TRUE)
    {
      GipcChannel *still = g_weak_ref_get (&weak);

      if (still == NULL)
        break;
      g_object_unref (still);
      g_main_context_iteration (context, TRUE);
    }
  g_weak_ref_clear (&weak);

  /* The reader took everything, in order, then the end of the stream. */
  g_thread_join (g_steal_pointer (&thread));
  g_assert_error (collector.error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  g_clear_error (&collector.error);
  g_assert_cmpuint (collector.messages->len, ==, t.sent);
  for (guint i = 0; i < t.sent; i++)
    gipc_test_assert_pattern (collector.messages->pdata[i], LARGE, i);
  g_ptr_array_unref (collector.messages);

  gipc_test_drain_context (context);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  alarm (0);
}

int
main (int   argc,
      char *argv[])
{
  static const char *reenter_names[] = { "iterate", "nested-loop", "close", "unref", "send" };

  g_test_init (&argc, &argv, NULL);

  gipc_test_add_func ("/channel/large/memfd-failure-fails-channel", test_memfd_failure_fails_channel);
  gipc_test_add_func ("/channel/large/memfd-failure-blocking", test_memfd_failure_blocking);
  gipc_test_add_func ("/channel/large/fire-and-forget-refused-fails-channel",
                      test_fire_and_forget_refused_fails_channel);
  gipc_test_add_func ("/channel/large/queued-bytes-counts-shared-memory",
                      test_queued_bytes_counts_shared_memory);
  gipc_test_add_func ("/channel/large/congestion-ends-when-taken", test_congestion_ends_when_taken);
  gipc_test_add_func ("/channel/large/congestion-ends-after-blocking-send",
                      test_congestion_ends_after_blocking_send);
  gipc_test_add_func ("/channel/large/fd-budget", test_fd_budget);
  gipc_test_add_func ("/channel/large/producer/socket-nofile-256", test_large_producer_socket_256);
  gipc_test_add_func ("/channel/large/producer/socket-nofile-1024", test_large_producer_socket_1024);
  gipc_test_add_func ("/channel/large/producer/pipe", test_large_producer_pipe);

  for (guint i = 0; i < G_N_ELEMENTS (reenter_names); i++)
    {
      g_autofree char *path = g_strdup_printf ("/channel/large/congested-reentrant/%s",
                                               reenter_names[i]);

      g_test_add_data_func (path, GINT_TO_POINTER (i), run_reentrant);
    }

  return g_test_run ();
}
