/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The reaper: pidfds and exit statuses of the library's own children.
 * Holds the pidfd system calls, the one waitid() that turns a child's end
 * into an exit code, and the reaper thread ("gipc-reaper"): one small
 * thread per process, started by the first child and never ended, which
 * poll()s the pidfds of all running children (or another fd that turns
 * readable at the end: a fork server's report) and calls back in that
 * thread, so that a child is reaped and its pidfd closed also in a
 * program that never iterates a main context. Children without an fd (no
 * pidfd: valgrind 3.19, kernels before 5.3) cost a waitid (WNOWAIT) each
 * on a backoff of 1 to 100 ms until they end; with none of those and no
 * func asking to be called again, the thread sleeps in poll() with no
 * timeout (an idle program uses no CPU). The thread holds a copy of each
 * watched fd until the child's func is done, and its wakeup eventfd.
 * It may not: hold the fork lock while it sleeps, allocate or call a func
 * without it (so the library's fork () never copies a lock the thread
 * took), receive signals (all blocked), wait on a pid the library did not
 * make (no waitpid (-1)), or know GipcProcess (the process object decides
 * who reaps and when, under its lock). It runs no user code of its own
 * (a func may drop the last reference to a process). A fork child
 * inherits none of it (pthread_atfork () child handler).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <semaphore.h>
#include <string.h>
#include <sys/eventfd.h>
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
/* The reaper thread                                                   */

/* One thread for every running child of the process ("gipc-reaper"),
 * started by the first watch and never ended (as GLib's worker thread):
 * a thread that starts or ends while fork mode forks is what an allocator
 * that is not fork-safe (AddressSanitizer's) hangs on in the child. It
 * poll()s the fds of all watches and a wakeup eventfd. Everything below
 * is guarded by reaper_fork_mutex, which the thread holds except while
 * blocked in poll(): it allocates and calls funcs only with it held. */

/* How long a func that asked to be called again (returned FALSE) waits,
 * and the backoff of watches without an fd (no pidfd), in milliseconds. */
#define REAPER_RETRY_MS        10
#define REAPER_BACKOFF_MIN_MS  1
#define REAPER_BACKOFF_MAX_MS  100

typedef struct
{
  pid_t            pid;
  int              fd;         /* the thread's own copy, or -1 */
  GipcReaperFunc   func;
  /* Or, for a child that is not ours (gipc_reaper_watch_fd()): */
  GipcReaperFdFunc fd_func;
  gpointer         data;
  /* Without an fd: when to look next (monotonic, µs) and the backoff. */
  gint64           next_us;
  gint             backoff_ms;
  gboolean         call_next;  /* at next_us: call the func, no waitid */
  gboolean         ready;      /* this round: call the func */
} ReaperWatch;

/* Held by the reaper thread except while it waits in poll() (it calls
 * funcs, which take GLib's locks and allocate, with it held) and by fork
 * mode and the fork server across their fork() (gipc_reaper_lock_for_fork()):
 * a fork child never inherits a lock the reaper thread took. Taken
 * explicitly before fork(), not from a pthread_atfork() prepare handler:
 * an allocator that takes its own locks before running the prepare
 * handlers (AddressSanitizer's fork interceptor does) would then wait for
 * the reaper thread that waits for the allocator inside GLib. Forks that
 * are not the library's (spawn mode's child runs only async-signal-safe
 * code until exec) need no such care. */
static pthread_mutex_t reaper_fork_mutex = PTHREAD_MUTEX_INITIALIZER;
/* TRUE while gipc_reaper_lock_for_fork() holds it: the state below is
 * whole in a child forked then. */
static gboolean reaper_held_for_fork;

static ReaperWatch   *reaper_watches;
static guint          reaper_n_watches;
static guint          reaper_watches_size;
static gboolean       reaper_running;     /* the thread runs (in this process) */
static pthread_t      reaper_thread_id;
static int            reaper_wake_fd = -1; /* eventfd, close-on-exec */
static gboolean       reaper_poke;        /* call the fd-less funcs now */
static sem_t          reaper_started;
/* The thread's poll set (wakeup fd first) and the watch of each entry:
 * here, not on its stack, so that a fork child frees them. */
static struct pollfd *reaper_pfds;
static guint         *reaper_pfd_watch;
static guint          reaper_pfds_size;

/* In a fork child: the watch arrays of its parent (and theirs). */
typedef struct ReaperInherited ReaperInherited;
struct ReaperInherited
{
  ReaperInherited *next;
  ReaperWatch     *watches;
};
static ReaperInherited *reaper_inherited;

static void
reaper_wake_locked (void)
{
  guint64 one = 1;

  if (reaper_wake_fd >= 0)
    (void) write (reaper_wake_fd, &one, sizeof one);
}

/* Called with the mutex held; @i is stable until the thread removes it.
 * Returns TRUE if the watch is done and was removed (the last watch took
 * its place). */
static gboolean
reaper_call (guint i)
{
  ReaperWatch *watch = &reaper_watches[i];
  gboolean done;

  if (watch->fd >= 0)
    {
      /* Closed before the func runs: once the process reported (or a
       * join returned), the thread holds no fd of it. */
      close (watch->fd);
      watch->fd = -1;
    }

  if (watch->fd_func != NULL)
    {
      int next_fd = -1;

      done = watch->fd_func (watch->data, &next_fd);
      /* The func may have added watches: the array may have moved. */
      watch = &reaper_watches[i];
      if (done && next_fd >= 0)
        close (next_fd);
      else if (!done)
        watch->fd = next_fd;
    }
  else
    {
      done = watch->func (watch->data);
      watch = &reaper_watches[i];
    }

  if (done)
    {
      /* Removed: the last one takes its place (the caller goes on with
       * @i). */
      reaper_watches[i] = reaper_watches[--reaper_n_watches];
      return TRUE;
    }

  /* Not quite over yet (a report still on its way), or no fd could be
   * made: a little later. */
  watch->call_next = watch->fd < 0;
  if (watch->fd < 0)
    watch->next_us = g_get_monotonic_time () + REAPER_RETRY_MS * 1000;
  return FALSE;
}

/* Without an fd: has the child ended (or was it reaped by someone else,
 * a join)? waitid (WNOWAIT) leaves its status for the func. */
static gboolean
reaper_pid_ended (pid_t pid)
{
  siginfo_t info;
  int r;

  do
    {
      memset (&info, 0, sizeof info);
      r = waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG | WNOWAIT);
    }
  while (r < 0 && errno == EINTR);

  return r < 0 || info.si_pid != 0;
}

static void *
reaper_thread (void *user_data)
{
  (void) user_data;

  /* Named before gipc_reaper_watch() returns (it waits for this): no
   * count of the program's threads sees it unnamed. */
  pthread_setname_np (pthread_self (), "gipc-reaper");
  sem_post (&reaper_started);

  pthread_mutex_lock (&reaper_fork_mutex);
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 next_us = G_MAXINT64;
      guint n_pfds = 1;
      gboolean poke;
      int timeout_ms = -1;
      guint i;

      /* The set to wait for: the wakeup fd, every watch's fd; the
       * earliest time a watch without an fd is due. */
      struct pollfd *pfds;
      guint *pfd_watch;

      if (reaper_pfds_size < reaper_n_watches + 1)
        {
          reaper_pfds_size = MAX (16, (reaper_n_watches + 1) * 2);
          reaper_pfds = g_renew (struct pollfd, reaper_pfds, reaper_pfds_size);
          reaper_pfd_watch = g_renew (guint, reaper_pfd_watch, reaper_pfds_size);
        }
      /* Only this thread changes them. */
      pfds = reaper_pfds;
      pfd_watch = reaper_pfd_watch;
      pfds[0].fd = reaper_wake_fd;
      pfds[0].events = POLLIN;
      pfds[0].revents = 0;
      for (i = 0; i < reaper_n_watches; i++)
        {
          ReaperWatch *watch = &reaper_watches[i];

          watch->ready = FALSE;
          if (watch->fd >= 0)
            {
              pfds[n_pfds].fd = watch->fd;
              pfds[n_pfds].events = POLLIN;
              pfds[n_pfds].revents = 0;
              pfd_watch[n_pfds] = i;
              n_pfds++;
            }
          else
            next_us = MIN (next_us, watch->next_us);
        }
      if (next_us != G_MAXINT64)
        timeout_ms = next_us <= now ? 0 : (int) MIN ((next_us - now + 999) / 1000, G_MAXINT);

      pthread_mutex_unlock (&reaper_fork_mutex);
      /* Never holds the mutex here: fork mode's fork waits at most for
       * one round of funcs. */
      while (poll (pfds, n_pfds, timeout_ms) < 0 && errno == EINTR)
        ;
      pthread_mutex_lock (&reaper_fork_mutex);

      if (pfds[0].revents != 0)
        {
          guint64 count;

          (void) read (reaper_wake_fd, &count, sizeof count);
        }
      poke = reaper_poke;
      reaper_poke = FALSE;

      /* Watches are only removed here, below: the indices of the poll
       * set are still right (new ones were appended). */
      for (i = 1; i < n_pfds; i++)
        if (pfds[i].revents != 0)
          reaper_watches[pfd_watch[i]].ready = TRUE;

      now = g_get_monotonic_time ();
      for (i = 0; i < reaper_n_watches; i++)
        {
          ReaperWatch *watch = &reaper_watches[i];

          if (watch->fd < 0 && !watch->ready && watch->next_us != 0 &&
              (watch->next_us <= now || (poke && !watch->call_next && watch->fd_func == NULL)))
            {
              if (watch->call_next || watch->fd_func != NULL || poke ||
                  reaper_pid_ended (watch->pid))
                watch->ready = TRUE;
              else
                {
                  watch->backoff_ms = MIN (watch->backoff_ms * 2, REAPER_BACKOFF_MAX_MS);
                  watch->next_us = now + watch->backoff_ms * 1000;
                }
            }
        }

      /* The calls may remove watches (the last takes the place) and add
       * some (appended, not ready). */
      for (i = 0; i < reaper_n_watches;)
        {
          if (reaper_watches[i].ready)
            {
              reaper_watches[i].ready = FALSE;
              if (reaper_call (i))
                continue;
            }
          i++;
        }
    }

  return NULL;
}

/* Once per process (also in a fork child that uses the library): clears
 * what the child inherited of the parent's reaper. */
static void
reaper_atfork_child (void)
{
  /* Whole when nobody held the mutex at the fork, or the library's own
   * fork held it: its fds are closed and its memory freed. Otherwise
   * (another thread of the program forked while the reaper changed it)
   * it is only forgotten. */
  gboolean whole = reaper_held_for_fork ||
                   pthread_mutex_trylock (&reaper_fork_mutex) == 0;
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

  if (whole)
    {
      for (guint i = 0; i < reaper_n_watches; i++)
        if (reaper_watches[i].fd >= 0)
          close (reaper_watches[i].fd);
      /* The watches' data (references on the parent's objects) is the
       * parent's: never released here, and kept reachable (a leak
       * checker in the child sees the parent's objects as still held,
       * as they are). */
      if (reaper_watches != NULL)
        {
          ReaperInherited *inherited = g_new (ReaperInherited, 1);

          inherited->watches = reaper_watches;
          inherited->next = reaper_inherited;
          reaper_inherited = inherited;
        }
      g_free (reaper_pfds);
      g_free (reaper_pfd_watch);
      if (reaper_wake_fd >= 0)
        close (reaper_wake_fd);
    }
  reaper_watches = NULL;
  reaper_n_watches = 0;
  reaper_watches_size = 0;
  reaper_pfds = NULL;
  reaper_pfd_watch = NULL;
  reaper_pfds_size = 0;
  reaper_running = FALSE;
  reaper_wake_fd = -1;
  reaper_poke = FALSE;
  reaper_held_for_fork = FALSE;
  reaper_fork_mutex = fresh;
}

static void
reaper_register_atfork (void)
{
  pthread_atfork (NULL, NULL, reaper_atfork_child);
}

/* With the mutex held: the thread runs once this returns. */
static void
reaper_ensure_thread_locked (void)
{
  static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
  pthread_attr_t attr;
  sigset_t all, old;
  int r;

  if (reaper_running)
    return;

  pthread_once (&atfork_once, reaper_register_atfork);

  reaper_wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (reaper_wake_fd < 0)
    g_error ("gipc-glib: cannot start the reaper thread: eventfd: %s", g_strerror (errno));
  /* Not on stdio, in a program started with some closed. */
  if (reaper_wake_fd <= 2)
    {
      int fd = fcntl (reaper_wake_fd, F_DUPFD_CLOEXEC, 3);

      close (reaper_wake_fd);
      reaper_wake_fd = fd;
      if (fd < 0)
        g_error ("gipc-glib: cannot start the reaper thread: %s", g_strerror (errno));
    }

  /* No signal is ever delivered to it (the program's handlers run in its
   * own threads); a small stack. Created, and set going, under the
   * mutex: no fork of the library overlaps the thread's start, and its
   * name is set before this returns. */
  sem_init (&reaper_started, 0, 0);
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  pthread_attr_init (&attr);
  pthread_attr_setstacksize (&attr, MAX (PTHREAD_STACK_MIN, 256 * 1024));
  r = pthread_create (&reaper_thread_id, &attr, reaper_thread, NULL);
  pthread_attr_destroy (&attr);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (r != 0)
    g_error ("gipc-glib: cannot start the reaper thread: %s", g_strerror (r));
  while (sem_wait (&reaper_started) < 0 && errno == EINTR)
    ;
  sem_destroy (&reaper_started);
  reaper_running = TRUE;
}

static void
reaper_add (ReaperWatch *watch)
{
  /* A func that starts a child (a destroy notify run by a finalize in
   * the reaper thread) already holds the mutex. */
  gboolean in_reaper = reaper_running && pthread_equal (pthread_self (), reaper_thread_id);

  if (!in_reaper)
    pthread_mutex_lock (&reaper_fork_mutex);
  reaper_ensure_thread_locked ();
  if (reaper_n_watches == reaper_watches_size)
    {
      reaper_watches_size = MAX (16, reaper_watches_size * 2);
      reaper_watches = g_renew (ReaperWatch, reaper_watches, reaper_watches_size);
    }
  reaper_watches[reaper_n_watches++] = *watch;
  reaper_wake_locked ();
  if (!in_reaper)
    pthread_mutex_unlock (&reaper_fork_mutex);
}

void
gipc_reaper_watch (pid_t          pid,
                   int            fd,
                   GipcReaperFunc func,
                   gpointer       data)
{
  ReaperWatch watch = { 0, };

  watch.pid = pid;
  watch.fd = fd >= 0 ? fcntl (fd, F_DUPFD_CLOEXEC, 3) : -1;
  watch.func = func;
  watch.data = data;
  if (watch.fd < 0)
    {
      /* No pidfd: waitid (WNOWAIT) on a backoff. */
      watch.backoff_ms = REAPER_BACKOFF_MIN_MS;
      watch.next_us = g_get_monotonic_time () + watch.backoff_ms * 1000;
    }
  reaper_add (&watch);
}

void
gipc_reaper_watch_fd (int              fd,
                      GipcReaperFdFunc func,
                      gpointer         data)
{
  ReaperWatch watch = { 0, };

  watch.fd = fd >= 0 ? fcntl (fd, F_DUPFD_CLOEXEC, 3) : -1;
  watch.fd_func = func;
  watch.data = data;
  if (watch.fd < 0)
    {
      watch.call_next = TRUE;
      watch.next_us = g_get_monotonic_time () + REAPER_RETRY_MS * 1000;
    }
  reaper_add (&watch);
}

void
gipc_reaper_wake (void)
{
  pthread_mutex_lock (&reaper_fork_mutex);
  reaper_poke = TRUE;
  reaper_wake_locked ();
  pthread_mutex_unlock (&reaper_fork_mutex);
}

void
gipc_reaper_lock_for_fork (void)
{
  pthread_mutex_lock (&reaper_fork_mutex);
  reaper_held_for_fork = TRUE;
}

void
gipc_reaper_unlock_after_fork (gboolean in_child)
{
  if (in_child)
    {
      pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

      /* The atfork handler cleared the rest (if the thread ever ran). */
      reaper_held_for_fork = FALSE;
      reaper_fork_mutex = fresh;
      return;
    }
  reaper_held_for_fork = FALSE;
  pthread_mutex_unlock (&reaper_fork_mutex);
}
