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

void
gipc_child_setup_orphan_sources (GMainContext *context)
{
  g_autoptr(GPtrArray) sources = NULL;
  GSource *probe;
  guint next_id;
  guint id;
  guint i;

  g_return_if_fail (context != NULL);

  /* Source ids are given out per context in increasing order: a probe
   * learns the next one, and every live source has a smaller id (unless
   * the counter wrapped around 2^32, which no real program does). */
  probe = g_idle_source_new ();
  g_source_set_static_name (probe, "[gipc-child-setup-probe]");
  next_id = g_source_attach (probe, context);
  g_source_destroy (probe);
  g_source_unref (probe);

  sources = g_ptr_array_new ();
  for (id = 1; id < next_id; id++)
    {
      GSource *source = g_main_context_find_source_by_id (context, id);

      if (source != NULL)
        g_ptr_array_add (sources, source);
    }

  /* Pin everything first: destroying a parent source also destroys its
   * child sources, which must already be pinned by then. */
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

  /* The sources and their callback data stay, kept in orphans. */
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

void
gipc_child_setup_discard_main_contexts (void)
{
  GMainContext *context;
  GPollFD fds[16];
  gint max_priority = G_MAXINT;
  gint timeout = -1;
  gint n_fds;
  guint i;

  /* The thread-default stack of the forking thread: a parent may start a
   * process from a callback of a context pushed as thread-default. Each is
   * orphaned, then popped; the extra reference keeps popping from
   * finalizing it. (A default context pushed on top of others hides those
   * below it: they stay on the stack, orphaned of nothing, and are simply
   * never used by the child.) */
  while ((context = g_main_context_get_thread_default ()) != NULL)
    {
      gipc_child_setup_orphan_sources (context);
      keep_orphan (g_main_context_ref (context));
      g_main_context_pop_thread_default (context);
    }

  context = g_main_context_default ();
  gipc_child_setup_orphan_sources (context);

  /* A fork from inside a dispatch leaves the sources that were still to be
   * dispatched in the context's pending list: one prepare clears it. The
   * forking thread owns the context in that case, so acquiring works; if
   * another thread of the parent owned it, the context cannot be used in
   * the child at all, and there is nothing to clean. */
  if (!g_main_context_acquire (context))
    {
      g_debug ("child setup: the default main context was owned by another "
               "thread of the parent and cannot be used in the child");
      return;
    }

  g_main_context_prepare (context, &max_priority);
  n_fds = g_main_context_query (context, max_priority, &timeout,
                                fds, G_N_ELEMENTS (fds));
  n_fds = MIN (n_fds, (gint) G_N_ELEMENTS (fds));
  replace_wakeup_fd (fds, n_fds);

  /* Close the cycle without polling: nothing is ready, nothing runs. */
  for (i = 0; i < (guint) n_fds; i++)
    fds[i].revents = 0;
  g_main_context_check (context, max_priority, fds, n_fds);
  g_main_context_release (context);
}

static void
flush_channels_at_exit (void)
{
  gipc_channel_flush_all ();
}

void
gipc_child_setup_after_fork (GipcChannel * const *keep,
                             guint                n_keep)
{
  static gboolean exit_hook_installed = FALSE;

  gipc_child_setup_reset_signals (TRUE);

  /* First the contexts, so every inherited source is pinned before the
   * channel code lets go of its own. */
  gipc_child_setup_discard_main_contexts ();
  gipc_channel_child_after_fork (keep, n_keep);

  if (!gipc_child_setup_stdin_to_devnull ())
    g_debug ("child setup: cannot open /dev/null: %s", g_strerror (errno));

  /* A target that calls exit() still gets its queued messages written.
   * The flag is inherited by grandchildren, as is the hook itself. */
  if (!exit_hook_installed)
    {
      exit_hook_installed = TRUE;
      atexit (flush_channels_at_exit);
    }
}

G_GNUC_NORETURN static void
write_errno_and_exit (int status_fd,
                      int errsv)
{
  const char *p = (const char *) &errsv;
  size_t left = sizeof errsv;

  while (left > 0)
    {
      ssize_t n = write (status_fd, p, left);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      p += n;
      left -= (size_t) n;
    }

  _exit (127);
}

void
gipc_child_setup_exec (const GipcChildExecData *data)
{
  guint i;

  /* Handlers were set by the parent for the parent; exec would reset the
   * caught ones anyway, but not the ignored ones (SIGPIPE included: a
   * program started by exec expects the default). */
  gipc_child_setup_reset_signals (FALSE);

  if (data->die_with_parent && !gipc_child_setup_die_with_parent (data->parent_pid))
    write_errno_and_exit (data->status_fd, errno);

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
        write_errno_and_exit (data->status_fd, errno);

      flags = fcntl (fd, F_GETFL);
      if (flags < 0 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        write_errno_and_exit (data->status_fd, errno);
    }

  execve (data->path, data->argv, data->envp);
  write_errno_and_exit (data->status_fd, errno);
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
