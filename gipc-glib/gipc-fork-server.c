/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The fork server's client side: the GipcForkServer object, start (which
 * forks the server, or, in a re-executed copy of the program, becomes the
 * replacement server), the requests the program sends it, the
 * replacement of a dead or stopped server and the reading of a child's
 * exit report. It runs in the program only; the server's process is
 * gipc-fork-server-loop.c, and what the two exchange is
 * gipc-fork-server-wire-private.h. Nothing here runs in the server or its
 * children but the hand-over to gipc_fork_server_loop_run(). Between
 * fork and exec it runs nothing: a replacement is made with posix_spawn().
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "gipc-channel-private.h"
#include "gipc-child-setup-private.h"
#include "gipc-error.h"
#include "gipc-fork-server-private.h"
#include "gipc-fork-server.h"
#include "gipc-fork-server-wire-private.h"
#include "gipc-orphan-private.h"
#include "gipc-reaper-private.h"

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
 *   g_autoptr(GError) error = NULL;
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
 * Each child is the server's own child, made with `fork()` in the server
 * (so `pthread_atfork()` handlers, malloc and the C library's cached
 * thread id are right in it). The program gets a pidfd for it and the
 * exit status from the server's report: [method@Gipc.Process.join],
 * [signal@Gipc.Process::exited], exit codes, signals,
 * [method@Gipc.Process.send_signal] and
 * [property@Gipc.Process:die-with-parent] work as in fork mode, and
 * [property@Gipc.Process:pid] gives the pid. `waitpid()` and `GChildWatch`
 * on that pid are not supported (it is not the program's child); in
 * exchange, the program's own `waitpid (-1)` or `SIGCHLD` handler never
 * takes a fork-server child's status away.
 *
 * The child starts as a copy of the server: an empty default main
 * context, default signal dispositions (`SIGPIPE` keeps the disposition
 * the program had at [method@Gipc.ForkServer.start]), an empty signal
 * mask, stdin on `/dev/null`, stdout and stderr of the program at start,
 * and no other fd but the passed channels, which it opens with
 * [ctor@Gipc.Channel.new_inherited] as a spawned program does, and its
 * report socket (close-on-exec). It runs its target only once the program
 * has its pidfd (the program itself says go): a server that dies after it
 * answered cannot stop it. Its [callback@Gipc.TargetFunc] returns the
 * exit status; the child then writes out its queued messages, flushes
 * stdio, tells the program its exit status (for when the server died in
 * the meantime: then a child killed by a signal has
 * %GIPC_PROCESS_EXIT_CODE_UNKNOWN) and `_exit()`s.
 *
 * A server that died, was killed or does not answer a request within 5
 * seconds (stopped, wedged) is replaced at the next start: the program
 * kills what is left of it and re-executes itself (`/proc/self/exe`, the
 * same arguments) with the environment variable `GIPC_FORK_SERVER` set in
 * the new process only; in that copy, the same
 * [method@Gipc.ForkServer.start] call becomes the new server and never
 * returns. So the program must reach `start` the same way every time and
 * do nothing with side effects before it (no files written, no network,
 * no child started): only add its targets. This works in a threaded
 * program. [property@Gipc.ForkServer:restarts] counts the replacements.
 * A start through the server waits at most three times the request
 * timeout (a server that never answered yet gets twice the timeout, to
 * start), so 15 seconds.
 *
 * The server exits with the program, and once its last child exited after
 * the program dropped the server object.
 *
 * Since: 1.0
 */

struct _GipcForkServer
{
  GObject      parent_instance;

  GHashTable  *targets;        /* name -> Target*, fixed once started */

  /* What re-executing the program takes, read at start. */
  char        *exe_path;
  char       **argv;
  char       **envp;
  guint        ordinal;        /* which start call of the program */

  /* Guards everything below. Held only while a request is sent (and a
   * server replaced), never while a reply is awaited. */
  GMutex       lock;
  gboolean     started;
  gboolean     running;
  pid_t        owner_pid;      /* the program that started the server */
  int          control_fd;     /* the program's end of the control socket */
  pid_t        server_pid;
  int          server_pidfd;
  guint        generation;     /* of the current server */
  gboolean     answered;       /* the current server answered a request */
  gboolean     replace;        /* the current server must be replaced */
  guint        restarts;
  char        *stop_reason;    /* why there is no server, if there is none */
  guint        timeout_ms;
  GipcForkServerFault server_fault_for_testing;
  GipcForkServerChildFault child_fault_for_testing;
};

G_DEFINE_FINAL_TYPE (GipcForkServer, gipc_fork_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RUNNING,
  PROP_RESTARTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* How many gipc_fork_server_start() calls this process made. */
static guint start_counter;

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
/* The server process, seen from the program                           */

/* Kills the current server (if any), reaps it and closes its fds. Under
 * the lock. Only the program that started it does (a fork-mode child
 * that drops its copy of the object closes the fds only). */
static void
kill_server_locked (GipcForkServer *self)
{
  if (self->control_fd >= 0)
    close (self->control_fd);
  self->control_fd = -1;

  if (self->server_pid > 0 && self->owner_pid == getpid ())
    {
      if (self->server_pidfd >= 0)
        {
          siginfo_t info;

          (void) gipc_reaper_pidfd_send_signal (self->server_pidfd, SIGKILL);
          /* ECHILD: a waitpid (-1) of the program took it. */
          memset (&info, 0, sizeof info);
          while (waitid (P_PIDFD, (id_t) self->server_pidfd, &info, WEXITED) < 0 &&
                 errno == EINTR)
            ;
        }
      else
        {
          (void) kill (self->server_pid, SIGKILL);
          (void) gipc_fork_server_wait_for_pid (self->server_pid, NULL);
        }
    }

  if (self->server_pidfd >= 0)
    close (self->server_pidfd);
  self->server_pidfd = -1;
  self->server_pid = 0;
}

/* Whether the current server process has exited (without reaping it). */
static gboolean
server_exited_locked (GipcForkServer *self)
{
  if (self->server_pid <= 0 || self->control_fd < 0)
    return TRUE;

  if (self->server_pidfd >= 0)
    {
      struct pollfd pfd = { self->server_pidfd, POLLIN, 0 };

      return poll (&pfd, 1, 0) > 0;
    }

  /* Without pidfds: a zombie or a reaped one. */
  {
    siginfo_t info;

    memset (&info, 0, sizeof info);
    if (waitid (P_PID, (id_t) self->server_pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
      return errno == ECHILD;
    return info.si_pid != 0;
  }
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

/* Starts a fresh server by re-executing the program. Under the lock, with
 * no server. Only posix_spawn() runs between fork and exec (glibc's:
 * CLONE_VM | CLONE_VFORK, its own stack, every signal blocked). */
static gboolean
spawn_server_locked (GipcForkServer  *self,
                     GError         **error)
{
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  GipcForkServerEnv env;
  g_autofree char *value = NULL;
  g_auto(GStrv) envp = NULL;
  sigset_t mask;
  int sv[2];
  pid_t pid;
  int r;

  if (self->exe_path == NULL || self->argv == NULL)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                           "the fork server is gone and this program cannot be re-executed "
                           "(/proc/self/exe or /proc/self/cmdline could not be read at start)");
      return FALSE;
    }

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "the fork server is gone and a new one cannot be started: socketpair: %s",
                   g_strerror (errno));
      return FALSE;
    }
  sv[0] = move_above_stdio (sv[0]);
  sv[1] = move_above_stdio (sv[1]);
  if (sv[0] < 0 || sv[1] < 0)
    {
      int errsv = errno;

      if (sv[0] >= 0)
        close (sv[0]);
      if (sv[1] >= 0)
        close (sv[1]);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "the fork server is gone and a new one cannot be started: dup: %s",
                   g_strerror (errsv));
      return FALSE;
    }

  env.ordinal = self->ordinal;
  env.control_fd = sv[1];
  env.program_pid = getpid ();
  /* PR_SET_PDEATHSIG follows the thread that made the process: only the
   * main thread lives as long as the program. */
  env.pdeathsig = (pid_t) syscall (SYS_gettid) == getpid ();
  value = gipc_fork_server_env_format (&env);
  envp = g_environ_setenv (g_strdupv (self->envp), GIPC_FORK_SERVER_ENV, value, TRUE);

  posix_spawn_file_actions_init (&actions);
  /* The same number: dup2 onto itself clears close-on-exec (glibc 2.29). */
  posix_spawn_file_actions_adddup2 (&actions, sv[1], sv[1]);
  posix_spawnattr_init (&attr);
  sigemptyset (&mask);
  posix_spawnattr_setsigmask (&attr, &mask);
  /* Default dispositions but SIGPIPE's: an ignored SIGPIPE stays ignored,
   * as the first server had it. */
  sigfillset (&mask);
  sigdelset (&mask, SIGPIPE);
  posix_spawnattr_setsigdefault (&attr, &mask);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  r = posix_spawn (&pid, self->exe_path, &actions, &attr, self->argv, envp);

  posix_spawnattr_destroy (&attr);
  posix_spawn_file_actions_destroy (&actions);
  close (sv[1]);

  if (r != 0)
    {
      close (sv[0]);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "the fork server is gone and a new one cannot be started: "
                   "re-executing %s: %s", self->exe_path, g_strerror (r));
      return FALSE;
    }

  self->server_pid = pid;
  self->server_pidfd = gipc_reaper_pidfd_open (pid);
  self->control_fd = sv[0];
  self->generation++;
  self->answered = FALSE;
  self->restarts++;
  self->replace = FALSE;
  g_clear_pointer (&self->stop_reason, g_free);
  g_debug ("Fork server: replaced by pid %d (restart %u)", (int) pid, self->restarts);
  return TRUE;
}

typedef struct
{
  gboolean running_changed;
  gboolean restarts_changed;
} Changes;

static void
set_running_locked (GipcForkServer *self,
                    gboolean        running,
                    Changes        *changes)
{
  if (self->running != running)
    changes->running_changed = TRUE;
  self->running = running;
}

static void
emit_changes (GipcForkServer *self,
              const Changes  *changes)
{
  if (changes->running_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  if (changes->restarts_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESTARTS]);
}

/* A server that takes requests: the current one, or a replacement. Under
 * the lock. */
static gboolean
ensure_server_locked (GipcForkServer  *self,
                      Changes         *changes,
                      GError         **error)
{
  if (!self->started)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                           "the fork server was not started");
      return FALSE;
    }
  if (self->owner_pid != getpid ())
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "the fork server belongs to process %d; a child of it (fork mode) "
                   "cannot use it", (int) self->owner_pid);
      return FALSE;
    }

  if (!self->replace && !server_exited_locked (self))
    return TRUE;

  kill_server_locked (self);
  set_running_locked (self, FALSE, changes);
  if (!spawn_server_locked (self, error))
    {
      g_free (self->stop_reason);
      self->stop_reason = g_strdup ((*error)->message);
      return FALSE;
    }
  changes->restarts_changed = TRUE;
  set_running_locked (self, TRUE, changes);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

typedef struct
{
  GipcForkServer *server;
  char           *process_name;
  char           *target;
  GBytes         *variant;       /* REQUEST_TYPE */
  GPtrArray      *channels;      /* referenced */
  int             request_fd;    /* the program's end, -1 between tries */
  int             report_fd;     /* the program's end of the child's report
                                  * socket (the go goes there), -1 between
                                  * tries */
  guint           generation;    /* of the server it was sent to */
  gint64          deadline;
  guint           tries;
  GipcForkServerChild child;

  /* Async: the reply is awaited by a source attached to @context, which
   * holds the request (no reference on the context: a context dropped
   * before the reply destroys the source, and with it the request; see
   * request_async_unref()). */
  GMainContext   *context;       /* not referenced */
  guint           ref_count;     /* one per source that holds it */
  GError         *early_error;   /* to report from an idle */
  gboolean        early_prefixed; /* ... which names the process already */
  GipcForkServerReplyFunc func;
  gpointer        user_data;
  GDestroyNotify  notify;
} Request;

static void
request_free (Request *request)
{
  g_clear_error (&request->early_error);
  if (request->request_fd >= 0)
    close (request->request_fd);
  /* A child that was made for it will never run (end of file, no go). */
  if (request->report_fd >= 0)
    close (request->report_fd);
  /* A child nobody took (an async request never finished): its fds. */
  if (request->child.pidfd >= 0)
    close (request->child.pidfd);
  if (request->child.status_fd >= 0)
    close (request->child.status_fd);
  g_clear_object (&request->server);
  g_free (request->process_name);
  g_free (request->target);
  g_clear_pointer (&request->variant, g_bytes_unref);
  g_clear_pointer (&request->channels, g_ptr_array_unref);
  g_free (request);
}

static Request *
request_new (GipcForkServer *self,
             const char     *target,
             GVariant       *args,
             const char     *process_name,
             GVariant       *options,
             GPtrArray      *channels)
{
  g_autoptr(GVariant) options_ref = g_variant_ref_sink (options);
  g_autoptr(GVariant) request_variant = NULL;
  Request *request = g_new0 (Request, 1);

  request->server = g_object_ref (self);
  request->process_name = g_strdup (process_name);
  request->target = g_strdup (target);
  request->channels = g_ptr_array_ref (channels);
  request->request_fd = -1;
  request->report_fd = -1;
  request->child.pidfd = -1;
  request->child.status_fd = -1;

  /* The pairs are filled at send time (the fds' indices); the variant
   * holds everything else. */
  request_variant = g_variant_ref_sink (g_variant_new ("(s@mvs@a{sv})", target,
                                                       g_variant_new_maybe (G_VARIANT_TYPE_VARIANT,
                                                                            args != NULL ? g_variant_new_variant (args) : NULL),
                                                       process_name, options_ref));
  request->variant = g_variant_get_data_as_bytes (request_variant);
  return request;
}

/* Puts the request on a fresh socket pair and hands the server its end.
 * Replaces a dead server first. */
static gboolean
request_send (Request  *request,
              GError  **error)
{
  GipcForkServer *self = request->server;
  g_autoptr(GVariant) head = NULL;
  g_autoptr(GVariant) full = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  GVariantBuilder pairs;
  GipcForkServerRequestHeader header;
  int fds[GIPC_FORK_SERVER_MAX_FDS];
  guint n_fds = 0;
  int memfd = -1;
  guint8 *datagram;
  gsize datagram_len;
  gconstpointer data;
  gsize size;
  Changes changes = { FALSE, FALSE };
  const char *target;
  const char *name;
  GVariant *maybe_args;
  GVariant *options;
  gboolean sent = FALSE;
  guint timeout_ms;
  int sp[2];
  int rp[2];
  guint i;

  /* The child's report socket: its end travels first. */
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rp) != 0)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED, "socketpair: %s",
                   g_strerror (errno));
      return FALSE;
    }
  fds[n_fds++] = rp[1];

  g_variant_builder_init (&pairs, G_VARIANT_TYPE ("a(ii)"));
  for (i = 0; i < request->channels->len; i++)
    {
      int read_fd;
      int write_fd;
      gint r = -1;
      gint w = -1;

      gipc_channel_get_fds (g_ptr_array_index (request->channels, i), &read_fd, &write_fd);
      if (n_fds + 3 > GIPC_FORK_SERVER_MAX_FDS)
        {
          g_variant_builder_clear (&pairs);
          close (rp[0]);
          close (rp[1]);
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "its channels have more fds than the %d a fork-server request carries",
                       GIPC_FORK_SERVER_MAX_FDS - 2);
          return FALSE;
        }
      if (read_fd >= 0)
        {
          r = (gint) n_fds;
          fds[n_fds++] = read_fd;
        }
      /* One socket for both directions travels once. */
      if (write_fd >= 0 && write_fd == read_fd)
        w = r;
      else if (write_fd >= 0)
        {
          w = (gint) n_fds;
          fds[n_fds++] = write_fd;
        }
      g_variant_builder_add (&pairs, "(ii)", r, w);
    }

  head = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("(smvsa{sv})"),
                                                       request->variant, TRUE));
  g_variant_get (head, "(&s@mv&s@a{sv})", &target, &maybe_args, &name, &options);
  full = g_variant_ref_sink (g_variant_new ("(s@mvs@a{sv}@a(ii))", target, maybe_args, name,
                                            options, g_variant_builder_end (&pairs)));
  g_variant_unref (maybe_args);
  g_variant_unref (options);
  bytes = g_variant_get_data_as_bytes (full);
  data = g_bytes_get_data (bytes, &size);

  memset (&header, 0, sizeof header);
  header.magic = GIPC_FORK_SERVER_REQUEST_MAGIC;
  header.size = size;
  if (size > GIPC_FORK_SERVER_MAX_INLINE_REQUEST)
    {
      /* Too big for one datagram: in a sealed memfd. */
      memfd = memfd_create ("gipc-fork-server-request", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (memfd >= 0 && ftruncate (memfd, (off_t) size) == 0)
        {
          gsize done = 0;

          while (done < size)
            {
              ssize_t n = pwrite (memfd, (const guint8 *) data + done, size - done, (off_t) done);

              if (n < 0 && errno == EINTR)
                continue;
              if (n <= 0)
                break;
              done += (gsize) n;
            }
          if (done == size)
            (void) fcntl (memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
          else
            {
              close (memfd);
              memfd = -1;
            }
        }
      if (memfd < 0)
        {
          close (rp[0]);
          close (rp[1]);
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "its arguments (%" G_GSIZE_FORMAT " bytes) cannot be put in a memfd: %s",
                       size, g_strerror (errno));
          return FALSE;
        }
      header.in_memfd = 1;
      fds[n_fds++] = memfd;
      datagram_len = sizeof header;
    }
  else
    datagram_len = sizeof header + size;

  datagram = g_malloc (datagram_len);
  memcpy (datagram, &header, sizeof header);
  if (!header.in_memfd)
    memcpy (datagram + sizeof header, data, size);

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED, "socketpair: %s",
                   g_strerror (errno));
      g_free (datagram);
      if (memfd >= 0)
        close (memfd);
      close (rp[0]);
      close (rp[1]);
      return FALSE;
    }

  /* Into the server's end's queue, which is empty: never waits. */
  if (gipc_fork_server_send (sp[0], datagram, datagram_len, fds, n_fds, MSG_DONTWAIT) != 0)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED, "sending the request: %s",
                   g_strerror (errno));
      g_free (datagram);
      if (memfd >= 0)
        close (memfd);
      close (sp[0]);
      close (sp[1]);
      close (rp[0]);
      close (rp[1]);
      return FALSE;
    }
  g_free (datagram);
  if (memfd >= 0)
    close (memfd);
  /* The child's end is in the request (the program keeps none of it: end
   * of file there is the child's no-go). */
  close (rp[1]);

  g_mutex_lock (&self->lock);
  for (i = 0; i < 2 && !sent; i++)
    {
      g_clear_error (&local_error);
      if (!ensure_server_locked (self, &changes, &local_error))
        break;
      /* A full queue: the server reads nothing, it is stopped or wedged. */
      if (gipc_fork_server_send (self->control_fd, "R", 1, &sp[1], 1, MSG_DONTWAIT) == 0)
        sent = TRUE;
      else
        {
          g_set_error (&local_error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "the fork server takes no request: %s", g_strerror (errno));
          self->replace = TRUE;
        }
    }
  request->generation = self->generation;
  /* A server that never answered may still be starting (a re-executed
   * program runs up to its start call; Python imports its modules): it
   * gets a second timeout for that. */
  timeout_ms = self->answered ? self->timeout_ms : 2 * self->timeout_ms;
  g_mutex_unlock (&self->lock);
  emit_changes (self, &changes);
  close (sp[1]);

  if (!sent)
    {
      close (sp[0]);
      close (rp[0]);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  request->request_fd = sp[0];
  request->report_fd = rp[0];
  request->deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  request->tries++;
  return TRUE;
}

typedef enum
{
  REPLY_WAIT,     /* nothing yet */
  REPLY_DONE,     /* started (request->child filled) or failed (error set) */
  REPLY_GONE,     /* the server went away without answering */
} ReplyResult;

/* Reads the reply, if there is one, without blocking. */
static ReplyResult
request_read_reply (Request  *request,
                    GError  **error)
{
  guint8 buffer[sizeof (GipcForkServerReport) + GIPC_FORK_SERVER_MAX_MESSAGE + 1];
  GipcForkServerReport report;
  int fds[4];
  guint n_fds = 0;
  gssize n;
  guint i;

  n = gipc_fork_server_receive (request->request_fd, buffer, sizeof buffer - 1, fds,
                                G_N_ELEMENTS (fds), &n_fds, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return REPLY_WAIT;
  if (n < (gssize) sizeof report)
    {
      for (i = 0; i < n_fds; i++)
        close (fds[i]);
      return REPLY_GONE;
    }

  memcpy (&report, buffer, sizeof report);
  g_mutex_lock (&request->server->lock);
  if (request->generation == request->server->generation)
    request->server->answered = TRUE;
  g_mutex_unlock (&request->server->lock);

  if (report.kind == GIPC_FORK_SERVER_REPORT_STARTED && report.pid > 0)
    {
      request->child.pid = report.pid;
      request->child.pidfd = report.has_pidfd && n_fds >= 1 ? fds[0] : -1;
      for (i = request->child.pidfd >= 0 ? 1 : 0; i < n_fds; i++)
        close (fds[i]);
      request->child.sandbox_applied = report.sandbox_applied;
      /* The child's report socket brings the exit report. */
      close (request->request_fd);
      request->request_fd = -1;
      request->child.status_fd = request->report_fd;
      request->report_fd = -1;
      /* The go: the child runs from here on, whatever becomes of the
       * server. (Sent into an empty queue: never waits. A child killed in
       * the meantime is reported by the server as killed.) */
      {
        guint8 go = 1;

        (void) gipc_fork_server_send (request->child.status_fd, &go, 1, NULL, 0, MSG_DONTWAIT);
      }
      return REPLY_DONE;
    }

  for (i = 0; i < n_fds; i++)
    close (fds[i]);

  if (report.kind == GIPC_FORK_SERVER_REPORT_FAILED)
    {
      gint code = report.code == GIPC_ERROR_SANDBOX_UNAVAILABLE ? report.code
                                                                : GIPC_ERROR_SPAWN_FAILED;

      buffer[n] = '\0';
      g_set_error_literal (error, GIPC_ERROR, code, (const char *) buffer + sizeof report);
      return REPLY_DONE;
    }

  g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "the fork server sent an unexpected reply");
  return REPLY_DONE;
}

/* No answer in time, or the server went away: the server is replaced (by
 * the next send), and a reply that came in the meantime is taken. Returns
 * REPLY_DONE if it was, else REPLY_GONE. */
static ReplyResult
request_give_up_on_server (Request  *request,
                           gboolean  timed_out,
                           GError  **error)
{
  GipcForkServer *self = request->server;
  Changes changes = { FALSE, FALSE };
  ReplyResult result;

  g_mutex_lock (&self->lock);
  if (request->generation == self->generation && self->control_fd >= 0)
    {
      g_debug ("Fork server (pid %d) %s; killing it", (int) self->server_pid,
               timed_out ? "did not answer in time" : "went away");
      /* Dead for sure before its last words are read: nothing comes
       * after this. */
      kill_server_locked (self);
      self->replace = TRUE;
      g_free (self->stop_reason);
      self->stop_reason = g_strdup (timed_out ? "the fork server did not answer in time"
                                              : "the fork server died or was killed");
      set_running_locked (self, FALSE, &changes);
    }
  g_mutex_unlock (&self->lock);
  emit_changes (self, &changes);

  result = request_read_reply (request, error);
  if (result == REPLY_WAIT)
    result = REPLY_GONE;
  if (result == REPLY_GONE)
    {
      close (request->request_fd);
      request->request_fd = -1;
      /* The child made for it, if any, never runs. */
      if (request->report_fd >= 0)
        close (request->report_fd);
      request->report_fd = -1;
    }
  return result;
}

static void
prefix_error (GError     **error,
              const char  *process_name)
{
  if (error != NULL && *error != NULL)
    g_prefix_error (error, "Cannot start process “%s”: ", process_name);
}

/* The target is known to the program too: an unknown name fails here,
 * before anything is sent. */
static gboolean
check_target (GipcForkServer  *self,
              const char      *target,
              const char      *process_name,
              GError         **error)
{
  gboolean started;

  g_mutex_lock (&self->lock);
  started = self->started;
  g_mutex_unlock (&self->lock);

  if (!started)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "Cannot start process “%s”: the fork server was not started",
                   process_name);
      return FALSE;
    }
  if (g_hash_table_contains (self->targets, target))
    return TRUE;

  g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
               "Cannot start process “%s”: the fork server has no target named “%s”",
               process_name, target);
  return FALSE;
}

gboolean
gipc_fork_server_request (GipcForkServer       *self,
                          const char           *target,
                          GVariant             *args,
                          const char           *process_name,
                          GVariant             *options,
                          GPtrArray            *channels,
                          GipcForkServerChild  *child,
                          GError              **error)
{
  Request *request;
  gboolean ok = FALSE;

  g_return_val_if_fail (GIPC_IS_FORK_SERVER (self), FALSE);
  g_return_val_if_fail (child != NULL, FALSE);

  if (!check_target (self, target, process_name, error))
    {
      g_variant_unref (g_variant_ref_sink (options));
      return FALSE;
    }

  request = request_new (self, target, args, process_name, options, channels);

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      ReplyResult result;

      if (!request_send (request, &local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          break;
        }

      do
        {
          gint64 remaining = request->deadline - g_get_monotonic_time ();
          struct pollfd pfd = { request->request_fd, POLLIN, 0 };

          result = request_read_reply (request, &local_error);
          if (result != REPLY_WAIT)
            break;
          if (remaining <= 0)
            {
              result = request_give_up_on_server (request, TRUE, &local_error);
              break;
            }
          (void) poll (&pfd, 1, (int) MIN ((remaining + 999) / 1000, G_MAXINT));
        }
      while (TRUE);

      if (result == REPLY_GONE)
        result = request_give_up_on_server (request, FALSE, &local_error);

      if (result == REPLY_DONE)
        {
          ok = local_error == NULL;
          if (ok)
            {
              *child = request->child;
              /* The fds are the caller's now. */
              request->child.pidfd = -1;
              request->child.status_fd = -1;
            }
          else
            g_propagate_error (error, g_steal_pointer (&local_error));
          break;
        }

      /* REPLY_GONE: once more, on a fresh server. */
      if (request->tries >= 2)
        {
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "the fork server went away twice (%s)",
                       self->stop_reason != NULL ? self->stop_reason : "no answer");
          break;
        }
    }

  prefix_error (error, process_name);
  request_free (request);
  return ok;
}

/* The async request's sources each hold a reference; the last one goes
 * when a source is destroyed: after the reply was handed over, or
 * because the context was dropped unfired (then @func is never called,
 * the fds are closed: the child made for the request, if any, sees end
 * of file instead of its go and never runs). */
static void
request_async_unref (gpointer data)
{
  Request *request = data;
  gpointer user_data = request->user_data;
  GDestroyNotify notify = request->notify;

  g_assert (request->ref_count > 0);
  if (--request->ref_count > 0)
    return;

  request_free (request);
  if (notify != NULL)
    notify (user_data);
}

static void
request_async_reply (Request  *request,
                     gboolean  started,
                     GError   *error)
{
  if (error != NULL && !request->early_prefixed)
    prefix_error (&error, request->process_name);
  /* The child's fds are the callee's from here on. */
  request->func (started, started ? &request->child : NULL, error, request->user_data);
  request->child.pidfd = -1;
  request->child.status_fd = -1;
}

static gboolean
request_early_error_cb (gpointer user_data)
{
  Request *request = user_data;

  request_async_reply (request, FALSE, g_steal_pointer (&request->early_error));
  return G_SOURCE_REMOVE;
}

/* Reports @error from an idle of the request's context. */
static void
request_async_fail (Request *request,
                    GError  *error)
{
  GSource *idle = g_idle_source_new ();

  request->early_error = error;
  request->ref_count++;
  g_source_set_static_name (idle, "[gipc-fork-server-request-error]");
  g_source_set_callback (idle, request_early_error_cb, request, request_async_unref);
  g_source_attach (idle, request->context);
  g_source_unref (idle);
}

static gboolean request_source_cb (gint fd, GIOCondition condition, gpointer user_data);

/* Sends the request and waits for the reply in its context. */
static void
request_async_send (Request *request)
{
  GSource *source;
  GError *error = NULL;

  if (!request_send (request, &error))
    {
      request_async_fail (request, error);
      return;
    }

  source = g_unix_fd_source_new (request->request_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_ready_time (source, request->deadline);
  g_source_set_static_name (source, "[gipc-fork-server-request]");
  request->ref_count++;
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) request_source_cb,
                         request, request_async_unref);
  g_source_attach (source, request->context);
  g_source_unref (source);
}

static gboolean
request_source_cb (gint         fd,
                   GIOCondition condition,
                   gpointer     user_data)
{
  Request *request = user_data;
  GError *error = NULL;
  ReplyResult result;

  result = request_read_reply (request, &error);
  if (result == REPLY_WAIT)
    {
      if (g_get_monotonic_time () < request->deadline)
        return G_SOURCE_CONTINUE;
      result = request_give_up_on_server (request, TRUE, &error);
    }
  else if (result == REPLY_GONE)
    result = request_give_up_on_server (request, FALSE, &error);

  if (result == REPLY_DONE)
    {
      request_async_reply (request, error == NULL, error);
      return G_SOURCE_REMOVE;
    }

  if (request->tries >= 2)
    {
      request_async_reply (request, FALSE,
                           g_error_new_literal (GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                                                "the fork server went away twice"));
      return G_SOURCE_REMOVE;
    }

  /* Once more, on a fresh server: the next source holds the request. */
  request_async_send (request);
  return G_SOURCE_REMOVE;
}

void
gipc_fork_server_request_async (GipcForkServer          *self,
                                const char              *target,
                                GVariant                *args,
                                const char              *process_name,
                                GVariant                *options,
                                GPtrArray               *channels,
                                GMainContext            *context,
                                GipcForkServerReplyFunc  func,
                                gpointer                 user_data,
                                GDestroyNotify           notify)
{
  Request *request;
  GError *error = NULL;

  g_return_if_fail (GIPC_IS_FORK_SERVER (self));
  g_return_if_fail (func != NULL);

  request = request_new (self, target, args, process_name, options, channels);
  request->context = context != NULL ? context : g_main_context_default ();
  request->func = func;
  request->user_data = user_data;
  request->notify = notify;

  /* An unknown target fails before anything is sent (its message has
   * the prefix already). */
  if (!check_target (self, target, process_name, &error))
    {
      request->early_prefixed = TRUE;
      request_async_fail (request, error);
      return;
    }

  request_async_send (request);
}

GipcReapResult
gipc_fork_server_child_try_reap (int                      status_fd,
                                 int                      pidfd,
                                 GipcForkServerReapState *state,
                                 gint                    *exit_code,
                                 gboolean                *core_dumped)
{
  GipcForkServerReport report;
  guint8 buffer[sizeof report + GIPC_FORK_SERVER_MAX_MESSAGE];
  guint n_fds = 0;
  gssize n;

  *core_dumped = FALSE;
  while (!state->server_gone)
    {
      n = gipc_fork_server_receive (status_fd, buffer, sizeof buffer, NULL, 0, &n_fds,
                                    MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return GIPC_REAP_RUNNING;
      /* The socket closed with our go still unread (a child killed
       * before it read it): a datagram socket reports that reset before
       * the reports queued for us, once. Those come next. */
      if (n < 0 && errno == ECONNRESET)
        continue;
      if (n >= (gssize) sizeof report)
        {
          memcpy (&report, buffer, sizeof report);
          if (report.kind == GIPC_FORK_SERVER_REPORT_EXITED)
            {
              *exit_code = gipc_fork_server_report_exit_code (&report);
              *core_dumped = report.code == CLD_DUMPED;
              return GIPC_REAP_EXITED;
            }
          /* The child's own word, for when the server is gone by the
           * time it exited; the server's report, if one comes, wins. */
          if (report.kind == GIPC_FORK_SERVER_REPORT_CHILD_EXITING)
            {
              state->child_reported = TRUE;
              state->child_code = report.status;
            }
          continue;
        }

      /* End of file: the server went away before it reported, and the
       * child closed its end (it exited, or is about to). */
      state->server_gone = TRUE;
      if (pidfd < 0)
        break;
      /* From now on, a poll on status_fd waits for the child's exit. */
      if (dup3 (pidfd, status_fd, O_CLOEXEC) < 0)
        break;
    }

  {
    struct pollfd pfd = { pidfd, POLLIN, 0 };

    if (pidfd >= 0 && poll (&pfd, 1, 0) == 0)
      return GIPC_REAP_RUNNING;
  }
  /* The status the child gave as it exited (its target returned, or
   * called exit ()); else it is unknown (a signal, _exit ()). */
  if (state->child_reported)
    {
      *exit_code = state->child_code;
      return GIPC_REAP_EXITED;
    }
  *exit_code = 0;
  return GIPC_REAP_LOST;
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
gipc_fork_server_finalize (GObject *object)
{
  GipcForkServer *self = GIPC_FORK_SERVER (object);

  /* End of stream: the server exits once its children did. Reaped by the
   * global default context's child watch (as GSubprocess leaves a child
   * that still runs), or now if it is gone already. */
  if (self->control_fd >= 0)
    close (self->control_fd);
  self->control_fd = -1;
  if (self->server_pid > 0 && self->owner_pid == getpid ())
    {
      siginfo_t info;

      memset (&info, 0, sizeof info);
      if (waitid (P_PID, (id_t) self->server_pid, &info, WEXITED | WNOHANG) == 0 &&
          info.si_pid == 0)
        {
          GSource *watch = g_child_watch_source_new (self->server_pid);

          g_source_set_static_name (watch, "[gipc-fork-server-reap]");
          g_source_attach (watch, NULL);
          g_source_unref (watch);
        }
    }
  if (self->server_pidfd >= 0)
    close (self->server_pidfd);
  g_clear_pointer (&self->stop_reason, g_free);
  /* The notifiers run in the program only: a copy of the object in the
   * server or a fork-mode child lets the targets' data be. */
  if (self->started && self->owner_pid != getpid ())
    g_hash_table_foreach_steal (self->targets, forget_target, NULL);
  g_clear_pointer (&self->targets, g_hash_table_unref);
  g_clear_pointer (&self->exe_path, g_free);
  g_clear_pointer (&self->argv, g_strfreev);
  g_clear_pointer (&self->envp, g_strfreev);
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
    case PROP_RESTARTS:
      g_value_set_uint (value, gipc_fork_server_get_restarts (self));
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
   * Whether a server process is up, as far as the program knows: %TRUE
   * after [method@Gipc.ForkServer.start], %FALSE when a request found it
   * gone, %TRUE again once it was replaced (the notification is emitted in
   * the thread of that request).
   *
   * Since: 1.0
   */
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcForkServer:restarts: (getter get_restarts)
   *
   * How many times a dead, killed or stopped server was replaced by a
   * re-executed copy of the program (the notification is emitted in the
   * thread of the start that replaced it).
   *
   * Since: 1.0
   */
  properties[PROP_RESTARTS] =
    g_param_spec_uint ("restarts", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
gipc_fork_server_init (GipcForkServer *self)
{
  self->targets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         gipc_fork_server_target_free);
  g_mutex_init (&self->lock);
  self->server_pidfd = -1;
  self->control_fd = -1;
  self->timeout_ms = GIPC_FORK_SERVER_REQUEST_TIMEOUT_MS;
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

/* /proc/self/cmdline as a vector, or NULL. */
static char **
read_cmdline (void)
{
  g_autofree char *contents = NULL;
  GPtrArray *argv;
  gsize length;
  gsize i = 0;

  if (!g_file_get_contents ("/proc/self/cmdline", &contents, &length, NULL) || length == 0)
    return NULL;

  argv = g_ptr_array_new ();
  while (i < length)
    {
      gsize len = strnlen (contents + i, length - i);

      g_ptr_array_add (argv, g_strndup (contents + i, len));
      i += len + 1;
    }
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (argv, FALSE);
}

/* In a copy of the program that the program re-executed to replace its
 * server: this start call becomes the server, or the copy exits. Never
 * returns. */
G_GNUC_NORETURN static void
become_replacement_server (GipcForkServer          *self,
                           const GipcForkServerEnv *env)
{
  /* As the first start counts (GLib's and this library's service
   * threads are not the program's). */
  guint n_threads = gipc_child_setup_count_program_threads ();
  int flags = fcntl (env->control_fd, F_GETFD);

  if (n_threads != 1 || flags < 0)
    {
      g_printerr ("gipc: this copy of the program was started to be its fork server, "
                  "but %s when it reached gipc_fork_server_start(); exiting\n",
                  flags < 0 ? "its control socket is not open" : "it has more than one thread");
      _exit (127);
    }
  if (gipc_orphan_count_undiscardable_sources () > 0)
    {
      g_printerr ("gipc: this copy of the program was started to be its fork server, "
                  "but its main contexts hold sources it cannot discard on this GLib "
                  "when it reached gipc_fork_server_start(); exiting\n");
      _exit (127);
    }
  (void) fcntl (env->control_fd, F_SETFD, flags | FD_CLOEXEC);
  /* GIPC_FORK_SERVER stays in this copy's environment (GLib's service
   * threads may run here, so it is not changed); each child it forks
   * drops it, single-threaded (gipc-fork-server-loop.c). */

  self->started = TRUE;
  self->running = FALSE;
  self->stop_reason = g_strdup ("this is the fork server or one of its children");
  gipc_fork_server_loop_run (self->targets, env->control_fd, env->program_pid, env->pdeathsig,
                             self->server_fault_for_testing, self->child_fault_for_testing);
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
 * thread pool, a GApplication), and before anything with side effects:
 * when the server has to be replaced, the program is executed again up
 * to this call, which in that copy becomes the new server and never
 * returns (see [class@Gipc.ForkServer]).
 *
 * Fails with %GIPC_ERROR_FAILED, saying how many threads it found, if the
 * program has more than one thread of its own (GLib's service threads,
 * "gmain" and "pool-spawner", and this library's do not count); with %GIPC_ERROR_ALREADY_STARTED if
 * @self was started before; with %GIPC_ERROR_FAILED if the server cannot
 * be made (the message says why), or in a program that runs a JavaScript
 * engine (gjs), whose threads do not survive fork(): use spawn mode
 * ([ctor@Gipc.Process.new_for_argv]) there. On a GLib whose main-context
 * layout the library was not verified on, it also fails with
 * %GIPC_ERROR_FAILED while the program's main contexts hold a live
 * source, which the server could not discard.
 *
 * Returns: %TRUE if the server runs
 *
 * Since: 1.0
 */
gboolean
gipc_fork_server_start (GipcForkServer  *self,
                        GError         **error)
{
  GipcForkServerEnv env;
  const char *runtime;
  const char *env_value;
  sigset_t all_signals;
  sigset_t old_mask;
  pid_t parent_pid = getpid ();
  guint n_threads;
  guint n_sources;
  guint ordinal;
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

  ordinal = (guint) g_atomic_int_add (&start_counter, 1) + 1;

  /* A copy of the program made to replace a server: its own start call
   * becomes that server; the ones before it only stand in (the server
   * they would make is not wanted in the copy). */
  env_value = g_getenv (GIPC_FORK_SERVER_ENV);
  if (env_value != NULL)
    {
      if (!gipc_fork_server_env_parse (env_value, &env))
        {
          g_printerr ("gipc: malformed %s=%s; exiting\n", GIPC_FORK_SERVER_ENV, env_value);
          _exit (127);
        }
      if (env.ordinal == ordinal)
        become_replacement_server (self, &env);
      self->started = TRUE;
      self->stop_reason = g_strdup ("this copy of the program is the fork server of another");
      g_mutex_unlock (&self->lock);
      return TRUE;
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

  /* The server is a fork of the program: what it inherited of the
   * program's main contexts must be discarded there, which on a GLib
   * whose layout is not verified (public calls only) works only while no
   * source is attached. */
  n_sources = gipc_orphan_count_undiscardable_sources ();
  if (n_sources > 0)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Cannot start a fork server: on GLib %u.%u.%u its copy of this "
                   "program cannot discard the %u source%s this program's main "
                   "contexts hold without GLib's private layout; start the fork "
                   "server first thing in main, before anything attaches a source",
                   glib_major_version, glib_minor_version, glib_micro_version,
                   n_sources, n_sources == 1 ? "" : "s");
      return FALSE;
    }

  /* The threads the program made: GLib's own service threads ("gmain",
   * "pool-spawner": any GTask starts them) and this library's ("gipc-…")
   * are not copied by fork() and hold none of the program's locks while
   * they wait, as for warn-if-threaded (which also looks again a few
   * times while it sees more than one: see the counter). */
  n_threads = gipc_child_setup_count_program_threads ();
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

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
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

  /* What a replacement takes: read now, while the program has one
   * thread (its environment cannot change under us). */
  self->exe_path = g_file_read_link ("/proc/self/exe", NULL);
  self->argv = read_cmdline ();
  self->envp = g_get_environ ();
  self->ordinal = ordinal;

  /* The server's targets are fixed from here on. */
  self->started = TRUE;
  self->owner_pid = parent_pid;

  fflush (NULL);
  sigfillset (&all_signals);
  pthread_sigmask (SIG_SETMASK, &all_signals, &old_mask);
  gipc_channel_registry_lock ();
  gipc_reaper_lock_for_fork ();
  pid = fork ();
  if (pid == 0)
    {
      gipc_reaper_unlock_after_fork (TRUE);
      gipc_channel_registry_unlock ();
      close (sv[0]);
      /* The server's (and its children's) copy of the object: the lock
       * was held by the program across the fork, and the object serves
       * nothing here. */
      g_mutex_init (&self->lock);
      self->running = FALSE;
      self->control_fd = -1;
      self->stop_reason = g_strdup ("this is the fork server or one of its children");
      gipc_fork_server_loop_run (self->targets, sv[1], parent_pid, TRUE,
                                 self->server_fault_for_testing,
                                 self->child_fault_for_testing);
    }
  errsv = errno;
  gipc_reaper_unlock_after_fork (FALSE);
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
  self->server_pidfd = gipc_reaper_pidfd_open (pid);
  self->control_fd = sv[0];
  self->generation = 1;
  self->running = TRUE;
  g_mutex_unlock (&self->lock);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  return TRUE;
}

/**
 * gipc_fork_server_is_running: (get-property running)
 * @self: a fork server
 *
 * Whether @self was started and its server is up, as far as the program
 * knows (see [property@Gipc.ForkServer:running]).
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

/**
 * gipc_fork_server_get_restarts: (get-property restarts)
 * @self: a fork server
 *
 * How many times the server was replaced (see
 * [property@Gipc.ForkServer:restarts]).
 *
 * Returns: the number of replacements
 *
 * Since: 1.0
 */
guint
gipc_fork_server_get_restarts (GipcForkServer *self)
{
  guint restarts;

  g_return_val_if_fail (GIPC_IS_FORK_SERVER (self), 0);

  g_mutex_lock (&self->lock);
  restarts = self->restarts;
  g_mutex_unlock (&self->lock);

  return restarts;
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

#ifdef GIPC_TESTING
void
gipc_fork_server_set_die_before_reply_for_testing (GipcForkServer *self)
{
  g_return_if_fail (GIPC_IS_FORK_SERVER (self));
  g_return_if_fail (!self->started);

  self->server_fault_for_testing = GIPC_FORK_SERVER_FAULT_DIE_BEFORE_REPLY;
}

void
gipc_fork_server_set_die_after_started_for_testing (GipcForkServer *self)
{
  g_return_if_fail (GIPC_IS_FORK_SERVER (self));
  g_return_if_fail (!self->started);

  self->server_fault_for_testing = GIPC_FORK_SERVER_FAULT_DIE_AFTER_STARTED;
}

void
gipc_fork_server_set_child_fault_for_testing (GipcForkServer           *self,
                                              GipcForkServerChildFault  fault)
{
  g_return_if_fail (GIPC_IS_FORK_SERVER (self));
  g_return_if_fail (!self->started);

  self->child_fault_for_testing = fault;
}

void
gipc_fork_server_set_request_timeout_for_testing (GipcForkServer *self,
                                                  guint           timeout_ms)
{
  g_return_if_fail (GIPC_IS_FORK_SERVER (self));

  g_mutex_lock (&self->lock);
  self->timeout_ms = timeout_ms;
  g_mutex_unlock (&self->lock);
}
#endif
