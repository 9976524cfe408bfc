/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The fork server's own process: its request loop, the children it makes
 * and their reaping. It runs only in the server (a fork() of the program
 * made by gipc_fork_server_start(), or a re-executed copy of the program
 * whose gipc_fork_server_start() call became the server) and in its
 * children. It may not touch the program's GipcForkServer object (it gets
 * the targets and its options as arguments), never starts a thread, never
 * iterates a main context, and writes into no private structure of libc
 * or GLib: children are made with glibc's fork().
 *
 * The loop polls the control socket (one datagram per request, carrying
 * the request's own socket), a signalfd for SIGCHLD and a pidfd of the
 * program. For each request it forks a child, waits for the child's set-up
 * report on a socketpair and sends the program a STARTED report with the
 * child's pidfd (or FAILED). The child runs its target once the program
 * itself says go, on the child's report socket (the first fd of the
 * request): a child the program never heard of (the server died before
 * its STARTED report, or the program gave up) sees end of file there and
 * exits without running anything, and a child the program was told of
 * runs whatever becomes of the server. The server reaps its children and
 * sends each exit status (EXITED) on the child's report socket, then
 * closes its copy; the child sends its own exit status there just before
 * it exits (CHILD_EXITING), for when the server is gone by then. The
 * server exits at once when the program is gone, and once its last child
 * was reaped when the program closed the control socket.
 *
 * Children are the server's own: a program's waitpid (-1) or SIGCHLD
 * handler never sees them. A child starts as a copy of the server: atfork
 * handlers ran (glibc's fork()), an empty default main context, default
 * signal dispositions (SIGPIPE as the program had it at start), an empty
 * mask, stdin on /dev/null, no fd but stdio and its channels.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gipc-channel-private.h"
#include "gipc-child-setup-private.h"
#include "gipc-error.h"
#include "gipc-fork-server-private.h"
#include "gipc-fork-server.h"
#include "gipc-fork-server-wire-private.h"
#include "gipc-reaper-private.h"
#include "gipc-sandbox-private.h"

/* What the server holds, in statics: a child copies the server as it is
 * in the middle of a request and never returns into its frames, so
 * everything it inherits stays reachable from here (memory checkers see
 * it as kept, not lost). */
static struct
{
  guint8      *buffer;        /* the request datagram */
  GBytes      *message;
  GVariant    *request;
  GVariant    *maybe_args;
  GVariant    *args;
  GVariant    *options;
  GVariant    *pairs;
  GVariant    *inner_args;    /* in a child: what the target gets */
  GipcProcess *process;       /* in a child */
  GString     *announced;     /* in a child: its GIPC_CHANNEL_FDS */
  GHashTable  *children;      /* pid -> the child's report socket (EXITED) */
} current;

static void
current_clear (void)
{
  g_clear_pointer (&current.request, g_variant_unref);
  g_clear_pointer (&current.maybe_args, g_variant_unref);
  g_clear_pointer (&current.args, g_variant_unref);
  g_clear_pointer (&current.options, g_variant_unref);
  g_clear_pointer (&current.pairs, g_variant_unref);
  g_clear_pointer (&current.message, g_bytes_unref);
}

static void
flush_channels_at_exit (void)
{
  gipc_channel_flush_all ();
}

/* In a child: its report socket (the program holds the other end), where
 * it says how it exits, for when the server is gone by then. */
static int child_report_fd = -1;

static void
child_send_exiting (int status)
{
  GipcForkServerReport report;

  if (child_report_fd < 0)
    return;
  memset (&report, 0, sizeof report);
  report.kind = GIPC_FORK_SERVER_REPORT_CHILD_EXITING;
  report.pid = getpid ();
  report.code = CLD_EXITED;
  report.status = status & 0xff;
  (void) gipc_fork_server_send (child_report_fd, &report, sizeof report, NULL, 0, MSG_DONTWAIT);
}

/* A target that calls exit (): registered before the channels' flush, so
 * it runs after it (last registered, first run). */
static void
child_exiting_on_exit (int   status,
                       void *data)
{
  child_send_exiting (status);
}

/* A process the target forks (without exec: the socket is close-on-exec)
 * is not the child: it does not keep the report socket open, nor report. */
static void
child_report_fd_after_fork (void)
{
  if (child_report_fd >= 0)
    close (child_report_fd);
  child_report_fd = -1;
}

/* The fds the default main context polls (its wakeup): kept open. */
static void
add_context_fds (GArray *keep)
{
  GPollFD fds[16];
  gint n_fds = G_N_ELEMENTS (fds);
  gint i;

  gipc_child_setup_orphan_sources (g_main_context_default (), fds, &n_fds);
  for (i = 0; i < n_fds; i++)
    if (fds[i].fd >= 0)
      g_array_append_val (keep, fds[i].fd);
}

/* ------------------------------------------------------------------ */
/* In a child                                                          */

G_GNUC_NORETURN static void
child_fail (int         setup_fd,
            gint        code,
            const char *message)
{
  guint8 report[sizeof (GipcForkServerChildStatus) + GIPC_FORK_SERVER_MAX_MESSAGE];
  GipcForkServerChildStatus status = { code, 0 };
  gsize len = MIN (strlen (message), (gsize) GIPC_FORK_SERVER_MAX_MESSAGE);

  memcpy (report, &status, sizeof status);
  memcpy (report + sizeof status, message, len);
  (void) gipc_fork_server_send (setup_fd, report, sizeof status + len, NULL, 0, 0);
  _exit (127);
}

G_GNUC_NORETURN static void
child_fail_errno (int         setup_fd,
                  const char *step,
                  int         errsv)
{
  /* In a static (volatile, or the compiler drops a store nobody reads):
   * child_fail() does not return to free it. */
  static char *volatile message;

  message = g_strdup_printf ("setting up the child failed: %s%s%s", step,
                             errsv != 0 ? ": " : "",
                             errsv != 0 ? g_strerror (errsv) : "");
  child_fail (setup_fd, GIPC_ERROR_SPAWN_FAILED, message);
}

/* The sandbox the request asks for, prepared here with what the program
 * decided (its cached seccomp program included: nothing is built per
 * child) and applied (the child may allocate; it has one thread). */
static void
child_apply_sandbox (int         status_fd,
                     const char *name,
                     GVariant   *options,
                     guint32    *applied_out)
{
  GipcSandboxPrepared sandbox = GIPC_SANDBOX_PREPARED_INIT;
  g_autoptr(GError) error = NULL;
  guint32 flags = 0;
  guint64 memory_limit = 0;
  GipcSandboxFlags applied = GIPC_SANDBOX_FLAGS_NONE;
  GipcSandboxStep step;
  int errsv = 0;

  *applied_out = 0;
  g_variant_lookup (options, "sandbox", "u", &flags);
  g_variant_lookup (options, "memory-limit", "t", &memory_limit);
  if (flags == 0 && memory_limit == 0)
    return;

  if (!gipc_sandbox_prepare_from_options (&sandbox, options, name, &error))
    child_fail (status_fd, error->domain == GIPC_ERROR ? error->code : GIPC_ERROR_SPAWN_FAILED,
                error->message);

  step = gipc_sandbox_apply_prepared (&sandbox, &applied, &errsv);
  if (step != GIPC_SANDBOX_STEP_NONE)
    child_fail_errno (status_fd, gipc_sandbox_step_describe (step), errsv);
  /* The Landlock ruleset fd is not the target's. */
  gipc_sandbox_prepared_clear (&sandbox);
  *applied_out = (guint32) applied;
}

/* In the child, right after fork(). @fds: the received fds, @pairs: the
 * channels as index pairs into @fds; @setup_fd: the child's end of its
 * set-up socket; @report_fd: its report socket (the go comes there). */
G_GNUC_NORETURN static void
run_child (Target                   *target,
           GVariant                 *args,
           const char               *name,
           gboolean                  die_with_parent,
           pid_t                     server_pid,
           const int                *fds,
           guint                     n_fds,
           GVariant                 *pairs,
           GVariant                 *options,
           int                       setup_fd,
           int                       report_fd,
           GipcForkServerChildFault  fault)
{
  GipcForkServerChildStatus status_ok = { 0, 0 };
  GArray *keep = g_array_new (FALSE, FALSE, sizeof (int));
  GString *announced = current.announced = g_string_new (NULL);
  GVariantIter iter;
  gint32 r, w;
  guint8 go = 0;
  ssize_t n;
  gint status;

  /* Dies with the server (which dies with the program). */
  if (die_with_parent && !gipc_child_setup_die_with_parent (server_pid))
    child_fail_errno (setup_fd, "PR_SET_PDEATHSIG (die-with-parent)", errno);

  /* The dispositions are the server's, reset when it started (it never
   * sets one): only the mask (everything blocked around the fork) is
   * the child's to clear. */
  {
    sigset_t empty;

    sigemptyset (&empty);
    sigprocmask (SIG_SETMASK, &empty, NULL);
  }

  /* The server's default context is empty, but its wakeup eventfd is
   * shared by every child: each gets a fresh one. */
  gipc_child_setup_discard_main_contexts ();
  gipc_channel_child_after_fork (NULL, 0);

  g_variant_iter_init (&iter, pairs);
  while (g_variant_iter_next (&iter, "(ii)", &r, &w))
    {
      int read_fd = r >= 0 && (guint) r < n_fds ? fds[r] : -1;
      int write_fd = w >= 0 && (guint) w < n_fds ? fds[w] : -1;

      if (read_fd >= 0)
        g_array_append_val (keep, read_fd);
      if (write_fd >= 0 && write_fd != read_fd)
        g_array_append_val (keep, write_fd);
      g_string_append_printf (announced, "%s%d:%d", announced->len > 0 ? "," : "",
                              read_fd, write_fd);
    }
  add_context_fds (keep);
  g_array_append_val (keep, setup_fd);
  g_array_append_val (keep, report_fd);
  /* The server's control socket, signalfd, other children's request
   * sockets: none is the child's. */
  gipc_child_setup_close_fds_except ((const int *) (gpointer) keep->data, keep->len);
  g_array_unref (keep);

  if (!gipc_child_setup_stdin_to_devnull ())
    child_fail_errno (setup_fd, "stdin from /dev/null", errno);

#ifdef GIPC_TESTING
  /* Tests: a child whose set-up fails, or that is killed in the middle
   * of it. */
  if (fault == GIPC_FORK_SERVER_CHILD_FAULT_FAILS)
    child_fail_errno (setup_fd, "a fault made for testing", EIO);
  if (fault == GIPC_FORK_SERVER_CHILD_FAULT_DIES)
    (void) kill (getpid (), SIGKILL);
#endif

  /* Last before the target, as in fork mode. */
  child_apply_sandbox (setup_fd, name, options, &status_ok.sandbox_applied);

  if (gipc_fork_server_send (setup_fd, &status_ok, sizeof status_ok, NULL, 0, 0) != 0)
    _exit (127);
  close (setup_fd);
  /* The go, from the program itself once it has our pidfd: from then on
   * nothing the server does can stop us. End of file: the program never
   * heard of us (the server died before its report, or the program gave
   * the request up), and nobody would know of us. */
  do
    n = read (report_fd, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    _exit (127);
  child_report_fd = report_fd;
  (void) pthread_atfork (NULL, NULL, child_report_fd_after_fork);

  if (announced->len > 0)
    setenv ("GIPC_CHANNEL_FDS", announced->str, 1);
  else
    unsetenv ("GIPC_CHANNEL_FDS");
  /* A replacement server's own mark (it came by this environment):
   * not the target's, nor of programs it starts. */
  unsetenv (GIPC_FORK_SERVER_ENV);
  g_string_free (announced, TRUE);
  current.announced = NULL;

  on_exit (child_exiting_on_exit, NULL);
  atexit (flush_channels_at_exit);

  /* Kept in statics (see above): a target may exit() from here. */
  current.inner_args = args;
  current.process = gipc_process_new_for_server_child (name, die_with_parent);
  status = target->func (current.process, args, target->user_data);
  g_clear_object (&current.process);

  gipc_channel_flush_all ();
  fflush (NULL);
  child_send_exiting (status);
  _exit (status);
}

/* ------------------------------------------------------------------ */
/* In the server                                                       */

static gboolean
send_report (int                       request_fd,
             GipcForkServerReportKind  kind,
             pid_t                     pid,
             gint                      code,
             gint                      status,
             guint32                   sandbox_applied,
             int                       pidfd,
             const char               *message)
{
  guint8 buffer[sizeof (GipcForkServerReport) + GIPC_FORK_SERVER_MAX_MESSAGE];
  GipcForkServerReport report;
  gsize len = message != NULL ? MIN (strlen (message), (gsize) GIPC_FORK_SERVER_MAX_MESSAGE) : 0;

  memset (&report, 0, sizeof report);
  report.kind = kind;
  report.pid = pid;
  report.code = code;
  report.status = status;
  report.sandbox_applied = sandbox_applied;
  report.has_pidfd = pidfd >= 0;
  memcpy (buffer, &report, sizeof report);
  if (len > 0)
    memcpy (buffer + sizeof report, message, len);

  /* The program may have given up on the request (its socket is closed):
   * nothing to do then. */
  return gipc_fork_server_send (request_fd, buffer, sizeof report + len,
                                pidfd >= 0 ? &pidfd : NULL, pidfd >= 0 ? 1 : 0,
                                MSG_DONTWAIT) == 0;
}

static void
send_failed (int         request_fd,
             gint        code,
             const char *message)
{
  (void) send_report (request_fd, GIPC_FORK_SERVER_REPORT_FAILED, 0, code, 0, 0, -1, message);
}

/* The request's variant, from the datagram or its memfd. */
static GBytes *
read_request (const guint8 *datagram,
              gssize        len,
              int          *fds,
              guint        *n_fds)
{
  GipcForkServerRequestHeader header;

  if (len < (gssize) sizeof header)
    return NULL;
  memcpy (&header, datagram, sizeof header);
  if (header.magic != GIPC_FORK_SERVER_REQUEST_MAGIC)
    return NULL;

  if (header.in_memfd)
    {
      struct stat st;
      int memfd;
      void *map;
      GBytes *bytes;

      if (*n_fds == 0)
        return NULL;
      memfd = fds[--(*n_fds)];
      if (fstat (memfd, &st) != 0 || (guint64) st.st_size < header.size || header.size == 0)
        {
          close (memfd);
          return NULL;
        }
      map = mmap (NULL, header.size, PROT_READ, MAP_PRIVATE, memfd, 0);
      close (memfd);
      if (map == MAP_FAILED)
        return NULL;
      bytes = g_bytes_new (map, header.size);
      munmap (map, header.size);
      return bytes;
    }

  if ((guint64) (len - (gssize) sizeof header) != header.size)
    return NULL;
  return g_bytes_new (datagram + sizeof header, header.size);
}

static void
close_fds (const int *fds,
           guint      n_fds)
{
  guint i;

  for (i = 0; i < n_fds; i++)
    close (fds[i]);
}

/* One request, from its own socket @request_fd. The first fd that comes
 * with it is the child's report socket, which the server keeps (a copy)
 * for the EXITED report, if a child runs. */
static void
handle_request (GHashTable               *targets,
                GipcForkServerFault       server_fault,
                GipcForkServerChildFault  child_fault,
                int                       request_fd)
{
  int fds[GIPC_FORK_SERVER_MAX_FDS];
  guint n_fds = 0;
  const char *target_name;
  const char *name;
  gboolean die_with_parent = FALSE;
  GipcForkServerChildStatus child_status;
  guint8 status_buffer[sizeof child_status + GIPC_FORK_SERVER_MAX_MESSAGE + 1];
  Target *target;
  sigset_t all_signals;
  sigset_t old_mask;
  pid_t server_pid = getpid ();
  int setup[2];
  int report_fd;
  int pidfd;
  gssize len;
  pid_t pid;
  int errsv;

  len = gipc_fork_server_receive (request_fd, current.buffer,
                                  sizeof (GipcForkServerRequestHeader) + GIPC_FORK_SERVER_MAX_INLINE_REQUEST,
                                  fds, G_N_ELEMENTS (fds), &n_fds, MSG_DONTWAIT);
  if (len <= 0)
    {
      close (request_fd);
      return;
    }

  current.message = read_request (current.buffer, len, fds, &n_fds);
  if (current.message == NULL || n_fds < 1)
    {
      send_failed (request_fd, GIPC_ERROR_PROTOCOL, "the fork server got a malformed request");
      close_fds (fds, n_fds);
      close (request_fd);
      return;
    }

  current.request = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (REQUEST_TYPE),
                                                                  current.message, FALSE));
  g_variant_get (current.request, "(&s@mv&s@a{sv}@a(ii))", &target_name, &current.maybe_args,
                 &name, &current.options, &current.pairs);
  current.args = g_variant_get_maybe (current.maybe_args);
  report_fd = fds[0];
  g_variant_lookup (current.options, "die-with-parent", "b", &die_with_parent);

  target = g_hash_table_lookup (targets, target_name);
  if (target == NULL)
    {
      g_autofree char *why = g_strdup_printf ("the fork server has no target named “%s”",
                                              target_name);

      send_failed (request_fd, GIPC_ERROR_SPAWN_FAILED, why);
      close_fds (fds, n_fds);
      close (request_fd);
      return;
    }

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, setup) != 0)
    {
      g_autofree char *why = g_strdup_printf ("the fork server cannot make a socket: %s",
                                              g_strerror (errno));

      send_failed (request_fd, GIPC_ERROR_SPAWN_FAILED, why);
      close_fds (fds, n_fds);
      close (request_fd);
      return;
    }

  /* No handler may run in the child before its reset. */
  sigfillset (&all_signals);
  sigprocmask (SIG_SETMASK, &all_signals, &old_mask);
  pid = fork ();
  if (pid == 0)
    {
      GVariant *inner = current.args != NULL ? g_variant_get_variant (current.args) : NULL;

      close (setup[0]);
      run_child (target, inner, name, die_with_parent, server_pid, fds, n_fds, current.pairs,
                 current.options, setup[1], report_fd, child_fault);
    }
  errsv = errno;
  sigprocmask (SIG_SETMASK, &old_mask, NULL);
  close (setup[1]);
  /* The channels' fds are the child's now; the report socket is kept
   * (closed below on every way out but a running child). */
  close_fds (fds + 1, n_fds - 1);

#ifdef GIPC_TESTING
  if (pid > 0 && server_fault == GIPC_FORK_SERVER_FAULT_DIE_BEFORE_REPLY)
    _exit (1);
#endif

  if (pid < 0)
    {
      g_autofree char *why = g_strdup_printf ("the fork server cannot fork: %s",
                                              g_strerror (errsv));

      close (setup[0]);
      close (report_fd);
      send_failed (request_fd, GIPC_ERROR_SPAWN_FAILED, why);
      close (request_fd);
      return;
    }

  /* The child's report on its set-up (end of file: it died). A child
   * that failed exits by itself; the reaper takes it. */
  {
    guint n_none = 0;

    len = gipc_fork_server_receive (setup[0], status_buffer, sizeof status_buffer - 1,
                                    NULL, 0, &n_none, 0);
  }
  if (len < (gssize) sizeof child_status)
    {
      close (setup[0]);
      close (report_fd);
      send_failed (request_fd, GIPC_ERROR_SPAWN_FAILED, "the child died while setting up");
      close (request_fd);
      return;
    }

  memcpy (&child_status, status_buffer, sizeof child_status);
  if (child_status.code != 0)
    {
      status_buffer[len] = '\0';
      close (setup[0]);
      close (report_fd);
      send_failed (request_fd, child_status.code,
                   (const char *) status_buffer + sizeof child_status);
      close (request_fd);
      return;
    }

  /* Without pidfds (valgrind 3.19, old kernels) the program gets the pid
   * alone. */
  close (setup[0]);
  pidfd = gipc_reaper_pidfd_open (pid);
  if (!send_report (request_fd, GIPC_FORK_SERVER_REPORT_STARTED, pid, 0, 0,
                    child_status.sandbox_applied, pidfd, NULL))
    {
      /* The program gave the request up: it closed its end of the
       * child's report socket too, the child never runs its target (end
       * of file instead of the go); the reaper takes it. */
      if (pidfd >= 0)
        close (pidfd);
      close (report_fd);
      close (request_fd);
      return;
    }
  if (pidfd >= 0)
    close (pidfd);
  /* The rest goes on the child's report socket. */
  close (request_fd);

#ifdef GIPC_TESTING
  if (server_fault == GIPC_FORK_SERVER_FAULT_DIE_AFTER_STARTED)
    _exit (1);
#endif

  g_hash_table_insert (current.children, GINT_TO_POINTER (pid), GINT_TO_POINTER (report_fd));
}

/* Every child that exited: its status to the program. */
static void
reap_children (void)
{
  for (;;)
    {
      siginfo_t info;
      gpointer fd_pointer;
      int r;

      memset (&info, 0, sizeof info);
      r = waitid (P_ALL, 0, &info, WEXITED | WNOHANG);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 || info.si_pid == 0)
        return;

      if (g_hash_table_steal_extended (current.children, GINT_TO_POINTER (info.si_pid),
                                       NULL, &fd_pointer))
        {
          int report_fd = GPOINTER_TO_INT (fd_pointer);

          send_report (report_fd, GIPC_FORK_SERVER_REPORT_EXITED, info.si_pid,
                       info.si_code, info.si_status, 0, -1, NULL);
          close (report_fd);
        }
    }
}

/* Fds 0 to 2 open (on /dev/null where they were closed), so that nothing
 * received or opened later lands on them. */
static void
open_stdio (void)
{
  int fd;

  for (fd = 0; fd <= 2; fd++)
    {
      int null_fd;

      if (fcntl (fd, F_GETFD) >= 0 || errno != EBADF)
        continue;
      null_fd = open ("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (null_fd >= 0 && null_fd != fd)
        {
          (void) dup2 (null_fd, fd);
          close (null_fd);
        }
    }
}

/* One request socket per running child: as many as the hard limit
 * allows. */
static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      (void) setrlimit (RLIMIT_NOFILE, &limit);
    }
}

void
gipc_fork_server_loop_run (GHashTable               *targets,
                           int                       control_fd,
                           pid_t                     program_pid,
                           gboolean                  pdeathsig,
                           GipcForkServerFault       server_fault,
                           GipcForkServerChildFault  child_fault)
{
  GArray *keep = g_array_new (FALSE, FALSE, sizeof (int));
  gboolean closing = FALSE;
  gboolean periodic = FALSE;
  sigset_t child_signal;
  int signal_fd;
  int program_fd;

  if (pdeathsig && !gipc_child_setup_die_with_parent (program_pid))
    _exit (127);

  gipc_child_setup_reset_signals (TRUE);
  gipc_child_setup_discard_main_contexts ();
  gipc_channel_child_after_fork (NULL, 0);

  open_stdio ();
  g_array_append_val (keep, control_fd);
  add_context_fds (keep);
  gipc_child_setup_close_fds_except ((const int *) (gpointer) keep->data, keep->len);
  g_array_unref (keep);
  (void) gipc_child_setup_stdin_to_devnull ();
  raise_fd_limit ();

  /* The program, watched by its pidfd: the server leaves with it, from
   * whatever thread of it the server was started (PR_SET_PDEATHSIG
   * follows the thread). */
  program_fd = gipc_reaper_pidfd_open (program_pid);
  if (getppid () != program_pid)
    _exit (0);

  sigemptyset (&child_signal);
  sigaddset (&child_signal, SIGCHLD);
  sigprocmask (SIG_BLOCK, &child_signal, NULL);
  signal_fd = signalfd (-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  /* A re-executed copy may have GLib's service threads ("gmain"), which
   * do not block SIGCHLD: the signalfd may miss it, children are then
   * also looked for every 50 ms. */
  if (gipc_child_setup_count_threads () > 1)
    periodic = TRUE;

  current.children = g_hash_table_new (NULL, NULL);
  current.buffer = g_malloc (sizeof (GipcForkServerRequestHeader) +
                             GIPC_FORK_SERVER_MAX_INLINE_REQUEST);

  for (;;)
    {
      struct pollfd pfds[3];
      nfds_t n_pfds = 0;
      int control_index = -1;
      int r;

      if (closing && g_hash_table_size (current.children) == 0)
        _exit (0);

      if (!closing)
        {
          control_index = (int) n_pfds;
          pfds[n_pfds++] = (struct pollfd) { control_fd, POLLIN, 0 };
        }
      if (signal_fd >= 0)
        pfds[n_pfds++] = (struct pollfd) { signal_fd, POLLIN, 0 };
      if (program_fd >= 0)
        pfds[n_pfds++] = (struct pollfd) { program_fd, POLLIN, 0 };

      /* Without a signalfd, children are looked for every 50 ms. */
      r = poll (pfds, n_pfds, signal_fd >= 0 && !periodic ? -1 : 50);
      if (r < 0 && errno != EINTR)
        _exit (1);

      if (program_fd >= 0 && pfds[n_pfds - 1].revents != 0)
        _exit (0);

      if (signal_fd >= 0)
        {
          struct signalfd_siginfo info;

          while (read (signal_fd, &info, sizeof info) > 0)
            ;
        }
      reap_children ();

      if (control_index >= 0 && pfds[control_index].revents != 0)
        {
          int request_fd = -1;
          guint n_fds = 0;
          guint8 byte;
          gssize n;

          n = gipc_fork_server_receive (control_fd, &byte, 1, &request_fd, 1, &n_fds,
                                        MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EMSGSIZE))
            {
              /* The program closed its end: no more requests; the
               * children still running get their reports. */
              closing = TRUE;
              close (control_fd);
            }
          else if (n > 0 && n_fds == 1)
            {
              handle_request (targets, server_fault, child_fault, request_fd);
              current_clear ();
            }
          else if (n_fds == 1)
            close (request_fd);
        }
    }
}
