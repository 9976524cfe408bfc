/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * libFuzzer target for the frame decoder (gipc-glib/gipc-frame-private.h).
 * Built and run by tests/fuzz/run-fuzz.sh, not by meson.
 *
 * Input: byte 0 picks max_size, byte 1 seeds the chunking and picks the
 * read path (feed() only, or bodies through body_tail()/body_advance() as
 * the channel reads large bodies); the rest is the byte stream.
 *
 * Oracle: re-encoding every decoded message must reproduce the input up to
 * the last frame boundary; no message exceeds max_size; an error is only
 * MESSAGE_TOO_LARGE, right after a header that announces too much; at the
 * end, at_eof() and in_frame() agree with where the last boundary was.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gipc-glib/gipc-channel.h>
#include <gipc-glib/gipc-error.h>
#include "gipc-glib/gipc-frame-private.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) { \
  g_printerr ("fuzz-frame: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
  abort (); } } while (0)

static const guint64 max_sizes[] = {
  0, 1, 2, 3, 16, 255, 256, 4096, 65536, 1 << 20,
};

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

static guint32
next_rand (guint32 *state)
{
  *state = *state * 1103515245u + 12345u;
  return *state >> 16;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  GipcFrameDecoder decoder;
  GByteArray *reencoded;
  guint64 max_size;
  gboolean use_tail;
  guint32 rng;
  const guint8 *stream;
  gsize len, pos = 0, boundary = 0;
  gboolean failed = FALSE;

  if (size < 2)
    return 0;

  max_size = max_sizes[data[0] % G_N_ELEMENTS (max_sizes)];
  use_tail = (data[1] & 1) != 0;
  rng = data[1];
  stream = data + 2;
  len = size - 2;

  reencoded = g_byte_array_new ();
  gipc_frame_decoder_init (&decoder, max_size);

  while (pos < len && !failed)
    {
      GError *error = NULL;
      GBytes *message = NULL;
      GipcFrameResult res;
      gsize remaining = 0;
      guint8 *tail = gipc_frame_decoder_body_tail (&decoder, &remaining);
      gsize chunk = 1 + next_rand (&rng) % 64;

      chunk = MIN (chunk, len - pos);

      if (use_tail && tail != NULL)
        {
          CHECK (remaining > 0);
          chunk = MIN (chunk, remaining);
          memcpy (tail, stream + pos, chunk);
          pos += chunk;
          res = gipc_frame_decoder_body_advance (&decoder, chunk, &message);
          CHECK (res != GIPC_FRAME_ERROR);
        }
      else
        {
          gsize consumed = 0;

          res = gipc_frame_decoder_feed (&decoder, stream + pos, chunk, &consumed,
                                         &message, &error);
          CHECK (consumed <= chunk);
          pos += consumed;
          if (res == GIPC_FRAME_NEED_MORE)
            CHECK (consumed == chunk);
        }

      if (res == GIPC_FRAME_MESSAGE)
        {
          guint8 header[GIPC_FRAME_HEADER_SIZE];
          gsize msize;

          CHECK (message != NULL);
          CHECK (error == NULL);
          msize = g_bytes_get_size (message);
          CHECK (msize <= max_size);
          gipc_frame_encode_header (header, msize);
          g_byte_array_append (reencoded, header, sizeof header);
          if (msize > 0)
            g_byte_array_append (reencoded, g_bytes_get_data (message, NULL), msize);
          boundary = pos;
          CHECK (reencoded->len == boundary);
          CHECK (memcmp (reencoded->data, stream, boundary) == 0);
          CHECK (!gipc_frame_decoder_in_frame (&decoder));
          g_bytes_unref (message);
        }
      else if (res == GIPC_FRAME_ERROR)
        {
          guint32 announced;

          CHECK (message == NULL);
          CHECK (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE));
          /* The header is the last 4 bytes taken, and it starts a frame. */
          CHECK (pos == boundary + GIPC_FRAME_HEADER_SIZE);
          announced = ((guint32) stream[boundary] << 24) | ((guint32) stream[boundary + 1] << 16) |
                      ((guint32) stream[boundary + 2] << 8) | (guint32) stream[boundary + 3];
          CHECK (announced > G_MAXINT32 || announced > max_size);
          g_error_free (error);
          failed = TRUE;
        }
      else
        {
          CHECK (message == NULL);
          CHECK (error == NULL);
          CHECK (gipc_frame_decoder_in_frame (&decoder) == (pos != boundary));
        }
    }

  if (!failed)
    {
      GError *error = NULL;
      gboolean at_eof = gipc_frame_decoder_at_eof (&decoder, &error);

      CHECK (at_eof == (pos == boundary));
      if (!at_eof)
        {
          CHECK (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL));
          g_error_free (error);
        }
      CHECK (pos == len);
    }

  gipc_frame_decoder_clear (&decoder);
  CHECK (!gipc_frame_decoder_in_frame (&decoder));
  g_byte_array_unref (reencoded);

  return 0;
}
