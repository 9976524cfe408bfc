/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Fork mode: gipc_process_start() of a process made with gipc_process_new().
 * Holds the parent's side (fork, the status pipe, its errors) and what the
 * child's copy of the process object does until its target returns. What
 * the child does to what it inherited (main contexts, channels, signals,
 * stdin) is gipc-child-setup.c's; this file reads no private field of GLib
 * and reaps only a child that never ran its target (gipc-reaper.c).
 */

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "gipc-channel-private.h"
#include "gipc-child-setup-private.h"
#include "gipc-error.h"
#include "gipc-orphan-private.h"
#include "gipc-process-private.h"
#include "gipc-reaper-private.h"
#include "gipc-sandbox-private.h"

/* What a fork-mode child tells the parent before its target runs, on a
 * close-on-exec pipe. The parent waits for this byte (not for end of file,
 * which a fork of another thread holding the write end would delay) and
 * watches the child's pidfd meanwhile. */
typedef struct
{
  guint8  result;           /* GipcChildSetupResult */
  guint8  sandbox_step;     /* GipcSandboxStep that failed, or NONE */
  guint32 sandbox_applied;  /* GipcSandboxFlags the child has */
  int     errsv;
} ForkStatus;

G_GNUC_NORETURN static void
run_fork_child (GipcProcess               *self,
                pid_t                      parent_pid,
                int                        status_fd,
                const GipcSandboxPrepared *sandbox)
{
  ForkStatus status;
  gint exit_status;
  ssize_t n;

  /* Padding too: the whole struct goes down the pipe. */
  memset (&status, 0, sizeof status);
  status.result = GIPC_CHILD_SETUP_OK;
  status.sandbox_step = GIPC_SANDBOX_STEP_NONE;

  gipc_channel_registry_unlock ();

  if (self->die_with_parent && !gipc_child_setup_die_with_parent (parent_pid))
    {
      g_printerr ("%s: cannot set PR_SET_PDEATHSIG: %s\n", self->name, g_strerror (errno));
      _exit (127);
    }

  /* The child's copy of the object describes the child itself. The exit
   * watch and its context are the parent's: left as they are. */
  g_mutex_init (&self->lock);
  self->in_child = TRUE;
  self->state = STATE_RUNNING;
  self->pid = getpid ();
  self->pidfd = -1;
  self->start_context = NULL;
  self->report = NULL;
  self->reaper_active = FALSE;
  self->handed_ref = FALSE;
  g_cond_init (&self->cond);
  g_queue_init (&self->join_tasks);

  status.result = gipc_child_setup_after_fork ((GipcChannel * const *) self->channels->pdata,
                                               self->channels->len);
  status.errsv = errno;

  /* After the setup (which opens /dev/null), before the target. */
  if (status.result == GIPC_CHILD_SETUP_OK)
    {
      GipcSandboxFlags applied;
      int errsv;

      status.sandbox_step = gipc_sandbox_apply_prepared (sandbox, &applied, &errsv);
      status.sandbox_applied = applied;
      if (status.sandbox_step != GIPC_SANDBOX_STEP_NONE)
        {
          status.result = GIPC_CHILD_SETUP_FAILED;
          status.errsv = errsv;
        }
      self->sandbox_applied = applied;
    }

  do
    n = write (status_fd, &status, sizeof status);
  while (n < 0 && errno == EINTR);
  close (status_fd);

  /* The parent reports it from start(): the target must not run. */
  if (status.result != GIPC_CHILD_SETUP_OK)
    _exit (127);

  exit_status = self->target (self, self->target_data);

  gipc_channel_flush_all ();
  fflush (NULL);
  _exit (exit_status);
}

/* A fork-mode child that was made and has not reported yet. */
typedef struct
{
  pid_t pid;
  int   pidfd;
  int   status_fd;   /* read end, non-blocking */
} ForkPending;

/* Reads the child's ForkStatus once @status_fd or the pidfd is ready.
 * FALSE if the child died without sending it (@error set). */
static gboolean
read_fork_status (GipcProcess  *self,
                  int           status_fd,
                  ForkStatus   *status,
                  GError      **error)
{
  ssize_t n;

  /* The status first: it is written before the child can exit. */
  do
    n = read (status_fd, status, sizeof *status);
  while (n < 0 && errno == EINTR);

  if (n == sizeof *status)
    return TRUE;

  g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
               "Cannot start process “%s”: the child died while setting up",
               self->name);
  return FALSE;
}

/* Blocks until @pending's status pipe or pidfd is ready. */
static void
wait_fork_status (ForkPending *pending)
{
  struct pollfd pfds[2] = {
    { pending->status_fd, POLLIN, 0 },
    { pending->pidfd, POLLIN, 0 },
  };

  for (;;)
    {
      if (poll (pfds, pending->pidfd >= 0 ? 2 : 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (pfds[0].revents != 0 || pfds[1].revents != 0)
        break;
    }
}

/* Forks. The child runs run_fork_child(); the parent gets @pending. */
static gboolean
fork_begin (GipcProcess  *self,
            ForkPending  *pending,
            GError      **error)
{
  sigset_t all_signals;
  sigset_t old_mask;
  pid_t parent_pid = getpid ();
  GipcSandboxPrepared sandbox = GIPC_SANDBOX_PREPARED_INIT;
  int status_pipe[2];
  pid_t pid;
  int errsv;

  /* Everything the sandbox needs is made before the fork. */
  if (!gipc_sandbox_prepare (&sandbox, self->sandbox, self->sandbox_paths,
                             self->memory_limit, NULL, NULL, self->name, error))
    return FALSE;

  if (!g_unix_open_pipe (status_pipe, FD_CLOEXEC, NULL))
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot start process “%s”: pipe: %s",
                   self->name, g_strerror (errno));
      gipc_sandbox_prepared_clear (&sandbox);
      return FALSE;
    }

  /* The self-test of the orphaning path runs here once, not in every
   * child. */
  (void) gipc_orphan_choose_path ();

  /* Whatever is buffered would otherwise be written twice. */
  fflush (NULL);

  /* No handler of the parent may run in the child before the reset. */
  sigfillset (&all_signals);
  pthread_sigmask (SIG_SETMASK, &all_signals, &old_mask);

  gipc_channel_registry_lock ();
  gipc_reaper_lock_for_fork ();
  pid = fork ();
  if (pid == 0)
    {
      gipc_reaper_unlock_after_fork (TRUE);
      close (status_pipe[0]);
      run_fork_child (self, parent_pid, status_pipe[1], &sandbox);
    }
  errsv = errno;
  gipc_reaper_unlock_after_fork (FALSE);
  gipc_channel_registry_unlock ();

  pthread_sigmask (SIG_SETMASK, &old_mask, NULL);
  close (status_pipe[1]);
  gipc_sandbox_prepared_clear (&sandbox);

  if (pid < 0)
    {
      close (status_pipe[0]);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot fork process “%s”: %s", self->name, g_strerror (errsv));
      return FALSE;
    }

  /* A child that died without a status must not block the read (another
   * thread's fork may hold the write end). */
  (void) g_unix_set_fd_nonblocking (status_pipe[0], TRUE, NULL);

  pending->pid = pid;
  pending->pidfd = gipc_reaper_pidfd_open (pid);
  pending->status_fd = status_pipe[0];
  return TRUE;
}

/* Once the status pipe or the pidfd is ready: the child's report, and the
 * start's outcome. On success the process is started in @context. */
static gboolean
fork_finish (GipcProcess   *self,
             ForkPending   *pending,
             GMainContext  *context,
             GError       **error)
{
  ForkStatus status;
  pid_t pid = pending->pid;
  int pidfd = pending->pidfd;
  gboolean ok;

  ok = read_fork_status (self, pending->status_fd, &status, error);
  close (pending->status_fd);
  pending->status_fd = -1;

  if (!ok)
    {
      gipc_reaper_reap_failed_child (pid, pidfd);
      return FALSE;
    }

  if (status.result != GIPC_CHILD_SETUP_OK)
    {
      gipc_reaper_reap_failed_child (pid, pidfd);
      if (status.result == GIPC_CHILD_SETUP_UNVERIFIED)
        {
          g_autofree char *why = gipc_orphan_describe_refusal ();

          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Cannot start process “%s” in fork mode: %s", self->name, why);
        }
      else if (status.sandbox_step != GIPC_SANDBOX_STEP_NONE)
        g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                     "Cannot start process “%s”: setting up the child failed: "
                     "%s: %s", self->name,
                     gipc_sandbox_step_describe (status.sandbox_step),
                     g_strerror (status.errsv));
      else
        g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                     "Cannot start process “%s”: setting up the child failed: "
                     "moving a passed channel's fd off stdio: %s",
                     self->name, g_strerror (status.errsv));
      return FALSE;
    }

  gipc_process_started_in (self, context, pid, pidfd,
                           (GipcSandboxFlags) status.sandbox_applied);
  return TRUE;
}

gboolean
gipc_process_start_fork (GipcProcess  *self,
                         GError      **error)
{
  ForkPending pending;

  if (!fork_begin (self, &pending, error))
    return FALSE;

  wait_fork_status (&pending);
  return fork_finish (self, &pending, NULL, error);
}

/* start_async: the fork happens now, the report is watched from the
 * task's context. */
static gboolean
fork_status_ready_cb (gint         fd,
                      GIOCondition condition,
                      gpointer     user_data)
{
  GTask *task = user_data;
  GipcProcess *self = g_task_get_source_object (task);
  ForkPending *pending = g_task_get_task_data (task);
  GError *error = NULL;

  if (fork_finish (self, pending, g_task_get_context (task), &error))
    g_task_return_boolean (task, TRUE);
  else
    {
      self->starting = FALSE;
      g_task_return_error (task, error);
    }

  return G_SOURCE_REMOVE;
}

static void
fork_pending_free (ForkPending *pending)
{
  /* Only if the task went unfinished (its context was dropped before the
   * child reported): the start is abandoned, the child killed (it may be
   * running its target already) and reaped here. */
  if (pending->status_fd >= 0)
    {
      close (pending->status_fd);
      (void) kill (pending->pid, SIGKILL);
      gipc_reaper_reap_failed_child (pending->pid, pending->pidfd);
    }
  g_free (pending);
}

void
gipc_process_start_fork_async (GipcProcess *self,
                               GTask       *task)
{
  ForkPending *pending = g_new0 (ForkPending, 1);
  GError *error = NULL;
  GSource *source;

  if (!fork_begin (self, pending, &error))
    {
      g_free (pending);
      self->starting = FALSE;
      g_task_return_error (task, error);
      return;
    }

  g_task_set_task_data (task, pending, (GDestroyNotify) fork_pending_free);

  /* One source for both fds: ready when either is. */
  source = g_unix_fd_source_new (pending->status_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  if (pending->pidfd >= 0)
    g_source_add_unix_fd (source, pending->pidfd, G_IO_IN);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) fork_status_ready_cb,
                         g_object_ref (task), g_object_unref);
  g_source_set_static_name (source, "[gipc-process-fork-status]");
  g_source_set_priority (source, g_task_get_priority (task));
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static gint threads_warned;

/* Fork mode in a multi-threaded program: said once per program. */
void
gipc_process_warn_if_threaded (GipcProcess *self)
{
  guint n_threads;

  if (g_atomic_int_get (&threads_warned))
    return;

  /* The program-wide opt-out, for test suites and programs that cannot
   * set the property on every process. */
  if (g_strcmp0 (g_getenv ("GIPC_NO_THREADS_WARNING"), "1") == 0)
    return;

  /* Once per program: counting costs a look at every thread (more, a
   * few milliseconds, while more than one is seen). */
  if (g_atomic_int_get (&threads_warned))
    return;
  n_threads = gipc_child_setup_count_program_threads ();
  if (n_threads <= 1 || !g_atomic_int_compare_and_exchange (&threads_warned, 0, 1))
    return;

  g_warning ("Process “%s”: fork mode in a program with %u threads: the child "
             "may hang in a lock another thread held at the fork (GObject, GIO, "
             "malloc). Use spawn mode (gipc_process_new_for_argv) or a fork "
             "server started before any thread; set the process's "
             "warn-if-threaded property to FALSE to silence this warning",
             self->name, n_threads);
}
