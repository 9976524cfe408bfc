/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The reaper: pidfds and exit statuses of the library's own children.
 * Holds the pidfd system calls, the one waitid() that turns a child's end
 * into an exit code, and the reaper threads ("gipc-reaper"): one small
 * thread per running child, which waits for its end (polls its pidfd, or
 * another fd that turns readable then; it collects nothing) and calls
 * back in that thread, so that a child is reaped and its
 * pidfd closed also in a program that never iterates a main context. The
 * thread ends with the child: no fd and no thread is left once the
 * children are gone. It knows no GipcProcess (the process
 * object decides who reaps and when, under its lock) and never waits on a
 * pid the library did not make (no waitpid (-1)). It runs no user code.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gipc-reaper-private.h"

/* pidfd system calls, by number: not every C library wraps them */
#ifndef SYS_pidfd_open
# define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
# define SYS_pidfd_send_signal 424
#endif

int
gipc_reaper_pidfd_open (pid_t pid)
{
  /* pidfds are always close-on-exec. */
  return (int) syscall (SYS_pidfd_open, pid, 0);
}

int
gipc_reaper_pidfd_send_signal (int pidfd,
                               int signum)
{
  return (int) syscall (SYS_pidfd_send_signal, pidfd, signum, NULL, 0);
}

GipcReapResult
gipc_reaper_try_reap (pid_t     pid,
                      int       pidfd,
                      gint     *exit_code,
                      gboolean *core_dumped)
{
  siginfo_t info;
  int r;

  do
    {
      memset (&info, 0, sizeof info);
      if (pidfd >= 0)
        r = waitid (P_PIDFD, (id_t) pidfd, &info, WEXITED | WNOHANG);
      else
        r = waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG);
    }
  while (r < 0 && errno == EINTR);

  *core_dumped = FALSE;
  if (r < 0)
    {
      *exit_code = 0;
      return GIPC_REAP_LOST;
    }
  if (info.si_pid == 0)
    return GIPC_REAP_RUNNING;

  *exit_code = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
  *core_dumped = info.si_code == CLD_DUMPED;
  return GIPC_REAP_EXITED;
}

/* Our own child that never ran its target: reap it now. */
void
gipc_reaper_reap_failed_child (pid_t pid,
                               int   pidfd)
{
  int wait_status;

  while (waitpid (pid, &wait_status, 0) < 0 && errno == EINTR)
    ;
  if (pidfd >= 0)
    close (pidfd);
}

/* ------------------------------------------------------------------ */
/* Reaper threads                                                      */

/* Held by a reaper thread while it calls its func (which takes GLib's
 * locks: a main context's, GSource allocation) and by fork mode across its
 * fork() (gipc_reaper_lock_for_fork()): a fork-mode child never inherits
 * one of those locks taken by a reaper thread. Taken explicitly before
 * fork(), not from a pthread_atfork() prepare handler: an allocator that
 * takes its own locks before running the prepare handlers (AddressSanitizer's
 * fork interceptor does) would then wait for a reaper thread that waits
 * for the allocator inside GLib. Forks that are not fork mode's (spawn
 * mode's child runs only async-signal-safe code until exec) need no such
 * care. A plain pthread mutex, reset by assignment in the child. */
static pthread_mutex_t reaper_fork_mutex = PTHREAD_MUTEX_INITIALIZER;

void
gipc_reaper_lock_for_fork (void)
{
  pthread_mutex_lock (&reaper_fork_mutex);
}

void
gipc_reaper_unlock_after_fork (gboolean in_child)
{
  if (in_child)
    {
      pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

      reaper_fork_mutex = fresh;
    }
  else
    pthread_mutex_unlock (&reaper_fork_mutex);
}

typedef struct
{
  pid_t            pid;
  int              fd;      /* the thread's own copy, or -1 */
  GipcReaperFunc   func;
  /* Or, for a child that is not ours (gipc_reaper_watch_fd()): */
  GipcReaperFdFunc fd_func;
  gpointer         data;
} ReaperWatch;

/* A child that is not ours (gipc_reaper_watch_fd()): waitid() cannot wait
 * for it; its fd tells, and what to wait for next comes from @fd_func,
 * never the old copy again (it may stay readable for good: a dead
 * server's socket at end of file). */
static void
reaper_thread_fd (ReaperWatch *watch)
{
  for (;;)
    {
      gboolean done;
      int next_fd = -1;

      if (watch->fd >= 0)
        {
          struct pollfd pfd = { watch->fd, POLLIN, 0 };

          while (poll (&pfd, 1, -1) < 0 && errno == EINTR)
            ;
          /* Closed before the func runs: once the process reported (or a
           * join returned), this thread holds no fd. */
          close (watch->fd);
          watch->fd = -1;
        }

      pthread_mutex_lock (&reaper_fork_mutex);
      done = watch->fd_func (watch->data, &next_fd);
      pthread_mutex_unlock (&reaper_fork_mutex);
      if (done)
        {
          if (next_fd >= 0)
            close (next_fd);
          break;
        }
      watch->fd = next_fd;
      /* No fd (none could be made): asked again a little later. */
      if (next_fd < 0)
        g_usleep (10000);
    }
}

static void *
reaper_thread (void *user_data)
{
  ReaperWatch *watch = user_data;
  siginfo_t info;

  if (watch->fd_func != NULL)
    {
      reaper_thread_fd (watch);
      g_free (watch);
      return NULL;
    }

  /* Waits for the end without collecting it (the func reaps, under the
   * process's lock, unless a join did): the fd (a pidfd, or whatever the
   * caller gave that turns readable at the end) never refers to a reused
   * pid. Without one, waitid on the pid (still ours until reaped; ECHILD
   * once a join reaped it). */
  if (watch->fd >= 0)
    {
      struct pollfd pfd = { watch->fd, POLLIN, 0 };

      while (poll (&pfd, 1, -1) < 0 && errno == EINTR)
        ;
      /* Closed before the func runs: once the process reported (or a join
       * returned), this thread holds no fd. */
      close (watch->fd);
      watch->fd = -1;
    }
  else
    {
      memset (&info, 0, sizeof info);
      while (waitid (P_PID, (id_t) watch->pid, &info, WEXITED | WNOWAIT) < 0 &&
             errno == EINTR)
        ;
    }

  for (;;)
    {
      gboolean done;

      pthread_mutex_lock (&reaper_fork_mutex);
      done = watch->func (watch->data);
      pthread_mutex_unlock (&reaper_fork_mutex);
      if (done)
        break;
      /* Not quite over yet (a report still on its way): soon again. */
      g_usleep (10000);
    }

  g_free (watch);
  return NULL;
}

static void reaper_start (ReaperWatch *watch);

void
gipc_reaper_watch (pid_t          pid,
                   int            fd,
                   GipcReaperFunc func,
                   gpointer       data)
{
  ReaperWatch *watch = g_new0 (ReaperWatch, 1);

  watch->pid = pid;
  watch->fd = fd >= 0 ? fcntl (fd, F_DUPFD_CLOEXEC, 3) : -1;
  watch->func = func;
  watch->data = data;
  reaper_start (watch);
}

void
gipc_reaper_watch_fd (int              fd,
                      GipcReaperFdFunc func,
                      gpointer         data)
{
  ReaperWatch *watch = g_new0 (ReaperWatch, 1);

  watch->fd = fd >= 0 ? fcntl (fd, F_DUPFD_CLOEXEC, 3) : -1;
  watch->fd_func = func;
  watch->data = data;
  reaper_start (watch);
}

static void
reaper_start (ReaperWatch *watch)
{
  pthread_t thread;
  pthread_attr_t attr;
  sigset_t all, old;
  int r;

  /* No signal is ever delivered to it (the program's handlers run in its
   * own threads); a small stack. Named here, not by itself, so that
   * counting the program's threads never sees it unnamed. */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize (&attr, MAX (PTHREAD_STACK_MIN, 128 * 1024));
  r = pthread_create (&thread, &attr, reaper_thread, watch);
  pthread_attr_destroy (&attr);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (r != 0)
    g_error ("gipc-glib: cannot start a reaper thread: %s", g_strerror (r));
  pthread_setname_np (thread, "gipc-reaper");
}
