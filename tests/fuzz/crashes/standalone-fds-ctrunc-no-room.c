/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Reproducer (standalone, not a libFuzzer input): an fd-capable channel
 * whose fd table has no free slot when the fds of a frame arrive loses
 * them silently, and the frame then takes the NEXT frame's fds.
 *
 * The kernel cuts SCM_RIGHTS off (MSG_CTRUNC) when it cannot install the
 * fds; if it could install none, it writes no control message at all, so
 * recvmsg returns msg_controllen == 0 with MSG_CTRUNC set.
 * gipc_transport_read () only calls take_received_fds () (which checks
 * MSG_CTRUNC) when msg_controllen > 0: the cut-off goes unnoticed. Frame A's
 * fd is gone; when A is whole (in the read that also brings frame B and
 * B's fd), A claims B's fd from the FIFO and is delivered with it; B then
 * fails with PROTOCOL. test-channel-fds's /fds/hostile/ctrunc leaves room
 * for a few fds, so it never sees this case.
 *
 * Expected: an error (PROTOCOL, "MSG_CTRUNC") before any message, never A
 * with B's fd. Exits 1 (with "BUG") when A comes with B's fd, 0 otherwise.
 *
 * Build and run (from the repo root, after run-fuzz.sh built $FUZZ_DIR/lib):
 *   lib=_build-fuzz/lib
 *   clang -g -fsanitize=address,undefined -D_GNU_SOURCE -I$lib -I$lib/gipc-glib -I. \
 *     tests/fuzz/crashes/standalone-fds-ctrunc-no-room.c \
 *     $lib/gipc-glib/libgipc-glib-internal.a $(pkg-config --cflags --libs gio-unix-2.0) \
 *     -o /tmp/ctrunc-no-room && /tmp/ctrunc-no-room
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

#define CHECK(cond) do { if (!(cond)) { \
  fprintf (stderr, "ctrunc-no-room: check failed at line %d: %s\n", __LINE__, #cond); \
  abort (); } } while (0)

static int got_tag = -1;
static gboolean done;
static GError *end_error;

/* A pipe's read end holding @tag. */
static int
tagged_fd (char tag)
{
  int p[2];

  CHECK (pipe2 (p, O_CLOEXEC) == 0);
  CHECK (write (p[1], &tag, 1) == 1);
  close (p[1]);
  return p[0];
}

static void
send_bytes (int          sock,
            const void  *data,
            size_t       len,
            int          fd)
{
  union { struct cmsghdr align; char buf[CMSG_SPACE (sizeof (int))]; } control;
  struct iovec iov = { (void *) data, len };
  struct msghdr msg = { 0 };

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
    }
  CHECK (sendmsg (sock, &msg, MSG_NOSIGNAL) == (ssize_t) len);
  if (fd >= 0)
    close (fd);
}

static void
message_with_fds_cb (GipcChannel *channel,
                     GBytes      *message,
                     GUnixFDList *fds,
                     gpointer     user_data)
{
  char tag = 0;

  CHECK (g_unix_fd_list_get_length (fds) == 1);
  CHECK (read (g_unix_fd_list_peek_fds (fds, NULL)[0], &tag, 1) == 1);
  if (got_tag < 0)
    got_tag = tag;
}

static void
error_cb (GipcChannel  *channel,
          const GError *error,
          gpointer      user_data)
{
  end_error = g_error_copy (error);
  done = TRUE;
}

int
main (void)
{
  /* Frame A: 16 payload bytes and 1 fd, its header and 4 bytes first;
   * frame B: 1 byte and 1 fd. */
  static const guint8 a_head[] = { 0, 0, 0, 16, 0, 1, 0, 0, 'a', 'a', 'a', 'a' };
  static const guint8 a_tail[] = { 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a' };
  static const guint8 b_frame[] = { 0, 0, 0, 1, 0, 1, 0, 0, 'b' };
  struct rlimit old_limit, limit;
  GMainContext *context = g_main_context_new ();
  GipcChannel *channel;
  int sv[2], lowest_free, queued;

  g_main_context_push_thread_default (context);
  CHECK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  channel = gipc_channel_new_from_fds (sv[0], sv[0], NULL);
  CHECK (channel != NULL && gipc_channel_get_can_pass_fds (channel));
  g_signal_connect (channel, "message-with-fds", G_CALLBACK (message_with_fds_cb), NULL);
  g_signal_connect (channel, "error", G_CALLBACK (error_cb), NULL);
  gipc_channel_listen (channel);

  /* A's first bytes with A's fd ("A"), while the receiver's fd table has
   * no free slot: the kernel can install none of the fds. */
  send_bytes (sv[1], a_head, sizeof a_head, tagged_fd ('A'));
  lowest_free = dup (0);
  CHECK (lowest_free >= 0);
  close (lowest_free);
  CHECK (getrlimit (RLIMIT_NOFILE, &old_limit) == 0);
  limit = old_limit;
  limit.rlim_cur = lowest_free;
  CHECK (setrlimit (RLIMIT_NOFILE, &limit) == 0);
  do
    {
      g_main_context_iteration (context, FALSE);
      CHECK (ioctl (sv[0], FIONREAD, &queued) == 0);
    }
  while (queued > 0 && !done);
  CHECK (setrlimit (RLIMIT_NOFILE, &old_limit) == 0);

  /* The rest of A, then B with its fd ("B"), read together. */
  send_bytes (sv[1], a_tail, sizeof a_tail, -1);
  send_bytes (sv[1], b_frame, sizeof b_frame, tagged_fd ('B'));
  close (sv[1]);
  while (!done)
    g_main_context_iteration (context, TRUE);

  printf ("first message's fd: %s; end: %s\n",
          got_tag < 0 ? "(no message)" : got_tag == 'A' ? "A" : got_tag == 'B' ? "B (frame B's)" : "?",
          end_error->message);

  gipc_channel_close (channel, NULL);
  g_object_unref (channel);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  if (got_tag == 'B')
    {
      printf ("BUG: frame A was delivered with frame B's fd (A's was cut off unnoticed)\n");
      g_error_free (end_error);
      return 1;
    }
  g_error_free (end_error);
  return 0;
}
