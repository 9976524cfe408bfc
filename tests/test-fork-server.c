/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * GipcForkServer: targets that answer on inherited channels, exit codes and
 * signals (raise and abort in the child signal the child), what a child
 * starts with, that it is the program's child (getppid, waitid, GChildWatch),
 * unknown targets, a killed server, a refused start in a threaded program,
 * a threaded parent starting hundreds of children that do GObject work,
 * 1,000 starts from 4 threads, a crashing target; no fd or zombie is left.
 *
 * The servers are started first thing in main, before g_test_init and
 * before anything can start a thread.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gipc-glib/gipc-glib.h>

#include "gipc-glib/gipc-fork-server-private.h"
#include "gipc-glib/gipc-fork-server-wire-private.h"
#include "gipc-glib/gipc-sandbox-private.h"
#include "test-util.h"

static GipcForkServer *server;        /* the servers of the whole program */
static GipcForkServer *victim;        /* killed by one test */
static GipcForkServer *dies;          /* dies after its first clone, before replying */
static GipcForkServer *dies_after;    /* dies right after its STARTED report */
static GipcForkServer *failing;       /* every child fails its set-up */
static GipcForkServer *killed;        /* every child dies in its set-up */
static GipcForkServer *chaos;         /* killed and stopped at random (1 s timeout) */

/* ---------------------------------------------------------------------- */
/* Targets (they run in the children)                                     */

static gint
echo_target (GipcProcess *process,
             GVariant    *args,
             gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);
  g_autoptr(GVariant) value = NULL;

  if (channel == NULL)
    return 10;
  value = gipc_channel_receive_variant (channel, NULL, NULL);
  if (value == NULL)
    return 11;
  if (!gipc_channel_send_variant (channel, value, NULL, NULL))
    return 12;
  return 0;
}

/* Echoes every message on inherited channel 0 until the channel closes. */
static gint
echo_loop_target (GipcProcess *process,
                  GVariant    *args,
                  gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);

  if (channel == NULL)
    return 10;
  for (;;)
    {
      g_autoptr(GVariant) value = gipc_channel_receive_variant (channel, NULL, NULL);

      if (value == NULL)
        return 0;
      if (!gipc_channel_send_variant (channel, value, NULL, NULL))
        return 12;
    }
}

/* Reads from inherited channel 0, writes to inherited channel 1. */
static gint
relay_target (GipcProcess *process,
              GVariant    *args,
              gpointer     user_data)
{
  g_autoptr(GipcChannel) in = gipc_channel_new_inherited (0, NULL);
  g_autoptr(GipcChannel) out = gipc_channel_new_inherited (1, NULL);
  g_autoptr(GVariant) value = NULL;

  if (in == NULL || out == NULL)
    return 10;
  value = gipc_channel_receive_variant (in, NULL, NULL);
  if (value == NULL || !gipc_channel_send_variant (out, value, NULL, NULL))
    return 11;
  return 0;
}

static gint
exit_target (GipcProcess *process,
             GVariant    *args,
             gpointer     user_data)
{
  return args != NULL ? g_variant_get_int32 (args) : 99;
}

static gint
exit_call_target (GipcProcess *process,
                  GVariant    *args,
                  gpointer     user_data)
{
  exit (g_variant_get_int32 (args));
}

static gint
raise_target (GipcProcess *process,
              GVariant    *args,
              gpointer     user_data)
{
  raise (g_variant_get_int32 (args));
  return 50;
}

static gint
abort_target (GipcProcess *process,
              GVariant    *args,
              gpointer     user_data)
{
  abort ();
}

static gint
crash_target (GipcProcess *process,
              GVariant    *args,
              gpointer     user_data)
{
  /* A fatal signal the sanitizers leave alone. */
  signal (SIGBUS, SIG_DFL);
  kill (getpid (), SIGBUS);
  return 50;
}

/* Dies of SIGBUS, with RLIMIT_CORE at its hard limit in the directory
 * args[1] (args[0] TRUE), or at 0. */
static gint
core_target (GipcProcess *process,
             GVariant    *args,
             gpointer     user_data)
{
  struct rlimit limit;
  gboolean dump;
  const char *dir;

  g_variant_get (args, "(b&s)", &dump, &dir);
  if (getrlimit (RLIMIT_CORE, &limit) != 0)
    return 20;
  limit.rlim_cur = dump ? limit.rlim_max : 0;
  if (setrlimit (RLIMIT_CORE, &limit) != 0)
    return 21;
  if (dump && chdir (dir) != 0)
    return 22;
  (void) prctl (PR_SET_DUMPABLE, 1, 0, 0, 0);
  signal (SIGBUS, SIG_DFL);
  kill (getpid (), SIGBUS);
  return 50;
}

static gint
sleep_target (GipcProcess *process,
              GVariant    *args,
              gpointer     user_data)
{
  /* Until killed; bounded, so that a failed test leaves no child behind
   * that holds the test runner's output pipe for good. */
  g_usleep (120 * G_USEC_PER_SEC);
  return 99;
}

static gpointer
thread_sum_cb (gpointer data)
{
  GMutex *mutex = data;
  gint64 sum = 0;
  gint i;

  for (i = 1; i <= 1000; i++)
    {
      g_mutex_lock (mutex);
      sum += i;
      g_mutex_unlock (mutex);
    }
  return GINT_TO_POINTER ((gint) sum);
}

/* A mutex and a thread of its own: sends the thread's sum, its pid, its
 * parent, its thread id as glibc caches it (pthread mutex owner checks
 * and raise use it) and the kernel's. */
static gint
threads_target (GipcProcess *process,
                GVariant    *args,
                gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);
  pthread_mutex_t recursive;
  pthread_mutexattr_t attr;
  GMutex mutex;
  GThread *thread;
  gint sum;
  gboolean mutex_ok;
  gboolean affinity_ok = TRUE;
  cpu_set_t all_cpus, one_cpu, now_cpus;

  if (channel == NULL)
    return 10;

  g_mutex_init (&mutex);
  thread = g_thread_new ("child-worker", thread_sum_cb, &mutex);
  sum = GPOINTER_TO_INT (g_thread_join (thread));
  g_mutex_clear (&mutex);

  /* An error-checking mutex compares its owner with the cached tid. */
  pthread_mutexattr_init (&attr);
  pthread_mutexattr_settype (&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init (&recursive, &attr);
  mutex_ok = pthread_mutex_lock (&recursive) == 0 &&
             pthread_mutex_lock (&recursive) == EDEADLK &&
             pthread_mutex_unlock (&recursive) == 0;
  pthread_mutex_destroy (&recursive);

  /* pthread_setaffinity_np() on pthread_self() acts on the cached tid:
   * it must change this process's affinity (not the server's). */
  if (sched_getaffinity (0, sizeof all_cpus, &all_cpus) == 0 && CPU_COUNT (&all_cpus) >= 2)
    {
      int cpu;

      for (cpu = 0; !CPU_ISSET (cpu, &all_cpus); cpu++)
        ;
      CPU_ZERO (&one_cpu);
      CPU_SET (cpu, &one_cpu);
      affinity_ok = pthread_setaffinity_np (pthread_self (), sizeof one_cpu, &one_cpu) == 0 &&
                    sched_getaffinity (0, sizeof now_cpus, &now_cpus) == 0 &&
                    CPU_EQUAL (&now_cpus, &one_cpu);
    }

  if (!gipc_channel_send_variant (channel,
                                  g_variant_new ("(iiiibib)", sum, (gint32) getpid (),
                                                 (gint32) getppid (),
                                                 (gint32) gipc_process_get_pid (process),
                                                 mutex_ok, (gint32) syscall (SYS_gettid),
                                                 affinity_ok),
                                  NULL, NULL))
    return 11;
  return 0;
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* What the child starts with. */
static gint
inspect_target (GipcProcess *process,
                GVariant    *args,
                gpointer     user_data)
{
  /* Read before new_inherited, which unsets it. */
  g_autofree char *env = g_strdup (g_getenv ("GIPC_CHANNEL_FDS"));
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);
  g_autoptr(GMainLoop) loop = NULL;
  struct sigaction sa;
  sigset_t mask;
  struct stat st_in, st_null;
  gboolean signals_default = TRUE;
  gboolean mask_empty = TRUE;
  gboolean stdin_null;
  gboolean context_empty;
  int signum;

  if (channel == NULL)
    return 10;

  for (signum = 1; signum < SIGRTMIN; signum++)
    {
      if (signum == SIGKILL || signum == SIGSTOP || signum == SIGPIPE)
        continue;
      if (sigaction (signum, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
        signals_default = FALSE;
    }
  sigprocmask (SIG_SETMASK, NULL, &mask);
  for (signum = 1; signum < SIGRTMIN; signum++)
    if (sigismember (&mask, signum))
      mask_empty = FALSE;

  stdin_null = fstat (0, &st_in) == 0 && stat ("/dev/null", &st_null) == 0 &&
               st_in.st_rdev == st_null.st_rdev && S_ISCHR (st_in.st_mode);

  /* Nothing pending in the default context, and a loop runs on it. */
  context_empty = !g_main_context_pending (NULL);
  loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (1, quit_cb, loop);
  g_main_loop_run (loop);

  if (!gipc_channel_send_variant (channel,
                                  g_variant_new ("(bbbbus)", signals_default, mask_empty,
                                                 stdin_null, context_empty, gipc_test_count_fds (),
                                                 env != NULL ? env : "(unset)"),
                                  NULL, NULL))
    return 11;
  return 0;
}

typedef struct
{
  GObject parent_instance;
  gint    value;
} TestWorker;

typedef GObjectClass TestWorkerClass;

static GType test_worker_get_type (void);
G_DEFINE_TYPE (TestWorker, test_worker, G_TYPE_OBJECT)

static void
test_worker_class_init (TestWorkerClass *klass)
{
}

static void
test_worker_init (TestWorker *self)
{
}

static void
notify_count_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  (*(gint *) user_data)++;
}

/* GObject work, then the answer: 2 * n + notifications. */
static gint
answer_target (GipcProcess *process,
               GVariant    *args,
               gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);
  gint32 n = g_variant_get_int32 (args);
  gint notifications = 0;
  GPtrArray *objects = g_ptr_array_new_with_free_func (g_object_unref);
  gint i;

  if (channel == NULL)
    return 10;

  for (i = 0; i < 50; i++)
    {
      GObject *object = g_object_new (test_worker_get_type (), NULL);
      GSimpleAction *source = g_simple_action_new ("a", NULL);
      GSimpleAction *target = g_simple_action_new ("b", NULL);

      g_signal_connect (target, "notify::enabled", G_CALLBACK (notify_count_cb), &notifications);
      g_object_bind_property (source, "enabled", target, "enabled", G_BINDING_DEFAULT);
      g_simple_action_set_enabled (source, FALSE);
      g_object_set_data_full (object, "source", source, g_object_unref);
      g_object_set_data_full (object, "target", target, g_object_unref);
      g_ptr_array_add (objects, object);
    }
  g_ptr_array_unref (objects);

  /* One notification per binding. */
  if (!gipc_channel_send_variant (channel, g_variant_new_int32 (2 * n + notifications - 50),
                                  NULL, NULL))
    return 11;
  return 0;
}

/* Sends whether an AF_INET socket can be made (errno if not). */
static gint
network_target (GipcProcess *process,
                GVariant    *args,
                gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  gint32 result = fd >= 0 ? 0 : errno;

  if (fd >= 0)
    close (fd);
  if (channel == NULL ||
      !gipc_channel_send_variant (channel, g_variant_new_int32 (result), NULL, NULL))
    return 11;
  return 0;
}

/* 0 when the child's environment lacks the replacement server's mark. */
static gint
server_env_target (GipcProcess *process,
                   GVariant    *args,
                   gpointer     user_data)
{
  return g_getenv ("GIPC_FORK_SERVER") == NULL ? 0 : 1;
}

static void
add_targets (GipcForkServer *s)
{
  gipc_fork_server_add_target (s, "server-env", server_env_target, NULL, NULL);
  gipc_fork_server_add_target (s, "network", network_target, NULL, NULL);
  gipc_fork_server_add_target (s, "echo", echo_target, NULL, NULL);
  gipc_fork_server_add_target (s, "echo-loop", echo_loop_target, NULL, NULL);
  gipc_fork_server_add_target (s, "relay", relay_target, NULL, NULL);
  gipc_fork_server_add_target (s, "exit", exit_target, NULL, NULL);
  gipc_fork_server_add_target (s, "exit-call", exit_call_target, NULL, NULL);
  gipc_fork_server_add_target (s, "raise", raise_target, NULL, NULL);
  gipc_fork_server_add_target (s, "abort", abort_target, NULL, NULL);
  gipc_fork_server_add_target (s, "crash", crash_target, NULL, NULL);
  gipc_fork_server_add_target (s, "core", core_target, NULL, NULL);
  gipc_fork_server_add_target (s, "sleep", sleep_target, NULL, NULL);
  gipc_fork_server_add_target (s, "threads", threads_target, NULL, NULL);
  gipc_fork_server_add_target (s, "inspect", inspect_target, NULL, NULL);
  gipc_fork_server_add_target (s, "answer", answer_target, NULL, NULL);
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

static guint fds_before;

static void
assert_no_zombie (void)
{
  siginfo_t info;

  memset (&info, 0, sizeof info);
  /* Running children (the servers) are not reported; exited ones are. */
  if (waitid (P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
    g_assert_cmpint (info.si_pid, ==, 0);
}

static void
begin (void)
{
  fds_before = gipc_test_count_fds ();
}

static void
end_with (guint gone)
{
  /* What is open, for the log of a failure. */
  if (gipc_test_count_fds () != fds_before - gone)
    {
      g_autofree char *cmd = g_strdup_printf ("ls -l /proc/%d/fd >&2", getpid ());
      g_assert_cmpint (system (cmd), ==, 0);
    }
  g_assert_cmpuint (gipc_test_count_fds (), ==, fds_before - gone);
  assert_no_zombie ();
}

static void
end (void)
{
  end_with (0);
}

/* The fds a dead server leaves to close: its control socket, and its pidfd
 * where pidfd_open() works (not under valgrind 3.19). */
static guint
dead_server_fds (void)
{
  int fd = (int) syscall (SYS_pidfd_open, getpid (), 0);

  if (fd < 0)
    return 1;
  close (fd);
  return 2;
}

/* Starts @name with @args (nullable) and one duplex fd-capable channel;
 * returns the process, and the parent's end in *@parent_end. */
static GipcProcess *
start_with_channel (GipcForkServer  *s,
                    const char      *name,
                    GVariant        *args,
                    GipcChannel    **parent_end)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) child_end = NULL;
  GipcProcess *process;

  g_assert_true (gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX | GIPC_PIPE_FLAGS_UNIX_FDS,
                            parent_end, &child_end, &error));
  g_assert_no_error (error);
  process = gipc_process_new_for_target (s, name, args);
  gipc_process_pass_channel (process, child_end);
  gipc_process_start (process, &error);
  g_assert_no_error (error);
  g_assert_true (gipc_channel_is_closed (child_end));
  return process;
}

static gint
run_to_exit (const char *name,
             GVariant   *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (server, name, args);

  gipc_process_start (process, &error);
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_no_error (error);
  return gipc_process_get_exit_code (process);
}

/* ---------------------------------------------------------------------- */
/* Tests                                                                  */

static void
test_running (void)
{
  gboolean running = FALSE;

  g_assert_true (gipc_fork_server_is_running (server));
  g_object_get (server, "running", &running, NULL);
  g_assert_true (running);
}

static void
test_echo_socket (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GVariant) reply = NULL;

  begin ();
  process = start_with_channel (server, "echo", NULL, &channel);
  g_assert_true (gipc_process_is_alive (process));
  g_assert_cmpint (gipc_process_get_pid (process), >, 0);
  g_assert_cmpstr (gipc_process_get_name (process), ==, "echo");
  g_assert_true (gipc_channel_send_variant (channel, g_variant_new_string ("hello"), NULL, &error));
  reply = gipc_channel_receive_variant (channel, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (reply, NULL), ==, "hello");
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
  g_clear_object (&channel);
  g_clear_object (&process);
  end ();
}

/* Two pipe channels: announced as two READFD:WRITEFD pairs with -1. */
static void
test_relay_pipes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) to_child_r = NULL;
  g_autoptr(GipcChannel) to_child_w = NULL;
  g_autoptr(GipcChannel) from_child_r = NULL;
  g_autoptr(GipcChannel) from_child_w = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GVariant) reply = NULL;

  begin ();
  g_assert_true (gipc_pipe (GIPC_PIPE_FLAGS_NONE, &to_child_r, &to_child_w, &error));
  g_assert_true (gipc_pipe (GIPC_PIPE_FLAGS_NONE, &from_child_r, &from_child_w, &error));
  process = gipc_process_new_for_target (server, "relay", NULL);
  gipc_process_pass_channel (process, to_child_r);
  gipc_process_pass_channel (process, from_child_w);
  gipc_process_start (process, &error);
  g_assert_no_error (error);

  g_assert_true (gipc_channel_send_variant (to_child_w, g_variant_new ("(su)", "x", 7), NULL, &error));
  reply = gipc_channel_receive_variant (from_child_r, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (reply), ==, "(su)");
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
  g_clear_object (&to_child_r);
  g_clear_object (&to_child_w);
  g_clear_object (&from_child_r);
  g_clear_object (&from_child_w);
  g_clear_object (&process);
  end ();
}

static void
test_exit_codes (void)
{
  begin ();
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (0)), ==, 0);
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (3)), ==, 3);
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (255)), ==, 255);
  g_assert_cmpint (run_to_exit ("exit", NULL), ==, 99);
  g_assert_cmpint (run_to_exit ("exit-call", g_variant_new_int32 (17)), ==, 17);
  end ();
}

/* raise() and abort() in the child signal the child, not the server. */
static void
test_signals (void)
{
  begin ();
  g_assert_cmpint (run_to_exit ("raise", g_variant_new_int32 (SIGTERM)), ==, -SIGTERM);
  g_assert_cmpint (run_to_exit ("raise", g_variant_new_int32 (SIGUSR1)), ==, -SIGUSR1);
  g_assert_cmpint (run_to_exit ("abort", NULL), ==, -SIGABRT);
  g_assert_true (gipc_fork_server_is_running (server));
  /* The server survived them all. */
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (4)), ==, 4);
  end ();
}

static void
test_crash (void)
{
  begin ();
  g_assert_cmpint (run_to_exit ("crash", NULL), ==, -SIGBUS);
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (5)), ==, 5);
  end ();
}

/* Whether a child that raises its RLIMIT_CORE and dies of SIGBUS in a
 * directory of ours gets a core written there; NULL if so, else why not. */
static const char *
why_no_core_dumps (gboolean with_limit)
{
  static char why[256];
  g_autofree char *pattern = NULL;
  struct rlimit limit;

  if (with_limit && GIPC_TEST_ASAN)
    return "AddressSanitizer maps terabytes of shadow memory, no core is wanted";
  if (!g_file_get_contents ("/proc/sys/kernel/core_pattern", &pattern, NULL, NULL))
    return "/proc/sys/kernel/core_pattern cannot be read";
  g_strchomp (pattern);
  if (pattern[0] == '\0' || pattern[0] == '|' || strchr (pattern, '/') != NULL)
    {
      g_snprintf (why, sizeof why, "core_pattern is “%s”, not a plain file name (a core "
                  "goes to a program or a directory not ours)", pattern);
      return why;
    }
  if (!with_limit)
    return NULL;
  if (getrlimit (RLIMIT_CORE, &limit) != 0 ||
      (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < 64 * 1024 * 1024))
    return "the hard RLIMIT_CORE is below 64 MiB";
  return NULL;
}

static gint core_fork_target (GipcProcess *process, gpointer user_data)
{
  return core_target (process, user_data, NULL);
}

typedef struct
{
  guint exit_code_notes;
  guint core_dumped_notes;
  gboolean exited;
} CoreNotes;

static void
core_notify_cb (GObject    *object,
                GParamSpec *pspec,
                gpointer    user_data)
{
  CoreNotes *notes = user_data;

  if (g_str_equal (pspec->name, "exit-code"))
    notes->exit_code_notes++;
  else if (g_str_equal (pspec->name, "core-dumped"))
    notes->core_dumped_notes++;
}

static void
core_exited_cb (GipcProcess *process,
                gint         exit_code,
                gpointer     user_data)
{
  CoreNotes *notes = user_data;

  /* Both properties are up to date when they are notified. */
  g_assert_cmpuint (notes->core_dumped_notes, ==, 1);
  notes->exited = TRUE;
}

/* Runs the core target (through the fork server, or in fork mode), and
 * returns whether the kernel said a core was dumped. */
static gboolean
run_core (gboolean    fork_server,
          gboolean    dump,
          const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = NULL;
  GVariant *args = g_variant_ref_sink (g_variant_new ("(bs)", dump, dir));
  CoreNotes notes = { 0, 0, FALSE };
  gboolean core_dumped;

  if (fork_server)
    process = gipc_process_new_for_target (server, "core", args);
  else
    {
      process = gipc_process_new (core_fork_target, g_variant_ref (args),
                                  (GDestroyNotify) g_variant_unref);
      gipc_process_set_warn_if_threaded (process, FALSE);
    }
  g_signal_connect (process, "notify", G_CALLBACK (core_notify_cb), &notes);
  g_signal_connect (process, "exited", G_CALLBACK (core_exited_cb), &notes);
  g_assert_false (gipc_process_get_core_dumped (process));
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  gipc_test_run_until (NULL, &notes.exited);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, -SIGBUS);
  g_assert_cmpuint (notes.exit_code_notes, ==, 1);
  g_assert_cmpuint (notes.core_dumped_notes, ==, 1);
  core_dumped = gipc_process_get_core_dumped (process);
  g_object_get (process, "core-dumped", &core_dumped, NULL);
  g_assert_true (core_dumped == gipc_process_get_core_dumped (process));
  g_variant_unref (args);
  return core_dumped;
}

/* Whether a core was dumped, as the kernel reports it (waitid's
 * CLD_DUMPED in fork mode, the server's report for its children). */
static void
test_core_dumped (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("gipc-core-XXXXXX", &error);
  /* A core written to a pipe (systemd-coredump, apport) may not care for
   * RLIMIT_CORE 0: that half needs a plain file name too. */
  const char *why_not_plain = why_no_core_dumps (FALSE);
  const char *why = why_no_core_dumps (TRUE);

  g_assert_no_error (error);
  begin ();
  /* RLIMIT_CORE 0: no core. */
  if (why_not_plain == NULL)
    {
      g_assert_false (run_core (TRUE, FALSE, dir));
      g_assert_false (run_core (FALSE, FALSE, dir));
    }
  /* A plain exit: no core. */
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (5)), ==, 5);

  if (why == NULL)
    {
      g_autoptr(GDir) listing = NULL;
      const char *name;
      guint n_cores = 0;

      g_assert_true (run_core (TRUE, TRUE, dir));
      g_assert_true (run_core (FALSE, TRUE, dir));
      /* Really written, and removed here. */
      listing = g_dir_open (dir, 0, &error);
      g_assert_no_error (error);
      while ((name = g_dir_read_name (listing)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);

          g_assert_no_errno (g_unlink (path));
          n_cores++;
        }
      g_assert_cmpuint (n_cores, >=, 1);
    }
  g_assert_no_errno (g_rmdir (dir));
  end ();
  if (why != NULL)
    g_test_skip (why);
}

static void
test_terminate (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (server, "sleep", NULL);

  begin ();
  g_assert_true (gipc_process_start (process, &error));
  g_assert_true (gipc_process_terminate (process, &error));
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, -SIGTERM);
  g_clear_object (&process);
  end ();
}

/* The program's side of a child's report socket, read as the reaper does,
 * when the child was killed before it read its go: the server (here the
 * test) sends EXITED and closes its copy with the go still unread. On a
 * datagram socket the peer's close with unread data is a reset, reported
 * by recvmsg () once and before the queued report; it was taken for the
 * server's end of file (exit code unknown, seen under load in 3 of 48
 * runs of /fork-server/terminate). */
static void
test_reap_after_reset (void)
{
  GipcForkServerReapState state = { 0, };
  GipcForkServerReport report = { 0, };
  gboolean core_dumped = TRUE;
  gint exit_code = 0;
  guint8 go = 1;
  int sv[2];
  int child_copy;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
  /* sv[0]: the program's status fd; sv[1]: the server's copy of the
   * child's end, child_copy the child's own. */
  child_copy = dup (sv[1]);
  g_assert_cmpint (send (sv[0], &go, 1, 0), ==, 1);
  g_assert_cmpint (gipc_fork_server_child_try_reap (sv[0], -1, &state, &exit_code,
                                                    &core_dumped), ==, GIPC_REAP_RUNNING);
  g_assert_cmpint (close (child_copy), ==, 0);   /* killed by SIGTERM */
  report.kind = GIPC_FORK_SERVER_REPORT_EXITED;
  report.pid = 4242;
  report.code = CLD_KILLED;
  report.status = SIGTERM;
  g_assert_cmpint (send (sv[1], &report, sizeof report, 0), ==, (ssize_t) sizeof report);
  g_assert_cmpint (close (sv[1]), ==, 0);        /* the go still unread */

  g_assert_cmpint (gipc_fork_server_child_try_reap (sv[0], -1, &state, &exit_code,
                                                    &core_dumped), ==, GIPC_REAP_EXITED);
  g_assert_cmpint (exit_code, ==, -SIGTERM);
  g_assert_false (core_dumped);
  g_assert_false (state.server_gone);
  close (sv[0]);
}

static void
exited_cb (GipcProcess *process,
           gint         exit_code,
           gpointer     user_data)
{
  gint *out = user_data;

  g_assert_cmpint (*out, ==, G_MININT);
  *out = exit_code;
}

static void
join_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (gipc_process_join_finish (GIPC_PROCESS (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
test_join_async (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = NULL;
  gint exit_code = G_MININT;
  gboolean joined = FALSE;

  begin ();
  process = gipc_process_new_for_target (server, "exit", g_variant_new_int32 (21));
  g_signal_connect (process, "exited", G_CALLBACK (exited_cb), &exit_code);
  g_assert_true (gipc_process_start (process, &error));
  gipc_process_join_async (process, NULL, join_done_cb, &joined);
  gipc_test_run_until (NULL, &joined);
  while (exit_code == G_MININT)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (exit_code, ==, 21);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 21);
  g_clear_object (&process);
  gipc_test_drain_context (NULL);
  end ();
}

/* The child is ours: getppid() there is our pid, waitid() here sees it,
 * its mutexes and threads work, and its cached thread id is its own. */
static void
test_our_child (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GVariant) reply = NULL;
  gint32 sum, pid, ppid, self_pid, tid;
  gboolean mutex_ok;
  gboolean affinity_ok;
  siginfo_t info;

  begin ();
  process = start_with_channel (server, "threads", NULL, &channel);
  reply = gipc_channel_receive_variant (channel, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(iiiibib)", &sum, &pid, &ppid, &self_pid, &mutex_ok, &tid, &affinity_ok);
  g_assert_cmpint (sum, ==, 500500);
  g_assert_cmpint (pid, ==, gipc_process_get_pid (process));
  g_assert_cmpint (self_pid, ==, pid);
  g_assert_cmpint (tid, ==, pid);
  /* The server's own child, made by glibc's fork(). */
  g_assert_cmpint (ppid, ==, gipc_fork_server_get_server_pid (server));
  g_assert_true (mutex_ok);
  /* With the server's tid cached, this changed the server's affinity. */
  g_assert_true (affinity_ok);

  /* Not ours: waitid cannot take its status away from the server. */
  memset (&info, 0, sizeof info);
  g_assert_cmpint (waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);

  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
  g_clear_object (&channel);
  g_clear_object (&process);
  end ();
}

/* A child asked for without a process object: not the program's child
 * (waitpid fails), its exit comes in the server's report. */
static void
test_exit_report (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) channels = g_ptr_array_new ();
  GipcForkServerChild child;
  GipcReapResult result;
  GipcForkServerReapState reap_state = { 0 };
  gboolean core_dumped = FALSE;
  gint exit_code = -1;

  begin ();
  g_assert_true (gipc_fork_server_request (server, "exit", g_variant_new_int32 (9), "watched",
                                           g_variant_new ("a{sv}", NULL), channels, &child,
                                           &error));
  g_assert_no_error (error);
  g_assert_cmpint (child.status_fd, >=, 0);
  g_assert_cmpint (waitpid (child.pid, NULL, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
  for (;;)
    {
      struct pollfd pfd = { child.status_fd, POLLIN, 0 };

      result = gipc_fork_server_child_try_reap (child.status_fd, child.pidfd, &reap_state,
                                                &exit_code, &core_dumped);
      if (result != GIPC_REAP_RUNNING)
        break;
      g_assert_cmpint (poll (&pfd, 1, 10000), ==, 1);
    }
  g_assert_cmpint (result, ==, GIPC_REAP_EXITED);
  g_assert_false (reap_state.server_gone);
  g_assert_false (core_dumped);
  g_assert_cmpint (exit_code, ==, 9);
  close (child.status_fd);
  if (child.pidfd >= 0)
    close (child.pidfd);
  end ();
}

static void
test_inspect (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GVariant) reply = NULL;
  gboolean signals_default, mask_empty, stdin_null, context_empty;
  guint n_fds;
  const char *env;
  int sv[2];

  begin ();
  /* Handlers and a mask in the program do not reach the child. */
  signal (SIGUSR2, SIG_IGN);
  /* An fd of the program that must not reach the child. */
  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM, 0, sv));

  process = start_with_channel (server, "inspect", NULL, &channel);
  reply = gipc_channel_receive_variant (channel, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(bbbbu&s)", &signals_default, &mask_empty, &stdin_null,
                 &context_empty, &n_fds, &env);
  g_assert_true (signals_default);
  g_assert_true (mask_empty);
  g_assert_true (stdin_null);
  g_assert_true (context_empty);
  /* stdio, the channel's socket (announced twice), the default context's
   * wakeup fd, the child's report socket (where its go came from, and its
   * exit status goes; close-on-exec). */
  g_assert_cmpuint (n_fds, ==, 6);
  g_assert_true (g_regex_match_simple ("^([0-9]+):\\1$", env, 0, 0));
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);

  signal (SIGUSR2, SIG_DFL);
  close (sv[0]);
  close (sv[1]);
  g_clear_object (&channel);
  g_clear_object (&process);
  end ();
}

static void
test_die_with_parent (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (server, "exit", g_variant_new_int32 (6));

  begin ();
  gipc_process_set_die_with_parent (process, TRUE);
  gipc_process_start (process, &error);
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 6);
  g_clear_object (&process);
  end ();
}

static void
test_sandbox (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) parent_end = NULL;
  g_autoptr(GipcChannel) child_end = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GVariant) reply = NULL;

  begin ();
  g_assert_true (gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX | GIPC_PIPE_FLAGS_UNIX_FDS,
                            &parent_end, &child_end, &error));
  process = gipc_process_new_for_target (server, "network", NULL);
  gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  gipc_process_pass_channel (process, child_end);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  reply = gipc_channel_receive_variant (parent_end, NULL, &error);
  g_assert_no_error (error);
  if (gipc_process_get_sandbox_applied (process) & GIPC_SANDBOX_FLAGS_NO_NETWORK)
    {
      /* A denied socket is EACCES or EPERM. */
      gint32 denied = g_variant_get_int32 (reply);

      g_assert_true (denied == EACCES || denied == EPERM);
    }
  else
    g_test_message ("no seccomp here: NO_NETWORK not applied");
  /* Best effort leaves it out exactly where there are no filters (under
   * valgrind too, which has no seccomp()). */
  g_assert_true (gipc_sandbox_has_seccomp () ==
                 ((gipc_process_get_sandbox_applied (process) & GIPC_SANDBOX_FLAGS_NO_NETWORK) != 0));
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
  g_clear_pointer (&reply, g_variant_unref);
  g_clear_object (&process);
  g_clear_object (&child_end);

  /* Without a sandbox, the same target can make the socket. */
  g_clear_object (&parent_end);
  process = start_with_channel (server, "network", NULL, &parent_end);
  reply = gipc_channel_receive_variant (parent_end, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (reply), ==, 0);
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_clear_object (&process);
  g_clear_object (&parent_end);
  end ();
}

/* TRUE once @pid is gone or a zombie (an orphan's reaper may not reap). */
static gboolean
process_gone (pid_t pid)
{
  char state;

  return !gipc_test_read_proc_stat (pid, &state, NULL) || state == 'Z' || state == 'X';
}

/* The program exits: its server and a die-with-parent child die too. */
static void
test_program_exits (void)
{
  g_autofree char *out = NULL;
  g_autofree char *path = NULL;
  int server_pid = 0;
  int child_pid = 0;
  guint i;

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *report = NULL;
      GipcProcess *process = gipc_process_new_for_target (server, "sleep", NULL);

      gipc_process_set_die_with_parent (process, TRUE);
      g_assert_true (gipc_process_start (process, &error));
      path = g_strdup_printf ("%s/gipc-fork-server-exits-%d", g_get_tmp_dir (), (int) getppid ());
      report = g_strdup_printf ("server=%d child=%d", (int) gipc_fork_server_get_server_pid (server),
                                (int) gipc_process_get_pid (process));
      g_assert_true (g_file_set_contents (path, report, -1, NULL));
      /* Gone at once, with the request's child and the server alive. */
      _exit (0);
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  path = g_strdup_printf ("%s/gipc-fork-server-exits-%d", g_get_tmp_dir (), (int) getpid ());
  g_assert_true (g_file_get_contents (path, &out, NULL, NULL));
  g_unlink (path);
  g_assert_cmpint (sscanf (out, "server=%d child=%d", &server_pid, &child_pid), ==, 2);
  g_assert_cmpint (server_pid, >, 0);
  g_assert_cmpint (child_pid, >, 0);
  for (i = 0; i < 500 && !(process_gone (server_pid) && process_gone (child_pid)); i++)
    g_usleep (10000);
  g_assert_true (process_gone (server_pid));
  g_assert_true (process_gone (child_pid));
}

static void
test_unknown_target (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (server, "no-such-target", NULL);

  begin ();
  g_assert_false (gipc_process_start (process, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, "no-such-target"));
  g_assert_true (gipc_fork_server_is_running (server));
  g_clear_object (&process);
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (1)), ==, 1);
  end ();
}

/* More fds than one request carries: refused, and the server lives on. */
static void
test_too_many_fds (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ends = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (server, "exit", NULL);
  guint i;

  begin ();
  for (i = 0; i < GIPC_CHANNEL_MAX_FDS_PER_MESSAGE + 1; i++)
    {
      GipcChannel *mine = NULL;
      GipcChannel *theirs = NULL;

      g_assert_true (gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX | GIPC_PIPE_FLAGS_UNIX_FDS,
                                &mine, &theirs, &error));
      g_ptr_array_add (ends, mine);
      g_ptr_array_add (ends, theirs);
      gipc_process_pass_channel (process, theirs);
    }
  g_assert_false (gipc_process_start (process, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, "fds"));
  g_assert_true (gipc_fork_server_is_running (server));
  g_assert_false (gipc_channel_is_closed (g_ptr_array_index (ends, 1)));
  g_clear_object (&process);
  g_ptr_array_set_size (ends, 0);
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (12)), ==, 12);
  end ();
}

static void
test_not_started (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcForkServer) unstarted = gipc_fork_server_new ();
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (unstarted, "exit", NULL);

  g_assert_false (gipc_fork_server_is_running (unstarted));
  g_assert_false (gipc_process_start (process, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, "not started"));
}

/* A fork-mode child has a copy of the server object: it cannot use it,
 * and dropping it does not stop the program's server. */
static gint
fork_child_target (GipcProcess *process,
                   gpointer     user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) inner = gipc_process_new_for_target (server, "exit", NULL);

  if (gipc_process_start (inner, &error))
    return 1;
  if (!g_error_matches (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED) ||
      strstr (error->message, "belongs to process") == NULL)
    return 2;
  g_clear_object (&server);
  return 0;
}

static void
test_fork_mode_child (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = gipc_process_new (fork_child_target, NULL, NULL);

  begin ();
  gipc_process_set_warn_if_threaded (process, FALSE);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
  g_clear_object (&process);
  g_assert_true (gipc_fork_server_is_running (server));
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (8)), ==, 8);
  end ();
}

/* Runs after threads exist: a new server is refused, naming the count. */
static gpointer
idle_thread_cb (gpointer data)
{
  GCancellable *stop = data;

  while (!g_cancellable_is_cancelled (stop))
    g_usleep (1000);
  return NULL;
}

static void
test_threaded_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcForkServer) late = gipc_fork_server_new ();
  g_autoptr(GCancellable) stop = g_cancellable_new ();
  GThread *thread = g_thread_new ("idle", idle_thread_cb, stop);

  add_targets (late);
  g_assert_false (gipc_fork_server_start (late, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "threads"));
  g_assert_false (gipc_fork_server_is_running (late));
  g_cancellable_cancel (stop);
  g_thread_join (thread);
}

/* The library's own threads ("gipc-…", the reaper) and GLib's service
 * threads ("gmain", "pool-spawner") do not count; any other does. */
static gpointer
named_thread_cb (gpointer user_data)
{
  GCancellable *stop = user_data;

  while (!g_cancellable_is_cancelled (stop))
    g_usleep (1000);
  return NULL;
}

static void
start_with_named_thread (const char *name,
                         gboolean    expect_ok)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcForkServer) late = gipc_fork_server_new ();
  g_autoptr(GCancellable) stop = g_cancellable_new ();
  GThread *thread = g_thread_new (name, named_thread_cb, stop);
  gboolean ok;

  /* g_thread_new names the thread from inside it: wait for that. */
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *path = NULL;
      g_autofree char *comm = NULL;
      g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
      const char *tid;
      gboolean seen = FALSE;

      while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL && !seen)
        {
          g_free (path);
          g_free (comm);
          comm = NULL;
          path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
          if (g_file_get_contents (path, &comm, NULL, NULL))
            seen = g_str_equal (g_strchomp (comm), name);
        }
      if (seen)
        break;
      g_usleep (1000);
    }

  add_targets (late);
  ok = gipc_fork_server_start (late, &error);
  if (expect_ok)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_true (gipc_fork_server_is_running (late));
    }
  else
    {
      g_assert_false (ok);
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "2 threads"));
    }
  g_cancellable_cancel (stop);
  g_thread_join (thread);
}

static void
test_threads_of_glib_and_gipc (void)
{
  if (g_test_subprocess ())
    {
      /* The calling thread always counts, whatever its name (a program
       * called "gipc-something" names its main thread so). */
      g_assert_no_errno (prctl (PR_SET_NAME, "gipc-program", 0, 0, 0));
      start_with_named_thread ("gipc-helper", TRUE);
      start_with_named_thread ("gmain", TRUE);
      start_with_named_thread ("pool-spawner", TRUE);
      start_with_named_thread ("worker", FALSE);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_add_target_after_start (void)
{
  if (g_test_subprocess ())
    {
      g_test_expect_message ("Gipc", G_LOG_LEVEL_CRITICAL, "*assertion*");
      gipc_fork_server_add_target (server, "late", exit_target, NULL, NULL);
      g_test_assert_expected_messages ();
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* A killed server is replaced at the next start, which succeeds: the
 * program re-executes itself and its same start call becomes the server. */
static void
test_server_killed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) first = gipc_process_new_for_target (victim, "exit", g_variant_new_int32 (2));
  g_autoptr(GipcProcess) second = NULL;
  g_autoptr(GipcProcess) third = gipc_process_new_for_target (victim, "exit", g_variant_new_int32 (5));
  g_autoptr(GipcChannel) channel = NULL;
  g_autoptr(GVariant) reply = NULL;
  guint restarts = gipc_fork_server_get_restarts (victim);
  pid_t server_pid;
  pid_t new_pid;

  begin ();
  g_assert_true (gipc_process_start (first, &error));
  g_assert_true (gipc_process_join (first, 10000, &error));
  g_assert_cmpint (gipc_process_get_exit_code (first), ==, 2);

  server_pid = gipc_fork_server_get_server_pid (victim);
  g_assert_cmpint (server_pid, >, 0);
  g_assert_no_errno (kill (server_pid, SIGKILL));

  /* A passed channel reaches the replacement's child. */
  second = start_with_channel (victim, "echo", NULL, &channel);
  g_assert_true (gipc_channel_send_variant (channel, g_variant_new_string ("again"), NULL, &error));
  reply = gipc_channel_receive_variant (channel, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (reply, NULL), ==, "again");
  g_assert_true (gipc_fork_server_is_running (victim));
  g_assert_cmpuint (gipc_fork_server_get_restarts (victim), ==, restarts + 1);
  new_pid = gipc_fork_server_get_server_pid (victim);
  g_assert_cmpint (new_pid, >, 0);
  g_assert_cmpint (new_pid, !=, server_pid);
  /* The dead one was reaped. */
  g_assert_cmpint (kill (server_pid, 0), ==, -1);

  g_assert_true (gipc_process_start (third, &error));
  g_assert_true (gipc_process_join (third, 10000, &error));
  g_assert_cmpint (gipc_process_get_exit_code (third), ==, 5);
  g_assert_cmpuint (gipc_fork_server_get_restarts (victim), ==, restarts + 1);

  /* The replacement came by GIPC_FORK_SERVER in its environment; its
   * children do not see it. */
  {
    g_autoptr(GipcProcess) env_child = gipc_process_new_for_target (victim, "server-env", NULL);

    g_assert_true (gipc_process_start (env_child, &error));
    g_assert_true (gipc_process_join (env_child, 10000, &error));
    g_assert_no_error (error);
    g_assert_cmpint (gipc_process_get_exit_code (env_child), ==, 0);
  }

  g_clear_object (&channel);
  g_assert_true (gipc_process_join (second, 10000, &error));
  g_clear_object (&first);
  g_clear_object (&second);
  g_clear_object (&third);
  end ();
}


/* ---------------------------------------------------------------------- */
/* Bounded waits and replacement                                           */

static gdouble
elapsed_s (gint64 since)
{
  return (g_get_monotonic_time () - since) / (gdouble) G_USEC_PER_SEC;
}

/* A mistyped target name fails in the program, before anything is sent:
 * even a stopped server (which would answer nothing) does not delay it.
 * (It took 2.0 s before, and forever with a stopped server.) */
static void
test_mistyped_target_at_once (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (server, "exitt", NULL);
  pid_t server_pid = gipc_fork_server_get_server_pid (server);
  gint64 before;

  begin ();
  g_assert_no_errno (kill (server_pid, SIGSTOP));
  before = g_get_monotonic_time ();
  g_assert_false (gipc_process_start (process, &error));
  g_test_message ("mistyped target refused after %.3f s", elapsed_s (before));
  g_assert_no_errno (kill (server_pid, SIGCONT));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, "“exitt”"));
  /* Generous: it does no I/O at all with the server. */
  g_assert_cmpfloat (elapsed_s (before), <, 1.0);
  g_assert_cmpint (gipc_fork_server_get_server_pid (server), ==, server_pid);
  g_clear_object (&process);
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (6)), ==, 6);
  end ();
}

typedef struct
{
  GipcForkServer *server;
  guint           id;
  guint           started;
  guint           failed;
  guint           wrong;
  guint           lost;
  guint           hangs;
  gdouble         longest_start;
} ChaosStarter;

static gint chaos_stop;

/* Starts children of "exit" one after the other, checks every exit code. */
static gpointer
chaos_starter_cb (gpointer data)
{
  ChaosStarter *starter = data;
  guint i;

  for (i = 0; !g_atomic_int_get (&chaos_stop); i++)
    {
      g_autoptr(GError) error = NULL;
      gint32 code = (gint32) ((starter->id * 37 + i) % 200);
      g_autoptr(GipcProcess) process = gipc_process_new_for_target (starter->server, "exit",
                                                                    g_variant_new_int32 (code));
      gint64 before = g_get_monotonic_time ();
      gboolean ok = gipc_process_start (process, &error);

      starter->longest_start = MAX (starter->longest_start, elapsed_s (before));
      if (!ok)
        {
          g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
          starter->failed++;
          continue;
        }
      starter->started++;
      if (!gipc_process_join (process, 20000, &error))
        {
          g_test_message ("starter %u: child %d: %s", starter->id,
                          (int) gipc_process_get_pid (process), error->message);
          starter->hangs++;
          gipc_process_kill (process, NULL);
          continue;
        }
      /* A child whose server was killed after it started: its status
       * is unknown. */
      if (gipc_process_get_exit_code (process) == GIPC_PROCESS_EXIT_CODE_UNKNOWN)
        starter->lost++;
      else if (gipc_process_get_exit_code (process) != code)
        starter->wrong++;
    }
  return NULL;
}

static gboolean
lost_status_is_not_fatal (const gchar    *log_domain,
                          GLogLevelFlags  log_level,
                          const gchar    *message,
                          gpointer        user_data)
{
  return strstr (message, "exit status") == NULL;
}

/* Processes still alive among our children, beside the servers (with
 * PR_SET_CHILD_SUBREAPER, the orphans of a killed server come back to us);
 * reaps the zombies among them. */
static guint
count_strays (void)
{
  g_autoptr(GArray) children = gipc_test_list_children (NULL);
  guint n = 0;

  for (guint i = 0; i < children->len; i++)
    {
      pid_t pid = g_array_index (children, pid_t, i);
      char state = 0;

      if (pid == gipc_fork_server_get_server_pid (chaos) ||
          pid == gipc_fork_server_get_server_pid (server) ||
          pid == gipc_fork_server_get_server_pid (victim) ||
          pid == gipc_fork_server_get_server_pid (dies) ||
          pid == gipc_fork_server_get_server_pid (dies_after) ||
          pid == gipc_fork_server_get_server_pid (failing) ||
          pid == gipc_fork_server_get_server_pid (killed))
        continue;
      if (gipc_test_read_proc_stat (pid, &state, NULL) && state == 'Z')
        {
          waitpid (pid, NULL, WNOHANG);
          continue;
        }
      g_test_message ("still running: pid %d (state %c)", (int) pid, state);
      n++;
    }
  return n;
}

/* kill -9 and SIGSTOP of the server at random moments while 4 threads
 * start children: every start is answered within the bound (three times
 * the request timeout), no start hangs, the
 * server is replaced each time, and nothing is left running. */
static void
test_chaos_subprocess (void)
{
  ChaosStarter starters[4];
  GThread *threads[4];
  guint events = 0;
  guint restarts_before = gipc_fork_server_get_restarts (chaos);
  guint i;
  gint64 deadline;
  guint strays = 1;
  GRand *rand = g_rand_new ();

  g_test_log_set_fatal_handler (lost_status_is_not_fatal, NULL);
  g_assert_no_errno (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));

  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      memset (&starters[i], 0, sizeof starters[i]);
      starters[i].server = chaos;
      starters[i].id = i;
      threads[i] = g_thread_new ("starter", chaos_starter_cb, &starters[i]);
    }

  /* Kills and stops, alternately, at random moments while the threads
   * start children. */
  while (events < 6)
    {
      pid_t pid;

      g_usleep (g_rand_int_range (rand, 20000, 250000));
      pid = gipc_fork_server_get_server_pid (chaos);
      if (pid > 0 && kill (pid, events % 2 == 0 ? SIGKILL : SIGSTOP) == 0)
        events++;
    }
  g_usleep (g_rand_int_range (rand, 20000, 250000));
  g_atomic_int_set (&chaos_stop, 1);

  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_thread_join (threads[i]);
      g_test_message ("starter %u: %u started, %u failed, %u lost, longest start %.2f s",
                      i, starters[i].started, starters[i].failed, starters[i].lost,
                      starters[i].longest_start);
      g_assert_cmpuint (starters[i].hangs, ==, 0);
      g_assert_cmpuint (starters[i].wrong, ==, 0);
      /* The bound: three times the 1 s timeout, and room for a loaded machine. */
      g_assert_cmpfloat (starters[i].longest_start, <, 3 * 1.0 + 10.0);
      g_assert_cmpuint (starters[i].started, >, 0);
    }
  g_test_message ("%u kills and stops, %u restarts", events,
                  gipc_fork_server_get_restarts (chaos) - restarts_before);
  if (events > 0)
    g_assert_cmpuint (gipc_fork_server_get_restarts (chaos), >, restarts_before);

  /* A server left stopped is found by the next start. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GipcProcess) last = gipc_process_new_for_target (chaos, "exit", g_variant_new_int32 (77));

    g_assert_true (gipc_process_start (last, &error));
    g_assert_true (gipc_process_join (last, 20000, &error));
    g_assert_cmpint (gipc_process_get_exit_code (last), ==, 77);
  }

  /* Nothing left running: no orphan of a killed server, no server. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline && (strays = count_strays ()) > 0)
    g_usleep (50000);
  g_assert_cmpuint (strays, ==, 0);
  g_rand_free (rand);
}

static void
test_chaos (void)
{
  g_test_trap_subprocess ("/fork-server/chaos/subprocess", 600 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* A stopped server does not block starts in any thread: each is answered
 * within the bound, and the server is replaced. */
static gpointer
start_one_cb (gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (data, "exit", g_variant_new_int32 (8));

  if (!gipc_process_start (process, &error) || !gipc_process_join (process, 20000, &error))
    return g_strdup (error->message);
  return g_strdup_printf ("%d", gipc_process_get_exit_code (process));
}

static void
test_stopped_server (void)
{
  GThread *threads[3];
  guint restarts = gipc_fork_server_get_restarts (victim);
  pid_t stopped = gipc_fork_server_get_server_pid (victim);
  gint64 before;
  guint i;

  begin ();
  g_assert_no_errno (kill (stopped, SIGSTOP));
  before = g_get_monotonic_time ();
  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("start", start_one_cb, victim);
  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_autofree char *result = g_thread_join (threads[i]);

      g_assert_cmpstr (result, ==, "8");
    }
  g_test_message ("3 starts through a stopped server: %.2f s", elapsed_s (before));
  /* Bounded: three times the 1 s timeout, and room for a loaded machine. */
  g_assert_cmpfloat (elapsed_s (before), <, 3 * 1.0 + 10.0);
  g_assert_cmpuint (gipc_fork_server_get_restarts (victim), ==, restarts + 1);
  g_assert_cmpint (gipc_fork_server_get_server_pid (victim), !=, stopped);
  /* Killed and reaped. */
  g_assert_cmpint (kill (stopped, 0), ==, -1);
  end ();
}

/* The server dies while its child runs: the program learns of the
 * child's exit all the same, with the exit code the child reported
 * itself as it exited, and meanwhile waits without polling: nothing wakes
 * up while the child runs. */
static void
test_server_dies_under_child (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GVariant) reply = NULL;
  struct rusage before, after;
  gint64 cpu_us;
  glong switches;
  pid_t server_pid;
  char state = 0;
  guint i;

  /* Without pidfds (valgrind 3.19) nothing tells the program of the exit
   * of a child whose server died: it is reported lost at once. */
  if (dead_server_fds () == 1)
    {
      g_test_skip ("no pidfd_open() here (valgrind 3.19?): an orphaned child cannot be watched");
      return;
    }
  begin ();
  process = start_with_channel (victim, "echo-loop", NULL, &channel);
  /* The target runs (the server has let it go). */
  g_assert_true (gipc_channel_send_variant (channel, g_variant_new_string ("first"), NULL, &error));
  reply = gipc_channel_receive_variant (channel, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (reply, NULL), ==, "first");
  g_clear_pointer (&reply, g_variant_unref);
  server_pid = gipc_fork_server_get_server_pid (victim);
  g_assert_cmpint (server_pid, >, 0);
  g_assert_no_errno (kill (server_pid, SIGKILL));

  /* Dead (a zombie until the next start replaces it): its end of the
   * report socket is closed. Then the reaper has a moment to see it. */
  for (i = 0; i < 1000 && gipc_test_read_proc_stat (server_pid, &state, NULL) && state != 'Z'; i++)
    g_usleep (10000);
  g_assert_cmpint (state, ==, 'Z');
  g_usleep (200000);
  g_assert_true (gipc_process_is_alive (process));

  /* One second of doing nothing: a thread that polled the dead server's
   * socket (readable at end of file for good) would spin, or wake up
   * every few milliseconds. */
  g_assert_no_errno (getrusage (RUSAGE_SELF, &before));
  g_usleep (G_USEC_PER_SEC);
  g_assert_no_errno (getrusage (RUSAGE_SELF, &after));
  cpu_us = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * G_USEC_PER_SEC +
           (after.ru_utime.tv_usec - before.ru_utime.tv_usec) +
           (after.ru_stime.tv_sec - before.ru_stime.tv_sec) * G_USEC_PER_SEC +
           (after.ru_stime.tv_usec - before.ru_stime.tv_usec);
  switches = after.ru_nvcsw - before.ru_nvcsw;
  g_test_message ("idle second: %" G_GINT64_FORMAT " us of CPU, %ld voluntary switches",
                  cpu_us, switches);
  g_assert_cmpint (cpu_us, <, 200000);
  g_assert_cmpint (switches, <, 30);
  g_assert_true (gipc_process_is_alive (process));

  /* The child still works, and its exit is seen. */
  g_assert_true (gipc_channel_send_variant (channel, g_variant_new_string ("orphan"), NULL, &error));
  reply = gipc_channel_receive_variant (channel, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (reply, NULL), ==, "orphan");
  g_assert_true (gipc_process_is_alive (process));
  /* End of stream: the target returns. */
  g_clear_object (&channel);
  g_assert_true (gipc_process_join (process, 10000, &error));
  g_assert_no_error (error);
  g_assert_false (gipc_process_is_alive (process));
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
  g_clear_object (&process);

  /* The next start replaces the server (and closes the dead one's fds). */
  {
    g_autoptr(GipcProcess) next = gipc_process_new_for_target (victim, "exit", g_variant_new_int32 (4));

    g_assert_true (gipc_process_start (next, &error));
    g_assert_true (gipc_process_join (next, 10000, &error));
    g_assert_cmpint (gipc_process_get_exit_code (next), ==, 4);
  }
  end ();
}

/* The replacement is started from a thread that ends right after: the
 * new server does not die with that thread (PR_SET_PDEATHSIG would). */
static gpointer
start_and_end_cb (gpointer data)
{
  return start_one_cb (data);
}

static void
test_threaded_restart (void)
{
  guint restarts = gipc_fork_server_get_restarts (victim);
  g_autofree char *result = NULL;
  GThread *thread;

  begin ();
  g_assert_no_errno (kill (gipc_fork_server_get_server_pid (victim), SIGKILL));
  thread = g_thread_new ("restarter", start_and_end_cb, victim);
  result = g_thread_join (thread);
  g_assert_cmpstr (result, ==, "8");
  g_assert_cmpuint (gipc_fork_server_get_restarts (victim), ==, restarts + 1);
  /* The thread is gone; the server it started serves on. */
  g_usleep (100000);
  g_clear_pointer (&result, g_free);
  result = start_one_cb (victim);
  g_assert_cmpstr (result, ==, "8");
  g_assert_cmpuint (gipc_fork_server_get_restarts (victim), ==, restarts + 1);
  end ();
}


/* The async request does not block the calling thread on the reply:
 * with the server stopped (its reply would take the whole 1 s timeout),
 * the call returns at once; the callback comes in the thread-default
 * context, from a replacement. */
typedef struct
{
  gboolean            done;
  gboolean            started;
  GipcForkServerChild child;
  GError             *error;
} AsyncReply;

static void
request_async_cb (gboolean             started,
                  GipcForkServerChild *child,
                  GError              *error,
                  gpointer             user_data)
{
  AsyncReply *reply = user_data;

  reply->done = TRUE;
  reply->started = started;
  if (started)
    reply->child = *child;
  reply->error = error;
}

static void
never_called_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_assert_not_reached ();
}

/* start_async, then the caller's context is dropped (unreferenced, never
 * iterated again) before the server's reply was read: nothing is left
 * (the context, its wakeup fd, the request's sockets, the process), and
 * the child made for the request never runs its target. */
static void
test_start_async_context_dropped (void)
{
  begin ();
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GipcChannel) parent_end = NULL;
      g_autoptr(GipcChannel) child_end = NULL;
      g_autoptr(GVariant) echo = NULL;
      GMainContext *context = g_main_context_new ();
      /* A target that sends a message as soon as it runs. */
      GipcProcess *process = gipc_process_new_for_target (server, "inspect", NULL);

      g_assert_true (gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX, &parent_end, &child_end, &error));
      g_assert_no_error (error);
      gipc_process_pass_channel (process, child_end);
      g_clear_object (&child_end);
      g_object_add_weak_pointer (G_OBJECT (process), (gpointer *) &process);

      g_main_context_push_thread_default (context);
      gipc_process_start_async (process, NULL, never_called_cb, NULL);
      g_main_context_pop_thread_default (context);
      /* The second time round, the server's reply is there already. */
      if (i == 1)
        g_usleep (200000);
      g_main_context_unref (context);
      g_object_unref (process);
      g_assert_null (process);

      /* The child never sends: the channel ends (once the child, which
       * got no go, exited). */
      echo = gipc_channel_receive_variant (parent_end, NULL, &error);
      g_assert_null (echo);
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
    }
  end ();
}

static void
test_request_async (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) channels = g_ptr_array_new ();
  AsyncReply reply = { FALSE, FALSE, { 0, -1, -1, 0 }, NULL };
  GipcForkServerChild child;
  GipcReapResult reaped;
  GipcForkServerReapState reap_state = { 0 };
  gboolean core_dumped = FALSE;
  gint exit_code = -1;
  pid_t stopped = gipc_fork_server_get_server_pid (victim);
  guint restarts = gipc_fork_server_get_restarts (victim);
  gint64 before;
  gdouble call_s;

  begin ();
  g_assert_no_errno (kill (stopped, SIGSTOP));
  before = g_get_monotonic_time ();
  gipc_fork_server_request_async (victim, "exit", g_variant_new_int32 (12), "async",
                                  g_variant_new ("a{sv}", NULL), channels, NULL,
                                  request_async_cb, &reply, NULL);
  call_s = elapsed_s (before);
  g_assert_false (reply.done);
  while (!reply.done)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("request_async returned after %.4f s, its reply came after %.2f s",
                  call_s, elapsed_s (before));
  /* The reply needed the 1 s timeout: the call did not wait for it. */
  g_assert_cmpfloat (elapsed_s (before), >=, 1.0);
  g_assert_cmpfloat (call_s, <, 1.0);
  g_assert_no_error (reply.error);
  g_assert_true (reply.started);
  child = reply.child;
  g_assert_cmpuint (gipc_fork_server_get_restarts (victim), ==, restarts + 1);
  for (;;)
    {
      struct pollfd pfd = { child.status_fd, POLLIN, 0 };

      reaped = gipc_fork_server_child_try_reap (child.status_fd, child.pidfd, &reap_state,
                                                &exit_code, &core_dumped);
      if (reaped != GIPC_REAP_RUNNING)
        break;
      g_assert_cmpint (poll (&pfd, 1, 10000), ==, 1);
    }
  g_assert_cmpint (reaped, ==, GIPC_REAP_EXITED);
  g_assert_cmpint (exit_code, ==, 12);
  close (child.status_fd);
  if (child.pidfd >= 0)
    close (child.pidfd);
  memset (&reply, 0, sizeof reply);

  /* An unknown target: the error comes at once, in the callback. */
  gipc_fork_server_request_async (victim, "exitt", NULL, "async", g_variant_new ("a{sv}", NULL),
                                  channels, NULL, request_async_cb, &reply, NULL);
  g_assert_false (reply.done);
  while (!reply.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (reply.started);
  g_assert_error (reply.error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (reply.error->message, "Cannot start process “async”"));
  g_assert_null (strstr (reply.error->message + 1, "Cannot start process"));
  g_clear_error (&reply.error);
  gipc_test_drain_context (NULL);
  end ();
}

/* The program's own waitpid (-1) reaper never takes a fork-server
 * child's status: 2,000 children, every exit code right, no zombie.
 * (With children of the program, the reaper took most statuses and the
 * process objects reported 0.) */
static gint reaper_stop;
static gint reaper_took;

static gpointer
reaper_thread_cb (gpointer data)
{
  while (!g_atomic_int_get (&reaper_stop))
    {
      pid_t pid = waitpid (-1, NULL, WNOHANG);

      if (pid > 0)
        g_atomic_int_inc (&reaper_took);
      else
        g_usleep (200);
    }
  return NULL;
}

static gboolean
exit_code_is_wrong_is_fatal (const gchar    *log_domain,
                             GLogLevelFlags  log_level,
                             const gchar    *message,
                             gpointer        user_data)
{
  return TRUE;
}

static void
test_waitpid_reaper (void)
{
  GThread *reaper;
  GipcProcess *batch[20];
  guint n_children = GIPC_TEST_ASAN || gipc_test_running_on_valgrind () ? 400 : 2000;
  guint wrong = 0;
  guint i, j;

  begin ();
  g_test_log_set_fatal_handler (exit_code_is_wrong_is_fatal, NULL);
  g_atomic_int_set (&reaper_stop, 0);
  g_atomic_int_set (&reaper_took, 0);
  reaper = g_thread_new ("waitpid-reaper", reaper_thread_cb, NULL);

  for (i = 0; i < n_children; i += G_N_ELEMENTS (batch))
    {
      for (j = 0; j < G_N_ELEMENTS (batch); j++)
        {
          g_autoptr(GError) error = NULL;

          batch[j] = gipc_process_new_for_target (server, "exit",
                                                  g_variant_new_int32 ((gint32) ((i + j) % 256)));
          g_assert_true (gipc_process_start (batch[j], &error));
          g_assert_no_error (error);
        }
      for (j = 0; j < G_N_ELEMENTS (batch); j++)
        {
          g_autoptr(GError) error = NULL;

          g_assert_true (gipc_process_join (batch[j], 20000, &error));
          g_assert_no_error (error);
          if (gipc_process_get_exit_code (batch[j]) != (gint) ((i + j) % 256))
            wrong++;
          g_object_unref (batch[j]);
        }
    }

  g_atomic_int_set (&reaper_stop, 1);
  g_thread_join (reaper);
  g_assert_cmpuint (wrong, ==, 0);
  g_assert_cmpint (g_atomic_int_get (&reaper_took), ==, 0);
  gipc_test_drain_context (NULL);
  end ();
}

/* ---------------------------------------------------------------------- */
/* Threads                                                                */

typedef struct
{
  GCancellable *stop;
  guint         id;
} Churn;

static gboolean
idle_nothing_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static gpointer
churn_thread_cb (gpointer data)
{
  Churn *churn = data;
  g_autoptr(GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  while (!g_cancellable_is_cancelled (churn->stop))
    {
      GObject *object = g_object_new (G_TYPE_SIMPLE_ACTION_GROUP, NULL);
      gpointer block = g_malloc (1 + g_random_int_range (0, 4096));
      GSource *idle = g_idle_source_new ();

      g_source_set_callback (idle, idle_nothing_cb, NULL, NULL);
      g_source_attach (idle, context);
      g_source_unref (idle);
      g_idle_add (idle_nothing_cb, NULL);
      g_main_context_iteration (context, FALSE);
      g_free (block);
      g_object_unref (object);
    }
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
create_sources (guint n)
{
  guint i;

  for (i = 0; i < n; i++)
    g_source_remove (g_idle_add (idle_nothing_cb, NULL));
}

static void
test_threaded_parent (void)
{
  g_autoptr(GCancellable) stop = g_cancellable_new ();
  Churn churns[4];
  GThread *threads[4];
  /* Under valgrind (every child is checked too) the full size took 264 s
   * to 288 s of its 300 s budget, and more on a loaded machine: the
   * memory check does not need the scale. */
  gboolean small = GIPC_TEST_ASAN || gipc_test_running_on_valgrind ();
  guint n_children = gipc_test_running_on_valgrind () ? 100 : 300;
  guint hangs = 0;
  guint wrong = 0;
  guint i;

  begin ();
  create_sources (small ? 200000 : 2000000);

  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      churns[i].stop = stop;
      churns[i].id = i;
      threads[i] = g_thread_new ("churn", churn_thread_cb, &churns[i]);
    }

  for (i = 0; i < n_children; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GipcChannel) channel = NULL;
      g_autoptr(GipcProcess) process = NULL;
      g_autoptr(GVariant) reply = NULL;

      process = start_with_channel (server, "answer", g_variant_new_int32 ((gint32) i), &channel);
      gipc_channel_set_timeout (channel, 20000);
      reply = gipc_channel_receive_variant (channel, NULL, &error);
      if (reply == NULL)
        {
          g_test_message ("child %u: %s", i, error->message);
          hangs++;
          gipc_process_kill (process, NULL);
        }
      else if (!g_variant_is_of_type (reply, G_VARIANT_TYPE_INT32) ||
               g_variant_get_int32 (reply) != 2 * (gint32) i)
        wrong++;
      g_clear_error (&error);
      if (!gipc_process_join (process, 20000, &error))
        {
          hangs++;
          gipc_process_kill (process, NULL);
          g_assert_true (gipc_process_join (process, -1, NULL));
        }
      else if (gipc_process_get_exit_code (process) != 0)
        wrong++;
    }

  g_cancellable_cancel (stop);
  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  g_assert_cmpuint (hangs, ==, 0);
  g_assert_cmpuint (wrong, ==, 0);
  gipc_test_drain_context (NULL);
  end ();
}

typedef struct
{
  guint id;
  guint n;
  guint failures;
} Starter;

static gpointer
starter_thread_cb (gpointer data)
{
  Starter *starter = data;
  guint i;

  for (i = 0; i < starter->n; i++)
    {
      g_autoptr(GError) error = NULL;
      gint32 code = (gint32) ((starter->id * 1000 + i) % 200);
      g_autoptr(GipcProcess) process = gipc_process_new_for_target (server, "exit",
                                                                   g_variant_new_int32 (code));

      if (!gipc_process_start (process, &error) ||
          !gipc_process_join (process, 20000, &error) ||
          gipc_process_get_exit_code (process) != code)
        {
          if (error != NULL)
            g_test_message ("thread %u start %u: %s", starter->id, i, error->message);
          starter->failures++;
        }
    }
  return NULL;
}

static void
test_many_threads (void)
{
  Starter starters[4];
  GThread *threads[4];
  guint failures = 0;
  guint i;

  begin ();
  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      starters[i].id = i;
      starters[i].n = 250;
      starters[i].failures = 0;
      threads[i] = g_thread_new ("starter", starter_thread_cb, &starters[i]);
    }
  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_thread_join (threads[i]);
      failures += starters[i].failures;
    }
  g_assert_cmpuint (failures, ==, 0);
  gipc_test_drain_context (NULL);
  end ();
}

/* Children of ours that are not fork servers, alive or not. */
static guint
count_other_children (void)
{
  g_autoptr(GArray) children = gipc_test_list_children (NULL);
  pid_t servers[] = {
    gipc_fork_server_get_server_pid (server),
    gipc_fork_server_get_server_pid (victim),
    gipc_fork_server_get_server_pid (dies),
    gipc_fork_server_get_server_pid (dies_after),
    gipc_fork_server_get_server_pid (failing),
    gipc_fork_server_get_server_pid (killed),
    gipc_fork_server_get_server_pid (chaos),
  };
  guint n = 0;

  for (guint i = 0; i < children->len; i++)
    {
      pid_t pid = g_array_index (children, pid_t, i);
      gboolean is_server = FALSE;

      for (guint j = 0; j < G_N_ELEMENTS (servers); j++)
        is_server |= servers[j] == pid;
      if (!is_server)
        n++;
    }
  return n;
}

/* The server dies after it made the child and before it replied: start
 * fails, and the child (ours, never announced) is killed and reaped, not
 * left running or as a zombie. */
static void
test_lost_reply (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (dies, "sleep", NULL);

  begin ();
  g_assert_cmpuint (count_other_children (), ==, 0);
  g_assert_false (gipc_process_start (process, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, "died"));
  g_assert_cmpuint (count_other_children (), ==, 0);
  g_clear_object (&process);
  /* The dead server's socket and pidfd. */
  end_with (dead_server_fds ());
}

/* The server dies right after it sent the program its STARTED report (the
 * child's pidfd): the start succeeded, so the child runs its target all
 * the same (its go comes from the program, not from the server), and its
 * exit code is known (the child reports it itself when the server is
 * gone). */
static void
test_server_dies_after_started (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GVariant) reply = NULL;
  pid_t server_pid;

  begin ();
  process = start_with_channel (dies_after, "echo-loop", NULL, &channel);
  server_pid = gipc_fork_server_get_server_pid (dies_after);
  /* The target runs. */
  g_assert_true (gipc_channel_send_variant (channel, g_variant_new_string ("ran"), NULL, &error));
  g_assert_no_error (error);
  reply = gipc_channel_receive_variant (channel, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  g_assert_cmpstr (g_variant_get_string (reply, NULL), ==, "ran");
  /* The server is gone (a zombie of ours until the next start). */
  for (guint i = 0; i < 1000 && kill (server_pid, 0) == 0; i++)
    {
      char state = 0;

      if (gipc_test_read_proc_stat (server_pid, &state, NULL) && state == 'Z')
        break;
      g_usleep (10000);
    }
  /* End of stream: the target returns 0, which the child reported. */
  g_clear_object (&channel);
  g_assert_true (gipc_process_join (process, 20000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
  g_clear_object (&process);

  /* A target that calls exit() itself: also reported. */
  process = gipc_process_new_for_target (dies_after, "exit-call", g_variant_new_int32 (9));
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, 20000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 9);
  g_clear_object (&process);

  /* Killed by a signal with no server to see it: unknown, never made up. */
  process = gipc_process_new_for_target (dies_after, "sleep", NULL);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  server_pid = gipc_fork_server_get_server_pid (dies_after);
  for (guint i = 0; i < 1000 && kill (server_pid, 0) == 0; i++)
    {
      char state = 0;

      if (gipc_test_read_proc_stat (server_pid, &state, NULL) && state == 'Z')
        break;
      g_usleep (10000);
    }
  g_assert_true (gipc_process_send_signal (process, SIGKILL, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, 20000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, GIPC_PROCESS_EXIT_CODE_UNKNOWN);
  g_clear_object (&process);
  /* The last dead server's socket and pidfd took the first one's place;
   * its zombie is taken here (the next start would). */
  g_assert_cmpint (waitpid (server_pid, NULL, 0), ==, server_pid);
  end ();
}

/* A sandbox the kernel cannot give, or an allowed path that does not
 * exist: refused in the program, before a request is sent (the child
 * would find the same); no child is made. */
static void
test_bad_allowed_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = gipc_process_new_for_target (server, "exit",
                                                                g_variant_new_int32 (3));

  begin ();
  gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM);
  gipc_process_sandbox_allow_path (process, "/nonexistent/gipc-fork-server-test", FALSE);
  g_assert_false (gipc_process_start (process, &error));
  if (gipc_sandbox_get_landlock_abi () > 0)
    {
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
      g_assert_nonnull (strstr (error->message, "/nonexistent/gipc-fork-server-test"));
    }
  else
    g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SANDBOX_UNAVAILABLE);
  g_assert_cmpuint (count_other_children (), ==, 0);
  g_assert_true (gipc_fork_server_is_running (server));
  g_clear_object (&process);
  g_assert_cmpint (run_to_exit ("exit", g_variant_new_int32 (4)), ==, 4);
  end ();
}

/* A child that fails its set-up (it reports why) or is killed in the
 * middle of it (SIGKILL, before it reports): start fails and says so, the
 * child (made, and ours) is reaped, the server serves the next request,
 * and the channel passed to it stays open in the program, as after any
 * failed start: passed again to a good server, it works. */
static void
child_fault (GipcForkServer *s,
             const char     *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) parent_end = NULL;
  g_autoptr(GipcChannel) child_end = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GVariant) reply = NULL;
  guint i;

  begin ();
  for (i = 0; i < 3; i++)
    {
      g_assert_true (gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX | GIPC_PIPE_FLAGS_UNIX_FDS,
                                &parent_end, &child_end, &error));
      process = gipc_process_new_for_target (s, "echo", NULL);
      gipc_process_pass_channel (process, child_end);
      g_assert_false (gipc_process_start (process, &error));
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
      g_assert_nonnull (strstr (error->message, expected));
      g_clear_error (&error);
      g_assert_cmpuint (count_other_children (), ==, 0);
      g_assert_true (gipc_fork_server_is_running (s));
      g_assert_false (gipc_channel_is_closed (child_end));
      g_clear_object (&process);

      process = gipc_process_new_for_target (server, "echo", NULL);
      gipc_process_pass_channel (process, child_end);
      g_assert_true (gipc_process_start (process, &error));
      g_assert_no_error (error);
      g_assert_true (gipc_channel_send_variant (parent_end, g_variant_new_uint32 (i), NULL, &error));
      reply = gipc_channel_receive_variant (parent_end, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_variant_get_uint32 (reply), ==, i);
      g_assert_true (gipc_process_join (process, 10000, &error));
      g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
      g_clear_pointer (&reply, g_variant_unref);
      g_clear_object (&process);
      g_clear_object (&parent_end);
      g_clear_object (&child_end);
    }
  end ();
}

static void
test_child_fails_setup (void)
{
  child_fault (failing, "setting up the child failed: a fault made for testing");
}

static void
test_child_dies_in_setup (void)
{
  child_fault (killed, "died while setting up");
}

/* The program runs under a seccomp policy that makes clone3 fail with
 * ENOSYS (the sandbox of this library does, as Flatpak's and Docker's
 * do): the server falls back to clone() and works. Before that fallback,
 * its start failed with "clone3: Function not implemented". */
static gint
exit_target_42 (GipcProcess *process,
                GVariant    *args,
                gpointer     user_data)
{
  return 42;
}

static gint
sandboxed_program_target (GipcProcess *process,
                          gpointer     user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcForkServer) inner = gipc_fork_server_new ();
  g_autoptr(GipcProcess) child = NULL;

  /* clone3 is really refused here. */
  if (syscall (SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
    return 10;
  gipc_fork_server_add_target (inner, "42", exit_target_42, NULL, NULL);
  if (!gipc_fork_server_start (inner, &error))
    {
      g_printerr ("fork server in a sandboxed program: %s\n", error->message);
      return 11;
    }
  child = gipc_process_new_for_target (inner, "42", NULL);
  if (!gipc_process_start (child, &error) || !gipc_process_join (child, 10000, &error))
    {
      g_printerr ("start through it: %s\n", error->message);
      return 12;
    }
  return gipc_process_get_exit_code (child);
}

static void
test_sandboxed_program (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcProcess) process = NULL;

  if (!gipc_sandbox_has_seccomp ())
    {
      g_test_skip ("no seccomp filters here (valgrind has no seccomp()): "
                   "clone3 cannot be refused");
      return;
    }
  begin ();
  process = gipc_process_new (sandboxed_program_target, NULL, NULL);
  gipc_process_set_warn_if_threaded (process, FALSE);
  gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_NETWORK);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, 20000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 42);
  g_clear_object (&process);
  end ();
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;

  /* Before anything can start a thread. The default context (and its
   * wakeup fd) exists from here on, so the fd counts of the tests do not
   * see it appear. */
  g_main_context_default ();
  server = gipc_fork_server_new ();
  add_targets (server);
  if (!gipc_fork_server_start (server, &error))
    g_error ("fork server: %s", error->message);
  victim = gipc_fork_server_new ();
  add_targets (victim);
  if (!gipc_fork_server_start (victim, &error))
    g_error ("fork server: %s", error->message);
  dies = gipc_fork_server_new ();
  add_targets (dies);
  gipc_fork_server_set_die_before_reply_for_testing (dies);
  if (!gipc_fork_server_start (dies, &error))
    g_error ("fork server: %s", error->message);
  dies_after = gipc_fork_server_new ();
  add_targets (dies_after);
  gipc_fork_server_set_die_after_started_for_testing (dies_after);
  if (!gipc_fork_server_start (dies_after, &error))
    g_error ("fork server: %s", error->message);
  failing = gipc_fork_server_new ();
  add_targets (failing);
  gipc_fork_server_set_child_fault_for_testing (failing, GIPC_FORK_SERVER_CHILD_FAULT_FAILS);
  if (!gipc_fork_server_start (failing, &error))
    g_error ("fork server: %s", error->message);
  killed = gipc_fork_server_new ();
  add_targets (killed);
  gipc_fork_server_set_child_fault_for_testing (killed, GIPC_FORK_SERVER_CHILD_FAULT_DIES);
  if (!gipc_fork_server_start (killed, &error))
    g_error ("fork server: %s", error->message);

  chaos = gipc_fork_server_new ();
  add_targets (chaos);
  gipc_fork_server_set_request_timeout_for_testing (chaos, 1000);
  if (!gipc_fork_server_start (chaos, &error))
    g_error ("fork server: %s", error->message);
  gipc_fork_server_set_request_timeout_for_testing (victim, 1000);

  /* GTask's class opens an fd for good: before the fd counts. */
  g_type_class_unref (g_type_class_ref (G_TYPE_TASK));
  /* So does the library's reaper thread (its wakeup eventfd), at the
   * first start. */
  {
    const char * const argv_true[] = { "true", NULL };
    g_autoptr(GipcProcess) warmup = gipc_process_new_for_argv (argv_true, &error);

    if (warmup == NULL || !gipc_process_start (warmup, &error) ||
        !gipc_process_join (warmup, -1, &error))
      g_error ("warm-up: %s", error->message);
  }

  g_test_init (&argc, &argv, NULL);

  gipc_test_add_func ("/fork-server/running", test_running);
  gipc_test_add_func ("/fork-server/echo/socket", test_echo_socket);
  gipc_test_add_func ("/fork-server/echo/pipes", test_relay_pipes);
  gipc_test_add_func ("/fork-server/exit-codes", test_exit_codes);
  gipc_test_add_func ("/fork-server/signals", test_signals);
  gipc_test_add_func ("/fork-server/crash", test_crash);
  gipc_test_add_func ("/fork-server/core-dumped", test_core_dumped);
  gipc_test_add_func ("/fork-server/terminate", test_terminate);
  gipc_test_add_func ("/fork-server/reap-after-reset", test_reap_after_reset);
  gipc_test_add_func ("/fork-server/join-async", test_join_async);
  gipc_test_add_func ("/fork-server/our-child", test_our_child);
  gipc_test_add_func ("/fork-server/exit-report", test_exit_report);
  gipc_test_add_func ("/fork-server/inspect", test_inspect);
  gipc_test_add_func ("/fork-server/die-with-parent", test_die_with_parent);
  gipc_test_add_func ("/fork-server/sandbox", test_sandbox);
  gipc_test_add_func ("/fork-server/program-exits", test_program_exits);
  gipc_test_add_func ("/fork-server/unknown-target", test_unknown_target);
  gipc_test_add_func ("/fork-server/not-started", test_not_started);
  gipc_test_add_func ("/fork-server/too-many-fds", test_too_many_fds);
  gipc_test_add_func ("/fork-server/fork-mode-child", test_fork_mode_child);
  gipc_test_add_func ("/fork-server/threaded-refused", test_threaded_refused);
  gipc_test_add_func ("/fork-server/add-target-after-start", test_add_target_after_start);
  gipc_test_add_func ("/fork-server/threads-of-glib-and-gipc", test_threads_of_glib_and_gipc);
  gipc_test_add_func ("/fork-server/server-killed", test_server_killed);
  gipc_test_add_func ("/fork-server/lost-reply", test_lost_reply);
  gipc_test_add_func ("/fork-server/server-dies-after-started", test_server_dies_after_started);
  gipc_test_add_func ("/fork-server/mistyped-target-at-once", test_mistyped_target_at_once);
  gipc_test_add_func ("/fork-server/stopped-server", test_stopped_server);
  gipc_test_add_func ("/fork-server/threaded-restart", test_threaded_restart);
  gipc_test_add_func ("/fork-server/server-dies-under-child", test_server_dies_under_child);
  gipc_test_add_func ("/fork-server/waitpid-reaper", test_waitpid_reaper);
  gipc_test_add_func ("/fork-server/request-async", test_request_async);
  gipc_test_add_func ("/fork-server/start-async-context-dropped", test_start_async_context_dropped);
  gipc_test_add_func ("/fork-server/chaos", test_chaos);
  g_test_add_func ("/fork-server/chaos/subprocess", test_chaos_subprocess);
  gipc_test_add_func ("/fork-server/bad-allowed-path", test_bad_allowed_path);
  gipc_test_add_func ("/fork-server/child-fails-setup", test_child_fails_setup);
  gipc_test_add_func ("/fork-server/child-dies-in-setup", test_child_dies_in_setup);
  gipc_test_add_func ("/fork-server/sandboxed-program", test_sandboxed_program);
  gipc_test_add_func ("/fork-server/threaded-parent", test_threaded_parent);
  gipc_test_add_func ("/fork-server/many-threads", test_many_threads);

  return g_test_run ();
}
