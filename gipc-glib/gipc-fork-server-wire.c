/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The fork server's wire: the helpers the program's side and the server's
 * own process share (see gipc-fork-server-wire-private.h). Plain functions
 * on fds and plain data: no GObject state, no main loop, no allocation
 * but the environment string.
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

gboolean
gipc_fork_server_env_parse (const char        *value,
                            GipcForkServerEnv *env)
{
  unsigned int ordinal;
  int fd;
  int pid;
  int pdeathsig;
  int end = 0;

  if (value == NULL ||
      sscanf (value, "%u:%d:%d:%d%n", &ordinal, &fd, &pid, &pdeathsig, &end) != 4 ||
      value[end] != '\0' || ordinal == 0 || fd < 0 || pid <= 0)
    return FALSE;

  env->ordinal = ordinal;
  env->control_fd = fd;
  env->program_pid = (pid_t) pid;
  env->pdeathsig = pdeathsig != 0;
  return TRUE;
}

char *
gipc_fork_server_env_format (const GipcForkServerEnv *env)
{
  return g_strdup_printf ("%u:%d:%d:%d", env->ordinal, env->control_fd,
                          (int) env->program_pid, env->pdeathsig ? 1 : 0);
}

int
gipc_fork_server_send (int         fd,
                       const void *data,
                       gsize       len,
                       const int  *fds,
                       guint       n_fds,
                       int         flags)
{
  union
  {
    struct cmsghdr align;
    char           buffer[CMSG_SPACE (sizeof (int) * GIPC_FORK_SERVER_MAX_FDS)];
  } control;
  struct iovec iov = { (void *) data, len };
  struct msghdr msg;
  ssize_t n;

  g_return_val_if_fail (n_fds <= GIPC_FORK_SERVER_MAX_FDS, -1);

  memset (&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (n_fds > 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buffer;
      msg.msg_controllen = CMSG_SPACE (sizeof (int) * n_fds);
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
      memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * n_fds);
    }

  do
    n = sendmsg (fd, &msg, flags | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    return -1;
  if ((gsize) n != len)
    {
      errno = EMSGSIZE;
      return -1;
    }
  return 0;
}

gssize
gipc_fork_server_receive (int    fd,
                          void  *buffer,
                          gsize  size,
                          int   *fds,
                          guint  max_fds,
                          guint *n_fds,
                          int    flags)
{
  union
  {
    struct cmsghdr align;
    char           buffer[CMSG_SPACE (sizeof (int) * GIPC_FORK_SERVER_MAX_FDS)];
  } control;
  struct iovec iov = { buffer, size };
  struct msghdr msg;
  struct cmsghdr *cmsg;
  gboolean truncated;
  ssize_t n;

  *n_fds = 0;
  memset (&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buffer;
  msg.msg_controllen = sizeof control.buffer;

  do
    n = recvmsg (fd, &msg, flags | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    return -1;

  truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL; cmsg = CMSG_NXTHDR (&msg, cmsg))
    {
      const int *received;
      gsize count;
      gsize i;

      if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
        continue;
      received = (const int *) (gpointer) CMSG_DATA (cmsg);
      count = (cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int);
      for (i = 0; i < count; i++)
        {
          int one;

          memcpy (&one, received + i, sizeof one);
          if (*n_fds < max_fds && !truncated)
            fds[(*n_fds)++] = one;
          else
            {
              truncated = TRUE;
              close (one);
            }
        }
    }

  if (truncated)
    {
      guint i;

      for (i = 0; i < *n_fds; i++)
        close (fds[i]);
      *n_fds = 0;
      errno = EMSGSIZE;
      return -1;
    }

  return n;
}

gint
gipc_fork_server_report_exit_code (const GipcForkServerReport *report)
{
  return report->code == CLD_EXITED ? report->status : -report->status;
}
