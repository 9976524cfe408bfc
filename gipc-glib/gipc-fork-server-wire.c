/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The fork server's wire: the helpers the program's side and the server's
 * own process share (see gipc-fork-server-wire-private.h). Plain functions
 * on fds and plain data: no GObject state, no main loop.
 */

#include "config.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gipc-fork-server-wire-private.h"

void
gipc_fork_server_target_free (gpointer data)
{
  Target *target = data;

  if (target->notify != NULL)
    target->notify (target->user_data);
  g_free (target);
}

pid_t
gipc_fork_server_wait_for_pid (pid_t pid,
                               int  *wait_status)
{
  pid_t r;

  do
    r = waitpid (pid, wait_status, 0);
  while (r < 0 && errno == EINTR);

  return r;
}

void
gipc_fork_server_write_all (int         fd,
                            const void *data,
                            gsize       len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      p += n;
      len -= (gsize) n;
    }
}
