/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The fork server.
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

typedef struct
{
  GipcTargetFunc func;
  gpointer       user_data;
  GDestroyNotify notify;
} Target;

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

/* (target name, arguments or nothing, process name, options, channels as
 * pairs of indices into the attached fds, -1 for an absent direction; the
 * same index twice for one socket) */
#define REQUEST_TYPE "(smvsa{sv}a(ii))"
/* (succeeded, child pid, GipcError code, error message, sandbox applied);
 * the child's pidfd is the attached fd whenever a child was made (also
 * when its set-up failed: the program reaps it) */
#define REPLY_TYPE   "(biisu)"
/* (ready, error message): the server's first message */
#define HELLO_TYPE   "(bs)"

/* How long the program waits for a server to exit after closing its end
 * of the control socket, before it kills it. */
#define SERVER_EXIT_TIMEOUT_MS 2000

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

static void
target_free (gpointer data)
{
  Target *target = data;

  if (target->notify != NULL)
    target->notify (target->user_data);
  g_free (target);
}

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

static pid_t
wait_for_pid (pid_t pid,
              int  *wait_status)
{
  pid_t r;

  do
    r = waitpid (pid, wait_status, 0);
  while (r < 0 && errno == EINTR);

  return r;
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
  wait_for_pid (pid, &wait_status);

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
  if (wait_for_pid (pid, &wait_status) != pid ||
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

/* What a child tells the server once its set-up is done (code 0) or
 * failed (a GipcError code), followed by the message. */
typedef struct
{
  gint32  code;
  guint32 sandbox_applied;
} ChildStatus;

static void
write_all (int         fd,
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

G_GNUC_NORETURN static void
child_fail (int         status_fd,
            gint        code,
            const char *message)
{
  ChildStatus status = { code, 0 };

  write_all (status_fd, &status, sizeof status);
  write_all (status_fd, message, strlen (message));
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
  ChildStatus status_ok = { 0, 0 };
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

      write_all (fds[report], &self_pid, sizeof self_pid);
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
  write_all (status_fd, &status_ok, sizeof status_ok);
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
handle_request (GipcForkServer *self,
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

  target = g_hash_table_lookup (self->targets, target_name);
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
                 current.options, status_pipe[1], self->child_fault_for_testing);
    }
  errsv = errno;
  sigprocmask (SIG_SETMASK, &old_mask, NULL);
  close (status_pipe[1]);

  if (pid > 0 && self->die_before_reply_for_testing)
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
  if (status->len < sizeof (ChildStatus))
    send_reply (control, FALSE, pid, pidfd, GIPC_ERROR_SPAWN_FAILED,
                "the child died while setting up", 0);
  else
    {
      ChildStatus child_status;

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

G_GNUC_NORETURN static void
run_server (GipcForkServer *self,
            int             socket_fd,
            pid_t           program_pid)
{
  GArray *keep = g_array_new (FALSE, FALSE, sizeof (int));
  GVariant *hello;
  gboolean ready;
  gboolean sent;

  gipc_channel_registry_unlock ();

  if (!gipc_child_setup_die_with_parent (program_pid))
    _exit (127);

  /* The server's (and its children's) copy of the object: the lock was
   * held by the program across the fork, and the object serves nothing
   * here. */
  g_mutex_init (&self->lock);
  self->running = FALSE;
  self->stop_reason = g_strdup ("this is the fork server or one of its children");

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
      handle_request (self, server_control, program_pid, current.message, current.fds);
      current_clear ();
    }
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
      wait_for_pid (self->server_pid, &wait_status);
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
  self->targets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, target_free);
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
      run_server (self, sv[1], parent_pid);
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
      wait_for_pid (pid, NULL);
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
            wait_for_pid (child_pid, NULL);
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
          wait_for_pid (child_pid, NULL);
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
