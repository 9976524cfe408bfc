/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <string.h>

#include "gipc-channel.h"
#include "gipc-error.h"
#include "gipc-frame-private.h"

void
gipc_frame_decoder_init (GipcFrameDecoder *decoder,
                         guint64           max_size)
{
  memset (decoder, 0, sizeof *decoder);
  decoder->max_size = MIN (max_size, GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT);
}

void
gipc_frame_decoder_clear (GipcFrameDecoder *decoder)
{
  g_clear_pointer (&decoder->body, g_free);
  g_clear_error (&decoder->error);
  decoder->header_fill = 0;
  decoder->have_header = FALSE;
  decoder->body_len = 0;
  decoder->body_fill = 0;
  decoder->body_alloc = 0;
}

void
gipc_frame_decoder_set_format (GipcFrameDecoder *decoder,
                               GipcFrameFormat   format)
{
  g_return_if_fail (decoder->header_fill == 0);

  decoder->format = format;
}

void
gipc_frame_decoder_fail (GipcFrameDecoder *decoder,
                         GError           *error)
{
  if (decoder->error == NULL)
    decoder->error = error;
  else
    g_error_free (error);
}

const GError *
gipc_frame_decoder_get_error (const GipcFrameDecoder *decoder)
{
  return decoder->error;
}

/* Records @error (consumed) as the sticky error and hands a copy out. */
static GipcFrameResult
fail (GipcFrameDecoder  *decoder,
      GError            *error,
      GError           **out_error)
{
  g_assert (decoder->error == NULL);
  decoder->error = error;
  g_propagate_error (out_error, g_error_copy (error));
  return GIPC_FRAME_ERROR;
}

/* Makes room for @fill body bytes: the buffer grows by doubling (from
 * GIPC_FRAME_BODY_STEP), never past the announced length, so memory
 * follows what the peer really sent. */
static gboolean
ensure_body (GipcFrameDecoder *decoder,
             gsize             fill)
{
  gsize size;
  guint8 *body;

  if (fill <= decoder->body_alloc)
    return TRUE;

  size = MAX (decoder->body_alloc * 2, GIPC_FRAME_BODY_STEP);
  size = MIN (MAX (size, fill), decoder->body_len);

  body = g_try_realloc (decoder->body, size);
  if (body == NULL)
    {
      decoder->error = g_error_new (GIPC_ERROR, GIPC_ERROR_FAILED,
                                    "Could not allocate %" G_GSIZE_FORMAT " bytes for a "
                                    "message of %" G_GSIZE_FORMAT " bytes",
                                    size, decoder->body_len);
      return FALSE;
    }

  decoder->body = body;
  decoder->body_alloc = size;
  return TRUE;
}

gboolean
gipc_frame_decoder_in_frame (const GipcFrameDecoder *decoder)
{
  return decoder->header_fill > 0;
}

static GipcFrameResult
take_message (GipcFrameDecoder  *decoder,
              GBytes           **message)
{
  if (decoder->body_len == 0)
    *message = g_bytes_new (NULL, 0);
  else
    *message = g_bytes_new_take (g_steal_pointer (&decoder->body), decoder->body_len);

  decoder->header_fill = 0;
  decoder->have_header = FALSE;
  decoder->body_len = 0;
  decoder->body_fill = 0;
  decoder->body_alloc = 0;

  return GIPC_FRAME_MESSAGE;
}

/* The header's fields, checked. Shared by the fast path and the byte-wise
 * path; allocates nothing. */
static gboolean
parse_header (const GipcFrameDecoder  *decoder,
              const guint8            *header,
              guint32                 *length,
              guint                   *n_fds,
              GipcFrameKind           *kind,
              GError                 **error)
{
  guint32 raw = ((guint32) header[0] << 24) | ((guint32) header[1] << 16) |
                ((guint32) header[2] << 8) | (guint32) header[3];

  *n_fds = 0;
  *kind = GIPC_FRAME_KIND_INLINE;

  /* The length is signed on the wire: 0x80000000 and up are negative. */
  if (raw > G_MAXINT32)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE,
                   "Frame header announces an invalid length (%" G_GINT32_FORMAT ")",
                   (gint32) raw);
      return FALSE;
    }

  if (raw > decoder->max_size)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE,
                   "Frame header announces %" G_GUINT32_FORMAT " bytes, more than "
                   "the maximum message size of %" G_GUINT64_FORMAT " bytes",
                   raw, decoder->max_size);
      return FALSE;
    }

  if (decoder->format == GIPC_FRAME_FORMAT_FDS)
    {
      *n_fds = ((guint) header[4] << 8) | header[5];
      if (*n_fds > GIPC_FRAME_MAX_FDS)
        {
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                       "Frame header announces %u file descriptors, more than %u",
                       *n_fds, (guint) GIPC_FRAME_MAX_FDS);
          return FALSE;
        }
      if (header[6] > GIPC_FRAME_KIND_SHARED || header[7] != 0)
        {
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                       "Frame header has an unknown kind (%u, %u)",
                       header[6], header[7]);
          return FALSE;
        }
      *kind = (GipcFrameKind) header[6];
      if (*kind == GIPC_FRAME_KIND_SHARED && *n_fds == 0)
        {
          g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                               "A shared-memory frame came without its memory fd");
          return FALSE;
        }
    }

  *length = raw;
  return TRUE;
}

/* A shared-memory frame is whole with its header. */
static GipcFrameResult
take_shared (GipcFrameDecoder  *decoder,
             guint32            length,
             GBytes           **message)
{
  decoder->shared_len = length;
  decoder->header_fill = 0;
  decoder->have_header = FALSE;
  *message = NULL;
  return GIPC_FRAME_MESSAGE;
}

/* Validates the (complete) header and sets have_header. Nothing is
 * allocated here: the body buffer grows as the body arrives. */
static gboolean
accept_header (GipcFrameDecoder  *decoder,
               GError           **error)
{
  guint32 length;

  if (!parse_header (decoder, decoder->header, &length, &decoder->n_fds,
                     &decoder->kind, error))
    return FALSE;

  decoder->have_header = TRUE;
  decoder->body_len = decoder->kind == GIPC_FRAME_KIND_SHARED ? 0 : length;
  decoder->shared_len = decoder->kind == GIPC_FRAME_KIND_SHARED ? length : 0;
  decoder->body_fill = 0;
  decoder->body_alloc = 0;

  return TRUE;
}

GipcFrameResult
gipc_frame_decoder_feed (GipcFrameDecoder  *decoder,
                         const guint8      *data,
                         gsize              len,
                         gsize             *consumed,
                         GBytes           **message,
                         GError           **error)
{
  gsize pos = 0;
  gsize header_size = gipc_frame_header_size (decoder->format);

  g_return_val_if_fail (decoder != NULL, GIPC_FRAME_ERROR);
  g_return_val_if_fail (data != NULL || len == 0, GIPC_FRAME_ERROR);
  g_return_val_if_fail (consumed != NULL, GIPC_FRAME_ERROR);
  g_return_val_if_fail (message != NULL && *message == NULL, GIPC_FRAME_ERROR);

  *consumed = 0;

  if (decoder->error != NULL)
    {
      g_propagate_error (error, g_error_copy (decoder->error));
      return GIPC_FRAME_ERROR;
    }

  /* Fast path: at a frame boundary with a whole frame in the input, copy
   * the payload straight out of it. */
  if (decoder->header_fill == 0 && len >= header_size)
    {
      guint32 raw;

      if (parse_header (decoder, data, &raw, &decoder->n_fds, &decoder->kind, NULL))
        {
          if (decoder->kind == GIPC_FRAME_KIND_SHARED)
            {
              *consumed = header_size;
              return take_shared (decoder, raw, message);
            }
          if (len - header_size >= raw)
            {
              *message = g_bytes_new (data + header_size, raw);
              *consumed = header_size + raw;
              return GIPC_FRAME_MESSAGE;
            }
        }
    }

  while (!decoder->have_header)
    {
      if (pos == len)
        {
          *consumed = pos;
          return GIPC_FRAME_NEED_MORE;
        }

      g_assert (decoder->header_fill < header_size);
      decoder->header[decoder->header_fill++] = data[pos++];

      if (decoder->header_fill == header_size)
        {
          GError *local_error = NULL;

          if (!accept_header (decoder, &local_error))
            {
              *consumed = pos;
              return fail (decoder, local_error, error);
            }
          if (decoder->kind == GIPC_FRAME_KIND_SHARED)
            {
              *consumed = pos;
              return take_shared (decoder, decoder->shared_len, message);
            }
        }
    }

  if (decoder->body_fill < decoder->body_len)
    {
      gsize n = MIN (len - pos, decoder->body_len - decoder->body_fill);

      if (!ensure_body (decoder, decoder->body_fill + n))
        {
          *consumed = pos;
          g_propagate_error (error, g_error_copy (decoder->error));
          return GIPC_FRAME_ERROR;
        }

      if (n > 0)
        memcpy (decoder->body + decoder->body_fill, data + pos, n);
      decoder->body_fill += n;
      pos += n;
    }

  *consumed = pos;

  if (decoder->body_fill == decoder->body_len)
    return take_message (decoder, message);

  return GIPC_FRAME_NEED_MORE;
}

guint8 *
gipc_frame_decoder_body_tail (GipcFrameDecoder *decoder,
                              gsize            *remaining)
{
  *remaining = 0;

  if (decoder->error != NULL || !decoder->have_header ||
      decoder->body_fill >= decoder->body_len)
    return NULL;

  if (!ensure_body (decoder, decoder->body_fill + 1))
    return NULL;

  *remaining = decoder->body_alloc - decoder->body_fill;
  return decoder->body + decoder->body_fill;
}

GipcFrameResult
gipc_frame_decoder_body_advance (GipcFrameDecoder  *decoder,
                                 gsize              n,
                                 GBytes           **message)
{
  g_return_val_if_fail (decoder->error == NULL, GIPC_FRAME_ERROR);
  g_return_val_if_fail (decoder->have_header, GIPC_FRAME_ERROR);
  g_return_val_if_fail (n <= decoder->body_alloc - decoder->body_fill, GIPC_FRAME_ERROR);
  g_return_val_if_fail (message != NULL && *message == NULL, GIPC_FRAME_ERROR);

  decoder->body_fill += n;
  if (decoder->body_fill == decoder->body_len)
    return take_message (decoder, message);

  return GIPC_FRAME_NEED_MORE;
}

gboolean
gipc_frame_decoder_at_eof (const GipcFrameDecoder  *decoder,
                           GError                 **error)
{
  if (decoder->error != NULL)
    {
      g_propagate_error (error, g_error_copy (decoder->error));
      return FALSE;
    }

  if (decoder->header_fill == 0)
    return TRUE;

  if (!decoder->have_header)
    g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                 "Message truncated: the stream ended after %u of %u header bytes",
                 decoder->header_fill, (guint) gipc_frame_header_size (decoder->format));
  else
    g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                 "Message truncated: the stream ended after %" G_GSIZE_FORMAT
                 " of %" G_GSIZE_FORMAT " payload bytes",
                 decoder->body_fill, decoder->body_len);

  return FALSE;
}
