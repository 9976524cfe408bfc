/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <signal.h>
#include <sys/uio.h>

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The bottom of a channel: its file descriptors and the system calls on
 * them, with no framing and no main loop. A transport is a pipe end (or
 * two), or one AF_UNIX stream socket serving both directions, which can
 * also carry file descriptors (SCM_RIGHTS).
 *
 * Every call is non-blocking but gipc_transport_wait(). Writing never
 * raises SIGPIPE, without touching the process's signal dispositions.
 * Received fds are close-on-exec and wait in a FIFO until the framing
 * above claims them for the message they came with.
 */

/* The most fds one message may carry (the kernel's SCM_MAX_FD). */
#define GIPC_TRANSPORT_MAX_FDS_PER_MESSAGE 253

/* The most received fds a transport holds unclaimed: a peer cannot make
 * the receiver hold more (its fd table is finite), the read fails. */
#define GIPC_TRANSPORT_MAX_PENDING_FDS (2 * GIPC_TRANSPORT_MAX_FDS_PER_MESSAGE)

typedef struct
{
  int      read_fd;        /* -1 if none or closed */
  int      write_fd;       /* == read_fd for a socket serving both ways */
  gboolean is_socket;      /* an AF_UNIX stream socket: fds can travel */
  gboolean pipe_grown;     /* F_SETPIPE_SZ was tried */
  GArray  *pending_fds;    /* int: received, not yet claimed; or NULL */
  gboolean peer_reset;     /* the end of the input came as ECONNRESET */
} GipcTransport;

/* Takes ownership of the fds (made non-blocking and close-on-exec before,
 * with gipc_transport_prepare_fd()). A socket is recognized by itself. */
void     gipc_transport_init         (GipcTransport *self,
                                      int            read_fd,
                                      int            write_fd);

/* Makes @fd non-blocking and close-on-exec. */
gboolean gipc_transport_prepare_fd   (int            fd,
                                      GError       **error);

/* TRUE for an AF_UNIX stream socket. */
gboolean gipc_transport_fd_is_unix_socket (int fd);

/* Closes each fd once (a socket serving both directions is one fd) and
 * every received fd not claimed. Idempotent. */
void     gipc_transport_close        (GipcTransport *self);

/* Forgets the fds without closing them (they now belong to someone
 * else); unclaimed received fds are closed. */
void     gipc_transport_forget       (GipcTransport *self);

gboolean gipc_transport_can_pass_fds (const GipcTransport *self);

/* Large messages: ask once for a larger pipe (a refusal is fine). */
void     gipc_transport_grow_pipe    (GipcTransport *self);

/* A batch of writes with SIGPIPE blocked in this thread (pipes only; a
 * socket uses MSG_NOSIGNAL). A SIGPIPE our write raised is consumed; one
 * the application had pending and blocked stays as it was. */
typedef struct
{
  sigset_t old_mask;
  gboolean active;
  gboolean already_blocked;
} GipcTransportWriteGuard;

void     gipc_transport_begin_writes (GipcTransport           *self,
                                      GipcTransportWriteGuard *guard);
void     gipc_transport_end_writes   (GipcTransport           *self,
                                      GipcTransportWriteGuard *guard);

/* One writev/sendmsg inside a batch, with @n_fds fds (only on a socket)
 * attached to its first byte. Returns the bytes written, or -1 with
 * *error: G_IO_ERROR_WOULD_BLOCK when full, GIPC_ERROR_PEER_CLOSED when
 * the reader is gone, G_IO_ERROR_TOO_MANY_OPEN_FILES for ETOOMANYREFS
 * (too many fds in flight: the caller decides), else GIPC_ERROR_FAILED.
 * EINTR is retried. */
gssize   gipc_transport_write        (GipcTransport           *self,
                                      GipcTransportWriteGuard *guard,
                                      const struct iovec      *iov,
                                      int                      n_iov,
                                      const int               *fds,
                                      guint                    n_fds,
                                      GError                 **error);

/* One read/recvmsg of at most @len bytes. Fds that come with them go to
 * the pending FIFO. Returns the bytes read, 0 at the end of the stream, or
 * -1 with *error: G_IO_ERROR_WOULD_BLOCK when nothing is there,
 * GIPC_ERROR_PROTOCOL when fds were cut off (MSG_CTRUNC) or too many are
 * pending (the fds that came are closed), else GIPC_ERROR_FAILED. */
gssize   gipc_transport_read         (GipcTransport  *self,
                                      void           *buf,
                                      gsize           len,
                                      GError        **error);

guint    gipc_transport_get_n_pending_fds (const GipcTransport *self);

/* Takes the first @n pending fds into @fds (the caller owns them now).
 * FALSE (nothing taken) if fewer are pending. */
gboolean gipc_transport_claim_fds    (GipcTransport  *self,
                                      guint           n,
                                      int            *fds);

/* Waits until @fd has @events, or the cancellable fires, or the deadline
 * (monotonic µs, -1 for none) passes. Returns 1 when ready, 0 on timeout,
 * -1 with *error set. Does not iterate any main context. */
int      gipc_transport_wait_fd      (int            fd,
                                      short          events,
                                      GCancellable  *cancellable,
                                      gint64         deadline,
                                      GError       **error);

/* GIPC_ERROR_FAILED with "@what: strerror (@errsv)". */
void     gipc_transport_set_io_error (GError      **error,
                                      int           errsv,
                                      const char   *what);

G_END_DECLS
