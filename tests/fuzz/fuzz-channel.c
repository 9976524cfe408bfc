/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * libFuzzer target for the channel's real receive path: a
 * gipc_channel_new_from_fds (read end of a pipe, -1) channel, its read
 * buffer, decoder, direct-to-body reads of large messages, inbox, delivery
 * and end of stream. Built and run by tests/fuzz/run-fuzz.sh, not by meson.
 *
 * Input: an 8-byte script, then the byte stream the peer sends.
 *   byte 0: receive style (% 3): sync receive loop, receive_async chain
 *           (each callback starts the next receive), listen with
 *           "message"/"error" handlers; bit 7: start the next receive
 *           before the callback's action (async chain).
 *   byte 1: max-message-size (index into max_sizes).
 *   byte 2: action in a message handler or receive callback (low 3 bits)
 *           and in the "error" handler (bits 4-5), see Action/ErrorAction.
 *   byte 3: seed of the chunk sizes the peer writes.
 *   byte 4: which message the CLOSE action closes at.
 *   byte 5: bit 7: insert a large frame (64 KiB and more, so the channel
 *           reads its body directly); bits 0-6 and byte 6 its extra size;
 *           bit 6: that frame is the last thing sent and is truncated.
 *   byte 7: where the large frame goes in the stream (/ 256).
 *
 * Byte 2 bit 6 selects the send side instead (fuzz-send.h): the input is
 * then a send script for a gipc_pipe() channel, a pipe, or with byte 2 bit
 * 3 a socket that carries shared-memory messages.
 *
 * The peer's bytes go into the pipe in chunks from this thread; the pipe
 * is non-blocking, and whenever it is full (or between chunks) the
 * receiver's private context is iterated, so nothing deadlocks. Sync
 * receives are only made once the bytes of the next frame (or the end) are
 * in the pipe, which is made large enough for the whole stream.
 *
 * Oracle: a reference parser of the framing gives the exact messages and
 * the one end (PEER_CLOSED at a frame boundary, PROTOCOL for a truncated
 * frame, MESSAGE_TOO_LARGE for a header over max-message-size or a
 * negative length). Every delivered message must be the next expected one,
 * byte for byte; then exactly one end; nothing after it, nor after we
 * closed the channel. Any mismatch aborts.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#include "fuzz-send.h"

#define CHECK(cond) do { if (!(cond)) { \
  g_printerr ("fuzz-channel: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
  abort (); } } while (0)

#define SCRIPT_SIZE 8
#define LARGE_FRAME_MIN (64 * 1024)
#define MAX_NESTING 3
#define MAX_STALL 20000

/* The default (1 GiB) and the wire limit are here too: a header within
 * them must not make the receiver allocate the announced size at once
 * (run-fuzz.sh sets -malloc_limit_mb to catch that). */
static const guint64 max_sizes[] = {
  0, 1, 3, 16, 255, 4096, 65535, 65536, 1 << 17, 1 << 20, 1 << 20, 1 << 20,
  GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE, GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT,
};

/* Chunk sizes the peer writes; 0 stands for "all that is left". */
static const gsize chunk_sizes[] = {
  1, 2, 3, 4, 5, 7, 13, 64, 4096, 65535, 65536, 131072, 0,
};

typedef enum
{
  STYLE_SYNC,
  STYLE_ASYNC,
  STYLE_LISTEN,
} Style;

typedef enum
{
  ACTION_NONE,
  ACTION_ITERATE,      /* g_main_context_iteration (ctx, FALSE) once */
  ACTION_NESTED,       /* a nested loop until the next delivery or the end */
  ACTION_CLOSE,        /* close the channel at message close_at */
  ACTION_ITERATE_TWICE,
  ACTION_LAST = ACTION_ITERATE_TWICE,
} Action;

typedef enum
{
  ERROR_ACTION_NONE,
  ERROR_ACTION_CLOSE,  /* close the channel, then read the error */
  ERROR_ACTION_ITERATE,
  ERROR_ACTION_CLOSE_ITERATE,
} ErrorAction;

typedef struct
{
  gsize offset;
  gsize length;
} Frame;

typedef struct
{
  /* The peer's stream and how it is written. */
  guint8 *stream;
  gsize len;
  gsize written;
  guint32 rng;
  int write_fd;

  /* What the reference parser expects. */
  GArray *frames;      /* of Frame */
  gint end_code;       /* GIPC_ERROR_* */

  /* What the channel did. */
  GipcChannel *channel;
  GMainContext *context;
  Style style;
  Action action;
  ErrorAction error_action;
  gboolean receive_first;
  guint close_at;
  guint delivered;
  gboolean ended;
  gboolean closed;
  guint nesting;
} Harness;

/* GIPC_FUZZ_SKIP (comma-separated, for hunting new bugs while known ones
 * are unfixed; never set by run-tests.sh): "error-close" (no close in the
 * "error" handler), "nested" (no nested loop in handlers), "listen-iterate"
 * (no iteration of any kind in a "message" handler), "huge-max" (no
 * max-message-size above 1 MiB). */
static gboolean skip_error_close, skip_nested, skip_listen_iterate, skip_huge_max;

static guint32
next_rand (guint32 *state)
{
  *state = *state * 1103515245u + 12345u;
  return *state >> 16;
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* GLib 2.74 takes objects from g_slice, which hides use after free from
   * ASan; this must be set before GLib allocates anything. */
  setenv ("G_SLICE", "always-malloc", 1);
  /* The peer writes on after we closed the channel: EPIPE, not a death. */
  signal (SIGPIPE, SIG_IGN);

  if (g_getenv ("GIPC_FUZZ_SKIP") != NULL)
    {
      const char *skip = g_getenv ("GIPC_FUZZ_SKIP");

      skip_error_close = strstr (skip, "error-close") != NULL;
      skip_nested = strstr (skip, "nested") != NULL;
      skip_listen_iterate = strstr (skip, "listen-iterate") != NULL;
      skip_huge_max = strstr (skip, "huge-max") != NULL;
    }
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

/* The reference parser: the whole frames and the end they lead to. */
static void
parse_reference (Harness *h,
                 guint64  max_size)
{
  gsize pos = 0;

  for (;;)
    {
      guint32 raw;
      Frame frame;

      if (h->len - pos == 0)
        {
          h->end_code = GIPC_ERROR_PEER_CLOSED;
          return;
        }
      if (h->len - pos < 4)
        {
          h->end_code = GIPC_ERROR_PROTOCOL;
          return;
        }

      raw = ((guint32) h->stream[pos] << 24) | ((guint32) h->stream[pos + 1] << 16) |
            ((guint32) h->stream[pos + 2] << 8) | (guint32) h->stream[pos + 3];
      if (raw > G_MAXINT32 || raw > max_size)
        {
          h->end_code = GIPC_ERROR_MESSAGE_TOO_LARGE;
          return;
        }
      if (h->len - pos - 4 < raw)
        {
          h->end_code = GIPC_ERROR_PROTOCOL;
          return;
        }

      frame.offset = pos + 4;
      frame.length = raw;
      g_array_append_val (h->frames, frame);
      pos += 4 + (gsize) raw;
    }
}

/* The peer's stream: the fuzzer's bytes, with an optional large frame
 * spliced in (whole, at a chosen place) or appended truncated. */
static void
build_stream (Harness      *h,
              const guint8 *script,
              const guint8 *data,
              gsize         len)
{
  gsize large, at, cut = 0, body;
  guint8 *p;

  if ((script[5] & 0x80) == 0)
    {
      h->stream = g_memdup2 (data, len);
      h->len = len;
      return;
    }

  large = LARGE_FRAME_MIN + (((gsize) (script[5] & 0x3f) << 8 | script[6]) << 4);
  if (script[5] & 0x40)
    {
      at = len;
      cut = 1 + (((gsize) script[6] << 8 | script[7]) % large);
    }
  else
    at = (gsize) script[7] * len / 256;

  h->len = len + 4 + large - cut;
  h->stream = p = g_malloc (h->len);
  memcpy (p, data, at);
  p += at;
  *p++ = (large >> 24) & 0xff;
  *p++ = (large >> 16) & 0xff;
  *p++ = (large >> 8) & 0xff;
  *p++ = large & 0xff;
  body = large - cut;
  for (gsize i = 0; i < body; i++)
    *p++ = (guint8) (i * 7 + (i >> 8) + script[6]);
  memcpy (p, data + at, len - at);
}

/* Writes the next chunk, or what fits. Returns TRUE if it wrote anything;
 * closes the write end (end of stream) after the last byte. */
static gboolean
write_some (Harness *h)
{
  gsize want;
  gssize n;

  if (h->write_fd < 0)
    return FALSE;

  if (h->written == h->len)
    {
      close (h->write_fd);
      h->write_fd = -1;
      return TRUE;
    }

  want = chunk_sizes[next_rand (&h->rng) % G_N_ELEMENTS (chunk_sizes)];
  if (want == 0 || want > h->len - h->written)
    want = h->len - h->written;

  do
    n = write (h->write_fd, h->stream + h->written, want);
  while (n < 0 && errno == EINTR);

  if (n < 0 && errno == EPIPE)
    {
      /* The channel is closed: the peer stops. */
      CHECK (h->closed);
      close (h->write_fd);
      h->write_fd = -1;
      return FALSE;
    }
  if (n < 0)
    {
      CHECK (errno == EAGAIN || errno == EWOULDBLOCK);
      return FALSE;
    }

  h->written += n;
  return n > 0;
}

static void
check_message (Harness *h,
               GBytes  *message)
{
  const Frame *frame;
  gsize size;
  const guint8 *bytes;

  CHECK (message != NULL);
  CHECK (!h->ended);
  CHECK (!h->closed);
  CHECK (h->delivered < h->frames->len);

  frame = &g_array_index (h->frames, Frame, h->delivered);
  bytes = g_bytes_get_data (message, &size);
  CHECK (size == frame->length);
  CHECK (size == 0 || memcmp (bytes, h->stream + frame->offset, size) == 0);
  h->delivered++;
}

static void
check_end (Harness      *h,
           const GError *error)
{
  CHECK (error != NULL);
  CHECK (!h->ended);
  CHECK (!h->closed);
  CHECK (h->delivered == h->frames->len);
  CHECK (error->domain == GIPC_ERROR);
  CHECK (error->code == h->end_code);
  CHECK (error->message != NULL && strlen (error->message) > 0);
  h->ended = TRUE;
}

/* One step of the peer and the receiver, without blocking. */
static void
step (Harness *h)
{
  write_some (h);
  g_main_context_iteration (h->context, FALSE);
}

static void
close_channel (Harness *h)
{
  GError *error = NULL;

  if (gipc_channel_close (h->channel, &error))
    h->closed = TRUE;
  else
    {
      /* A pending receive makes it LOCKED; that is allowed. */
      CHECK (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_LOCKED));
      g_error_free (error);
    }
}

/* A nested main loop until the next delivery or the end (or a stall:
 * everything written and nothing happening is a hang, which aborts). */
static void
run_nested (Harness *h)
{
  guint before = h->delivered;
  guint stall = 0;

  if (h->nesting >= MAX_NESTING)
    return;

  h->nesting++;
  while (!h->ended && !h->closed && h->delivered == before)
    {
      step (h);
      if (h->write_fd < 0)
        CHECK (++stall < MAX_STALL);
    }
  h->nesting--;
}

static void
do_action (Harness *h,
           guint    index)
{
  switch (h->action)
    {
    case ACTION_NONE:
      break;
    case ACTION_ITERATE:
      g_main_context_iteration (h->context, FALSE);
      break;
    case ACTION_ITERATE_TWICE:
      step (h);
      g_main_context_iteration (h->context, FALSE);
      break;
    case ACTION_NESTED:
      run_nested (h);
      break;
    case ACTION_CLOSE:
      if (index == h->close_at)
        close_channel (h);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Push mode. */

static void
message_cb (GipcChannel *channel,
            GBytes      *message,
            gpointer     user_data)
{
  Harness *h = user_data;
  guint index = h->delivered;

  check_message (h, message);
  do_action (h, index);
}

static void
error_cb (GipcChannel  *channel,
          const GError *error,
          gpointer      user_data)
{
  Harness *h = user_data;
  gint code = error->code;

  check_end (h, error);

  switch (h->error_action)
    {
    case ERROR_ACTION_NONE:
      break;
    case ERROR_ACTION_CLOSE:
      close_channel (h);
      break;
    case ERROR_ACTION_ITERATE:
      g_main_context_iteration (h->context, FALSE);
      break;
    case ERROR_ACTION_CLOSE_ITERATE:
      close_channel (h);
      g_main_context_iteration (h->context, FALSE);
      break;
    default:
      g_assert_not_reached ();
    }

  /* The error must still be valid after whatever the handler did. */
  CHECK (error->domain == GIPC_ERROR);
  CHECK (error->code == code);
  CHECK (error->message != NULL && strlen (error->message) > 0);
}

/* receive_async chain. */

static void receive_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data);

static void
start_receive (Harness *h)
{
  gipc_channel_receive_async (h->channel, NULL, receive_cb, h);
}

static void
receive_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Harness *h = user_data;
  GError *error = NULL;
  GBytes *message;
  guint index = h->delivered;

  message = gipc_channel_receive_finish (GIPC_CHANNEL (source), result, &error);
  if (message == NULL)
    {
      check_end (h, error);
      g_error_free (error);
      return;
    }

  check_message (h, message);
  g_bytes_unref (message);

  /* A nested loop waits for the next message: it needs that receive. */
  if (h->receive_first || h->action == ACTION_NESTED)
    {
      start_receive (h);
      do_action (h, index);
    }
  else
    {
      do_action (h, index);
      if (!h->closed)
        start_receive (h);
    }
}

/* Drivers. */

static void
drive_sync (Harness *h)
{
  while (!h->ended)
    {
      GError *error = NULL;
      GBytes *message;
      gsize need;

      /* Write until the next frame (or the end) is in the pipe. */
      if (h->delivered < h->frames->len)
        {
          const Frame *frame = &g_array_index (h->frames, Frame, h->delivered);

          need = frame->offset + frame->length;
        }
      else
        need = G_MAXSIZE;
      while (h->write_fd >= 0 && h->written < need)
        CHECK (write_some (h) || h->write_fd < 0);
      if (need == G_MAXSIZE)
        while (h->write_fd >= 0)
          write_some (h);

      message = gipc_channel_receive (h->channel, NULL, &error);
      if (message == NULL)
        {
          check_end (h, error);
          g_error_free (error);
          break;
        }
      check_message (h, message);
      g_bytes_unref (message);
    }

  /* The end is sticky. */
  {
    GError *error = NULL;

    CHECK (gipc_channel_receive (h->channel, NULL, &error) == NULL);
    CHECK (g_error_matches (error, GIPC_ERROR, h->end_code));
    g_error_free (error);
  }
}

static void
drive_async (Harness *h)
{
  guint stall = 0;

  if (h->style == STYLE_LISTEN)
    gipc_channel_listen (h->channel);
  else
    start_receive (h);

  while (!h->ended && !h->closed)
    {
      step (h);
      if (h->write_fd < 0)
        CHECK (++stall < MAX_STALL);
    }

  /* Nothing after the end, nor after a close. */
  for (guint i = 0; i < 4; i++)
    {
      write_some (h);
      g_main_context_iteration (h->context, FALSE);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const guint8 *script = data;
  Harness h = { 0 };
  GError *error = NULL;
  guint64 max_size;
  int fds[2];

  if (size < SCRIPT_SIZE)
    return 0;

  if (script[2] & 0x40)
    {
      fuzz_send_run ((script[2] & 0x08) ? GIPC_PIPE_FLAGS_UNIX_FDS : GIPC_PIPE_FLAGS_NONE,
                     data, size);
      return 0;
    }

  h.style = (Style) ((script[0] & 0x7f) % 3);
  h.receive_first = (script[0] & 0x80) != 0;
  max_size = max_sizes[script[1] % G_N_ELEMENTS (max_sizes)];
  h.action = (Action) ((script[2] & 0x7) % (ACTION_LAST + 1));
  h.error_action = (ErrorAction) ((script[2] >> 4) & 0x3);
  if (skip_huge_max)
    max_size = MIN (max_size, 1 << 20);
  if (skip_nested && h.action == ACTION_NESTED)
    h.action = ACTION_NONE;
  if (skip_listen_iterate && h.style == STYLE_LISTEN && h.action != ACTION_CLOSE)
    h.action = ACTION_NONE;
  if (skip_error_close && (h.error_action == ERROR_ACTION_CLOSE ||
                           h.error_action == ERROR_ACTION_CLOSE_ITERATE))
    h.error_action = ERROR_ACTION_NONE;
  h.rng = script[3];
  h.close_at = script[4] % 8;
  h.frames = g_array_new (FALSE, FALSE, sizeof (Frame));

  build_stream (&h, script, data + SCRIPT_SIZE, size - SCRIPT_SIZE);
  parse_reference (&h, max_size);

  CHECK (pipe2 (fds, O_CLOEXEC) == 0);
  CHECK (fcntl (fds[1], F_SETFL, O_NONBLOCK) == 0);
  if (h.style == STYLE_SYNC)
    {
      /* Sync receives block: the whole stream must fit in the pipe, so
       * the peer never waits for the receiver. */
      int cap = fcntl (fds[1], F_SETPIPE_SZ, 1 << 20);

      if (cap < 0 || (gsize) cap < h.len)
        h.len = cap < 0 ? MIN (h.len, 65536) : MIN (h.len, (gsize) cap);
      g_array_set_size (h.frames, 0);
      parse_reference (&h, max_size);
    }
  h.write_fd = fds[1];

  h.context = g_main_context_new ();
  g_main_context_push_thread_default (h.context);

  h.channel = gipc_channel_new_from_fds (fds[0], -1, &error);
  CHECK (h.channel != NULL && error == NULL);
  gipc_channel_set_max_message_size (h.channel, max_size);
  CHECK (gipc_channel_get_max_message_size (h.channel) == max_size);
  g_signal_connect (h.channel, "message", G_CALLBACK (message_cb), &h);
  g_signal_connect (h.channel, "error", G_CALLBACK (error_cb), &h);

  if (h.style == STYLE_SYNC)
    drive_sync (&h);
  else
    drive_async (&h);

  CHECK (h.ended || h.closed);

  if (!h.closed)
    CHECK (gipc_channel_close (h.channel, NULL));
  g_object_unref (h.channel);
  if (h.write_fd >= 0)
    close (h.write_fd);

  /* Let idles (completions in idle, result pools) run and go. */
  for (guint i = 0; i < 100 && g_main_context_iteration (h.context, FALSE); i++)
    ;
  g_main_context_pop_thread_default (h.context);
  g_main_context_unref (h.context);

  g_array_unref (h.frames);
  g_free (h.stream);

  return 0;
}
