/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * libFuzzer target for GipcPool's worker protocol, on both sides.
 * Built and run by tests/fuzz/run-fuzz.sh (`run-fuzz.sh pool`), not by meson.
 *
 * Input: byte 0 picks the side; the rest is a list of records, each a
 * 2-byte big-endian length, a flags byte (bit 0: attach an fd) and the
 * record's bytes.
 *
 * - Worker side (byte 0 even): the records are sent, each as one channel
 *   message (with an fd when flagged), into a real gipc_worker_serve() on
 *   an fd-capable socket, whose replies a thread reads and discards. Oracle:
 *   it returns (0 or 1) without crashing, leaking or hanging, and the
 *   worker function sees only requests whose fds match what was announced.
 * - Parent side (byte 0 odd): each record goes through the decoder that
 *   the pool's receive path uses for results (gipc_pool_wire_decode) and,
 *   for errors, the mapping to a GError. Oracle: a decoded message
 *   re-encodes to the same bytes (results and requests with inline
 *   payloads), an error's message is valid UTF-8, nothing reads out of
 *   bounds (ASan). A BATCH's records are walked with
 *   gipc_pool_wire_batch_next: each is decoded (or refused with
 *   GIPC_ERROR_PROTOCOL) the same way, and a batch whose records are all
 *   whole re-encodes to the same bytes.
 * - Answer ring (byte 0 & 3 == 3): the program's reader of a worker's
 *   answer ring (gipc-pool-ring.c) over memory the input fills: bytes 1-4
 *   are the worker's write position, byte 5 times 16 the program's read
 *   position, the rest the data area (4 KiB; records wrap around its
 *   end). Records are peeked, decoded as the pool decodes them and consumed
 *   until the ring is empty or refused. Oracle: every record handed out
 *   is 1 to GIPC_POOL_RING_RECORD_MAX bytes, the walk ends (each step
 *   consumes at least 8 bytes of what was announced), nothing reads
 *   outside the ring (ASan), a refusal is GIPC_ERROR_PROTOCOL.
 */

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <gipc-glib/gipc-glib.h>
#include "gipc-glib/gipc-pool-ring-private.h"
#include "gipc-glib/gipc-pool-wire-private.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) { \
  g_printerr ("fuzz-pool: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
  abort (); } } while (0)

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_setenv ("G_SLICE", "always-malloc", TRUE);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  (void) G_IO_ERROR;
  (void) GIPC_ERROR;
  return 0;
}

typedef struct
{
  const guint8 *p;
  gsize         left;
} Reader;

static gboolean
next_record (Reader        *r,
             const guint8 **rec,
             gsize         *len,
             guint8        *flags)
{
  gsize n;

  if (r->left < 3)
    return FALSE;
  n = ((gsize) r->p[0] << 8) | r->p[1];
  *flags = r->p[2];
  r->p += 3;
  r->left -= 3;
  if (n > r->left)
    n = r->left;
  *rec = r->p;
  *len = n;
  r->p += n;
  r->left -= n;
  return TRUE;
}

/* ---- parent side ---- */

static void check_message (GBytes *bytes, gboolean in_batch);

static void
check_batch (GBytes *bytes,
             GBytes *records)
{
  g_autoptr(GError) error = NULL;
  GByteArray *again = gipc_pool_wire_batch_new ();
  g_autoptr(GBytes) again_bytes = NULL;
  gsize offset = 0, n = 0;
  GBytes *record;

  while (gipc_pool_wire_batch_next (records, &offset, &record, &error) && record != NULL)
    {
      CHECK (g_bytes_get_size (record) >= GIPC_POOL_WIRE_HEADER_SIZE);
      check_message (record, TRUE);
      gipc_pool_wire_batch_add (again, record);
      g_bytes_unref (record);
      n++;
    }
  again_bytes = gipc_pool_wire_batch_end (again);
  if (error != NULL)
    CHECK (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL));
  else
    {
      CHECK (n > 0);
      CHECK (g_bytes_equal (again_bytes, bytes));
    }
}

static void
check_message (GBytes   *bytes,
               gboolean  in_batch)
{
  gsize len = g_bytes_get_size (bytes);

  {
      g_autoptr(GError) error = NULL;
      GipcPoolWireMessage msg;

      if (!gipc_pool_wire_decode (bytes, &msg, &error))
        {
          CHECK (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL));
          return;
        }
      CHECK (len >= GIPC_POOL_WIRE_HEADER_SIZE);
      switch (msg.kind)
        {
        case GIPC_POOL_WIRE_REQUEST:
        case GIPC_POOL_WIRE_RESULT:
          if (msg.payload != NULL && g_bytes_get_size (msg.payload) < GIPC_POOL_WIRE_INLINE_MAX)
            {
              gboolean follows = TRUE;
              g_autoptr(GBytes) again = gipc_pool_wire_encode_payload (msg.kind, msg.task_id, msg.n_fds,
                                                                        msg.payload, &follows);
              CHECK (!follows);
              CHECK (g_bytes_equal (again, bytes));
              if (msg.n_fds == 0)
                {
                  /* Encoded in place in a batch: the same record. */
                  GByteArray *b1 = gipc_pool_wire_batch_new (), *b2 = gipc_pool_wire_batch_new ();
                  g_autoptr(GBytes) e1 = NULL, e2 = NULL;

                  gipc_pool_wire_batch_add_payload (b1, msg.kind, msg.task_id, msg.payload);
                  gipc_pool_wire_batch_add (b2, bytes);
                  e1 = gipc_pool_wire_batch_end (b1);
                  e2 = gipc_pool_wire_batch_end (b2);
                  CHECK (g_bytes_equal (e1, e2));
                }
            }
          else
            CHECK (msg.payload != NULL || (msg.flags & GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS));
          break;
        case GIPC_POOL_WIRE_CANCEL:
          {
            g_autoptr(GBytes) again = gipc_pool_wire_encode_cancel (msg.task_id);
            CHECK (g_bytes_equal (again, bytes));
          }
          break;
        case GIPC_POOL_WIRE_ERROR:
          {
            g_autoptr(GError) mapped = gipc_pool_wire_message_to_error (&msg);

            CHECK (mapped != NULL && mapped->message != NULL);
            CHECK (g_utf8_validate (mapped->message, -1, NULL));
            if (mapped->domain != GIPC_ERROR || g_str_equal (msg.domain, "gipc-error-quark"))
              CHECK (mapped->code == msg.code);
          }
          break;
        case GIPC_POOL_WIRE_RING:
        case GIPC_POOL_WIRE_WAKE:
          {
            g_autoptr(GBytes) again = gipc_pool_wire_encode_control (msg.kind, msg.n_fds);
            CHECK (msg.task_id == 0 && msg.payload == NULL);
            CHECK (g_bytes_equal (again, bytes));
          }
          break;
        case GIPC_POOL_WIRE_BATCH:
          CHECK (msg.payload != NULL && msg.task_id == 0 && msg.n_fds == 0);
          /* The receivers refuse a batch in a batch; the codec walks it. */
          if (!in_batch)
            check_batch (bytes, msg.payload);
          break;
        default:
          CHECK (FALSE);
        }
      gipc_pool_wire_message_clear (&msg);
  }
}

static void
fuzz_parent (Reader *r)
{
  const guint8 *rec;
  gsize len;
  guint8 flags;

  while (next_record (r, &rec, &len, &flags))
    {
      g_autoptr(GBytes) bytes = g_bytes_new (rec, len);

      check_message (bytes, FALSE);
    }
}

/* ---- worker side ---- */

typedef struct
{
  int     fd;
  Reader  records;
} Writer;

static gboolean
write_all (int           fd,
           const guint8 *p,
           gsize         n,
           int           pass_fd)
{
  while (n > 0)
    {
      struct iovec iov = { (void *) p, n };
      union { struct cmsghdr align; char buf[CMSG_SPACE (sizeof (int))]; } control;
      struct msghdr msg = { 0 };
      struct pollfd pfd = { fd, POLLOUT | POLLIN, 0 };
      ssize_t w;

      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      if (pass_fd >= 0)
        {
          struct cmsghdr *cmsg;

          memset (&control, 0, sizeof control);
          msg.msg_control = control.buf;
          msg.msg_controllen = sizeof control.buf;
          cmsg = CMSG_FIRSTHDR (&msg);
          cmsg->cmsg_level = SOL_SOCKET;
          cmsg->cmsg_type = SCM_RIGHTS;
          cmsg->cmsg_len = CMSG_LEN (sizeof (int));
          memcpy (CMSG_DATA (cmsg), &pass_fd, sizeof (int));
        }
      w = sendmsg (fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0)
        {
          p += w;
          n -= (gsize) w;
          pass_fd = -1;
          continue;
        }
      if (w < 0 && errno != EAGAIN && errno != EINTR)
        return FALSE;
      /* Full: drain the replies while waiting. */
      if (poll (&pfd, 1, 1000) <= 0)
        return FALSE;
      if (pfd.revents & POLLIN)
        {
          char sink[65536];
          if (recv (fd, sink, sizeof sink, MSG_DONTWAIT) == 0)
            return FALSE;
        }
      if (pfd.revents & (POLLERR | POLLHUP))
        return FALSE;
    }
  return TRUE;
}

static gpointer
writer_thread (gpointer data)
{
  Writer *wr = data;
  const guint8 *rec;
  gsize len;
  guint8 flags;
  char sink[65536];

  while (next_record (&wr->records, &rec, &len, &flags))
    {
      guint8 header[4] = { (guint8) (len >> 24), (guint8) (len >> 16), (guint8) (len >> 8), (guint8) len };
      int extra = -1;
      gboolean ok;

      if (flags & 1)
        extra = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      ok = write_all (wr->fd, header, 4, extra) && write_all (wr->fd, rec, len, -1);
      if (extra >= 0)
        close (extra);
      if (!ok)
        break;
    }
  shutdown (wr->fd, SHUT_WR);
  /* Read the replies until the worker closes its end. */
  for (;;)
    {
      ssize_t n = recv (wr->fd, sink, sizeof sink, 0);
      if (n == 0 || (n < 0 && errno != EINTR))
        break;
    }
  return NULL;
}

static GBytes *
echo_func (GBytes        *request,
           GUnixFDList   *fds,
           GUnixFDList  **out_fds,
           GCancellable  *cancellable,
           gpointer       user_data,
           GError       **error)
{
  CHECK (request != NULL);
  CHECK (fds == NULL || g_unix_fd_list_get_length (fds) >= 0);
  if (g_bytes_get_size (request) > 0 && ((const guint8 *) g_bytes_get_data (request, NULL))[0] == 'e')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "fuzzed error");
      return NULL;
    }
  if (fds != NULL && g_unix_fd_list_get_length (fds) > 0)
    *out_fds = g_object_ref (fds);
  return g_bytes_ref (request);
}

static void
fuzz_worker (Reader *r)
{
  int sv[2];
  Writer wr;
  GThread *thread;
  g_autoptr(GError) error = NULL;
  GipcChannel *channel;
  gint status;

  CHECK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  channel = gipc_channel_new_from_fds (sv[0], sv[0], &error);
  CHECK (channel != NULL);
  CHECK (gipc_channel_get_can_pass_fds (channel));
  wr.fd = sv[1];
  wr.records = *r;
  thread = g_thread_new ("fuzz-writer", writer_thread, &wr);
  status = gipc_worker_serve (channel, echo_func, NULL);
  CHECK (status == 0 || status == 1);
  /* gipc_worker_serve closed the channel: the writer sees the end. */
  CHECK (gipc_channel_is_closed (channel));
  g_object_unref (channel);
  g_thread_join (thread);
  close (sv[1]);
}

#define FUZZ_RING_DATA 4096

static void
fuzz_ring (const guint8 *data,
           gsize         size)
{
  static guint8 memory[GIPC_POOL_RING_HEADER + FUZZ_RING_DATA];
  GipcPoolRing *ring;
  guint32 head = 0, start = 0;  /* the worker's and the program's positions */
  guint steps = 0;

  memset (memory, 0, sizeof memory);
  if (size >= 4)
    memcpy (&head, data, 4);
  if (size >= 5)
    start = (guint32) data[4] * 16;
  if (size > 5)
    memcpy (memory + GIPC_POOL_RING_HEADER, data + 5, MIN (size - 5, (gsize) FUZZ_RING_DATA));
  /* The worker's write position, as the layout places it (offset 64). */
  memcpy (memory + 64, &head, 4);

  ring = gipc_pool_ring_new_for_memory (memory, FUZZ_RING_DATA, start);
  for (;;)
    {
      const guint8 *record;
      gsize record_size;
      g_autoptr(GError) error = NULL;
      GipcPoolWireMessage msg;

      if (!gipc_pool_ring_peek (ring, &record, &record_size, &error))
        {
          CHECK (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL));
          break;
        }
      if (record == NULL)
        break;
      CHECK (record_size >= 1 && record_size <= GIPC_POOL_RING_RECORD_MAX);
      if (gipc_pool_wire_decode_data (record, record_size, &msg, &error))
        gipc_pool_wire_message_clear (&msg);
      else
        CHECK (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL));
      gipc_pool_ring_consume (ring);
      /* Each record takes at least 8 of the at most 4096 bytes announced. */
      CHECK (++steps <= FUZZ_RING_DATA / 8);
    }
  gipc_pool_ring_free (ring);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  Reader r;

  if (size < 1)
    return 0;
  r.p = data + 1;
  r.left = size - 1;
  if ((data[0] & 3) == 3)
    fuzz_ring (data + 1, size - 1);
  else if (data[0] & 1)
    fuzz_parent (&r);
  else
    fuzz_worker (&r);
  return 0;
}
