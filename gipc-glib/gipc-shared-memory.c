/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gipc-error.h"
#include "gipc-shared-memory.h"
#include "gipc-shared-memory-private.h"

/*
 * Shared memory: GBytes backed by a memfd, and the sealed memfds that carry
 * large messages.
 *
 * A block from gipc_shared_bytes_new() is a memfd mapped read-write and
 * shared; the caller fills it through the pointer it was given. The first
 * export seals the memfd in place. The kernel refuses F_SEAL_WRITE (EBUSY)
 * while any shared mapping that may be written exists, and a PROT_READ
 * MAP_SHARED mapping made through the memfd's own O_RDWR fd counts as one
 * (it may be mprotect()ed back to writable); mprotect (PROT_READ) on the
 * writable mapping does not help either. A mapping made through an fd
 * opened O_RDONLY does not count. So the block is first mapped again over
 * the same address (MAP_FIXED), read-only, through /proc/self/fd/N opened
 * O_RDONLY, and then sealed. Writes through the caller's pointer then
 * fault, and it cannot be made writable again.
 *
 * When that is not possible (no /proc, or another process still maps the
 * block writable because it was forked while the block was writable), the
 * block is copied once into a new memfd, which is sealed and mapped
 * read-only over the same address; the block keeps the new memfd. Either
 * way, exports after the first one return dups of one sealed memfd.
 *
 * Locks and fork(): sealing a block happens under that block's mutex. A
 * child forked while another thread held such a mutex would find it locked
 * forever, so a pthread_atfork() handler makes fork() wait until no thread
 * is sealing (it takes fork_lock, which every sealing thread holds for a
 * moment to count itself in and out), and holds fork_lock and the registry
 * lock across the fork: the child starts with every lock of this file
 * free. A sealing never calls out of this file and takes a few system calls
 * (or one copy), so fork() waits for at most that long. A fork() from a
 * signal handler that interrupted a sealing on the same thread would
 * deadlock; fork() with atfork handlers is not async-signal-safe anyway.
 */

#ifndef MFD_NOEXEC_SEAL
# define MFD_NOEXEC_SEAL 0x0008U
#endif

typedef struct
{
  /* Guards the sealing: fd and the protection of data. */
  GMutex   lock;
  int      fd;
  /* The mapping of size bytes, or empty_block for size 0. */
  gpointer data;
  gsize    size;
  /* Atomic; set once fd is sealed, after which fd never changes. */
  gint     sealed;
  /* A received block that counts in n_kept_fds; or, with fd -1, one
   * received past that budget, which keeps no fd (see
   * gipc_shared_memory_import()). */
  gboolean received;
  /* The GBytes that owns the block: its key in the registry. */
  GBytes  *bytes;
} SharedBlock;

/* What a GBytes of size 0 points to: it is never mapped. */
static guint8 empty_block[1];

/* Every live block, keyed by the GBytes that owns it. */
static GMutex registry_lock;
static GHashTable *registry;
/* Atomic: the number of blocks in it, changed under registry_lock. While
 * it is 0, no GBytes is shared memory, and a lookup (one per message sent
 * on an fd channel) needs no lock. */
static gint n_registered;

/* Atomic: how many received blocks keep their memfd open. */
static gint n_kept_fds;

/* The number of threads that are sealing a block now, guarded by
 * fork_lock; fork() waits for it to drop to 0. */
static GMutex fork_lock;
static GCond fork_cond;
static guint n_sealing;

/* 0: not known yet; 1: memfd_create takes MFD_NOEXEC_SEAL; 2: it does not. */
static gint noexec_seal_state;

static void
atfork_prepare (void)
{
  g_mutex_lock (&fork_lock);
  while (n_sealing > 0)
    g_cond_wait (&fork_cond, &fork_lock);
  g_mutex_lock (&registry_lock);
}

static void
atfork_release (void)
{
  g_mutex_unlock (&registry_lock);
  g_mutex_unlock (&fork_lock);
}

static void
ensure_atfork (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      int res = pthread_atfork (atfork_prepare, atfork_release, atfork_release);

      if (res != 0)
        g_error ("Could not register the shared memory fork handlers: %s",
                 g_strerror (res));
      g_once_init_leave (&registered, 1);
    }
}

static void
set_errno_error (GError     **error,
                 int          errsv,
                 const char  *what)
{
  g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
               "%s: %s", what, g_strerror (errsv));
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    {
      int errsv = errno;

      close (*fd);
      *fd = -1;
      errno = errsv;
    }
}

/* A new memfd of @size bytes (zeros), close-on-exec, that can be sealed. */
int
gipc_shared_memory_create_fd (gsize    size,
                              GError **error)
{
  unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int fd = -1;

  if (size > (guint64) G_MAXINT64)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Could not create shared memory of %" G_GSIZE_FORMAT " bytes: "
                   "too large", size);
      return -1;
    }

  /* Kernels since 6.3 want to be told that the memfd is not executable (and
   * log a warning otherwise); older ones refuse the flag with EINVAL. */
  if (g_atomic_int_get (&noexec_seal_state) != 2)
    {
      fd = memfd_create ("gipc-shared-memory", flags | MFD_NOEXEC_SEAL);
      if (fd >= 0)
        g_atomic_int_set (&noexec_seal_state, 1);
      else if (errno == EINVAL)
        g_atomic_int_set (&noexec_seal_state, 2);
    }
  if (fd < 0 && g_atomic_int_get (&noexec_seal_state) == 2)
    fd = memfd_create ("gipc-shared-memory", flags);

  if (fd < 0)
    {
      set_errno_error (error, errno, "Could not create a memfd");
      return -1;
    }

  if (ftruncate (fd, (off_t) size) < 0)
    {
      int errsv = errno;

      close (fd);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Could not size shared memory to %" G_GSIZE_FORMAT " bytes: %s",
                   size, g_strerror (errsv));
      return -1;
    }

  return fd;
}

/* Maps @size bytes of @fd read-only, at @fixed_addr (replacing what is
 * mapped there) or anywhere if it is NULL. Shared if the kernel allows it;
 * before Linux 6.7, a write-sealed memfd cannot be mapped MAP_SHARED
 * through an O_RDWR fd, not even PROT_READ (EPERM), and a private
 * read-only mapping shows the same pages. Returns MAP_FAILED with errno
 * set on failure. */
static gpointer
map_read_only (int       fd,
               gsize     size,
               gpointer  fixed_addr)
{
  int fixed = fixed_addr != NULL ? MAP_FIXED : 0;
  gpointer addr;

  addr = mmap (fixed_addr, size, PROT_READ, MAP_SHARED | fixed, fd, 0);
  if (addr == MAP_FAILED && (errno == EPERM || errno == EACCES))
    addr = mmap (fixed_addr, size, PROT_READ, MAP_PRIVATE | fixed, fd, 0);

  return addr;
}

/* A new memfd holding a copy of @data (@size bytes) and sealed with
 * GIPC_SHARED_MEMORY_SEALS, or -1 with @error set. */
static int
copy_to_sealed_memfd (gconstpointer   data,
                      gsize           size,
                      GError        **error)
{
  const guint8 *p = data;
  gsize done = 0;
  int fd;

  fd = gipc_shared_memory_create_fd (size, error);
  if (fd < 0)
    return -1;

  while (done < size)
    {
      ssize_t n = pwrite (fd, p + done, MIN (size - done, (gsize) G_MAXSSIZE),
                          (off_t) done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int errsv = n < 0 ? errno : EIO;

          close (fd);
          set_errno_error (error, errsv, "Could not write to shared memory");
          return -1;
        }
      done += (gsize) n;
    }

  if (fcntl (fd, F_ADD_SEALS, GIPC_SHARED_MEMORY_SEALS) < 0)
    {
      int errsv = errno;

      close (fd);
      set_errno_error (error, errsv, "Could not seal shared memory");
      return -1;
    }

  return fd;
}

/* Maps @block read-only over its own address through an O_RDONLY fd of
 * its memfd, so that no writable shared mapping of it is left in this
 * process. FALSE with errno set if that cannot be done. */
static gboolean
remap_read_only_in_place (SharedBlock *block)
{
  char path[64];
  gpointer addr;
  int ro_fd;

  g_snprintf (path, sizeof path, "/proc/self/fd/%d", block->fd);
  ro_fd = open (path, O_RDONLY | O_CLOEXEC);
  if (ro_fd < 0)
    return FALSE;

  addr = mmap (block->data, block->size, PROT_READ, MAP_SHARED | MAP_FIXED,
               ro_fd, 0);
  close_fd (&ro_fd);

  return addr != MAP_FAILED;
}

/* Seals @block's memfd, in place if possible, else by moving the block to
 * a sealed copy. Called with block->lock held. */
static gboolean
seal_block_locked (SharedBlock  *block,
                   GError      **error)
{
  int new_fd;

  if (block->size == 0 || remap_read_only_in_place (block))
    {
      if (fcntl (block->fd, F_ADD_SEALS, GIPC_SHARED_MEMORY_SEALS) == 0)
        return TRUE;

      /* EBUSY: another process (a child forked while the block was
       * writable) still maps it writable. Anything else is unexpected. */
      if (errno != EBUSY)
        {
          set_errno_error (error, errno, "Could not seal shared memory");
          return FALSE;
        }
    }

  new_fd = copy_to_sealed_memfd (block->data, block->size, error);
  if (new_fd < 0)
    return FALSE;

  if (block->size > 0 &&
      map_read_only (new_fd, block->size, block->data) == MAP_FAILED)
    {
      int errsv = errno;

      close_fd (&new_fd);
      set_errno_error (error, errsv, "Could not map sealed shared memory");
      return FALSE;
    }

  close_fd (&block->fd);
  block->fd = new_fd;
  return TRUE;
}

static gboolean
seal_block (SharedBlock  *block,
            GError      **error)
{
  gboolean ok = TRUE;

  /* Counted in, so that fork() waits until block->lock is free again. */
  g_mutex_lock (&fork_lock);
  n_sealing++;
  g_mutex_unlock (&fork_lock);

  g_mutex_lock (&block->lock);
  if (!g_atomic_int_get (&block->sealed))
    {
      ok = seal_block_locked (block, error);
      if (ok)
        g_atomic_int_set (&block->sealed, TRUE);
    }
  g_mutex_unlock (&block->lock);

  g_mutex_lock (&fork_lock);
  if (--n_sealing == 0)
    g_cond_broadcast (&fork_cond);
  g_mutex_unlock (&fork_lock);

  return ok;
}

static void
shared_block_free (gpointer user_data)
{
  SharedBlock *block = user_data;

  if (block->size > 0)
    munmap (block->data, block->size);
  if (block->received && block->fd >= 0)
    g_atomic_int_add (&n_kept_fds, -1);
  close_fd (&block->fd);
  g_mutex_clear (&block->lock);
  g_free (block);
}

/* The GBytes' free function: forgets the block, then frees it. */
static void
shared_bytes_free (gpointer user_data)
{
  SharedBlock *block = user_data;

  /* The GBytes is being freed: its address is only a key here. */
  g_mutex_lock (&registry_lock);
  if (g_hash_table_remove (registry, block->bytes))
    g_atomic_int_dec_and_test (&n_registered);
  g_mutex_unlock (&registry_lock);

  shared_block_free (block);
}

/* Wraps @block (consumed) in a GBytes and registers it. */
static GBytes *
shared_bytes_wrap (SharedBlock *block)
{
  GBytes *bytes;

  bytes = g_bytes_new_with_free_func (block->data, block->size,
                                      shared_bytes_free, block);
  block->bytes = bytes;

  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    registry = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (registry, bytes, block);
  g_atomic_int_inc (&n_registered);
  g_mutex_unlock (&registry_lock);

  return bytes;
}

static SharedBlock *
lookup_block (GBytes *bytes)
{
  SharedBlock *block = NULL;

  /* A caller that holds a shared GBytes got it after it was registered
   * (from the thread that made it, through some synchronisation), so it
   * cannot see 0 here. */
  if (g_atomic_int_get (&n_registered) == 0)
    return NULL;

  g_mutex_lock (&registry_lock);
  if (registry != NULL)
    block = g_hash_table_lookup (registry, bytes);
  g_mutex_unlock (&registry_lock);

  return block;
}

static SharedBlock *shared_block_new (int      fd,
                                      gpointer data,
                                      gsize    size,
                                      gboolean sealed);

/* A block of the sealed memfd @fd (taken: kept by the block, or closed on
 * failure), mapped read-only, not yet registered; @what names it in the
 * error. */
static SharedBlock *
map_sealed_memfd (int          fd,
                  gsize        size,
                  const char  *what,
                  GError     **error)
{
  gpointer addr = empty_block;

  if (size > 0)
    {
      addr = map_read_only (fd, size, NULL);
      if (addr == MAP_FAILED)
        {
          int errsv = errno;

          close_fd (&fd);
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                       "Could not map %s of %" G_GSIZE_FORMAT " bytes: %s",
                       what, size, g_strerror (errsv));
          return NULL;
        }
    }

  return shared_block_new (fd, addr, size, TRUE);
}

/* A GBytes of the sealed memfd @fd, as map_sealed_memfd() makes it. */
static GBytes *
wrap_sealed_memfd (int          fd,
                   gsize        size,
                   const char  *what,
                   GError     **error)
{
  SharedBlock *block = map_sealed_memfd (fd, size, what, error);

  return block != NULL ? shared_bytes_wrap (block) : NULL;
}

static SharedBlock *
shared_block_new (int      fd,
                  gpointer data,
                  gsize    size,
                  gboolean sealed)
{
  SharedBlock *block = g_new0 (SharedBlock, 1);

  g_mutex_init (&block->lock);
  block->fd = fd;
  block->data = data;
  block->size = size;
  block->sealed = sealed;

  return block;
}

/**
 * gipc_shared_bytes_new:
 * @size: the size of the block in bytes (0 is allowed)
 * @data: (out) (optional) (transfer none): where to store the
 *   address of the block's memory, which the caller fills in before the
 *   first send
 * @error: return location for a #GError
 *
 * Makes a [struct@GLib.Bytes] of @size bytes, initially zero, backed by
 * shared memory (an anonymous memfd) and mapped writable, so that it can be
 * filled in place: write the message through *@data, then send the
 * returned bytes on a channel. A channel that can pass file descriptors
 * sends it without copying it, whatever its size: the receiver maps the
 * same memory.
 *
 * Write only until the bytes are first sent. The first send on a channel
 * that can pass file descriptors seals the memory (no process can change
 * it any more) and makes the mapping read-only: a later write through
 * *@data crashes with `SIGSEGV`. The bytes can then be sent any number of
 * times, on any number of channels, still without copying. On a channel
 * that cannot pass file descriptors they are an ordinary message, written
 * into the pipe, and the memory stays writable: do not change it while
 * such a send is in progress. A slice made with
 * [method@GLib.Bytes.new_from_bytes] is an ordinary GBytes and is copied
 * when sent.
 *
 * A child forked while the bytes are writable shares the memory; a first
 * send, in either process, while both map it writable copies it once (the
 * memory is sealed in place only when no other process can write to it).
 * Each such GBytes keeps one file descriptor open until it is freed.
 *
 * When @size is 0, *@data is a valid pointer to which nothing may be
 * written.
 *
 * Bindings cannot write through a pointer (PyGObject returns it as an
 * integer, gjs as `null`): they use [func@Gipc.shared_bytes_new_from_data],
 * which copies given data into new shared memory once. In Python, the
 * override `Gipc.shared_bytes_new(size_or_data)` replaces this function: it
 * takes a size (the bytes are zeros) or a bytes-like object to copy, and
 * returns only the [struct@GLib.Bytes].
 *
 * Returns: (transfer full): the new bytes, or %NULL with @error set
 *   (%GIPC_ERROR_FAILED, for example when the memory or address space is
 *   exhausted)
 *
 * Since: 1.0
 */
GBytes *
gipc_shared_bytes_new (gsize      size,
                       gpointer  *data,
                       GError   **error)
{
  gpointer addr = empty_block;
  int fd;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ensure_atfork ();

  fd = gipc_shared_memory_create_fd (size, error);
  if (fd < 0)
    return NULL;

  if (size > 0)
    {
      addr = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (addr == MAP_FAILED)
        {
          int errsv = errno;

          close_fd (&fd);
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                       "Could not map shared memory of %" G_GSIZE_FORMAT " bytes: %s",
                       size, g_strerror (errsv));
          return NULL;
        }
    }

  if (data != NULL)
    *data = addr;

  return shared_bytes_wrap (shared_block_new (fd, addr, size, FALSE));
}

/**
 * gipc_shared_bytes_new_from_data:
 * @data: (array length=size) (element-type guint8) (nullable): the bytes
 *   to copy, or %NULL if @size is 0
 * @size: the number of bytes at @data
 * @error: return location for a #GError
 *
 * Makes a [struct@GLib.Bytes] backed by shared memory that holds a copy of
 * @data, for callers that cannot fill memory in place, such as bindings.
 * The memory is sealed and mapped read-only at once: it is sent without
 * another copy on channels that can pass file descriptors, any number of
 * times.
 *
 * In C, prefer [func@Gipc.shared_bytes_new] and build the message in the
 * shared memory itself, which saves this copy.
 *
 * Returns: (transfer full): the new bytes, or %NULL with @error set
 *   (%GIPC_ERROR_FAILED)
 *
 * Since: 1.0
 */
GBytes *
gipc_shared_bytes_new_from_data (gconstpointer   data,
                                 gsize           size,
                                 GError        **error)
{
  int fd;

  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ensure_atfork ();

  fd = copy_to_sealed_memfd (data, size, error);
  if (fd < 0)
    return NULL;

  return wrap_sealed_memfd (fd, size, "shared memory", error);
}

gboolean
gipc_shared_memory_is_shared (GBytes *bytes)
{
  g_return_val_if_fail (bytes != NULL, FALSE);

  return lookup_block (bytes) != NULL;
}

int
gipc_shared_memory_export (GBytes  *bytes,
                           GError **error)
{
  SharedBlock *block;
  gconstpointer data;
  gsize size;
  int fd;

  g_return_val_if_fail (bytes != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  ensure_atfork ();

  /* The caller's reference on @bytes keeps the block alive. */
  block = lookup_block (bytes);
  if (block == NULL)
    {
      data = g_bytes_get_data (bytes, &size);
      return copy_to_sealed_memfd (data, size, error);
    }

  if (!g_atomic_int_get (&block->sealed) && !seal_block (block, error))
    return -1;

  /* Received past the budget of kept fds: a sealed copy, each time. */
  if (block->fd < 0)
    return copy_to_sealed_memfd (block->data, block->size, error);

  fd = fcntl (block->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    {
      set_errno_error (error, errno, "Could not duplicate a shared memory fd");
      return -1;
    }

  return fd;
}

gboolean
gipc_shared_memory_seal (GBytes  *bytes,
                         GError **error)
{
  SharedBlock *block;

  g_return_val_if_fail (bytes != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The caller's reference on @bytes keeps the block alive. */
  block = lookup_block (bytes);
  if (block == NULL || g_atomic_int_get (&block->sealed))
    return TRUE;

  ensure_atfork ();
  return seal_block (block, error);
}

/* How many received blocks may keep their memfd: an eighth of the soft
 * RLIMIT_NOFILE, at most GIPC_SHARED_MEMORY_MAX_KEPT_FDS. */
static int
kept_fds_budget (void)
{
  struct rlimit limit;
  rlim_t budget = GIPC_SHARED_MEMORY_MAX_KEPT_FDS;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    budget = MIN (budget, limit.rlim_cur / 8);

  return (int) budget;
}

/* Whether @fd is a memfd of @size bytes that carries every seal; else
 * sets GIPC_ERROR_PROTOCOL. */
static gboolean
check_sealed_memfd (int       fd,
                    gsize     size,
                    GError  **error)
{
  struct stat st;
  int seals;

  seals = fcntl (fd, F_GET_SEALS);
  if (seals < 0)
    {
      int errsv = errno;

      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "A shared memory message is not a sealed memfd: "
                   "F_GET_SEALS failed: %s", g_strerror (errsv));
      return FALSE;
    }

  if ((seals & GIPC_SHARED_MEMORY_SEALS) != GIPC_SHARED_MEMORY_SEALS)
    {
      int missing = GIPC_SHARED_MEMORY_SEALS & ~seals;

      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "A shared memory message is not sealed: it lacks%s%s%s%s",
                   (missing & F_SEAL_WRITE) ? " F_SEAL_WRITE" : "",
                   (missing & F_SEAL_SHRINK) ? " F_SEAL_SHRINK" : "",
                   (missing & F_SEAL_GROW) ? " F_SEAL_GROW" : "",
                   (missing & F_SEAL_SEAL) ? " F_SEAL_SEAL" : "");
      return FALSE;
    }

  if (fstat (fd, &st) < 0)
    {
      int errsv = errno;

      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "Could not inspect a shared memory message: %s",
                   g_strerror (errsv));
      return FALSE;
    }

  if (st.st_size < 0 || (guint64) st.st_size != (guint64) size)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "A shared memory message holds %" G_GINT64_FORMAT " bytes "
                   "instead of the %" G_GSIZE_FORMAT " announced",
                   (gint64) st.st_size, size);
      return FALSE;
    }

  return TRUE;
}

GBytes *
gipc_shared_memory_import (int      fd,
                           gsize    size,
                           GError **error)
{
  SharedBlock *block;

  g_return_val_if_fail (fd >= 0, NULL);
  if (error != NULL && *error != NULL)
    {
      close_fd (&fd);
      g_return_val_if_fail (error == NULL || *error == NULL, NULL);
    }

  if (!check_sealed_memfd (fd, size, error))
    {
      close_fd (&fd);
      return NULL;
    }

  if (size == 0)
    {
      close_fd (&fd);
      return g_bytes_new (NULL, 0);
    }

  /* The block keeps the sealed fd, so that sending the message on (a
   * proxy, an echo) dups it instead of copying the memory; but only as
   * many blocks as kept_fds_budget() allows, or a program that keeps
   * the messages it receives (a cache of images) would run out of fds
   * (the soft limit is 1024 in most sessions) at the peer's pace. Past
   * the budget, the memory stays mapped, the fd is closed, and sending
   * the message on copies it to a new memfd. */
  block = map_sealed_memfd (fd, size, "a shared memory message", error);
  if (block == NULL)
    return NULL;

  /* Decided before the block is registered: its fd never changes once
   * another thread can see it. */
  block->received = TRUE;
  if (g_atomic_int_add (&n_kept_fds, 1) >= kept_fds_budget ())
    {
      g_atomic_int_add (&n_kept_fds, -1);
      close_fd (&block->fd);
    }

  return shared_bytes_wrap (block);
}
