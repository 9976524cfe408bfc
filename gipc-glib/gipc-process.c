/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The process object: construction, properties, the exited signal, join,
 * signals to the child, the sandbox and memory-limit setters, and the
 * bookkeeping of the child's exit in the start caller's context. Making
 * the child is the business of one file per way (gipc-process-fork.c,
 * gipc-process-spawn.c, gipc-process-server.c), reaping that of
 * gipc-reaper.c. This file never forks, and runs nothing in a child.
 */

#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <glib-unix.h>

#include "gipc-channel-private.h"
#include "gipc-child-setup-private.h"
#include "gipc-enum-types.h"
#include "gipc-error.h"
#include "gipc-fork-server-private.h"
#include "gipc-process-private.h"
#include "gipc-reaper-private.h"
#include "gipc-sandbox-private.h"

/**
 * GipcProcess:
 *
 * A child process, started in one of three ways:
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
 * - fork-server mode ([ctor@Gipc.Process.new_for_target]): a
 *   [class@Gipc.ForkServer] started early makes the child, which runs a
 *   named [callback@Gipc.TargetFunc]; safe in multi-threaded programs, and
 *   its cost does not grow with the program's age. The child is the
 *   server's child (the program signals it through a pidfd and gets its
 *   exit status from the server), and opens the passed channels with
 *   [ctor@Gipc.Channel.new_inherited].
 *
 * In every mode the passed channels are closed in the parent right after
 * the fork. The exit is reported in the main context that was the
 * thread-default one of the [method@Gipc.Process.start] caller, whether or
 * not anybody joins: [property@Gipc.Process:alive] and
 * [property@Gipc.Process:exit-code] change and [signal@Gipc.Process::exited]
 * is emitted there, after every message the child wrote before it exited
 * on a channel whose other end the parent holds was handed to the pending
 * receives and message handlers of that context; notifications never come
 * from another thread. Every child is reaped by the library (a small
 * thread waits for each running child), so a program that never iterates
 * a main context leaves no zombie and no fd behind, and a blocking
 * [method@Gipc.Process.join] leaves no object either. A process object
 * that is dropped while its child runs stays alive until the child exits
 * and the start context reports it (or that context is dropped). See
 * [Starting and ending processes](processes.html).
 *
 * Fork without exec is outside what GLib promises: see
 * [Fork safety](fork-safety.html) for what works in a fork-mode child
 * (timeouts, idles, child watches, fd sources, channels) and what may not
 * (GDBus, `g_unix_signal_add()`, work on GTask's thread pool, in a child of
 * a parent that had used them).
 *
 * In either mode the child can be sandboxed before its target runs or its
 * program is executed ([property@Gipc.Process:sandbox],
 * [method@Gipc.Process.sandbox_allow_path],
 * [property@Gipc.Process:memory-limit]): no network, no filesystem but
 * the allowed paths, no dangerous system calls. The sandbox is prepared
 * in the parent and applied in the child with async-signal-safe system
 * calls only; [property@Gipc.Process:sandbox-applied] tells what the child
 * got.
 *
 * Since: 1.0
 */

G_DEFINE_FINAL_TYPE (GipcProcess, gipc_process, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PID,
  PROP_NAME,
  PROP_ALIVE,
  PROP_EXIT_CODE,
  PROP_DIE_WITH_PARENT,
  PROP_WARN_IF_THREADED,
  PROP_SANDBOX,
  PROP_MEMORY_LIMIT,
  PROP_SANDBOX_APPLIED,
  PROP_CORE_DUMPED,
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
/* Exit bookkeeping                                                    */

/* Reaping.
 *
 * Exactly one party reaps a child, and only the library's own children:
 * whoever first sees the exit under the lock while the state is RUNNING
 * (a sync join, in any thread, or the reaper thread, see
 * gipc-reaper.c)
 * reaps it with waitid() on the pidfd (or the pid, without pidfds) and
 * moves the state to EXITED; the pidfd is closed then. No GChildWatch is
 * ever made for a child that the library reaps itself. Since the state
 * leaves RUNNING only under the lock in the same step as the reap, signals
 * sent under the lock never reach a reused pid.
 *
 * Notifications. notify::alive, notify::exit-code, "exited" and the
 * join_async callbacks come from one idle source (the "report") attached
 * to the start caller's context once the child was reaped, never from the
 * thread that reaped it.
 *
 * Lifetime. While the child runs, its watch in the reaper thread holds a strong
 * reference on the process, so a dropped process still reports its exit;
 * that thread reaps it whether or not a context runs, so a program that
 * never iterates one keeps no zombie and no fd. The report holds a strong
 * reference (nobody else may hold one: exited is still emitted, as
 * GSubprocess does), turned into a weak one once a sync join returned (a
 * blocking program gets its process finalized on its last unref; exited
 * is emitted if the context runs while the process lives). If the last
 * reference is dropped while the reaper thread reports, the process may be
 * finalized in that thread. The report keeps the start context only until it is attached:
 * a context dropped unfired takes the report, and its reference, along.
 * A status collected by someone else (waitpid (-1) elsewhere) is reported
 * as GIPC_PROCESS_EXIT_CODE_UNKNOWN, never as a made-up code.
 *
 * Fork-server children are the server's, not ours: waitid() cannot see
 * them. The reaper thread waits for the server's report fd
 * (server_status_fd) instead, and "reaping" is reading that report
 * (gipc_fork_server_child_try_reap(), under the lock as above). If the
 * server died first, try_reap puts the child's pidfd on the report fd's
 * number: the reaper thread and join wait on a fresh copy of exit_fd()
 * each time round, never again on the dead socket (readable for good),
 * and the exit is then reported with the status the child sent itself as
 * it exited, or as GIPC_PROCESS_EXIT_CODE_UNKNOWN if it sent none (killed
 * by a signal). */

/* What tells of the child's exit: the fork server's report for its
 * children, else the pidfd (-1: none, poll). */
static int
exit_fd (GipcProcess *self)
{
  return self->server_status_fd >= 0 ? self->server_status_fd : self->pidfd;
}

/* Under the lock, state RUNNING. Returns TRUE if the child was reaped now
 * (state EXITED, exit_code set, pidfd closed). */
static gboolean
try_reap_locked (GipcProcess *self)
{
  GipcReapResult result;

  g_assert (self->state == STATE_RUNNING);

  /* A fork-server child is the server's: its report says how it ended. */
  if (self->server_status_fd >= 0)
    result = gipc_fork_server_child_try_reap (self->server_status_fd, self->pidfd,
                                              &self->server_reap, &self->exit_code,
                                              &self->core_dumped);
  else
    result = gipc_reaper_try_reap (self->pid, self->pidfd, &self->exit_code,
                                   &self->core_dumped);
  if (result == GIPC_REAP_RUNNING)
    return FALSE;

  /* Signals after the exit do nothing: the pidfd is not needed, nor the
   * server's report. */
  if (self->pidfd >= 0)
    close (self->pidfd);
  self->pidfd = -1;
  if (self->server_status_fd >= 0)
    close (self->server_status_fd);
  self->server_status_fd = -1;

  if (result == GIPC_REAP_LOST)
    {
      self->exit_code = GIPC_PROCESS_EXIT_CODE_UNKNOWN;
      if (self->server_reap.server_gone)
        g_debug ("Process “%s” (pid %d): the fork server died before it "
                 "reported the child's exit; reporting it as unknown",
                 self->name, (int) self->pid);
      else
        g_debug ("Process “%s” (pid %d): its exit status was collected by "
                 "someone else (a waitpid (-1) of the program?); reporting it "
                 "as unknown", self->name, (int) self->pid);
    }

  self->state = STATE_EXITED;
  return TRUE;
}

typedef struct
{
  GCancellable *cancellable;
  gulong        cancelled_id;
} JoinData;

static void
join_data_free (JoinData *data)
{
  /* Never from the cancelled handler itself: it clears the id first. */
  if (data->cancelled_id != 0)
    g_cancellable_disconnect (data->cancellable, data->cancelled_id);
  g_clear_object (&data->cancellable);
  g_free (data);
}

/* In the start context, once reaped: ::exited, then every pending join.
 * The caller holds a reference on @self. */
static void
emit_exited (GipcProcess *self)
{
  GQueue tasks = G_QUEUE_INIT;
  GTask *task;
  gint exit_code;

  g_mutex_lock (&self->lock);
  g_assert (self->state == STATE_EXITED);
  self->state = STATE_DONE;
  exit_code = self->exit_code;
  tasks = self->join_tasks;
  g_queue_init (&self->join_tasks);
  g_mutex_unlock (&self->lock);

  g_signal_emit (self, signals[SIGNAL_EXITED], 0, exit_code);

  while ((task = g_queue_pop_head (&tasks)) != NULL)
    {
      JoinData *data = g_task_get_task_data (task);

      /* Waits for a cancelled handler running in another thread, which
       * finds the task gone from the queue and leaves it alone. */
      if (data->cancelled_id != 0)
        {
          g_cancellable_disconnect (data->cancellable, data->cancelled_id);
          data->cancelled_id = 0;
        }
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

/* "exited" comes after the child's last message: every message it wrote
 * before exiting on a channel whose other end this process holds is
 * handed to the pending receives and message handlers first (those
 * running in this context). */
static void
drain_peers (GipcProcess *self)
{
  for (guint i = 0; i < self->drain_peers->len; i++)
    {
      g_autoptr(GipcChannel) peer = g_weak_ref_get (g_ptr_array_index (self->drain_peers, i));

      if (peer != NULL)
        gipc_channel_drain_input (peer);
    }
  g_ptr_array_set_size (self->drain_peers, 0);
}

/* In the start context: the child was reaped. */
static void
report_exit (GipcProcess *self)
{
  gboolean emit;

  g_mutex_lock (&self->lock);
  emit = self->state == STATE_EXITED;
  g_clear_pointer (&self->report, g_source_unref);
  self->report_strong = FALSE;
  g_mutex_unlock (&self->lock);

  if (!emit)
    return;

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALIVE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXIT_CODE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CORE_DUMPED]);
  g_object_thaw_notify (G_OBJECT (self));

  drain_peers (self);
  emit_exited (self);
}

static gboolean
report_cb (gpointer user_data)
{
  report_exit (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
report_weak_cb (gpointer user_data)
{
  g_autoptr(GipcProcess) self = g_weak_ref_get (user_data);

  if (self != NULL)
    report_exit (self);
  return G_SOURCE_REMOVE;
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

/* The child's reaper thread, once it was reaped (state EXITED), once:
 * attaches the report to the start context. @strong is the thread's
 * reference on @self: the report keeps it, unless a sync join is waiting
 * or returned (a blocking program), which then gets it and drops it in
 * its own thread; the report then refers to @self weakly. @self is not
 * touched once the lock is released (a report may finalize it at once). */
static void
schedule_report (GipcProcess *self,
                 GipcProcess *strong)
{
  GMainContext *context;
  GSource *source = g_idle_source_new ();
  gboolean weak;

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[gipc-process-exit]");

  g_mutex_lock (&self->lock);
  context = g_steal_pointer (&self->start_context);
  weak = self->joined || context == NULL;
  if (context != NULL)
    {
      if (weak)
        {
          GWeakRef *ref = g_new0 (GWeakRef, 1);

          g_weak_ref_init (ref, self);
          g_source_set_callback (source, report_weak_cb, ref, weak_ref_free);
        }
      else
        {
          g_source_set_callback (source, report_cb, g_steal_pointer (&strong), g_object_unref);
        }
      /* Destroyed with the process (a weak one: a context that never runs
       * keeps nothing per process), made weak by a later join. */
      self->report = g_source_ref (source);
      self->report_strong = !weak;
      /* Attached before the lock goes: finalizing the process (right
       * after a join returned) destroys an attached report. */
      g_source_attach (source, context);
    }
  if (strong != NULL)
    {
      /* For the join to drop (none waits: the report ran already, or its
       * context is gone: the last one may be ours, dropped below). */
      if (self->joined)
        {
          self->handed_ref = TRUE;
          strong = NULL;
        }
    }
  self->reaper_active = FALSE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (context != NULL)
    g_main_context_unref (context);
  g_source_unref (source);
  g_clear_object (&strong);
}

/* A sync join returned: from now on the report refers to @self weakly, so
 * that a blocking program's last unref finalizes it. The caller holds a
 * reference. */
static void
joined (GipcProcess *self)
{
  GSource *report = NULL;
  gboolean handed;
  gboolean woken = FALSE;

  g_mutex_lock (&self->lock);
  self->joined = TRUE;
  /* The reaper thread finishes with the process before a join returns:
   * then the caller's last unref finalizes it, in the caller's thread. */
  while (self->reaper_active)
    {
      if (!woken)
        {
          /* Without a pidfd the reaper looks at the child on a backoff:
           * it looks now (not under our lock: its funcs take it). */
          woken = TRUE;
          g_mutex_unlock (&self->lock);
          gipc_reaper_wake ();
          g_mutex_lock (&self->lock);
          continue;
        }
      g_cond_wait (&self->cond, &self->lock);
    }
  handed = self->handed_ref;
  self->handed_ref = FALSE;
  if (self->report_strong)
    {
      report = g_source_ref (self->report);
      self->report_strong = FALSE;
    }
  g_mutex_unlock (&self->lock);

  if (report != NULL)
    {
      GWeakRef *ref = g_new0 (GWeakRef, 1);

      g_weak_ref_init (ref, self);
      /* Drops the report's strong reference (not the last: ours). */
      g_source_set_callback (report, report_weak_cb, ref, weak_ref_free);
      g_source_unref (report);
    }
  if (handed)
    g_object_unref (self);
}

/* The reaper thread: the child ended, or was reaped by a join. */
static gboolean
reaper_cb (gpointer user_data)
{
  GipcProcess *self = user_data;
  gboolean done;

  g_mutex_lock (&self->lock);
  if (self->state == STATE_RUNNING)
    try_reap_locked (self);
  done = self->state != STATE_RUNNING;
  g_mutex_unlock (&self->lock);

  if (!done)
    return FALSE;

  /* Our strong reference goes to the report (or is dropped here if a
   * join returned already). */
  schedule_report (self, self);
  return TRUE;
}

/* The reaper thread, for a fork-server child: its report fd became
 * readable (the report, or the server went away). Not done: waits next
 * for a fresh copy of what now tells of the exit (the report fd, or, once
 * the server died, the child's pidfd put on its number), never again for
 * the old copy, which stays readable at end of file. */
static gboolean
reaper_fd_cb (gpointer  user_data,
              int      *next_fd)
{
  GipcProcess *self = user_data;
  gboolean done;

  g_mutex_lock (&self->lock);
  if (self->state == STATE_RUNNING)
    try_reap_locked (self);
  done = self->state != STATE_RUNNING;
  if (!done)
    *next_fd = fcntl (exit_fd (self), F_DUPFD_CLOEXEC, 3);
  g_mutex_unlock (&self->lock);

  if (!done)
    return FALSE;

  schedule_report (self, self);
  return TRUE;
}

/* The child runs: the reaper thread watches it; the report will go to
 * @start_context (NULL: the caller's thread-default one). */
static void
watch_child (GipcProcess  *self,
             GMainContext *start_context)
{
  GMainContext *context = start_context != NULL
                          ? g_main_context_ref (start_context)
                          : g_main_context_ref_thread_default ();

  g_mutex_lock (&self->lock);
  self->start_context = context;
  g_mutex_unlock (&self->lock);

  g_mutex_lock (&self->lock);
  self->reaper_active = TRUE;
  g_mutex_unlock (&self->lock);
  /* A fork-server child is not ours: waitid() cannot wait for it. */
  if (self->server_status_fd >= 0)
    gipc_reaper_watch_fd (self->server_status_fd, reaper_fd_cb, g_object_ref (self));
  else
    gipc_reaper_watch (self->pid, self->pidfd, reaper_cb, g_object_ref (self));
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

  /* A weak report (a join reaped the child) that did not run yet. The
   * child is never running here: the reaper's watch holds a reference
   * until it was reaped. */
  if (self->report != NULL)
    {
      g_source_destroy (self->report);
      g_clear_pointer (&self->report, g_source_unref);
    }
  g_clear_pointer (&self->start_context, g_main_context_unref);

  g_assert (g_queue_is_empty (&self->join_tasks));

  if (self->pidfd >= 0)
    close (self->pidfd);
  if (self->server_status_fd >= 0)
    close (self->server_status_fd);

  /* Never in a fork-mode child, even if the target drops the last
   * reference to its process object: the data is the parent's. */
  if (self->target_notify != NULL && !self->in_child)
    self->target_notify (self->target_data);

  g_clear_pointer (&self->argv, g_strfreev);
  g_clear_object (&self->server);
  g_clear_pointer (&self->server_target, g_free);
  g_clear_pointer (&self->server_args, g_variant_unref);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->channels, g_ptr_array_unref);
  g_clear_pointer (&self->sandbox_paths, g_ptr_array_unref);
  g_clear_pointer (&self->drain_peers, g_ptr_array_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

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

    case PROP_CORE_DUMPED:
      g_value_set_boolean (value, gipc_process_get_core_dumped (self));
      break;

    case PROP_DIE_WITH_PARENT:
      g_value_set_boolean (value, self->die_with_parent);
      break;

    case PROP_WARN_IF_THREADED:
      g_value_set_boolean (value, self->warn_if_threaded);
      break;

    case PROP_SANDBOX:
      g_value_set_flags (value, self->sandbox);
      break;

    case PROP_MEMORY_LIMIT:
      g_value_set_uint64 (value, self->memory_limit);
      break;

    case PROP_SANDBOX_APPLIED:
      g_value_set_flags (value, gipc_process_get_sandbox_applied (self));
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

    case PROP_WARN_IF_THREADED:
      gipc_process_set_warn_if_threaded (self, g_value_get_boolean (value));
      break;

    case PROP_SANDBOX:
      gipc_process_set_sandbox (self, g_value_get_flags (value));
      break;

    case PROP_MEMORY_LIMIT:
      gipc_process_set_memory_limit (self, g_value_get_uint64 (value));
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
   * GipcProcess:alive: (getter is_alive)
   *
   * Whether the child was started and its exit has not been seen yet.
   * [method@Gipc.Process.is_alive] turns %FALSE as soon as the child was
   * reaped (by the library, or by a [method@Gipc.Process.join]);
   * notify::alive is emitted in the start caller's thread-default main
   * context, right before [signal@Gipc.Process::exited], never in the
   * thread of a join.
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
   * How the child ended: its exit status (0 to 255), -N if signal N
   * killed it, or %GIPC_PROCESS_EXIT_CODE_UNKNOWN if the program's own
   * `waitpid (-1)` took its status (or, for a fork-server child, the
   * server died before it reported the exit and the child could not say
   * it itself: it was killed by a signal, or called `_exit()`).
   * Meaningful only once [property@Gipc.Process:alive] turned %FALSE
   * after a start; 0 until then.
   *
   * Since: 1.0
   */
  properties[PROP_EXIT_CODE] =
    g_param_spec_int ("exit-code", NULL, NULL,
                      G_MININT, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcProcess:core-dumped: (getter get_core_dumped)
   *
   * Whether the signal that killed the child made the kernel dump a core
   * (`WCOREDUMP`, `CLD_DUMPED`): %TRUE only if
   * [property@Gipc.Process:exit-code] is a signal's (-N) and a core was
   * written as `/proc/sys/kernel/core_pattern` and the child's
   * `RLIMIT_CORE` allowed. For a fork-server child it comes from the
   * server's report (%FALSE if the server died before it). Notified with
   * [property@Gipc.Process:exit-code]; %FALSE while the child runs.
   *
   * Since: 1.0
   */
  properties[PROP_CORE_DUMPED] =
    g_param_spec_boolean ("core-dumped", NULL, NULL,
                          FALSE,
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

  /**
   * GipcProcess:warn-if-threaded:
   *
   * Whether [method@Gipc.Process.start] in fork mode says so, with
   * `g_warning()`, when the program has more than one thread. The child of
   * a multi-threaded parent inherits only the forking thread: a lock that
   * another thread held at the fork (in GObject, GIO, the C library's
   * allocator) stays locked for good, and about 2 % of such children that
   * touch GObject hang. The safe alternatives are spawn mode
   * ([ctor@Gipc.Process.new_for_argv]) and a fork server started before
   * any thread. The warning is given once per program. Set this to %FALSE
   * in a program that knows its target is safe there (it only calls
   * async-signal-safe functions, or the other threads never take such
   * locks), or set the environment variable `GIPC_NO_THREADS_WARNING=1` for
   * the whole program. Fork mode is never refused for threads. Defaults to
   * %TRUE; has no effect in spawn mode.
   *
   * Since: 1.0
   */
  properties[PROP_WARN_IF_THREADED] =
    g_param_spec_boolean ("warn-if-threaded", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcProcess:sandbox:
   *
   * What the child may not do (see [flags@Gipc.SandboxFlags]): applied in
   * the child before the target runs (fork mode) or before the program is
   * executed (spawn mode). Set before [method@Gipc.Process.start]. A
   * kernel without what the flags need makes start fail with
   * %GIPC_ERROR_SANDBOX_UNAVAILABLE, unless the flags include
   * %GIPC_SANDBOX_FLAGS_BEST_EFFORT; [property@Gipc.Process:sandbox-applied]
   * tells what the child got.
   *
   * Since: 1.0
   */
  properties[PROP_SANDBOX] =
    g_param_spec_flags ("sandbox", NULL, NULL,
                        GIPC_TYPE_SANDBOX_FLAGS, GIPC_SANDBOX_FLAGS_NONE,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcProcess:memory-limit:
   *
   * The most address space the child may use, in bytes (`RLIMIT_AS`, soft
   * and hard limit), or 0 for no limit. Allocations beyond it fail
   * (`malloc()` returns %NULL; `g_malloc()` aborts). It counts the whole
   * address space, so in fork mode also what the child inherited from the
   * parent. Independent of [property@Gipc.Process:sandbox]. Set before
   * [method@Gipc.Process.start].
   *
   * Since: 1.0
   */
  properties[PROP_MEMORY_LIMIT] =
    g_param_spec_uint64 ("memory-limit", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcProcess:sandbox-applied:
   *
   * The sandbox flags the running child really has: those of
   * [property@Gipc.Process:sandbox] that were applied, without
   * %GIPC_SANDBOX_FLAGS_BEST_EFFORT. Less than asked for only with
   * %GIPC_SANDBOX_FLAGS_BEST_EFFORT on a kernel that lacks something.
   * %GIPC_SANDBOX_FLAGS_NONE before [method@Gipc.Process.start]; inside a
   * fork-mode child, what that child has.
   *
   * Since: 1.0
   */
  properties[PROP_SANDBOX_APPLIED] =
    g_param_spec_flags ("sandbox-applied", NULL, NULL,
                        GIPC_TYPE_SANDBOX_FLAGS, GIPC_SANDBOX_FLAGS_NONE,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * GipcProcess::exited:
   * @process: the process
   * @exit_code: the exit status (0 to 255), -N if signal N killed the
   *   child, or %GIPC_PROCESS_EXIT_CODE_UNKNOWN
   *
   * Emitted once, when the child has exited and was reaped, in the main
   * context that was the thread-default one of the
   * [method@Gipc.Process.start] caller. Every message the child wrote
   * before it exited, on a channel whose other end this program holds (an
   * end made by the same [func@Gipc.pipe] as a passed one), was handed
   * first to the pending [method@Gipc.Channel.receive_async] callbacks and
   * [signal@Gipc.Channel::message] handlers of this context; a receive
   * made later gets the rest, then %GIPC_ERROR_PEER_CLOSED. It is emitted
   * also when a [method@Gipc.Process.join] saw the exit first, and before
   * pending [method@Gipc.Process.join_async] calls complete.
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
  g_cond_init (&self->cond);
  self->channels = g_ptr_array_new_with_free_func (g_object_unref);
  self->sandbox_paths = g_ptr_array_new_with_free_func ((GDestroyNotify) gipc_sandbox_path_free);
  self->drain_peers = g_ptr_array_new_with_free_func (weak_ref_free);
  self->pidfd = -1;
  self->server_status_fd = -1;
  self->warn_if_threaded = TRUE;
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
 * A program that cannot be found or executed, or a set-up step of the
 * child that fails (the error message names it), makes
 * [method@Gipc.Process.start] fail with %GIPC_ERROR_SPAWN_FAILED.
 *
 * `O_NONBLOCK` is a flag of the open file description, shared by every
 * process that has it open: the child clears it on the passed channels'
 * fds (the parent closes its copies at start), and
 * [ctor@Gipc.Channel.new_inherited] and [ctor@Gipc.Channel.new_from_fds]
 * in the program set it again. stdin, stdout and stderr are inherited
 * unchanged; a program that makes a channel of them with
 * [ctor@Gipc.Channel.new_from_fds] makes them non-blocking for the parent
 * and every other process that shares them too (a terminal, a shell's
 * pipe), which then see `EAGAIN`. Pass a channel instead, or reopen a pipe
 * or file through `/proc/self/fd/N` to get a description of its own.
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
 * gipc_process_new_for_target:
 * @server: a fork server
 * @name: the name of a target of @server
 * @args: (nullable): the arguments the target gets; a floating reference
 *   is sunk
 *
 * Makes a fork-server process: [method@Gipc.Process.start] asks @server
 * for a child that runs the target registered as @name with
 * [method@Gipc.ForkServer.add_target]. The child is the server's child,
 * not the calling process's: `waitpid()` and `GChildWatch` on its pid are
 * not supported, and the program's own `waitpid (-1)` never takes its
 * status. Otherwise it behaves as every other one (join, exit codes,
 * signals, [property@Gipc.Process:die-with-parent]); it starts as a copy of the
 * server (see [class@Gipc.ForkServer]), with an empty default main
 * context, and opens the passed channels with
 * [ctor@Gipc.Channel.new_inherited], by pass order, as a spawned program
 * does. Works from any thread, at a cost that does not grow with the age
 * of the program.
 *
 * [method@Gipc.Process.start] fails with %GIPC_ERROR_SPAWN_FAILED, saying
 * why, at once if @server was not started or has no target @name; a
 * server that died or does not answer is replaced (see
 * [class@Gipc.ForkServer]), and the start fails only if that fails too.
 * The process's [property@Gipc.Process:name] defaults to @name.
 *
 * Returns: (transfer full): a new, unstarted process
 *
 * Since: 1.0
 */
GipcProcess *
gipc_process_new_for_target (GipcForkServer *server,
                             const gchar    *name,
                             GVariant       *args)
{
  GipcProcess *self;

  g_return_val_if_fail (GIPC_IS_FORK_SERVER (server), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  self = g_object_new (GIPC_TYPE_PROCESS, "name", name, NULL);
  self->server = g_object_ref (server);
  self->server_target = g_strdup (name);
  self->server_args = args != NULL ? g_variant_ref_sink (args) : NULL;

  return self;
}

GipcProcess *
gipc_process_new_for_server_child (const char *name,
                                   gboolean    die_with_parent)
{
  GipcProcess *self = g_object_new (GIPC_TYPE_PROCESS, "name", name, NULL);

  self->in_child = TRUE;
  self->state = STATE_RUNNING;
  self->pid = getpid ();
  self->die_with_parent = die_with_parent;

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
  g_return_if_fail (self->state == STATE_NEW && !self->starting);
  g_return_if_fail (!g_ptr_array_find (self->channels, channel, NULL));

  g_ptr_array_add (self->channels, g_object_ref (channel));
}

/* ------------------------------------------------------------------ */
/* Starting                                                            */

void
gipc_process_started_in (GipcProcess      *self,
                         GMainContext     *context,
                         GPid              pid,
                         int               pidfd,
                         GipcSandboxFlags  sandbox_applied)
{
  guint i;

  /* The parent's ends of the passed channels' pipes: drained before
   * "exited" (see report_exit()). */
  for (i = 0; i < self->channels->len; i++)
    {
      g_autoptr(GPtrArray) peers = gipc_channel_dup_pipe_peers (g_ptr_array_index (self->channels, i));

      for (guint k = 0; k < peers->len; k++)
        {
          GipcChannel *peer = g_ptr_array_index (peers, k);
          GWeakRef *weak;

          if (g_ptr_array_find (self->channels, peer, NULL))
            continue;
          weak = g_new0 (GWeakRef, 1);
          g_weak_ref_init (weak, peer);
          g_ptr_array_add (self->drain_peers, weak);
        }
    }

  for (i = 0; i < self->channels->len; i++)
    gipc_channel_mark_passed (g_ptr_array_index (self->channels, i));
  g_ptr_array_set_size (self->channels, 0);

  g_mutex_lock (&self->lock);
  self->pid = pid;
  self->pidfd = pidfd;
  self->state = STATE_RUNNING;
  self->starting = FALSE;
  self->sandbox_applied = sandbox_applied;
  g_mutex_unlock (&self->lock);

  watch_child (self, context);

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PID]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALIVE]);
  if (sandbox_applied != GIPC_SANDBOX_FLAGS_NONE)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SANDBOX_APPLIED]);
  g_object_thaw_notify (G_OBJECT (self));
}

void
gipc_process_started (GipcProcess      *self,
                      GPid              pid,
                      int               pidfd,
                      GipcSandboxFlags  sandbox_applied)
{
  gipc_process_started_in (self, NULL, pid, pidfd, sandbox_applied);
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
 * forking, executing or setting up the child failed (an allowed path of
 * the sandbox that cannot be opened included); before forking with
 * %GIPC_ERROR_SANDBOX_UNAVAILABLE if the kernel lacks what
 * [property@Gipc.Process:sandbox] needs and the flags do not include
 * %GIPC_SANDBOX_FLAGS_BEST_EFFORT.
 *
 * Fork mode is refused (%GIPC_ERROR_SPAWN_FAILED, before anything changes)
 * in a process that runs a JavaScript engine (gjs): its helper threads do
 * not survive fork(), and a forked gjs child hangs in its garbage
 * collector. Use spawn mode there.
 *
 * In fork mode, start returns once the child has discarded what it
 * inherited from the main contexts. Its cost does not grow with the
 * number of sources the program ever created. If the child cannot make sure
 * that no source of the parent is left that could run (a timer at an
 * unusual priority after the 32-bit source id counter wrapped; on a GLib
 * whose main-context layout the library was not verified on, any live
 * source, which public calls cannot discard), the target
 * never runs and start fails with %GIPC_ERROR_SPAWN_FAILED, pointing to
 * spawn mode and the fork server; the passed channels stay with the
 * parent. In a multi-threaded program, fork mode warns once (see
 * [property@Gipc.Process:warn-if-threaded]).
 *
 * Returns: %TRUE if the child was started
 *
 * Since: 1.0
 */
/* What start and start_async check before making anything. */
static gboolean
start_check (GipcProcess  *self,
             GError      **error)
{
  gboolean for_exec;
  guint i;

  if (self->state != STATE_NEW || self->starting)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_ALREADY_STARTED,
                   "Process “%s” was already started", self->name);
      return FALSE;
    }

  /* A fork-server child gets fds, as a spawned program does. */
  for_exec = self->argv != NULL || self->server != NULL;

  if (self->target != NULL)
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

  if (self->target != NULL && self->warn_if_threaded)
    gipc_process_warn_if_threaded (self);

  return TRUE;
}

gboolean
gipc_process_check_start (GipcProcess  *self,
                          GError      **error)
{
  return start_check (self, error);
}

gboolean
gipc_process_start (GipcProcess  *self,
                    GError      **error)
{
  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (self->target != NULL || self->argv != NULL || self->server != NULL, FALSE);

  if (!start_check (self, error))
    return FALSE;

  if (self->server != NULL)
    return gipc_process_start_server (self, error);

  return self->argv != NULL ? gipc_process_start_spawn (self, error)
                            : gipc_process_start_fork (self, error);
}

/**
 * gipc_process_start_async:
 * @self: a process
 * @cancellable: (nullable): a #GCancellable, checked before anything is
 *   made; once the child exists the start completes
 * @callback: (scope async) (nullable): called when the child was started
 *   or could not be
 * @user_data: data for @callback
 *
 * Starts the child without blocking the calling thread on its set-up, on
 * the executed program or on the fork server's reply: a GTK main loop
 * keeps drawing while many children start. The fork itself (fork and
 * spawn mode) happens in this call; the child's report is then watched
 * from the caller's thread-default main context, where @callback runs
 * (call [method@Gipc.Process.start_finish] from it) and where the exit
 * will be reported, as for [method@Gipc.Process.start].
 *
 * Spawn mode here uses a plain `fork()` whose child reports on a
 * close-on-exec pipe (the blocking [method@Gipc.Process.start] uses
 * `clone (CLONE_VM | CLONE_VFORK)` and waits for the exec). Fork-server
 * mode sends the request from this call and awaits the server's reply in
 * the caller's thread-default main context.
 *
 * The errors are those of [method@Gipc.Process.start]; the passed channels
 * are closed in the parent once the child has reported (they must not be
 * used meanwhile). A second start while one is in flight fails with
 * %GIPC_ERROR_ALREADY_STARTED.
 *
 * Since: 1.0
 */
void
gipc_process_start_async (GipcProcess         *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (GIPC_IS_PROCESS (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (self->target != NULL || self->argv != NULL || self->server != NULL);

  /* Fork-server mode makes its task once the server replied: a task made
   * now would keep the caller's context alive while the reply is awaited
   * there (see gipc-process-server.c). */
  if (self->server != NULL)
    {
      gipc_process_start_server_async (self, cancellable, callback, user_data);
      return;
    }

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gipc_process_start_async);
  g_task_set_name (task, "[gipc] process start");

  if (g_task_return_error_if_cancelled (task))
    return;

  if (!start_check (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  self->starting = TRUE;
  if (self->argv != NULL)
    gipc_process_start_spawn_async (self, task);
  else
    gipc_process_start_fork_async (self, task);
}

/**
 * gipc_process_start_finish:
 * @self: a process
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Process.start_async].
 *
 * Returns: %TRUE if the child was started; %FALSE with the errors of
 *   [method@Gipc.Process.start], or %G_IO_ERROR_CANCELLED
 *
 * Since: 1.0
 */
gboolean
gipc_process_start_finish (GipcProcess   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
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

/* Any thread: the one that cancels. */
static void
join_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  GTask *task = user_data;
  GipcProcess *self = g_task_get_source_object (task);
  gboolean removed;

  g_mutex_lock (&self->lock);
  removed = g_queue_remove (&self->join_tasks, task);
  g_mutex_unlock (&self->lock);

  /* Else emit_exited() took it and completes it. */
  if (removed)
    {
      JoinData *data = g_task_get_task_data (task);

      /* Disconnecting from inside the handler would deadlock; it runs
       * once anyway, and the task (its data) outlives nothing here. */
      data->cancelled_id = 0;
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "Operation was cancelled");
      g_object_unref (task);
    }
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
 * was reaped (after [signal@Gipc.Process::exited], so the start caller's
 * context must run too); call [method@Gipc.Process.join_finish] from it.
 *
 * Inside a fork-mode child, on its own process object, it fails at once
 * with %GIPC_ERROR_FAILED: a process cannot wait for itself.
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

  if (self->in_child)
    {
      g_task_return_new_error (task, GIPC_ERROR, GIPC_ERROR_FAILED,
                               "Process “%s” is the calling process (a fork-mode "
                               "child): it cannot wait for itself", self->name);
      return;
    }

  g_mutex_lock (&self->lock);

  if (self->state == STATE_NEW)
    {
      g_mutex_unlock (&self->lock);
      g_task_return_new_error (task, GIPC_ERROR, GIPC_ERROR_NOT_STARTED,
                               "Process “%s” was not started", self->name);
      return;
    }

  if (self->state == STATE_DONE)
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
  g_mutex_unlock (&self->lock);

  /* A signal handler, not a GCancellableSource: no source (and no source
   * id) per join. The handler gets the task unowned: the task is either
   * in the queue (alive) or taken out under the lock before its
   * disconnection. Connecting to a cancelled cancellable calls the
   * handler at once, which finds the task queued. */
  if (cancellable != NULL)
    {
      data->cancellable = g_object_ref (cancellable);
      data->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (join_cancelled_cb),
                                                  task, NULL);
    }
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
 * context: the child is reaped by the join (or by the library's reaper
 * thread), so [method@Gipc.Process.is_alive] and
 * [method@Gipc.Process.get_exit_code] are up to date when it returns, and
 * no zombie, pidfd or reference is left behind even if no main context
 * ever runs (a program that only uses blocking calls): the caller's last
 * unref finalizes the process. The notifications (notify::alive,
 * notify::exit-code, [signal@Gipc.Process::exited]) are not emitted here,
 * but once, when the start caller's main context runs next, if the process
 * object is alive then.
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
      gboolean reaped = FALSE;
      ProcessState state;
      gint wait_ms = -1;
      int pidfd = -1;

      g_mutex_lock (&self->lock);
      state = self->state;
      if (state == STATE_RUNNING)
        reaped = try_reap_locked (self);
      if (!reaped && state == STATE_RUNNING && exit_fd (self) >= 0)
        {
          /* Our own copy: the reaper thread closes the pidfd (or the fork
           * server's report fd) when it reaps, and try_reap_locked() may
           * put the pidfd on the report fd's number: a new copy each
           * time round. */
          pidfd = fcntl (exit_fd (self), F_DUPFD_CLOEXEC, 3);
        }
      g_mutex_unlock (&self->lock);

      if (reaped || state != STATE_RUNNING)
        {
          joined (self);
          return TRUE;
        }

      if (deadline >= 0)
        {
          gint64 now = g_get_monotonic_time ();

          if (now >= deadline)
            {
              if (pidfd >= 0)
                close (pidfd);
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
          close (pidfd);
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
 * gipc_process_is_alive: (get-property alive)
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
 * Returns: the exit status (0 to 255), -N if signal N killed the child,
 *   or %GIPC_PROCESS_EXIT_CODE_UNKNOWN if someone else (a `waitpid (-1)` of
 *   the program) collected its status, or the fork server of a
 *   fork-server child died before it reported the exit
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

  g_return_val_if_fail (state == STATE_EXITED || state == STATE_DONE, 0);

  return exit_code;
}

/**
 * gipc_process_get_core_dumped: (get-property core-dumped)
 * @self: a process
 *
 * Whether the child was killed by a signal that dumped a core (see
 * [property@Gipc.Process:core-dumped]). A crash reporter, or a pool that
 * names a dead worker's end, can tell "killed by SIGSEGV" from "killed by
 * SIGSEGV, core dumped".
 *
 * Returns: %TRUE if the child exited and a core was dumped; %FALSE if it
 *   exited otherwise, its status is unknown, or it was not reaped yet
 *
 * Since: 1.0
 */
gboolean
gipc_process_get_core_dumped (GipcProcess *self)
{
  gboolean core_dumped;

  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);

  g_mutex_lock (&self->lock);
  core_dumped = (self->state == STATE_EXITED || self->state == STATE_DONE) &&
                self->core_dumped;
  g_mutex_unlock (&self->lock);

  return core_dumped;
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

/**
 * gipc_process_get_warn_if_threaded:
 * @self: a process
 *
 * Gets [property@Gipc.Process:warn-if-threaded].
 *
 * Returns: whether a fork-mode start in a multi-threaded program warns
 *
 * Since: 1.0
 */
gboolean
gipc_process_get_warn_if_threaded (GipcProcess *self)
{
  g_return_val_if_fail (GIPC_IS_PROCESS (self), FALSE);

  return self->warn_if_threaded;
}

/**
 * gipc_process_set_warn_if_threaded:
 * @self: a process
 * @warn_if_threaded: whether a fork-mode start in a multi-threaded
 *   program warns
 *
 * Sets [property@Gipc.Process:warn-if-threaded].
 *
 * Since: 1.0
 */
void
gipc_process_set_warn_if_threaded (GipcProcess *self,
                                   gboolean     warn_if_threaded)
{
  g_return_if_fail (GIPC_IS_PROCESS (self));

  warn_if_threaded = !!warn_if_threaded;
  if (self->warn_if_threaded == warn_if_threaded)
    return;

  self->warn_if_threaded = warn_if_threaded;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WARN_IF_THREADED]);
}

/* ------------------------------------------------------------------ */
/* Sandbox                                                             */

/**
 * gipc_process_get_sandbox:
 * @self: a process
 *
 * Gets [property@Gipc.Process:sandbox].
 *
 * Returns: the sandbox flags asked for
 *
 * Since: 1.0
 */
GipcSandboxFlags
gipc_process_get_sandbox (GipcProcess *self)
{
  g_return_val_if_fail (GIPC_IS_PROCESS (self), GIPC_SANDBOX_FLAGS_NONE);

  return self->sandbox;
}

/**
 * gipc_process_set_sandbox:
 * @self: a process that was not started yet
 * @flags: what the child may not do
 *
 * Sets [property@Gipc.Process:sandbox]: the child is sandboxed with
 * @flags (see [flags@Gipc.SandboxFlags]) before its target runs (fork
 * mode) or before the program is executed (spawn mode). The sandbox is
 * prepared in the parent at [method@Gipc.Process.start]; the child only
 * makes async-signal-safe system calls, so it is safe in spawn mode from
 * multi-threaded programs. A kernel that lacks what @flags need makes
 * start fail with %GIPC_ERROR_SANDBOX_UNAVAILABLE, naming what is missing,
 * unless @flags include %GIPC_SANDBOX_FLAGS_BEST_EFFORT.
 *
 * The child keeps its channels (fd-passing ones included), the memory
 * allowed by [property@Gipc.Process:memory-limit], memfds, timers and its
 * own main loop. A sandboxed fork-mode child (or fork server's child) does
 * not keep its parent's writable shared memory: every writable `MAP_SHARED`
 * mapping it inherited (a toolkit's shared-memory buffers, a shared block
 * not yet sent) is unmapped before the sandbox applies; read-only ones
 * stay.
 *
 * Since: 1.0
 */
void
gipc_process_set_sandbox (GipcProcess      *self,
                          GipcSandboxFlags  flags)
{
  const GipcSandboxFlags all = GIPC_SANDBOX_FLAGS_NO_NETWORK |
                               GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                               GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM |
                               GIPC_SANDBOX_FLAGS_BEST_EFFORT;

  g_return_if_fail (GIPC_IS_PROCESS (self));
  g_return_if_fail ((flags & ~all) == 0);
  g_return_if_fail (self->state == STATE_NEW && !self->starting && !self->in_child);

  if (self->sandbox == flags)
    return;

  self->sandbox = flags;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SANDBOX]);
}

/**
 * gipc_process_sandbox_allow_path:
 * @self: a process that was not started yet
 * @path: (type filename): an absolute path, which must exist at start
 * @writable: whether the child may also write beneath @path
 *
 * Grants the sandboxed child access beneath @path (a directory and
 * everything in it, or a single file): reading, and with @writable also
 * writing, creating, removing and renaming. Under
 * %GIPC_SANDBOX_FLAGS_NO_FILESYSTEM these paths are all the child can
 * open; under %GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM the writable ones
 * are where it can write (it reads everywhere). Without either flag the
 * paths have no effect.
 *
 * The path is opened at [method@Gipc.Process.start] (symbolic links are
 * followed then); one that cannot be opened makes start fail with
 * %GIPC_ERROR_SPAWN_FAILED.
 *
 * Since: 1.0
 */
void
gipc_process_sandbox_allow_path (GipcProcess *self,
                                 const gchar *path,
                                 gboolean     writable)
{
  GipcSandboxPath *allowed;

  g_return_if_fail (GIPC_IS_PROCESS (self));
  g_return_if_fail (path != NULL && g_path_is_absolute (path));
  g_return_if_fail (self->state == STATE_NEW && !self->starting && !self->in_child);

  allowed = g_new0 (GipcSandboxPath, 1);
  allowed->path = g_strdup (path);
  allowed->writable = !!writable;
  g_ptr_array_add (self->sandbox_paths, allowed);
}

/**
 * gipc_process_sandbox_allow_system_data:
 * @self: a process that was not started yet
 *
 * Grants the sandboxed child reading (not writing, not executing programs)
 * of the system's read-only data: `/usr` (and `/lib*`, `/bin`, `/sbin`
 * where they are not beneath it), the dynamic linker's cache, fontconfig's
 * configuration and cache (`/etc/fonts`, `/var/cache/fontconfig`), the
 * local time zone, the locale aliases, `/etc/gtk-3.0` and `/etc/xdg`:
 * what the lazy loaders of a decoder read (gdk-pixbuf's MIME database and
 * loaders, fontconfig, locales, icon themes), so that it works under
 * %GIPC_SANDBOX_FLAGS_NO_FILESYSTEM in every mode. The user's own data
 * (`~/.local/share`, `~/.config`) is not included: allow it with
 * [method@Gipc.Process.sandbox_allow_path] if the child needs it.
 *
 * As [method@Gipc.Process.sandbox_allow_path] for each of these paths
 * that exists when this is called. Without
 * %GIPC_SANDBOX_FLAGS_NO_FILESYSTEM it has no effect.
 *
 * Since: 1.0
 */
void
gipc_process_sandbox_allow_system_data (GipcProcess *self)
{
  g_return_if_fail (GIPC_IS_PROCESS (self));
  g_return_if_fail (self->state == STATE_NEW && !self->in_child);

  gipc_sandbox_add_system_data (self->sandbox_paths);
}

/**
 * gipc_process_get_memory_limit:
 * @self: a process
 *
 * Gets [property@Gipc.Process:memory-limit].
 *
 * Returns: the limit of the child's address space in bytes, or 0 for none
 *
 * Since: 1.0
 */
guint64
gipc_process_get_memory_limit (GipcProcess *self)
{
  g_return_val_if_fail (GIPC_IS_PROCESS (self), 0);

  return self->memory_limit;
}

/**
 * gipc_process_set_memory_limit:
 * @self: a process that was not started yet
 * @bytes: the most address space the child may use, or 0 for no limit
 *
 * Sets [property@Gipc.Process:memory-limit] (`RLIMIT_AS`).
 *
 * Since: 1.0
 */
void
gipc_process_set_memory_limit (GipcProcess *self,
                               guint64      bytes)
{
  g_return_if_fail (GIPC_IS_PROCESS (self));
  g_return_if_fail (self->state == STATE_NEW && !self->starting && !self->in_child);

  if (self->memory_limit == bytes)
    return;

  self->memory_limit = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MEMORY_LIMIT]);
}

/**
 * gipc_process_get_sandbox_applied:
 * @self: a process
 *
 * Gets [property@Gipc.Process:sandbox-applied]: what the running child
 * really has. With %GIPC_SANDBOX_FLAGS_BEST_EFFORT on a kernel that lacks
 * something, this is less than [property@Gipc.Process:sandbox].
 *
 * Returns: the flags in force in the child, without
 *   %GIPC_SANDBOX_FLAGS_BEST_EFFORT; %GIPC_SANDBOX_FLAGS_NONE before start
 *
 * Since: 1.0
 */
GipcSandboxFlags
gipc_process_get_sandbox_applied (GipcProcess *self)
{
  GipcSandboxFlags applied;

  g_return_val_if_fail (GIPC_IS_PROCESS (self), GIPC_SANDBOX_FLAGS_NONE);

  g_mutex_lock (&self->lock);
  applied = self->sandbox_applied;
  g_mutex_unlock (&self->lock);

  return applied;
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
      r = self->pidfd >= 0 ? gipc_reaper_pidfd_send_signal (self->pidfd, signum) : -1;
      /* No pidfd, or no pidfd_send_signal() (a seccomp policy, valgrind
       * 3.19): the pid is still ours (not reaped), kill() reaches the same
       * child. A fork-server child is the server's to reap: there, only
       * where pidfds are missing, a signal sent just as the server reaps
       * it could reach a reused pid. */
      if (self->pidfd < 0 || (r < 0 && errno == ENOSYS))
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
