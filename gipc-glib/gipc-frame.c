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

/* Validates the (complete) header and sets have_header. Nothing is
 * allocated here: the body buffer grows as the body arrives. */
static gboolean
accept_header (GipcFrameDecoder  *decoder,
               GError           **error)
{
  guint32 raw = ((guint32) decoder->header[0] << 24) |
                ((guint32) decoder->header[1] << 16) |
                ((guint32) decoder->header[2] << 8) |
                (guint32) decoder->header[3];

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

  decoder->have_header = TRUE;
  decoder->body_len = raw;
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
  if (decoder->header_fill == 0 && len >= GIPC_FRAME_HEADER_SIZE)
    {
      guint32 raw = ((guint32) data[0] << 24) | ((guint32) data[1] << 16) |
                    ((guint32) data[2] << 8) | (guint32) data[3];

      if (raw <= decoder->max_size && raw <= G_MAXINT32 &&
          len - GIPC_FRAME_HEADER_SIZE >= raw)
        {
          *message = g_bytes_new (data + GIPC_FRAME_HEADER_SIZE, raw);
          *consumed = GIPC_FRAME_HEADER_SIZE + raw;
          return GIPC_FRAME_MESSAGE;
        }
    }

  while (!decoder->have_header)
    {
      if (pos == len)
        {
          *consumed = pos;
          return GIPC_FRAME_NEED_MORE;
        }

      g_assert (decoder->header_fill < GIPC_FRAME_HEADER_SIZE);
      decoder->header[decoder->header_fill++] = data[pos++];

      if (decoder->header_fill == GIPC_FRAME_HEADER_SIZE)
        {
          GError *local_error = NULL;

          if (!accept_header (decoder, &local_error))
            {
              *consumed = pos;
              return fail (decoder, local_error, error);
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
                 decoder->header_fill, GIPC_FRAME_HEADER_SIZE);
  else
    g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                 "Message truncated: the stream ended after %" G_GSIZE_FORMAT
                 " of %" G_GSIZE_FORMAT " payload bytes",
                 decoder->body_fill, decoder->body_len);

  return FALSE;
}
