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

static gboolean
use_plain_fork (void)
{
#if defined(__SANITIZE_ADDRESS__)
  return TRUE;
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
  return TRUE;
# endif
#endif
#ifdef RUNNING_ON_VALGRIND
  if (RUNNING_ON_VALGRIND)
    return TRUE;
#endif
  return FALSE;
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

  /* valgrind has no clone (CLONE_VM) of this kind, and AddressSanitizer
   * cannot follow instrumented code onto a stack it did not make: a plain
   * fork there, reporting through a close-on-exec pipe (a stray fork of
   * another thread could delay this start). */
  if (use_plain_fork ())
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

/* Everything one start needs, made before the child exists. */
typedef struct
{
  char                *path;
  GArray              *keep_fds;    /* int */
  GArray              *low_dups;    /* int: copies of fds 0 to 2, ours */
  char               **envp;
  GipcSandboxPrepared  sandbox;
  GipcChildExecData    data;
  pid_t                pid;
  int                  status_fd;   /* start_async: the pipe's read end */
} SpawnJob;

/* After the child was made: what the parent no longer needs. */
static void
spawn_job_release (SpawnJob *job)
{
  guint i;

  for (i = 0; i < job->low_dups->len; i++)
    close (g_array_index (job->low_dups, int, i));
  g_array_set_size (job->low_dups, 0);
  gipc_sandbox_prepared_clear (&job->sandbox);
}

static void
spawn_job_free (SpawnJob *job)
{
  spawn_job_release (job);
  if (job->status_fd >= 0)
    {
      /* start_async whose context was dropped before the report: the
       * start is abandoned, the child killed and reaped here. */
      close (job->status_fd);
      (void) kill (job->pid, SIGKILL);
      gipc_reaper_reap_failed_child (job->pid, -1);
    }
  g_free (job->path);
  g_array_unref (job->keep_fds);
  g_array_unref (job->low_dups);
  g_strfreev (job->envp);
  g_free (job);
}

static SpawnJob *
spawn_prepare (GipcProcess  *self,
               GError      **error)
{
  g_autoptr(GString) announced = g_string_new (NULL);
  SpawnJob *job = g_new0 (SpawnJob, 1);
  GipcSandboxPrepared sandbox_init = GIPC_SANDBOX_PREPARED_INIT;
  int errsv;
  guint i;

  job->keep_fds = g_array_new (FALSE, FALSE, sizeof (int));
  job->low_dups = g_array_new (FALSE, FALSE, sizeof (int));
  job->sandbox = sandbox_init;
  job->status_fd = -1;

  /* Everything the child needs is made now: after fork(), only
   * async-signal-safe calls. */
  job->path = find_program (self->argv[0]);
  if (job->path == NULL)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot execute “%s” for process “%s”: %s (not found in PATH)",
                   self->argv[0], self->name, g_strerror (ENOENT));
      spawn_job_free (job);
      return NULL;
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
                  g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                               "Cannot start process “%s”: dup: %s",
                               self->name, g_strerror (errsv));
                  spawn_job_free (job);
                  return NULL;
                }
              g_array_append_val (job->low_dups, dup_fd);
              fds[k] = dup_fd;
            }
          if (fds[k] >= 0)
            g_array_append_val (job->keep_fds, fds[k]);
        }

      g_string_append_printf (announced, "%s%d:%d", i > 0 ? "," : "", fds[0], fds[1]);
    }

  job->envp = g_get_environ ();
  if (self->channels->len > 0)
    job->envp = g_environ_setenv (job->envp, "GIPC_CHANNEL_FDS", announced->str, TRUE);
  else
    job->envp = g_environ_unsetenv (job->envp, "GIPC_CHANNEL_FDS");

  /* The sandbox too: the program, its interpreter and its libraries stay
   * readable and executable. */
  if (!gipc_sandbox_prepare (&job->sandbox, self->sandbox, self->sandbox_paths,
                             self->memory_limit, job->path, (const char * const *) job->envp,
                             self->name, error))
    {
      spawn_job_free (job);
      return NULL;
    }

  job->data.path = job->path;
  job->data.argv = self->argv;
  job->data.envp = job->envp;
  job->data.keep_fds = (const int *) (gpointer) job->keep_fds->data;
  job->data.n_keep_fds = job->keep_fds->len;
  job->data.die_with_parent = self->die_with_parent;
  job->data.parent_pid = getpid ();
  job->data.failed_step = GIPC_CHILD_EXEC_STEP_NONE;
  job->data.status_fd = -1;
  job->data.max_fd = (int) MIN (sysconf (_SC_OPEN_MAX), 65536);
  if (job->data.max_fd < 0)
    job->data.max_fd = 1024;
  job->data.sandbox = job->sandbox.active ? &job->sandbox : NULL;
  job->data.sandbox_step = GIPC_SANDBOX_STEP_NONE;
  /* What the child reports over shared memory (clone with CLONE_VM), or,
   * through the status pipe, only when it fails. */
  job->data.sandbox_applied = (int) job->sandbox.applied;

  return job;
}

/* The child executed the program or failed (job->data says which): the
 * start's outcome. On success the process is started in @context. */
static gboolean
spawn_finish (GipcProcess   *self,
              SpawnJob      *job,
              GMainContext  *context,
              GError       **error)
{
  pid_t pid = job->pid;
  int pidfd;
  guint i;

  if (job->data.failed_step != GIPC_CHILD_EXEC_STEP_NONE)
    {
      int child_errno = job->data.child_errno;

      gipc_reaper_reap_failed_child (pid, -1);

      /* The child made the passed fds blocking; they are the parent's
       * again. */
      for (i = 0; i < job->keep_fds->len; i++)
        set_nonblocking (g_array_index (job->keep_fds, int, i));

      switch ((GipcChildExecStep) job->data.failed_step)
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
                       gipc_sandbox_step_describe ((GipcSandboxStep) job->data.sandbox_step),
                       g_strerror (child_errno));
          break;
        case GIPC_CHILD_EXEC_STEP_EXEC:
        case GIPC_CHILD_EXEC_STEP_NONE:
        default:
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Failed to execute “%s” for process “%s”: %s",
                       job->path, self->name, g_strerror (child_errno));
          break;
        }
      return FALSE;
    }

  /* Executed, not reaped by anybody yet: the pid is ours. */
  pidfd = gipc_reaper_pidfd_open (pid);

  gipc_process_started_in (self, context, pid, pidfd,
                           (GipcSandboxFlags) job->data.sandbox_applied);
  return TRUE;
}

gboolean
gipc_process_start_spawn (GipcProcess  *self,
                          GError      **error)
{
  SpawnJob *job;
  sigset_t all_signals;
  sigset_t old_mask;
  gboolean ok;
  int errsv;

  job = spawn_prepare (self, error);
  if (job == NULL)
    return FALSE;

  /* clone (CLONE_VM | CLONE_VFORK): this thread resumes once the child
   * has executed the program or exited, and the child reports a failure in
   * job->data (shared memory). No status pipe, so a fork of another thread
   * (without exec) at this moment cannot hold anything that delays start
   * (it would hold a pipe's write end, and a read for end of file would
   * wait for that process). The child runs only async-signal-safe code of
   * gipc_child_setup_exec(), which never returns, with every signal
   * blocked until it reset the dispositions. */
  sigfillset (&all_signals);
  pthread_sigmask (SIG_SETMASK, &all_signals, &old_mask);
  job->pid = vfork_exec (&job->data);
  errsv = errno;
  pthread_sigmask (SIG_SETMASK, &old_mask, NULL);

  spawn_job_release (job);

  if (job->pid < 0)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot fork process “%s”: %s", self->name, g_strerror (errsv));
      spawn_job_free (job);
      return FALSE;
    }

  ok = spawn_finish (self, job, NULL, error);
  spawn_job_free (job);
  return ok;
}

/* start_async: a plain fork (this thread does not wait for the exec), the
 * child reports a failure on a close-on-exec pipe, whose end of file means
 * the program was executed. */
static gboolean
spawn_status_ready_cb (gint         fd,
                       GIOCondition condition,
                       gpointer     user_data)
{
  GTask *task = user_data;
  GipcProcess *self = g_task_get_source_object (task);
  SpawnJob *job = g_task_get_task_data (task);
  GError *error = NULL;
  int status[4];
  ssize_t n;

  do
    n = read (job->status_fd, status, sizeof status);
  while (n < 0 && errno == EINTR);

  if (n < 0 && errno == EAGAIN)
    return G_SOURCE_CONTINUE;

  close (job->status_fd);
  job->status_fd = -1;

  if (n == sizeof status)
    {
      job->data.failed_step = status[0];
      job->data.child_errno = status[1];
      job->data.sandbox_step = status[2];
      job->data.sandbox_applied = status[3];
    }
  else if (n != 0)
    {
      /* A short report: the child died in the middle of it. */
      job->data.failed_step = GIPC_CHILD_EXEC_STEP_EXEC;
      job->data.child_errno = n < 0 ? errno : EIO;
    }

  if (spawn_finish (self, job, g_task_get_context (task), &error))
    g_task_return_boolean (task, TRUE);
  else
    {
      self->starting = FALSE;
      g_task_return_error (task, error);
    }

  return G_SOURCE_REMOVE;
}

void
gipc_process_start_spawn_async (GipcProcess *self,
                                GTask       *task)
{
  SpawnJob *job;
  GError *error = NULL;
  sigset_t all_signals;
  sigset_t old_mask;
  int status_pipe[2];
  GSource *source;
  int errsv;

  job = spawn_prepare (self, &error);
  if (job == NULL)
    {
      self->starting = FALSE;
      g_task_return_error (task, error);
      return;
    }

  if (!g_unix_open_pipe (status_pipe, FD_CLOEXEC, NULL))
    {
      self->starting = FALSE;
      g_task_return_new_error (task, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                               "Cannot start process “%s”: pipe: %s",
                               self->name, g_strerror (errno));
      spawn_job_free (job);
      return;
    }
  job->data.status_fd = status_pipe[1];

  sigfillset (&all_signals);
  pthread_sigmask (SIG_SETMASK, &all_signals, &old_mask);
  job->pid = fork ();
  if (job->pid == 0)
    gipc_child_setup_exec (&job->data);
  errsv = errno;
  pthread_sigmask (SIG_SETMASK, &old_mask, NULL);

  close (status_pipe[1]);
  job->data.status_fd = -1;
  spawn_job_release (job);

  if (job->pid < 0)
    {
      close (status_pipe[0]);
      self->starting = FALSE;
      g_task_return_new_error (task, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                               "Cannot fork process “%s”: %s", self->name, g_strerror (errsv));
      spawn_job_free (job);
      return;
    }

  (void) g_unix_set_fd_nonblocking (status_pipe[0], TRUE, NULL);
  job->status_fd = status_pipe[0];
  g_task_set_task_data (task, job, (GDestroyNotify) spawn_job_free);

  source = g_unix_fd_source_new (job->status_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) spawn_status_ready_cb,
                         g_object_ref (task), g_object_unref);
  g_source_set_static_name (source, "[gipc-process-spawn-status]");
  g_source_set_priority (source, g_task_get_priority (task));
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}
