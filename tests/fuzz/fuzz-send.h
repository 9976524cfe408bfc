/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The send side of a channel under a fuzzed script, shared by fuzz-channel.c
 * (a pipe channel, or a socket one) and fuzz-fds.c (a socket channel with
 * fds): the output queue, coalescing, shared-memory messages made into
 * memfds when written, flow control (queued-bytes, congested, the fd budget
 * and the frames in flight), flushes, send callbacks, and the failure of a
 * channel by a fire-and-forget send that cannot be sent. Header-only;
 * included by the targets, which select it with a script bit.
 *
 * Input: a 4-byte script, then ops.
 *   byte 0: (the target's mode bit; otherwise unused here)
 *   byte 1: shared-memory-threshold (index into send_thresholds), and
 *           bits 4-7: high-water-mark (index into send_marks).
 *   byte 2: the reader's pause between messages (index into send_pauses);
 *           bit 7: the reader takes fds (receive_with_fds) or not.
 *   byte 3: unused.
 *   ops: [u8 op][u16 big-endian size]:
 *     op bits 0-2: 0 send_async without callback, 1 with a callback,
 *                  2 send_with_fds_async (1 to 4 fds, size & 3) without
 *                  callback, 3 the same with a callback, 4 a shared GBytes
 *                  (gipc_shared_bytes_new_from_data) without callback,
 *                  5 a blocking send, 6 flush_async, 7 a fire-and-forget
 *                  send with more fds than a message may carry (refused:
 *                  the channel fails).
 *     bit 3: then wait, iterating the context, until not congested (the
 *            producer pattern).
 *     bit 4: then iterate the context once.
 *     bits 5-7: the size is shifted left by 2 * this (capped, and the
 *            total per input is capped).
 *
 * A thread reads every message (receive or receive_with_fds) until the end
 * of the stream, pausing between them. Oracle: the messages delivered are
 * exactly the accepted ones in send order, byte for byte, each with its
 * own fds (a pipe holding its tag); if the channel failed, exactly the
 * ones accepted before the failure, and nothing after it; a send callback
 * succeeds exactly when its message was delivered; a flush succeeds only
 * if nothing failed before it was complete; after a producer wait the
 * channel is not congested; whenever queued-bytes is above the mark the
 * channel is congested; at the end, with everything read, queued-bytes is
 * 0, the channel is not congested, and no fd is left open.
 */

#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <gipc-glib/gipc-glib.h>
#ifdef FUZZ_SEND_DIAGNOSE
#include "gipc-glib/gipc-channel-state-private.h"
#endif

#define SEND_SCRIPT_SIZE 4
#define SEND_OP_SIZE 3
#define SEND_MAX_MESSAGE (4 << 20)
#define SEND_MAX_TOTAL (24 << 20)
#define SEND_MAX_FDS 200
#define SEND_MAX_OPS 400

#define SEND_CHECK(cond) do { if (!(cond)) { \
  g_printerr ("fuzz-send: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
  abort (); } } while (0)

static const guint64 send_thresholds[] = { 0, 1, 64, 4096, 65536, 1 << 20 };
static const guint64 send_marks[] = { 0, 1, 1024, 65536, 1 << 20, 4 << 20 };
static const gulong send_pauses[] = { 0, 0, 10, 100, 1000 };

typedef struct
{
  guint    seq;          /* its tags are seq * 256 + i */
  gsize    size;
  guint    n_fds;
  gboolean has_callback;
  gboolean done;         /* the callback ran */
  gboolean ok;
} SendExpected;

typedef struct
{
  GipcChannel *reader;
  gboolean     take_fds;
  gulong       pause_us;
  GMutex       lock;
  GPtrArray   *messages;   /* GBytes */
  GPtrArray   *fd_lists;   /* GUnixFDList or NULL, per message */
  GError      *end;
} SendReader;

typedef struct
{
  GArray     *expected;    /* SendExpected, accepted sends in order */
  gboolean    failed;      /* the channel failed (an op 7) */
  guint       accepted_before_failure;
  guint       flushes;
  guint       flushes_done;
  gboolean    flush_failed_early;   /* a flush failed with nothing failed */
  gboolean    done_order_broken;
  guint       last_done;
} SendHarness;

typedef struct
{
  SendHarness *h;
  guint        index;
} SendCall;

static guint
send_count_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;
  guint n = 0;

  SEND_CHECK (dir != NULL);
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '.')
      n++;
  closedir (dir);
  return n;
}

/* The payload of message @seq: its number, then a pattern. */
static GBytes *
send_payload (guint seq,
              gsize size)
{
  guint8 *data = g_malloc (MAX (size, 1));

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) ((i * 131 + seq * 7 + (i >> 9)) & 0xff);
  if (size >= 4)
    {
      data[0] = (guint8) (seq >> 24);
      data[1] = (guint8) (seq >> 16);
      data[2] = (guint8) (seq >> 8);
      data[3] = (guint8) seq;
    }
  return g_bytes_new_take (data, size);
}

/* @n fds, each the read end of a pipe holding its 4-byte tag. */
static GUnixFDList *
send_tagged_fds (guint seq,
                 guint n)
{
  GUnixFDList *list = g_unix_fd_list_new ();

  for (guint i = 0; i < n; i++)
    {
      guint32 tag = seq * 256 + i;
      int p[2];

      SEND_CHECK (pipe2 (p, O_CLOEXEC) == 0);
      SEND_CHECK (write (p[1], &tag, sizeof tag) == sizeof tag);
      close (p[1]);
      SEND_CHECK (g_unix_fd_list_append (list, p[0], NULL) >= 0);
      close (p[0]);
    }
  return list;
}

static gpointer
send_reader_thread (gpointer data)
{
  SendReader *r = data;
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  for (;;)
    {
      GUnixFDList *fds = NULL;
      GError *error = NULL;
      GBytes *message;

      if (r->pause_us > 0)
        g_usleep (r->pause_us);
      message = r->take_fds ?
                gipc_channel_receive_with_fds (r->reader, &fds, NULL, &error) :
                gipc_channel_receive (r->reader, NULL, &error);
      if (message == NULL)
        {
          r->end = error;
          break;
        }
      g_mutex_lock (&r->lock);
      g_ptr_array_add (r->messages, message);
      g_ptr_array_add (r->fd_lists, fds);
      g_mutex_unlock (&r->lock);
    }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static guint
send_reader_count (SendReader *r)
{
  guint n;

  g_mutex_lock (&r->lock);
  n = r->messages->len;
  g_mutex_unlock (&r->lock);
  return n;
}

static void
send_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  SendCall *call = user_data;
  SendHarness *h = call->h;
  SendExpected *e = &g_array_index (h->expected, SendExpected, call->index);
  g_autoptr(GError) error = NULL;

  if (g_async_result_is_tagged (result, gipc_channel_send_with_fds_async))
    e->ok = gipc_channel_send_with_fds_finish (GIPC_CHANNEL (source), result, &error);
  else
    e->ok = gipc_channel_send_finish (GIPC_CHANNEL (source), result, &error);
  SEND_CHECK (e->ok == (error == NULL));
  e->done = TRUE;
  /* Callbacks of successive sends run in call order. */
  if (call->index < h->last_done)
    h->done_order_broken = TRUE;
  h->last_done = call->index;
  g_free (call);
}

static void
send_flush_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  SendHarness *h = user_data;
  g_autoptr(GError) error = NULL;

  if (!gipc_channel_flush_finish (GIPC_CHANNEL (source), result, &error) && !h->failed)
    h->flush_failed_early = TRUE;
  h->flushes_done++;
}

static void
send_check_congestion (GipcChannel *w,
                       guint64      mark)
{
  /* congested first: the reader thread may take bytes at any time, so
   * queued-bytes can only fall between the two calls. Read the other way
   * round, a take in between made a right pair of answers look wrong
   * (queued above the mark, then not congested: seen in the test
   * command's fds run). Not congested means at most the mark queued,
   * and less by the time queued-bytes is read. */
  gboolean congested = gipc_channel_is_congested (w);
  guint64 queued = gipc_channel_get_queued_bytes (w);

  if (!congested)
    SEND_CHECK (queued <= mark);
}

/* Runs the script on a new gipc_pipe (@flags) pair. */
static void
fuzz_send_run_checked (GipcPipeFlags  flags,
                       const guint8  *data,
                       size_t         size,
                       gboolean       check_fds)
{
  GipcChannel *r = NULL, *w = NULL;
  GMainContext *context;
  SendHarness h = { 0 };
  SendReader reader = { 0 };
  GThread *thread;
  const guint8 *ops;
  size_t n_ops;
  gboolean can_fds;
  guint64 mark, total = 0;
  guint total_fds = 0, delivered;
  guint fds_before;
  GError *error = NULL;

  if (size < SEND_SCRIPT_SIZE)
    return;

  fds_before = send_count_fds ();
  SEND_CHECK (gipc_pipe (flags, &r, &w, NULL));
  can_fds = gipc_channel_get_can_pass_fds (w);
  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  gipc_channel_set_shared_memory_threshold (w, send_thresholds[data[1] % G_N_ELEMENTS (send_thresholds)]);
  mark = send_marks[(data[1] >> 4) % G_N_ELEMENTS (send_marks)];
  gipc_channel_set_high_water_mark (w, mark);

  h.expected = g_array_new (FALSE, TRUE, sizeof (SendExpected));
  reader.reader = r;
  reader.take_fds = (data[2] & 0x80) != 0;
  reader.pause_us = send_pauses[(data[2] & 0x7f) % G_N_ELEMENTS (send_pauses)];
  g_mutex_init (&reader.lock);
  reader.messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  reader.fd_lists = g_ptr_array_new ();
  thread = g_thread_new ("fuzz-send-reader", send_reader_thread, &reader);

  ops = data + SEND_SCRIPT_SIZE;
  n_ops = MIN ((size - SEND_SCRIPT_SIZE) / SEND_OP_SIZE, SEND_MAX_OPS);
  for (size_t i = 0; i < n_ops; i++)
    {
      guint8 op = ops[i * SEND_OP_SIZE];
      guint kind = op & 0x7;
      guint shift = 2 * (op >> 5);
      gsize msg_size = (gsize) ((ops[i * SEND_OP_SIZE + 1] << 8) | ops[i * SEND_OP_SIZE + 2]) << shift;
      guint seq = h.expected->len;
      guint n_fds = (kind == 2 || kind == 3) ? 1 + (msg_size & 3) : 0;
      g_autoptr(GBytes) message = NULL;
      g_autoptr(GUnixFDList) fds = NULL;
      SendExpected e = { seq, 0, 0, FALSE, FALSE, FALSE };

      msg_size = MIN (msg_size, SEND_MAX_MESSAGE);
      if (total + msg_size > SEND_MAX_TOTAL)
        msg_size = 0;
      if (!can_fds || total_fds + n_fds > SEND_MAX_FDS)
        n_fds = 0;
      e.size = msg_size;
      e.n_fds = n_fds;

      switch (kind)
        {
        case 0:
        case 1:
        case 2:
        case 3:
          message = send_payload (seq, msg_size);
          fds = n_fds > 0 ? send_tagged_fds (seq, n_fds) : NULL;
          e.has_callback = kind == 1 || kind == 3;
          if (!h.failed)
            {
              g_array_append_val (h.expected, e);
              total += msg_size;
              total_fds += n_fds;
            }
          if (e.has_callback)
            {
              SendCall *call = g_new0 (SendCall, 1);

              /* After the failure the send fails: record it, unexpected. */
              if (h.failed)
                {
                  g_array_append_val (h.expected, e);
                  g_array_index (h.expected, SendExpected, h.expected->len - 1).n_fds = G_MAXUINT;
                }
              call->h = &h;
              call->index = h.expected->len - 1;
              if (fds != NULL)
                gipc_channel_send_with_fds_async (w, message, fds, NULL, send_done_cb, call);
              else
                gipc_channel_send_async (w, message, NULL, send_done_cb, call);
            }
          else if (fds != NULL)
            gipc_channel_send_with_fds_async (w, message, fds, NULL, NULL, NULL);
          else
            gipc_channel_send_async (w, message, NULL, NULL, NULL);
          send_check_congestion (w, mark);
          break;

        case 4:
          {
            g_autoptr(GBytes) plain = send_payload (seq, msg_size);

            message = gipc_shared_bytes_new_from_data (g_bytes_get_data (plain, NULL), msg_size, &error);
            SEND_CHECK (message != NULL);
            if (!h.failed)
              {
                g_array_append_val (h.expected, e);
                total += msg_size;
              }
            gipc_channel_send_async (w, message, NULL, NULL, NULL);
            send_check_congestion (w, mark);
          }
          break;

        case 5:
          {
            gboolean pending = FALSE;
            gboolean ok;

            for (guint j = 0; j < h.expected->len; j++)
              {
                SendExpected *p = &g_array_index (h.expected, SendExpected, j);

                if (p->has_callback && !p->done)
                  pending = TRUE;
              }
            message = send_payload (seq, msg_size);
            ok = gipc_channel_send (w, message, NULL, &error);
            if (h.failed)
              SEND_CHECK (!ok);
            else if (pending)
              {
                /* LOCKED with callbacks pending; else it is sent. */
                SEND_CHECK (ok || g_error_matches (error, GIPC_ERROR, GIPC_ERROR_LOCKED));
              }
            else
              SEND_CHECK (ok);
            if (ok)
              {
                g_array_append_val (h.expected, e);
                total += msg_size;
              }
            g_clear_error (&error);
          }
          break;

        case 6:
          h.flushes++;
          gipc_channel_flush_async (w, NULL, send_flush_cb, &h);
          break;

        case 7:
        default:
          {
            /* Refused before it is queued: nobody hears of it, so the
             * channel fails; on a pipe any fds are refused. */
            g_autoptr(GUnixFDList) too_many = g_unix_fd_list_new ();
            int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
            guint n = can_fds ? GIPC_CHANNEL_MAX_FDS_PER_MESSAGE + 1 : 1;

            SEND_CHECK (fd >= 0);
            for (guint j = 0; j < n; j++)
              SEND_CHECK (g_unix_fd_list_append (too_many, fd, NULL) >= 0);
            close (fd);
            message = send_payload (seq, 1);
            gipc_channel_send_with_fds_async (w, message, too_many, NULL, NULL, NULL);
            if (!h.failed)
              {
                h.failed = TRUE;
                h.accepted_before_failure = h.expected->len;
              }
          }
          break;
        }

      if (op & 0x08)
        {
          /* The producer pattern: wait until not congested. The reader
           * thread takes the messages; only a failed channel may stay
           * congested (it is not: a failure drops the queue). */
          gint64 start = g_get_monotonic_time ();

          while (gipc_channel_is_congested (w))
            {
              g_main_context_iteration (context, TRUE);
#ifdef FUZZ_SEND_DIAGNOSE
              if (g_get_monotonic_time () - start > 5 * G_USEC_PER_SEC)
                {
                  GipcFrameStream *st = &w->stream;

                  g_printerr ("stuck at op %zu: queued %" G_GUINT64_FORMAT " written %" G_GUINT64_FORMAT
                              " shared_queued %" G_GUINT64_FORMAT " fds_queued %u in_flight %u bytes %"
                              G_GUINT64_FORMAT " fds %u outq_total %" G_GUINT64_FORMAT " held %d full %d"
                              " output %u reader %u/%u end %s poll_at %" G_GINT64_FORMAT " source %p\n",
                              i, st->queued, st->written, st->shared_queued, st->fds_queued,
                              st->in_flight.length, st->in_flight_bytes, st->in_flight_fds,
                              st->outq_total, st->held, st->full, st->output.length,
                              send_reader_count (&reader), h.expected->len,
                              reader.end ? reader.end->message : "-", w->in_flight_poll_at, (void *) w->source);
                  abort ();
                }
#endif
            }
          (void) start;
          SEND_CHECK (!gipc_channel_is_congested (w));
        }
      if (op & 0x10)
        g_main_context_iteration (context, FALSE);
    }

  /* The end: everything written (or failed), every callback run. */
  if (gipc_channel_flush (w, NULL, &error))
    SEND_CHECK (!h.failed);
  else
    {
      SEND_CHECK (h.failed);
      g_clear_error (&error);
    }
  for (;;)
    {
      gboolean waiting = h.flushes_done < h.flushes;

      for (guint j = 0; j < h.expected->len && !waiting; j++)
        {
          SendExpected *p = &g_array_index (h.expected, SendExpected, j);

          waiting = p->has_callback && !p->done;
        }
      if (!waiting)
        break;
      g_main_context_iteration (context, TRUE);
    }
  SEND_CHECK (!h.flush_failed_early);
  SEND_CHECK (!h.done_order_broken);

  /* Not failed: once the reader has everything, nothing counts. */
  if (!h.failed)
    {
      while (send_reader_count (&reader) < h.expected->len)
        g_usleep (100);
      SEND_CHECK (gipc_channel_get_queued_bytes (w) == 0);
      while (gipc_channel_is_congested (w))
        g_main_context_iteration (context, TRUE);
    }

  SEND_CHECK (gipc_channel_close (w, &error));
  g_object_unref (w);
  g_thread_join (thread);
  SEND_CHECK (g_error_matches (reader.end, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED));
  g_clear_error (&reader.end);

  /* What arrived: the accepted messages in order (a prefix of them up to
   * the failure), each with its own fds; a callback succeeded exactly when
   * its message arrived. */
  delivered = reader.messages->len;
  if (h.failed)
    SEND_CHECK (delivered == h.accepted_before_failure);
  else
    SEND_CHECK (delivered == h.expected->len);
  for (guint j = 0, k = 0; j < h.expected->len; j++)
    {
      SendExpected *e = &g_array_index (h.expected, SendExpected, j);

      if (e->n_fds == G_MAXUINT)
        {
          /* Sent after the failure: failed, never delivered. */
          SEND_CHECK (e->done && !e->ok);
          continue;
        }
      if (k >= delivered)
        {
          SEND_CHECK (!e->has_callback || (e->done && !e->ok));
          continue;
        }

      {
        GBytes *got = reader.messages->pdata[k];
        GUnixFDList *got_fds = reader.fd_lists->pdata[k];
        g_autoptr(GBytes) want = send_payload (e->seq, e->size);

        SEND_CHECK (g_bytes_equal (got, want));
        SEND_CHECK (!e->has_callback || (e->done && e->ok));
        if (reader.take_fds)
          {
            guint n = got_fds != NULL ? (guint) g_unix_fd_list_get_length (got_fds) : 0;

            SEND_CHECK (n == e->n_fds);
            for (guint f = 0; f < n; f++)
              {
                guint32 tag = 0;
                int fd = g_unix_fd_list_peek_fds (got_fds, NULL)[f];

                SEND_CHECK (read (fd, &tag, sizeof tag) == sizeof tag);
                SEND_CHECK (tag == e->seq * 256 + f);
                SEND_CHECK ((fcntl (fd, F_GETFD) & FD_CLOEXEC) != 0);
              }
          }
        else
          SEND_CHECK (got_fds == NULL);
        k++;
      }
    }

  for (guint j = 0; j < reader.fd_lists->len; j++)
    if (reader.fd_lists->pdata[j] != NULL)
      g_object_unref (reader.fd_lists->pdata[j]);
  g_ptr_array_unref (reader.fd_lists);
  g_ptr_array_unref (reader.messages);
  g_object_unref (r);
  g_mutex_clear (&reader.lock);
  g_array_unref (h.expected);

  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  if (check_fds && send_count_fds () != fds_before)
    {
      g_printerr ("fuzz-send: %u fds before, %u after\n", fds_before, send_count_fds ());
      SEND_CHECK (send_count_fds () == fds_before);
    }
}

static void
fuzz_send_run (GipcPipeFlags  flags,
               const guint8  *data,
               size_t         size)
{
  static gboolean warmed;

  /* GLib opens a few fds once per process at first use (the default main
   * context, its worker): a first run of every kind of op, unchecked. */
  if (!warmed)
    {
      static const guint8 warm_up[] = {
        0x40, 0x31, 0x80, 0,
        0, 0, 10,  1, 0, 10,  2, 0, 10,  3, 0, 10,  4, 0x10, 0,
        5, 0, 10,  6, 0, 0,  0x18, 0, 10,  7, 0, 0,  1, 0, 5,
      };

      warmed = TRUE;
      fuzz_send_run_checked (GIPC_PIPE_FLAGS_UNIX_FDS, warm_up, sizeof warm_up, FALSE);
      fuzz_send_run_checked (GIPC_PIPE_FLAGS_NONE, warm_up, sizeof warm_up, FALSE);
    }

  fuzz_send_run_checked (flags, data, size, TRUE);
}
