/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "gipc-channel.h"
#include "gipc-error.h"
#include "gipc-frame-stream-private.h"
#include "gipc-shared-memory-private.h"

/* Frames with payloads up to this size are copied into one output buffer
 * (one write for many of them); larger ones are written from their GBytes
 * with writev, with no copy. */
#define COALESCE_MAX        (8 * 1024)
/* A coalescing buffer is closed at this size, so a burst of sends is never
 * reallocated (and copied) at megabytes. */
#define CHUNK_MAX           (256 * 1024)
/* The read buffer; a body larger than half of it is read straight into the
 * message's own buffer. */
#define READ_BUFFER_SIZE    (128 * 1024)
#define MAX_IOV             64

/* A chunk of output: one large frame written from its GBytes, or small
 * frames coalesced in a buffer. The fds of a frame go with the sendmsg
 * that starts at its first byte, so a frame with fds starts a chunk, the
 * chunk's fds are its first frame's, and a write never goes past the
 * start of a later chunk with fds. */
typedef struct
{
  GBytes      *bytes;        /* a large message (no copy), or NULL */
  GByteArray  *buffer;       /* coalesced small frames, or NULL */
  guint8       header[GIPC_FRAME_FDS_HEADER_SIZE];
  gsize        header_size;
  guint64      start;        /* stream offset of the chunk's first byte */
  gsize        length;       /* header + payload, or buffer->len */
  GUnixFDList *fds;          /* the first frame's fds, until sent; or NULL */

  /* The first frame as shared memory: its message, made into a memfd
   * (prepended to fds) right before the frame is written; or NULL. */
  GBytes      *shared;
  guint64      shared_size;  /* counted in shared_queued until written */
  guint        n_fds;        /* counted in fds_queued until sent */
  GError      *error;        /* the first frame cannot be sent: writing
                              * fails when it gets here; or NULL */
} GipcFrameChunk;

/* A written frame with fds that the peer may not have read yet. */
typedef struct
{
  guint64      size;         /* its shared-memory size, or 0 */
  guint        n_fds;
  guint64      mark;         /* outq_total before its write */
} GipcFrameInFlight;

/* A chunk whose first frame goes with a write of its own. */
static inline gboolean
chunk_starts_write (const GipcFrameChunk *chunk)
{
  return chunk->fds != NULL || chunk->shared != NULL || chunk->error != NULL;
}

void
gipc_frame_stream_init (GipcFrameStream *self,
                        int              read_fd,
                        int              write_fd,
                        guint64          max_message_size)
{
  memset (self, 0, sizeof *self);
  gipc_transport_init (&self->transport, read_fd, write_fd);
  g_queue_init (&self->output);
  g_queue_init (&self->in_flight);
  gipc_frame_decoder_init (&self->decoder, max_message_size);
  self->format = self->transport.is_socket ? GIPC_FRAME_FORMAT_FDS : GIPC_FRAME_FORMAT_PIPE;
  gipc_frame_decoder_set_format (&self->decoder, self->format);
}

void
gipc_frame_stream_set_max_message_size (GipcFrameStream *self,
                                        guint64          max_size)
{
  self->decoder.max_size = MIN (max_size, GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT);
}

void
gipc_frame_stream_close (GipcFrameStream *self)
{
  gipc_frame_stream_drop_input (self);
  gipc_frame_stream_drop_output (self);
  g_clear_pointer (&self->spare_buffer, g_byte_array_unref);
  gipc_transport_close (&self->transport);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

/* Forgets the chunk's first frame's extras (its fds, its shared memory,
 * its error) and their counts. */
static void
chunk_clear_first_frame (GipcFrameStream *self,
                         GipcFrameChunk  *chunk)
{
  g_assert (self->shared_queued >= chunk->shared_size);
  g_assert (self->fds_queued >= chunk->n_fds);
  self->shared_queued -= chunk->shared_size;
  self->fds_queued -= chunk->n_fds;
  chunk->shared_size = 0;
  chunk->n_fds = 0;
  g_clear_object (&chunk->fds);
  g_clear_pointer (&chunk->shared, g_bytes_unref);
  g_clear_error (&chunk->error);
}

static void
chunk_free (GipcFrameStream *self,
            GipcFrameChunk  *chunk)
{
  chunk_clear_first_frame (self, chunk);
  g_clear_pointer (&chunk->bytes, g_bytes_unref);
  if (chunk->buffer != NULL)
    {
      if (self->spare_buffer == NULL && chunk->buffer->len <= 4 * CHUNK_MAX)
        {
          g_byte_array_set_size (chunk->buffer, 0);
          self->spare_buffer = chunk->buffer;
        }
      else
        g_byte_array_unref (chunk->buffer);
    }
  g_slice_free (GipcFrameChunk, chunk);
}

/* A message as a sealed memfd: a header-only frame whose first fd is the
 * memfd, then the message's fds. The memfd is made when the frame is
 * written (export_shared()), so queued messages hold no fd; a shared
 * GBytes is sealed now, so that the sender's later writes to it fault at
 * once instead of racing the send. A message whose memory cannot be
 * sealed is queued with its error. */
static void
queue_shared (GipcFrameStream  *self,
              GBytes           *message,
              GUnixFDList      *fds,
              guint64          *start,
              guint64          *end)
{
  gsize size = g_bytes_get_size (message);
  guint n_fds = fds != NULL ? (guint) g_unix_fd_list_get_length (fds) : 0;
  GipcFrameChunk *chunk;

  chunk = g_slice_new0 (GipcFrameChunk);
  chunk->buffer = g_byte_array_sized_new (GIPC_FRAME_FDS_HEADER_SIZE);
  g_byte_array_set_size (chunk->buffer, GIPC_FRAME_FDS_HEADER_SIZE);
  gipc_frame_encode_fds_header (chunk->buffer->data, size, n_fds + 1, GIPC_FRAME_KIND_SHARED);
  chunk->length = GIPC_FRAME_FDS_HEADER_SIZE;
  chunk->start = self->queued;
  if (!gipc_shared_memory_seal (message, &chunk->error))
    g_prefix_error (&chunk->error, "Could not send a message as shared memory: ");
  else
    {
      chunk->shared = g_bytes_ref (message);
      chunk->shared_size = size;
      chunk->fds = fds != NULL && n_fds > 0 ? g_object_ref (fds) : NULL;
      chunk->n_fds = n_fds + 1;
      self->shared_queued += size;
      self->fds_queued += n_fds + 1;
    }
  g_queue_push_tail (&self->output, chunk);

  *start = self->queued;
  self->queued += GIPC_FRAME_FDS_HEADER_SIZE;
  *end = self->queued;
}

/* Right before the first byte of @chunk (a shared-memory frame) is
 * written: its memfd, then its message's fds, become the chunk's fds. */
static gboolean
export_shared (GipcFrameStream  *self,
               GipcFrameChunk   *chunk,
               GError          **error)
{
  g_autoptr(GUnixFDList) frame_fds = NULL;
  guint n_fds = chunk->fds != NULL ? (guint) g_unix_fd_list_get_length (chunk->fds) : 0;
  int memfd;

  memfd = gipc_shared_memory_export (chunk->shared, error);
  if (memfd < 0)
    {
      g_prefix_error (error, "Could not send a message as shared memory: ");
      return FALSE;
    }
  frame_fds = g_unix_fd_list_new_from_array (&memfd, 1);
  for (guint i = 0; i < n_fds; i++)
    if (g_unix_fd_list_append (frame_fds, g_unix_fd_list_peek_fds (chunk->fds, NULL)[i], error) < 0)
      {
        g_prefix_error (error, "Could not send a message's file descriptors: ");
        return FALSE;
      }

  g_clear_pointer (&chunk->shared, g_bytes_unref);
  g_clear_object (&chunk->fds);
  chunk->fds = g_steal_pointer (&frame_fds);
  return TRUE;
}

gboolean
gipc_frame_stream_queue (GipcFrameStream  *self,
                         GBytes           *message,
                         GUnixFDList      *fds,
                         guint64          *start,
                         guint64          *end,
                         GError          **error)
{
  gsize size = g_bytes_get_size (message);
  guint n_fds = fds != NULL ? (guint) g_unix_fd_list_get_length (fds) : 0;
  GipcFrameChunk *tail = g_queue_peek_tail (&self->output);
  guint8 header[GIPC_FRAME_FDS_HEADER_SIZE];
  gsize header_size = gipc_frame_header_size (self->format);

  if (n_fds > 0 && self->format != GIPC_FRAME_FORMAT_FDS)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "This channel cannot pass file descriptors (it is not "
                           "made with GIPC_PIPE_FLAGS_UNIX_FDS)");
      return FALSE;
    }
  if (n_fds > GIPC_FRAME_MAX_FDS)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "A message can carry at most %u file descriptors, not %u",
                   (guint) GIPC_FRAME_MAX_FDS, n_fds);
      return FALSE;
    }

  if (self->format == GIPC_FRAME_FORMAT_FDS &&
      self->shared_memory_threshold > 0 && n_fds < GIPC_FRAME_MAX_FDS &&
      (size >= self->shared_memory_threshold || gipc_shared_memory_is_shared (message)))
    {
      queue_shared (self, message, fds, start, end);
      return TRUE;
    }

  if (self->format == GIPC_FRAME_FORMAT_FDS)
    gipc_frame_encode_fds_header (header, size, n_fds, GIPC_FRAME_KIND_INLINE);
  else
    gipc_frame_encode_header (header, size);

  *start = self->queued;

  if (size <= COALESCE_MAX)
    {
      if (n_fds > 0 || tail == NULL || tail->buffer == NULL || tail->length >= CHUNK_MAX)
        {
          tail = g_slice_new0 (GipcFrameChunk);
          tail->buffer = self->spare_buffer != NULL ?
                         g_steal_pointer (&self->spare_buffer) :
                         g_byte_array_sized_new (4096);
          tail->start = self->queued;
          if (n_fds > 0)
            {
              tail->fds = g_object_ref (fds);
              tail->n_fds = n_fds;
              self->fds_queued += n_fds;
            }
          g_queue_push_tail (&self->output, tail);
        }

      g_byte_array_append (tail->buffer, header, header_size);
      if (size > 0)
        g_byte_array_append (tail->buffer, g_bytes_get_data (message, NULL), size);
      tail->length = tail->buffer->len;
    }
  else
    {
      GipcFrameChunk *chunk = g_slice_new0 (GipcFrameChunk);

      gipc_transport_grow_pipe (&self->transport);
      chunk->bytes = g_bytes_ref (message);
      memcpy (chunk->header, header, header_size);
      chunk->header_size = header_size;
      chunk->start = self->queued;
      chunk->length = header_size + size;
      if (n_fds > 0)
        {
          chunk->fds = g_object_ref (fds);
          chunk->n_fds = n_fds;
          self->fds_queued += n_fds;
        }
      g_queue_push_tail (&self->output, chunk);
    }

  self->queued += header_size + size;
  *end = self->queued;
  return TRUE;
}

void
gipc_frame_stream_queue_error (GipcFrameStream *self,
                               GError          *error)
{
  GipcFrameChunk *chunk = g_slice_new0 (GipcFrameChunk);

  chunk->buffer = g_byte_array_sized_new (1);
  g_byte_array_set_size (chunk->buffer, 1);
  chunk->length = 1;
  chunk->start = self->queued;
  chunk->error = error;
  g_queue_push_tail (&self->output, chunk);
  self->queued += 1;
}

void
gipc_frame_stream_unqueue (GipcFrameStream *self,
                           guint64          start,
                           guint64          end)
{
  guint64 length = end - start;
  GList *l = self->output.head;

  g_assert (start >= self->written);

  while (l != NULL)
    {
      GipcFrameChunk *chunk = l->data;
      GList *next = l->next;

      if (chunk->start + chunk->length <= start)
        {
          l = next;
          continue;
        }

      if (chunk->start >= end)
        chunk->start -= length;
      else if (chunk->buffer != NULL)
        {
          /* A chunk's fds (shared memory, error) are its first frame's. */
          if (start == chunk->start)
            chunk_clear_first_frame (self, chunk);
          g_byte_array_remove_range (chunk->buffer, start - chunk->start, length);
          chunk->length = chunk->buffer->len;
          if (chunk->length == 0)
            {
              g_queue_delete_link (&self->output, l);
              chunk_free (self, chunk);
            }
        }
      else
        {
          g_queue_delete_link (&self->output, l);
          chunk_free (self, chunk);
        }

      l = next;
    }

  self->queued -= length;
}

/* Fills @iov from the queue, from the first unwritten byte, up to the
 * next chunk whose fds are not sent yet (they go with a write of their
 * own). *fds: the fds to send with this write, or NULL. */
static int
gather_output (GipcFrameStream  *self,
               struct iovec     *iov,
               GUnixFDList     **fds)
{
  guint64 offset = self->written;
  int n_iov = 0;

  *fds = NULL;

  for (GList *l = self->output.head; l != NULL && n_iov < MAX_IOV - 1; l = l->next)
    {
      GipcFrameChunk *chunk = l->data;
      gsize skip = offset > chunk->start ? offset - chunk->start : 0;

      if (chunk_starts_write (chunk))
        {
          if (n_iov > 0)
            break;
          g_assert (skip == 0);
          g_assert (chunk->shared == NULL && chunk->error == NULL);
          *fds = chunk->fds;
        }

      if (chunk->buffer != NULL)
        {
          iov[n_iov].iov_base = chunk->buffer->data + skip;
          iov[n_iov].iov_len = chunk->length - skip;
          n_iov++;
        }
      else
        {
          gsize payload_size;
          const guint8 *payload = g_bytes_get_data (chunk->bytes, &payload_size);
          gsize header_size = chunk->header_size;

          if (skip < header_size)
            {
              iov[n_iov].iov_base = chunk->header + skip;
              iov[n_iov].iov_len = header_size - skip;
              n_iov++;
              skip = header_size;
            }
          iov[n_iov].iov_base = (guint8 *) payload + (skip - header_size);
          iov[n_iov].iov_len = payload_size - (skip - header_size);
          n_iov++;
        }
      offset = chunk->start + chunk->length;
    }

  return n_iov;
}

guint
gipc_frame_stream_get_fd_budget (GipcFrameStream *self)
{
  if (self->fd_budget == 0)
    {
      struct rlimit limit;
      rlim_t budget = GIPC_FRAME_STREAM_MAX_FDS_IN_FLIGHT;

      if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        budget = MIN (budget, MAX (limit.rlim_cur / 16, 4));
      self->fd_budget = (guint) budget;
    }

  return self->fd_budget;
}

/* The bytes the socket holds that the peer has not read: the kernel
 * counts whole buffers (with their overhead), not payload bytes. 0 if it
 * cannot tell. */
static gint64
socket_outq (GipcFrameStream *self)
{
  int outq = 0;

  if (ioctl (self->transport.write_fd, SIOCOUTQ, &outq) < 0 || outq < 0)
    return 0;
  return outq;
}

/*
 * Frames in flight. The peer reads the socket in order and the kernel
 * frees each buffer once it is read whole, so while a frame is not read,
 * the socket holds at least the buffers of its own write and of every
 * write after it. Each tracked write is measured as the growth of the
 * send queue across it (an underestimate when the peer reads meanwhile,
 * which only delays the release), summed in outq_total; a frame whose
 * write began at mark is read once the send queue holds less than
 * outq_total - mark (and always once it is empty).
 */
gboolean
gipc_frame_stream_release_in_flight (GipcFrameStream *self)
{
  GipcFrameInFlight *frame;
  gboolean released = FALSE;
  gint64 outq;

  if (self->in_flight.length == 0)
    return FALSE;

  outq = socket_outq (self);
  while ((frame = g_queue_peek_head (&self->in_flight)) != NULL &&
         (guint64) outq < MAX (self->outq_total - frame->mark, 1))
    {
      g_queue_pop_head (&self->in_flight);
      self->in_flight_bytes -= frame->size;
      self->in_flight_fds -= frame->n_fds;
      g_slice_free (GipcFrameInFlight, frame);
      released = TRUE;
    }

  if (self->in_flight.length == 0)
    self->outq_total = 0;

  return released;
}

static void
clear_in_flight (GipcFrameStream *self)
{
  GipcFrameInFlight *frame;

  while ((frame = g_queue_pop_head (&self->in_flight)) != NULL)
    g_slice_free (GipcFrameInFlight, frame);
  self->in_flight_bytes = 0;
  self->in_flight_fds = 0;
  self->outq_total = 0;
}

/* Whether @head (the chunk at the written offset) must wait for the peer
 * to take fds in flight before it is written. */
static gboolean
must_hold (GipcFrameStream *self,
           GipcFrameChunk  *head)
{
  guint budget;

  if (head->n_fds == 0 || head->start != self->written || self->in_flight.length == 0)
    return FALSE;

  budget = gipc_frame_stream_get_fd_budget (self);
  if (self->in_flight_fds + head->n_fds <= budget)
    return FALSE;

  gipc_frame_stream_release_in_flight (self);
  return self->in_flight.length > 0 && self->in_flight_fds + head->n_fds > budget;
}

GipcFrameFlushResult
gipc_frame_stream_flush (GipcFrameStream  *self,
                         GError          **error)
{
  GipcTransportWriteGuard guard;
  GipcFrameFlushResult result = GIPC_FRAME_FLUSH_AGAIN;

  self->held = FALSE;
  if (self->output.length == 0)
    return GIPC_FRAME_FLUSH_DONE;

  gipc_transport_begin_writes (&self->transport, &guard);

  while (self->output.length > 0)
    {
      struct iovec iov[MAX_IOV];
      GUnixFDList *fds = NULL;
      GipcFrameChunk *head = g_queue_peek_head (&self->output);
      GError *local_error = NULL;
      gboolean track;
      gint64 outq_before = 0;
      int n_iov;
      gssize n;

      if (head->start == self->written && head->error != NULL)
        {
          /* A message that cannot be sent: the stream fails here, and no
           * later message takes its place. */
          g_propagate_error (error, g_error_copy (head->error));
          result = GIPC_FRAME_FLUSH_FAILED;
          break;
        }

      if (must_hold (self, head))
        {
          self->held = TRUE;
          result = GIPC_FRAME_FLUSH_HELD;
          break;
        }

      if (head->start == self->written && head->shared != NULL &&
          !export_shared (self, head, error))
        {
          result = GIPC_FRAME_FLUSH_FAILED;
          break;
        }

      n_iov = gather_output (self, iov, &fds);

      /* Frames with fds are tracked until the peer has read them, and
       * every write after them is measured. */
      track = self->transport.is_socket && (fds != NULL || self->in_flight.length > 0);
      if (track)
        outq_before = socket_outq (self);

      n = gipc_transport_write (&self->transport, &guard, iov, n_iov,
                                fds != NULL ? g_unix_fd_list_peek_fds (fds, NULL) : NULL,
                                fds != NULL ? (guint) g_unix_fd_list_get_length (fds) : 0,
                                &local_error);
      if (n < 0)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_error_free (local_error);
              self->full = TRUE;
              break;
            }

          /* The kernel passes at most RLIMIT_NOFILE fds in flight per
           * user, over every socket: wait for ours to be taken. */
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES) &&
              self->in_flight.length > 0)
            {
              g_error_free (local_error);
              self->held = TRUE;
              result = GIPC_FRAME_FLUSH_HELD;
              break;
            }

          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES))
            {
              local_error->domain = GIPC_ERROR;
              local_error->code = GIPC_ERROR_FAILED;
            }
          g_propagate_error (error, local_error);
          result = GIPC_FRAME_FLUSH_FAILED;
          break;
        }

      if (track)
        {
          gint64 growth = socket_outq (self) - outq_before;
          guint64 mark = self->outq_total;

          self->outq_total += MAX (growth, 0);
          if (fds != NULL)
            {
              GipcFrameInFlight *frame = g_slice_new (GipcFrameInFlight);

              frame->size = head->shared_size;
              frame->n_fds = head->n_fds;
              frame->mark = mark;
              g_queue_push_tail (&self->in_flight, frame);
              self->in_flight_bytes += frame->size;
              self->in_flight_fds += frame->n_fds;
            }
        }

      self->written += n;

      /* The fds went with the first byte: never again. */
      if (fds != NULL)
        chunk_clear_first_frame (self, head);

      /* Drop the chunks that are fully written. */
      for (GipcFrameChunk *chunk = g_queue_peek_head (&self->output);
           chunk != NULL && chunk->start + chunk->length <= self->written;
           chunk = g_queue_peek_head (&self->output))
        {
          g_queue_pop_head (&self->output);
          chunk_free (self, chunk);
        }
    }

  gipc_transport_end_writes (&self->transport, &guard);

  if (result == GIPC_FRAME_FLUSH_AGAIN && self->output.length == 0)
    result = GIPC_FRAME_FLUSH_DONE;

  return result;
}

void
gipc_frame_stream_drop_output (GipcFrameStream *self)
{
  GipcFrameChunk *chunk;

  while ((chunk = g_queue_pop_head (&self->output)) != NULL)
    chunk_free (self, chunk);
  self->written = self->queued;
  clear_in_flight (self);
  self->held = FALSE;
}

void
gipc_frame_stream_abandon_output (GipcFrameStream  *self,
                                  void            (*keep) (gpointer))
{
  if (self->output.head != NULL)
    keep (self->output.head);
  if (self->spare_buffer != NULL)
    keep (self->spare_buffer);
  g_queue_init (&self->output);
  self->spare_buffer = NULL;
  self->written = self->queued;
  /* Counts of what is now the parent's. */
  self->shared_queued = 0;
  self->fds_queued = 0;
  clear_in_flight (self);
  self->held = FALSE;
}

/* ------------------------------------------------------------------ */
/* Input                                                               */

void
gipc_frame_stream_drop_input (GipcFrameStream *self)
{
  guint64 max_size = self->decoder.max_size;

  gipc_frame_decoder_clear (&self->decoder);
  self->decoder.max_size = max_size;
  g_clear_pointer (&self->rbuf, g_free);
  self->rbuf_pos = self->rbuf_len = 0;
}

/* A shared-memory frame: its memfd (taken) made into the message, which
 * maps it read-only (no copy). */
static GBytes *
import_shared (int      fd,
               gsize    size,
               GError **error)
{
  return gipc_shared_memory_import (fd, size, error);
}

/* The frame the decoder just completed is whole: its fds come from the
 * transport's FIFO (they arrived with its first byte, at the latest), and
 * a shared-memory frame's first fd is its message. FALSE with *error (also
 * made the decoder's sticky error) if they are not there or not right;
 * every fd is closed then. */
static gboolean
finish_frame (GipcFrameStream  *self,
              GBytes          **message,
              GUnixFDList     **fds,
              GError          **error)
{
  guint n = self->decoder.n_fds;
  int claimed[GIPC_FRAME_MAX_FDS];
  guint first = 0;
  GError *local_error = NULL;

  *fds = NULL;
  if (n == 0)
    return TRUE;

  if (!gipc_transport_claim_fds (&self->transport, n, claimed))
    {
      g_set_error (&local_error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "A message announced %u file descriptors but %u came with it",
                   n, gipc_transport_get_n_pending_fds (&self->transport));
      goto fail;
    }

  if (self->decoder.kind == GIPC_FRAME_KIND_SHARED)
    {
      g_assert (*message == NULL);
      first = 1;
      *message = import_shared (claimed[0], self->decoder.shared_len, &local_error);
      if (*message == NULL)
        {
          for (guint i = 1; i < n; i++)
            close (claimed[i]);
          goto fail;
        }
    }

  if (n > first)
    *fds = g_unix_fd_list_new_from_array (claimed + first, n - first);
  return TRUE;

fail:
  g_clear_pointer (message, g_bytes_unref);
  gipc_frame_decoder_fail (&self->decoder, g_error_copy (local_error));
  g_propagate_error (error, local_error);
  return FALSE;
}

/* Decodes what is in the read buffer, handing each whole message to
 * @func. FALSE when @func asked to stop or on a decoding error (then
 * *error is set and nothing after the bad frame is ever decoded). */
static gboolean
decode_buffered (GipcFrameStream             *self,
                 GipcFrameStreamMessageFunc   func,
                 gpointer                     user_data,
                 gboolean                    *stopped,
                 GError                     **error)
{
  while (self->rbuf_pos < self->rbuf_len)
    {
      GBytes *message = NULL;
      gsize consumed = 0;
      GipcFrameResult r;

      r = gipc_frame_decoder_feed (&self->decoder,
                                   self->rbuf + self->rbuf_pos,
                                   self->rbuf_len - self->rbuf_pos,
                                   &consumed, &message, error);
      self->rbuf_pos += consumed;

      if (r == GIPC_FRAME_MESSAGE)
        {
          GUnixFDList *fds = NULL;

          if (!finish_frame (self, &message, &fds, error))
            {
              self->rbuf_pos = self->rbuf_len = 0;
              return FALSE;
            }

          /* The callback may run user code that closes the stream (which
           * frees the buffer) or re-enters it and decodes the rest of the
           * buffer, up to an error maybe: it says whether to go on. */
          if (!func (message, fds, user_data))
            {
              *stopped = TRUE;
              return FALSE;
            }
        }
      else if (r == GIPC_FRAME_ERROR)
        {
          self->rbuf_pos = self->rbuf_len = 0;
          return FALSE;
        }
    }

  self->rbuf_pos = self->rbuf_len = 0;
  return TRUE;
}

GipcFrameReadResult
gipc_frame_stream_read (GipcFrameStream             *self,
                        GipcFrameStreamMessageFunc   func,
                        gpointer                     user_data,
                        GError                     **error)
{
  gsize remaining = 0;
  guint8 *tail = gipc_frame_decoder_body_tail (&self->decoder, &remaining);
  gboolean stopped = FALSE;
  GError *local_error = NULL;
  gssize n;

  if (gipc_frame_decoder_get_error (&self->decoder) != NULL)
    {
      g_propagate_error (error, g_error_copy (gipc_frame_decoder_get_error (&self->decoder)));
      return GIPC_FRAME_READ_END;
    }

  if (tail != NULL && remaining >= READ_BUFFER_SIZE / 2)
    {
      n = gipc_transport_read (&self->transport, tail, remaining, &local_error);
      if (n > 0)
        {
          GBytes *message = NULL;
          GUnixFDList *fds = NULL;

          if (gipc_frame_decoder_body_advance (&self->decoder, n, &message) == GIPC_FRAME_MESSAGE)
            {
              if (!finish_frame (self, &message, &fds, error))
                return GIPC_FRAME_READ_END;
              if (!func (message, fds, user_data))
                return GIPC_FRAME_READ_STOPPED;
            }
          return GIPC_FRAME_READ_MORE;
        }
    }
  else
    {
      /* Re-entered from a callback while an outer call decodes the
       * buffer: finish the buffer first. */
      if (self->rbuf_pos < self->rbuf_len)
        {
          if (decode_buffered (self, func, user_data, &stopped, error))
            return GIPC_FRAME_READ_MORE;
          return stopped ? GIPC_FRAME_READ_STOPPED : GIPC_FRAME_READ_END;
        }

      if (self->rbuf == NULL)
        self->rbuf = g_malloc (READ_BUFFER_SIZE);

      n = gipc_transport_read (&self->transport, self->rbuf, READ_BUFFER_SIZE, &local_error);
      if (n > 0)
        {
          self->rbuf_pos = 0;
          self->rbuf_len = n;
          if (!decode_buffered (self, func, user_data, &stopped, error))
            return stopped ? GIPC_FRAME_READ_STOPPED : GIPC_FRAME_READ_END;
          return n == READ_BUFFER_SIZE ? GIPC_FRAME_READ_MORE : GIPC_FRAME_READ_AGAIN;
        }
    }

  if (n == 0)
    {
      if (gipc_frame_decoder_at_eof (&self->decoder, error))
        g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED,
                             "End of stream: every sender of the channel is closed");
      return GIPC_FRAME_READ_END;
    }

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      g_error_free (local_error);
      return GIPC_FRAME_READ_AGAIN;
    }

  g_propagate_error (error, local_error);
  return GIPC_FRAME_READ_END;
}
