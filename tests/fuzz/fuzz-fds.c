/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * libFuzzer target for the receive path of fd-capable channels: a
 * gipc_channel_new_from_fds (sv[0], sv[0]) channel over one AF_UNIX stream
 * socket, its fd wire format (8-byte headers: length, fd count, kind,
 * reserved), the FIFO of received fds and the claiming of a frame's fds,
 * MSG_CMSG_CLOEXEC, the bound on unclaimed fds, the three ways of
 * receiving (sync, receive_async chain, listen with "message" and maybe
 * "message-with-fds") and every way fds are dropped. Built and run by
 * tests/fuzz/run-fuzz.sh, not by meson.
 *
 * Byte 0 bit 6 selects the send side instead (fuzz-send.h): the input is
 * then a send script for a gipc_pipe (UNIX_FDS) channel, with fds and
 * shared-memory messages.
 *
 * Input: a 4-byte script, then records.
 *   byte 0: receive style (bits 0-1, % 3): sync receive loop,
 *           receive_async chain, listen; bit 2: listen with a
 *           "message-with-fds" handler; bits 4-5: how a message is taken
 *           (see Take); bit 7: start the next receive before the
 *           callback's action (async chain).
 *   byte 1: max-message-size (index into max_sizes).
 *   byte 2: action in a handler or callback (bits 0-2, see Action), in the
 *           "error" handler (bits 4-5, see ErrorAction); bit 7: steal the
 *           fds of a message from its list (else peek, and the list closes
 *           them).
 *   byte 3: which message the CLOSE action closes at (bits 0-2); bit 7:
 *           SO_PASSCRED on the channel's socket, so every read also gets
 *           an SCM_CREDENTIALS message that takes room in the control
 *           buffer: a record with nearly 253 fds is cut off (MSG_CTRUNC).
 *   records: [u8 fd code][u16 big-endian length][length bytes]; each is
 *           one sendmsg of a writer thread, with that many fds attached
 *           (code 0-253; 255: the fd count of the frame header that starts
 *           at the record, 254: one more than that). Each fd is the read
 *           end of a fresh pipe holding a 4-byte tag (its number in send
 *           order), then EOF. At most MAX_TOTAL_FDS fds per input; none on
 *           an empty record (a stream socket would drop them). After the
 *           last record the writer closes its end.
 *
 * Oracle: a reference parser of the concatenated record bytes gives the
 * expected frames (payload, n_fds) and end (PEER_CLOSED at a frame
 * boundary, PROTOCOL for truncation, too many fds announced, a bad kind or
 * reserved byte, or any shared-memory frame since the peer's fds are
 * pipes; MESSAGE_TOO_LARGE). Every delivered message must be the next
 * expected one, byte for byte; where its fds are visible, exactly n_fds
 * of them, close-on-exec, carrying the next tags of the FIFO (the tags of
 * all delivered fds are 0, 1, 2, ... whatever the peer did). If the peer is
 * well-behaved (each record with fds starts a frame and carries exactly
 * its n_fds; each whole frame with n_fds > 0 starts such a record), every
 * message comes with the fds of its own record and the end is exactly the
 * expected one; otherwise any prefix of the messages, then PROTOCOL (or
 * the expected end after all of them). At the end the process has exactly
 * the fds it had before the input.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#include "fuzz-send.h"

#define CHECK(cond) do { if (!(cond)) { \
  g_printerr ("fuzz-fds: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
  abort (); } } while (0)

#define SCRIPT_SIZE 4
#define RECORD_HEADER_SIZE 3
#define HEADER_SIZE 8
#define MAX_FDS_PER_FRAME 253
/* Enough to pass the receiver's bound of 506 unclaimed fds, few enough
 * that the harness's own fds stay far below an RLIMIT_NOFILE of 1024
 * (every fd the process holds for the input is one of these, or a few). */
#define MAX_TOTAL_FDS 600
#define FD_CODE_AUTO 255
#define FD_CODE_AUTO_PLUS 254
#define MAX_NESTING 3
#define NO_FRAME G_MAXSIZE
/* With SO_PASSCRED, the credentials take 32 bytes of the receiver's
 * control buffer (sized for 253 fds): about 246 fds still fit; up to this
 * many surely do, so such records stay well-behaved. */
#define PASSCRED_SAFE_FDS 200

static const guint64 max_sizes[] = {
  0, 1, 7, 8, 16, 255, 4096, 65535, 65536, 1 << 20, 1 << 20, 1 << 20,
  GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE, GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT,
};

typedef enum
{
  STYLE_SYNC,
  STYLE_ASYNC,
  STYLE_LISTEN,
} Style;

/* How a message is taken in the sync and async styles. */
typedef enum
{
  TAKE_LIST,           /* receive_with_fds[_finish] (&fds) */
  TAKE_NULL,           /* receive_with_fds[_finish] (NULL): fds closed */
  TAKE_PLAIN,          /* receive[_finish]: fds closed */
  TAKE_ALTERNATE,      /* TAKE_LIST for even messages, TAKE_PLAIN for odd */
} Take;

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
  gsize offset;        /* in the stream */
  gsize length;
  guint n_fds;
  guint first_tag;
} Record;

typedef struct
{
  gsize start;         /* of the header, in the stream */
  gsize offset;        /* of the payload */
  gsize length;
  guint n_fds;
  gboolean has_record; /* a record with fds starts at start */
  guint first_tag;     /* that record's first tag */
} Frame;

typedef struct
{
  /* The peer: records, their bytes, and the thread that sends them. */
  GArray *records;     /* of Record */
  guint8 *stream;
  gsize len;
  int peer_fd;         /* the writer thread's end */
  GThread *writer;

  /* What the reference parser expects. */
  GArray *frames;      /* of whole frames (Frame) */
  gint end_code;       /* GIPC_ERROR_* */
  gsize end_start;     /* where the frame that ends the stream starts, or NO_FRAME */
  gboolean well_behaved;

  /* What the channel did. */
  GipcChannel *channel;
  GMainContext *context;
  Style style;
  Take take;
  gboolean with_fds_handler;
  gboolean steal;
  Action action;
  ErrorAction error_action;
  gboolean receive_first;
  guint close_at;
  gboolean passcred;
  guint delivered;
  guint next_tag;      /* of the next fd the FIFO hands out */
  gboolean ended;
  gint end_seen;       /* the code of the end, once ended */
  gboolean sticky_checked;
  gboolean closed;
  guint nesting;
} Harness;

static gboolean warming_up;
/* GIPC_FUZZ_VERBOSE=1: one line per input (style, expectations, outcome),
 * to see what a seed or reproducer does. */
static gboolean verbose;

/* The fds this process holds now. */
static guint
count_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;
  guint n = 0;

  CHECK (dir != NULL);
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '.')
      n++;
  closedir (dir);
  return n;
}

static guint
header_n_fds (const guint8 *header)
{
  return ((guint) header[4] << 8) | header[5];
}

/* The reference parser: the whole frames and the end they lead to. */
static void
parse_reference (Harness *h,
                 guint64  max_size)
{
  gsize pos = 0;

  h->end_start = NO_FRAME;
  for (;;)
    {
      const guint8 *p = h->stream + pos;
      guint32 raw;
      guint n_fds;
      Frame frame = { 0 };

      if (h->len - pos == 0)
        {
          h->end_code = GIPC_ERROR_PEER_CLOSED;
          return;
        }

      h->end_start = pos;
      if (h->len - pos < HEADER_SIZE)
        {
          h->end_code = GIPC_ERROR_PROTOCOL;
          return;
        }

      /* In the decoder's order: length, fd count, kind and reserved
       * byte, then the body. */
      raw = ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
            ((guint32) p[2] << 8) | (guint32) p[3];
      n_fds = header_n_fds (p);
      if (raw > G_MAXINT32 || raw > max_size)
        {
          h->end_code = GIPC_ERROR_MESSAGE_TOO_LARGE;
          return;
        }
      /* Too many fds, an unknown kind, a reserved byte set, or a
       * shared-memory frame (whose first fd is never a sealed memfd
       * here: the peer sends pipes; none at all is wrong too). */
      if (n_fds > MAX_FDS_PER_FRAME || p[6] != 0 || p[7] != 0)
        {
          h->end_code = GIPC_ERROR_PROTOCOL;
          return;
        }
      if (h->len - pos - HEADER_SIZE < raw)
        {
          h->end_code = GIPC_ERROR_PROTOCOL;
          return;
        }

      frame.start = pos;
      frame.offset = pos + HEADER_SIZE;
      frame.length = raw;
      frame.n_fds = n_fds;
      g_array_append_val (h->frames, frame);
      pos += HEADER_SIZE + (gsize) raw;
      h->end_start = NO_FRAME;
    }
}

/* The records of the input; their bytes make the stream. */
static void
parse_records (Harness      *h,
               const guint8 *data,
               gsize         size,
               GArray       *codes)
{
  gsize pos = 0;
  GByteArray *stream = g_byte_array_new ();

  while (size - pos >= RECORD_HEADER_SIZE)
    {
      Record record = { 0 };
      guint8 code = data[pos];
      gsize length = ((gsize) data[pos + 1] << 8) | data[pos + 2];

      pos += RECORD_HEADER_SIZE;
      length = MIN (length, size - pos);
      record.offset = stream->len;
      record.length = length;
      g_byte_array_append (stream, data + pos, length);
      pos += length;
      g_array_append_val (h->records, record);
      g_array_append_val (codes, code);
    }

  h->len = stream->len;
  h->stream = g_byte_array_free (stream, FALSE);
  if (h->stream == NULL)
    h->stream = g_malloc (1);   /* pointer arithmetic on it stays defined */
}

/* Gives each record its fds (and their tags), now that the frames are
 * known, and decides whether the peer is well-behaved. */
static void
assign_fds (Harness *h,
            GArray  *codes)
{
  guint total = 0;
  guint f = 0;

  h->well_behaved = TRUE;
  for (guint r = 0; r < h->records->len; r++)
    {
      Record *record = &g_array_index (h->records, Record, r);
      guint8 code = g_array_index (codes, guint8, r);
      guint n;

      while (f < h->frames->len && g_array_index (h->frames, Frame, f).start < record->offset)
        f++;

      if (record->length == 0)
        n = 0;
      else if (code == FD_CODE_AUTO || code == FD_CODE_AUTO_PLUS)
        {
          /* The count the header at this record's start announces. */
          n = 0;
          if (record->offset + HEADER_SIZE <= h->len)
            n = MIN (header_n_fds (h->stream + record->offset), MAX_FDS_PER_FRAME);
          if (code == FD_CODE_AUTO_PLUS)
            n = MIN (n + 1, MAX_FDS_PER_FRAME);
        }
      else
        n = MIN (code, MAX_FDS_PER_FRAME);
      n = MIN (n, MAX_TOTAL_FDS - total);

      record->n_fds = n;
      record->first_tag = total;
      total += n;
      if (n == 0)
        continue;

      /* Maybe cut off: a PROTOCOL error, with the fds that came closed. */
      if (h->passcred && n > PASSCRED_SAFE_FDS)
        h->well_behaved = FALSE;

      if (f < h->frames->len && g_array_index (h->frames, Frame, f).start == record->offset)
        {
          Frame *frame = &g_array_index (h->frames, Frame, f);

          frame->has_record = TRUE;
          frame->first_tag = record->first_tag;
          if (n != frame->n_fds)
            h->well_behaved = FALSE;
        }
      else if (record->offset != h->end_start)
        {
          /* Fds in the middle of a frame, or after the frame that ends
           * the stream (with the ending frame's, more than the receiver
           * may hold before it decodes the header: PROTOCOL then). */
          h->well_behaved = FALSE;
        }
    }

  for (guint i = 0; i < h->frames->len; i++)
    {
      const Frame *frame = &g_array_index (h->frames, Frame, i);

      if (frame->n_fds > 0 && !frame->has_record)
        h->well_behaved = FALSE;
    }
}

/* The writer thread: the peer. */

/* One record as one sendmsg, with its fds; the rest of a partial send
 * without them (they went with its first byte). FALSE when the receiver
 * is gone. */
static gboolean
send_record (Harness      *h,
             const Record *record)
{
  int fds[MAX_FDS_PER_FRAME];
  union
  {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int) * MAX_FDS_PER_FRAME)];
  } control;
  struct iovec iov = { h->stream + record->offset, record->length };
  struct msghdr msg = { 0 };
  gssize n;
  gsize sent;
  gboolean ok = TRUE;

  for (guint i = 0; i < record->n_fds; i++)
    {
      int p[2];
      guint32 tag = record->first_tag + i;

      CHECK (pipe2 (p, O_CLOEXEC) == 0);
      CHECK (write (p[1], &tag, sizeof tag) == sizeof tag);
      close (p[1]);
      fds[i] = p[0];
    }

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (record->n_fds > 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE (sizeof (int) * record->n_fds);
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int) * record->n_fds);
      memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * record->n_fds);
    }

  /* ETOOMANYREFS: the user has more fds in flight than RLIMIT_NOFILE
   * (other processes of the user too, e.g. -jobs): our receiver drains
   * them, so wait. Root has no such limit. */
  for (guint tries = 0; ; tries++)
    {
      do
        n = sendmsg (h->peer_fd, &msg, MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      if (n >= 0 || errno != ETOOMANYREFS || tries >= 100000)
        break;
      g_usleep (100);
    }

  /* In flight now (or never): ours are closed either way. */
  for (guint i = 0; i < record->n_fds; i++)
    close (fds[i]);

  sent = n > 0 ? (gsize) n : 0;
  while (n >= 0 && sent < record->length)
    {
      do
        n = send (h->peer_fd, h->stream + record->offset + sent,
                  record->length - sent, MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      if (n > 0)
        sent += n;
    }

  if (n < 0)
    {
      /* The channel was closed (or failed and closed its socket). */
      CHECK (errno == EPIPE || errno == ECONNRESET);
      ok = FALSE;
    }
  return ok;
}

static gpointer
writer_main (gpointer user_data)
{
  Harness *h = user_data;

  for (guint r = 0; r < h->records->len; r++)
    if (!send_record (h, &g_array_index (h->records, Record, r)))
      break;

  close (h->peer_fd);
  return NULL;
}

/* Checks. */

/* The fds of a delivered message: the next n_fds of the FIFO. */
static void
check_fds (Harness     *h,
           const Frame *frame,
           GUnixFDList *list)
{
  const int *fds;
  int *stolen = NULL;
  int n;

  if (frame->n_fds == 0)
    {
      CHECK (list == NULL);
      return;
    }

  CHECK (list != NULL);
  CHECK (g_unix_fd_list_get_length (list) == (int) frame->n_fds);
  if (h->well_behaved)
    CHECK (frame->has_record && frame->first_tag == h->next_tag);

  if (h->steal)
    fds = stolen = g_unix_fd_list_steal_fds (list, &n);
  else
    fds = g_unix_fd_list_peek_fds (list, &n);
  CHECK (n == (int) frame->n_fds);

  for (int i = 0; i < n; i++)
    {
      guint32 tag = G_MAXUINT32;
      guint8 extra;
      int flags = fcntl (fds[i], F_GETFD);

      CHECK (flags >= 0 && (flags & FD_CLOEXEC) != 0);
      CHECK (read (fds[i], &tag, sizeof tag) == sizeof tag);
      CHECK (tag == h->next_tag + (guint) i);
      CHECK (read (fds[i], &extra, 1) == 0);
    }

  if (stolen != NULL)
    {
      for (int i = 0; i < n; i++)
        close (stolen[i]);
      g_free (stolen);
      CHECK (g_unix_fd_list_get_length (list) == 0);
    }
}

/* @list: the message's fds, if they are visible (@visible). */
static void
check_message (Harness     *h,
               GBytes      *message,
               gboolean     visible,
               GUnixFDList *list)
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

  if (visible)
    check_fds (h, frame, list);
  h->next_tag += frame->n_fds;
  h->delivered++;
}

static void
check_end (Harness      *h,
           const GError *error)
{
  CHECK (error != NULL);
  CHECK (!h->ended);
  CHECK (!h->closed);
  CHECK (error->domain == GIPC_ERROR);
  CHECK (error->message != NULL && strlen (error->message) > 0);
  if (h->well_behaved)
    {
      CHECK (h->delivered == h->frames->len);
      CHECK (error->code == h->end_code);
    }
  else
    CHECK (error->code == GIPC_ERROR_PROTOCOL ||
           (error->code == h->end_code && h->delivered == h->frames->len));
  h->ended = TRUE;
  h->end_seen = error->code;
}

static Take
take_for (Harness *h)
{
  if (h->take == TAKE_ALTERNATE)
    return h->delivered % 2 == 0 ? TAKE_LIST : TAKE_PLAIN;
  return h->take;
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

/* A nested main loop until the next delivery or the end; the writer
 * thread always gets there (a hang is libFuzzer's -timeout). */
static void
run_nested (Harness *h)
{
  guint before = h->delivered;

  if (h->nesting >= MAX_NESTING)
    return;

  h->nesting++;
  while (!h->ended && !h->closed && h->delivered == before)
    g_main_context_iteration (h->context, TRUE);
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
      g_main_context_iteration (h->context, FALSE);
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

  /* With a "message-with-fds" handler, only messages without fds come
   * here; without one, a message's fds are closed before. */
  if (h->with_fds_handler && h->delivered < h->frames->len)
    CHECK (g_array_index (h->frames, Frame, h->delivered).n_fds == 0);
  check_message (h, message, FALSE, NULL);
  do_action (h, index);
}

static void
message_with_fds_cb (GipcChannel *channel,
                     GBytes      *message,
                     GUnixFDList *fds,
                     gpointer     user_data)
{
  Harness *h = user_data;
  guint index = h->delivered;

  CHECK (G_IS_UNIX_FD_LIST (fds));
  check_message (h, message, TRUE, fds);
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
  GipcChannel *channel = GIPC_CHANNEL (source);
  GError *error = NULL;
  GUnixFDList *fds = NULL;
  GBytes *message;
  guint index = h->delivered;
  Take take = take_for (h);

  if (take == TAKE_LIST)
    message = gipc_channel_receive_with_fds_finish (channel, result, &fds, &error);
  else if (take == TAKE_NULL)
    message = gipc_channel_receive_with_fds_finish (channel, result, NULL, &error);
  else
    message = gipc_channel_receive_finish (channel, result, &error);

  if (message == NULL)
    {
      CHECK (fds == NULL);
      check_end (h, error);
      g_error_free (error);
      return;
    }

  check_message (h, message, take == TAKE_LIST, fds);
  g_bytes_unref (message);
  g_clear_object (&fds);

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

static GBytes *
receive_sync (Harness      *h,
              Take          take,
              GUnixFDList **fds,
              GError      **error)
{
  if (take == TAKE_LIST)
    return gipc_channel_receive_with_fds (h->channel, fds, NULL, error);
  if (take == TAKE_NULL)
    return gipc_channel_receive_with_fds (h->channel, NULL, NULL, error);
  return gipc_channel_receive (h->channel, NULL, error);
}

static void
drive_sync (Harness *h)
{
  GError *error = NULL;
  GUnixFDList *fds = NULL;

  /* The writer thread never waits for us but for room in the socket, so
   * blocking receives always get somewhere. */
  while (!h->ended)
    {
      Take take = take_for (h);
      guint index = h->delivered;
      GBytes *message = receive_sync (h, take, &fds, &error);

      if (message == NULL)
        {
          CHECK (fds == NULL);
          check_end (h, error);
          g_clear_error (&error);
          break;
        }
      check_message (h, message, take == TAKE_LIST, fds);
      g_bytes_unref (message);
      g_clear_object (&fds);

      if (h->action == ACTION_CLOSE && index == h->close_at)
        {
          close_channel (h);
          CHECK (h->closed);
          CHECK (gipc_channel_receive_with_fds (h->channel, &fds, NULL, &error) == NULL);
          CHECK (fds == NULL);
          CHECK (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_CLOSED));
          g_clear_error (&error);
          return;
        }
    }

  /* The end is sticky. */
  CHECK (gipc_channel_receive_with_fds (h->channel, &fds, NULL, &error) == NULL);
  CHECK (fds == NULL);
  CHECK (g_error_matches (error, GIPC_ERROR, h->end_seen));
  g_clear_error (&error);
}

static void
sticky_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Harness *h = user_data;
  GError *error = NULL;
  GUnixFDList *fds = NULL;

  CHECK (gipc_channel_receive_with_fds_finish (GIPC_CHANNEL (source), result, &fds, &error) == NULL);
  CHECK (fds == NULL);
  CHECK (g_error_matches (error, GIPC_ERROR, h->end_seen));
  g_error_free (error);
  h->sticky_checked = TRUE;
}

static void
drive_async (Harness *h)
{
  if (h->style == STYLE_LISTEN)
    gipc_channel_listen (h->channel);
  else
    start_receive (h);

  while (!h->ended && !h->closed)
    g_main_context_iteration (h->context, TRUE);

  /* The end is sticky (a chain's receive; a listening channel has none). */
  if (h->style == STYLE_ASYNC && h->ended && !h->closed)
    {
      gipc_channel_receive_async (h->channel, NULL, sticky_cb, h);
      while (!h->sticky_checked)
        g_main_context_iteration (h->context, TRUE);
    }

  /* Nothing after the end, nor after a close. */
  for (guint i = 0; i < 4; i++)
    g_main_context_iteration (h->context, FALSE);
}

static void
run_one (const uint8_t *data,
         size_t         size)
{
  const guint8 *script = data;
  Harness h = { 0 };
  GError *error = NULL;
  GArray *codes;
  guint64 max_size;
  guint fds_before;
  int sv[2];

  if (size < SCRIPT_SIZE)
    return;

  if (script[0] & 0x40)
    {
      fuzz_send_run (GIPC_PIPE_FLAGS_UNIX_FDS, data, size);
      return;
    }

  fds_before = count_fds ();

  h.style = (Style) ((script[0] & 0x3) % 3);
  h.with_fds_handler = (script[0] & 0x4) != 0;
  h.take = (Take) ((script[0] >> 4) & 0x3);
  h.receive_first = (script[0] & 0x80) != 0;
  max_size = max_sizes[script[1] % G_N_ELEMENTS (max_sizes)];
  h.action = (Action) ((script[2] & 0x7) % (ACTION_LAST + 1));
  h.error_action = (ErrorAction) ((script[2] >> 4) & 0x3);
  h.steal = (script[2] & 0x80) != 0;
  h.close_at = script[3] % 8;
  h.passcred = (script[3] & 0x80) != 0;

  h.records = g_array_new (FALSE, FALSE, sizeof (Record));
  h.frames = g_array_new (FALSE, FALSE, sizeof (Frame));
  codes = g_array_new (FALSE, FALSE, sizeof (guint8));
  parse_records (&h, data + SCRIPT_SIZE, size - SCRIPT_SIZE, codes);
  parse_reference (&h, max_size);
  assign_fds (&h, codes);
  g_array_unref (codes);

  CHECK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  if (h.passcred)
    {
      int one = 1;

      CHECK (setsockopt (sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    }
  h.peer_fd = sv[1];

  h.context = g_main_context_new ();
  g_main_context_push_thread_default (h.context);

  h.channel = gipc_channel_new_from_fds (sv[0], sv[0], &error);
  CHECK (h.channel != NULL && error == NULL);
  CHECK (gipc_channel_get_can_pass_fds (h.channel));
  gipc_channel_set_max_message_size (h.channel, max_size);
  CHECK (gipc_channel_get_max_message_size (h.channel) == max_size);
  g_signal_connect (h.channel, "message", G_CALLBACK (message_cb), &h);
  if (h.with_fds_handler)
    g_signal_connect (h.channel, "message-with-fds", G_CALLBACK (message_with_fds_cb), &h);
  g_signal_connect (h.channel, "error", G_CALLBACK (error_cb), &h);

  h.writer = g_thread_new ("fuzz-fds-peer", writer_main, &h);

  if (h.style == STYLE_SYNC)
    drive_sync (&h);
  else
    drive_async (&h);

  CHECK (h.ended || h.closed);

  /* Closing the channel closes its socket: a writer blocked in sendmsg
   * fails with EPIPE and stops. */
  if (!h.closed)
    CHECK (gipc_channel_close (h.channel, NULL));
  g_thread_join (h.writer);
  g_object_unref (h.channel);

  /* Let idles (completions in idle, result pools) run and go. */
  for (guint i = 0; i < 100 && g_main_context_iteration (h.context, FALSE); i++)
    ;
  g_main_context_pop_thread_default (h.context);
  g_main_context_unref (h.context);

  if (verbose && !warming_up)
    g_printerr ("fuzz-fds: style %d take %d with-fds %d action %d: %u records, "
                "%u fds, %u frames, end %d%s; delivered %u, %s %d\n",
                h.style, h.take, h.with_fds_handler, h.action, h.records->len,
                h.records->len > 0 ? g_array_index (h.records, Record, h.records->len - 1).first_tag +
                                     g_array_index (h.records, Record, h.records->len - 1).n_fds : 0,
                h.frames->len, h.end_code, h.well_behaved ? "" : " (misbehaving peer)",
                h.delivered, h.ended ? "ended" : "closed", h.ended ? h.end_seen : -1);

  g_array_unref (h.records);
  g_array_unref (h.frames);
  g_free (h.stream);

  /* No fd lingers: not those dropped with a plain receive or "message",
   * not those of a failed frame, not the unclaimed ones at close. */
  if (!warming_up)
    CHECK (count_fds () == fds_before);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* A frame with two fds, a frame without, then end of stream. */
  static const guint8 warm_up[] = {
    0, 0, 0, 0,
    FD_CODE_AUTO, 0, 9, 0, 0, 0, 1, 0, 2, 0, 0, 'x',
    0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0,
  };
  guint8 input[sizeof warm_up];

  /* GLib 2.74 takes objects from g_slice, which hides use after free from
   * ASan; this must be set before GLib allocates anything. */
  setenv ("G_SLICE", "always-malloc", 1);
  /* The peer writes on after we closed the channel: EPIPE, not a death
   * (it sends with MSG_NOSIGNAL, too). */
  signal (SIGPIPE, SIG_IGN);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  verbose = g_strcmp0 (g_getenv ("GIPC_FUZZ_VERBOSE"), "1") == 0;

  /* Whatever GLib or the library opens once and keeps (per process, not
   * per channel) is opened here, before the fd counts are compared. */
  warming_up = TRUE;
  memcpy (input, warm_up, sizeof input);
  for (guint style = 0; style < 3; style++)
    {
      input[0] = (guint8) (style | 0x4);
      run_one (input, sizeof input);
    }
  warming_up = FALSE;
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  run_one (data, size);
  return 0;
}
