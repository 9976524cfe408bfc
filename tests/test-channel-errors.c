/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * GipcChannel: the failure paths. End of stream, timeouts, the maximum
 * message size, a writer whose reader is gone (SIGPIPE), close and use after
 * close, LOCKED, cancellation, push-mode errors and undecodable variants.
 */

#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gipc-glib/gipc-glib.h>

#include "test-util.h"

/* ---------------------------------------------------------------------- */
/* Helpers */

/* A channel that receives from a pipe whose write end the test keeps (a
 * blocking, close-on-exec fd), to write arbitrary bytes with write(2). */
static GipcChannel *
make_raw_fed_reader (int *raw_write_fd,
                     int *channel_read_fd)
{
  g_autoptr(GError) error = NULL;
  GipcChannel *reader;
  int fds[2];

  g_assert_no_errno (pipe2 (fds, 0));
  g_assert_no_errno (fcntl (fds[1], F_SETFD, FD_CLOEXEC));
  reader = gipc_channel_new_from_fds (fds[0], -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reader);
  *raw_write_fd = fds[1];
  if (channel_read_fd != NULL)
    *channel_read_fd = fds[0];
  return reader;
}

/* A channel that sends into a pipe whose read end the test keeps. */
static GipcChannel *
make_raw_drained_writer (int *raw_read_fd)
{
  g_autoptr(GError) error = NULL;
  GipcChannel *writer;
  int fds[2];

  g_assert_no_errno (pipe2 (fds, 0));
  g_assert_no_errno (fcntl (fds[0], F_SETFD, FD_CLOEXEC));
  writer = gipc_channel_new_from_fds (-1, fds[1], &error);
  g_assert_no_error (error);
  g_assert_nonnull (writer);
  *raw_read_fd = fds[0];
  return writer;
}

/* The whole frame (header + payload) of @payload, as a new GBytes. */
static GBytes *
frame_of (GBytes *payload)
{
  gsize size = g_bytes_get_size (payload);
  guint8 *data = g_malloc (4 + size);

  data[0] = size >> 24;
  data[1] = size >> 16;
  data[2] = size >> 8;
  data[3] = size;
  if (size > 0)
    memcpy (data + 4, g_bytes_get_data (payload, NULL), size);
  return g_bytes_new_take (data, 4 + size);
}

static GBytes *
receive_async_ok (GipcChannel *channel)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *message;

  gipc_channel_receive_async (channel, NULL, gipc_test_result_cb, &result);
  gipc_test_run_until_result (NULL, &result);
  message = gipc_channel_receive_finish (channel, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (message);
  return message;
}

/* ---------------------------------------------------------------------- */
/* End of stream */

/* Writes @wire to a fresh channel's pipe, closes the writer, and expects
 * the receive to fail with @code. */
static void
check_eof (const guint8 *wire,
           gsize         len,
           gboolean      async,
           gint          code)
{
  g_autoptr(GipcChannel) reader = NULL;
  int wfd;

  reader = make_raw_fed_reader (&wfd, NULL);
  if (len > 0)
    gipc_test_write_all (wfd, wire, len);
  close (wfd);
  gipc_test_receive_expect_error (reader, async, GIPC_ERROR, code);
}

/* Like check_eof(), after one whole message the reader receives intact:
 * the truncated frame behind it is PROTOCOL, never a partial message.
 * (From test-compat's gaps/eof-* cases.) */
static void
check_eof_after_whole (const guint8 *tail,
                       gsize         tail_len,
                       gboolean      async)
{
  static const guint8 whole[] = { 0, 0, 0, 5, 'w', 'h', 'o', 'l', 'e' };
  g_autoptr(GipcChannel) reader = NULL;
  int wfd;

  reader = make_raw_fed_reader (&wfd, NULL);
  gipc_test_write_all (wfd, whole, sizeof whole);
  if (tail_len > 0)
    gipc_test_write_all (wfd, tail, tail_len);
  close (wfd);
  gipc_test_receive_str (reader, "whole");
  gipc_test_receive_expect_error (reader, async, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  gipc_test_close_ok (reader);
}

/* A clean end of stream at a frame boundary is PEER_CLOSED (gipc's
 * EOFError). */
static void
test_eof_boundary (void)
{
  static const guint8 frame[] = { 0, 0, 0, 2, 'o', 'k' };
  g_autoptr(GipcChannel) reader = NULL;
  int wfd;

  check_eof (NULL, 0, FALSE, GIPC_ERROR_PEER_CLOSED);
  check_eof (NULL, 0, TRUE, GIPC_ERROR_PEER_CLOSED);

  /* After whole frames, also. */
  reader = make_raw_fed_reader (&wfd, NULL);
  gipc_test_write_all (wfd, frame, sizeof frame);
  gipc_test_write_all (wfd, frame, sizeof frame);
  close (wfd);
  gipc_test_receive_str (reader, "ok");
  {
    g_autoptr(GBytes) second = receive_async_ok (reader);

    gipc_test_assert_bytes_str (second, "ok");
  }
  gipc_test_receive_expect_error (reader, FALSE, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
}

/* A stream that ends inside a frame is PROTOCOL, never a partial message:
 * inside the header, right after the header (gipc's quirk gave EOFError),
 * and inside the body. */
static void
test_eof_mid_header (void)
{
  static const guint8 wire[] = { 0, 0, 0 };

  check_eof (wire, 2, FALSE, GIPC_ERROR_PROTOCOL);
  check_eof (wire, 1, TRUE, GIPC_ERROR_PROTOCOL);
  check_eof (wire, 2, TRUE, GIPC_ERROR_PROTOCOL);
  check_eof_after_whole (wire, 2, FALSE);
  check_eof_after_whole (wire, 3, TRUE);
}

static void
test_eof_after_header (void)
{
  static const guint8 wire[] = { 0, 0, 0, 5 };

  check_eof (wire, sizeof wire, FALSE, GIPC_ERROR_PROTOCOL);
  check_eof (wire, sizeof wire, TRUE, GIPC_ERROR_PROTOCOL);
  check_eof_after_whole (wire, sizeof wire, FALSE);
  check_eof_after_whole (wire, sizeof wire, TRUE);
}

static void
test_eof_mid_body (void)
{
  static const guint8 wire[] = { 0, 0, 0, 5, 'a', 'b' };
  g_autoptr(GBytes) big = gipc_test_pattern_bytes (1 * MiB, 3);
  g_autoptr(GBytes) frame = frame_of (big);

  check_eof (wire, sizeof wire, FALSE, GIPC_ERROR_PROTOCOL);
  check_eof (wire, sizeof wire, TRUE, GIPC_ERROR_PROTOCOL);
  /* 60 KiB of a 1 MiB body: fits in the pipe. */
  check_eof (g_bytes_get_data (frame, NULL), 4 + 60 * KiB, FALSE, GIPC_ERROR_PROTOCOL);
  check_eof (g_bytes_get_data (frame, NULL), 4 + 60 * KiB, TRUE, GIPC_ERROR_PROTOCOL);
  check_eof_after_whole (wire, sizeof wire, FALSE);
  check_eof_after_whole (wire, sizeof wire, TRUE);
}

/* gipc test 16: put "a", close the writer; get() gives "a", then EOF. With
 * the writer closed by close() and by its last unref. */
static void
test_eof_data_then_close (void)
{
  guint round;

  for (round = 0; round < 2; round++)
    {
      g_autoptr(GipcChannel) reader = NULL;
      GipcChannel *writer = NULL;

      gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
      gipc_test_send_str (writer, "a");
      gipc_test_send_str (writer, "");
      if (round == 0)
        gipc_test_close_ok (writer);
      g_object_unref (writer);

      gipc_test_receive_str (reader, "a");
      {
        g_autoptr(GBytes) empty = receive_async_ok (reader);

        g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);
      }
      gipc_test_receive_expect_error (reader, round == 0, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
    }
}

/* Pending receives at the end of the stream: the first gets the last
 * message, the others PEER_CLOSED. */
static void
test_eof_pending_receives (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  GAsyncResult *results[3] = { NULL, NULL, NULL };
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  for (i = 0; i < 3; i++)
    gipc_channel_receive_async (reader, NULL, gipc_test_result_cb, &results[i]);
  gipc_test_drain_context (g_main_context_default ());

  gipc_test_send_str (writer, "last");
  gipc_test_close_ok (writer);

  for (i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) message = NULL;

      gipc_test_run_until_result (NULL, &results[i]);
      message = gipc_channel_receive_finish (reader, results[i], &error);
      if (i == 0)
        {
          g_assert_no_error (error);
          gipc_test_assert_bytes_str (message, "last");
        }
      else
        {
          g_assert_null (message);
          g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
        }
      g_clear_object (&results[i]);
    }
}

/* A duplex end whose peer is closed or finalized sees PEER_CLOSED. */
static void
test_eof_duplex (void)
{
  g_autoptr(GipcChannel) h1 = NULL;
  GipcChannel *h2 = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);
  gipc_test_send_str (h2, "bye");
  g_object_unref (h2);
  gipc_test_receive_str (h1, "bye");
  gipc_test_receive_expect_error (h1, TRUE, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
}

/* A peer process killed in the middle of a 10 MB message: the receiver
 * gets PROTOCOL (truncated), never a partial message or a hang; killed
 * before it sent anything: PEER_CLOSED. */
static void
check_peer_killed (gboolean mid_message)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GError) error = NULL;
  int fds[2], status = 0;
  pid_t pid;

  g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
  reader = gipc_channel_new_from_fds (fds[0], -1, &error);
  g_assert_no_error (error);

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      GipcChannel *writer;
      GBytes *big;

      alarm (gipc_test_timeout_seconds ());
      writer = gipc_channel_new_from_fds (-1, fds[1], NULL);
      if (mid_message)
        {
          big = gipc_test_pattern_bytes (10 * MiB, 1);
          gipc_channel_send (writer, big, NULL, NULL);
        }
      else
        pause ();
      _exit (1);
    }

  close (fds[1]);
  if (mid_message)
    {
      struct pollfd pfd = { fds[0], POLLIN, 0 };

      /* The message has begun to arrive. */
      g_assert_cmpint (poll (&pfd, 1, gipc_test_timeout_seconds () * 1000), ==, 1);
    }
  g_assert_no_errno (kill (pid, SIGKILL));
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));

  gipc_test_receive_expect_error (reader, mid_message, GIPC_ERROR,
                        mid_message ? GIPC_ERROR_PROTOCOL : GIPC_ERROR_PEER_CLOSED);
}

static void
test_eof_peer_killed (void)
{
  check_peer_killed (TRUE);
  check_peer_killed (FALSE);
}

/* ---------------------------------------------------------------------- */
/* The timeout property */

static void
test_timeout_sync (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GVariant) value = NULL;
  gint64 start;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_channel_set_timeout (reader, 50);

  start = g_get_monotonic_time ();
  message = gipc_channel_receive (reader, NULL, &error);
  g_assert_null (message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  /* Not before its time. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 45 * 1000);
  g_clear_error (&error);

  value = gipc_channel_receive_variant (reader, NULL, &error);
  g_assert_null (value);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  /* The channel stays usable: the next receive gets the next message. */
  gipc_test_send_str (writer, "next");
  gipc_test_send_str (writer, "after");
  gipc_test_receive_str (reader, "next");
  gipc_test_receive_str (reader, "after");
}

static void
test_timeout_async (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) next = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  g_object_set (reader, "timeout", 50u, NULL);

  gipc_test_receive_expect_error (reader, TRUE, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  gipc_channel_receive_variant_async (reader, NULL, gipc_test_result_cb, &result);
  gipc_test_run_until_result (NULL, &result);
  value = gipc_channel_receive_variant_finish (reader, result, &error);
  g_assert_null (value);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  /* Several pending receives: each one times out. */
  {
    GAsyncResult *results[3] = { NULL, NULL, NULL };
    guint i;

    for (i = 0; i < 3; i++)
      gipc_channel_receive_async (reader, NULL, gipc_test_result_cb, &results[i]);
    for (i = 0; i < 3; i++)
      {
        g_autoptr(GError) e = NULL;
        g_autoptr(GBytes) b = NULL;

        gipc_test_run_until_result (NULL, &results[i]);
        b = gipc_channel_receive_finish (reader, results[i], &e);
        g_assert_null (b);
        g_assert_error (e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
        g_clear_object (&results[i]);
      }
  }

  gipc_test_send_str (writer, "next");
  next = receive_async_ok (reader);
  gipc_test_assert_bytes_str (next, "next");
}

typedef struct
{
  int           fd;
  const guint8 *data;
  gsize         len;
  gboolean      written;
} WriteLater;

static gboolean
write_later_cb (gpointer user_data)
{
  WriteLater *later = user_data;

  gipc_test_write_all (later->fd, later->data, later->len);
  later->written = TRUE;
  return G_SOURCE_REMOVE;
}

/* A message whose first bytes arrived before the timeout is read to its
 * end even though the rest comes long after the timeout: cut inside the
 * header, after the header and inside the body. */
static void
test_timeout_partial_message (void)
{
  static const gsize cuts[] = { 1, 2, 4, 4 + 10 };
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (100, 5);
  g_autoptr(GBytes) frame = frame_of (payload);
  const guint8 *wire = g_bytes_get_data (frame, NULL);
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autoptr(GipcChannel) reader = NULL;
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) message = NULL;
      WriteLater later;
      int wfd;

      reader = make_raw_fed_reader (&wfd, NULL);
      gipc_channel_set_timeout (reader, 50);

      gipc_test_write_all (wfd, wire, cuts[i]);
      gipc_channel_receive_async (reader, NULL, gipc_test_result_cb, &result);

      later.fd = wfd;
      later.data = wire + cuts[i];
      later.len = g_bytes_get_size (frame) - cuts[i];
      later.written = FALSE;
      g_timeout_add (250, write_later_cb, &later);

      gipc_test_run_until_result (NULL, &result);
      /* The receive waited for the rest, well past its timeout. */
      g_assert_true (later.written);
      message = gipc_channel_receive_finish (reader, result, &error);
      g_assert_no_error (error);
      gipc_test_assert_pattern (message, 100, 5);
      close (wfd);
    }
}

typedef struct
{
  int           fd;
  const guint8 *data;
  gsize         len;
  gulong        delay_us;
  gint          done;       /* atomic */
} ThreadWrite;

static gpointer
thread_write_func (gpointer user_data)
{
  ThreadWrite *tw = user_data;

  if (tw->delay_us > 0)
    g_usleep (tw->delay_us);
  gipc_test_write_all (tw->fd, tw->data, tw->len);
  g_atomic_int_set (&tw->done, 1);
  return NULL;
}

/* The same with a sync receive: the rest of the message is written from
 * another thread, after more than the timeout. */
static void
test_timeout_partial_message_sync (void)
{
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (200 * KiB, 6);
  g_autoptr(GBytes) frame = frame_of (payload);
  const guint8 *wire = g_bytes_get_data (frame, NULL);
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  ThreadWrite tw;
  GThread *thread;
  int wfd;

  reader = make_raw_fed_reader (&wfd, NULL);
  gipc_channel_set_timeout (reader, 50);
  gipc_test_write_all (wfd, wire, 4 + 1000);

  tw.fd = wfd;
  tw.data = wire + 4 + 1000;
  tw.len = g_bytes_get_size (frame) - 4 - 1000;
  tw.delay_us = 250 * 1000;
  tw.done = 0;
  thread = g_thread_new ("late-writer", thread_write_func, &tw);

  message = gipc_channel_receive (reader, NULL, &error);
  g_thread_join (thread);
  g_assert_no_error (error);
  gipc_test_assert_pattern (message, 200 * KiB, 6);
  close (wfd);
}

/* ---------------------------------------------------------------------- */
/* max-message-size */

/* A header announcing more than max-message-size fails at once, before
 * the body arrives (it never does here). */
static void
test_max_size_header_only (void)
{
  guint round;

  for (round = 0; round < 2; round++)
    {
      g_autoptr(GipcChannel) reader = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) again = NULL;
      int wfd;

      reader = make_raw_fed_reader (&wfd, NULL);
      gipc_channel_set_max_message_size (reader, 1024);
      gipc_test_write_header (wfd, 1025);
      gipc_test_receive_expect_error (reader, round == 1, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE);

      /* The channel is unusable afterwards: no message comes out of it,
       * even when bytes follow. */
      gipc_test_write_all (wfd, "\0\0\0\2ok", 6);
      close (wfd);
      again = gipc_channel_receive (reader, NULL, &error);
      g_assert_null (again);
      g_assert_nonnull (error);
    }
}

/* Lengths that are negative as a signed int32 (gipc silently returned
 * b''), 1 GiB + 1 (just above the default maximum) and garbage where a
 * header should be ("GET / HTTP/1.0"): MESSAGE_TOO_LARGE, and nothing comes
 * out of the channel afterwards even when a whole frame follows. */
static void
test_max_size_negative (void)
{
  static const guint32 lengths[] = { 0x80000000u, 0xffffffffu, 0x40000001u,
                                     0x47455420u /* "GET " */ };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      g_autoptr(GipcChannel) reader = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) again = NULL;
      guint64 max = 0;
      int wfd;

      reader = make_raw_fed_reader (&wfd, NULL);
      g_assert_cmpuint (gipc_channel_get_max_message_size (reader), ==,
                        GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE);
      g_object_get (reader, "max-message-size", &max, NULL);
      g_assert_cmpuint (max, ==, GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE);
      gipc_test_write_header (wfd, lengths[i]);
      gipc_test_write_all (wfd, "abcd", 4);
      gipc_test_receive_expect_error (reader, i % 2 == 1, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE);
      gipc_test_write_all (wfd, "\0\0\0\2ok", 6);
      again = gipc_channel_receive (reader, NULL, &error);
      g_assert_null (again);
      g_assert_nonnull (error);
      close (wfd);
      gipc_test_close_ok (reader);
    }
}

/* Exactly max-message-size is accepted; one more byte is not. */
static void
test_max_size_exact (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) exact = gipc_test_pattern_bytes (1024, 1);
  g_autoptr(GBytes) over = gipc_test_pattern_bytes (1025, 2);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_channel_set_max_message_size (reader, 1024);

  g_assert_true (gipc_channel_send (writer, exact, NULL, &error));
  g_assert_no_error (error);
  got = gipc_channel_receive (reader, NULL, &error);
  g_assert_no_error (error);
  gipc_test_assert_pattern (got, 1024, 1);

  g_assert_true (gipc_channel_send (writer, over, NULL, &error));
  g_assert_no_error (error);
  gipc_test_receive_expect_error (reader, FALSE, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE);
}

/* ---------------------------------------------------------------------- */
/* A writer whose reader is gone: PEER_CLOSED, never a SIGPIPE death, and
 * the process's SIGPIPE state left as it was. These run in a subprocess,
 * so a SIGPIPE death is reported as a failure of this test only. */

static void
assert_sigpipe_untouched (void)
{
  struct sigaction sa;
  sigset_t set;

  g_assert_no_errno (sigaction (SIGPIPE, NULL, &sa));
  g_assert_true (sa.sa_handler == SIG_DFL);
  g_assert_false (sa.sa_flags & SA_SIGINFO);

  g_assert_no_errno (sigpending (&set));
  g_assert_false (sigismember (&set, SIGPIPE));

  g_assert_no_errno (sigprocmask (SIG_BLOCK, NULL, &set));
  g_assert_false (sigismember (&set, SIGPIPE));
}

static void
sigpipe_default (void)
{
  struct sigaction sa;
  sigset_t set;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset (&sa.sa_mask);
  g_assert_no_errno (sigaction (SIGPIPE, &sa, NULL));
  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  g_assert_no_errno (sigprocmask (SIG_UNBLOCK, &set, NULL));

  assert_sigpipe_untouched ();
}

static void
test_sigpipe_sync (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) message = g_bytes_new_static ("nobody", 6);
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  sigpipe_default ();
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_test_close_ok (reader);

  g_assert_false (gipc_channel_send (writer, message, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  g_clear_error (&error);
  g_assert_false (gipc_channel_send_variant (writer, g_variant_new_int32 (1), NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);

  assert_sigpipe_untouched ();
}

/* Callers may pass NULL for the error: a failed sync send (first to a
 * reader that is gone, then after the failure is recorded) must still just
 * return FALSE. */
static void
test_sigpipe_sync_null_error (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) message = g_bytes_new_static ("nobody", 6);
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  sigpipe_default ();
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_test_close_ok (reader);

  g_assert_false (gipc_channel_send (writer, message, NULL, NULL));
  g_assert_false (gipc_channel_send (writer, message, NULL, NULL));

  /* The failure was recorded all the same. */
  g_assert_false (gipc_channel_send (writer, message, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);

  assert_sigpipe_untouched ();
}

static void
test_sigpipe_async (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) message = g_bytes_new_static ("nobody", 6);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  sigpipe_default ();
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  g_clear_object (&reader);

  gipc_channel_send_async (writer, message, NULL, gipc_test_result_cb, &result);
  gipc_test_run_until_result (NULL, &result);
  g_assert_false (gipc_channel_send_finish (writer, result, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);

  assert_sigpipe_untouched ();
}

typedef struct
{
  int   fd;
  gsize total;
  gsize limit;
} DrainPart;

static gboolean
drain_part_cb (gint         fd,
               GIOCondition condition,
               gpointer     user_data)
{
  DrainPart *drain = user_data;
  guint8 buf[16 * 1024];
  ssize_t n = read (fd, buf, sizeof buf);

  g_assert_cmpint (n, >, 0);
  drain->total += (gsize) n;
  if (drain->total < drain->limit)
    return G_SOURCE_CONTINUE;

  /* Enough: the reader goes away in the middle of the message. */
  close (fd);
  drain->fd = -1;
  return G_SOURCE_REMOVE;
}

/* A 10 MB send_async whose reader goes away after part of it was read. */
static void
test_sigpipe_large_partial (void)
{
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) big = gipc_test_pattern_bytes (10 * MiB, 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  DrainPart drain;
  int rfd;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  sigpipe_default ();
  writer = make_raw_drained_writer (&rfd);

  drain.fd = rfd;
  drain.total = 0;
  drain.limit = 256 * KiB;
  g_unix_fd_add (rfd, G_IO_IN, drain_part_cb, &drain);

  gipc_channel_send_async (writer, big, NULL, gipc_test_result_cb, &result);
  gipc_test_run_until_result (NULL, &result);
  g_assert_cmpint (drain.fd, ==, -1);
  g_assert_cmpuint (drain.total, >=, 256 * KiB);
  g_assert_cmpuint (drain.total, <, 10 * MiB);

  g_assert_false (gipc_channel_send_finish (writer, result, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);

  assert_sigpipe_untouched ();
}

/* Fire and forget to a closed reader: no death; later sends fail with
 * PEER_CLOSED. */
static void
test_sigpipe_fire_and_forget (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) message = g_bytes_new_static ("lost", 4);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  sigpipe_default ();
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_test_close_ok (reader);

  gipc_channel_send_async (writer, message, NULL, NULL, NULL);
  gipc_channel_send_async (writer, message, NULL, gipc_test_result_cb, &result);
  gipc_test_run_until_result (NULL, &result);
  g_assert_false (gipc_channel_send_finish (writer, result, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  g_clear_error (&error);

  g_assert_false (gipc_channel_send (writer, message, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);

  assert_sigpipe_untouched ();
}

/* A duplex end whose peer is closed: sending fails with PEER_CLOSED. */
static void
test_sigpipe_duplex (void)
{
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  g_autoptr(GBytes) message = g_bytes_new_static ("gone", 4);
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  sigpipe_default ();
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);
  gipc_test_close_ok (h2);
  g_assert_false (gipc_channel_send (h1, message, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  g_clear_error (&error);
  gipc_test_receive_expect_error (h1, FALSE, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);

  assert_sigpipe_untouched ();
}

/* ---------------------------------------------------------------------- */
/* close */

/* After close every operation fails with CLOSED; close again is TRUE. */
static void
assert_all_closed (GipcChannel *channel,
                   gboolean     can_send,
                   gboolean     can_receive)
{
  g_autoptr(GBytes) message = g_bytes_new_static ("x", 1);
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_string ("x"));

  g_assert_true (gipc_channel_is_closed (channel));

  if (can_send)
    {
      g_autoptr(GError) e1 = NULL;
      g_autoptr(GError) e2 = NULL;
      g_autoptr(GError) e3 = NULL;
      g_autoptr(GError) e4 = NULL;
      g_autoptr(GAsyncResult) r1 = NULL;
      g_autoptr(GAsyncResult) r2 = NULL;

      g_assert_false (gipc_channel_send (channel, message, NULL, &e1));
      g_assert_error (e1, GIPC_ERROR, GIPC_ERROR_CLOSED);
      g_assert_false (gipc_channel_send_variant (channel, value, NULL, &e2));
      g_assert_error (e2, GIPC_ERROR, GIPC_ERROR_CLOSED);

      gipc_channel_send_async (channel, message, NULL, gipc_test_result_cb, &r1);
      gipc_test_run_until_result (NULL, &r1);
      g_assert_false (gipc_channel_send_finish (channel, r1, &e3));
      g_assert_error (e3, GIPC_ERROR, GIPC_ERROR_CLOSED);

      gipc_channel_send_variant_async (channel, value, NULL, gipc_test_result_cb, &r2);
      gipc_test_run_until_result (NULL, &r2);
      g_assert_false (gipc_channel_send_variant_finish (channel, r2, &e4));
      g_assert_error (e4, GIPC_ERROR, GIPC_ERROR_CLOSED);
    }

  if (can_receive)
    {
      g_autoptr(GError) e1 = NULL;
      g_autoptr(GError) e2 = NULL;
      g_autoptr(GError) e3 = NULL;
      g_autoptr(GError) e4 = NULL;
      g_autoptr(GAsyncResult) r1 = NULL;
      g_autoptr(GAsyncResult) r2 = NULL;
      g_autoptr(GBytes) b1 = NULL;
      g_autoptr(GBytes) b2 = NULL;
      g_autoptr(GVariant) v1 = NULL;
      g_autoptr(GVariant) v2 = NULL;

      b1 = gipc_channel_receive (channel, NULL, &e1);
      g_assert_null (b1);
      g_assert_error (e1, GIPC_ERROR, GIPC_ERROR_CLOSED);
      v1 = gipc_channel_receive_variant (channel, NULL, &e2);
      g_assert_null (v1);
      g_assert_error (e2, GIPC_ERROR, GIPC_ERROR_CLOSED);

      gipc_channel_receive_async (channel, NULL, gipc_test_result_cb, &r1);
      gipc_test_run_until_result (NULL, &r1);
      b2 = gipc_channel_receive_finish (channel, r1, &e3);
      g_assert_null (b2);
      g_assert_error (e3, GIPC_ERROR, GIPC_ERROR_CLOSED);

      gipc_channel_receive_variant_async (channel, NULL, gipc_test_result_cb, &r2);
      gipc_test_run_until_result (NULL, &r2);
      v2 = gipc_channel_receive_variant_finish (channel, r2, &e4);
      g_assert_null (v2);
      g_assert_error (e4, GIPC_ERROR, GIPC_ERROR_CLOSED);
    }

  /* Idempotent. */
  gipc_test_close_ok (channel);
  gipc_test_close_ok (channel);
  g_assert_true (gipc_channel_is_closed (channel));
}

static void
test_close_use_after_close (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  guint notifies = 0;
  gboolean closed = FALSE;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  g_signal_connect (writer, "notify::closed", G_CALLBACK (gipc_test_count_notify_cb), &notifies);
  gipc_test_close_ok (reader);
  gipc_test_close_ok (writer);
  g_assert_cmpuint (notifies, ==, 1);
  g_object_get (writer, "closed", &closed, NULL);
  g_assert_true (closed);
  assert_all_closed (reader, FALSE, TRUE);
  assert_all_closed (writer, TRUE, FALSE);
  g_assert_cmpuint (notifies, ==, 1);

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);
  gipc_test_close_ok (h1);
  assert_all_closed (h1, TRUE, TRUE);
  /* The peer sees the end of the stream. */
  gipc_test_receive_expect_error (h2, FALSE, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  gipc_test_close_ok (h2);
  assert_all_closed (h2, TRUE, TRUE);
}

/* close while an async receive is pending: LOCKED, nothing changes, and
 * the receive still completes. For a duplex end, sending still works. */
static void
check_close_pending_receive (GipcPipeFlags flags)
{
  g_autoptr(GipcChannel) end1 = NULL;
  g_autoptr(GipcChannel) end2 = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;

  gipc_test_make_pipe (flags, &end1, &end2);
  gipc_channel_receive_async (end1, NULL, gipc_test_result_cb, &result);
  gipc_test_drain_context (g_main_context_default ());

  g_assert_false (gipc_channel_close (end1, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_false (gipc_channel_is_closed (end1));
  g_assert_true (gipc_channel_get_can_receive (end1));

  if (flags & GIPC_PIPE_FLAGS_DUPLEX)
    {
      /* Neither direction was closed. */
      gipc_test_send_str (end1, "still-sending");
      gipc_test_receive_str (end2, "still-sending");
    }

  gipc_test_send_str (end2, "pending");
  gipc_test_run_until_result (NULL, &result);
  message = gipc_channel_receive_finish (end1, result, &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (message, "pending");

  gipc_test_close_ok (end1);
  g_assert_true (gipc_channel_is_closed (end1));
}

static void
test_close_pending_receive (void)
{
  check_close_pending_receive (GIPC_PIPE_FLAGS_NONE);
}

static void
test_close_pending_receive_duplex (void)
{
  check_close_pending_receive (GIPC_PIPE_FLAGS_DUPLEX);
}

/* close while a 10 MB send_async is blocked on the full pipe: LOCKED,
 * nothing changes, and the send completes whole. */
static void
check_close_pending_send (GipcPipeFlags flags)
{
  g_autoptr(GipcChannel) end1 = NULL;
  g_autoptr(GipcChannel) end2 = NULL;
  g_autoptr(GBytes) big = gipc_test_pattern_bytes (10 * MiB, 4);
  g_autoptr(GAsyncResult) sent = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;

  gipc_test_make_pipe (flags, &end1, &end2);
  gipc_channel_send_async (end2, big, NULL, gipc_test_result_cb, &sent);
  gipc_test_drain_context (g_main_context_default ());
  g_assert_null (sent);

  g_assert_false (gipc_channel_close (end2, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_false (gipc_channel_is_closed (end2));

  if (flags & GIPC_PIPE_FLAGS_DUPLEX)
    {
      /* The receiving direction of end2 is still open. */
      g_autoptr(GBytes) back = NULL;

      gipc_test_send_str (end1, "still-receiving");
      back = receive_async_ok (end2);
      gipc_test_assert_bytes_str (back, "still-receiving");
    }

  got = receive_async_ok (end1);
  gipc_test_assert_pattern (got, 10 * MiB, 4);
  gipc_test_run_until_result (NULL, &sent);
  g_assert_true (gipc_channel_send_finish (end2, sent, &error));
  g_assert_no_error (error);

  gipc_test_close_ok (end2);
}

static void
test_close_pending_send (void)
{
  check_close_pending_send (GIPC_PIPE_FLAGS_NONE);
}

static void
test_close_pending_send_duplex (void)
{
  check_close_pending_send (GIPC_PIPE_FLAGS_DUPLEX);
}

/* A fire-and-forget send larger than the pipe is an operation in progress:
 * close fails with LOCKED (it must not block until a reader drains the
 * pipe: here the only reader is in this thread), and the message is then
 * delivered whole. Runs in a subprocess with a time limit, so a close that
 * blocks fails this test only. */
static void
test_close_pending_fire_and_forget (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) big = NULL;
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 10 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  big = gipc_test_pattern_bytes (3 * MiB, 18);
  gipc_channel_send_async (writer, big, NULL, NULL, NULL);

  g_assert_false (gipc_channel_close (writer, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_false (gipc_channel_is_closed (writer));

  got = receive_async_ok (reader);
  gipc_test_assert_pattern (got, 3 * MiB, 18);
  gipc_test_close_ok (writer);
}

/* Dropping the last reference of a channel with a fire-and-forget send
 * still queued must not block (finalize runs wherever the last unref
 * happens), and the reader never gets a partial message. */
static void
test_close_finalize_pending_fire_and_forget (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  GipcChannel *writer = NULL;
  g_autoptr(GBytes) big = NULL;
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 10 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  big = gipc_test_pattern_bytes (3 * MiB, 19);
  gipc_channel_send_async (writer, big, NULL, NULL, NULL);
  g_object_unref (writer);

  /* Either the whole message (written in the background) or an error,
   * never part of it. */
  {
    g_autoptr(GAsyncResult) result = NULL;

    gipc_channel_receive_async (reader, NULL, gipc_test_result_cb, &result);
    gipc_test_run_until_result (NULL, &result);
    got = gipc_channel_receive_finish (reader, result, &error);
  }
  if (got != NULL)
    gipc_test_assert_pattern (got, 3 * MiB, 19);
  else
    {
      g_assert_nonnull (error);
      g_assert_cmpuint (error->domain, ==, GIPC_ERROR);
    }
}

/* A sync call while async calls of the same direction are pending: LOCKED.
 * The other direction of a duplex end is not affected. */
static void
test_close_sync_while_async (void)
{
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  g_autoptr(GBytes) big = gipc_test_pattern_bytes (10 * MiB, 8);
  g_autoptr(GBytes) small = g_bytes_new_static ("small", 5);
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_int32 (3));
  g_autoptr(GAsyncResult) received = NULL;
  g_autoptr(GAsyncResult) sent = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);

  /* Receiving direction busy. */
  gipc_channel_receive_async (h1, NULL, gipc_test_result_cb, &received);
  {
    g_autoptr(GBytes) b = gipc_channel_receive (h1, NULL, &error);
    g_autoptr(GVariant) v = NULL;

    g_assert_null (b);
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
    g_clear_error (&error);
    v = gipc_channel_receive_variant (h1, NULL, &error);
    g_assert_null (v);
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
    g_clear_error (&error);
  }
  /* Sending is a different direction: fine. */
  g_assert_true (gipc_channel_send (h1, small, NULL, &error));
  g_assert_no_error (error);
  gipc_test_receive_str (h2, "small");

  /* Sending direction busy with a blocked 10 MB send. */
  gipc_channel_send_async (h1, big, NULL, gipc_test_result_cb, &sent);
  gipc_test_drain_context (g_main_context_default ());
  g_assert_false (gipc_channel_send (h1, small, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_false (gipc_channel_send_variant (h1, value, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
  g_clear_error (&error);

  /* The failed calls disturbed nothing. */
  gipc_test_send_str (h2, "for-the-pending-receive");
  gipc_test_run_until_result (NULL, &received);
  got = gipc_channel_receive_finish (h1, received, &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (got, "for-the-pending-receive");
  g_clear_pointer (&got, g_bytes_unref);

  /* Receiving direction idle again: a sync receive works while the
   * send_async is still pending. */
  gipc_test_send_str (h2, "sync");
  gipc_test_receive_str (h1, "sync");

  got = receive_async_ok (h2);
  gipc_test_assert_pattern (got, 10 * MiB, 8);
  gipc_test_run_until_result (NULL, &sent);
  g_assert_true (gipc_channel_send_finish (h1, sent, &error));
  g_assert_no_error (error);
}

/* ---------------------------------------------------------------------- */
/* new_from_fds */

static void
test_new_from_fds_no_fds (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = gipc_channel_new_from_fds (-1, -1, &error);

  g_assert_null (channel);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
}

/* ---------------------------------------------------------------------- */
/* Cancellation */

static void
test_cancel_receive_pending (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_channel_receive_async (reader, cancellable, gipc_test_result_cb, &result);
  gipc_test_drain_context (g_main_context_default ());
  g_assert_null (result);

  g_cancellable_cancel (cancellable);
  gipc_test_run_until_result (NULL, &result);
  message = gipc_channel_receive_finish (reader, result, &error);
  g_assert_null (message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  gipc_test_send_str (writer, "next");
  gipc_test_send_str (writer, "after");
  {
    g_autoptr(GBytes) next = receive_async_ok (reader);

    gipc_test_assert_bytes_str (next, "next");
  }
  gipc_test_receive_str (reader, "after");
}

typedef struct
{
  GCancellable *cancellable;
  gulong        delay_us;
} CancelLater;

static gpointer
cancel_later_func (gpointer user_data)
{
  CancelLater *later = user_data;

  g_usleep (later->delay_us);
  g_cancellable_cancel (later->cancellable);
  return NULL;
}

/* A sync receive blocked on an empty channel, cancelled from another
 * thread. */
static void
test_cancel_receive_sync (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  CancelLater later = { cancellable, 100 * 1000 };
  GThread *thread;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  thread = g_thread_new ("canceller", cancel_later_func, &later);
  message = gipc_channel_receive (reader, cancellable, &error);
  g_thread_join (thread);
  g_assert_null (message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  gipc_test_send_str (writer, "next");
  gipc_test_receive_str (reader, "next");
}

/* A cancellable cancelled before the call: CANCELLED at once, for sync and
 * async receives and sends; a message already waiting stays for the next
 * receive and nothing is written. */
static void
test_cancel_before (void)
{
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) message = g_bytes_new_static ("never", 5);
  int rfd;

  writer = make_raw_drained_writer (&rfd);

  {
    g_autoptr(GipcChannel) r = NULL;
    g_autoptr(GipcChannel) w = NULL;

    gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w);
    gipc_test_send_str (w, "waiting");
    g_cancellable_cancel (cancellable);

    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) got = gipc_channel_receive (r, cancellable, &error);

      g_assert_null (got);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    }
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GBytes) got = NULL;

      gipc_channel_receive_async (r, cancellable, gipc_test_result_cb, &result);
      gipc_test_run_until_result (NULL, &result);
      got = gipc_channel_receive_finish (r, result, &error);
      g_assert_null (got);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    }
    gipc_test_receive_str (r, "waiting");
  }

  /* Sends: nothing reaches the wire. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GAsyncResult) result = NULL;

    g_assert_false (gipc_channel_send (writer, message, cancellable, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);

    gipc_channel_send_async (writer, message, cancellable, gipc_test_result_cb, &result);
    gipc_test_run_until_result (NULL, &result);
    g_assert_false (gipc_channel_send_finish (writer, result, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

    g_assert_cmpuint (gipc_test_bytes_available (rfd), ==, 0);
    gipc_test_send_str (writer, "ok");
    g_assert_cmpuint (gipc_test_bytes_available (rfd), ==, 4 + 2);
  }
  close (rfd);
}

/* Iterates the default context until the channel has taken every byte
 * from its pipe (@fd is the channel's own read fd). */
static void
run_until_pipe_empty (int fd)
{
  gint64 deadline = g_get_monotonic_time () + gipc_test_timeout_seconds () * G_USEC_PER_SEC;

  while (gipc_test_bytes_available (fd) > 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
    }
}

/* Cancel a receive after the first half of a message arrived: CANCELLED,
 * and the next receive gets that whole message (and the next one). */
static void
test_cancel_receive_partial (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (48 * KiB, 12);
  g_autoptr(GBytes) frame = frame_of (payload);
  const guint8 *wire = g_bytes_get_data (frame, NULL);
  gsize half = 4 + 24 * KiB;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  int wfd, channel_fd;

  reader = make_raw_fed_reader (&wfd, &channel_fd);
  gipc_test_write_all (wfd, wire, half);

  gipc_channel_receive_async (reader, cancellable, gipc_test_result_cb, &result);
  run_until_pipe_empty (channel_fd);
  g_assert_null (result);

  g_cancellable_cancel (cancellable);
  gipc_test_run_until_result (NULL, &result);
  message = gipc_channel_receive_finish (reader, result, &error);
  g_assert_null (message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  gipc_test_write_all (wfd, wire + half, g_bytes_get_size (frame) - half);
  gipc_test_write_all (wfd, "\0\0\0\4next", 8);
  message = receive_async_ok (reader);
  gipc_test_assert_pattern (message, 48 * KiB, 12);
  gipc_test_receive_str (reader, "next");
  close (wfd);
}

/* The same with a 2 MB message, of which 1 MB arrived (written by another
 * thread while the receive runs). */
static void
test_cancel_receive_partial_large (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (2 * MiB, 13);
  g_autoptr(GBytes) frame = frame_of (payload);
  const guint8 *wire = g_bytes_get_data (frame, NULL);
  gsize half = 4 + 1 * MiB;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  ThreadWrite first, rest;
  GThread *thread;
  int wfd, channel_fd;

  reader = make_raw_fed_reader (&wfd, &channel_fd);
  gipc_channel_receive_async (reader, cancellable, gipc_test_result_cb, &result);

  first.fd = wfd;
  first.data = wire;
  first.len = half;
  first.delay_us = 0;
  first.done = 0;
  thread = g_thread_new ("first-half", thread_write_func, &first);

  /* The channel reads while the thread writes (blocking writes): the first
   * half has arrived once the thread is done and the pipe is empty. */
  {
    gint64 deadline = g_get_monotonic_time () + gipc_test_timeout_seconds () * G_USEC_PER_SEC;

    while (!g_atomic_int_get (&first.done) || gipc_test_bytes_available (channel_fd) > 0)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_main_context_iteration (NULL, FALSE);
      }
  }
  g_thread_join (thread);
  g_assert_null (result);

  g_cancellable_cancel (cancellable);
  gipc_test_run_until_result (NULL, &result);
  message = gipc_channel_receive_finish (reader, result, &error);
  g_assert_null (message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  rest.fd = wfd;
  rest.data = wire + half;
  rest.len = g_bytes_get_size (frame) - half;
  rest.delay_us = 0;
  rest.done = 0;
  thread = g_thread_new ("second-half", thread_write_func, &rest);
  message = gipc_channel_receive (reader, NULL, &error);
  g_thread_join (thread);
  g_assert_no_error (error);
  gipc_test_assert_pattern (message, 2 * MiB, 13);
  close (wfd);
}

/* Waits (in the calling thread, without a main loop) until @check returns
 * TRUE for @fd, polling every millisecond, failing after the test budget. */
static void
wait_for_fd_state (int      fd,
                   gboolean (*check) (int fd))
{
  gint64 deadline = g_get_monotonic_time () + gipc_test_timeout_seconds () * G_USEC_PER_SEC;

  while (!check (fd))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (1000);
    }
}

static gboolean
fd_has_data (int fd)
{
  return gipc_test_bytes_available (fd) > 0;
}

static gboolean
fd_is_drained (int fd)
{
  return gipc_test_bytes_available (fd) == 0;
}

typedef struct
{
  GipcChannel  *channel;
  GBytes       *message;
  GCancellable *cancellable;
  gboolean      ok;
  GError       *error;
} SyncSend;

static gpointer
sync_send_func (gpointer user_data)
{
  SyncSend *ss = user_data;

  ss->ok = gipc_channel_send (ss->channel, ss->message, ss->cancellable, &ss->error);
  return NULL;
}

/* A sync send blocked in the middle of a 10 MB message is cancelled from
 * another thread: the message is still written whole and the send
 * succeeds. */
static void
test_cancel_send_sync_after_start (void)
{
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) big = gipc_test_pattern_bytes (10 * MiB, 16);
  g_autoptr(GBytes) frame = frame_of (big);
  guint8 *wire = g_malloc (g_bytes_get_size (frame));
  SyncSend ss;
  GThread *thread;
  int rfd;

  writer = make_raw_drained_writer (&rfd);
  ss.channel = writer;
  ss.message = big;
  ss.cancellable = cancellable;
  ss.ok = FALSE;
  ss.error = NULL;
  thread = g_thread_new ("sync-sender", sync_send_func, &ss);

  wait_for_fd_state (rfd, fd_has_data);
  g_cancellable_cancel (cancellable);

  gipc_test_read_exact (rfd, wire, g_bytes_get_size (frame));
  g_thread_join (thread);
  g_assert_no_error (ss.error);
  g_assert_true (ss.ok);
  g_assert_cmpmem (wire, g_bytes_get_size (frame),
                   g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  g_free (wire);
  close (rfd);
}

typedef struct
{
  int           wfd;
  int           channel_fd;
  const guint8 *data;
  gsize         len;
  GCancellable *cancellable;
} WriteThenCancel;

static gpointer
write_then_cancel_func (gpointer user_data)
{
  WriteThenCancel *wc = user_data;

  gipc_test_write_all (wc->wfd, wc->data, wc->len);
  /* The receiver has taken the bytes: the message has begun to arrive. */
  wait_for_fd_state (wc->channel_fd, fd_is_drained);
  g_cancellable_cancel (wc->cancellable);
  return NULL;
}

/* A sync receive cancelled after half of a message arrived: CANCELLED, and
 * the next receive gets that whole message. */
static void
test_cancel_receive_sync_partial (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (40 * KiB, 17);
  g_autoptr(GBytes) frame = frame_of (payload);
  const guint8 *wire = g_bytes_get_data (frame, NULL);
  gsize half = 4 + 20 * KiB;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  WriteThenCancel wc;
  GThread *thread;
  int wfd, channel_fd;

  reader = make_raw_fed_reader (&wfd, &channel_fd);
  wc.wfd = wfd;
  wc.channel_fd = channel_fd;
  wc.data = wire;
  wc.len = half;
  wc.cancellable = cancellable;
  thread = g_thread_new ("write-then-cancel", write_then_cancel_func, &wc);

  message = gipc_channel_receive (reader, cancellable, &error);
  g_thread_join (thread);
  g_assert_null (message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  gipc_test_write_all (wfd, wire + half, g_bytes_get_size (frame) - half);
  message = gipc_channel_receive (reader, NULL, &error);
  g_assert_no_error (error);
  gipc_test_assert_pattern (message, 40 * KiB, 17);
  close (wfd);
}

/* Cancelling a send_async queued behind a blocked 10 MB send, before its
 * first byte is written: CANCELLED, and its bytes never reach the wire. */
static void
test_cancel_send_before_start (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) big = gipc_test_pattern_bytes (10 * MiB, 14);
  g_autoptr(GBytes) doomed = g_bytes_new_static ("cancelled", 9);
  g_autoptr(GBytes) after = g_bytes_new_static ("after", 5);
  g_autoptr(GAsyncResult) big_sent = NULL;
  g_autoptr(GAsyncResult) doomed_sent = NULL;
  g_autoptr(GAsyncResult) after_sent = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_channel_send_async (writer, big, NULL, gipc_test_result_cb, &big_sent);
  gipc_channel_send_async (writer, doomed, cancellable, gipc_test_result_cb, &doomed_sent);
  gipc_test_drain_context (g_main_context_default ());
  g_assert_null (big_sent);
  g_assert_null (doomed_sent);

  g_cancellable_cancel (cancellable);
  gipc_channel_send_async (writer, after, NULL, gipc_test_result_cb, &after_sent);

  got = receive_async_ok (reader);
  gipc_test_assert_pattern (got, 10 * MiB, 14);
  g_clear_pointer (&got, g_bytes_unref);
  got = receive_async_ok (reader);
  gipc_test_assert_bytes_str (got, "after");

  gipc_test_run_until_result (NULL, &big_sent);
  gipc_test_run_until_result (NULL, &doomed_sent);
  gipc_test_run_until_result (NULL, &after_sent);
  g_assert_true (gipc_channel_send_finish (writer, big_sent, &error));
  g_assert_no_error (error);
  g_assert_false (gipc_channel_send_finish (writer, doomed_sent, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_true (gipc_channel_send_finish (writer, after_sent, &error));
  g_assert_no_error (error);

  /* Nothing else is on the wire. */
  gipc_test_close_ok (writer);
  gipc_test_receive_expect_error (reader, FALSE, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
}

/* Cancelling a send_async after its first byte is written: the message
 * is written whole and the send succeeds. */
static void
test_cancel_send_after_start (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) big = gipc_test_pattern_bytes (10 * MiB, 15);
  g_autoptr(GAsyncResult) sent = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;
  gint64 deadline = g_get_monotonic_time () + gipc_test_timeout_seconds () * G_USEC_PER_SEC;
  int rfd;

  writer = make_raw_drained_writer (&rfd);
  gipc_channel_send_async (writer, big, cancellable, gipc_test_result_cb, &sent);
  while (gipc_test_bytes_available (rfd) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_null (sent);

  g_cancellable_cancel (cancellable);
  gipc_test_drain_context (g_main_context_default ());

  reader = gipc_channel_new_from_fds (rfd, -1, &error);
  g_assert_no_error (error);
  got = receive_async_ok (reader);
  gipc_test_assert_pattern (got, 10 * MiB, 15);

  gipc_test_run_until_result (NULL, &sent);
  g_assert_true (gipc_channel_send_finish (writer, sent, &error));
  g_assert_no_error (error);

  /* And the stream is intact afterwards. */
  gipc_test_send_str (writer, "intact");
  gipc_test_receive_str (reader, "intact");
}

/* ---------------------------------------------------------------------- */
/* Push mode errors */

typedef struct
{
  GPtrArray *messages;
  guint      n_errors;
  GError    *error;
  guint      n_messages_after_error;
  gboolean   got_message;
  gboolean   got_error;
} ListenState;

static void
listen_message_cb (GipcChannel *channel,
                   GBytes      *message,
                   gpointer     user_data)
{
  ListenState *state = user_data;

  g_assert_nonnull (message);
  if (state->n_errors > 0)
    state->n_messages_after_error++;
  g_ptr_array_add (state->messages, g_bytes_ref (message));
  state->got_message = TRUE;
}

static void
listen_error_cb (GipcChannel  *channel,
                 const GError *error,
                 gpointer      user_data)
{
  ListenState *state = user_data;

  g_assert_nonnull (error);
  state->n_errors++;
  if (state->error == NULL)
    state->error = g_error_copy (error);
  state->got_error = TRUE;
}

static void
listen_state_init (ListenState *state,
                   GipcChannel *channel)
{
  memset (state, 0, sizeof *state);
  state->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_signal_connect (channel, "message", G_CALLBACK (listen_message_cb), state);
  g_signal_connect (channel, "error", G_CALLBACK (listen_error_cb), state);
}

static void
listen_state_clear (ListenState *state)
{
  g_ptr_array_unref (state->messages);
  g_clear_error (&state->error);
}

/* "error" once with PEER_CLOSED after the last message; nothing after. */
static void
test_listen_peer_closed (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  ListenState state;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  listen_state_init (&state, reader);
  gipc_channel_listen (reader);

  gipc_test_send_str (writer, "one");
  gipc_test_send_str (writer, "");
  gipc_test_send_str (writer, "three");
  gipc_test_close_ok (writer);

  gipc_test_run_until (NULL, &state.got_error);
  g_assert_cmpuint (state.messages->len, ==, 3);
  gipc_test_assert_bytes_str (g_ptr_array_index (state.messages, 0), "one");
  g_assert_cmpuint (g_bytes_get_size (g_ptr_array_index (state.messages, 1)), ==, 0);
  gipc_test_assert_bytes_str (g_ptr_array_index (state.messages, 2), "three");
  g_assert_error (state.error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);

  gipc_test_drain_context (g_main_context_default ());
  g_assert_cmpuint (state.n_errors, ==, 1);
  g_assert_cmpuint (state.n_messages_after_error, ==, 0);
  g_assert_cmpuint (state.messages->len, ==, 3);

  listen_state_clear (&state);
}

/* A stream that fails while listening: "error" once with the failure. */
static void
test_listen_stream_errors (void)
{
  static const guint8 ok_then_too_large[] = { 0, 0, 0, 2, 'h', 'i', 0, 0, 0x04, 0x01 };
  static const guint8 ok_then_truncated[] = { 0, 0, 0, 2, 'h', 'i', 0, 0, 0 };
  guint round;

  for (round = 0; round < 2; round++)
    {
      g_autoptr(GipcChannel) reader = NULL;
      ListenState state;
      int wfd;

      reader = make_raw_fed_reader (&wfd, NULL);
      gipc_channel_set_max_message_size (reader, 1024);
      listen_state_init (&state, reader);
      gipc_channel_listen (reader);

      if (round == 0)
        gipc_test_write_all (wfd, ok_then_too_large, sizeof ok_then_too_large);
      else
        {
          gipc_test_write_all (wfd, ok_then_truncated, sizeof ok_then_truncated);
          close (wfd);
          wfd = -1;
        }

      gipc_test_run_until (NULL, &state.got_error);
      g_assert_cmpuint (state.messages->len, ==, 1);
      gipc_test_assert_bytes_str (g_ptr_array_index (state.messages, 0), "hi");
      g_assert_error (state.error, GIPC_ERROR,
                      (round == 0 ? GIPC_ERROR_MESSAGE_TOO_LARGE : GIPC_ERROR_PROTOCOL));

      if (wfd >= 0)
        {
          /* More bytes after the failure: nothing more is emitted. */
          gipc_test_write_all (wfd, "\0\0\0\1x", 5);
          close (wfd);
        }
      gipc_test_drain_context (g_main_context_default ());
      g_assert_cmpuint (state.n_errors, ==, 1);
      g_assert_cmpuint (state.n_messages_after_error, ==, 0);

      listen_state_clear (&state);
    }
}

/* receive* while listening: LOCKED; messages keep coming as signals. */
static void
test_listen_receive_locked (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  ListenState state;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  listen_state_init (&state, reader);
  gipc_channel_listen (reader);
  g_assert_true (gipc_channel_is_listening (reader));

  gipc_test_receive_expect_error (reader, FALSE, GIPC_ERROR, GIPC_ERROR_LOCKED);
  gipc_test_receive_expect_error (reader, TRUE, GIPC_ERROR, GIPC_ERROR_LOCKED);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) v = gipc_channel_receive_variant (reader, NULL, &error);
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GVariant) v2 = NULL;

    g_assert_null (v);
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
    g_clear_error (&error);

    gipc_channel_receive_variant_async (reader, NULL, gipc_test_result_cb, &result);
    gipc_test_run_until_result (NULL, &result);
    v2 = gipc_channel_receive_variant_finish (reader, result, &error);
    g_assert_null (v2);
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
  }

  gipc_test_send_str (writer, "signal");
  gipc_test_run_until (NULL, &state.got_message);
  gipc_test_assert_bytes_str (g_ptr_array_index (state.messages, 0), "signal");
  g_assert_cmpuint (state.n_errors, ==, 0);

  gipc_test_close_ok (reader);
  listen_state_clear (&state);
}

/* close stops listening, with no "error" signal. */
static void
test_listen_close (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  ListenState state;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  listen_state_init (&state, reader);
  gipc_channel_listen (reader);

  gipc_test_send_str (writer, "before-close");
  gipc_test_run_until (NULL, &state.got_message);

  gipc_test_close_ok (reader);
  g_assert_true (gipc_channel_is_closed (reader));
  g_assert_false (gipc_channel_is_listening (reader));
  gipc_test_drain_context (g_main_context_default ());
  g_assert_cmpuint (state.n_errors, ==, 0);
  g_assert_cmpuint (state.messages->len, ==, 1);

  listen_state_clear (&state);
}

/* Finalizing a listening channel closes it (listening holds no strong
 * reference that would keep it alive). */
static void
test_listen_finalize (void)
{
  guint before;
  GipcChannel *reader = NULL;
  GipcChannel *writer = NULL;
  ListenState state;

  /* GLib's own fds (the default context's wakeup fd) exist before. */
  gipc_test_drain_context (g_main_context_default ());
  before = gipc_test_count_fds ();

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  listen_state_init (&state, reader);
  gipc_channel_listen (reader);
  gipc_test_send_str (writer, "one");
  gipc_test_run_until (NULL, &state.got_message);

  g_object_add_weak_pointer (G_OBJECT (reader), (gpointer *) &reader);
  g_object_unref (reader);
  g_assert_null (reader);
  gipc_test_drain_context (g_main_context_default ());
  g_assert_cmpuint (state.n_errors, ==, 0);

  g_object_unref (writer);
  g_assert_cmpuint (gipc_test_count_fds (), ==, before);
  listen_state_clear (&state);
}

/* ---------------------------------------------------------------------- */
/* GVariant payloads that do not decode */

static void
test_variant_invalid_payload (void)
{
  static const char *const bad[] = { "hello", "" };
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  gsize i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);

  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GVariant) next = NULL;
      g_autoptr(GAsyncResult) result = NULL;

      gipc_test_send_str (writer, bad[i]);
      value = gipc_channel_receive_variant (reader, NULL, &error);
      g_assert_null (value);
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
      g_clear_error (&error);

      gipc_test_send_str (writer, bad[i]);
      gipc_channel_receive_variant_async (reader, NULL, gipc_test_result_cb, &result);
      gipc_test_run_until_result (NULL, &result);
      value = gipc_channel_receive_variant_finish (reader, result, &error);
      g_assert_null (value);
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
      g_clear_error (&error);

      /* The bad message was consumed whole: the next one decodes. */
      g_assert_true (gipc_channel_send_variant (writer, g_variant_new_uint32 (7), NULL, &error));
      g_assert_no_error (error);
      next = gipc_channel_receive_variant (reader, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_variant_get_uint32 (next), ==, 7);
    }
}

/* ---------------------------------------------------------------------- */
/* A socket peer that closed with our data unread (ECONNRESET) */

/* Writes one fd-format frame (8-byte header, inline payload) of @text. */
static void
write_socket_frame (int          fd,
                    const gchar *text)
{
  gsize len = strlen (text);
  guint8 header[8] = { (guint8) (len >> 24), (guint8) (len >> 16), (guint8) (len >> 8), (guint8) len, 0, 0, 0, 0 };

  gipc_test_write_all (fd, header, sizeof header);
  gipc_test_write_all (fd, text, len);
}

/* A channel over one end of a socketpair; the peer (the raw other end)
 * sends "one", "two", "three" and @tail, then closes its end. With
 * @unread, a message of ours is unread in the peer's receive queue when it
 * closes: the kernel then gives our reads ECONNRESET (after the data the
 * peer sent) instead of the end of file. */
static GipcChannel *
make_reset_reader (gboolean      unread,
                   const guint8 *tail,
                   gsize         tail_len)
{
  g_autoptr(GError) error = NULL;
  GipcChannel *channel;
  int sv[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  channel = gipc_channel_new_from_fds (sv[0], sv[0], &error);
  g_assert_no_error (error);
  if (unread)
    gipc_test_send_str (channel, "never read");
  write_socket_frame (sv[1], "one");
  write_socket_frame (sv[1], "two");
  write_socket_frame (sv[1], "three");
  if (tail_len > 0)
    gipc_test_write_all (sv[1], tail, tail_len);
  close (sv[1]);
  return channel;
}

/* Every whole message, then PEER_CLOSED: the same as the end of file
 * (it was GIPC_ERROR_FAILED "Connection reset by peer"), sync and async,
 * and again on the next receive. */
static void
test_eof_socket_reset (void)
{
  guint round;

  for (round = 0; round < 4; round++)
    {
      gboolean unread = round < 2, async = round % 2 == 1;
      g_autoptr(GipcChannel) reader = make_reset_reader (unread, NULL, 0);

      if (async)
        {
          const gchar *expected[] = { "one", "two", "three" };
          guint i;

          for (i = 0; i < G_N_ELEMENTS (expected); i++)
            {
              g_autoptr(GBytes) message = receive_async_ok (reader);

              gipc_test_assert_bytes_str (message, expected[i]);
            }
        }
      else
        {
          gipc_test_receive_str (reader, "one");
          gipc_test_receive_str (reader, "two");
          gipc_test_receive_str (reader, "three");
        }
      gipc_test_receive_expect_error (reader, async, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
      gipc_test_receive_expect_error (reader, !async, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
      gipc_test_close_ok (reader);
    }
}

/* Mid-frame, a reset is the same truncation error as an end of file. */
static void
test_eof_socket_reset_mid_frame (void)
{
  static const guint8 partial[] = { 0, 0, 0, 5, 0, 0, 0, 0, 'a', 'b' };
  gsize cut[] = { 3, 8, sizeof partial };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cut) * 2; i++)
    {
      gboolean async = i % 2 == 1;
      g_autoptr(GipcChannel) eof = make_reset_reader (FALSE, partial, cut[i / 2]);
      g_autoptr(GipcChannel) reset = make_reset_reader (TRUE, partial, cut[i / 2]);
      g_autoptr(GError) eof_error = NULL;
      g_autoptr(GError) reset_error = NULL;
      g_autoptr(GBytes) none1 = NULL;
      g_autoptr(GBytes) none2 = NULL;

      gipc_test_receive_str (eof, "one");
      gipc_test_receive_str (eof, "two");
      gipc_test_receive_str (eof, "three");
      gipc_test_receive_str (reset, "one");
      gipc_test_receive_str (reset, "two");
      gipc_test_receive_str (reset, "three");
      gipc_test_receive_expect_error (reset, async, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
      none1 = gipc_channel_receive (eof, NULL, &eof_error);
      none2 = gipc_channel_receive (reset, NULL, &reset_error);
      g_assert_null (none1);
      g_assert_null (none2);
      g_assert_error (eof_error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
      g_assert_error (reset_error, eof_error->domain, eof_error->code);
      g_assert_cmpstr (reset_error->message, ==, eof_error->message);
    }
}

/* Listening: three "message"s, then "error" once with PEER_CLOSED, as at
 * an end of file. */
static void
test_listen_socket_reset (void)
{
  guint round;

  for (round = 0; round < 2; round++)
    {
      g_autoptr(GipcChannel) reader = make_reset_reader (round == 0, NULL, 0);
      ListenState state;

      listen_state_init (&state, reader);
      gipc_channel_listen (reader);
      gipc_test_run_until (NULL, &state.got_error);
      g_assert_cmpuint (state.messages->len, ==, 3);
      gipc_test_assert_bytes_str (g_ptr_array_index (state.messages, 0), "one");
      gipc_test_assert_bytes_str (g_ptr_array_index (state.messages, 1), "two");
      gipc_test_assert_bytes_str (g_ptr_array_index (state.messages, 2), "three");
      g_assert_error (state.error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
      gipc_test_drain_context (g_main_context_default ());
      g_assert_cmpuint (state.n_errors, ==, 1);
      g_assert_cmpuint (state.n_messages_after_error, ==, 0);
      listen_state_clear (&state);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  gipc_test_add_func ("/channel/eof/boundary", test_eof_boundary);
  gipc_test_add_func ("/channel/eof/mid-header", test_eof_mid_header);
  gipc_test_add_func ("/channel/eof/after-header", test_eof_after_header);
  gipc_test_add_func ("/channel/eof/mid-body", test_eof_mid_body);
  gipc_test_add_func ("/channel/eof/data-then-close", test_eof_data_then_close);
  gipc_test_add_func ("/channel/eof/pending-receives", test_eof_pending_receives);
  gipc_test_add_func ("/channel/eof/duplex", test_eof_duplex);
  gipc_test_add_func ("/channel/eof/peer-killed", test_eof_peer_killed);
  gipc_test_add_func ("/channel/eof/socket-reset", test_eof_socket_reset);
  gipc_test_add_func ("/channel/eof/socket-reset-mid-frame", test_eof_socket_reset_mid_frame);
  gipc_test_add_func ("/channel/listen/socket-reset", test_listen_socket_reset);

  gipc_test_add_func ("/channel/timeout/sync", test_timeout_sync);
  gipc_test_add_func ("/channel/timeout/async", test_timeout_async);
  gipc_test_add_func ("/channel/timeout/partial-message", test_timeout_partial_message);
  gipc_test_add_func ("/channel/timeout/partial-message-sync", test_timeout_partial_message_sync);

  gipc_test_add_func ("/channel/max-message-size/header-only", test_max_size_header_only);
  gipc_test_add_func ("/channel/max-message-size/negative", test_max_size_negative);
  gipc_test_add_func ("/channel/max-message-size/exact", test_max_size_exact);

  gipc_test_add_func ("/channel/sigpipe/sync", test_sigpipe_sync);
  gipc_test_add_func ("/channel/sigpipe/sync-null-error", test_sigpipe_sync_null_error);
  gipc_test_add_func ("/channel/sigpipe/async", test_sigpipe_async);
  gipc_test_add_func ("/channel/sigpipe/large-partial", test_sigpipe_large_partial);
  gipc_test_add_func ("/channel/sigpipe/fire-and-forget", test_sigpipe_fire_and_forget);
  gipc_test_add_func ("/channel/sigpipe/duplex", test_sigpipe_duplex);

  gipc_test_add_func ("/channel/close/use-after-close", test_close_use_after_close);
  gipc_test_add_func ("/channel/close/pending-receive", test_close_pending_receive);
  gipc_test_add_func ("/channel/close/pending-receive-duplex", test_close_pending_receive_duplex);
  gipc_test_add_func ("/channel/close/pending-send", test_close_pending_send);
  gipc_test_add_func ("/channel/close/pending-send-duplex", test_close_pending_send_duplex);
  gipc_test_add_func ("/channel/close/sync-while-async", test_close_sync_while_async);
  gipc_test_add_func ("/channel/close/pending-fire-and-forget", test_close_pending_fire_and_forget);
  gipc_test_add_func ("/channel/close/finalize-pending-fire-and-forget",
                      test_close_finalize_pending_fire_and_forget);

  gipc_test_add_func ("/channel/new-from-fds/no-fds", test_new_from_fds_no_fds);

  gipc_test_add_func ("/channel/cancel/receive-pending", test_cancel_receive_pending);
  gipc_test_add_func ("/channel/cancel/receive-sync", test_cancel_receive_sync);
  gipc_test_add_func ("/channel/cancel/before", test_cancel_before);
  gipc_test_add_func ("/channel/cancel/receive-partial", test_cancel_receive_partial);
  gipc_test_add_func ("/channel/cancel/receive-partial-large", test_cancel_receive_partial_large);
  gipc_test_add_func ("/channel/cancel/receive-sync-partial", test_cancel_receive_sync_partial);
  gipc_test_add_func ("/channel/cancel/send-before-start", test_cancel_send_before_start);
  gipc_test_add_func ("/channel/cancel/send-after-start", test_cancel_send_after_start);
  gipc_test_add_func ("/channel/cancel/send-sync-after-start", test_cancel_send_sync_after_start);

  gipc_test_add_func ("/channel/listen/peer-closed", test_listen_peer_closed);
  gipc_test_add_func ("/channel/listen/stream-errors", test_listen_stream_errors);
  gipc_test_add_func ("/channel/listen/receive-locked", test_listen_receive_locked);
  gipc_test_add_func ("/channel/listen/close", test_listen_close);
  gipc_test_add_func ("/channel/listen/finalize", test_listen_finalize);

  gipc_test_add_func ("/channel/variant/invalid-payload", test_variant_invalid_payload);

  return g_test_run ();
}
