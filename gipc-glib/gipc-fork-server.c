/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The fork server's client side: the GipcForkServer object, start (which
 * forks the server) and the requests the program sends it. It runs in the
 * program only; the server's process is gipc-fork-server-loop.c, and what
 * the two exchange is gipc-fork-server-wire-private.h. Nothing here runs in
 * the server or its children but the hand-over right after the fork.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

#include "gipc-channel-private.h"
#include "gipc-child-setup-private.h"
#include "gipc-error.h"
#include "gipc-fork-server-private.h"
#include "gipc-fork-server.h"
#include "gipc-fork-server-wire-private.h"
#include "gipc-sandbox-private.h"

/**
 * GipcForkServer:
 *
 * A fork server: a single-threaded copy of the program, made early, that
 * forks children on request for [ctor@Gipc.Process.new_for_target].
 *
 * Fork mode ([ctor@Gipc.Process.new]) copies the program as it is at the
 * moment of the fork: in a program with threads (every GTK or GDBus
 * program) a child can inherit a lock that another thread held and hang,
 * and the cost of discarding the inherited main context grows with what
 * the program holds. A fork server is started first thing in `main`,
 * before anything starts a thread, with the functions its children may run
 * registered as named targets:
 *
 * ```c
 * static gint
 * square (GipcProcess *process, GVariant *args, gpointer user_data)
 * {
 *   g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);
 *   gint32 n = g_variant_get_int32 (args);
 *
 *   gipc_channel_send_variant (channel, g_variant_new_int32 (n * n), NULL, NULL);
 *   return 0;
 * }
 *
 * int
 * main (int argc, char **argv)
 * {
 *   GipcForkServer *server = gipc_fork_server_new ();
 *
 *   gipc_fork_server_add_target (server, "square", square, NULL, NULL);
 *   if (!gipc_fork_server_start (server, &error))
 *     …
 *   // threads, GTK, GDBus, … from here on; then, from any thread:
 *   process = gipc_process_new_for_target (server, "square", g_variant_new_int32 (7));
 *   gipc_process_pass_channel (process, child_end);
 *   gipc_process_start (process, &error);
 * }
 * ```
 *
 * Each child is a child of the calling program (not of the server):
 * [method@Gipc.Process.join], [signal@Gipc.Process::exited], waitpid(),
 * `GChildWatch`, exit codes, signals and
 * [property@Gipc.Process:die-with-parent] work as in fork mode. The child
 * starts as a copy of the server: an empty default main context, default
 * signal dispositions (`SIGPIPE` keeps the disposition the program had at
 * [method@Gipc.ForkServer.start]), an empty signal mask, stdin on
 * `/dev/null`, stdout and stderr of the program at start, and no other fd
 * but the passed channels, which it opens with
 * [ctor@Gipc.Channel.new_inherited] as a spawned program does. Its
 * [callback@Gipc.TargetFunc] returns the exit status; the child then
 * writes out its queued messages, flushes stdio and `_exit()`s.
 *
 * The server exits when the program closes its end of the control socket
 * (the server object is finalized, or the program exits) and is killed
 * with the program (`PR_SET_PDEATHSIG`). If it dies or is killed, later
 * starts fail with %GIPC_ERROR_SPAWN_FAILED; a new server can only be
 * started while the program has a single thread.
 *
 * Since: 1.0
 */

struct _GipcForkServer
{
  GObject      parent_instance;

  GHashTable  *targets;        /* name -> Target*, fixed once started */

  /* Serializes requests; guards everything below. */
  GMutex       lock;
  gboolean     started;
  gboolean     running;
  GipcChannel *control;        /* the program's end of the control socket */
  pid_t        owner_pid;      /* the program that started the server */
  pid_t        server_pid;
  int          server_pidfd;
  char        *stop_reason;    /* why the server is gone, once it is */
  gboolean     die_before_reply_for_testing;
  GipcForkServerChildFault child_fault_for_testing;
};

G_DEFINE_FINAL_TYPE (GipcForkServer, gipc_fork_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RUNNING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* How long the program waits for a server to exit after closing its end
 * of the control socket, before it kills it. */
#define SERVER_EXIT_TIMEOUT_MS 2000

#ifndef SYS_pidfd_open
# define SYS_pidfd_open 434
#endif

/* Frees a target without running its notifier (in a copy of the program). */
static gboolean
forget_target (gpointer key,
               gpointer value,
               gpointer user_data)
{
  g_free (key);
  g_free (value);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* The program's side                                                  */

static void
reap_server_locked (GipcForkServer *self,
                    gboolean        kill_first)
{
  struct pollfd pfd;
  siginfo_t info;

  /* Only the program that started the server reaps (or kills) it, not
   * a fork-mode child that drops its copy of the object. */
  if (self->server_pid <= 0 || self->owner_pid != getpid ())
    {
      if (self->server_pidfd >= 0)
        close (self->server_pidfd);
      self->server_pidfd = -1;
      self->server_pid = 0;
      return;
    }

  if (self->server_pidfd >= 0)
    {
      pfd.fd = self->server_pidfd;
      pfd.events = POLLIN;
      pfd.revents = 0;
      if (kill_first ||
          poll (&pfd, 1, SERVER_EXIT_TIMEOUT_MS) <= 0)
        (void) syscall (SYS_pidfd_send_signal, self->server_pidfd, SIGKILL, NULL, 0);
      memset (&info, 0, sizeof info);
      while (waitid (P_PIDFD, (id_t) self->server_pidfd, &info, WEXITED) < 0 && errno == EINTR)
        ;
      close (self->server_pidfd);
      self->server_pidfd = -1;
    }
  else
    {
      int wait_status;

      if (kill_first)
        (void) kill (self->server_pid, SIGKILL);
      gipc_fork_server_wait_for_pid (self->server_pid, &wait_status);
    }
  self->server_pid = 0;
}

/* The server is gone (or unusable): close, reap, remember why. */
static void
stop_locked (GipcForkServer *self,
             const char     *reason,
             gboolean        kill_first)
{
  if (self->control != NULL)
    {
      (void) gipc_channel_close (self->control, NULL);
      g_clear_object (&self->control);
    }
  reap_server_locked (self, kill_first);
  self->running = FALSE;
  if (self->stop_reason == NULL)
    self->stop_reason = g_strdup (reason);
}

static void
gipc_fork_server_finalize (GObject *object)
{
  GipcForkServer *self = GIPC_FORK_SERVER (object);

  /* End of stream: the server exits. */
  stop_locked (self, "the fork server was finalized", FALSE);
  g_clear_pointer (&self->stop_reason, g_free);
  /* The notifiers run in the program only: a copy of the object in the
   * server or a fork-mode child lets the targets' data be. */
  if (self->started && self->owner_pid != getpid ())
    g_hash_table_foreach_steal (self->targets, forget_target, NULL);
  g_clear_pointer (&self->targets, g_hash_table_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (gipc_fork_server_parent_class)->finalize (object);
}

static void
gipc_fork_server_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  GipcForkServer *self = GIPC_FORK_SERVER (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, gipc_fork_server_is_running (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gipc_fork_server_class_init (GipcForkServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = gipc_fork_server_finalize;
  object_class->get_property = gipc_fork_server_get_property;

  /**
   * GipcForkServer:running: (getter is_running)
   *
   * Whether the server was started and is known to be alive. It turns
   * %FALSE when a request finds the server gone (the notification is
   * emitted in the thread of that request).
   *
   * Since: 1.0
   */
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
gipc_fork_server_init (GipcForkServer *self)
{
  self->targets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, gipc_fork_server_target_free);
  g_mutex_init (&self->lock);
  self->server_pidfd = -1;
}

/**
 * gipc_fork_server_new:
 *
 * Makes a fork server with no targets. Add them with
 * [method@Gipc.ForkServer.add_target], then start it with
 * [method@Gipc.ForkServer.start] before the program has a second thread.
 *
 * Returns: (transfer full): a new, unstarted fork server
 *
 * Since: 1.0
 */
GipcForkServer *
gipc_fork_server_new (void)
{
  return g_object_new (GIPC_TYPE_FORK_SERVER, NULL);
}

/**
 * gipc_fork_server_add_target:
 * @self: a fork server that was not started yet
 * @name: the target's name, as given to [ctor@Gipc.Process.new_for_target]
 * @func: (scope notified) (closure user_data) (destroy notify): the
 *   function the children started for @name run
 * @user_data: data for @func
 * @notify: (nullable): frees @user_data when the server is finalized, in
 *   the program (never in the server or a child)
 *
 * Registers @func under @name; a target of the same name is replaced.
 * Targets are added before [method@Gipc.ForkServer.start]: the server is a
 * copy of the program at that moment and knows only those.
 *
 * Since: 1.0
 */
void
gipc_fork_server_add_target (GipcForkServer *self,
                             const gchar    *name,
                             GipcTargetFunc  func,
                             gpointer        user_data,
                             GDestroyNotify  notify)
{
  Target *target;

  g_return_if_fail (GIPC_IS_FORK_SERVER (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (func != NULL);
  g_return_if_fail (!self->started);

  target = g_new0 (Target, 1);
  target->func = func;
  target->user_data = user_data;
  target->notify = notify;
  g_hash_table_replace (self->targets, g_strdup (name), target);
}

static int
move_above_stdio (int fd)
{
  int moved;

  if (fd > 2)
    return fd;
  moved = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  close (fd);
  return moved;
}

/**
 * gipc_fork_server_start:
 * @self: a fork server
 * @error: return location for a #GError
 *
 * Forks the server: a copy of the program as it is now, which discards
 * the program's main contexts, closes every fd but stdio, stays
 * single-threaded and forks a child for each
 * [ctor@Gipc.Process.new_for_target] process that starts. Call it first
 * thing in `main`, before anything starts a thread (GTK, GDBus, GIO's
 * thread pool, a GApplication).
 *
 * Fails with %GIPC_ERROR_FAILED, saying how many threads it found, if the
 * program has more than one thread; with %GIPC_ERROR_ALREADY_STARTED if
 * @self was started before; with %GIPC_ERROR_FAILED if the server cannot
 * be made (the message says why), or in a program that runs a JavaScript
 * engine (gjs), whose threads do not survive fork(): use spawn mode
 * ([ctor@Gipc.Process.new_for_argv]) there.
 *
 * Returns: %TRUE if the server runs
 *
 * Since: 1.0
 */
gboolean
gipc_fork_server_start (GipcForkServer  *self,
                        GError         **error)
{
  g_autoptr(GVariant) hello = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *runtime;
  const char *why = NULL;
  gboolean ready = FALSE;
  sigset_t all_signals;
  sigset_t old_mask;
  pid_t parent_pid = getpid ();
  guint n_threads;
  int sv[2];
  pid_t pid;
  int errsv;

  g_return_val_if_fail (GIPC_IS_FORK_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->lock);

  if (self->started)
    {
      g_mutex_unlock (&self->lock);
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_ALREADY_STARTED,
                           "The fork server was already started");
      return FALSE;
    }

  runtime = gipc_child_setup_find_fork_unsafe_runtime ();
  if (runtime != NULL)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Cannot start a fork server: this process runs %s, whose threads "
                   "do not survive fork(); use spawn mode (gipc_process_new_for_argv) "
                   "instead", runtime);
      return FALSE;
    }

  n_threads = gipc_child_setup_count_threads ();
  if (n_threads != 1)
    {
      g_mutex_unlock (&self->lock);
      if (n_threads == 0)
        g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                             "Cannot start a fork server: cannot count this process's "
                             "threads (/proc/self/task)");
      else
        g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                     "Cannot start a fork server: this process has %u threads; a fork "
                     "server must be started while the program has a single thread "
                     "(first thing in main, before anything starts a thread)",
                     n_threads);
      return FALSE;
    }

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    {
      errsv = errno;
      g_mutex_unlock (&self->lock);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Cannot start a fork server: socketpair: %s", g_strerror (errsv));
      return FALSE;
    }
  /* Neither end on stdio, in a program started with some closed. */
  sv[0] = move_above_stdio (sv[0]);
  sv[1] = move_above_stdio (sv[1]);
  if (sv[0] < 0 || sv[1] < 0)
    {
      errsv = errno;
      if (sv[0] >= 0)
        close (sv[0]);
      if (sv[1] >= 0)
        close (sv[1]);
      g_mutex_unlock (&self->lock);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Cannot start a fork server: dup: %s", g_strerror (errsv));
      return FALSE;
    }

  /* The server's targets are fixed from here on. */
  self->started = TRUE;
  self->owner_pid = parent_pid;

  fflush (NULL);
  sigfillset (&all_signals);
  pthread_sigmask (SIG_SETMASK, &all_signals, &old_mask);
  gipc_channel_registry_lock ();
  pid = fork ();
  if (pid == 0)
    {
      close (sv[0]);
      /* The server's (and its children's) copy of the object: the lock
       * was held by the program across the fork, and the object serves
       * nothing here. */
      g_mutex_init (&self->lock);
      self->running = FALSE;
      self->stop_reason = g_strdup ("this is the fork server or one of its children");
      gipc_fork_server_loop_run (self->targets, sv[1], parent_pid,
                                 self->die_before_reply_for_testing,
                                 self->child_fault_for_testing);
    }
  errsv = errno;
  gipc_channel_registry_unlock ();
  pthread_sigmask (SIG_SETMASK, &old_mask, NULL);
  close (sv[1]);

  if (pid < 0)
    {
      close (sv[0]);
      self->stop_reason = g_strdup_printf ("the fork server could not be forked: %s",
                                           g_strerror (errsv));
      g_mutex_unlock (&self->lock);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Cannot start a fork server: fork: %s", g_strerror (errsv));
      return FALSE;
    }

  self->server_pid = pid;
  self->server_pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  self->control = gipc_channel_new_from_fds (sv[0], sv[0], &local_error);
  if (self->control != NULL)
    hello = gipc_channel_receive_variant (self->control, NULL, &local_error);
  if (hello != NULL && g_variant_is_of_type (hello, G_VARIANT_TYPE (HELLO_TYPE)))
    g_variant_get (hello, "(b&s)", &ready, &why);
  else if (local_error == NULL)
    g_set_error_literal (&local_error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                         "unexpected first message");

  if (!ready)
    {
      g_autofree char *reason = NULL;

      if (why != NULL)
        reason = g_strdup_printf ("the fork server cannot make children that know their "
                                  "own thread id: %s", why);
      else
        reason = g_strdup_printf ("the fork server died while starting: %s",
                                  local_error->message);
      stop_locked (self, reason, TRUE);
      g_mutex_unlock (&self->lock);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED, "Cannot start a fork server: %s",
                   reason);
      return FALSE;
    }

  self->running = TRUE;
  g_mutex_unlock (&self->lock);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  return TRUE;
}

/**
 * gipc_fork_server_is_running: (get-property running)
 * @self: a fork server
 *
 * Whether @self was started and no request found it gone since.
 *
 * Returns: %TRUE if the server runs
 *
 * Since: 1.0
 */
gboolean
gipc_fork_server_is_running (GipcForkServer *self)
{
  gboolean running;

  g_return_val_if_fail (GIPC_IS_FORK_SERVER (self), FALSE);

  g_mutex_lock (&self->lock);
  running = self->running;
  g_mutex_unlock (&self->lock);

  return running;
}

/* Adds @fd to @fds; returns its index, or -1 for no fd or an error
 * (@error set). */
/* The server died (or could not hand the child over) after a request: a
 * child it made may run, ours but unknown. It wrote its pid on @report
 * first thing; kill and reap it. Waits at most 2 s for the writers (the
 * child closes its end before its target runs, the server's end went with
 * it). */
static void
reap_unreported_child (int report)
{
  struct pollfd pfd = { report, POLLIN, 0 };
  pid_t pid = 0;
  gsize got = 0;

  while (got < sizeof pid)
    {
      gssize n;

      if (poll (&pfd, 1, 2000) <= 0)
        return;
      n = read (report, (guint8 *) &pid + got, sizeof pid - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      got += n;
    }

  if (pid > 0)
    {
      g_debug ("Fork server: killing child %d, whose start was not reported", (int) pid);
      (void) kill (pid, SIGKILL);
      gipc_fork_server_wait_for_pid (pid, NULL);
    }
}

static gint
append_fd (GUnixFDList  *fds,
           int           fd,
           GError      **error)
{
  if (fd < 0)
    return -1;
  return g_unix_fd_list_append (fds, fd, error);
}

gboolean
gipc_fork_server_request (GipcForkServer  *self,
                          const char      *target,
                          GVariant        *args,
                          const char      *process_name,
                          GVariant        *options,
                          GPtrArray       *channels,
                          pid_t           *pid,
                          int             *pidfd,
                          guint           *sandbox_applied,
                          GError         **error)
{
  g_autoptr(GVariant) options_ref = g_variant_ref_sink (options);
  g_autoptr(GVariant) request_options = NULL;
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  GVariantDict dict;
  int report[2] = { -1, -1 };
  gint report_index;
  g_autoptr(GUnixFDList) reply_fds = NULL;
  g_autoptr(GVariant) request = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GBytes) request_bytes = NULL;
  g_autoptr(GBytes) reply_bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  GVariantBuilder pairs;
  gboolean notify = FALSE;
  gboolean ok = FALSE;
  const char *message = NULL;
  gint32 child_pid = 0;
  gint32 code = 0;
  guint32 applied = 0;
  guint i;

  g_return_val_if_fail (GIPC_IS_FORK_SERVER (self), FALSE);

  g_variant_builder_init (&pairs, G_VARIANT_TYPE ("a(ii)"));
  for (i = 0; i < channels->len; i++)
    {
      int read_fd;
      int write_fd;
      gint r;
      gint w;

      gipc_channel_get_fds (g_ptr_array_index (channels, i), &read_fd, &write_fd);
      r = append_fd (fds, read_fd, &local_error);
      /* One socket for both directions travels once. */
      w = write_fd == read_fd ? r : local_error == NULL ? append_fd (fds, write_fd, &local_error) : -1;
      if (local_error != NULL)
        {
          g_variant_builder_clear (&pairs);
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Cannot start process “%s”: cannot pass channel %u: %s",
                       process_name, i, local_error->message);
          return FALSE;
        }
      g_variant_builder_add (&pairs, "(ii)", r, w);
    }

  /* Where the child reports its pid, for when the server dies first. */
  if (pipe2 (report, O_CLOEXEC) < 0)
    {
      int errsv = errno;

      g_variant_builder_clear (&pairs);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot start process “%s”: pipe: %s", process_name, g_strerror (errsv));
      return FALSE;
    }
  report_index = append_fd (fds, report[1], &local_error);
  close (report[1]);
  if (local_error != NULL)
    {
      close (report[0]);
      g_variant_builder_clear (&pairs);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot start process “%s”: %s", process_name, local_error->message);
      return FALSE;
    }
  g_variant_dict_init (&dict, options_ref);
  g_variant_dict_insert (&dict, "report-fd", "i", report_index);
  request_options = g_variant_ref_sink (g_variant_dict_end (&dict));

  /* The channel would refuse the send: that must not look like a dead
   * server. */
  if (g_unix_fd_list_get_length (fds) > GIPC_CHANNEL_MAX_FDS_PER_MESSAGE)
    {
      close (report[0]);
      g_variant_builder_clear (&pairs);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot start process “%s”: its channels have %d fds, more than the "
                   "%d a fork-server request carries", process_name,
                   g_unix_fd_list_get_length (fds), GIPC_CHANNEL_MAX_FDS_PER_MESSAGE);
      return FALSE;
    }

  request = g_variant_ref_sink (g_variant_new ("(s@mvs@a{sv}@a(ii))", target,
                                               g_variant_new_maybe (G_VARIANT_TYPE_VARIANT,
                                                                    args != NULL ? g_variant_new_variant (args) : NULL),
                                               process_name,
                                               request_options,
                                               g_variant_builder_end (&pairs)));
  request_bytes = g_variant_get_data_as_bytes (request);

  g_mutex_lock (&self->lock);

  if (self->running && self->owner_pid != getpid ())
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot start process “%s”: the fork server belongs to process %d; "
                   "a child of it (fork mode) cannot use it", process_name,
                   (int) self->owner_pid);
      g_mutex_unlock (&self->lock);
      close (report[0]);
      return FALSE;
    }

  if (!self->running)
    {
      const char *reason = self->stop_reason;

      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot start process “%s”: %s", process_name,
                   reason != NULL ? reason : "the fork server was not started");
      g_mutex_unlock (&self->lock);
      close (report[0]);
      return FALSE;
    }

  if (gipc_channel_send_with_fds (self->control, request_bytes,
                                  g_unix_fd_list_get_length (fds) > 0 ? fds : NULL,
                                  NULL, &local_error))
    reply_bytes = gipc_channel_receive_with_fds (self->control, &reply_fds, NULL, &local_error);

  if (reply_bytes != NULL)
    {
      reply = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (REPLY_TYPE),
                                                            reply_bytes, FALSE));
      g_variant_get (reply, "(bii&su)", &ok, &child_pid, &code, &message, &applied);
      if (!ok && child_pid > 0 && reply_fds != NULL && g_unix_fd_list_get_length (reply_fds) == 1)
        {
          /* A child whose set-up failed: ours, exiting; reap it. */
          int failed_pidfd = g_unix_fd_list_get (reply_fds, 0, NULL);
          siginfo_t info;

          if (failed_pidfd >= 0)
            {
              while (waitid (P_PIDFD, (id_t) failed_pidfd, &info, WEXITED) < 0 && errno == EINTR)
                ;
              close (failed_pidfd);
            }
          else
            gipc_fork_server_wait_for_pid (child_pid, NULL);
        }
      else if (ok && (reply_fds == NULL || g_unix_fd_list_get_length (reply_fds) != 1))
        {
          ok = FALSE;
          code = GIPC_ERROR_SPAWN_FAILED;
          message = "the fork server sent no pidfd";
        }
      if (!ok && (code <= 0 || (code != GIPC_ERROR_SANDBOX_UNAVAILABLE)))
        code = GIPC_ERROR_SPAWN_FAILED;
    }

  if (reply_bytes == NULL)
    {
      g_autofree char *reason = NULL;

      /* End of stream, or a reset when it died with a request unread. */
      reason = g_strdup_printf ("the fork server (pid %d) died or was killed (%s); a new "
                                "one can only be started in a single-threaded program",
                                (int) self->server_pid, local_error->message);
      stop_locked (self, reason, TRUE);
      notify = TRUE;
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot start process “%s”: %s", process_name, reason);
    }
  else if (!ok)
    {
      g_set_error (error, GIPC_ERROR, code,
                   "Cannot start process “%s”: %s", process_name, message);
    }
  else
    {
      *pid = child_pid;
      *sandbox_applied = applied;
      *pidfd = g_unix_fd_list_get (reply_fds, 0, &local_error);
      if (*pidfd < 0)
        {
          /* The child runs and is ours, but cannot be watched: kill and
           * reap it. */
          (void) kill (child_pid, SIGKILL);
          gipc_fork_server_wait_for_pid (child_pid, NULL);
          ok = FALSE;
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Cannot start process “%s”: %s", process_name, local_error->message);
        }
    }

  /* No reply, or one without the child: a child may run all the same. */
  if (reply_bytes == NULL || (!ok && child_pid <= 0))
    reap_unreported_child (report[0]);
  close (report[0]);

  g_mutex_unlock (&self->lock);

  if (notify)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);

  return reply_bytes != NULL && ok;
}

pid_t
gipc_fork_server_get_server_pid (GipcForkServer *self)
{
  pid_t pid;

  g_return_val_if_fail (GIPC_IS_FORK_SERVER (self), 0);

  g_mutex_lock (&self->lock);
  pid = self->server_pid;
  g_mutex_unlock (&self->lock);

  return pid;
}

void
gipc_fork_server_set_die_before_reply_for_testing (GipcForkServer *self)
{
  g_return_if_fail (GIPC_IS_FORK_SERVER (self));
  g_return_if_fail (!self->started);

  self->die_before_reply_for_testing = TRUE;
}

void
gipc_fork_server_set_child_fault_for_testing (GipcForkServer           *self,
                                              GipcForkServerChildFault  fault)
{
  g_return_if_fail (GIPC_IS_FORK_SERVER (self));
  g_return_if_fail (!self->started);

  self->child_fault_for_testing = fault;
}

