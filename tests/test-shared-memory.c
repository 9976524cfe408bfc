/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Tests of the shared memory room (gipc-glib/gipc-shared-memory.c): GBytes
 * backed by a memfd, sealed export and checked import. Every test also
 * checks that it leaves the fd table as it found it.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>
#include "gipc-glib/gipc-shared-memory-private.h"

#include "test-util.h"

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

/* Fills @size bytes at @data with a pattern that depends on @seed and on
 * the position (8 bytes at a time, so that 256 MiB is quick). */
static void
fill_pattern (gpointer data,
              gsize    size,
              guint64  seed)
{
  guint8 *p = data;
  gsize i;

  for (i = 0; i + 8 <= size; i += 8)
    {
      guint64 word = (i / 8 + 1) * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) ^ seed;

      memcpy (p + i, &word, 8);
    }
  for (; i < size; i++)
    p[i] = (guint8) (i ^ seed);
}

static gboolean
check_pattern (gconstpointer data,
               gsize         size,
               guint64       seed)
{
  const guint8 *p = data;
  gsize i;

  for (i = 0; i + 8 <= size; i += 8)
    {
      guint64 word = (i / 8 + 1) * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) ^ seed;

      if (memcmp (p + i, &word, 8) != 0)
        return FALSE;
    }
  for (; i < size; i++)
    if (p[i] != (guint8) (i ^ seed))
      return FALSE;

  return TRUE;
}

static void
assert_pattern (GBytes  *bytes,
                gsize    size,
                guint64  seed)
{
  gsize len = 0;
  gconstpointer data;

  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &len);
  g_assert_cmpuint (len, ==, size);
  g_assert_true (check_pattern (data, size, seed));
}

/* Looks @addr up in /proc/self/maps: TRUE if it is mapped, with the
 * permissions ("r--s") in @perms and the inode in *@inode. */
static gboolean
find_mapping (gconstpointer  addr,
              char           perms[5],
              guint64       *inode)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  guint i;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      unsigned long start, end, ino;
      char p[5] = "";

      if (sscanf (lines[i], "%lx-%lx %4s %*s %*s %lu", &start, &end, p, &ino) != 4)
        continue;
      if ((unsigned long) addr >= start && (unsigned long) addr < end)
        {
          if (perms != NULL)
            memcpy (perms, p, 5);
          if (inode != NULL)
            *inode = ino;
          return TRUE;
        }
    }

  return FALSE;
}

/* The number of mappings of the file with inode @inode. */
static guint
count_mappings_of (guint64 inode)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  guint i, n = 0;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      unsigned long start, end, ino;

      if (sscanf (lines[i], "%lx-%lx %*s %*s %*s %lu", &start, &end, &ino) == 3 &&
          ino == inode && inode != 0)
        n++;
    }

  return n;
}

static guint64
fd_inode (int fd)
{
  struct stat st;

  g_assert_no_errno (fstat (fd, &st));
  return (guint64) st.st_ino;
}

static gint64
fd_size (int fd)
{
  struct stat st;

  g_assert_no_errno (fstat (fd, &st));
  return (gint64) st.st_size;
}

static void
assert_fully_sealed (int fd)
{
  int seals = fcntl (fd, F_GET_SEALS);

  g_assert_cmpint (seals, !=, -1);
  g_assert_cmphex (seals & GIPC_SHARED_MEMORY_SEALS, ==, GIPC_SHARED_MEMORY_SEALS);
}

/* A memfd of @size bytes filled with the pattern of @seed, carrying
 * @seals. */
static int
make_memfd (gsize   size,
            guint64 seed,
            int     seals)
{
  g_autofree guint8 *data = g_malloc (MAX (size, 1));
  int fd = memfd_create ("test-shared-memory", MFD_CLOEXEC | MFD_ALLOW_SEALING);

  g_assert_cmpint (fd, >=, 0);
  fill_pattern (data, size, seed);
  if (size > 0)
    g_assert_cmpint (pwrite (fd, data, size, 0), ==, (gssize) size);
  if (seals != 0)
    g_assert_no_errno (fcntl (fd, F_ADD_SEALS, seals));

  return fd;
}

static GBytes *
new_filled (gsize     size,
            guint64   seed,
            gpointer *out_data)
{
  g_autoptr(GError) error = NULL;
  gpointer data = NULL;
  GBytes *bytes;

  bytes = gipc_shared_bytes_new (size, &data, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  g_assert_nonnull (data);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, size);
  g_assert_true (g_bytes_get_data (bytes, NULL) == data);
  fill_pattern (data, size, seed);
  if (out_data != NULL)
    *out_data = data;

  return bytes;
}

static int
export_ok (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  int fd = gipc_shared_memory_export (bytes, &error);

  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (gipc_test_fd_is_cloexec (fd));
  assert_fully_sealed (fd);
  g_assert_cmpint (fd_size (fd), ==, (gint64) g_bytes_get_size (bytes));

  return fd;
}

static GBytes *
import_ok (int   fd,
           gsize size)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes = gipc_shared_memory_import (fd, size, &error);

  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  /* The bytes keep the sealed fd (to send it on without a copy) until
   * they are freed; an empty message keeps nothing. */
  g_assert_cmpint (gipc_test_fd_is_open (fd), ==, size > 0);

  return bytes;
}

/* Import of @fd must fail with GIPC_ERROR_PROTOCOL and close @fd. */
static void
assert_import_refused (int         fd,
                       gsize       size,
                       const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  g_assert_true (gipc_test_fd_is_open (fd));
  bytes = gipc_shared_memory_import (fd, size, &error);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
  g_assert_null (bytes);
  g_assert_false (gipc_test_fd_is_open (fd));
  if (message_part != NULL && strstr (error->message, message_part) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, message_part);
}

/* Whether writing at @addr faults, seen without crashing: read(2) into a
 * read-only page fails with EFAULT. When it does not fault, the byte that
 * read(2) wrote there is set back. */
static gboolean
write_faults (gpointer addr)
{
  guint8 saved = *(volatile guint8 *) addr;
  int p[2];
  ssize_t n;
  int errsv;

  g_assert_no_errno (pipe2 (p, O_CLOEXEC));
  gipc_test_write_all (p[1], &saved, 1);
  n = read (p[0], addr, 1);
  errsv = errno;
  close (p[0]);
  close (p[1]);

  return n < 0 && errsv == EFAULT;
}

/* Waits for @pid and returns its wait status. */
static int
wait_child (pid_t pid)
{
  int status = 0;

  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);

  return status;
}

static void
assert_child_succeeded (int status)
{
  if (WIFSIGNALED (status))
    g_error ("the child was killed by signal %d", WTERMSIG (status));
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* ---------------------------------------------------------------------- */
/* Tests                                                                  */

static void
test_round_trip (void)
{
  gsize size = 64 * KiB + 123;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) imported = NULL;
  gpointer data;
  int fd;

  bytes = new_filled (size, 1, &data);
  g_assert_true (gipc_shared_memory_is_shared (bytes));

  fd = export_ok (bytes);
  imported = import_ok (fd, size);

  assert_pattern (imported, size, 1);
  assert_pattern (bytes, size, 1);
  g_assert_true (g_bytes_equal (bytes, imported));
  g_assert_true (g_bytes_get_data (imported, NULL) != data);

  /* An imported message is shared too: sent on, it is not copied (its
   * export is a dup of the same sealed memfd). */
  g_assert_true (gipc_shared_memory_is_shared (imported));
  {
    int again = export_ok (imported);
    struct stat a, b;

    g_assert_no_errno (fstat (again, &a));
    fd = export_ok (bytes);
    g_assert_no_errno (fstat (fd, &b));
    g_assert_cmpuint (a.st_ino, ==, b.st_ino);
    close (again);
    close (fd);
  }
}

static void
test_export_seals (void)
{
  g_autoptr(GBytes) bytes = new_filled (3 * 4096, 2, NULL);
  gpointer map;
  int fd;

  fd = export_ok (bytes);

  /* The receiver can change nothing either. */
  g_assert_cmpint (write (fd, "x", 1), ==, -1);
  g_assert_cmpint (errno, ==, EPERM);
  g_assert_cmpint (pwrite (fd, "x", 1, 0), ==, -1);
  g_assert_cmpint (errno, ==, EPERM);
  g_assert_cmpint (ftruncate (fd, 1), ==, -1);
  g_assert_cmpint (errno, ==, EPERM);
  g_assert_cmpint (ftruncate (fd, 4 * 4096), ==, -1);
  g_assert_cmpint (errno, ==, EPERM);
  g_assert_cmpint (fcntl (fd, F_ADD_SEALS, 0), ==, -1);
  map = mmap (NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  g_assert_true (map == MAP_FAILED);
  g_assert_cmpint (errno, ==, EPERM);

  close (fd);
}

static void
test_read_only_after_export (void)
{
  gsize size = 5 * 4096 + 7;
  g_autoptr(GBytes) bytes = NULL;
  gpointer data;
  char perms[5];
  guint64 inode = 0;
  pid_t pid;
  int fd, status;

  bytes = new_filled (size, 3, &data);

  /* Writable before the first export. */
  g_assert_true (find_mapping (data, perms, NULL));
  g_assert_cmpint (perms[1], ==, 'w');
  g_assert_false (write_faults (data));

  fd = export_ok (bytes);

  /* Read-only afterwards, for good, and sealed in place: the caller's
   * mapping is of the exported memfd (no copy was made). */
  g_assert_true (find_mapping (data, perms, &inode));
  g_assert_cmpint (perms[0], ==, 'r');
  g_assert_cmpint (perms[1], ==, '-');
  g_assert_cmpuint (inode, ==, fd_inode (fd));
  g_assert_true (write_faults (data));
  g_assert_true (write_faults ((guint8 *) data + size - 1));
  g_assert_cmpint (mprotect (data, size, PROT_READ | PROT_WRITE), ==, -1);
  assert_pattern (bytes, size, 3);

  /* A real store dies of SIGSEGV. */
  pid = fork ();
  g_assert_cmpint (pid, !=, -1);
  if (pid == 0)
    {
      /* AddressSanitizer reports the fault before dying: keep it quiet. */
      struct rlimit no_core = { 0, 0 };
      int null_fd = open ("/dev/null", O_WRONLY);

      dup2 (null_fd, STDERR_FILENO);
      setrlimit (RLIMIT_CORE, &no_core);
      ((volatile guint8 *) data)[0] = 0x42;
      _exit (0);
    }
  status = wait_child (pid);
  if (GIPC_TEST_ASAN)
    g_assert_false (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  else
    {
      g_assert_true (WIFSIGNALED (status));
      g_assert_cmpint (WTERMSIG (status), ==, SIGSEGV);
    }

  assert_pattern (bytes, size, 3);
  close (fd);
}

static void
test_export_twice (void)
{
  gsize size = 100 * KiB;
  g_autoptr(GBytes) bytes = new_filled (size, 4, NULL);
  g_autoptr(GBytes) other_ref = NULL;
  g_autoptr(GBytes) a = NULL;
  g_autoptr(GBytes) b = NULL;
  g_autoptr(GBytes) c = NULL;
  int fd1, fd2, fd3;

  fd1 = export_ok (bytes);
  fd2 = export_ok (bytes);
  g_assert_cmpint (fd1, !=, fd2);
  g_assert_cmpuint (fd_inode (fd1), ==, fd_inode (fd2));

  /* Another reference (a whole-range "slice" is one) is the same block. */
  other_ref = g_bytes_new_from_bytes (bytes, 0, size);
  g_assert_true (gipc_shared_memory_is_shared (other_ref));
  fd3 = export_ok (other_ref);
  g_assert_cmpuint (fd_inode (fd3), ==, fd_inode (fd1));

  a = import_ok (fd1, size);
  b = import_ok (fd2, size);
  c = import_ok (fd3, size);
  assert_pattern (a, size, 4);
  assert_pattern (b, size, 4);
  assert_pattern (c, size, 4);
}

typedef struct
{
  GBytes *bytes;
  gint    go;
  int     fd;
} ConcurrentExport;

static gpointer
concurrent_export_thread (gpointer user_data)
{
  ConcurrentExport *job = user_data;
  g_autoptr(GError) error = NULL;

  while (!g_atomic_int_get (&job->go))
    ;
  job->fd = gipc_shared_memory_export (job->bytes, &error);
  g_assert_no_error (error);

  return NULL;
}

static void
test_export_concurrent (void)
{
  guint round;

  for (round = 0; round < 20; round++)
    {
      g_autoptr(GBytes) bytes = new_filled (64 * KiB, round, NULL);
      ConcurrentExport jobs[2] = { { bytes, 0, -1 }, { bytes, 0, -1 } };
      GThread *threads[2];
      guint i;

      for (i = 0; i < 2; i++)
        threads[i] = g_thread_new ("export", concurrent_export_thread, &jobs[i]);
      for (i = 0; i < 2; i++)
        g_atomic_int_set (&jobs[i].go, 1);
      for (i = 0; i < 2; i++)
        g_thread_join (threads[i]);

      g_assert_cmpint (jobs[0].fd, >=, 0);
      g_assert_cmpint (jobs[1].fd, >=, 0);
      assert_fully_sealed (jobs[0].fd);
      g_assert_cmpuint (fd_inode (jobs[0].fd), ==, fd_inode (jobs[1].fd));
      for (i = 0; i < 2; i++)
        {
          g_autoptr(GBytes) imported = import_ok (jobs[i].fd, 64 * KiB);

          assert_pattern (imported, 64 * KiB, round);
        }
    }
}

/* Whether a GBytes is shared memory, as blocks come and go (a lookup
 * skips the registry while it is empty): each shared GBytes is known from
 * its first moment to its last, whatever lived before it, and a plain one
 * never is, also at the address of a freed shared one. */
static void
test_is_shared_as_blocks_come_and_go (void)
{
  for (guint round = 0; round < 3; round++)
    {
      GBytes *first = new_filled (4 * KiB, round, NULL);
      GBytes *second = new_filled (0, round, NULL);
      GBytes *plain;

      g_assert_true (gipc_shared_memory_is_shared (first));
      g_assert_true (gipc_shared_memory_is_shared (second));
      g_bytes_unref (first);
      g_assert_true (gipc_shared_memory_is_shared (second));
      /* Often at first's address. */
      plain = gipc_test_pattern_bytes (64, round);
      g_assert_false (gipc_shared_memory_is_shared (plain));
      g_bytes_unref (second);
      g_assert_false (gipc_shared_memory_is_shared (plain));
      g_bytes_unref (plain);
    }
}

static void
test_export_copies_ordinary (void)
{
  gsize size = 20 * KiB + 1;
  g_autoptr(GBytes) plain = gipc_test_pattern_bytes (size, 5);
  g_autoptr(GBytes) shared = NULL;
  g_autoptr(GBytes) slice = NULL;
  g_autoptr(GBytes) imported = NULL;
  gpointer data;
  char perms[5];
  int fd1, fd2;

  /* An ordinary GBytes: a new sealed copy each time. */
  g_assert_false (gipc_shared_memory_is_shared (plain));
  fd1 = export_ok (plain);
  fd2 = export_ok (plain);
  g_assert_cmpuint (fd_inode (fd1), !=, fd_inode (fd2));
  close (fd2);
  imported = import_ok (fd1, size);
  g_assert_true (g_bytes_equal (imported, plain));
  g_clear_pointer (&imported, g_bytes_unref);

  /* A slice of a shared GBytes is copied, and the block stays writable. */
  shared = new_filled (size, 6, &data);
  slice = g_bytes_new_from_bytes (shared, 100, 5000);
  g_assert_false (gipc_shared_memory_is_shared (slice));
  fd1 = export_ok (slice);
  g_assert_cmpint (fd_size (fd1), ==, 5000);
  imported = import_ok (fd1, 5000);
  g_assert_cmpmem (g_bytes_get_data (imported, NULL), 5000,
                   (guint8 *) data + 100, 5000);

  g_assert_true (find_mapping (data, perms, NULL));
  g_assert_cmpint (perms[1], ==, 'w');
  g_assert_false (write_faults (data));
}

static void
test_import_unsealed (void)
{
  int fd = make_memfd (4096, 7, 0);

  assert_import_refused (fd, 4096, "F_SEAL_WRITE");

  /* A memfd made without MFD_ALLOW_SEALING carries only F_SEAL_SEAL. */
  fd = memfd_create ("test-no-sealing", MFD_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_no_errno (ftruncate (fd, 4096));
  assert_import_refused (fd, 4096, "F_SEAL_WRITE");
}

static void
test_import_missing_seal (void)
{
  static const struct
  {
    int         seal;
    const char *name;
  } seals[] = {
    { F_SEAL_WRITE, "F_SEAL_WRITE" },
    { F_SEAL_SHRINK, "F_SEAL_SHRINK" },
    { F_SEAL_GROW, "F_SEAL_GROW" },
    { F_SEAL_SEAL, "F_SEAL_SEAL" },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (seals); i++)
    {
      int fd = make_memfd (8192, 8, GIPC_SHARED_MEMORY_SEALS & ~seals[i].seal);

      g_test_message ("without %s", seals[i].name);
      assert_import_refused (fd, 8192, seals[i].name);
    }

  /* With every seal (and one more), the same memfd is accepted. */
  {
    g_autoptr(GBytes) bytes = NULL;
    int fd = make_memfd (8192, 8, GIPC_SHARED_MEMORY_SEALS | F_SEAL_FUTURE_WRITE);

    bytes = import_ok (fd, 8192);
    assert_pattern (bytes, 8192, 8);
  }
}

static void
test_import_wrong_size (void)
{
  static const gsize sizes[] = { 4095, 4097, 0, 1, 2 * 4096 };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      int fd = make_memfd (4096, 9, GIPC_SHARED_MEMORY_SEALS);

      g_test_message ("announced %" G_GSIZE_FORMAT " bytes", sizes[i]);
      assert_import_refused (fd, sizes[i], "4096 bytes");
    }

  /* And a block announced bigger than the memfd of a shared GBytes. */
  {
    g_autoptr(GBytes) bytes = new_filled (1000, 9, NULL);
    int fd = export_ok (bytes);

    assert_import_refused (fd, 1001, "1000 bytes");
    fd = export_ok (bytes);
    assert_import_refused (fd, 999, "1000 bytes");
  }
}

static void
test_import_not_memfd (void)
{
  int p[2];
  int fd;

  g_assert_no_errno (pipe2 (p, O_CLOEXEC));
  assert_import_refused (p[0], 0, "not a sealed memfd");
  close (p[1]);

  g_assert_no_errno (pipe2 (p, O_CLOEXEC));
  close (p[0]);
  assert_import_refused (p[1], 16, "not a sealed memfd");

  fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  assert_import_refused (fd, 0, "not a sealed memfd");
}

static void
test_import_unmaps_on_free (void)
{
  gsize size = 3 * 4096 + 5;
  int fd = make_memfd (size, 10, GIPC_SHARED_MEMORY_SEALS);
  guint64 inode = fd_inode (fd);
  GBytes *bytes;
  gconstpointer data;
  char perms[5];
  guint64 mapped_inode = 0;

  g_assert_cmpuint (count_mappings_of (inode), ==, 0);

  bytes = import_ok (fd, size);
  data = g_bytes_get_data (bytes, NULL);
  g_assert_cmpuint (count_mappings_of (inode), ==, 1);
  g_assert_true (find_mapping (data, perms, &mapped_inode));
  g_assert_cmpuint (mapped_inode, ==, inode);
  g_assert_cmpint (perms[0], ==, 'r');
  g_assert_cmpint (perms[1], ==, '-');
  g_assert_true (write_faults ((gpointer) data));
  assert_pattern (bytes, size, 10);

  g_bytes_unref (bytes);
  g_assert_cmpuint (count_mappings_of (inode), ==, 0);
}

static void
test_zero_size (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) from_data = NULL;
  g_autoptr(GBytes) imported = NULL;
  g_autoptr(GBytes) plain = g_bytes_new (NULL, 0);
  gpointer data = NULL;
  int fd;

  bytes = gipc_shared_bytes_new (0, &data, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  g_assert_nonnull (data);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 0);
  g_assert_true (gipc_shared_memory_is_shared (bytes));
  memcpy (data, "", 0);

  fd = export_ok (bytes);
  g_assert_cmpint (fd_size (fd), ==, 0);
  imported = import_ok (fd, 0);
  g_assert_cmpuint (g_bytes_get_size (imported), ==, 0);
  g_clear_pointer (&imported, g_bytes_unref);

  fd = export_ok (bytes);
  assert_import_refused (fd, 1, "0 bytes");

  from_data = gipc_shared_bytes_new_from_data (NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (from_data), ==, 0);
  g_assert_true (gipc_shared_memory_is_shared (from_data));
  fd = export_ok (from_data);
  imported = import_ok (fd, 0);
  g_clear_pointer (&imported, g_bytes_unref);

  fd = export_ok (plain);
  imported = import_ok (fd, 0);
  g_assert_cmpuint (g_bytes_get_size (imported), ==, 0);

  /* Without a data pointer. */
  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = gipc_shared_bytes_new (0, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
}

static void
test_large (void)
{
  gsize size = 256 * MiB;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) imported = NULL;
  gpointer data;
  guint64 inode = 0;
  gint64 start;
  int fd;

  bytes = new_filled (size, 11, &data);

  start = g_get_monotonic_time ();
  fd = export_ok (bytes);
  /* Sealed in place: no copy of 256 MiB. */
  g_assert_true (find_mapping (data, NULL, &inode));
  g_assert_cmpuint (inode, ==, fd_inode (fd));
  imported = import_ok (fd, size);
  g_test_message ("export and import of 256 MiB: %" G_GINT64_FORMAT " µs",
                  g_get_monotonic_time () - start);

  g_assert_cmpuint (g_bytes_get_size (imported), ==, size);
  g_assert_true (check_pattern (g_bytes_get_data (imported, NULL), size, 11));
}

static void
test_new_from_data (void)
{
  gsize size = 70000;
  g_autoptr(GBytes) source = gipc_test_pattern_bytes (size, 12);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) imported = NULL;
  g_autoptr(GError) error = NULL;
  gconstpointer data;
  char perms[5];
  guint64 inode = 0;
  int fd;

  bytes = gipc_shared_bytes_new_from_data (g_bytes_get_data (source, NULL), size, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (bytes, source));
  g_assert_true (gipc_shared_memory_is_shared (bytes));

  /* Sealed and read-only from the start. */
  data = g_bytes_get_data (bytes, NULL);
  g_assert_true (find_mapping (data, perms, &inode));
  g_assert_cmpint (perms[1], ==, '-');
  g_assert_true (write_faults ((gpointer) data));

  fd = export_ok (bytes);
  g_assert_cmpuint (fd_inode (fd), ==, inode);
  imported = import_ok (fd, size);
  g_assert_true (g_bytes_equal (imported, source));
}

static void
test_new_too_large (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gpointer data = GINT_TO_POINTER (1);

  bytes = gipc_shared_bytes_new (G_MAXSIZE, &data, &error);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
  g_assert_null (bytes);
  g_assert_true (data == GINT_TO_POINTER (1));
}

/* The child, which shares the still writable block with its parent,
 * exports it: the block cannot be sealed in place while the parent maps
 * it writable, so the child seals a copy. */
static void
test_fork_child_export (void)
{
  gsize size = 256 * KiB;
  g_autoptr(GBytes) bytes = NULL;
  gpointer data;
  guint64 inode = 0;
  pid_t pid;
  int fd;

  bytes = new_filled (size, 13, &data);

  pid = fork ();
  g_assert_cmpint (pid, !=, -1);
  if (pid == 0)
    {
      GBytes *imported;

      alarm (10);
      fd = gipc_shared_memory_export (bytes, NULL);
      if (fd < 0)
        _exit (2);
      imported = gipc_shared_memory_import (fd, size, NULL);
      if (imported == NULL)
        _exit (3);
      if (!check_pattern (g_bytes_get_data (imported, NULL), size, 13) ||
          !check_pattern (data, size, 13))
        _exit (4);
      g_bytes_unref (imported);
      if (!write_faults (data))
        _exit (5);
      _exit (0);
    }
  assert_child_succeeded (wait_child (pid));

  /* The parent was not affected, and the child is gone: in place now. */
  g_assert_false (write_faults (data));
  fd = export_ok (bytes);
  g_assert_true (find_mapping (data, NULL, &inode));
  g_assert_cmpuint (inode, ==, fd_inode (fd));
  g_assert_true (write_faults (data));
  close (fd);
  assert_pattern (bytes, size, 13);
}

/* The parent exports while a child it forked still maps the block
 * writable: the block moves to a sealed copy, once. */
static void
test_fork_parent_export (void)
{
  gsize size = 128 * KiB + 3;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) imported = NULL;
  gpointer data;
  guint64 inode = 0, original_inode = 0;
  int p[2];
  pid_t pid;
  int fd1, fd2;
  char perms[5];

  bytes = new_filled (size, 14, &data);
  g_assert_no_errno (pipe2 (p, O_CLOEXEC));

  pid = fork ();
  g_assert_cmpint (pid, !=, -1);
  if (pid == 0)
    {
      char c;

      alarm (10);
      close (p[1]);
      /* Hold the writable mapping until the parent is done. */
      if (read (p[0], &c, 1) != 0)
        _exit (2);
      _exit (check_pattern (data, size, 14) ? 0 : 3);
    }
  close (p[0]);

  g_assert_true (find_mapping (data, NULL, &original_inode));
  fd1 = export_ok (bytes);
  g_assert_true (find_mapping (data, perms, &inode));
  g_assert_cmpint (perms[1], ==, '-');
  g_assert_cmpuint (inode, ==, fd_inode (fd1));
  g_assert_cmpuint (inode, !=, original_inode);
  g_assert_true (write_faults (data));
  assert_pattern (bytes, size, 14);

  fd2 = export_ok (bytes);
  g_assert_cmpuint (fd_inode (fd2), ==, inode);
  close (fd2);

  close (p[1]);
  assert_child_succeeded (wait_child (pid));

  imported = import_ok (fd1, size);
  assert_pattern (imported, size, 14);
}

static gpointer
sealing_loop_thread (gpointer user_data)
{
  gint *stop = user_data;

  while (!g_atomic_int_get (stop))
    {
      g_autoptr(GBytes) bytes = new_filled (16 * KiB, 15, NULL);
      int fd = export_ok (bytes);

      close (fd);
    }

  return NULL;
}

/* fork() while another thread keeps sealing blocks: a child must never
 * inherit a lock held by that thread. */
static void
test_fork_while_sealing (void)
{
  g_autoptr(GBytes) bytes = new_filled (16 * KiB, 16, NULL);
  gint stop = 0;
  GThread *thread;
  guint i;

  thread = g_thread_new ("sealer", sealing_loop_thread, &stop);

  for (i = 0; i < 20; i++)
    {
      pid_t pid;

      g_usleep (1000);
      pid = fork ();
      g_assert_cmpint (pid, !=, -1);
      if (pid == 0)
        {
          GBytes *fresh;
          int fd;

          alarm (10);
          fresh = gipc_shared_bytes_new (4096, NULL, NULL);
          if (fresh == NULL)
            _exit (2);
          fd = gipc_shared_memory_export (fresh, NULL);
          if (fd < 0)
            _exit (3);
          close (fd);
          g_bytes_unref (fresh);
          fd = gipc_shared_memory_export (bytes, NULL);
          if (fd < 0)
            _exit (4);
          _exit (0);
        }
      assert_child_succeeded (wait_child (pid));
    }

  g_atomic_int_set (&stop, 1);
  g_thread_join (thread);
}

/* With the address space limited, mapping fails with a GError, never an
 * abort, and no fd is left behind. */
static void
test_rlimit_as (void)
{
  gsize big = 1024 * MiB;
  struct rlimit saved, limited;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) imported = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize vm_size;
  int fd;

  if (GIPC_TEST_ASAN)
    {
      g_test_skip ("AddressSanitizer reserves terabytes of address space, "
                   "so RLIMIT_AS cannot be set low enough to test this");
      return;
    }
  if (strstr (g_getenv ("LD_PRELOAD") ? g_getenv ("LD_PRELOAD") : "", "vgpreload"))
    {
      g_test_skip ("valgrind manages the address space itself");
      return;
    }

  /* A sealed, sparse memfd of 1 GiB: no memory, only address space. */
  fd = memfd_create ("test-rlimit", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  g_assert_cmpint (fd, >=, 0);
  g_assert_no_errno (ftruncate (fd, (off_t) big));
  g_assert_no_errno (fcntl (fd, F_ADD_SEALS, GIPC_SHARED_MEMORY_SEALS));

  g_assert_no_errno (getrlimit (RLIMIT_AS, &saved));
  vm_size = gipc_test_status_kib ("VmSize:") * KiB;
  limited = saved;
  limited.rlim_cur = vm_size + 64 * MiB;
  if (saved.rlim_cur != RLIM_INFINITY && saved.rlim_cur < limited.rlim_cur)
    limited.rlim_cur = saved.rlim_cur;
  g_assert_no_errno (setrlimit (RLIMIT_AS, &limited));

  imported = gipc_shared_memory_import (fd, big, &error);
  g_assert_no_errno (setrlimit (RLIMIT_AS, &saved));
  g_assert_false (gipc_test_fd_is_open (fd));
  g_assert_null (imported);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
  g_test_message ("import: %s", error->message);
  g_clear_error (&error);

  /* A new block that cannot be mapped leaves no fd either (gipc_test_run_fd_checked
   * counts them). */
  g_assert_no_errno (setrlimit (RLIMIT_AS, &limited));
  bytes = gipc_shared_bytes_new (big, NULL, &error);
  g_assert_no_errno (setrlimit (RLIMIT_AS, &saved));
  g_assert_null (bytes);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
  g_test_message ("new: %s", error->message);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  gipc_test_add_fd_checked ("/channel/shared-memory/round-trip", test_round_trip);
  gipc_test_add_fd_checked ("/channel/shared-memory/export/seals", test_export_seals);
  gipc_test_add_fd_checked ("/channel/shared-memory/export/read-only-after", test_read_only_after_export);
  gipc_test_add_fd_checked ("/channel/shared-memory/export/twice", test_export_twice);
  gipc_test_add_fd_checked ("/channel/shared-memory/export/concurrent", test_export_concurrent);
  gipc_test_add_fd_checked ("/channel/shared-memory/export/copies-ordinary", test_export_copies_ordinary);
  gipc_test_add_fd_checked ("/channel/shared-memory/is-shared", test_is_shared_as_blocks_come_and_go);
  gipc_test_add_fd_checked ("/channel/shared-memory/import/unsealed", test_import_unsealed);
  gipc_test_add_fd_checked ("/channel/shared-memory/import/missing-seal", test_import_missing_seal);
  gipc_test_add_fd_checked ("/channel/shared-memory/import/wrong-size", test_import_wrong_size);
  gipc_test_add_fd_checked ("/channel/shared-memory/import/not-memfd", test_import_not_memfd);
  gipc_test_add_fd_checked ("/channel/shared-memory/import/unmaps-on-free", test_import_unmaps_on_free);
  gipc_test_add_fd_checked ("/channel/shared-memory/import/rlimit-as", test_rlimit_as);
  gipc_test_add_fd_checked ("/channel/shared-memory/zero-size", test_zero_size);
  gipc_test_add_fd_checked ("/channel/shared-memory/large", test_large);
  gipc_test_add_fd_checked ("/channel/shared-memory/new/from-data", test_new_from_data);
  gipc_test_add_fd_checked ("/channel/shared-memory/new/too-large", test_new_too_large);
  gipc_test_add_fd_checked ("/channel/shared-memory/fork/child-export", test_fork_child_export);
  gipc_test_add_fd_checked ("/channel/shared-memory/fork/parent-export", test_fork_parent_export);
  gipc_test_add_fd_checked ("/channel/shared-memory/fork/while-sealing", test_fork_while_sealing);

  return g_test_run ();
}
