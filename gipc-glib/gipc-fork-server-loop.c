/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The fork server's own process: its request loop and the children it
 * makes. It runs only in the server (a copy of the program made by
 * gipc_fork_server_start()) and in its children; it may not touch the
 * GipcForkServer object of the program (it gets the targets and its
 * options as arguments), and it never starts a thread.
 *
 *
 * gipc_fork_server_start() forks the server from the program while the
 * program has one thread. The server discards the program's main contexts,
 * closes every fd but stdio and its end of the control socket, and then
 * only blocks on that socket: it never starts a thread and never iterates
 * a main context, so every lock it could copy into a child is free.
 *
 * Requests. The program sends one message per request on the control
 * socket (a GipcChannel over an AF_UNIX stream socketpair, which carries
 * fds): the GVariant REQUEST_TYPE below, with the passed channels' fds
 * attached, and waits for the REPLY_TYPE message, which carries the child's
 * pidfd when it succeeded. A mutex makes send and receive one step, so
 * requests from any number of threads are serialized.
 *
 * Children. The server makes each child with clone3 (CLONE_PARENT |
 * CLONE_PIDFD; the exit signal is the server's own, SIGCHLD), or clone()
 * with the same flags where seccomp or valgrind refuse clone3 (ENOSYS):
 * the child's parent is the program, not
 * the server, so waitpid(), GChildWatch, pidfds, PR_SET_PDEATHSIG and exit
 * statuses work in the program exactly as for its own fork()s. The pidfd
 * goes back to the program, which reaps the child as it reaps fork-mode
 * children.
 *
 * A raw clone skips what glibc's fork() does for the child:
 * - the thread descriptor's cached thread id (struct pthread's tid), which
 *   the pthread calls that name the calling thread to the kernel use
 *   (pthread_setaffinity_np, pthread_setschedparam, pthread_getcpuclockid
 *   on pthread_self(), the owner word of priority-inheritance mutexes): it
 *   would still be the server's, and such a call in the child would act
 *   on the server (measured with pthread_setaffinity_np). glibc 2.36's
 *   raise(), abort() and pthread_kill() on the caller ask the kernel for
 *   the id instead. The server finds the field's offset from
 *   pthread_self() at start (the one word that holds gettid() in the
 *   server and, after a fork() by glibc, the new thread id in the child),
 *   verifies it with a raw clone, and then has the kernel write the child's
 *   thread id there with CLONE_CHILD_SETTID. Each child checks it again
 *   before its target runs. If the field cannot be found, start fails.
 * - the malloc arena, stdio and dynamic loader locks: the server has one
 *   thread and clones only from its request loop, outside every one of
 *   them, so they are free in the child.
 * - pthread_atfork() handlers: none runs in the child of the server.
 *   Libraries that rely on their child handler (to reseed a random
 *   generator, for example) see the state the server had, as every sibling
 *   does.
 * - the robust futex list: not registered in the child (robust mutexes
 *   that the child holds are not released by the kernel if it dies).
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

#ifndef SYS_pidfd_open
# define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
# define SYS_clone3 435
#endif
#ifndef CLONE_PIDFD
# define CLONE_PIDFD 0x00001000
#endif

/* struct clone_args of <linux/sched.h>, version 0 (64 bytes); spelled out
 * here because that header's CLONE_* macros clash with <sched.h>'s. */
typedef struct
{
  guint64 flags;
  guint64 pidfd;
  guint64 child_tid;
  guint64 parent_tid;
  guint64 exit_signal;
  guint64 stack;
  guint64 stack_size;
  guint64 tls;
} CloneArgs;

/* clone3(), or the older clone() where clone3() is not there: seccomp
 * policies (Flatpak's, Docker's, the sandbox of this library) make it fail
 * with ENOSYS so that the C library falls back, and valgrind 3.19 does not
 * know it. Both make a fork-like child (no new stack, no CLONE_VM) with the
 * same flags; clone() stores the pidfd where the parent's thread id would
 * go, and takes the exit signal in its flags (ignored with CLONE_PARENT:
 * the child gets the caller's own, as clone3 gives it). Returns what the
 * call returns; errno is set on -1. */
static pid_t
raw_clone (guint64  flags,
           int     *pidfd,
           pid_t   *child_tid,
           int      exit_signal)
{
  static gboolean no_clone3;
  CloneArgs args;
  pid_t pid;

  if (!no_clone3)
    {
      memset (&args, 0, sizeof args);
      args.flags = flags;
      args.pidfd = (guint64) (guintptr) pidfd;
      args.child_tid = (guint64) (guintptr) child_tid;
      /* clone3 refuses an exit signal with CLONE_PARENT. */
      args.exit_signal = (flags & CLONE_PARENT) != 0 ? 0 : (guint64) exit_signal;
      pid = (pid_t) syscall (SYS_clone3, &args, sizeof args);
      if (pid != -1 || errno != ENOSYS)
        return pid;
      no_clone3 = TRUE;
    }

#if defined(__x86_64__)
  /* flags, stack, parent tid, child tid, tls */
  return (pid_t) syscall (SYS_clone, (unsigned long) flags | (unsigned long) exit_signal,
                          NULL, pidfd, child_tid, NULL);
#elif defined(__aarch64__) || defined(__arm__) || defined(__i386__) || \
      defined(__powerpc__) || defined(__riscv) || defined(__mips__) || defined(__loongarch__)
  /* CONFIG_CLONE_BACKWARDS: flags, stack, parent tid, tls, child tid */
  return (pid_t) syscall (SYS_clone, (unsigned long) flags | (unsigned long) exit_signal,
                          NULL, pidfd, NULL, child_tid);
#else
  errno = ENOSYS;
  return -1;
#endif
}

/* ------------------------------------------------------------------ */
/* The server: the thread id field                                     */

/* Only in the server and its children. */
static pid_t *tid_field;

#define TID_SCAN_BYTES 2048
#define TID_MAX_CANDIDATES 16

/* Offsets (bytes from pthread_self()) of the aligned words that hold
 * @value. The thread descriptor is glibc's, not memory ASan tracks. */
__attribute__((no_sanitize_address)) static guint
find_tid_candidates (pid_t        value,
                     const gsize *among,
                     guint        n_among,
                     gsize       *out)
{
  const volatile pid_t *base = (const volatile pid_t *) (gpointer) pthread_self ();
  guint n = 0;
  gsize offset;

  if (among != NULL)
    {
      guint i;

      for (i = 0; i < n_among && n < TID_MAX_CANDIDATES; i++)
        if (base[among[i] / sizeof (pid_t)] == value)
          out[n++] = among[i];
      return n;
    }

  for (offset = 0; offset < TID_SCAN_BYTES && n < TID_MAX_CANDIDATES; offset += sizeof (pid_t))
    if (base[offset / sizeof (pid_t)] == value)
      out[n++] = offset;

  return n;
}

__attribute__((no_sanitize_address)) static gboolean
tid_field_is_current (void)
{
  return *(volatile pid_t *) tid_field == (pid_t) syscall (SYS_gettid);
}


/* In the single-threaded server. Finds struct pthread's tid field: the
 * candidates are the words that hold our thread id; a child made by
 * glibc's fork() (which has the kernel store the new id in that field)
 * tells which of them holds its own id. Then a raw clone with
 * CLONE_CHILD_SETTID must find its id there. */
static gboolean
find_tid_field (GString *why)
{
  gsize candidates[TID_MAX_CANDIDATES];
  gsize found[TID_MAX_CANDIDATES];
  guint n_candidates;
  int n_found = -1;
  int pipe_fds[2];
  int wait_status;
  pid_t pid;
  ssize_t n;

  n_candidates = find_tid_candidates ((pid_t) syscall (SYS_gettid), NULL, 0, candidates);
  if (n_candidates == 0)
    {
      g_string_append (why, "no word of the thread descriptor holds the thread id");
      return FALSE;
    }

  if (pipe2 (pipe_fds, O_CLOEXEC) != 0)
    {
      g_string_append_printf (why, "pipe: %s", g_strerror (errno));
      return FALSE;
    }

  pid = fork ();
  if (pid == 0)
    {
      guint k = find_tid_candidates ((pid_t) syscall (SYS_gettid), candidates, n_candidates, found);

      (void) write (pipe_fds[1], found, k * sizeof (gsize));
      _exit (0);
    }
  close (pipe_fds[1]);
  if (pid < 0)
    {
      close (pipe_fds[0]);
      g_string_append_printf (why, "fork: %s", g_strerror (errno));
      return FALSE;
    }
  do
    n = read (pipe_fds[0], found, sizeof found);
  while (n < 0 && errno == EINTR);
  close (pipe_fds[0]);
  gipc_fork_server_wait_for_pid (pid, &wait_status);

  if (n >= 0)
    n_found = (int) (n / (ssize_t) sizeof (gsize));
  if (n_found != 1)
    {
      g_string_append_printf (why, "%d words of the thread descriptor follow the thread id "
                              "across fork() (expected one)", n_found);
      return FALSE;
    }

  tid_field = (pid_t *) (gpointer) ((guint8 *) (gpointer) pthread_self () + found[0]);

  /* The check a real child makes, after the same kind of clone. */
  pid = raw_clone (CLONE_CHILD_SETTID, NULL, tid_field, SIGCHLD);
  if (pid == 0)
    _exit (tid_field_is_current () ? 0 : 1);
  if (pid < 0)
    {
      g_string_append_printf (why, "clone3 and clone: %s", g_strerror (errno));
      tid_field = NULL;
      return FALSE;
    }
  if (gipc_fork_server_wait_for_pid (pid, &wait_status) != pid ||
      !WIFEXITED (wait_status) || WEXITSTATUS (wait_status) != 0)
    {
      g_string_append (why, "a raw clone does not get its thread id in the field found");
      tid_field = NULL;
      return FALSE;
    }

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* The server: children                                                */

/* What the server holds, in statics: a child copies the server as it is
 * in the middle of a request and never returns into its frames, so
 * everything it inherits stays reachable from here (memory checkers see
 * it as kept, not lost). */
static GipcChannel *server_control;
/* Why the server cannot make children (its checkers' children exit with
 * it allocated). */
static GString *server_why;

static struct
{
  GBytes      *message;
  GUnixFDList *fds;
  GVariant    *request;
  GVariant    *maybe_args;
  GVariant    *args;
  GVariant    *options;
  GVariant    *pairs;
  GVariant    *inner_args;   /* in a child: what the target gets */
  GipcProcess *process;      /* in a child */
  GString     *announced;    /* in a child: its GIPC_CHANNEL_FDS */
} current;

static void
current_clear (void)
{
  g_clear_pointer (&current.message, g_bytes_unref);
  g_clear_object (&current.fds);
  g_clear_pointer (&current.request, g_variant_unref);
  g_clear_pointer (&current.maybe_args, g_variant_unref);
  g_clear_pointer (&current.args, g_variant_unref);
  g_clear_pointer (&current.options, g_variant_unref);
  g_clear_pointer (&current.pairs, g_variant_unref);
}

static void
flush_channels_at_exit (void)
{
  gipc_channel_flush_all ();
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

G_GNUC_NORETURN static void
child_fail (int         status_fd,
            gint        code,
            const char *message)
{
  GipcForkServerChildStatus status = { code, 0 };

  gipc_fork_server_write_all (status_fd, &status, sizeof status);
  gipc_fork_server_write_all (status_fd, message, strlen (message));
  _exit (127);
}

G_GNUC_NORETURN static void
child_fail_errno (int         status_fd,
                  const char *step,
                  int         errsv)
{
  g_autofree char *message = g_strdup_printf ("setting up the child failed: %s%s%s", step,
                                              errsv != 0 ? ": " : "",
                                              errsv != 0 ? g_strerror (errsv) : "");

  child_fail (status_fd, GIPC_ERROR_SPAWN_FAILED, message);
}

/* The sandbox the request asks for, prepared and applied here (the child
 * may allocate; it has one thread). */
static void
child_apply_sandbox (int         status_fd,
                     const char *name,
                     GVariant   *options,
                     guint32    *applied_out)
{
  GipcSandboxPrepared sandbox = GIPC_SANDBOX_PREPARED_INIT;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func ((GDestroyNotify) gipc_sandbox_path_free);
  g_autoptr(GVariantIter) path_iter = NULL;
  g_autoptr(GError) error = NULL;
  guint32 flags = 0;
  guint64 memory_limit = 0;
  GipcSandboxFlags applied = GIPC_SANDBOX_FLAGS_NONE;
  GipcSandboxStep step;
  const char *path;
  gboolean writable;
  int errsv = 0;

  *applied_out = 0;
  g_variant_lookup (options, "sandbox", "u", &flags);
  g_variant_lookup (options, "memory-limit", "t", &memory_limit);
  if (flags == 0 && memory_limit == 0)
    return;
  if (g_variant_lookup (options, "allowed-paths", "a(sb)", &path_iter))
    while (g_variant_iter_next (path_iter, "(&sb)", &path, &writable))
      {
        GipcSandboxPath *allowed = g_new0 (GipcSandboxPath, 1);

        allowed->path = g_strdup (path);
        allowed->writable = writable;
        g_ptr_array_add (paths, allowed);
      }

  if (!gipc_sandbox_prepare (&sandbox, (GipcSandboxFlags) flags, paths, memory_limit,
                             NULL, NULL, name, &error))
    child_fail (status_fd, error->domain == GIPC_ERROR ? error->code : GIPC_ERROR_SPAWN_FAILED,
                error->message);

  step = gipc_sandbox_apply_prepared (&sandbox, &applied, &errsv);
  if (step != GIPC_SANDBOX_STEP_NONE)
    child_fail_errno (status_fd, gipc_sandbox_step_describe (step), errsv);
  /* The Landlock ruleset fd is not the target's. */
  gipc_sandbox_prepared_clear (&sandbox);
  *applied_out = (guint32) applied;
}

/* In the child, right after the clone. @fds: the received fds, @pairs: the
 * channels as index pairs into @fds. */
G_GNUC_NORETURN static void
run_child (Target      *target,
           GVariant    *args,
           const char  *name,
           gboolean     die_with_parent,
           pid_t        program_pid,
           const int   *fds,
           gint         n_fds,
           GVariant    *pairs,
           GVariant    *options,
           int          status_fd,
           GipcForkServerChildFault fault)
{
  GipcForkServerChildStatus status_ok = { 0, 0 };
  GArray *keep = g_array_new (FALSE, FALSE, sizeof (int));
  GString *announced = current.announced = g_string_new (NULL);
  GVariantIter iter;
  gint32 r, w;
  gint32 report = -1;
  gint status;

  /* First, the pid, to the program itself: if the server dies before its
   * reply, the program still learns of its child and reaps it. */
  if (g_variant_lookup (options, "report-fd", "i", &report) && report >= 0 && report < n_fds)
    {
      pid_t self_pid = getpid ();

      gipc_fork_server_write_all (fds[report], &self_pid, sizeof self_pid);
    }

  if (!tid_field_is_current ())
    child_fail_errno (status_fd, "the thread descriptor does not hold the thread id", 0);

  if (die_with_parent && !gipc_child_setup_die_with_parent (program_pid))
    child_fail_errno (status_fd, "PR_SET_PDEATHSIG (die-with-parent)", errno);

  gipc_child_setup_reset_signals (TRUE);

  /* The server's default context is empty, but its wakeup eventfd is
   * shared by every child: each gets a fresh one. */
  gipc_child_setup_discard_main_contexts ();
  /* The server's own end of the control socket. */
  gipc_channel_child_after_fork (NULL, 0);

  g_variant_iter_init (&iter, pairs);
  while (g_variant_iter_next (&iter, "(ii)", &r, &w))
    {
      int read_fd = r >= 0 && r < n_fds ? fds[r] : -1;
      int write_fd = w >= 0 && w < n_fds ? fds[w] : -1;

      if (read_fd >= 0)
        g_array_append_val (keep, read_fd);
      if (write_fd >= 0 && write_fd != read_fd)
        g_array_append_val (keep, write_fd);
      g_string_append_printf (announced, "%s%d:%d", announced->len > 0 ? "," : "",
                              read_fd, write_fd);
    }
  add_context_fds (keep);
  g_array_append_val (keep, status_fd);
  gipc_child_setup_close_fds_except ((const int *) (gpointer) keep->data, keep->len);
  g_array_unref (keep);

  if (!gipc_child_setup_stdin_to_devnull ())
    child_fail_errno (status_fd, "stdin from /dev/null", errno);

  /* Tests: a child whose set-up fails, or that is killed in the middle
   * of it. */
  if (fault == GIPC_FORK_SERVER_CHILD_FAULT_FAILS)
    child_fail_errno (status_fd, "a fault made for testing", EIO);
  if (fault == GIPC_FORK_SERVER_CHILD_FAULT_DIES)
    (void) kill (getpid (), SIGKILL);

  /* Last before the target, as in fork mode. */
  child_apply_sandbox (status_fd, name, options, &status_ok.sandbox_applied);

  /* The server waits for this (end of file) before it replies. */
  gipc_fork_server_write_all (status_fd, &status_ok, sizeof status_ok);
  close (status_fd);

  if (announced->len > 0)
    g_setenv ("GIPC_CHANNEL_FDS", announced->str, TRUE);
  else
    g_unsetenv ("GIPC_CHANNEL_FDS");
  g_string_free (announced, TRUE);
  current.announced = NULL;

  atexit (flush_channels_at_exit);

  /* Kept in statics (see above): a target may exit() from here. */
  current.inner_args = args;
  current.process = gipc_process_new_for_server_child (name, die_with_parent);
  status = target->func (current.process, args, target->user_data);
  g_clear_object (&current.process);

  gipc_channel_flush_all ();
  fflush (NULL);
  _exit (status);
}

static void
send_reply (GipcChannel *control,
            gboolean     ok,
            pid_t        pid,
            int          pidfd,
            gint         code,
            const char  *message,
            guint32      sandbox_applied)
{
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  if (pidfd >= 0)
    {
      fds = g_unix_fd_list_new ();
      if (g_unix_fd_list_append (fds, pidfd, &error) < 0)
        {
          /* The child runs and cannot be handed over: the program sees an
           * error and never learns the pid; the child is left to exit. */
          g_clear_object (&fds);
          ok = FALSE;
          pid = 0;
          code = GIPC_ERROR_SPAWN_FAILED;
          message = "the fork server cannot duplicate the child's pidfd";
        }
    }

  reply = g_variant_ref_sink (g_variant_new (REPLY_TYPE, ok, (gint32) pid, (gint32) code,
                                             message != NULL ? message : "", sandbox_applied));
  bytes = g_variant_get_data_as_bytes (reply);
  g_clear_error (&error);
  if (!gipc_channel_send_with_fds (control, bytes, fds, NULL, &error))
    _exit (1);
}

/* Reads what a child reports about its set-up, to end of file: the child
 * closes its end before its target runs (or dies, which closes it too). */
static GByteArray *
read_child_status (int fd)
{
  GByteArray *data = g_byte_array_new ();
  guint8 buffer[512];

  for (;;)
    {
      ssize_t n = read (fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (data->len < 4096)
        g_byte_array_append (data, buffer, (guint) n);
    }
  return data;
}

/* One request: the variant of REQUEST_TYPE and its fds. */
static void
handle_request (GHashTable     *targets,
                gboolean        die_before_reply,
                GipcForkServerChildFault child_fault,
                GipcChannel    *control,
                pid_t           program_pid,
                GBytes         *message,
                GUnixFDList    *fd_list)
{
  const char *target_name;
  const char *name;
  gboolean die_with_parent = FALSE;
  const int *fds = NULL;
  gint n_fds = 0;
  Target *target;
  sigset_t all_signals;
  sigset_t old_mask;
  int pidfd = -1;
  int status_pipe[2];
  GByteArray *status;
  pid_t pid;
  int errsv;

  current.request = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (REQUEST_TYPE),
                                                                  message, FALSE));
  g_variant_get (current.request, "(&s@mv&s@a{sv}@a(ii))", &target_name, &current.maybe_args,
                 &name, &current.options, &current.pairs);
  current.args = g_variant_get_maybe (current.maybe_args);
  g_variant_lookup (current.options, "die-with-parent", "b", &die_with_parent);

  target = g_hash_table_lookup (targets, target_name);
  if (target == NULL)
    {
      g_autofree char *why = g_strdup_printf ("the fork server has no target named “%s”",
                                              target_name);

      send_reply (control, FALSE, 0, -1, GIPC_ERROR_SPAWN_FAILED, why, 0);
      return;
    }

  if (pipe2 (status_pipe, O_CLOEXEC) != 0)
    {
      g_autofree char *why = g_strdup_printf ("the fork server cannot make a pipe: %s",
                                              g_strerror (errno));

      send_reply (control, FALSE, 0, -1, GIPC_ERROR_SPAWN_FAILED, why, 0);
      return;
    }

  if (fd_list != NULL)
    fds = g_unix_fd_list_peek_fds (fd_list, &n_fds);

  /* No handler may run in the child before its reset (the server has
   * default dispositions, but the mask is the child's to set). With
   * CLONE_PARENT the child's exit signal is the server's own, SIGCHLD (the
   * server was made by fork()), so waitpid() in the program sees it as
   * any child. */
  sigfillset (&all_signals);
  sigprocmask (SIG_SETMASK, &all_signals, &old_mask);
  pid = raw_clone (CLONE_PARENT | CLONE_PIDFD | CLONE_CHILD_SETTID, &pidfd, tid_field, SIGCHLD);
  if (pid == 0)
    {
      GVariant *inner = current.args != NULL ? g_variant_get_variant (current.args) : NULL;

      close (status_pipe[0]);
      run_child (target, inner, name, die_with_parent, program_pid, fds, n_fds, current.pairs,
                 current.options, status_pipe[1], child_fault);
    }
  errsv = errno;
  sigprocmask (SIG_SETMASK, &old_mask, NULL);
  close (status_pipe[1]);

  if (pid > 0 && die_before_reply)
    _exit (1);

  if (pid < 0)
    {
      g_autofree char *why = g_strdup_printf ("the fork server cannot clone: %s",
                                              g_strerror (errsv));

      close (status_pipe[0]);
      send_reply (control, FALSE, 0, -1, GIPC_ERROR_SPAWN_FAILED, why, 0);
      return;
    }

  status = read_child_status (status_pipe[0]);
  close (status_pipe[0]);
  if (status->len < sizeof (GipcForkServerChildStatus))
    send_reply (control, FALSE, pid, pidfd, GIPC_ERROR_SPAWN_FAILED,
                "the child died while setting up", 0);
  else
    {
      GipcForkServerChildStatus child_status;

      memcpy (&child_status, status->data, sizeof child_status);
      if (child_status.code == 0)
        send_reply (control, TRUE, pid, pidfd, 0, NULL, child_status.sandbox_applied);
      else
        {
          g_autofree char *why = g_strndup ((const char *) status->data + sizeof child_status,
                                            status->len - sizeof child_status);

          send_reply (control, FALSE, pid, pidfd, child_status.code, why, 0);
        }
    }
  g_byte_array_unref (status);
  close (pidfd);
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

void
gipc_fork_server_loop_run (GHashTable               *targets,
                           int                       socket_fd,
                           pid_t                     program_pid,
                           gboolean                  die_before_reply,
                           GipcForkServerChildFault  child_fault)
{
  GArray *keep = g_array_new (FALSE, FALSE, sizeof (int));
  GVariant *hello;
  gboolean ready;
  gboolean sent;

  gipc_channel_registry_unlock ();

  if (!gipc_child_setup_die_with_parent (program_pid))
    _exit (127);

  gipc_child_setup_reset_signals (TRUE);
  gipc_child_setup_discard_main_contexts ();
  gipc_channel_child_after_fork (NULL, 0);

  open_stdio ();
  g_array_append_val (keep, socket_fd);
  add_context_fds (keep);
  gipc_child_setup_close_fds_except ((const int *) (gpointer) keep->data, keep->len);
  g_array_unref (keep);
  (void) gipc_child_setup_stdin_to_devnull ();

  server_control = gipc_channel_new_from_fds (socket_fd, socket_fd, NULL);
  if (server_control == NULL)
    _exit (127);

  server_why = g_string_new (NULL);
  ready = find_tid_field (server_why);
  hello = g_variant_ref_sink (g_variant_new (HELLO_TYPE, ready, server_why->str));
  g_string_free (server_why, TRUE);
  server_why = NULL;
  sent = gipc_channel_send_variant (server_control, hello, NULL, NULL);
  g_variant_unref (hello);
  if (!sent || !ready)
    _exit (1);

  for (;;)
    {
      GError *error = NULL;

      current.message = gipc_channel_receive_with_fds (server_control, &current.fds, NULL, &error);
      if (current.message == NULL)
        _exit (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED) ? 0 : 1);

      /* The fds stay open in the server until the child is made, then go
       * with the list. */
      handle_request (targets, die_before_reply, child_fault, server_control, program_pid, current.message, current.fds);
      current_clear ();
    }
}

