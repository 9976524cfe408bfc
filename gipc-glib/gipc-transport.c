/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>

#include "gipc-error.h"
#include "gipc-transport-private.h"

/* Large messages move through a pipe 64 KiB at a time by default. The
 * first large message asks for a bigger pipe; only then, because every pipe
 * counts against the user's pipe-buffer quota and small messages gain
 * nothing from it. A refusal (quota, not a pipe) is fine.
 *
 * The size was chosen by measurement (gipc-bench, 1 MiB messages, ratio to
 * a raw pipe; one CPU / two CPUs): 64 KiB 0.70x / 1.02x, 256 KiB 0.86x /
 * 4.3x, 512 KiB 0.88x / 4.6x, 1 MiB 0.70x / 4.4x (on one CPU a pipe that
 * large is read back after it has left the cache). */
#define LARGE_PIPE_SIZE (512 * 1024)

void
gipc_transport_set_io_error (GError     **error,
                             int          errsv,
                             const char  *what)
{
  g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
               "%s: %s", what, g_strerror (errsv));
}

gboolean
gipc_transport_fd_is_unix_socket (int fd)
{
  int domain = 0, type = 0;
  socklen_t len = sizeof domain;

  if (getsockopt (fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
    return FALSE;
  len = sizeof type;
  return getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

void
gipc_transport_init (GipcTransport *self,
                     int            read_fd,
                     int            write_fd)
{
  memset (self, 0, sizeof *self);
  self->read_fd = read_fd;
  self->write_fd = write_fd;

  /* fds travel only over one socket serving both directions (or one of
   * them): the framing puts them on the stream it reads. */
  if (read_fd >= 0 && (write_fd < 0 || write_fd == read_fd))
    self->is_socket = gipc_transport_fd_is_unix_socket (read_fd);
  else if (read_fd < 0 && write_fd >= 0)
    self->is_socket = gipc_transport_fd_is_unix_socket (write_fd);
}

gboolean
gipc_transport_prepare_fd (int      fd,
                           GError **error)
{
  int flags;

  if (!g_unix_set_fd_nonblocking (fd, TRUE, NULL))
    {
      gipc_transport_set_io_error (error, errno, "Could not make the file descriptor non-blocking");
      return FALSE;
    }

  flags = fcntl (fd, F_GETFD);
  if (flags < 0 || fcntl (fd, F_SETFD, flags | FD_CLOEXEC) < 0)
    {
      gipc_transport_set_io_error (error, errno, "Could not make the file descriptor close-on-exec");
      return FALSE;
    }

  return TRUE;
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    {
      int errsv = errno;

      close (*fd);
      *fd = -1;
      errno = errsv;
    }
}

static void
close_pending_fds (GipcTransport *self)
{
  if (self->pending_fds == NULL)
    return;

  for (guint i = 0; i < self->pending_fds->len; i++)
    close_fd (&g_array_index (self->pending_fds, int, i));
  g_clear_pointer (&self->pending_fds, g_array_unref);
}

void
gipc_transport_close (GipcTransport *self)
{
  /* Once each: closing a shared socket twice could close an fd that
   * another thread has just opened under the same number. */
  if (self->write_fd == self->read_fd)
    self->write_fd = -1;
  close_fd (&self->read_fd);
  close_fd (&self->write_fd);
  close_pending_fds (self);
}

void
gipc_transport_forget (GipcTransport *self)
{
  self->read_fd = -1;
  self->write_fd = -1;
  close_pending_fds (self);
}

gboolean
gipc_transport_can_pass_fds (const GipcTransport *self)
{
  return self->is_socket;
}

void
gipc_transport_grow_pipe (GipcTransport *self)
{
  if (self->pipe_grown || self->is_socket || self->write_fd < 0)
    return;

  self->pipe_grown = TRUE;
  if (fcntl (self->write_fd, F_GETPIPE_SZ) < LARGE_PIPE_SIZE)
    (void) fcntl (self->write_fd, F_SETPIPE_SZ, LARGE_PIPE_SIZE);
}

void
gipc_transport_begin_writes (GipcTransport           *self,
                             GipcTransportWriteGuard *guard)
{
  sigset_t pipe_set;

  guard->active = !self->is_socket;
  if (!guard->active)
    return;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, &guard->old_mask);
  guard->already_blocked = sigismember (&guard->old_mask, SIGPIPE);
}

/* After an EPIPE: take the SIGPIPE our write raised, unless the
 * application blocks SIGPIPE itself (then leave it as a plain write would
 * have). */
static void
consume_sigpipe (GipcTransportWriteGuard *guard)
{
  sigset_t pipe_set;
  struct timespec zero = { 0, 0 };
  int errsv = errno;

  if (!guard->active || guard->already_blocked)
    return;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  while (sigtimedwait (&pipe_set, NULL, &zero) < 0 && errno == EINTR)
    ;
  errno = errsv;
}

void
gipc_transport_end_writes (GipcTransport           *self,
                           GipcTransportWriteGuard *guard)
{
  int errsv = errno;

  if (guard->active && !guard->already_blocked)
    pthread_sigmask (SIG_SETMASK, &guard->old_mask, NULL);
  guard->active = FALSE;
  errno = errsv;
}

static void
set_write_error (GError **error,
                 int      errsv)
{
  if (errsv == EAGAIN || errsv == EWOULDBLOCK)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                         "The channel is full");
  else if (errsv == EPIPE || errsv == ECONNRESET)
    g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED,
                         "The receiving end of the channel is closed");
  else if (errsv == ETOOMANYREFS)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES,
                 "Could not write to the channel: %s (more file descriptors in "
                 "flight than RLIMIT_NOFILE allows)", g_strerror (errsv));
  else
    gipc_transport_set_io_error (error, errsv, "Could not write to the channel");
}

gssize
gipc_transport_write (GipcTransport           *self,
                      GipcTransportWriteGuard *guard,
                      const struct iovec      *iov,
                      int                      n_iov,
                      const int               *fds,
                      guint                    n_fds,
                      GError                 **error)
{
  gssize n;

  g_assert (n_fds == 0 || self->is_socket);
  g_assert (n_fds <= GIPC_TRANSPORT_MAX_FDS_PER_MESSAGE);

  if (self->is_socket)
    {
      union
      {
        struct cmsghdr align;
        char buf[CMSG_SPACE (sizeof (int) * GIPC_TRANSPORT_MAX_FDS_PER_MESSAGE)];
      } control;
      struct msghdr msg = { 0 };

      msg.msg_iov = (struct iovec *) iov;
      msg.msg_iovlen = n_iov;
      if (n_fds > 0)
        {
          struct cmsghdr *cmsg;

          memset (&control, 0, CMSG_SPACE (sizeof (int) * n_fds));
          msg.msg_control = control.buf;
          msg.msg_controllen = CMSG_SPACE (sizeof (int) * n_fds);
          cmsg = CMSG_FIRSTHDR (&msg);
          cmsg->cmsg_level = SOL_SOCKET;
          cmsg->cmsg_type = SCM_RIGHTS;
          cmsg->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
          memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * n_fds);
        }

      do
        n = sendmsg (self->write_fd, &msg, MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
    }
  else
    {
      do
        n = writev (self->write_fd, iov, n_iov);
      while (n < 0 && errno == EINTR);

      if (n < 0 && errno == EPIPE)
        consume_sigpipe (guard);
    }

  if (n < 0)
    set_write_error (error, errno);

  return n;
}

static void
set_read_error (GError **error,
                int      errsv)
{
  if (errsv == EAGAIN || errsv == EWOULDBLOCK)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                         "Nothing to read from the channel now");
  else
    gipc_transport_set_io_error (error, errsv, "Could not read from the channel");
}

/* Takes the fds of every SCM_RIGHTS message in @msg into the FIFO, or
 * closes them all and fails. */
static gboolean
take_received_fds (GipcTransport  *self,
                   struct msghdr  *msg,
                   GError        **error)
{
  gboolean truncated = (msg->msg_flags & MSG_CTRUNC) != 0;
  gboolean too_many = FALSE;
  guint n_pending = gipc_transport_get_n_pending_fds (self);

  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR (msg); cmsg != NULL; cmsg = CMSG_NXTHDR (msg, cmsg))
    {
      guint n;
      const guint8 *data;

      if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
        continue;

      n = (cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int);
      data = CMSG_DATA (cmsg);
      for (guint i = 0; i < n; i++)
        {
          int fd;

          memcpy (&fd, data + i * sizeof (int), sizeof (int));
          if (truncated || too_many || n_pending >= GIPC_TRANSPORT_MAX_PENDING_FDS)
            {
              too_many = !truncated;
              close_fd (&fd);
              continue;
            }
          if (self->pending_fds == NULL)
            self->pending_fds = g_array_new (FALSE, FALSE, sizeof (int));
          g_array_append_val (self->pending_fds, fd);
          n_pending++;
        }
    }

  if (truncated)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                           "File descriptors sent on the channel were cut off (MSG_CTRUNC)");
      return FALSE;
    }
  if (too_many)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "The peer sent more than %u file descriptors that no message claims",
                   (guint) GIPC_TRANSPORT_MAX_PENDING_FDS);
      return FALSE;
    }

  return TRUE;
}

gssize
gipc_transport_read (GipcTransport  *self,
                     void           *buf,
                     gsize           len,
                     GError        **error)
{
  gssize n;

  if (self->is_socket)
    {
      union
      {
        struct cmsghdr align;
        char buf[CMSG_SPACE (sizeof (int) * GIPC_TRANSPORT_MAX_FDS_PER_MESSAGE)];
      } control;
      struct iovec iov = { buf, len };
      struct msghdr msg = { 0 };

      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;

      do
        n = recvmsg (self->read_fd, &msg, MSG_CMSG_CLOEXEC);
      while (n < 0 && errno == EINTR);

      /* MSG_CTRUNC also comes with no control data at all, when not one
       * of the fds could be installed (a full fd table). */
      if (n >= 0 && (msg.msg_controllen > 0 || (msg.msg_flags & MSG_CTRUNC)) &&
          !take_received_fds (self, &msg, error))
        return -1;
    }
  else
    {
      do
        n = read (self->read_fd, buf, len);
      while (n < 0 && errno == EINTR);
    }

  /* A socket whose peer closed its end with data of ours unread in its
   * receive queue: AF_UNIX delivers everything the peer sent first, then
   * ECONNRESET once instead of the end of file (and the end of file after
   * it). That is the end of the stream (as EPIPE is for a write); whether
   * it came so is kept (gipc_channel_get_peer_reset). */
  if (n < 0 && errno == ECONNRESET)
    {
      self->peer_reset = TRUE;
      n = 0;
    }

  if (n < 0)
    set_read_error (error, errno);

  return n;
}

guint
gipc_transport_get_n_pending_fds (const GipcTransport *self)
{
  return self->pending_fds != NULL ? self->pending_fds->len : 0;
}

gboolean
gipc_transport_claim_fds (GipcTransport *self,
                          guint          n,
                          int           *fds)
{
  if (n == 0)
    return TRUE;
  if (gipc_transport_get_n_pending_fds (self) < n)
    return FALSE;

  memcpy (fds, self->pending_fds->data, n * sizeof (int));
  g_array_remove_range (self->pending_fds, 0, n);
  return TRUE;
}

int
gipc_transport_wait_fd (int            fd,
                        short          events,
                        GCancellable  *cancellable,
                        gint64         deadline,
                        GError       **error)
{
  GPollFD fds[2];
  guint n_fds = 1;

  fds[0].fd = fd;
  fds[0].events = events;
  fds[0].revents = 0;
  if (cancellable != NULL && g_cancellable_make_pollfd (cancellable, &fds[1]))
    n_fds = 2;

  for (;;)
    {
      int timeout = -1;
      int r;

      if (deadline >= 0)
        {
          gint64 now = g_get_monotonic_time ();

          timeout = deadline > now ? (int) MIN ((deadline - now + 999) / 1000, G_MAXINT) : 0;
        }

      r = g_poll (fds, n_fds, timeout);
      if (r < 0 && errno == EINTR)
        continue;

      if (n_fds == 2)
        g_cancellable_release_fd (cancellable);

      if (r < 0)
        {
          gipc_transport_set_io_error (error, errno, "Could not wait for the channel");
          return -1;
        }

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return -1;

      return r > 0 ? 1 : 0;
    }
}
