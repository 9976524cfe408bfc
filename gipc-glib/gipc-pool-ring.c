/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* The answer ring of a pool worker: layout, reads and writes. See
 * gipc-pool-ring-private.h. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gipc-error.h"
#include "gipc-pool-ring-private.h"
#include "gipc-shared-memory-private.h"

#define RING_MAGIC      0x31525047u  /* "GPR1" read as a native uint32 on little-endian */
#define OFFSET_HEAD     64
#define OFFSET_TAIL     128
#define OFFSET_ARMED    192
#define RING_SEALS      (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

struct _GipcPoolRing
{
  guint8  *base;        /* the mapping (or the fuzzer's memory) */
  gsize    map_size;    /* 0: not ours to unmap */
  guint8  *data;
  guint32  mask;        /* data size - 1, kept here: never read back from the ring */
  guint32  local;       /* the program's tail, or the worker's head */
  guint32  peeked;      /* bytes of the record the last peek returned */
  guint8   scratch[GIPC_POOL_RING_RECORD_MAX];  /* the program's copy of that record */
};

static gint *
field (GipcPoolRing *ring,
       gsize         offset)
{
  return (gint *) (gpointer) (ring->base + offset);
}

static GipcPoolRing *
ring_wrap (guint8  *base,
           gsize    map_size,
           guint32  data_size)
{
  GipcPoolRing *ring = g_new0 (GipcPoolRing, 1);

  ring->base = base;
  ring->map_size = map_size;
  ring->data = base + GIPC_POOL_RING_HEADER;
  ring->mask = data_size - 1;
  return ring;
}

GipcPoolRing *
gipc_pool_ring_new (int     *fd_out,
                    GError **error)
{
  gsize size = GIPC_POOL_RING_HEADER + GIPC_POOL_RING_DATA_SIZE;
  guint32 header[2] = { RING_MAGIC, GIPC_POOL_RING_DATA_SIZE };
  gpointer base;
  int fd;

  fd = gipc_shared_memory_create_fd (size, error);
  if (fd < 0)
    return NULL;
  if (fcntl (fd, F_ADD_SEALS, RING_SEALS) < 0)
    {
      int errsv = errno;

      close (fd);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Could not seal a pool worker's answer ring: %s", g_strerror (errsv));
      return NULL;
    }
  base = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED)
    {
      int errsv = errno;

      close (fd);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Could not map a pool worker's answer ring: %s", g_strerror (errsv));
      return NULL;
    }
  /* A child forked later (a fork-mode worker, sandboxed or not) must not
   * inherit a writable view of this or any other worker's ring. */
  if (madvise (base, size, MADV_DONTFORK) < 0)
    {
      int errsv = errno;

      munmap (base, size);
      close (fd);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Could not keep a pool worker's answer ring from forked children: %s",
                   g_strerror (errsv));
      return NULL;
    }
  memcpy (base, header, sizeof header);
  *fd_out = fd;
  return ring_wrap (base, size, GIPC_POOL_RING_DATA_SIZE);
}

GipcPoolRing *
gipc_pool_ring_map (int      fd,
                    GError **error)
{
  struct stat st;
  guint32 header[2];
  gsize data_size;
  gpointer base;
  int seals;

  if (fstat (fd, &st) < 0 || st.st_size <= GIPC_POOL_RING_HEADER)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                           "The pool's answer ring has no valid size");
      return NULL;
    }
  data_size = (gsize) st.st_size - GIPC_POOL_RING_HEADER;
  seals = fcntl (fd, F_GET_SEALS);
  if (data_size < 4096 || data_size > 16 * 1024 * 1024 || (data_size & (data_size - 1)) != 0 ||
      seals < 0 || (seals & RING_SEALS) != RING_SEALS)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                           "The pool's answer ring has a bad size or is not sealed");
      return NULL;
    }
  base = mmap (NULL, (gsize) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED)
    {
      int errsv = errno;

      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Could not map the pool's answer ring: %s", g_strerror (errsv));
      return NULL;
    }
  memcpy (header, base, sizeof header);
  /* Nor do the worker's own children get it. */
  if (madvise (base, (gsize) st.st_size, MADV_DONTFORK) < 0 ||
      header[0] != RING_MAGIC || header[1] != data_size)
    {
      munmap (base, (gsize) st.st_size);
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                           "The pool's answer ring has a bad header");
      return NULL;
    }
  {
    GipcPoolRing *ring = ring_wrap (base, (gsize) st.st_size, (guint32) data_size);

    ring->local = (guint32) g_atomic_int_get (field (ring, OFFSET_HEAD));
    return ring;
  }
}

GipcPoolRing *
gipc_pool_ring_new_for_memory (gpointer memory,
                               gsize    data_size,
                               guint32  read_position)
{
  GipcPoolRing *ring;

  g_return_val_if_fail (data_size >= 8 && data_size <= G_MAXUINT32 &&
                        (data_size & (data_size - 1)) == 0, NULL);
  ring = ring_wrap (memory, 0, (guint32) data_size);
  ring->local = read_position;
  return ring;
}

void
gipc_pool_ring_free (GipcPoolRing *ring)
{
  if (ring == NULL)
    return;
  if (ring->map_size != 0)
    munmap (ring->base, ring->map_size);
  g_free (ring);
}

/* @size bytes at position @pos of the data area, either way, wrapping. */
static void
copy_in (GipcPoolRing *ring,
         guint32       pos,
         const guint8 *src,
         gsize         size)
{
  gsize at = pos & ring->mask;
  gsize first = MIN (size, (gsize) ring->mask + 1 - at);

  memcpy (ring->data + at, src, first);
  if (first < size)
    memcpy (ring->data, src + first, size - first);
}

static void
copy_out (GipcPoolRing *ring,
          guint32       pos,
          guint8       *dest,
          gsize         size)
{
  gsize at = pos & ring->mask;
  gsize first = MIN (size, (gsize) ring->mask + 1 - at);

  memcpy (dest, ring->data + at, first);
  if (first < size)
    memcpy (dest + first, ring->data, size - first);
}

static gsize
padded (gsize size)
{
  return (size + 3) & ~(gsize) 3;
}

gboolean
gipc_pool_ring_write (GipcPoolRing *ring,
                      const guint8 *header,
                      gsize         header_size,
                      const guint8 *payload,
                      gsize         payload_size,
                      gboolean     *wake)
{
  guint32 tail = (guint32) g_atomic_int_get (field (ring, OFFSET_TAIL));
  guint32 used = ring->local - tail;
  gsize capacity = (gsize) ring->mask + 1;
  gsize len = header_size + payload_size;
  gsize total = 4 + padded (len);
  guint32 len32;

  *wake = FALSE;
  if (len == 0 || len > GIPC_POOL_RING_RECORD_MAX || used > capacity || capacity - used < total)
    return FALSE;
  len32 = (guint32) len;
  copy_in (ring, ring->local, (const guint8 *) &len32, 4);
  copy_in (ring, ring->local + 4, header, header_size);
  if (payload_size > 0)
    copy_in (ring, ring->local + 4 + (guint32) header_size, payload, payload_size);
  ring->local += (guint32) total;
  g_atomic_int_set (field (ring, OFFSET_HEAD), (gint) ring->local);
  *wake = gipc_pool_ring_take_wakeup (ring);
  return TRUE;
}

gboolean
gipc_pool_ring_take_wakeup (GipcPoolRing *ring)
{
  return g_atomic_int_get (field (ring, OFFSET_ARMED)) != 0 &&
         g_atomic_int_compare_and_exchange (field (ring, OFFSET_ARMED), 1, 0);
}

gboolean
gipc_pool_ring_is_empty (GipcPoolRing *ring)
{
  return (guint32) g_atomic_int_get (field (ring, OFFSET_HEAD)) == ring->local;
}

gboolean
gipc_pool_ring_peek (GipcPoolRing  *ring,
                     const guint8 **record,
                     gsize         *size,
                     GError       **error)
{
  guint32 head = (guint32) g_atomic_int_get (field (ring, OFFSET_HEAD));
  guint32 avail = head - ring->local;
  guint32 len;

  *record = NULL;
  *size = 0;
  ring->peeked = 0;
  if (avail == 0)
    return TRUE;
  if (avail > ring->mask + 1 || avail < 8)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "The answer ring's positions are corrupt (%u bytes announced)", avail);
      return FALSE;
    }
  /* Read once: the worker may change the ring under us. */
  copy_out (ring, ring->local, (guint8 *) &len, 4);
  if (len == 0 || len > GIPC_POOL_RING_RECORD_MAX || 4 + padded (len) > avail)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "The answer ring holds a record of a bad length (%u of %u bytes)", len, avail);
      return FALSE;
    }
  copy_out (ring, ring->local + 4, ring->scratch, len);
  *record = ring->scratch;
  *size = len;
  ring->peeked = (guint32) (4 + padded (len));
  return TRUE;
}

void
gipc_pool_ring_consume (GipcPoolRing *ring)
{
  g_return_if_fail (ring->peeked != 0);
  ring->local += ring->peeked;
  ring->peeked = 0;
  g_atomic_int_set (field (ring, OFFSET_TAIL), (gint) ring->local);
}

gboolean
gipc_pool_ring_arm (GipcPoolRing *ring)
{
  if (!gipc_pool_ring_is_empty (ring))
    return TRUE;
  g_atomic_int_set (field (ring, OFFSET_ARMED), 1);
  return !gipc_pool_ring_is_empty (ring);
}

void
gipc_pool_ring_disarm (GipcPoolRing *ring)
{
  if (g_atomic_int_get (field (ring, OFFSET_ARMED)) != 0)
    g_atomic_int_set (field (ring, OFFSET_ARMED), 0);
}
