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
 * (gipc_shared_bytes_new), goes as a sealed memfd. Fails with
 * GIPC_ERROR_FAILED, queueing nothing, for fds on a transport that cannot
 * pass them, more than GIPC_FRAME_MAX_FDS of them, or a memfd that cannot
 * be made. */
gboolean gipc_frame_stream_queue         (GipcFrameStream  *self,
                                          GBytes           *message,
                                          GUnixFDList      *fds,
                                          guint64          *start,
                                          guint64          *end,
                                          GError          **error);

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
} GipcFrameFlushResult;

/* Writes queued output until it is all written or the transport is full.
 * Never blocks. */
GipcFrameFlushResult gipc_frame_stream_flush (GipcFrameStream  *self,
                                              GError          **error);

/* Drops every queued byte (a write failed, or closing): written catches
 * up with queued. */
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
