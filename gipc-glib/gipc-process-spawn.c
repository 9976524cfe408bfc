/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Spawn mode: gipc_process_start() of a process made with
 * gipc_process_new_for_argv(). Holds the parent's side: everything the
 * child needs (program path, environment with GIPC_CHANNEL_FDS, kept fds,
 * the prepared sandbox) is made here before the fork, because the child
 * may only make async-signal-safe calls until exec; that child code is
 * gipc_child_setup_exec() in gipc-child-setup.c, and nothing of this file
 * runs in the child.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib-unix.h>

#if defined(__has_include)
# if __has_include(<valgrind/valgrind.h>)
#  include <valgrind/valgrind.h>
# endif
#endif

#include "gipc-channel-private.h"
#include "gipc-child-setup-private.h"
#include "gipc-error.h"
#include "gipc-process-private.h"
#include "gipc-reaper-private.h"
#include "gipc-sandbox-private.h"

static char *
find_program (const char *program)
{
  if (strchr (program, '/') != NULL)
    return g_strdup (program);

  return g_find_program_in_path (program);
}

static void
set_nonblocking (int fd)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags >= 0)
    (void) fcntl (fd, F_SETFL, flags | O_NONBLOCK);
}

/* The child's stack: gipc_child_setup_exec() makes a handful of system
 * calls (close_range, fcntl, prctl, Landlock, seccomp) and execve; the
 * kernel copies argv and envp itself. */
#define CHILD_STACK_SIZE (256 * 1024)

static int
clone_child_main (void *user_data)
{
  gipc_child_setup_exec (user_data);
}

/* Starts the child with clone (CLONE_VM | CLONE_VFORK), as glibc's
 * posix_spawn does: it shares the parent's memory, so it reports a failure
 * in @data, but runs on a stack of its own (nothing of the suspended
 * parent's frames is touched) with every signal blocked (the caller's
 * mask, inherited) until gipc_child_setup_exec() reset the dispositions.
 * This thread resumes once the child executed the program or exited. */
G_GNUC_NO_INLINE static pid_t
vfork_exec (GipcChildExecData *data)
{
  pid_t pid;
  void *stack;
  int errsv;

  data->status_fd = -1;

#ifdef RUNNING_ON_VALGRIND
  /* valgrind turns vfork into fork: the child's writes to @data would not
   * be seen. Report through a close-on-exec pipe there (a stray fork of
   * another thread could delay this start, as it could before vfork). */
  if (RUNNING_ON_VALGRIND)
    {
      int status_pipe[2];
      int status[4];
      ssize_t n;

      if (!g_unix_open_pipe (status_pipe, FD_CLOEXEC, NULL))
        return -1;
      data->status_fd = status_pipe[1];
      pid = fork ();
      if (pid == 0)
        gipc_child_setup_exec (data);
      close (status_pipe[1]);
      do
        n = read (status_pipe[0], status, sizeof status);
      while (n < 0 && errno == EINTR);
      close (status_pipe[0]);
      if (pid > 0 && n == sizeof status)
        {
          data->failed_step = status[0];
          data->child_errno = status[1];
          data->sandbox_step = status[2];
          data->sandbox_applied = status[3];
        }
      return pid;
    }
#endif

  stack = mmap (NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return -1;

  /* The stack grows down on every architecture glibc's clone() supports
   * here but hppa, which gipc-glib does not build for. */
  pid = clone (clone_child_main, (char *) stack + CHILD_STACK_SIZE,
               CLONE_VM | CLONE_VFORK | SIGCHLD, data);
  errsv = errno;
  munmap (stack, CHILD_STACK_SIZE);
  errno = errsv;

  return pid;
}

gboolean
gipc_process_start_spawn (GipcProcess  *self,
                          GError      **error)
{
  g_autofree char *path = NULL;
  g_autoptr(GString) announced = g_string_new (NULL);
  g_autoptr(GArray) keep_fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GArray) low_dups = g_array_new (FALSE, FALSE, sizeof (int));
  g_auto(GStrv) envp = NULL;
  GipcSandboxPrepared sandbox = GIPC_SANDBOX_PREPARED_INIT;
  GipcChildExecData data;
  sigset_t all_signals;
  sigset_t old_mask;
  pid_t pid;
  int pidfd;
  int errsv;
  guint i;

  /* Everything the child needs is made now: after fork(), only
   * async-signal-safe calls. */
  path = find_program (self->argv[0]);
  if (path == NULL)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot execute “%s” for process “%s”: %s (not found in PATH)",
                   self->argv[0], self->name, g_strerror (ENOENT));
      return FALSE;
    }

  for (i = 0; i < self->channels->len; i++)
    {
      int fds[2];
      int k;
      gboolean shared_socket;

      gipc_channel_get_fds (g_ptr_array_index (self->channels, i), &fds[0], &fds[1]);
      shared_socket = fds[0] >= 0 && fds[0] == fds[1];
      for (k = 0; k < 2; k++)
        {
          /* One socket for both directions is announced as the same fd
           * twice ("4:4"): the child then makes an fd-capable channel. */
          if (k == 1 && fds[1] >= 0 && shared_socket)
            {
              fds[1] = fds[0];
              continue;
            }
          /* fds 0 to 2 are the child's stdio: move a channel fd that
           * happens to sit there out of the way. */
          if (fds[k] >= 0 && fds[k] <= 2)
            {
              int dup_fd = fcntl (fds[k], F_DUPFD_CLOEXEC, 3);

              if (dup_fd < 0)
                {
                  errsv = errno;
                  for (guint j = 0; j < low_dups->len; j++)
                    close (g_array_index (low_dups, int, j));
                  g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                               "Cannot start process “%s”: dup: %s",
                               self->name, g_strerror (errsv));
                  return FALSE;
                }
              g_array_append_val (low_dups, dup_fd);
              fds[k] = dup_fd;
            }
          if (fds[k] >= 0)
            g_array_append_val (keep_fds, fds[k]);
        }

      g_string_append_printf (announced, "%s%d:%d", i > 0 ? "," : "", fds[0], fds[1]);
    }

  envp = g_get_environ ();
  if (self->channels->len > 0)
    envp = g_environ_setenv (envp, "GIPC_CHANNEL_FDS", announced->str, TRUE);
  else
    envp = g_environ_unsetenv (envp, "GIPC_CHANNEL_FDS");

  /* The sandbox too: the program, its interpreter and its libraries stay
   * readable and executable. */
  if (!gipc_sandbox_prepare (&sandbox, self->sandbox, self->sandbox_paths,
                             self->memory_limit, path, (const char * const *) envp,
                             self->name, error))
    {
      for (i = 0; i < low_dups->len; i++)
        close (g_array_index (low_dups, int, i));
      return FALSE;
    }

  memset (&data, 0, sizeof data);
  data.path = path;
  data.argv = self->argv;
  data.envp = envp;
  data.keep_fds = (const int *) (gpointer) keep_fds->data;
  data.n_keep_fds = keep_fds->len;
  data.die_with_parent = self->die_with_parent;
  data.parent_pid = getpid ();
  data.failed_step = GIPC_CHILD_EXEC_STEP_NONE;
  data.max_fd = (int) MIN (sysconf (_SC_OPEN_MAX), 65536);
  if (data.max_fd < 0)
    data.max_fd = 1024;
  data.sandbox = sandbox.active ? &sandbox : NULL;
  data.sandbox_step = GIPC_SANDBOX_STEP_NONE;
  /* What the child reports over shared memory (clone with CLONE_VM), or,
   * under valgrind, only when it fails. */
  data.sandbox_applied = (int) sandbox.applied;

  /* clone (CLONE_VM | CLONE_VFORK): this thread resumes once the child
   * has executed the program or exited, and the child reports a failure in
   * @data (shared memory). No
   * status pipe, so a fork of another thread (without exec) at this moment
   * cannot hold anything that delays start (it would hold a pipe's write
   * end, and a read for end of file would wait for that process). The
   * child runs only async-signal-safe code of gipc_child_setup_exec(),
   * which never returns, with every signal blocked until it reset the
   * dispositions. */
  sigfillset (&all_signals);
  pthread_sigmask (SIG_SETMASK, &all_signals, &old_mask);
  pid = vfork_exec (&data);
  errsv = errno;
  pthread_sigmask (SIG_SETMASK, &old_mask, NULL);

  for (i = 0; i < low_dups->len; i++)
    close (g_array_index (low_dups, int, i));
  gipc_sandbox_prepared_clear (&sandbox);

  if (pid < 0)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot fork process “%s”: %s", self->name, g_strerror (errsv));
      return FALSE;
    }

  if (data.failed_step != GIPC_CHILD_EXEC_STEP_NONE)
    {
      int child_errno = data.child_errno;

      gipc_reaper_reap_failed_child (pid, -1);

      /* The child made the passed fds blocking; they are the parent's
       * again. */
      for (i = 0; i < keep_fds->len; i++)
        set_nonblocking (g_array_index (keep_fds, int, i));

      switch ((GipcChildExecStep) data.failed_step)
        {
        case GIPC_CHILD_EXEC_STEP_DIE_WITH_PARENT:
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Cannot start process “%s”: setting up the child failed: "
                       "PR_SET_PDEATHSIG (die-with-parent): %s",
                       self->name, g_strerror (child_errno));
          break;
        case GIPC_CHILD_EXEC_STEP_KEEP_FDS:
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Cannot start process “%s”: setting up the child failed: "
                       "making a passed channel's fd inheritable and blocking: %s",
                       self->name, g_strerror (child_errno));
          break;
        case GIPC_CHILD_EXEC_STEP_SANDBOX:
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Cannot start process “%s”: setting up the child failed: "
                       "%s: %s", self->name,
                       gipc_sandbox_step_describe ((GipcSandboxStep) data.sandbox_step),
                       g_strerror (child_errno));
          break;
        case GIPC_CHILD_EXEC_STEP_EXEC:
        case GIPC_CHILD_EXEC_STEP_NONE:
        default:
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Failed to execute “%s” for process “%s”: %s",
                       path, self->name, g_strerror (child_errno));
          break;
        }
      return FALSE;
    }

  /* Executed, not reaped by anybody yet: the pid is ours. */
  pidfd = gipc_reaper_pidfd_open (pid);

  gipc_process_started (self, pid, pidfd, (GipcSandboxFlags) data.sandbox_applied);
  return TRUE;
}
