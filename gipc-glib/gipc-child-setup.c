/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The child side of starting a process.
 *
 * Fork mode runs the target in a copy of the parent, so everything the
 * parent had attached to its main contexts is in the child too: timeouts,
 * idles, fd watches, pending GTask returns, the channels' own sources. None
 * of it may run there. The sources are "orphaned": each one and its
 * callback data get a reference that is never dropped, then the source is
 * destroyed. Destroying drops the context's reference and releases the
 * callback data once, which with the extra references reaches neither the
 * destroy notifier nor the finalizer. The memory is leaked on purpose; the
 * child is short-lived and _exit()s.
 *
 * Spawn mode runs between fork() and exec(): only async-signal-safe calls,
 * everything else was prepared by the parent.
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
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "gipc-channel-private.h"
#include "gipc-child-setup-private.h"

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

/* Everything orphaned stays referenced from here, so that it is plainly
 * kept (and memory checkers see it as reachable, not lost). */
static GPtrArray *orphans;

static void
keep_orphan (gpointer pointer)
{
  if (orphans == NULL)
    orphans = g_ptr_array_new ();
  g_ptr_array_add (orphans, pointer);
}

/* Pins @sources (GSource*, attached, not destroyed) and their callback
 * data for good, then destroys them. Pinning comes first: destroying a
 * parent source also destroys its child sources, which must already be
 * pinned by then. */
static void
orphan_source_array (GPtrArray *sources)
{
  guint i;

  for (i = 0; i < sources->len; i++)
    {
      GSource *source = g_ptr_array_index (sources, i);

      keep_orphan (g_source_ref (source));
      if (source->callback_funcs != NULL)
        {
          source->callback_funcs->ref (source->callback_data);
          keep_orphan (source->callback_data);
        }
    }

  for (i = 0; i < sources->len; i++)
    g_source_destroy (g_ptr_array_index (sources, i));
}

/* Every source of one priority, in O(sources of that priority): a context
 * keeps the sources of each priority in one list, linked through the public
 * GSource prev/next fields, and a newly attached source goes to its tail
 * (source_add_to_context() in gmain.c, GLib 2.36 to 2.84 at least). A probe
 * attached at @priority is therefore the tail, and walking prev from it
 * visits every source of that priority. Called in the single-threaded child
 * only, so nothing changes the list during the walk. */
static guint
orphan_at_priority (GMainContext *context,
                    gint          priority)
{
  g_autoptr(GPtrArray) sources = g_ptr_array_new ();
  GSource *probe;
  GSource *source;

  probe = g_idle_source_new ();
  g_source_set_priority (probe, priority);
  g_source_set_static_name (probe, "[gipc-child-setup-probe]");
  g_source_attach (probe, context);

  for (source = probe->prev; source != NULL; source = source->prev)
    {
      if (!g_source_is_destroyed (source))
        g_ptr_array_add (sources, source);
    }

  g_source_destroy (probe);
  g_source_unref (probe);

  orphan_source_array (sources);
  return sources->len;
}

/* Testing hook: with TRUE, the fallback id scan finds nothing, as after a
 * wrap of the source id counter (which cannot be reached in test time). */
static gboolean simulate_id_wrap;

void
gipc_child_setup_set_simulate_id_wrap (gboolean simulate)
{
  simulate_id_wrap = simulate;
}

/* The fallback: every id below the context's next one. Costs O(ids ever
 * given out) and misses sources whose id is above next_id after the 32-bit
 * counter wrapped; used only when the priority walk left something that
 * the residual check cannot place (a timer at an unusual priority). */
static void
orphan_by_id_scan (GMainContext *context)
{
  g_autoptr(GPtrArray) sources = g_ptr_array_new ();
  GSource *probe;
  guint next_id;
  guint id;

  probe = g_idle_source_new ();
  g_source_set_static_name (probe, "[gipc-child-setup-probe]");
  next_id = g_source_attach (probe, context);
  g_source_destroy (probe);
  g_source_unref (probe);

  if (simulate_id_wrap)
    return;

  for (id = 1; id < next_id; id++)
    {
      GSource *source = g_main_context_find_source_by_id (context, id);

      if (source != NULL && !g_source_is_destroyed (source))
        g_ptr_array_add (sources, source);
    }

  orphan_source_array (sources);
}

static int
count_polled_fds (GMainContext *context,
                  gint          max_priority)
{
  GPollFD fds[1];
  gint timeout = -1;

  return g_main_context_query (context, max_priority, &timeout, fds, 0);
}

/* The lowest priority at which @context polls an fd besides its own wakeup
 * (whose poll record has priority 0), by bisection over g_main_context_query()
 * with a priority bound. Only after a prepare. */
static gint
find_fd_priority (GMainContext *context)
{
  gint64 lo = G_MININT;
  gint64 hi = G_MAXINT;

  while (lo < hi)
    {
      gint mid = (gint) (lo + (hi - lo) / 2);
      int extra = count_polled_fds (context, mid) - (mid >= 0 ? 1 : 0);

      if (extra > 0)
        hi = mid;
      else
        lo = (gint64) mid + 1;
    }

  return (gint) lo;
}

/* The priorities GLib, GIO and GTK use; other priorities are found by the
 * residual check below. */
static const gint common_priorities[] = {
  G_PRIORITY_HIGH,
  G_PRIORITY_DEFAULT,           /* GDK_PRIORITY_EVENTS */
  G_PRIORITY_HIGH_IDLE,
  G_PRIORITY_HIGH_IDLE + 10,    /* GTK_PRIORITY_RESIZE */
  G_PRIORITY_HIGH_IDLE + 20,    /* GDK_PRIORITY_REDRAW */
  G_PRIORITY_DEFAULT_IDLE,
  G_PRIORITY_LOW,
};

/* One prepare/query/check cycle that dispatches nothing. Returns 1 if a
 * source is ready (*priority set), 2 if an fd besides the wakeup is polled
 * (*priority set), 3 if something has a timeout (priority unknown), 0 if
 * only the wakeup fd is left. @fds receives what is polled. */
static int
residual_check (GMainContext *context,
                gint         *priority,
                GPollFD      *fds,
                gint         *n_fds_inout)
{
  gint max_priority = G_MAXINT;
  gint timeout = -1;
  gboolean ready;
  gint n_fds;
  int result = 0;
  gint i;

  ready = g_main_context_prepare (context, &max_priority);
  n_fds = g_main_context_query (context, G_MAXINT, &timeout, fds, *n_fds_inout);

  if (ready)
    {
      *priority = max_priority;
      result = 1;
    }
  else if (n_fds > 1)
    {
      *priority = find_fd_priority (context);
      result = 2;
    }
  else if (timeout >= 0)
    {
      result = 3;
    }

  /* Close the cycle without polling: nothing runs. */
  n_fds = MIN (n_fds, *n_fds_inout);
  for (i = 0; i < n_fds; i++)
    fds[i].revents = 0;
  g_main_context_check (context, G_MAXINT, fds, n_fds);
  *n_fds_inout = n_fds;

  return result;
}

/* See gipc-child-setup-private.h. */
gboolean
gipc_child_setup_orphan_sources (GMainContext *context,
                                 GPollFD      *fds,
                                 gint         *n_fds)
{
  gboolean scanned = FALSE;
  GPollFD local_fds[16];
  gint local_n_fds = G_N_ELEMENTS (local_fds);
  gboolean verified = FALSE;
  guint round;
  guint i;

  g_return_val_if_fail (context != NULL, FALSE);

  if (fds == NULL)
    {
      fds = local_fds;
      n_fds = &local_n_fds;
    }

  for (i = 0; i < G_N_ELEMENTS (common_priorities); i++)
    orphan_at_priority (context, common_priorities[i]);

  /* A context owned by a thread of the parent (gone in the child) can
   * never be iterated here: none of its sources can run. */
  if (!g_main_context_acquire (context))
    {
      *n_fds = 0;
      return TRUE;
    }

  for (round = 0; round < 64; round++)
    {
      gint n = *n_fds;
      gint priority = 0;
      int found = residual_check (context, &priority, fds, &n);

      *n_fds = n;
      if (found == 0)
        {
          verified = TRUE;
          break;
        }

      if ((found == 1 || found == 2) && orphan_at_priority (context, priority) > 0)
        continue;

      /* A timer (or something the walk cannot find) at a priority the
       * check cannot tell: look every id up once. */
      if (scanned)
        break;
      orphan_by_id_scan (context);
      scanned = TRUE;
    }

  g_main_context_release (context);
  return verified;
}

static gboolean
fd_is_eventfd (int fd)
{
  char path[64];
  char target[64];
  ssize_t len;

  g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  len = readlink (path, target, sizeof target - 1);
  if (len < 0)
    return FALSE;
  target[len] = '\0';

  return strcmp (target, "anon_inode:[eventfd]") == 0;
}

/* After fork, the default context's GWakeup is the same open eventfd as the
 * parent's: a wakeup of either would be consumed by the other. With every
 * source gone, the context polls only its wakeup fd; give it a fresh
 * eventfd under the same number. */
static void
replace_wakeup_fd (const GPollFD *fds,
                   guint          n_fds)
{
  int wakeup_fd = -1;
  int fresh;
  guint i;

  for (i = 0; i < n_fds; i++)
    {
      if (fds[i].fd < 0 || !fd_is_eventfd (fds[i].fd))
        continue;
      if (wakeup_fd != -1)
        {
          g_debug ("child setup: more than one eventfd polled by the default "
                   "context; its wakeup is left shared with the parent");
          return;
        }
      wakeup_fd = fds[i].fd;
    }

  if (wakeup_fd == -1)
    return;

  fresh = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fresh < 0)
    {
      g_debug ("child setup: eventfd() failed: %s", g_strerror (errno));
      return;
    }

  if (dup3 (fresh, wakeup_fd, O_CLOEXEC) < 0)
    g_debug ("child setup: dup3() failed: %s", g_strerror (errno));
  close (fresh);
}

gboolean
gipc_child_setup_discard_main_contexts (void)
{
  GMainContext *context;
  GPollFD fds[16];
  gint n_fds = G_N_ELEMENTS (fds);
  gboolean verified = TRUE;

  /* The thread-default stack of the forking thread: a parent may start a
   * process from a callback of a context pushed as thread-default. Each is
   * orphaned, then popped; the extra reference keeps popping from
   * finalizing it. (A default context pushed on top of others hides those
   * below it: they stay on the stack, orphaned of nothing, and are simply
   * never used by the child.) */
  while ((context = g_main_context_get_thread_default ()) != NULL)
    {
      verified &= gipc_child_setup_orphan_sources (context, NULL, NULL);
      keep_orphan (g_main_context_ref (context));
      g_main_context_pop_thread_default (context);
    }

  /* The residual check of the default context also clears the sources a
   * fork from inside a dispatch left in its pending list, and shows what
   * it polls: its wakeup eventfd, shared with the parent after fork, is
   * replaced by a fresh one. */
  context = g_main_context_default ();
  verified &= gipc_child_setup_orphan_sources (context, fds, &n_fds);
  replace_wakeup_fd (fds, n_fds);

  return verified;
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
  verified = gipc_child_setup_discard_main_contexts ();
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
