/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "gipc-frame-private.h"
#include "gipc-transport-private.h"

G_BEGIN_DECLS

/*
 * The middle of a channel: messages framed over a transport, with no
 * main loop, no operations and no signals (the channel above has those).
 *
 * Output is a queue of frames at stream offsets (the channel's send and
 * flush operations refer to offsets); small frames are coalesced into
 * shared buffers, large ones are written from their GBytes without a
 * copy. Input is a read buffer and a decoder; each whole message is handed
 * to a callback, which may run user code that re-enters the stream.
 */

typedef struct
{
  GipcTransport     transport;
  GipcFrameFormat   format;          /* the fd format over a socket */
  guint64           shared_memory_threshold;  /* 0: never */

  /* Output. */
  GQueue            output;          /* GipcFrameChunk*, private */
  guint64           queued;          /* stream offset after the last queued byte */
  guint64           written;         /* stream offset of the next byte to write */
  gboolean          full;            /* the last write would block */
  GByteArray       *spare_buffer;

  /* What the output holds beyond its bytes on the wire, for flow control
   * (see gipc_frame_stream_get_pending_bytes()). A shared-memory message
   * is queued as its GBytes and made into a memfd only when it is written,
   * so the queue itself holds no memfd; a written frame with fds stays
   * "in flight" until the peer has read it (the socket holds its fds, and
   * the memory of a memfd, until then). */
  guint64           shared_queued;   /* sizes of the queued shared-memory messages */
  guint             fds_queued;      /* fds the queued frames carry (a memfd counts 1) */
  GQueue            in_flight;       /* private: written frames with fds, oldest first */
  guint64           in_flight_bytes; /* shared-memory sizes among them */
  guint             in_flight_fds;   /* fds among them */
  guint64           outq_total;      /* socket queue growth measured over tracked writes */
  guint             fd_budget;       /* most fds in flight; 0 until first needed */
  gboolean          held;            /* writing waits until the peer takes fds in flight */

  /* Input. */
  guint8           *rbuf;
  gsize             rbuf_pos;
  gsize             rbuf_len;
  GipcFrameDecoder  decoder;
} GipcFrameStream;

/* Takes ownership of the fds (see gipc_transport_init()). */
void     gipc_frame_stream_init          (GipcFrameStream *self,
                                          int              read_fd,
                                          int              write_fd,
                                          guint64          max_message_size);

/* Everything queued, read or received is dropped and the fds are closed. */
void     gipc_frame_stream_close         (GipcFrameStream *self);

void     gipc_frame_stream_set_max_message_size (GipcFrameStream *self,
                                                 guint64          max_size);

/* Output. */

/* Appends one frame, with @fds (may be NULL; referenced, sent with the
 * frame's first byte); returns its stream offsets. In the fd format, a
 * message of at least shared_memory_threshold bytes, or a shared GBytes
 * (gipc_shared_bytes_new), goes as a sealed memfd, made when the frame is
 * written (a shared GBytes is sealed now). Fails with GIPC_ERROR_FAILED,
 * queueing nothing, for fds on a transport that cannot pass them or more
 * than GIPC_FRAME_MAX_FDS of them. A message that is accepted but cannot
 * be sent (its memory cannot be sealed, later its memfd cannot be made)
 * is queued all the same and makes the flush that reaches it fail: the
 * frames before it are written, it and the ones after it are not. */
gboolean gipc_frame_stream_queue         (GipcFrameStream  *self,
                                          GBytes           *message,
                                          GUnixFDList      *fds,
                                          guint64          *start,
                                          guint64          *end,
                                          GError          **error);

/* Appends a frame that cannot be sent (takes @error): the frames before
 * it are written, then the flush that reaches it fails with @error. It
 * takes one stream byte that is never written. */
void     gipc_frame_stream_queue_error   (GipcFrameStream *self,
                                          GError          *error);

/* Removes a frame none of whose bytes is written; later offsets move down
 * by its length. */
void     gipc_frame_stream_unqueue       (GipcFrameStream *self,
                                          guint64          start,
                                          guint64          end);

static inline gboolean
gipc_frame_stream_has_output (const GipcFrameStream *self)
{
  return self->output.length > 0;
}

typedef enum
{
  GIPC_FRAME_FLUSH_DONE,      /* the whole queue is written */
  GIPC_FRAME_FLUSH_AGAIN,     /* the transport is full */
  GIPC_FRAME_FLUSH_FAILED,    /* *error is set */
  GIPC_FRAME_FLUSH_HELD,      /* the next frame's fds would pass the fd
                               * budget: try again once the peer has taken
                               * some (no fd event tells: poll) */
} GipcFrameFlushResult;

/* Writes queued output until it is all written, the transport is full, or
 * the fds in flight are at the budget. Never blocks. */
GipcFrameFlushResult gipc_frame_stream_flush (GipcFrameStream  *self,
                                              GError          **error);

/* Flow control: the bytes the output holds, that is, the frames not yet
 * written (headers included), plus the size of each shared-memory message
 * not yet written or still in flight (its memfd holds that much memory
 * until the peer takes it). */
static inline guint64
gipc_frame_stream_get_pending_bytes (const GipcFrameStream *self)
{
  return (self->queued - self->written) + self->shared_queued + self->in_flight_bytes;
}

/* Flow control: the fds queued and in flight. */
static inline guint
gipc_frame_stream_get_pending_fds (const GipcFrameStream *self)
{
  return self->fds_queued + self->in_flight_fds;
}

/* The most fds in flight at once: GIPC_FRAME_STREAM_MAX_FDS_IN_FLIGHT, or
 * a sixteenth of the soft RLIMIT_NOFILE when that is lower (at least 4);
 * read when first needed. The kernel refuses to pass more fds than the
 * sender's RLIMIT_NOFILE in flight (ETOOMANYREFS), and an fd in flight
 * holds its memory. A single frame may carry more (up to
 * GIPC_FRAME_MAX_FDS): it is written when nothing else is in flight. */
#define GIPC_FRAME_STREAM_MAX_FDS_IN_FLIGHT 64
guint    gipc_frame_stream_get_fd_budget (GipcFrameStream *self);

/* Forgets the frames in flight that the peer has read, as far as the
 * socket's send queue (SIOCOUTQ) shows; TRUE if any. Cheap (one ioctl)
 * while frames are in flight, free otherwise. */
gboolean gipc_frame_stream_release_in_flight (GipcFrameStream *self);

static inline gboolean
gipc_frame_stream_has_in_flight (const GipcFrameStream *self)
{
  return self->in_flight.length > 0;
}

/* Drops every queued byte (a write failed, or closing): written catches
 * up with queued. Frames in flight are forgotten. */
void     gipc_frame_stream_drop_output   (GipcFrameStream *self);

/* In a fork-mode child: the queued output is the parent's (its GBytes may
 * have the parent's free functions): hand it to @keep instead of freeing
 * it, and forget it. */
void     gipc_frame_stream_abandon_output (GipcFrameStream *self,
                                           void           (*keep) (gpointer));

/* Input. */

/* Takes @message (transfer full) and @fds (transfer full, may be NULL).
 * Returns FALSE to stop reading: the callback ran user code after which
 * the stream may be closed or failed; nothing of the stream is touched
 * after that. */
typedef gboolean (*GipcFrameStreamMessageFunc) (GBytes      *message,
                                                GUnixFDList *fds,
                                                gpointer     user_data);

typedef enum
{
  GIPC_FRAME_READ_MORE,      /* got data; there may be more */
  GIPC_FRAME_READ_AGAIN,     /* nothing more available now */
  GIPC_FRAME_READ_END,       /* end of stream or failure: *error is set */
  GIPC_FRAME_READ_STOPPED,   /* the callback asked to stop */
} GipcFrameReadResult;

/* One read from the transport (straight into a large message's body when
 * one is being assembled), then decodes what is buffered, calling @func
 * for each whole message. Re-entered from @func, it first finishes the
 * buffer an outer call was decoding. Never blocks. */
GipcFrameReadResult gipc_frame_stream_read (GipcFrameStream             *self,
                                            GipcFrameStreamMessageFunc   func,
                                            gpointer                     user_data,
                                            GError                     **error);

/* TRUE while a message has begun to arrive and is not whole. */
static inline gboolean
gipc_frame_stream_in_frame (const GipcFrameStream *self)
{
  return gipc_frame_decoder_in_frame (&self->decoder);
}

/* Drops the read buffer and any partial message (closing). */
void     gipc_frame_stream_drop_input    (GipcFrameStream *self);

G_END_DECLS
