/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The wire formats, with no I/O and no main loop.
 *
 * Pipe format (GIPC_FRAME_FORMAT_PIPE, plain channels): each message is a
 * 4-byte big-endian signed length (0 .. 2^31-1) followed by that many
 * payload bytes, the framing of gipc's raw pipes.
 *
 * Fd format (GIPC_FRAME_FORMAT_FDS, channels over an AF_UNIX socket): an
 * 8-byte header, then the payload:
 *   bytes 0-3  big-endian length (0 .. 2^31-1)
 *   bytes 4-5  big-endian number of fds sent with the frame (0 .. 253),
 *              attached (SCM_RIGHTS) to the sendmsg that carries the
 *              frame's first byte
 *   byte  6    kind: 0 = the payload follows inline; 1 = shared memory:
 *              no payload bytes follow, the frame's first fd is a sealed
 *              memfd of exactly length bytes (the message), the others
 *              are the message's fds
 *   byte  7    0
 */

typedef enum
{
  GIPC_FRAME_FORMAT_PIPE,
  GIPC_FRAME_FORMAT_FDS,
} GipcFrameFormat;

typedef enum
{
  GIPC_FRAME_KIND_INLINE = 0,
  GIPC_FRAME_KIND_SHARED = 1,
} GipcFrameKind;

#define GIPC_FRAME_HEADER_SIZE      4
#define GIPC_FRAME_FDS_HEADER_SIZE  8
#define GIPC_FRAME_MAX_FDS          253

static inline gsize
gipc_frame_header_size (GipcFrameFormat format)
{
  return format == GIPC_FRAME_FORMAT_FDS ? GIPC_FRAME_FDS_HEADER_SIZE : GIPC_FRAME_HEADER_SIZE;
}

/* Writes the header for a payload of @len bytes. @len must be at most
 * GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT (checked by the caller). */
static inline void
gipc_frame_encode_header (guint8  header[GIPC_FRAME_HEADER_SIZE],
                          gsize   len)
{
  header[0] = (guint8) (len >> 24);
  header[1] = (guint8) (len >> 16);
  header[2] = (guint8) (len >> 8);
  header[3] = (guint8) len;
}

/* The fd format's header; @n_fds at most GIPC_FRAME_MAX_FDS. */
static inline void
gipc_frame_encode_fds_header (guint8         header[GIPC_FRAME_FDS_HEADER_SIZE],
                              gsize          len,
                              guint          n_fds,
                              GipcFrameKind  kind)
{
  gipc_frame_encode_header (header, len);
  header[4] = (guint8) (n_fds >> 8);
  header[5] = (guint8) n_fds;
  header[6] = (guint8) kind;
  header[7] = 0;
}

/* A body buffer starts at most this large and doubles as bytes arrive, so
 * a peer that announces a large message makes the receiver allocate only
 * about what it has really sent (at most twice that, or this much). */
#define GIPC_FRAME_BODY_STEP (1024 * 1024)

typedef struct
{
  guint64  max_size;
  GipcFrameFormat format;

  /* The frame being assembled: header bytes seen so far, then the body. */
  guint8   header[GIPC_FRAME_FDS_HEADER_SIZE];
  guint    header_fill;
  guint    n_fds;        /* of the frame being assembled, or just completed */
  GipcFrameKind kind;
  gsize    shared_len;   /* a shared-memory frame's length */
  gboolean have_header;
  gsize    body_len;
  gsize    body_fill;
  gsize    body_alloc;   /* bytes allocated at body, <= body_len */
  guint8  *body;

  /* Sticky: once set, every call fails with a copy of it and touches
   * nothing else. */
  GError  *error;
} GipcFrameDecoder;

typedef enum
{
  GIPC_FRAME_NEED_MORE,    /* all input consumed, no whole frame yet */
  GIPC_FRAME_MESSAGE,      /* *message holds a whole payload */
  GIPC_FRAME_ERROR,        /* *error is set; the decoder is unusable (sticky) */
} GipcFrameResult;

void            gipc_frame_decoder_init       (GipcFrameDecoder  *decoder,
                                               guint64            max_size);
/* Before the first byte: the fd format instead of the pipe format. */
void            gipc_frame_decoder_set_format (GipcFrameDecoder  *decoder,
                                               GipcFrameFormat    format);
void            gipc_frame_decoder_clear      (GipcFrameDecoder  *decoder);

/* Consumes input from @data (@len bytes) until one whole frame is complete
 * or the input is used up; *consumed says how much was used. After
 * GIPC_FRAME_MESSAGE, the decoder's n_fds and kind describe that frame; a
 * shared-memory frame gives *message = NULL and its length in shared_len
 * (the fd format checks the count of fds, the kind and the reserved byte:
 * GIPC_ERROR_PROTOCOL). A header that
 * announces more than max_size (or a negative signed length) fails with
 * GIPC_ERROR_MESSAGE_TOO_LARGE before anything is allocated; a body buffer
 * that cannot be grown fails with GIPC_ERROR_FAILED (never an abort). After
 * an error every call fails the same way and consumes nothing. */
GipcFrameResult gipc_frame_decoder_feed       (GipcFrameDecoder  *decoder,
                                               const guint8      *data,
                                               gsize              len,
                                               gsize             *consumed,
                                               GBytes           **message,
                                               GError           **error);

/* TRUE once any byte of a frame has been consumed and the frame is not
 * complete. */
gboolean        gipc_frame_decoder_in_frame   (const GipcFrameDecoder *decoder);

/* For large bodies, read straight into the message buffer: where the next
 * body bytes go and how many fit now (*remaining, at most what the body
 * still misses; the buffer grows as it fills). NULL/0 unless a header was
 * decoded and the body is incomplete, or when the decoder failed (also when
 * growing the buffer fails now: see _get_error). After writing @n bytes
 * there, call _body_advance. */
guint8         *gipc_frame_decoder_body_tail  (GipcFrameDecoder  *decoder,
                                               gsize             *remaining);
GipcFrameResult gipc_frame_decoder_body_advance (GipcFrameDecoder *decoder,
                                                 gsize             n,
                                                 GBytes          **message);

/* Makes @error (consumed) the sticky error, unless there is one: what the
 * layer above found wrong with a frame (its fds, its memory). */
void            gipc_frame_decoder_fail       (GipcFrameDecoder  *decoder,
                                               GError            *error);

/* The sticky error, or NULL. */
const GError   *gipc_frame_decoder_get_error  (const GipcFrameDecoder *decoder);

/* End of stream: TRUE at a frame boundary; otherwise (or after an error) sets
 * GIPC_ERROR_PROTOCOL ("truncated") and returns FALSE. */
gboolean        gipc_frame_decoder_at_eof     (const GipcFrameDecoder *decoder,
                                               GError                **error);

G_END_DECLS
