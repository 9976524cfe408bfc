/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <string.h>
#include <unistd.h>

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
} GipcFrameChunk;

void
gipc_frame_stream_init (GipcFrameStream *self,
                        int              read_fd,
                        int              write_fd,
                        guint64          max_message_size)
{
  memset (self, 0, sizeof *self);
  gipc_transport_init (&self->transport, read_fd, write_fd);
  g_queue_init (&self->output);
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

static void
chunk_free (GipcFrameStream *self,
            GipcFrameChunk  *chunk)
{
  g_clear_pointer (&chunk->bytes, g_bytes_unref);
  g_clear_object (&chunk->fds);
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
 * memfd (exported now, so the sender's later writes to a shared GBytes
 * fault at once instead of racing the send), then the message's fds. */
static gboolean
queue_shared (GipcFrameStream  *self,
              GBytes           *message,
              GUnixFDList      *fds,
              guint64          *start,
              guint64          *end,
              GError          **error)
{
  gsize size = g_bytes_get_size (message);
  guint n_fds = fds != NULL ? (guint) g_unix_fd_list_get_length (fds) : 0;
  g_autoptr(GUnixFDList) frame_fds = NULL;
  GipcFrameChunk *chunk;
  int memfd;

  memfd = gipc_shared_memory_export (message, error);
  if (memfd < 0)
    return FALSE;
  frame_fds = g_unix_fd_list_new_from_array (&memfd, 1);
  for (guint i = 0; i < n_fds; i++)
    if (g_unix_fd_list_append (frame_fds, g_unix_fd_list_peek_fds (fds, NULL)[i], error) < 0)
      return FALSE;

  chunk = g_slice_new0 (GipcFrameChunk);
  chunk->buffer = g_byte_array_sized_new (GIPC_FRAME_FDS_HEADER_SIZE);
  g_byte_array_set_size (chunk->buffer, GIPC_FRAME_FDS_HEADER_SIZE);
  gipc_frame_encode_fds_header (chunk->buffer->data, size, n_fds + 1, GIPC_FRAME_KIND_SHARED);
  chunk->length = GIPC_FRAME_FDS_HEADER_SIZE;
  chunk->start = self->queued;
  chunk->fds = g_steal_pointer (&frame_fds);
  g_queue_push_tail (&self->output, chunk);

  *start = self->queued;
  self->queued += GIPC_FRAME_FDS_HEADER_SIZE;
  *end = self->queued;
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
    return queue_shared (self, message, fds, start, end, error);

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
            tail->fds = g_object_ref (fds);
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
        chunk->fds = g_object_ref (fds);
      g_queue_push_tail (&self->output, chunk);
    }

  self->queued += header_size + size;
  *end = self->queued;
  return TRUE;
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
          /* A chunk's fds are its first frame's. */
          if (start == chunk->start)
            g_clear_object (&chunk->fds);
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

      if (chunk->fds != NULL)
        {
          if (n_iov > 0)
            break;
          g_assert (skip == 0);
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

GipcFrameFlushResult
gipc_frame_stream_flush (GipcFrameStream  *self,
                         GError          **error)
{
  GipcTransportWriteGuard guard;
  GipcFrameFlushResult result = GIPC_FRAME_FLUSH_AGAIN;

  if (self->output.length == 0)
    return GIPC_FRAME_FLUSH_DONE;

  gipc_transport_begin_writes (&self->transport, &guard);

  while (self->output.length > 0)
    {
      struct iovec iov[MAX_IOV];
      GUnixFDList *fds = NULL;
      int n_iov = gather_output (self, iov, &fds);
      GError *local_error = NULL;
      gssize n;

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

          g_propagate_error (error, local_error);
          result = GIPC_FRAME_FLUSH_FAILED;
          break;
        }

      self->written += n;

      /* The fds went with the first byte: never again. */
      if (fds != NULL)
        {
          GipcFrameChunk *head = g_queue_peek_head (&self->output);

          g_clear_object (&head->fds);
        }

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

  if (result != GIPC_FRAME_FLUSH_FAILED && self->output.length == 0)
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
