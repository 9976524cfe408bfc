/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The reaper: pidfds and exit statuses of the library's own children.
 * Holds the pidfd system calls and the one waitid() that turns a child's
 * end into an exit code. It knows no GipcProcess (the process object
 * decides who reaps and when, under its lock) and never waits on a pid the
 * library did not make (no waitpid (-1), no reaping of a pid it was not
 * given).
 */

#include "config.h"

#include <errno.h>
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
gipc_reaper_try_reap (pid_t  pid,
                      int    pidfd,
                      gint  *exit_code)
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

  if (r < 0)
    {
      *exit_code = 0;
      return GIPC_REAP_LOST;
    }
  if (info.si_pid == 0)
    return GIPC_REAP_RUNNING;

  *exit_code = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
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
