/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Unit tests of the frame codec (gipc-glib/gipc-frame-private.h): the wire
 * format with no I/O and no main loop.
 */

#include <string.h>

#include <gipc-glib/gipc-glib.h>
#include "gipc-glib/gipc-frame-private.h"

#include "test-util.h"

/* Appends the frame of @payload (header + bytes) to @stream. */
static void
append_frame (GByteArray *stream,
              GBytes     *payload)
{
  guint8 header[GIPC_FRAME_HEADER_SIZE];
  gsize size = g_bytes_get_size (payload);

  gipc_frame_encode_header (header, size);
  g_byte_array_append (stream, header, sizeof header);
  if (size > 0)
    g_byte_array_append (stream, g_bytes_get_data (payload, NULL), size);
}

static void
test_encode_header (void)
{
  static const struct
  {
    gsize  len;
    guint8 bytes[4];
  } cases[] = {
    { 0, { 0x00, 0x00, 0x00, 0x00 } },
    { 3, { 0x00, 0x00, 0x00, 0x03 } },
    { 255, { 0x00, 0x00, 0x00, 0xff } },
    { 256, { 0x00, 0x00, 0x01, 0x00 } },
    { 65536, { 0x00, 0x01, 0x00, 0x00 } },
    { 0x01020304, { 0x01, 0x02, 0x03, 0x04 } },
    { G_MAXINT32, { 0x7f, 0xff, 0xff, 0xff } },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint8 header[GIPC_FRAME_HEADER_SIZE] = { 0xaa, 0xaa, 0xaa, 0xaa };

      gipc_frame_encode_header (header, cases[i].len);
      g_assert_cmpmem (header, sizeof header, cases[i].bytes, 4);
    }
}

/* gipc's documented example: raw b"abc" is 00 00 00 03 61 62 63. */
static void
test_decode_whole (void)
{
  static const guint8 wire[] = { 0, 0, 0, 3, 'a', 'b', 'c' };
  GipcFrameDecoder decoder;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;
  gsize consumed = 12345;

  gipc_frame_decoder_init (&decoder, GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_false (gipc_frame_decoder_in_frame (&decoder));

  g_assert_cmpint (gipc_frame_decoder_feed (&decoder, wire, sizeof wire, &consumed,
                                            &message, &error),
                   ==, GIPC_FRAME_MESSAGE);
  g_assert_no_error (error);
  g_assert_cmpuint (consumed, ==, sizeof wire);
  g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message), "abc", 3);
  g_assert_false (gipc_frame_decoder_in_frame (&decoder));
  g_assert_true (gipc_frame_decoder_at_eof (&decoder, &error));
  g_assert_no_error (error);

  gipc_frame_decoder_clear (&decoder);
}

/* A 0-byte message is an empty GBytes, never NULL, on the fast path
 * (whole frame in one buffer) and on the byte-by-byte path. */
static void
test_decode_empty_message (void)
{
  static const guint8 wire[] = { 0, 0, 0, 0 };
  GipcFrameDecoder decoder;
  gsize i, consumed;

  gipc_frame_decoder_init (&decoder, GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE);

  {
    g_autoptr(GBytes) message = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint (gipc_frame_decoder_feed (&decoder, wire, sizeof wire, &consumed,
                                              &message, &error),
                     ==, GIPC_FRAME_MESSAGE);
    g_assert_no_error (error);
    g_assert_cmpuint (consumed, ==, 4);
    g_assert_nonnull (message);
    g_assert_cmpuint (g_bytes_get_size (message), ==, 0);
  }

  for (i = 0; i < sizeof wire; i++)
    {
      g_autoptr(GBytes) message = NULL;
      g_autoptr(GError) error = NULL;
      GipcFrameResult res;

      res = gipc_frame_decoder_feed (&decoder, wire + i, 1, &consumed, &message, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (consumed, ==, 1);
      if (i < sizeof wire - 1)
        {
          g_assert_cmpint (res, ==, GIPC_FRAME_NEED_MORE);
          g_assert_null (message);
          g_assert_true (gipc_frame_decoder_in_frame (&decoder));
        }
      else
        {
          g_assert_cmpint (res, ==, GIPC_FRAME_MESSAGE);
          g_assert_nonnull (message);
          g_assert_cmpuint (g_bytes_get_size (message), ==, 0);
          g_assert_false (gipc_frame_decoder_in_frame (&decoder));
        }
    }

  gipc_frame_decoder_clear (&decoder);
}

static void
test_decode_byte_by_byte (void)
{
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (300, 7);
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(GBytes) message = NULL;
  GipcFrameDecoder decoder;
  gsize i;

  append_frame (stream, payload);
  gipc_frame_decoder_init (&decoder, 1000);

  for (i = 0; i < stream->len; i++)
    {
      g_autoptr(GError) error = NULL;
      gsize consumed = 0;
      GipcFrameResult res;

      g_assert_null (message);
      res = gipc_frame_decoder_feed (&decoder, stream->data + i, 1, &consumed,
                                     &message, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (consumed, ==, 1);
      if (i + 1 < stream->len)
        {
          g_assert_cmpint (res, ==, GIPC_FRAME_NEED_MORE);
          g_assert_true (gipc_frame_decoder_in_frame (&decoder));
        }
      else
        g_assert_cmpint (res, ==, GIPC_FRAME_MESSAGE);
    }

  gipc_test_assert_pattern (message, 300, 7);
  g_assert_false (gipc_frame_decoder_in_frame (&decoder));
  gipc_frame_decoder_clear (&decoder);
}

/* feed() stops after one whole frame: the rest of the input is left for
 * the next call, also when it is an incomplete frame. */
static void
test_decode_several_frames (void)
{
  static const guint8 wire[] = {
    0, 0, 0, 3, 'a', 'b', 'c',
    0, 0, 0, 0,
    0, 0, 0, 2, 'd', 'e',
    0, 0, 0, 1,
  };
  GipcFrameDecoder decoder;
  gsize pos = 0, consumed;
  const char *expected[] = { "abc", "", "de" };
  gsize i;

  gipc_frame_decoder_init (&decoder, GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE);

  for (i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(GBytes) message = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (gipc_frame_decoder_feed (&decoder, wire + pos, sizeof wire - pos,
                                                &consumed, &message, &error),
                       ==, GIPC_FRAME_MESSAGE);
      g_assert_no_error (error);
      g_assert_cmpuint (consumed, ==, GIPC_FRAME_HEADER_SIZE + strlen (expected[i]));
      g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message),
                       expected[i], strlen (expected[i]));
      pos += consumed;
    }

  {
    g_autoptr(GBytes) message = NULL;
    g_autoptr(GError) error = NULL;

    /* The trailing header of a 1-byte frame with no body yet. */
    g_assert_cmpint (gipc_frame_decoder_feed (&decoder, wire + pos, sizeof wire - pos,
                                              &consumed, &message, &error),
                     ==, GIPC_FRAME_NEED_MORE);
    g_assert_no_error (error);
    g_assert_null (message);
    g_assert_cmpuint (consumed, ==, 4);
    g_assert_true (gipc_frame_decoder_in_frame (&decoder));
    g_assert_false (gipc_frame_decoder_at_eof (&decoder, &error));
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  }

  {
    g_autoptr(GBytes) message = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint (gipc_frame_decoder_feed (&decoder, (const guint8 *) "z", 1,
                                              &consumed, &message, &error),
                     ==, GIPC_FRAME_MESSAGE);
    g_assert_no_error (error);
    g_assert_cmpuint (consumed, ==, 1);
    g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message), "z", 1);
  }

  gipc_frame_decoder_clear (&decoder);
}

/* Decodes @stream fed in the chunks given by @splits (ascending offsets),
 * calling feed() until each chunk is used up; returns the messages. */
static GPtrArray *
decode_in_chunks (const guint8 *data,
                  gsize         len,
                  const gsize  *splits,
                  gsize         n_splits,
                  guint64       max_size)
{
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GipcFrameDecoder decoder;
  gsize start = 0, s;

  gipc_frame_decoder_init (&decoder, max_size);

  for (s = 0; s <= n_splits; s++)
    {
      gsize end = s < n_splits ? splits[s] : len;
      gsize pos = start;

      g_assert_cmpuint (end, >=, start);
      do
        {
          g_autoptr(GError) error = NULL;
          GBytes *message = NULL;
          gsize consumed = 0;
          GipcFrameResult res;

          res = gipc_frame_decoder_feed (&decoder, data + pos, end - pos, &consumed,
                                         &message, &error);
          g_assert_no_error (error);
          g_assert_cmpint (res, !=, GIPC_FRAME_ERROR);
          g_assert_cmpuint (consumed, <=, end - pos);
          pos += consumed;
          if (res == GIPC_FRAME_MESSAGE)
            g_ptr_array_add (messages, message);
          else
            g_assert_cmpuint (pos, ==, end);
        }
      while (pos < end);
      start = end;
    }

  g_assert_true (gipc_frame_decoder_at_eof (&decoder, NULL));
  gipc_frame_decoder_clear (&decoder);

  return messages;
}

static void
assert_messages_equal (GPtrArray  *messages,
                       GBytes    **expected,
                       gsize       n_expected)
{
  gsize i;

  g_assert_cmpuint (messages->len, ==, n_expected);
  for (i = 0; i < n_expected; i++)
    g_assert_true (g_bytes_equal (g_ptr_array_index (messages, i), expected[i]));
}

/* The stream is split in two at every possible offset. */
static void
test_decode_every_split (void)
{
  GBytes *payloads[4];
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  gsize i, split;

  payloads[0] = g_bytes_new (NULL, 0);
  payloads[1] = g_bytes_new_static ("hello", 5);
  payloads[2] = gipc_test_pattern_bytes (1000, 3);
  payloads[3] = g_bytes_new_static ("x", 1);
  for (i = 0; i < G_N_ELEMENTS (payloads); i++)
    append_frame (stream, payloads[i]);

  for (split = 0; split <= stream->len; split++)
    {
      g_autoptr(GPtrArray) messages = decode_in_chunks (stream->data, stream->len,
                                                        &split, 1, 1000);

      assert_messages_equal (messages, payloads, G_N_ELEMENTS (payloads));
    }

  for (i = 0; i < G_N_ELEMENTS (payloads); i++)
    g_bytes_unref (payloads[i]);
}

/* Many messages of random sizes (many of them 0), fed in random chunks,
 * once through feed() only and once reading bodies through
 * body_tail()/body_advance() as the channel does for large bodies. */
static void
test_decode_random_chunks (void)
{
  g_autoptr(GPtrArray) payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(GArray) splits = g_array_new (FALSE, FALSE, sizeof (gsize));
  guint round;
  gsize i;

  for (i = 0; i < 300; i++)
    {
      gsize size = g_test_rand_bit () ? 0 : (gsize) g_test_rand_int_range (0, 5000);
      GBytes *payload = gipc_test_pattern_bytes (size, (guint) i);

      g_ptr_array_add (payloads, payload);
      append_frame (stream, payload);
    }

  for (round = 0; round < 20; round++)
    {
      g_autoptr(GPtrArray) messages = NULL;
      gsize pos = 0;

      g_array_set_size (splits, 0);
      while (TRUE)
        {
          pos += (gsize) g_test_rand_int_range (0, round < 10 ? 16 : 9000);
          if (pos >= stream->len)
            break;
          g_array_append_val (splits, pos);
        }

      messages = decode_in_chunks (stream->data, stream->len,
                                   (const gsize *) (gpointer) splits->data, splits->len,
                                   5000);
      assert_messages_equal (messages, (GBytes **) payloads->pdata, payloads->len);
    }

  /* The same stream, with bodies read through body_tail()/body_advance()
   * in random amounts. */
  for (round = 0; round < 10; round++)
    {
      g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      GipcFrameDecoder decoder;
      gsize pos = 0;

      gipc_frame_decoder_init (&decoder, 5000);
      while (pos < stream->len)
        {
          g_autoptr(GError) error = NULL;
          GBytes *message = NULL;
          GipcFrameResult res;
          gsize remaining = 0;
          guint8 *tail = gipc_frame_decoder_body_tail (&decoder, &remaining);

          if (tail != NULL)
            {
              gsize n = (gsize) g_test_rand_int_range (1, 3000);

              g_assert_cmpuint (remaining, >, 0);
              n = MIN (n, remaining);
              n = MIN (n, stream->len - pos);
              memcpy (tail, stream->data + pos, n);
              pos += n;
              res = gipc_frame_decoder_body_advance (&decoder, n, &message);
            }
          else
            {
              gsize n = (gsize) g_test_rand_int_range (1, 7);
              gsize consumed = 0;

              n = MIN (n, stream->len - pos);
              g_assert_cmpuint (remaining, ==, 0);
              res = gipc_frame_decoder_feed (&decoder, stream->data + pos, n, &consumed,
                                             &message, &error);
              g_assert_no_error (error);
              pos += consumed;
            }
          g_assert_cmpint (res, !=, GIPC_FRAME_ERROR);
          if (res == GIPC_FRAME_MESSAGE)
            g_ptr_array_add (messages, message);
          else
            g_assert_null (message);
        }
      g_assert_true (gipc_frame_decoder_at_eof (&decoder, NULL));
      gipc_frame_decoder_clear (&decoder);
      assert_messages_equal (messages, (GBytes **) payloads->pdata, payloads->len);
    }
}

/* A header announcing exactly max_size is accepted, on both paths. */
static void
test_max_size_exact (void)
{
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (100, 1);
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(GPtrArray) whole = NULL;
  gsize split = 2;
  g_autoptr(GPtrArray) split_messages = NULL;

  append_frame (stream, payload);
  whole = decode_in_chunks (stream->data, stream->len, NULL, 0, 100);
  assert_messages_equal (whole, &payload, 1);
  split_messages = decode_in_chunks (stream->data, stream->len, &split, 1, 100);
  assert_messages_equal (split_messages, &payload, 1);
}

/* Feeds @wire (@len bytes) to a fresh decoder with @max_size, @chunk bytes
 * at a time, and expects MESSAGE_TOO_LARGE once the 4th byte is in. */
static void
assert_too_large (const guint8 *wire,
                  gsize         len,
                  guint64       max_size,
                  gsize         chunk)
{
  GipcFrameDecoder decoder;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  GipcFrameResult res = GIPC_FRAME_NEED_MORE;
  gsize pos = 0, consumed = 0;

  gipc_frame_decoder_init (&decoder, max_size);
  while (pos < len)
    {
      res = gipc_frame_decoder_feed (&decoder, wire + pos, MIN (chunk, len - pos),
                                     &consumed, &message, &error);
      pos += consumed;
      if (res != GIPC_FRAME_NEED_MORE)
        break;
      g_assert_no_error (error);
    }

  g_assert_cmpint (res, ==, GIPC_FRAME_ERROR);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE);
  g_assert_null (message);
  /* The error comes with the header, before any body byte is taken. */
  g_assert_cmpuint (pos, ==, GIPC_FRAME_HEADER_SIZE);
  gipc_frame_decoder_clear (&decoder);
}

static void
test_max_size_exceeded (void)
{
  static const guint8 header_101[] = { 0, 0, 0, 101 };
  guint8 with_body[4 + 101];
  gsize chunk;

  memcpy (with_body, header_101, 4);
  memset (with_body + 4, 'x', 101);

  for (chunk = 1; chunk <= 4; chunk++)
    assert_too_large (header_101, sizeof header_101, 100, chunk);
  /* The whole oversized frame in one buffer: refused all the same. */
  assert_too_large (with_body, sizeof with_body, 100, sizeof with_body);
  assert_too_large (with_body, sizeof with_body, 0, sizeof with_body);
}

/* The length is a signed int32 on the wire: 0x80000000 and more are
 * negative (gipc returned an empty message for them). */
static void
test_max_size_negative (void)
{
  static const guint8 min_neg[] = { 0x80, 0, 0, 0, 'a', 'b' };
  static const guint8 minus_one[] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b' };
  static const guint64 maxes[] = { 0, 100, GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE,
                                   GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT, G_MAXUINT64 };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (maxes); i++)
    {
      assert_too_large (min_neg, 4, maxes[i], 4);
      assert_too_large (min_neg, sizeof min_neg, maxes[i], sizeof min_neg);
      assert_too_large (min_neg, sizeof min_neg, maxes[i], 1);
      assert_too_large (minus_one, 4, maxes[i], 4);
      assert_too_large (minus_one, sizeof minus_one, maxes[i], sizeof minus_one);
      assert_too_large (minus_one, sizeof minus_one, maxes[i], 3);
    }
}

/* A max_size above what the wire can carry is clamped to 2^31 - 1. */
static void
test_max_size_clamped (void)
{
  GipcFrameDecoder decoder;

  gipc_frame_decoder_init (&decoder, G_MAXUINT64);
  g_assert_cmpuint (decoder.max_size, ==, GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT);
  gipc_frame_decoder_clear (&decoder);

  gipc_frame_decoder_init (&decoder, 12345);
  g_assert_cmpuint (decoder.max_size, ==, 12345);
  gipc_frame_decoder_clear (&decoder);
}

/* End of stream: fine at a boundary, a PROTOCOL error inside a frame,
 * including right after a complete header (gipc's EOFError quirk). */
static void
test_eof (void)
{
  static const guint8 wire[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
  gsize cut;

  for (cut = 0; cut <= sizeof wire; cut++)
    {
      GipcFrameDecoder decoder;
      g_autoptr(GBytes) message = NULL;
      g_autoptr(GError) error = NULL;
      gsize consumed = 0;
      GipcFrameResult res;

      gipc_frame_decoder_init (&decoder, 100);
      res = gipc_frame_decoder_feed (&decoder, wire, cut, &consumed, &message, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (consumed, ==, cut);

      if (cut == 0 || cut == sizeof wire)
        {
          g_assert_cmpint (res, ==, cut == 0 ? GIPC_FRAME_NEED_MORE : GIPC_FRAME_MESSAGE);
          g_assert_false (gipc_frame_decoder_in_frame (&decoder));
          g_assert_true (gipc_frame_decoder_at_eof (&decoder, &error));
          g_assert_no_error (error);
        }
      else
        {
          g_assert_cmpint (res, ==, GIPC_FRAME_NEED_MORE);
          g_assert_null (message);
          g_assert_true (gipc_frame_decoder_in_frame (&decoder));
          g_assert_false (gipc_frame_decoder_at_eof (&decoder, &error));
          g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
        }
      gipc_frame_decoder_clear (&decoder);
    }
}

static void
test_body_tail (void)
{
  static const guint8 header[] = { 0, 0, 0, 10 };
  GipcFrameDecoder decoder;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;
  gsize consumed = 0, remaining = 99;
  guint8 *tail;

  gipc_frame_decoder_init (&decoder, 100);

  /* No header yet: no tail. */
  g_assert_null (gipc_frame_decoder_body_tail (&decoder, &remaining));
  g_assert_cmpuint (remaining, ==, 0);

  /* Half a header: still no tail. */
  g_assert_cmpint (gipc_frame_decoder_feed (&decoder, header, 2, &consumed, &message, &error),
                   ==, GIPC_FRAME_NEED_MORE);
  remaining = 99;
  g_assert_null (gipc_frame_decoder_body_tail (&decoder, &remaining));
  g_assert_cmpuint (remaining, ==, 0);

  g_assert_cmpint (gipc_frame_decoder_feed (&decoder, header + 2, 2, &consumed, &message, &error),
                   ==, GIPC_FRAME_NEED_MORE);
  g_assert_no_error (error);

  tail = gipc_frame_decoder_body_tail (&decoder, &remaining);
  g_assert_nonnull (tail);
  g_assert_cmpuint (remaining, ==, 10);
  memcpy (tail, "0123", 4);
  g_assert_cmpint (gipc_frame_decoder_body_advance (&decoder, 4, &message),
                   ==, GIPC_FRAME_NEED_MORE);
  g_assert_null (message);

  /* Mixing the two paths: the next 2 body bytes through feed(). */
  g_assert_cmpint (gipc_frame_decoder_feed (&decoder, (const guint8 *) "45", 2, &consumed,
                                            &message, &error),
                   ==, GIPC_FRAME_NEED_MORE);
  g_assert_cmpuint (consumed, ==, 2);

  tail = gipc_frame_decoder_body_tail (&decoder, &remaining);
  g_assert_nonnull (tail);
  g_assert_cmpuint (remaining, ==, 4);
  memcpy (tail, "6789", 4);
  g_assert_cmpint (gipc_frame_decoder_body_advance (&decoder, 4, &message),
                   ==, GIPC_FRAME_MESSAGE);
  g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message),
                   "0123456789", 10);

  g_assert_null (gipc_frame_decoder_body_tail (&decoder, &remaining));
  g_assert_cmpuint (remaining, ==, 0);
  g_assert_false (gipc_frame_decoder_in_frame (&decoder));
  gipc_frame_decoder_clear (&decoder);
}

/* clear() drops a frame in progress; the decoder is then at a boundary
 * and decodes the next frame normally. */
static void
test_clear (void)
{
  static const guint8 partial[] = { 0, 0, 0, 50, 'a', 'b', 'c' };
  static const guint8 next[] = { 0, 0, 0, 2, 'o', 'k' };
  GipcFrameDecoder decoder;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;
  gsize consumed = 0;

  gipc_frame_decoder_init (&decoder, 100);
  gipc_frame_decoder_clear (&decoder);
  gipc_frame_decoder_clear (&decoder);

  g_assert_cmpint (gipc_frame_decoder_feed (&decoder, partial, sizeof partial, &consumed,
                                            &message, &error),
                   ==, GIPC_FRAME_NEED_MORE);
  g_assert_true (gipc_frame_decoder_in_frame (&decoder));
  gipc_frame_decoder_clear (&decoder);
  g_assert_false (gipc_frame_decoder_in_frame (&decoder));
  g_assert_true (gipc_frame_decoder_at_eof (&decoder, NULL));
  g_assert_cmpuint (decoder.max_size, ==, 100);

  g_assert_cmpint (gipc_frame_decoder_feed (&decoder, next, 3, &consumed, &message, &error),
                   ==, GIPC_FRAME_NEED_MORE);
  g_assert_cmpint (gipc_frame_decoder_feed (&decoder, next + 3, 3, &consumed, &message, &error),
                   ==, GIPC_FRAME_MESSAGE);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message), "ok", 2);
  gipc_frame_decoder_clear (&decoder);
}

static void
test_feed_nothing (void)
{
  GipcFrameDecoder decoder;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;
  gsize consumed = 77;

  gipc_frame_decoder_init (&decoder, 100);
  g_assert_cmpint (gipc_frame_decoder_feed (&decoder, NULL, 0, &consumed, &message, &error),
                   ==, GIPC_FRAME_NEED_MORE);
  g_assert_cmpuint (consumed, ==, 0);
  g_assert_null (message);
  g_assert_no_error (error);
  g_assert_false (gipc_frame_decoder_in_frame (&decoder));
  gipc_frame_decoder_clear (&decoder);
}

/* The decoder takes nothing of the input after a whole frame and does not
 * keep pointers into it: the buffer may be freed right after feed(). */
static void
test_message_owns_data (void)
{
  guint8 *wire = g_malloc (4 + 3);
  GipcFrameDecoder decoder;
  g_autoptr(GBytes) message = NULL;
  gsize consumed = 0;

  memcpy (wire, "\0\0\0\3xyz", 7);
  gipc_frame_decoder_init (&decoder, 100);
  g_assert_cmpint (gipc_frame_decoder_feed (&decoder, wire, 7, &consumed, &message, NULL),
                   ==, GIPC_FRAME_MESSAGE);
  memset (wire, 0, 7);
  g_free (wire);
  g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message), "xyz", 3);
  gipc_frame_decoder_clear (&decoder);
}

static void
test_precondition_advance_without_header (void)
{
  GipcFrameDecoder decoder;
  GBytes *message = NULL;

  gipc_frame_decoder_init (&decoder, 100);
  g_test_expect_message ("Gipc", G_LOG_LEVEL_CRITICAL, "*assertion*");
  g_assert_cmpint (gipc_frame_decoder_body_advance (&decoder, 1, &message),
                   ==, GIPC_FRAME_ERROR);
  g_test_assert_expected_messages ();
  g_assert_null (message);
  gipc_frame_decoder_clear (&decoder);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  gipc_test_add_func ("/channel/frame/encode-header", test_encode_header);
  gipc_test_add_func ("/channel/frame/decode/whole", test_decode_whole);
  gipc_test_add_func ("/channel/frame/decode/empty-message", test_decode_empty_message);
  gipc_test_add_func ("/channel/frame/decode/byte-by-byte", test_decode_byte_by_byte);
  gipc_test_add_func ("/channel/frame/decode/several-frames", test_decode_several_frames);
  gipc_test_add_func ("/channel/frame/decode/every-split", test_decode_every_split);
  gipc_test_add_func ("/channel/frame/decode/random-chunks", test_decode_random_chunks);
  gipc_test_add_func ("/channel/frame/decode/feed-nothing", test_feed_nothing);
  gipc_test_add_func ("/channel/frame/decode/message-owns-data", test_message_owns_data);
  gipc_test_add_func ("/channel/frame/decode/body-tail", test_body_tail);
  gipc_test_add_func ("/channel/frame/decode/clear", test_clear);
  gipc_test_add_func ("/channel/frame/max-size/exact", test_max_size_exact);
  gipc_test_add_func ("/channel/frame/max-size/exceeded", test_max_size_exceeded);
  gipc_test_add_func ("/channel/frame/max-size/negative", test_max_size_negative);
  gipc_test_add_func ("/channel/frame/max-size/clamped", test_max_size_clamped);
  gipc_test_add_func ("/channel/frame/eof", test_eof);
  gipc_test_add_func ("/channel/frame/precondition/advance-without-header",
                      test_precondition_advance_without_header);

  return g_test_run ();
}
