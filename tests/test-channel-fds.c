/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * File descriptors on messages (DESIGN.md, "File descriptors and shared
 * memory"): UNIX_FDS pairs, the three receive styles, the fd wire format
 * as a raw peer sees it, frame boundaries and read boundaries, the error
 * paths a hostile peer can reach, and that no received fd is ever left
 * open when a message is dropped. Every test checks the process's fd
 * count at its end.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixfdlist.h>
#include <gipc-glib/gipc-glib.h>

#include "gipc-glib/gipc-shared-memory-private.h"
#include "test-util.h"

/* A pipe whose read end reads back @text (the write end is closed). */
static int
text_fd (const char *text)
{
  int p[2];

  g_assert_no_errno (pipe2 (p, O_CLOEXEC));
  gipc_test_write_all (p[1], text, strlen (text));
  close (p[1]);
  return p[0];
}

/* A list of @n fds reading "TAG-0", "TAG-1", ... */
static GUnixFDList *
text_fd_list (const char *tag,
              guint       n)
{
  GUnixFDList *list = g_unix_fd_list_new ();

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("%s-%u", tag, i);
      int fd = text_fd (text);

      g_assert_cmpint (g_unix_fd_list_append (list, fd, NULL), ==, (int) i);
      close (fd);
    }

  return list;
}

static char *
read_fd_text (int fd)
{
  char buffer[256];
  ssize_t n;

  do
    n = read (fd, buffer, sizeof buffer - 1);
  while (n < 0 && errno == EINTR);
  g_assert_cmpint (n, >=, 0);
  buffer[n] = '\0';
  return g_strdup (buffer);
}

/* A raw peer's write: @data in one sendmsg on @sock, with @n_fds fds (an
 * SCM_RIGHTS message, zeroed padding) on its first byte; all of it must
 * go. */
static void
raw_sendmsg (int           sock,
             gconstpointer data,
             gsize         len,
             const int    *fds,
             guint         n_fds)
{
  union
  {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int) * GIPC_CHANNEL_MAX_FDS_PER_MESSAGE)];
  } control;
  struct iovec iov = { (void *) data, len };
  struct msghdr msg = { 0 };

  g_assert_cmpuint (n_fds, <=, GIPC_CHANNEL_MAX_FDS_PER_MESSAGE);
  memset (&control, 0, sizeof control);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (n_fds > 0)
    {
      struct cmsghdr *cmsg;

      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE (sizeof (int) * n_fds);
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
      memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * n_fds);
    }
  g_assert_cmpint (sendmsg (sock, &msg, 0), ==, (gssize) len);
}

/* Each fd of @fds is open, close-on-exec and reads "TAG-i". */
static void
assert_text_fds (GUnixFDList *fds,
                 const char  *tag,
                 guint        n)
{
  const int *peek;

  if (n == 0)
    {
      g_assert_null (fds);
      return;
    }

  g_assert_nonnull (fds);
  g_assert_cmpint (g_unix_fd_list_get_length (fds), ==, (int) n);
  peek = g_unix_fd_list_peek_fds (fds, NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *expected = g_strdup_printf ("%s-%u", tag, i);
      g_autofree char *got = read_fd_text (peek[i]);

      g_assert_true (gipc_test_fd_is_cloexec (peek[i]));
      g_assert_cmpstr (got, ==, expected);
    }
}

static void
assert_bytes_text (GBytes     *bytes,
                   const char *text)
{
  g_assert_nonnull (bytes);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   text, strlen (text));
}

/* ---------------------------------------------------------------------- */

static void
test_pair_flags (void)
{
  GipcPipeFlags variants[] = {
    GIPC_PIPE_FLAGS_UNIX_FDS, GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX,
  };

  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      g_autoptr(GipcChannel) a = NULL;
      g_autoptr(GipcChannel) b = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) got = NULL;
      g_autoptr(GBytes) message = gipc_test_text_bytes ("hello");
      gboolean duplex = (variants[v] & GIPC_PIPE_FLAGS_DUPLEX) != 0;
      gboolean can_pass = FALSE;

      gipc_test_make_pipe (variants[v], &a, &b);
      g_assert_true (gipc_channel_get_can_pass_fds (a));
      g_object_get (b, "can-pass-fds", &can_pass, NULL);
      g_assert_true (can_pass);
      g_assert_true (gipc_channel_get_can_receive (a));
      g_assert_cmpint (gipc_channel_get_can_send (a), ==, duplex);
      g_assert_true (gipc_channel_get_can_send (b));
      g_assert_cmpint (gipc_channel_get_can_receive (b), ==, duplex);

      g_assert_true (gipc_channel_send (b, message, NULL, &error));
      g_assert_no_error (error);
      got = gipc_channel_receive (a, NULL, &error);
      g_assert_no_error (error);
      assert_bytes_text (got, "hello");
    }

  /* Pipes cannot. */
  {
    g_autoptr(GipcChannel) a = NULL;
    g_autoptr(GipcChannel) b = NULL;

    gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &a, &b);
    g_assert_false (gipc_channel_get_can_pass_fds (a));
    g_assert_false (gipc_channel_get_can_pass_fds (b));
  }
}

static void
test_sync (void)
{
  g_autoptr(GipcChannel) a = NULL;
  g_autoptr(GipcChannel) b = NULL;
  g_autoptr(GError) error = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &a, &b);

  for (guint n = 0; n <= 4; n++)
    {
      g_autoptr(GUnixFDList) sent = text_fd_list ("sync", n);
      g_autoptr(GUnixFDList) got_fds = NULL;
      g_autoptr(GBytes) message = gipc_test_text_bytes ("with fds");
      g_autoptr(GBytes) got = NULL;

      g_assert_true (gipc_channel_send_with_fds (a, message, sent, NULL, &error));
      g_assert_no_error (error);
      got = gipc_channel_receive_with_fds (b, &got_fds, NULL, &error);
      g_assert_no_error (error);
      assert_bytes_text (got, "with fds");
      assert_text_fds (got_fds, "sync", n);
    }

  /* A NULL list sends a plain message; a plain message arrives with no
   * fds. */
  {
    g_autoptr(GBytes) message = gipc_test_text_bytes ("plain");
    g_autoptr(GUnixFDList) got_fds = NULL;
    g_autoptr(GBytes) got = NULL;

    g_assert_true (gipc_channel_send_with_fds (a, message, NULL, NULL, &error));
    g_assert_no_error (error);
    got = gipc_channel_receive_with_fds (b, &got_fds, NULL, &error);
    g_assert_no_error (error);
    assert_bytes_text (got, "plain");
    g_assert_null (got_fds);
  }
}

static void
test_async (void)
{
  g_autoptr(GipcChannel) a = NULL;
  g_autoptr(GipcChannel) b = NULL;
  g_autoptr(GError) error = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &b, &a);

  for (guint n = 0; n <= 3; n++)
    {
      g_autoptr(GUnixFDList) sent = text_fd_list ("async", n);
      g_autoptr(GUnixFDList) got_fds = NULL;
      g_autoptr(GBytes) message = gipc_test_text_bytes ("m");
      g_autoptr(GBytes) got = NULL;
      g_autoptr(GAsyncResult) send_result = NULL;
      g_autoptr(GAsyncResult) receive_result = NULL;

      gipc_channel_send_with_fds_async (a, message, sent, NULL, gipc_test_result_cb, &send_result);
      /* receive_with_fds_finish finishes both receives. */
      if (n % 2 == 0)
        gipc_channel_receive_with_fds_async (b, NULL, gipc_test_result_cb, &receive_result);
      else
        gipc_channel_receive_async (b, NULL, gipc_test_result_cb, &receive_result);
      gipc_test_run_until_result (NULL, &send_result);
      g_assert_true (gipc_channel_send_with_fds_finish (a, send_result, &error));
      g_assert_no_error (error);
      gipc_test_run_until_result (NULL, &receive_result);
      got = gipc_channel_receive_with_fds_finish (b, receive_result, &got_fds, &error);
      g_assert_no_error (error);
      assert_bytes_text (got, "m");
      assert_text_fds (got_fds, "async", n);
    }
}

typedef struct
{
  guint messages;
  guint with_fds;
  GPtrArray *texts;   /* what the fds read, per message-with-fds */
  gboolean ended;
} PushState;

static void
push_message_cb (GipcChannel *channel,
                 GBytes      *message,
                 gpointer     user_data)
{
  PushState *state = user_data;

  state->messages++;
}

static void
push_message_with_fds_cb (GipcChannel *channel,
                          GBytes      *message,
                          GUnixFDList *fds,
                          gpointer     user_data)
{
  PushState *state = user_data;
  const int *peek = g_unix_fd_list_peek_fds (fds, NULL);

  state->with_fds++;
  g_ptr_array_add (state->texts, read_fd_text (peek[0]));
}

static void
push_error_cb (GipcChannel  *channel,
               const GError *error,
               gpointer      user_data)
{
  PushState *state = user_data;

  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  state->ended = TRUE;
}

static void
test_listen (void)
{
  for (guint with_handler = 0; with_handler < 2; with_handler++)
    {
      GipcChannel *a = NULL, *b = NULL;
      PushState state = { 0 };
      g_autoptr(GError) error = NULL;

      state.texts = g_ptr_array_new_with_free_func (g_free);
      gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &b, &a);
      g_signal_connect (b, "message", G_CALLBACK (push_message_cb), &state);
      g_signal_connect (b, "error", G_CALLBACK (push_error_cb), &state);
      if (with_handler)
        g_signal_connect (b, "message-with-fds", G_CALLBACK (push_message_with_fds_cb), &state);
      gipc_channel_listen (b);

      for (guint i = 0; i < 6; i++)
        {
          g_autofree char *tag = g_strdup_printf ("push%u", i);
          g_autoptr(GUnixFDList) fds = text_fd_list (tag, i % 2);
          g_autoptr(GBytes) message = gipc_test_text_bytes (tag);

          g_assert_true (gipc_channel_send_with_fds (a, message, fds, NULL, &error));
          g_assert_no_error (error);
        }
      g_clear_object (&a);
      gipc_test_run_until (NULL, &state.ended);

      if (with_handler)
        {
          g_assert_cmpuint (state.messages, ==, 3);
          g_assert_cmpuint (state.with_fds, ==, 3);
          g_assert_cmpstr (state.texts->pdata[0], ==, "push1-0");
          g_assert_cmpstr (state.texts->pdata[1], ==, "push3-0");
          g_assert_cmpstr (state.texts->pdata[2], ==, "push5-0");
        }
      else
        {
          /* Without a handler for them, every message is a "message" and
           * the fds are closed (the fd check of gipc_test_run_fd_checked). */
          g_assert_cmpuint (state.messages, ==, 6);
          g_assert_cmpuint (state.with_fds, ==, 0);
        }
      g_ptr_array_unref (state.texts);
      g_object_unref (b);
    }
}

/* Many messages, with and without fds, queued at once: they go out in few
 * writes and are read in few reads, and each message's fds are its own. */
static void
test_boundaries (void)
{
  g_autoptr(GipcChannel) a = NULL;
  g_autoptr(GipcChannel) b = NULL;
  g_autoptr(GError) error = NULL;
  const guint n_messages = 60;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &b, &a);
  gipc_channel_set_shared_memory_threshold (a, 0);

  for (guint i = 0; i < n_messages; i++)
    {
      g_autofree char *tag = g_strdup_printf ("b%u", i);
      g_autoptr(GUnixFDList) fds = text_fd_list (tag, i % 4);
      /* Some messages are large, so their fds arrive long before the
       * message is whole. */
      gsize size = i % 7 == 3 ? 300 * KiB : 16;
      g_autoptr(GBytes) message = gipc_test_pattern_bytes (size, i);

      gipc_channel_send_with_fds_async (a, message, fds, NULL, NULL, NULL);
    }

  for (guint i = 0; i < n_messages; i++)
    {
      g_autofree char *tag = g_strdup_printf ("b%u", i);
      g_autoptr(GUnixFDList) fds = NULL;
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GBytes) got = NULL;

      gipc_channel_receive_async (b, NULL, gipc_test_result_cb, &result);
      gipc_test_run_until_result (NULL, &result);
      got = gipc_channel_receive_with_fds_finish (b, result, &fds, &error);
      g_assert_no_error (error);
      gipc_test_assert_pattern (got, i % 7 == 3 ? 300 * KiB : 16, i);
      assert_text_fds (fds, tag, i % 4);
    }
}

/* What a raw peer sees: an 8-byte header, the fds with the first byte. */
static void
test_wire_format (void)
{
  g_autoptr(GipcChannel) channel = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fds = text_fd_list ("wire", 2);
  g_autoptr(GBytes) message = gipc_test_text_bytes ("abc");
  guint8 buffer[64];
  union
  {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int) * 4)];
  } control;
  struct iovec iov = { buffer, sizeof buffer };
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  int received[2];
  ssize_t n;
  int sv[2];
  static const guint8 header[8] = { 0, 0, 0, 3, 0, 2, 0, 0 };

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  channel = gipc_channel_new_from_fds (sv[0], sv[0], &error);
  g_assert_no_error (error);
  g_assert_true (gipc_channel_send_with_fds (channel, message, fds, NULL, &error));
  g_assert_no_error (error);

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  n = recvmsg (sv[1], &msg, MSG_CMSG_CLOEXEC);
  g_assert_cmpint (n, ==, 8 + 3);
  g_assert_cmpmem (buffer, 8, header, 8);
  g_assert_cmpmem (buffer + 8, 3, "abc", 3);
  cmsg = CMSG_FIRSTHDR (&msg);
  g_assert_nonnull (cmsg);
  g_assert_cmpint (cmsg->cmsg_level, ==, SOL_SOCKET);
  g_assert_cmpint (cmsg->cmsg_type, ==, SCM_RIGHTS);
  g_assert_cmpuint (cmsg->cmsg_len, ==, CMSG_LEN (sizeof received));
  memcpy (received, CMSG_DATA (cmsg), sizeof received);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *expected = g_strdup_printf ("wire-%u", i);
      g_autofree char *got = read_fd_text (received[i]);

      g_assert_cmpstr (got, ==, expected);
      close (received[i]);
    }

  /* And the other way: a raw peer's frame with an fd. */
  {
    guint8 frame[8 + 2] = { 0, 0, 0, 2, 0, 1, 0, 0, 'h', 'i' };
    int fd = text_fd ("raw-0");
    g_autoptr(GUnixFDList) got_fds = NULL;
    g_autoptr(GBytes) got = NULL;

    raw_sendmsg (sv[1], frame, sizeof frame, &fd, 1);
    close (fd);

    got = gipc_channel_receive_with_fds (channel, &got_fds, NULL, &error);
    g_assert_no_error (error);
    assert_bytes_text (got, "hi");
    assert_text_fds (got_fds, "raw", 1);
  }

  close (sv[1]);
}

/* The send fails before anything is written. */
static void
test_send_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = gipc_test_text_bytes ("x");

  {
    g_autoptr(GipcChannel) a = NULL;
    g_autoptr(GipcChannel) b = NULL;
    g_autoptr(GUnixFDList) fds = text_fd_list ("no", 1);
    g_autoptr(GAsyncResult) result = NULL;

    gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &b, &a);
    g_assert_false (gipc_channel_send_with_fds (a, message, fds, NULL, &error));
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
    g_clear_error (&error);
    gipc_channel_send_with_fds_async (a, message, fds, NULL, gipc_test_result_cb, &result);
    gipc_test_run_until_result (NULL, &result);
    g_assert_false (gipc_channel_send_with_fds_finish (a, result, &error));
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
    g_clear_error (&error);
    g_assert_cmpuint (gipc_channel_get_queued_bytes (a), ==, 0);
  }

  {
    g_autoptr(GipcChannel) a = NULL;
    g_autoptr(GipcChannel) b = NULL;
    g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
    g_autoptr(GUnixFDList) got_fds = NULL;
    g_autoptr(GBytes) got = NULL;
    g_autoptr(GBytes) refused = gipc_test_text_bytes ("refused");
    int fd = text_fd ("many");

    for (guint i = 0; i < GIPC_CHANNEL_MAX_FDS_PER_MESSAGE + 1; i++)
      g_assert_cmpint (g_unix_fd_list_append (fds, fd, NULL), >=, 0);
    close (fd);

    gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &b, &a);
    g_assert_false (gipc_channel_send_with_fds (a, refused, fds, NULL, &error));
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
    g_clear_error (&error);
    g_assert_cmpuint (gipc_channel_get_queued_bytes (a), ==, 0);

    /* Exactly the maximum works. */
    {
      g_autoptr(GUnixFDList) max = g_unix_fd_list_new_from_array (NULL, 0);
      const int *peek = g_unix_fd_list_peek_fds (fds, NULL);

      for (guint i = 0; i < GIPC_CHANNEL_MAX_FDS_PER_MESSAGE; i++)
        g_assert_cmpint (g_unix_fd_list_append (max, peek[i], NULL), >=, 0);
      g_assert_true (gipc_channel_send_with_fds (a, message, max, NULL, &error));
      g_assert_no_error (error);
    }
    /* The refused message never went out: this one is the first. */
    got = gipc_channel_receive_with_fds (b, &got_fds, NULL, &error);
    g_assert_no_error (error);
    assert_bytes_text (got, "x");
    g_assert_cmpint (g_unix_fd_list_get_length (got_fds), ==, GIPC_CHANNEL_MAX_FDS_PER_MESSAGE);
  }
}

/* Every way a received message can be dropped closes its fds (the fd
 * count of gipc_test_run_fd_checked comes back). */
static void
test_dropped (void)
{
  g_autoptr(GError) error = NULL;

  for (guint way = 0; way < 5; way++)
    {
      GipcChannel *a = NULL, *b = NULL;
      g_autoptr(GBytes) message = gipc_test_text_bytes ("dropped");

      gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &b, &a);
      for (guint i = 0; i < 3; i++)
        {
          g_autoptr(GUnixFDList) fds = text_fd_list ("drop", 3);

          g_assert_true (gipc_channel_send_with_fds (a, message, fds, NULL, &error));
          g_assert_no_error (error);
        }
      g_clear_object (&a);

      switch (way)
        {
        case 0:
          /* A plain receive. */
          for (guint i = 0; i < 3; i++)
            {
              g_autoptr(GBytes) got = gipc_channel_receive (b, NULL, &error);

              g_assert_no_error (error);
              assert_bytes_text (got, "dropped");
            }
          break;
        case 1:
          /* receive_with_fds without a place for them. */
          {
            g_autoptr(GBytes) got = gipc_channel_receive_with_fds (b, NULL, NULL, &error);

            g_assert_no_error (error);
          }
          break;
        case 2:
          /* A plain receive_finish. */
          {
            g_autoptr(GAsyncResult) result = NULL;
            g_autoptr(GBytes) got = NULL;

            gipc_channel_receive_async (b, NULL, gipc_test_result_cb, &result);
            gipc_test_run_until_result (NULL, &result);
            got = gipc_channel_receive_finish (b, result, &error);
            g_assert_no_error (error);
          }
          break;
        case 3:
          /* Messages read into the channel, never taken, then closed:
           * one receive reads all three into the inbox. */
          {
            g_autoptr(GBytes) got = gipc_channel_receive (b, NULL, &error);

            g_assert_no_error (error);
            g_assert_true (gipc_channel_close (b, &error));
            g_assert_no_error (error);
          }
          break;
        case 4:
          /* The same, dropped by the last unref. */
          {
            g_autoptr(GBytes) got = gipc_channel_receive (b, NULL, &error);

            g_assert_no_error (error);
          }
          break;
        default:
          g_assert_not_reached ();
        }
      g_object_unref (b);
    }
}

/* A raw peer writes @wire (with @n_fds copies of an fd on its first byte)
 * into a UNIX_FDS channel, then closes; the receive fails with @code and
 * nothing stays open. */
static void
expect_hostile (const guint8 *wire,
                gsize         len,
                guint         n_fds,
                GQuark        domain,
                gint          code)
{
  g_autoptr(GipcChannel) channel = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;
  int fds[GIPC_CHANNEL_MAX_FDS_PER_MESSAGE];
  int sv[2];
  int fd = text_fd ("hostile");

  g_assert_cmpuint (n_fds, <=, G_N_ELEMENTS (fds));
  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  channel = gipc_channel_new_from_fds (sv[0], sv[0], &error);
  g_assert_no_error (error);

  for (guint i = 0; i < n_fds; i++)
    fds[i] = fd;
  raw_sendmsg (sv[1], wire, len, fds, n_fds);
  close (fd);
  close (sv[1]);

  got = gipc_channel_receive (channel, NULL, &error);
  g_assert_null (got);
  g_assert_error (error, domain, code);
  g_clear_error (&error);
  /* Sticky. */
  got = gipc_channel_receive (channel, NULL, &error);
  g_assert_null (got);
  g_assert_error (error, domain, code);
}

static void
test_hostile_headers (void)
{
  /* Announces two fds, none came. */
  {
    static const guint8 wire[] = { 0, 0, 0, 1, 0, 2, 0, 0, 'x' };

    expect_hostile (wire, sizeof wire, 0, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }
  /* Announces three, one came. */
  {
    static const guint8 wire[] = { 0, 0, 0, 1, 0, 3, 0, 0, 'x' };

    expect_hostile (wire, sizeof wire, 1, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }
  /* More than 253. */
  {
    static const guint8 wire[] = { 0, 0, 0, 1, 0, 254, 0, 0, 'x' };

    expect_hostile (wire, sizeof wire, 0, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }
  /* Unknown kind, reserved byte set. */
  {
    static const guint8 wire[] = { 0, 0, 0, 1, 0, 0, 7, 0, 'x' };

    expect_hostile (wire, sizeof wire, 0, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }
  {
    static const guint8 wire[] = { 0, 0, 0, 1, 0, 0, 0, 1, 'x' };

    expect_hostile (wire, sizeof wire, 0, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }
  /* A shared-memory frame without its memfd. */
  {
    static const guint8 wire[] = { 0, 0, 0, 16, 0, 0, 1, 0 };

    expect_hostile (wire, sizeof wire, 0, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }
  /* A shared-memory frame whose fd is a pipe, not a sealed memfd. */
  {
    static const guint8 wire[] = { 0, 0, 0, 16, 0, 1, 1, 0 };

    expect_hostile (wire, sizeof wire, 1, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }
  /* Truncated header and body, with the fds that came. */
  {
    static const guint8 wire[] = { 0, 0, 0, 9, 0, 1, 0, 0, 'x' };

    expect_hostile (wire, sizeof wire, 1, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }
  {
    static const guint8 wire[] = { 0, 0, 0, 9, 0 };

    expect_hostile (wire, sizeof wire, 2, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }
  /* Too large, with fds. */
  {
    static const guint8 wire[] = { 0x7f, 0, 0, 0, 0, 1, 0, 0 };

    expect_hostile (wire, sizeof wire, 1, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE);
  }
}

/* A peer that sends fds no frame claims cannot make the receiver hold
 * more than a bound of them. */
static void
test_hostile_unclaimed_fds (void)
{
  g_autoptr(GipcChannel) channel = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;
  int fds[GIPC_CHANNEL_MAX_FDS_PER_MESSAGE];
  int sv[2];
  int fd = text_fd ("unclaimed");
  guint before = gipc_test_count_fds ();
  guint received = 0;

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  channel = gipc_channel_new_from_fds (sv[0], sv[0], &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    fds[i] = fd;
  for (guint round = 0; round < 4; round++)
    {
      /* Frames that announce no fds, each sendmsg with 253 of them. */
      static const guint8 frame[] = { 0, 0, 0, 1, 0, 0, 0, 0, 'x' };

      raw_sendmsg (sv[1], frame, sizeof frame, fds, G_N_ELEMENTS (fds));
    }

  for (;;)
    {
      got = gipc_channel_receive (channel, NULL, &error);
      if (got == NULL)
        break;
      received++;
      g_clear_pointer (&got, g_bytes_unref);
      /* The unclaimed fds held never exceed the bound. */
      g_assert_cmpuint (gipc_test_count_fds (), <=, before + 2 + 2 * GIPC_CHANNEL_MAX_FDS_PER_MESSAGE);
    }
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  g_assert_cmpuint (received, <, 4);
  close (fd);
  close (sv[1]);
}

/* The receiver's fd table is full: the kernel cuts the fds off
 * (MSG_CTRUNC), which is an error, not a silent loss; also when not one of
 * them fits, where recvmsg gives no control data at all (found by the fds
 * fuzz target's author: the message then took the next message's fd). */
static void
test_ctrunc (void)
{
  if (gipc_test_running_on_valgrind ())
    {
      g_test_skip ("valgrind keeps its own fds at the top of the table and "
                   "does not pass RLIMIT_NOFILE on to the kernel");
      return;
    }

  for (guint room = 0; room <= 3; room += 3)
    {
      g_autoptr(GipcChannel) a = NULL;
      g_autoptr(GipcChannel) b = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GUnixFDList) first = text_fd_list ("trunc", room == 0 ? 1 : 8);
      g_autoptr(GUnixFDList) second = text_fd_list ("next", 1);
      g_autoptr(GBytes) message = gipc_test_text_bytes ("x");
      g_autoptr(GBytes) got = NULL;
      g_autoptr(GUnixFDList) got_fds = NULL;
      struct rlimit old_limit, limit;
      int lowest_free;

      gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &b, &a);
      g_assert_true (gipc_channel_send_with_fds (a, message, first, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (gipc_channel_send_with_fds (a, message, second, NULL, &error));
      g_assert_no_error (error);

      /* The limit is on fd numbers: the lowest free one, plus room. */
      lowest_free = dup (0);
      g_assert_cmpint (lowest_free, >=, 0);
      close (lowest_free);
      g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &old_limit));
      limit = old_limit;
      limit.rlim_cur = (rlim_t) lowest_free + room;
      g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &limit));
      got = gipc_channel_receive_with_fds (b, &got_fds, NULL, &error);
      g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &old_limit));

      /* Never the first message, and never with the next one's fd. */
      g_assert_null (got);
      g_assert_null (got_fds);
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
      g_assert_nonnull (strstr (error->message, "MSG_CTRUNC"));
    }
}

/* Spawn mode: a socket channel is announced as one fd twice, the child
 * makes an fd-capable channel of it and can pass fds both ways. */
static void
test_spawn (void)
{
  const char *helper = g_getenv ("GIPC_TEST_HELPER");
  const char *argv[] = { helper, "fd-cat", NULL };
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GipcChannel) mine = NULL;
  g_autoptr(GipcChannel) theirs = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (helper);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &mine, &theirs);
  process = gipc_process_new_for_argv (argv, &error);
  g_assert_no_error (error);
  gipc_process_pass_channel (process, theirs);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);

  for (guint n = 0; n < 3; n++)
    {
      g_autoptr(GUnixFDList) fds = text_fd_list ("spawn", n);
      g_autoptr(GUnixFDList) back = NULL;
      g_autoptr(GBytes) message = gipc_test_text_bytes ("req");
      g_autoptr(GBytes) reply = NULL;
      g_autoptr(GString) expected = g_string_new ("req:");

      for (guint i = 0; i < n; i++)
        g_string_append_printf (expected, "%sspawn-%u", i > 0 ? "," : "", i);
      g_assert_true (gipc_channel_send_with_fds (mine, message, fds, NULL, &error));
      g_assert_no_error (error);
      reply = gipc_channel_receive_with_fds (mine, &back, NULL, &error);
      g_assert_no_error (error);
      assert_bytes_text (reply, expected->str);
      if (n == 0)
        g_assert_null (back);
      else
        g_assert_cmpint (g_unix_fd_list_get_length (back), ==, (int) n);
    }

  g_assert_true (gipc_channel_close (mine, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
}


/* ---------------------------------------------------------------------- */
/* Large messages as shared memory                                         */

/* The permissions of the mapping that holds @address, from
 * /proc/self/maps ("r--s", ...), and whether it is a memfd. */
static char *
mapping_of (gconstpointer  address,
            gboolean      *is_memfd)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  guintptr where = (guintptr) address;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guintptr from, to;
      char perms[8];

      if (sscanf (lines[i], "%" G_GINTPTR_MODIFIER "x-%" G_GINTPTR_MODIFIER "x %7s",
                  &from, &to, perms) == 3 &&
          from <= where && where < to)
        {
          *is_memfd = strstr (lines[i], "/memfd:") != NULL;
          return g_strdup (perms);
        }
    }
  g_assert_not_reached ();
}

static void
assert_shared_read_only (GBytes *bytes)
{
  gboolean is_memfd = FALSE;
  g_autofree char *perms = mapping_of (g_bytes_get_data (bytes, NULL), &is_memfd);

  g_assert_true (is_memfd);
  g_assert_cmpstr (perms, ==, "r--s");
}

static GBytes *
round_trip (GipcChannel *from,
            GipcChannel *to,
            GBytes      *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GBytes *got;

  gipc_channel_send_async (from, message, NULL, NULL, NULL);
  gipc_channel_receive_async (to, NULL, gipc_test_result_cb, &result);
  gipc_test_run_until_result (NULL, &result);
  got = gipc_channel_receive_finish (to, result, &error);
  g_assert_no_error (error);
  return got;
}

static void
test_shm_threshold (void)
{
  g_autoptr(GipcChannel) a = NULL;
  g_autoptr(GipcChannel) b = NULL;
  guint64 threshold = 0;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &a, &b);
  g_assert_cmpuint (gipc_channel_get_shared_memory_threshold (a), ==,
                    GIPC_CHANNEL_DEFAULT_SHARED_MEMORY_THRESHOLD);
  g_object_get (a, "shared-memory-threshold", &threshold, NULL);
  g_assert_cmpuint (threshold, ==, 1 * MiB);

  /* At the threshold: shared memory, read-only, no copy on receipt. */
  {
    g_autoptr(GBytes) message = gipc_test_pattern_bytes (1 * MiB, 1);
    g_autoptr(GBytes) got = round_trip (a, b, message);

    gipc_test_assert_pattern (got, 1 * MiB, 1);
    g_assert_true (gipc_shared_memory_is_shared (got));
    assert_shared_read_only (got);
  }

  /* Below it: through the socket. */
  {
    g_autoptr(GBytes) message = gipc_test_pattern_bytes (1 * MiB - 1, 2);
    g_autoptr(GBytes) got = round_trip (a, b, message);

    gipc_test_assert_pattern (got, 1 * MiB - 1, 2);
    g_assert_false (gipc_shared_memory_is_shared (got));
  }

  /* 0: never, not even for shared bytes. */
  g_object_set (a, "shared-memory-threshold", (guint64) 0, NULL);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) message = gipc_shared_bytes_new_from_data ("tiny", 4, &error);
    g_autoptr(GBytes) large = gipc_test_pattern_bytes (4 * MiB, 3);
    g_autoptr(GBytes) got = NULL;
    g_autoptr(GBytes) got_large = NULL;

    g_assert_no_error (error);
    got = round_trip (a, b, message);
    assert_bytes_text (got, "tiny");
    g_assert_false (gipc_shared_memory_is_shared (got));
    got_large = round_trip (a, b, large);
    gipc_test_assert_pattern (got_large, 4 * MiB, 3);
    g_assert_false (gipc_shared_memory_is_shared (got_large));
  }

  /* A small threshold. */
  gipc_channel_set_shared_memory_threshold (a, 100);
  {
    g_autoptr(GBytes) message = gipc_test_pattern_bytes (100, 4);
    g_autoptr(GBytes) got = round_trip (a, b, message);

    gipc_test_assert_pattern (got, 100, 4);
    g_assert_true (gipc_shared_memory_is_shared (got));
  }
}

/* A GBytes built in place: sent without a copy, sealed, read-only for the
 * sender afterwards; the same bytes go twice and to two channels; what a
 * receiver got it can send on without a copy. */
static void
test_shm_in_place (void)
{
  g_autoptr(GipcChannel) a = NULL;
  g_autoptr(GipcChannel) b = NULL;
  g_autoptr(GipcChannel) c = NULL;
  g_autoptr(GipcChannel) d = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) image = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  g_autoptr(GBytes) third = NULL;
  g_autoptr(GBytes) echoed = NULL;
  gboolean is_memfd = FALSE;
  g_autofree char *perms = NULL;
  guint8 *pixels = NULL;
  gsize size = 2 * MiB + 17;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &a, &b);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &d, &c);

  image = gipc_shared_bytes_new (size, (gpointer *) &pixels, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < size; i++)
    pixels[i] = (guint8) (i * 7);
  perms = mapping_of (pixels, &is_memfd);
  g_assert_cmpstr (perms, ==, "rw-s");
  g_clear_pointer (&perms, g_free);

  first = round_trip (a, b, image);
  /* Sealed by the send: the sender's mapping is read-only now. */
  perms = mapping_of (pixels, &is_memfd);
  g_assert_cmpstr (perms, ==, "r--s");
  second = round_trip (a, b, image);
  third = round_trip (c, d, image);
  g_assert_true (g_bytes_equal (first, image));
  g_assert_true (g_bytes_equal (second, image));
  g_assert_true (g_bytes_equal (third, image));
  assert_shared_read_only (first);

  /* The receiver sends what it got back: a dup of the same memfd. */
  echoed = round_trip (b, a, first);
  g_assert_true (g_bytes_equal (echoed, image));
  g_assert_true (gipc_shared_memory_is_shared (echoed));
}

/* A program that keeps what it receives (a cache of decoded images): only
 * a budget of the received shared-memory messages keep their memfd open,
 * an eighth of the soft RLIMIT_NOFILE, so that their number is not bounded
 * by the fd table; those past it are still shared memory, mapped, and
 * sent on (one copy). Freed, they give their place back. */
static void
test_shm_kept_messages (void)
{
  g_autoptr(GipcChannel) a = NULL;
  g_autoptr(GipcChannel) b = NULL;
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  struct rlimit saved, limited;
  const guint n = 1000;
  guint budget, fds_before;

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &saved));
  limited = saved;
  limited.rlim_cur = 256;
  budget = (guint) MIN (GIPC_SHARED_MEMORY_MAX_KEPT_FDS, limited.rlim_cur / 8);
  g_assert_cmpuint (budget, ==, 32);
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &limited));

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &a, &b);
  gipc_channel_set_shared_memory_threshold (a, 100);
  gipc_channel_set_shared_memory_threshold (b, 100);
  fds_before = gipc_test_count_fds ();

  /* Four times as many as the fd table holds. */
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) message = gipc_test_pattern_bytes (128, i);
      GBytes *got = round_trip (a, b, message);

      gipc_test_assert_pattern (got, 128, i);
      g_assert_true (gipc_shared_memory_is_shared (got));
      g_ptr_array_add (kept, got);
    }
  g_assert_cmpuint (gipc_test_count_fds (), ==, fds_before + budget);

  /* Sent on, from inside the budget (a dup) and past it (a copy). */
  for (guint i = 0; i < n; i += n - 1)
    {
      GBytes *message = g_ptr_array_index (kept, i);
      g_autoptr(GBytes) echoed = round_trip (b, a, message);

      gipc_test_assert_pattern (echoed, 128, i);
      g_assert_true (gipc_shared_memory_is_shared (echoed));
    }
  for (guint i = 0; i < n; i++)
    gipc_test_assert_pattern (g_ptr_array_index (kept, i), 128, i);

  /* Freed, the budget is whole again. */
  g_ptr_array_set_size (kept, 0);
  g_assert_cmpuint (gipc_test_count_fds (), ==, fds_before);
  for (guint i = 0; i < budget + 5; i++)
    {
      g_autoptr(GBytes) message = gipc_test_pattern_bytes (128, i);

      g_ptr_array_add (kept, round_trip (a, b, message));
    }
  g_assert_cmpuint (gipc_test_count_fds (), ==, fds_before + budget);
  g_ptr_array_set_size (kept, 0);

  g_clear_object (&a);
  g_clear_object (&b);
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &saved));
}

/* Threads with their own contexts receive and keep shared-memory messages
 * at once: together they stay within the one budget of kept fds. */
#define KEPT_THREAD_MESSAGES 300

static gpointer
kept_messages_thread (gpointer data)
{
  GPtrArray *kept = data;
  GMainContext *context = g_main_context_new ();
  GipcChannel *a, *b;

  g_main_context_push_thread_default (context);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &a, &b);
  gipc_channel_set_shared_memory_threshold (a, 100);
  for (guint i = 0; i < KEPT_THREAD_MESSAGES; i++)
    {
      g_autoptr(GBytes) message = gipc_test_pattern_bytes (128, i);

      g_ptr_array_add (kept, round_trip (a, b, message));
    }
  g_object_unref (a);
  g_object_unref (b);
  gipc_test_drain_context (context);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static void
test_shm_kept_messages_threads (void)
{
  g_autoptr(GPtrArray) kept1 = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) kept2 = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GPtrArray *kept[2] = { kept1, kept2 };
  GThread *threads[2];
  struct rlimit saved, limited;
  guint fds_before;

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &saved));
  limited = saved;
  limited.rlim_cur = 256;
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &limited));
  fds_before = gipc_test_count_fds ();

  for (guint t = 0; t < 2; t++)
    threads[t] = g_thread_new ("kept-messages", kept_messages_thread, kept[t]);
  for (guint t = 0; t < 2; t++)
    g_thread_join (threads[t]);

  /* Both threads' channels are gone: what is left open is the budget. */
  g_assert_cmpuint (gipc_test_count_fds (), ==, fds_before + 256 / 8);
  for (guint t = 0; t < 2; t++)
    {
      g_assert_cmpuint (kept[t]->len, ==, KEPT_THREAD_MESSAGES);
      for (guint i = 0; i < KEPT_THREAD_MESSAGES; i++)
        {
          GBytes *message = g_ptr_array_index (kept[t], i);

          gipc_test_assert_pattern (message, 128, i);
          g_assert_true (gipc_shared_memory_is_shared (message));
        }
    }

  g_ptr_array_set_size (kept1, 0);
  g_ptr_array_set_size (kept2, 0);
  g_assert_cmpuint (gipc_test_count_fds (), ==, fds_before);
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, &saved));
}

/* A large message with fds: the memfd is the frame's first fd, the
 * message's own fds follow and arrive as the message's. */
static void
test_shm_with_fds (void)
{
  g_autoptr(GipcChannel) a = NULL;
  g_autoptr(GipcChannel) b = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fds = text_fd_list ("shm", 2);
  g_autoptr(GUnixFDList) got_fds = NULL;
  g_autoptr(GBytes) message = gipc_test_pattern_bytes (3 * MiB, 5);
  g_autoptr(GBytes) got = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_UNIX_FDS, &b, &a);
  g_assert_true (gipc_channel_send_with_fds (a, message, fds, NULL, &error));
  g_assert_no_error (error);
  got = gipc_channel_receive_with_fds (b, &got_fds, NULL, &error);
  g_assert_no_error (error);
  gipc_test_assert_pattern (got, 3 * MiB, 5);
  g_assert_true (gipc_shared_memory_is_shared (got));
  assert_text_fds (got_fds, "shm", 2);
}

/* A pipe channel sends shared bytes as an ordinary message. */
static void
test_shm_on_pipe (void)
{
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = gipc_shared_bytes_new_from_data ("on a pipe", 9, &error);
  g_autoptr(GBytes) got = NULL;

  g_assert_no_error (error);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w);
  got = round_trip (w, r, message);
  assert_bytes_text (got, "on a pipe");
  g_assert_false (gipc_shared_memory_is_shared (got));
}

/* A raw peer's shared-memory frame: a memfd that is not sealed, or sealed
 * with another size, or missing a seal, is refused; a right one is taken. */
static void
test_shm_hostile (void)
{
  for (guint variant = 0; variant < 4; variant++)
    {
      g_autoptr(GipcChannel) channel = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) got = NULL;
      static const guint8 frame[8] = { 0, 0, 0x10, 0, 0, 1, 1, 0 };   /* 4096 bytes, 1 fd, shared */
      int sv[2];
      int memfd = memfd_create ("gipc-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      int seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

      g_assert_cmpint (memfd, >=, 0);
      g_assert_no_errno (ftruncate (memfd, variant == 1 ? 4095 : 4096));
      gipc_test_write_all (memfd, "shared!", 7);
      if (variant == 2)
        seals &= ~F_SEAL_WRITE;
      if (variant != 0)
        g_assert_no_errno (fcntl (memfd, F_ADD_SEALS, seals));

      g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
      channel = gipc_channel_new_from_fds (sv[0], sv[0], &error);
      g_assert_no_error (error);
      raw_sendmsg (sv[1], frame, sizeof frame, &memfd, 1);
      close (memfd);
      close (sv[1]);

      got = gipc_channel_receive (channel, NULL, &error);
      if (variant == 3)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (g_bytes_get_size (got), ==, 4096);
          g_assert_cmpmem (g_bytes_get_data (got, NULL), 7, "shared!", 7);
        }
      else
        {
          g_assert_null (got);
          g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  gipc_test_warm_up_reaper ();
  g_test_summary ("File descriptors on messages over UNIX_FDS channels.");

  /* GTask's class opens GLib's worker context (an eventfd) once per
   * process: before the first fd count, not inside a test. */
  g_type_ensure (G_TYPE_TASK);
  g_object_unref (g_task_new (NULL, NULL, NULL, NULL));

  gipc_test_add_fd_checked ("/channel/fds/pair-flags", test_pair_flags);
  gipc_test_add_fd_checked ("/channel/fds/sync", test_sync);
  gipc_test_add_fd_checked ("/channel/fds/async", test_async);
  gipc_test_add_fd_checked ("/channel/fds/listen", test_listen);
  gipc_test_add_fd_checked ("/channel/fds/boundaries", test_boundaries);
  gipc_test_add_fd_checked ("/channel/fds/wire-format", test_wire_format);
  gipc_test_add_fd_checked ("/channel/fds/send-refused", test_send_refused);
  gipc_test_add_fd_checked ("/channel/fds/dropped", test_dropped);
  gipc_test_add_fd_checked ("/channel/fds/hostile/headers", test_hostile_headers);
  gipc_test_add_fd_checked ("/channel/fds/hostile/unclaimed-fds", test_hostile_unclaimed_fds);
  gipc_test_add_fd_checked ("/channel/fds/hostile/ctrunc", test_ctrunc);
  gipc_test_add_fd_checked ("/channel/fds/spawn", test_spawn);
  gipc_test_add_fd_checked ("/channel/fds/shared-memory/threshold", test_shm_threshold);
  gipc_test_add_fd_checked ("/channel/fds/shared-memory/in-place", test_shm_in_place);
  gipc_test_add_fd_checked ("/channel/fds/shared-memory/kept-messages", test_shm_kept_messages);
  gipc_test_add_fd_checked ("/channel/fds/shared-memory/kept-messages-threads", test_shm_kept_messages_threads);
  gipc_test_add_fd_checked ("/channel/fds/shared-memory/with-fds", test_shm_with_fds);
  gipc_test_add_fd_checked ("/channel/fds/shared-memory/on-pipe", test_shm_on_pipe);
  gipc_test_add_fd_checked ("/channel/fds/shared-memory/hostile", test_shm_hostile);

  return g_test_run ();
}
