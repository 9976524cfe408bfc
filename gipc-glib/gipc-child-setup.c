/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The child side of starting a process: what runs between fork and exec
 * (spawn mode: async-signal-safe calls only, everything else prepared by
 * the parent) and what a fork-mode child does before its target (signals,
 * channels not passed, stdin). Discarding the inherited main contexts is
 * gipc-orphan.c's: this file reads no private field of GLib, GObject or
 * libc.
 */

#include "config.h"

#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "gipc-channel-private.h"
#include "gipc-child-setup-private.h"
#include "gipc-orphan-private.h"

void
gipc_child_setup_reset_signals (gboolean keep_sigpipe)
{
  struct sigaction sa;
  sigset_t empty;
  int signum;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset (&sa.sa_mask);

  for (signum = 1; signum < NSIG; signum++)
    {
      if (signum == SIGKILL || signum == SIGSTOP)
        continue;
      if (keep_sigpipe && signum == SIGPIPE)
        continue;
      /* Fails with EINVAL for the signals reserved by the C library. */
      (void) sigaction (signum, &sa, NULL);
    }

  sigemptyset (&empty);
  (void) sigprocmask (SIG_SETMASK, &empty, NULL);
}

gboolean
gipc_child_setup_die_with_parent (pid_t parent_pid)
{
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    return FALSE;

  /* The parent may have died between fork() and prctl(): then nobody will
   * send the signal, and the parent is no longer ours. */
  if (getppid () != parent_pid)
    {
      (void) kill (getpid (), SIGKILL);
      _exit (127);
    }

  return TRUE;
}

/* One pass over /proc/self/maps: up to G_N_ELEMENTS (starts) writable
 * shared mappings' ranges into @starts and @ends; their number, or -1. A
 * line that spans two reads is joined in @line. */
#define MAX_RANGES_A_PASS 64

/* Async-signal-safe: no locale, no allocation. */
static const char *
parse_hex (const char *p,
           guintptr   *value)
{
  guintptr v = 0;

  for (;; p++)
    {
      int d;

      if (*p >= '0' && *p <= '9')
        d = *p - '0';
      else if (*p >= 'a' && *p <= 'f')
        d = *p - 'a' + 10;
      else
        break;
      v = (v << 4) | (guintptr) d;
    }
  *value = v;
  return p;
}

static int
find_shared_writable (guintptr *starts,
                      guintptr *ends)
{
  char buf[4096], line[512];
  gsize line_len = 0;
  int fd, n = 0;

  do
    fd = open ("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return -1;
  for (;;)
    {
      ssize_t r = read (fd, buf, sizeof buf);
      ssize_t i;

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int errsv = errno;

          close (fd);
          errno = errsv;
          return -1;
        }
      if (r == 0)
        break;
      for (i = 0; i < r; i++)
        {
          if (buf[i] != '\n')
            {
              if (line_len < sizeof line - 1)
                line[line_len++] = buf[i];
              continue;
            }
          line[line_len] = '\0';
          line_len = 0;
          {
            /* "start-end perms offset dev inode path" */
            const char *p = line;
            guintptr lo, hi;

            p = parse_hex (p, &lo);
            if (*p != '-')
              continue;
            p = parse_hex (p + 1, &hi);
            if (p[0] != ' ' || p[1] == '\0' || p[2] == '\0' || p[3] == '\0' || p[4] == '\0')
              continue;
            /* perms: r/-, w/-, x/-, s/p */
            if (p[2] == 'w' && p[4] == 's' && n < MAX_RANGES_A_PASS)
              {
                starts[n] = lo;
                ends[n] = hi;
                n++;
              }
          }
        }
    }
  close (fd);
  return n;
}

gboolean
gipc_child_setup_unmap_shared_writable (void)
{
  guintptr starts[MAX_RANGES_A_PASS], ends[MAX_RANGES_A_PASS];
  int pass;

  /* Collected first, then unmapped (the kernel's walk of the mappings
   * is not to change under the read); again while a pass was full. */
  for (pass = 0; pass < 64; pass++)
    {
      int n = find_shared_writable (starts, ends), i;

      if (n < 0)
        return FALSE;
      if (n == 0)
        return TRUE;
      /* EINVAL for a range the kernel listed comes from an interposer that
       * keeps the mapping as its own (valgrind's shared memory with vgdb),
       * not the program's: it is left, and not looked for again. */
      for (i = 0; i < n; i++)
        if (munmap ((void *) starts[i], ends[i] - starts[i]) < 0 && errno != EINVAL)
          return FALSE;
      if (n < MAX_RANGES_A_PASS)
        return TRUE;
    }
  errno = E2BIG;
  return FALSE;
}

gboolean
gipc_child_setup_stdin_to_devnull (void)
{
  int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return FALSE;

  if (fd != STDIN_FILENO)
    {
      /* dup2() leaves fd 0 without close-on-exec, as stdin should be. */
      if (dup2 (fd, STDIN_FILENO) < 0)
        {
          int errsv = errno;

          close (fd);
          errno = errsv;
          return FALSE;
        }
      close (fd);
    }
  else
    {
      (void) fcntl (fd, F_SETFD, 0);
    }

  /* Whatever the parent had buffered from its stdin is not ours. */
  __fpurge (stdin);
  clearerr (stdin);

  return TRUE;
}

static void
flush_channels_at_exit (void)
{
  gipc_channel_flush_all ();
}

/* After the fds of the kept channels left 0 to 2: fds 1 and 2 that are
 * closed now (they were channel fds) point at /dev/null, so that stdio
 * output cannot land in a channel opened later. */
static void
reopen_closed_stdio (void)
{
  int fd;

  for (fd = 1; fd <= 2; fd++)
    {
      int null_fd;

      if (fcntl (fd, F_GETFD) >= 0 || errno != EBADF)
        continue;
      null_fd = open ("/dev/null", O_WRONLY);
      if (null_fd >= 0 && null_fd != fd)
        {
          (void) dup2 (null_fd, fd);
          close (null_fd);
        }
    }
}

GipcChildSetupResult
gipc_child_setup_after_fork (GipcChannel * const *keep,
                             guint                n_keep)
{
  static gboolean exit_hook_installed = FALSE;
  gboolean verified;
  guint i;

  gipc_child_setup_reset_signals (TRUE);

  /* First the contexts, so every inherited source is pinned before the
   * channel code lets go of its own. */
  verified = gipc_orphan_discard_main_contexts ();
  gipc_channel_child_after_fork (keep, n_keep);

  /* A parent started with stdin closed may have a passed channel on fd 0:
   * out of the way before stdin becomes /dev/null. */
  for (i = 0; i < n_keep; i++)
    {
      if (!gipc_channel_child_move_fds_above_stdio (keep[i]))
        return GIPC_CHILD_SETUP_FAILED;
    }
  reopen_closed_stdio ();

  if (!gipc_child_setup_stdin_to_devnull ())
    g_debug ("child setup: cannot open /dev/null: %s", g_strerror (errno));

  /* A target that calls exit() still gets its queued messages written.
   * The flag is inherited by grandchildren, as is the hook itself. */
  if (!exit_hook_installed)
    {
      exit_hook_installed = TRUE;
      atexit (flush_channels_at_exit);
    }

  return verified ? GIPC_CHILD_SETUP_OK : GIPC_CHILD_SETUP_UNVERIFIED;
}

static int
compare_ints (gconstpointer a,
              gconstpointer b)
{
  int x = *(const int *) a;
  int y = *(const int *) b;

  return x < y ? -1 : x > y;
}

static void
close_fd_range (unsigned int first,
                unsigned int last)
{
  if (first > last)
    return;
  if (close_range (first, last, 0) != 0)
    {
      long max_fd = sysconf (_SC_OPEN_MAX);
      unsigned int fd;

      if (max_fd < 0 || max_fd > 65536)
        max_fd = 65536;
      for (fd = first; fd <= last && fd < (unsigned int) max_fd; fd++)
        (void) close ((int) fd);
    }
}

void
gipc_child_setup_close_fds_except (const int *keep,
                                   guint      n_keep)
{
  g_autofree int *sorted = g_new (int, n_keep + 1);
  unsigned int next = 3;
  guint i;

  memcpy (sorted, keep, n_keep * sizeof (int));
  qsort (sorted, n_keep, sizeof (int), compare_ints);

  for (i = 0; i < n_keep; i++)
    {
      if (sorted[i] < 3 || (unsigned int) sorted[i] < next)
        continue;
      close_fd_range (next, (unsigned int) sorted[i] - 1);
      next = (unsigned int) sorted[i] + 1;
    }
  close_fd_range (next, ~0U);
}

G_GNUC_NORETURN static void
fail_and_exit (GipcChildExecData *data,
               GipcChildExecStep  step,
               int                errsv)
{
  data->child_errno = errsv;
  data->failed_step = step;
  if (data->status_fd >= 0)
    {
      int status[4] = { (int) step, errsv, data->sandbox_step, data->sandbox_applied };

      (void) write (data->status_fd, status, sizeof status);
    }
  _exit (127);
}

void
gipc_child_setup_exec (GipcChildExecData *data)
{
  guint i;

  /* Handlers were set by the parent for the parent; exec would reset the
   * caught ones anyway, but not the ignored ones (SIGPIPE included: a
   * program started by exec expects the default). */
  gipc_child_setup_reset_signals (FALSE);

  if (data->die_with_parent && !gipc_child_setup_die_with_parent (data->parent_pid))
    fail_and_exit (data, GIPC_CHILD_EXEC_STEP_DIE_WITH_PARENT, errno);

  /* Nothing but stdio and the passed channels reaches the program. */
  if (close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    {
      int fd;

      for (fd = 3; fd < data->max_fd; fd++)
        (void) fcntl (fd, F_SETFD, FD_CLOEXEC);
    }

  for (i = 0; i < data->n_keep_fds; i++)
    {
      int fd = data->keep_fds[i];
      int flags;

      if (fcntl (fd, F_SETFD, 0) < 0)
        fail_and_exit (data, GIPC_CHILD_EXEC_STEP_KEEP_FDS, errno);

      flags = fcntl (fd, F_GETFL);
      if (flags < 0 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        fail_and_exit (data, GIPC_CHILD_EXEC_STEP_KEEP_FDS, errno);
    }

  /* Last before exec: the seccomp program allows everything above, but
   * there is no reason to run more than exec under it. */
  if (data->sandbox != NULL)
    {
      GipcSandboxFlags applied;
      int errsv;
      GipcSandboxStep step = gipc_sandbox_apply_prepared (data->sandbox, &applied, &errsv);

      data->sandbox_applied = (int) applied;
      if (step != GIPC_SANDBOX_STEP_NONE)
        {
          data->sandbox_step = (int) step;
          fail_and_exit (data, GIPC_CHILD_EXEC_STEP_SANDBOX, errsv);
        }
    }

  execve (data->path, data->argv, data->envp);
  fail_and_exit (data, GIPC_CHILD_EXEC_STEP_EXEC, errno);
}

guint
gipc_child_setup_count_threads (void)
{
  struct stat st;
  GDir *dir;
  guint n = 0;

  /* procfs counts a process's threads in the link count of its task
   * directory (2 + threads): one system call. */
  if (stat ("/proc/self/task", &st) == 0 && st.st_nlink >= 3)
    return (guint) st.st_nlink - 2;

  dir = g_dir_open ("/proc/self/task", 0, NULL);
  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);

  return n;
}

/* Whether /proc says task @tid has ended (a zombie or dead thread that
 * procfs still lists). */
static gboolean
task_has_ended (const char *tid)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/stat", tid);
  g_autofree char *stat = NULL;
  const char *close_paren;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return TRUE;  /* gone since the directory was read */
  /* "tid (comm) S ...": the state follows the last ')'. */
  close_paren = strrchr (stat, ')');
  return close_paren != NULL && close_paren[1] == ' ' &&
         (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

static guint
count_program_threads_once (void)
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  g_autofree char *self_tid = g_strdup_printf ("%ld", (long) syscall (SYS_gettid));
  const char *name;
  guint n = 0;

  if (dir == NULL)
    return 0;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/comm", name);
      g_autofree char *comm = NULL;

      /* The calling thread is the program's, whatever its name (the main
       * thread of a program called "gipc-…" has that name). */
      if (!g_str_equal (name, self_tid))
        {
          if (g_file_get_contents (path, &comm, NULL, NULL))
            {
              g_strchomp (comm);
              /* GLib's own service threads (its worker context, the
               * thread pools' spawner: started by any GTask) and this
               * library's. */
              if (g_str_equal (comm, "gmain") || g_str_equal (comm, "pool-spawner") ||
                  g_str_has_prefix (comm, "gipc-"))
                continue;
            }
          /* Only for the others: one more read. */
          if (task_has_ended (name))
            continue;
        }
      n++;
    }
  g_dir_close (dir);

  return n;
}

/* A few more looks, 2 ms apart, before more than one thread is believed:
 * a service thread that was just started is not named yet, and a thread
 * the program just joined (g_thread_join, pthread_join) is still listed
 * for a moment as it leaves the kernel, unnamed as ended. Only a count
 * above one pays for them (at most 50 ms). */
#define COUNT_SETTLE_TRIES 25

guint
gipc_child_setup_count_program_threads (void)
{
  guint n = count_program_threads_once ();
  guint i;

  for (i = 0; n > 1 && i < COUNT_SETTLE_TRIES; i++)
    {
      g_usleep (2000);
      n = count_program_threads_once ();
    }

  return n;
}

static int
find_mozjs_cb (struct dl_phdr_info *info,
               size_t               size,
               void                *data)
{
  const char *base;

  if (info->dlpi_name == NULL)
    return 0;

  base = strrchr (info->dlpi_name, '/');
  base = base != NULL ? base + 1 : info->dlpi_name;

  return g_str_has_prefix (base, "libmozjs-") ? 1 : 0;
}

const char *
gipc_child_setup_find_fork_unsafe_runtime (void)
{
  /* Measured with gjs 1.74 (SpiderMonkey 102): a forked child hangs in
   * the garbage collector once its heap grows, never runs promise jobs, and
   * exits 0 after a JS exception. */
  if (dl_iterate_phdr (find_mozjs_cb, NULL) != 0)
    return "SpiderMonkey (gjs)";

  return NULL;
}
