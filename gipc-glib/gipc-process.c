/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "gipc-channel-private.h"
#include "gipc-child-setup-private.h"
#include "gipc-error.h"
#include "gipc-process.h"

/**
 * GipcProcess:
 *
 * A child process, started in one of two ways:
 *
 * - fork mode ([ctor@Gipc.Process.new]): the child is a copy of the
 *   calling process that runs a [callback@Gipc.ProcessFunc], the way gipc's
 *   `start_process()` does. Before the function runs, the child closes
 *   every [class@Gipc.Channel] that was not passed to it with
 *   [method@Gipc.Process.pass_channel], resets signal dispositions to the
 *   default (except `SIGPIPE`), reads stdin from `/dev/null`, and discards
 *   the main contexts it inherited: no callback, destroy notifier or
 *   finalizer of anything the parent had attached to them runs in the
 *   child, and the default main context is empty and usable there. The
 *   function's return value is the exit status; the child then writes out
 *   the messages it queued, flushes stdio and `_exit()`s.
 *
 * - spawn mode ([ctor@Gipc.Process.new_for_argv]): fork and exec of any
 *   program, which inherits only stdin, stdout, stderr and the passed
 *   channels. Their fds are announced in the `GIPC_CHANNEL_FDS` environment
 *   variable, one `READFD:WRITEFD` pair per channel in pass order (for
 *   example `3:-1,4:5`); the program opens them with
 *   [ctor@Gipc.Channel.new_inherited]. This mode is safe in multi-threaded
 *   programs and lets a program in any language be the child.
 *
 * In both modes the passed channels are closed in the parent right after
 * the fork. The exit status is collected by the main context that was the
 * thread-default one of the [method@Gipc.Process.start] caller, through a
 * `GChildWatch`, whether or not anybody joins: [property@Gipc.Process:alive]
 * and [property@Gipc.Process:exit-code] change and
 * [signal@Gipc.Process::exited] is emitted there. A process object that is
 * dropped while its child runs stays alive until the child is reaped, so no
 * zombie is left behind.
 *
 * Fork without exec is outside what GLib promises: see the README for what
 * works in a fork-mode child (timeouts, idles, child watches, fd sources,
 * channels) and what may not (GDBus, `g_unix_signal_add()`, work on GTask's
 * thread pool, in a child of a parent that had used them).
 *
 * Since: 1.0
 */

/* How often a process is checked for its exit where pidfds are missing
 * (kernels before 5.3, valgrind 3.19). */
#define EXIT_POLL_INTERVAL_MS 10

typedef enum
{
  STATE_NEW,
  STATE_RUNNING,
  STATE_EXITED,   /* exit seen (by the main context or a sync join), not reaped */
  STATE_REAPED,   /* reaped by the GChildWatch; ::exited emitted */
} ProcessState;

struct _GipcProcess
{
  GObject          parent_instance;

  /* What to run */
  GipcProcessFunc  target;
  gpointer         target_data;
  GDestroyNotify   target_notify;
  char           **argv;
  char            *name;
  gboolean         die_with_parent;
  GPtrArray       *channels;        /* GipcChannel*, passed, in pass order */

  /* Where the exit is reported: the start caller's thread-default context */
  GMainContext    *context;
  gboolean         in_child;        /* this is the child's copy (fork mode) */

  /* Shared with join and signal senders in other threads */
  GMutex           lock;
  ProcessState     state;
  GPid             pid;
  int              pidfd;
  gint             exit_code;
  GQueue           join_tasks;      /* GTask*, owned */
};

G_DEFINE_FINAL_TYPE (GipcProcess, gipc_process, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PID,
  PROP_NAME,
  PROP_ALIVE,
  PROP_EXIT_CODE,
  PROP_DIE_WITH_PARENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_EXITED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gint process_counter;

/* ------------------------------------------------------------------ */
/* pidfd system calls, by number: not every C library wraps them       */

#ifndef SYS_pidfd_open
# define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
# define SYS_pidfd_send_signal 424
#endif

static int
pidfd_open_cloexec (pid_t pid)
{
  /* pidfds are always close-on-exec. */
  return (int) syscall (SYS_pidfd_open, pid, 0);
}

static int
pidfd_send (int pidfd,
            int signum)
{
  return (int) syscall (SYS_pidfd_send_signal, pidfd, signum, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Exit bookkeeping                                                    */

static gint
wait_status_to_exit_code (gint wait_status)
{
  if (WIFEXITED (wait_status))
    return WEXITSTATUS (wait_status);
  if (WIFSIGNALED (wait_status))
    return -WTERMSIG (wait_status);
  return wait_status;
}

/* Looks at the child without reaping it. Returns 1 (exited, *exit_code
 * set), 0 (still running) or -1 (errno set; ECHILD once it was reaped). */
static int
peek_exit (int    pidfd,
           GPid   pid,
           gint  *exit_code)
{
  siginfo_t info;
  int r;

  do
    {
      memset (&info, 0, sizeof info);
      if (pidfd >= 0)
        r = waitid (P_PIDFD, (id_t) pidfd, &info, WEXITED | WNOHANG | WNOWAIT);
      else
        r = waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG | WNOWAIT);
    }
  while (r < 0 && errno == EINTR);

  if (r < 0)
    return -1;
  if (info.si_pid == 0)
    return 0;

  *exit_code = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
  return 1;
}

/* The exit was seen: alive goes FALSE, exit-code is set. Any thread. */
static void
record_exit (GipcProcess *self,
             gint         exit_code)
{
  gboolean changed = FALSE;

  g_mutex_lock (&self->lock);
  if (self->state == STATE_RUNNING)
    {
      self->state = STATE_EXITED;
      self->exit_code = exit_code;
      changed = TRUE;
    }
  g_mutex_unlock (&self->lock);

  if (changed)
    {
      g_object_freeze_notify (G_OBJECT (self));
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALIVE]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXIT_CODE]);
      g_object_thaw_notify (G_OBJECT (self));
    }
}

typedef struct
{
  GSource *cancel_source;
} JoinData;

static void
join_data_free (JoinData *data)
{
  if (data->cancel_source != NULL)
    {
      g_source_destroy (data->cancel_source);
      g_source_unref (data->cancel_source);
    }
  g_free (data);
}

/* Reaped: ::exited, then every pending join. In the start context. */
static void
finish_exit (GipcProcess *self)
{
  GQueue tasks = G_QUEUE_INIT;
  GTask *task;
  gint exit_code;

  g_mutex_lock (&self->lock);
  self->state = STATE_REAPED;
  exit_code = self->exit_code;
  tasks = self->join_tasks;
  g_queue_init (&self->join_tasks);
  g_mutex_unlock (&self->lock);

  g_signal_emit (self, signals[SIGNAL_EXITED], 0, exit_code);

  while ((task = g_queue_pop_head (&tasks)) != NULL)
    {
      JoinData *data = g_task_get_task_data (task);

      /* The cancel source holds a reference on the task: drop it now. */
      if (data->cancel_source != NULL)
        g_source_destroy (data->cancel_source);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

static void
child_watch_cb (GPid     pid,
                gint     wait_status,
                gpointer user_data)
{
  GipcProcess *self = user_data;
  gint exit_code = wait_status_to_exit_code (wait_status);

  record_exit (self, exit_code);

  g_mutex_lock (&self->lock);
  if (self->exit_code != exit_code)
    g_warning ("Process “%s”: the child watch reports exit code %d, "
               "%d was seen before", self->name, exit_code, self->exit_code);
  g_mutex_unlock (&self->lock);

  g_spawn_close_pid (pid);
  finish_exit (self);
}

/* The child has exited (it is a zombie): record the status, then let a
 * GChildWatch reap it. The watch is created only now, so the pid cannot be
 * reaped (and reused) while the process counts as running: sending signals
 * and peeking with waitid() stay safe until the state says EXITED. */
static gboolean
exit_seen (GipcProcess *self)
{
  GSource *watch;
  gint exit_code = 0;
  int pidfd;
  GPid pid;
  int r;

  g_mutex_lock (&self->lock);
  pidfd = self->pidfd;
  pid = self->pid;
  g_mutex_unlock (&self->lock);

  r = peek_exit (pidfd, pid, &exit_code);
  if (r == 0)
    return G_SOURCE_CONTINUE;

  if (r < 0)
    {
      /* Reaped behind our back: waitpid (-1) elsewhere, or SIGCHLD set to
       * SIG_IGN. The status is lost, as GLib's child watch would say. */
      g_warning ("Process “%s” (pid %d): the exit status was collected by "
                 "someone else (%s); reporting exit code 0",
                 self->name, (int) pid, g_strerror (errno));
      record_exit (self, 0);
      finish_exit (self);
      return G_SOURCE_REMOVE;
    }

  record_exit (self, exit_code);

  watch = g_child_watch_source_new (pid);
  g_source_set_callback (watch, (GSourceFunc) (void (*) (void)) child_watch_cb,
                         g_object_ref (self), g_object_unref);
  g_source_set_static_name (watch, "[gipc-process-reap]");
  g_source_attach (watch, self->context);
  g_source_unref (watch);

  return G_SOURCE_REMOVE;
}

static gboolean
pidfd_ready_cb (gint         fd,
                GIOCondition condition,
                gpointer     user_data)
{
  return exit_seen (user_data);
}

static gboolean
exit_poll_cb (gpointer user_data)
{
  return exit_seen (user_data);
}

/* The child runs: watch for its exit from the start context. The sources'
 * callback data is a reference on @self: the self-reference that keeps the
 * object (and its duty to reap) alive while the child runs. */
static void
watch_child (GipcProcess *self)
{
  GSource *source;

  if (self->pidfd >= 0)
    {
      source = g_unix_fd_source_new (self->pidfd, G_IO_IN);
      g_source_set_callback (source, (GSourceFunc) (void (*) (void)) pidfd_ready_cb,
                             g_object_ref (self), g_object_unref);
    }
  else
    {
      source = g_timeout_source_new (EXIT_POLL_INTERVAL_MS);
      g_source_set_callback (source, exit_poll_cb, g_object_ref (self), g_object_unref);
    }

  g_source_set_static_name (source, "[gipc-process-exit]");
  g_source_attach (source, self->context);
  g_source_unref (source);
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
gipc_process_constructed (GObject *object)
{
  GipcProcess *self = GIPC_PROCESS (object);

  G_OBJECT_CLASS (gipc_process_parent_class)->constructed (object);

  if (self->name == NULL)
    self->name = g_strdup_printf ("GipcProcess-%d",
                                  g_atomic_int_add (&process_counter, 1) + 1);
}

static void
gipc_process_dispose (GObject *object)
{
  GipcProcess *self = GIPC_PROCESS (object);

  if (self->channels != NULL)
    g_ptr_array_set_size (self->channels, 0);

  G_OBJECT_CLASS (gipc_process_parent_class)->dispose (object);
}

static void
gipc_process_finalize (GObject *object)
{
  GipcProcess *self = GIPC_PROCESS (object);

  /* The exit sources hold a reference until the child is reaped, so a
   * child that still needs reaping means they were destroyed unfired (their
   * context went away). Leave the reaping to the global default context
   * rather than leave a zombie. */
  if (!self->in_child && (self->state == STATE_RUNNING || self->state == STATE_EXITED))
    {
      GSource *watch = g_child_watch_source_new (self->pid);

      g_debug ("Process “%s” finalized before its child was reaped; the "
               "default main context will reap it", self->name);
      g_source_set_static_name (watch, "[gipc-process-orphan-reap]");
      g_source_attach (watch, NULL);
      g_source_unref (watch);
    }

  g_assert (g_queue_is_empty (&self->join_tasks));

  if (self->pidfd >= 0)
    close (self->pidfd);

  if (self->target_notify != NULL)
    self->target_notify (self->target_data);

  g_clear_pointer (&self->argv, g_strfreev);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->channels, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (gipc_process_parent_class)->finalize (object);
}

static void
gipc_process_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  GipcProcess *self = GIPC_PROCESS (object);

  switch (prop_id)
    {
    case PROP_PID:
      g_value_set_int (value, gipc_process_get_pid (self));
      break;

    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_ALIVE:
      g_value_set_boolean (value, gipc_process_is_alive (self));
      break;

    case PROP_EXIT_CODE:
      g_mutex_lock (&self->lock);
      g_value_set_int (value, self->exit_code);
      g_mutex_unlock (&self->lock);
      break;

    case PROP_DIE_WITH_PARENT:
      g_value_set_boolean (value, self->die_with_parent);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gipc_process_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  GipcProcess *self = GIPC_PROCESS (object);

  switch (prop_id)
    {
    case PROP_NAME:
      {
        const char *name = g_value_get_string (value);

        if (name != NULL && g_strcmp0 (name, self->name) != 0)
          {
            g_free (self->name);
            self->name = g_strdup (name);
            g_object_notify_by_pspec (object, pspec);
          }
      }
      break;

    case PROP_DIE_WITH_PARENT:
      gipc_process_set_die_with_parent (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gipc_process_class_init (GipcProcessClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = gipc_process_constructed;
  object_class->dispose = gipc_process_dispose;
  object_class->finalize = gipc_process_finalize;
  object_class->get_property = gipc_process_get_property;
  object_class->set_property = gipc_process_set_property;

  /**
   * GipcProcess:pid:
   *
   * The process id of the child: 0 before [method@Gipc.Process.start],
   * and still the child's id after it exited. Inside a fork-mode child,
   * the child's own id.
   *
   * Since: 1.0
   */
  properties[PROP_PID] =
    g_param_spec_int ("pid", NULL, NULL,
                      0, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcProcess:name:
   *
   * A name for the process, used in error messages and logs. Defaults to
   * `GipcProcess-N`, with N counting the processes made by this program.
   *
   * Since: 1.0
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                         G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcProcess:alive:
   *
   * Whether the child was started and its exit has not been seen yet. It
   * turns %FALSE in the start caller's thread-default main context as soon
   * as the child exits, whether or not anybody joins (or earlier, in the
   * thread of a [method@Gipc.Process.join] that sees the exit first).
   *
   * Since: 1.0
   */
  properties[PROP_ALIVE] =
    g_param_spec_boolean ("alive", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcProcess:exit-code:
   *
   * How the child ended: its exit status (0 to 255), or -N if signal N
   * killed it. Meaningful only once [property@Gipc.Process:alive] turned
   * %FALSE after a start; 0 until then.
   *
   * Since: 1.0
   */
  properties[PROP_EXIT_CODE] =
    g_param_spec_int ("exit-code", NULL, NULL,
                      G_MININT, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcProcess:die-with-parent:
   *
   * Whether the child is killed (`SIGKILL`) when the parent dies, through
   * `PR_SET_PDEATHSIG`. Takes effect at [method@Gipc.Process.start]. As
   * with `PR_SET_PDEATHSIG` itself, "the parent" is the thread that called
   * start: start from a thread that lives as long as the program.
   *
   * Since: 1.0
   */
  properties[PROP_DIE_WITH_PARENT] =
    g_param_spec_boolean ("die-with-parent", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * GipcProcess::exited:
   * @process: the process
   * @exit_code: the exit status (0 to 255), or -N if signal N killed the
   *   child
   *
   * Emitted once, when the child has exited and was reaped, in the main
   * context that was the thread-default one of the
   * [method@Gipc.Process.start] caller. It is emitted also when a
   * [method@Gipc.Process.join] saw the exit first, and before pending
   * [method@Gipc.Process.join_async] calls complete.
   *
   * Since: 1.0
   */
  signals[SIGNAL_EXITED] =
    g_signal_new ("exited",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  g_cclosure_marshal_VOID__INT,
                  G_TYPE_NONE, 1, G_TYPE_INT);
  g_signal_set_va_marshaller (signals[SIGNAL_EXITED],
                              G_TYPE_FROM_CLASS (klass),
                              g_cclosure_marshal_VOID__INTv);
}

static void
gipc_process_init (GipcProcess *self)
{
  g_mutex_init (&self->lock);
  self->channels = g_ptr_array_new_with_free_func (g_object_unref);
  self->pidfd = -1;
  g_queue_init (&self->join_tasks);
}

/* ------------------------------------------------------------------ */
/* Construction                                                        */

/**
 * gipc_process_new:
 * @target: (scope notified) (closure user_data) (destroy notify): the
 *   function the child runs; its return value is the child's exit status
 * @user_data: data for @target
 * @notify: (nullable): frees @user_data; called once, in the parent, when
 *   the process object is finalized (never in the child)
 *
 * Makes a fork-mode process: [method@Gipc.Process.start] forks, and the
 * child runs @target after discarding what it inherited from the parent's
 * main contexts and closing the channels not passed to it (see
 * [class@Gipc.Process]). A target that returns gives its return value as
 * exit status; one that calls `exit (n)` gives n.
 *
 * Returns: (transfer full): a new, unstarted process
 *
 * Since: 1.0
 */
GipcProcess *
gipc_process_new (GipcProcessFunc target,
                  gpointer        user_data,
                  GDestroyNotify  notify)
{
  GipcProcess *self;

  g_return_val_if_fail (target != NULL, NULL);

  self = g_object_new (GIPC_TYPE_PROCESS, NULL);
  self->target = target;
  self->target_data = user_data;
  self->target_notify = notify;

  return self;
}

/**
 * gipc_process_new_for_argv:
 * @argv: (array zero-terminated=1) (element-type filename): the program
 *   and its arguments; `argv[0]` is looked up in `PATH` unless it contains
 *   a slash
 * @error: return location for a #GError
 *
 * Makes a spawn-mode process: [method@Gipc.Process.start] forks and
 * executes the program, which inherits stdin, stdout, stderr and the
 * passed channels only (announced in `GIPC_CHANNEL_FDS`, opened with
 * [ctor@Gipc.Channel.new_inherited]), with default signal dispositions and
 * an empty signal mask. Safe in multi-threaded programs.
 *
 * A program that cannot be found or executed makes
 * [method@Gipc.Process.start] fail with %GIPC_ERROR_SPAWN_FAILED.
 *
 * Returns: (transfer full): a new, unstarted process, or %NULL with
 *   %GIPC_ERROR_FAILED if @argv names no program (an empty `argv[0]`)
 *
 * Since: 1.0
 */
GipcProcess *
gipc_process_new_for_argv (const gchar * const  *argv,
                           GError              **error)
{
  GipcProcess *self;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (argv[0][0] == '\0')
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "Cannot make a process: the program name (argv[0]) is empty");
      return NULL;
    }

  self = g_object_new (GIPC_TYPE_PROCESS, NULL);
  self->argv = g_strdupv ((char **) argv);

  return self;
}

/**
 * gipc_process_pass_channel:
 * @self: a process that was not started yet
 * @channel: a channel to give to the child
 *
 * Gives @channel to the child: it stays open there (in fork mode, the
 * child uses the very same object; in spawn mode, the program gets it
 * with [ctor@Gipc.Channel.new_inherited], by pass order), and it is closed
 * in the parent right after the fork (gipc: handles given to a child are
 * closed in the parent).
 *
 * [method@Gipc.Process.start] fails before forking, with
 * %GIPC_ERROR_CLOSED, if @channel is closed or was passed to a process
 * that started, and with %GIPC_ERROR_LOCKED if an operation is in progress
 * on it.
 *
 * Since: 1.0
 */
void
gipc_process_pass_channel (GipcProcess *self,
                           GipcChannel *channel)
{
  g_return_if_fail (GIPC_IS_PROCESS (self));
  g_return_if_fail (GIPC_IS_CHANNEL (channel));
  g_return_if_fail (self->state == STATE_NEW);
  g_return_if_fail (!g_ptr_array_find (self->channels, channel, NULL));

  g_ptr_array_add (self->channels, g_object_ref (channel));
}

/* ------------------------------------------------------------------ */
/* Starting                                                            */

/* In the parent, right after a successful fork (and exec). */
static void
process_started (GipcProcess *self,
                 GPid         pid,
                 int          pidfd)
{
  guint i;

  for (i = 0; i < self->channels->len; i++)
    gipc_channel_mark_passed (g_ptr_array_index (self->channels, i));
  g_ptr_array_set_size (self->channels, 0);

  g_mutex_lock (&self->lock);
  self->pid = pid;
  self->pidfd = pidfd;
  self->state = STATE_RUNNING;
  g_mutex_unlock (&self->lock);

  watch_child (self);

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PID]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALIVE]);
  g_object_thaw_notify (G_OBJECT (self));
}

G_GNUC_NORETURN static void
run_fork_child (GipcProcess *self,
                pid_t        parent_pid)
{
  gint status;

  gipc_channel_registry_unlock ();

  if (self->die_with_parent && !gipc_child_setup_die_with_parent (parent_pid))
    {
      g_printerr ("%s: cannot set PR_SET_PDEATHSIG: %s\n", self->name, g_strerror (errno));
      _exit (127);
    }

  /* The child's copy of the object describes the child itself. */
  g_mutex_init (&self->lock);
  self->in_child = TRUE;
  self->state = STATE_RUNNING;
  self->pid = getpid ();
  self->pidfd = -1;
  g_queue_init (&self->join_tasks);
  /* Dropped without unref: nothing of the parent's is finalized here. */
  self->context = NULL;

  gipc_child_setup_after_fork ((GipcChannel * const *) self->channels->pdata,
                               self->channels->len);

  status = self->target (self, self->target_data);

  gipc_channel_flush_all ();
  fflush (NULL);
  _exit (status);
}

static gboolean
start_fork (GipcProcess  *self,
            GError      **error)
{
  sigset_t all_signals;
  sigset_t old_mask;
  pid_t parent_pid = getpid ();
  pid_t pid;
  int errsv;

  /* Whatever is buffered would otherwise be written twice. */
  fflush (NULL);

  /* No handler of the parent may run in the child before the reset. */
  sigfillset (&all_signals);
  pthread_sigmask (SIG_SETMASK, &all_signals, &old_mask);

  gipc_channel_registry_lock ();
  pid = fork ();
  if (pid == 0)
    run_fork_child (self, parent_pid);
  errsv = errno;
  gipc_channel_registry_unlock ();

  pthread_sigmask (SIG_SETMASK, &old_mask, NULL);

  if (pid < 0)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot fork process “%s”: %s", self->name, g_strerror (errsv));
      return FALSE;
    }

  process_started (self, pid, pidfd_open_cloexec (pid));
  return TRUE;
}

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

static gboolean
start_spawn (GipcProcess  *self,
             GError      **error)
{
  g_autofree char *path = NULL;
  g_autoptr(GString) announced = g_string_new (NULL);
  g_autoptr(GArray) keep_fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GArray) low_dups = g_array_new (FALSE, FALSE, sizeof (int));
  g_auto(GStrv) envp = NULL;
  GipcChildExecData data;
  sigset_t all_signals;
  sigset_t old_mask;
  int status_pipe[2];
  int child_errno = 0;
  ssize_t n;
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

      gipc_channel_get_fds (g_ptr_array_index (self->channels, i), &fds[0], &fds[1]);
      for (k = 0; k < 2; k++)
        {
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

  if (!g_unix_open_pipe (status_pipe, FD_CLOEXEC, NULL))
    {
      errsv = errno;
      for (i = 0; i < low_dups->len; i++)
        close (g_array_index (low_dups, int, i));
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot start process “%s”: pipe: %s",
                   self->name, g_strerror (errsv));
      return FALSE;
    }

  memset (&data, 0, sizeof data);
  data.path = path;
  data.argv = self->argv;
  data.envp = envp;
  data.keep_fds = (const int *) (gpointer) keep_fds->data;
  data.n_keep_fds = keep_fds->len;
  data.status_fd = status_pipe[1];
  data.die_with_parent = self->die_with_parent;
  data.parent_pid = getpid ();
  data.max_fd = (int) MIN (sysconf (_SC_OPEN_MAX), 65536);
  if (data.max_fd < 0)
    data.max_fd = 1024;

  sigfillset (&all_signals);
  pthread_sigmask (SIG_SETMASK, &all_signals, &old_mask);
  pid = fork ();
  if (pid == 0)
    gipc_child_setup_exec (&data);
  errsv = errno;
  pthread_sigmask (SIG_SETMASK, &old_mask, NULL);

  close (status_pipe[1]);
  for (i = 0; i < low_dups->len; i++)
    close (g_array_index (low_dups, int, i));

  if (pid < 0)
    {
      close (status_pipe[0]);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot fork process “%s”: %s", self->name, g_strerror (errsv));
      return FALSE;
    }

  /* Before anything could reap it. */
  pidfd = pidfd_open_cloexec (pid);

  /* The status pipe closes on exec; before that, the child writes errno. */
  do
    n = read (status_pipe[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  close (status_pipe[0]);

  if (n == sizeof child_errno)
    {
      int wait_status;

      /* Our own child that never ran anything: reap it now. */
      while (waitpid (pid, &wait_status, 0) < 0 && errno == EINTR)
        ;
      if (pidfd >= 0)
        close (pidfd);

      /* The child made the passed fds blocking; they are the parent's
       * again. */
      for (i = 0; i < keep_fds->len; i++)
        set_nonblocking (g_array_index (keep_fds, int, i));

      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Failed to execute “%s” for process “%s”: %s",
                   path, self->name, g_strerror (child_errno));
      return FALSE;
    }

  process_started (self, pid, pidfd);
  return TRUE;
}

/**
 * gipc_process_start:
 * @self: a process
 * @error: return location for a #GError
 *
 * Starts the child. The stdio buffers are flushed, then the process forks
 * (and, in spawn mode, executes the program). The passed channels are
 * closed in the parent. The exit will be reported in the thread-default
 * main context of the caller.
 *
 * Fails with %GIPC_ERROR_ALREADY_STARTED if the process was started
 * already; before forking with %GIPC_ERROR_CLOSED or %GIPC_ERROR_LOCKED if
 * a passed channel cannot be passed (see
 * [method@Gipc.Process.pass_channel]); with %GIPC_ERROR_SPAWN_FAILED if
 * forking, executing or setting up the child failed.
 *
 * Fork mode is refused (%GIPC_ERROR_SPAWN_FAILED, before anything changes)
 * in a process that runs a JavaScript engine (gjs): its helper threads do
 * not survive fork(), and a forked gjs child hangs in its garbage
 * collector. Use spawn mode there.
 *
 * Returns: %TRUE if the child was started
 *
 * Since: 1.0
 */
gboolean
gipc_process_start (GipcProcess  *self,
                    GError      **error)
{
  gboolean for_exec;
  guint i;

  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (self->target != NULL || self->argv != NULL, FALSE);

  if (self->state != STATE_NEW)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_ALREADY_STARTED,
                   "Process “%s” was already started", self->name);
      return FALSE;
    }

  for_exec = self->argv != NULL;

  if (!for_exec)
    {
      const char *runtime = gipc_child_setup_find_fork_unsafe_runtime ();

      if (runtime != NULL)
        {
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Cannot start process “%s” in fork mode: this process runs %s, "
                       "whose threads do not survive fork(); use spawn mode "
                       "(gipc_process_new_for_argv) instead",
                       self->name, runtime);
          return FALSE;
        }
    }

  for (i = 0; i < self->channels->len; i++)
    {
      if (!gipc_channel_prepare_pass (g_ptr_array_index (self->channels, i), for_exec, error))
        {
          g_prefix_error (error, "Cannot pass channel %u to process “%s”: ", i, self->name);
          return FALSE;
        }
    }

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();

  return for_exec ? start_spawn (self, error) : start_fork (self, error);
}

/* ------------------------------------------------------------------ */
/* Joining                                                             */

static gboolean
check_started (GipcProcess  *self,
               GError      **error)
{
  if (self->state == STATE_NEW)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_NOT_STARTED,
                   "Process “%s” was not started", self->name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
join_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  GTask *task = user_data;
  GipcProcess *self = g_task_get_source_object (task);
  gboolean removed;

  g_mutex_lock (&self->lock);
  removed = g_queue_remove (&self->join_tasks, task);
  g_mutex_unlock (&self->lock);

  if (removed)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "Operation was cancelled");
      g_object_unref (task);
    }

  return G_SOURCE_REMOVE;
}

/**
 * gipc_process_join_async:
 * @self: a process
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the child has exited
 * @user_data: data for @callback
 *
 * Waits for the child to exit without blocking. @callback runs in the
 * thread-default main context of the caller once the child has exited and
 * was reaped (after [signal@Gipc.Process::exited]); call
 * [method@Gipc.Process.join_finish] from it.
 *
 * Since: 1.0
 */
void
gipc_process_join_async (GipcProcess         *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  JoinData *data;

  g_return_if_fail (GIPC_IS_PROCESS (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gipc_process_join_async);
  g_task_set_name (task, "[gipc] process join");
  data = g_new0 (JoinData, 1);
  g_task_set_task_data (task, data, (GDestroyNotify) join_data_free);

  g_mutex_lock (&self->lock);

  if (self->state == STATE_NEW)
    {
      g_mutex_unlock (&self->lock);
      g_task_return_new_error (task, GIPC_ERROR, GIPC_ERROR_NOT_STARTED,
                               "Process “%s” was not started", self->name);
      return;
    }

  if (self->state == STATE_REAPED)
    {
      g_mutex_unlock (&self->lock);
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (g_cancellable_is_cancelled (cancellable))
    {
      g_mutex_unlock (&self->lock);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "Operation was cancelled");
      return;
    }

  g_queue_push_tail (&self->join_tasks, g_object_ref (task));

  if (cancellable != NULL)
    {
      data->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (data->cancel_source, (GSourceFunc) (void (*) (void)) join_cancelled_cb,
                             g_object_ref (task), g_object_unref);
      g_source_set_static_name (data->cancel_source, "[gipc-process-join-cancel]");
      g_source_attach (data->cancel_source, g_task_get_context (task));
    }

  g_mutex_unlock (&self->lock);
}

/**
 * gipc_process_join_finish:
 * @self: a process
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Process.join_async]. The exit code is then
 * [method@Gipc.Process.get_exit_code].
 *
 * Returns: %TRUE once the child has exited; %FALSE with
 *   %GIPC_ERROR_NOT_STARTED or %G_IO_ERROR_CANCELLED
 *
 * Since: 1.0
 */
gboolean
gipc_process_join_finish (GipcProcess   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gipc_process_join:
 * @self: a process
 * @timeout_ms: how long to wait at most, in milliseconds; -1 for no limit
 * @error: return location for a #GError
 *
 * Waits for the child to exit, blocking the calling thread. Like every
 * sync call of this library, it does not dispatch the caller's main
 * context: the exit is observed directly (without reaping the child), so
 * [property@Gipc.Process:alive] and [property@Gipc.Process:exit-code] are
 * up to date when it returns. The child is reaped, and
 * [signal@Gipc.Process::exited] emitted, when the start caller's main
 * context runs next.
 *
 * Returns: %TRUE once the child has exited; %FALSE with
 *   %G_IO_ERROR_TIMED_OUT if it still runs after @timeout_ms, or
 *   %GIPC_ERROR_NOT_STARTED
 *
 * Since: 1.0
 */
gboolean
gipc_process_join (GipcProcess  *self,
                   gint          timeout_ms,
                   GError      **error)
{
  gint64 deadline = -1;
  gulong backoff_us = 500;

  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);
  g_return_val_if_fail (timeout_ms >= -1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (!self->in_child, FALSE);

  if (!check_started (self, error))
    return FALSE;

  if (timeout_ms >= 0)
    deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;)
    {
      ProcessState state;
      gint exit_code = 0;
      gint wait_ms = -1;
      int pidfd;
      GPid pid;
      int r;

      g_mutex_lock (&self->lock);
      state = self->state;
      pidfd = self->pidfd;
      pid = self->pid;
      g_mutex_unlock (&self->lock);

      if (state != STATE_RUNNING)
        return TRUE;

      r = peek_exit (pidfd, pid, &exit_code);
      if (r > 0)
        {
          record_exit (self, exit_code);
          return TRUE;
        }
      if (r < 0)
        {
          int errsv = errno;

          /* The main context reaps only after recording the exit. */
          g_mutex_lock (&self->lock);
          state = self->state;
          g_mutex_unlock (&self->lock);
          if (state != STATE_RUNNING)
            return TRUE;

          g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                       "Cannot wait for process “%s” (pid %d): %s",
                       self->name, (int) pid, g_strerror (errsv));
          return FALSE;
        }

      if (deadline >= 0)
        {
          gint64 now = g_get_monotonic_time ();

          if (now >= deadline)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "Process “%s” still runs after %d ms",
                           self->name, timeout_ms);
              return FALSE;
            }
          wait_ms = (gint) ((deadline - now + 999) / 1000);
        }

      if (pidfd >= 0)
        {
          struct pollfd pfd = { pidfd, POLLIN, 0 };

          /* EINTR or not, the loop looks again. */
          (void) poll (&pfd, 1, wait_ms);
        }
      else
        {
          /* No pidfd (old kernel, valgrind): look again soon. */
          gulong sleep_us = backoff_us;

          if (wait_ms >= 0)
            sleep_us = MIN (sleep_us, (gulong) wait_ms * 1000);
          g_usleep (sleep_us);
          backoff_us = MIN (backoff_us * 2, 20000);
        }
    }
}

/* ------------------------------------------------------------------ */
/* State                                                               */

/**
 * gipc_process_is_alive:
 * @self: a process
 *
 * Whether the child was started and its exit was not seen yet (see
 * [property@Gipc.Process:alive]).
 *
 * Returns: %TRUE while the child runs
 *
 * Since: 1.0
 */
gboolean
gipc_process_is_alive (GipcProcess *self)
{
  gboolean alive;

  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);

  g_mutex_lock (&self->lock);
  alive = self->state == STATE_RUNNING;
  g_mutex_unlock (&self->lock);

  return alive;
}

/**
 * gipc_process_get_exit_code:
 * @self: a process whose child has exited
 *
 * How the child ended. Calling this before the child exited is a
 * programmer error: check [method@Gipc.Process.is_alive] or join first.
 *
 * Returns: the exit status (0 to 255), or -N if signal N killed the child
 *
 * Since: 1.0
 */
gint
gipc_process_get_exit_code (GipcProcess *self)
{
  gint exit_code;
  ProcessState state;

  g_return_val_if_fail (GIPC_IS_PROCESS (self), 0);

  g_mutex_lock (&self->lock);
  state = self->state;
  exit_code = self->exit_code;
  g_mutex_unlock (&self->lock);

  g_return_val_if_fail (state == STATE_EXITED || state == STATE_REAPED, 0);

  return exit_code;
}

/**
 * gipc_process_get_pid:
 * @self: a process
 *
 * Gets [property@Gipc.Process:pid].
 *
 * Returns: the child's process id, or 0 before it was started
 *
 * Since: 1.0
 */
GPid
gipc_process_get_pid (GipcProcess *self)
{
  GPid pid;

  g_return_val_if_fail (GIPC_IS_PROCESS (self), 0);

  g_mutex_lock (&self->lock);
  pid = self->pid;
  g_mutex_unlock (&self->lock);

  return pid;
}

/**
 * gipc_process_get_name:
 * @self: a process
 *
 * Gets [property@Gipc.Process:name].
 *
 * Returns: (transfer none): the name of the process
 *
 * Since: 1.0
 */
const gchar *
gipc_process_get_name (GipcProcess *self)
{
  g_return_val_if_fail (GIPC_IS_PROCESS (self), NULL);

  return self->name;
}

/**
 * gipc_process_get_die_with_parent:
 * @self: a process
 *
 * Gets [property@Gipc.Process:die-with-parent].
 *
 * Returns: whether the child is killed when the parent dies
 *
 * Since: 1.0
 */
gboolean
gipc_process_get_die_with_parent (GipcProcess *self)
{
  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);

  return self->die_with_parent;
}

/**
 * gipc_process_set_die_with_parent:
 * @self: a process
 * @die_with_parent: whether the child is killed when the parent dies
 *
 * Sets [property@Gipc.Process:die-with-parent]. It takes effect at
 * [method@Gipc.Process.start].
 *
 * Since: 1.0
 */
void
gipc_process_set_die_with_parent (GipcProcess *self,
                                  gboolean     die_with_parent)
{
  g_return_if_fail (GIPC_IS_PROCESS (self));

  die_with_parent = !!die_with_parent;
  if (self->die_with_parent == die_with_parent)
    return;

  self->die_with_parent = die_with_parent;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIE_WITH_PARENT]);
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */

/**
 * gipc_process_send_signal:
 * @self: a process
 * @signum: the signal to send, for example `SIGUSR1`
 * @error: return location for a #GError
 *
 * Sends a signal to the child. After the child exited this does nothing
 * and returns %TRUE; a signal never reaches another process that reuses
 * the child's id.
 *
 * Returns: %TRUE on success; %FALSE with %GIPC_ERROR_NOT_STARTED, or
 *   %GIPC_ERROR_FAILED if the signal could not be sent
 *
 * Since: 1.0
 */
gboolean
gipc_process_send_signal (GipcProcess  *self,
                          gint          signum,
                          GError      **error)
{
  int r = 0;
  int errsv = 0;
  GPid pid;

  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);
  g_return_val_if_fail (signum >= 0 && signum < NSIG, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_started (self, error))
    return FALSE;

  /* Under the lock, a RUNNING child is not reaped yet (the reaping watch
   * is made only after the state leaves RUNNING), so its pid cannot have
   * been reused. The pidfd makes that true even against a stray waitpid. */
  g_mutex_lock (&self->lock);
  pid = self->pid;
  if (self->state == STATE_RUNNING)
    {
      if (self->pidfd >= 0)
        r = pidfd_send (self->pidfd, signum);
      else
        r = kill (pid, signum);
      errsv = errno;
    }
  g_mutex_unlock (&self->lock);

  /* ESRCH: it exited in the meantime. */
  if (r < 0 && errsv != ESRCH)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Cannot send signal %d to process “%s” (pid %d): %s",
                   signum, self->name, (int) pid, g_strerror (errsv));
      return FALSE;
    }

  return TRUE;
}

/**
 * gipc_process_terminate:
 * @self: a process
 * @error: return location for a #GError
 *
 * Sends `SIGTERM` to the child (see [method@Gipc.Process.send_signal]).
 * Unless the child handles it, its exit code becomes -15.
 *
 * Returns: %TRUE on success, or if the child had exited already
 *
 * Since: 1.0
 */
gboolean
gipc_process_terminate (GipcProcess  *self,
                        GError      **error)
{
  return gipc_process_send_signal (self, SIGTERM, error);
}

/**
 * gipc_process_kill:
 * @self: a process
 * @error: return location for a #GError
 *
 * Sends `SIGKILL` to the child (see [method@Gipc.Process.send_signal]):
 * its exit code becomes -9.
 *
 * Returns: %TRUE on success, or if the child had exited already
 *
 * Since: 1.0
 */
gboolean
gipc_process_kill (GipcProcess  *self,
                   GError      **error)
{
  return gipc_process_send_signal (self, SIGKILL, error);
}
