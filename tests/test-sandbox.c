/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Sandboxed children (GipcSandboxFlags): each guarantee in fork mode (the
 * probes run in the target) and in spawn mode (gipc-test-helper runs the
 * same probes, sandbox-probes.h), what the child keeps (channels, fd
 * passing, memfds, timers, a main loop, threads, fork, memory up to the
 * limit), the
 * block-list (EPERM, never a kill), sandbox-applied and BEST_EFFORT on a
 * simulated older kernel, the properties, misuse, fd hygiene, and spawning
 * sandboxed children from a threaded parent.
 */

#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <glib/gstdio.h>
#include <gipc-glib/gipc-glib.h>

#include "gipc-glib/gipc-sandbox-private.h"
#include "sandbox-probes.h"
#include "test-util.h"

/* ---------------------------------------------------------------------- */
/* Helpers */

typedef enum
{
  MODE_FORK,
  MODE_SPAWN,
  MODE_SERVER,   /* a fork server's child */
} Mode;

static const char *
mode_name (Mode mode)
{
  return mode == MODE_FORK ? "fork" : mode == MODE_SPAWN ? "spawn" : "fork-server";
}

/* Started first thing in main, before anything can start a thread. */
static GipcForkServer *server;

static void
send_text (GipcChannel *channel,
           const char  *text)
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  if (!gipc_channel_send (channel, bytes, NULL, NULL))
    _exit (90);
}

static gint
join_sync (GipcProcess *process)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (gipc_process_join (process, gipc_test_timeout_seconds () * 1000, &error));
  g_assert_no_error (error);
  return gipc_process_get_exit_code (process);
}

/* The value of "name=" in a probe report. */
static char *
probe_value (const char *report,
             const char *name)
{
  g_auto(GStrv) items = g_strsplit (report, " ", -1);
  guint i;

  for (i = 0; items[i] != NULL; i++)
    {
      const char *eq = strchr (items[i], '=');

      if (eq != NULL && (gsize) (eq - items[i]) == strlen (name) &&
          strncmp (items[i], name, strlen (name)) == 0)
        return g_strdup (eq + 1);
    }

  return g_strdup ("(missing)");
}

#define assert_probe(report, name, expected) \
  G_STMT_START { \
    g_autofree char *value_ = probe_value ((report), (name)); \
    if (g_strcmp0 (value_, (expected)) != 0) \
      g_test_message ("report: %s", (report)); \
    g_assert_cmpstr (value_, ==, (expected)); \
  } G_STMT_END

/* Either of two results (a denied socket is EACCES or EPERM). */
#define assert_probe_denied(report, name) \
  G_STMT_START { \
    g_autofree char *value_ = probe_value ((report), (name)); \
    if (g_strcmp0 (value_, "EACCES") != 0 && g_strcmp0 (value_, "EPERM") != 0) \
      { \
        g_test_message ("report: %s", (report)); \
        g_assert_cmpstr (value_, ==, "EACCES or EPERM"); \
      } \
  } G_STMT_END

typedef struct
{
  GipcChannel *channel;      /* the child's end */
  const char  *allowed_dir;
  const char  *outside_dir;
  gboolean     intrusive;
  gsize        small_bytes;  /* > 0: the memory probe instead */
  gsize        large_bytes;
} ProbeTarget;

static gint
probe_target (GipcProcess *process,
              gpointer     user_data)
{
  ProbeTarget *target = user_data;
  g_autofree char *report = NULL;
  g_autofree char *full = NULL;
  g_autofree char *applied = NULL;

  if (target->small_bytes > 0)
    report = sandbox_probe_memory (target->small_bytes, target->large_bytes);
  else
    report = sandbox_probe_report (target->allowed_dir, target->outside_dir,
                                   target->intrusive);

  /* What the child's own process object says it has. */
  applied = g_strdup_printf ("%u", (guint) gipc_process_get_sandbox_applied (process));
  full = g_strdup_printf ("%s applied-in-child=%s", report, applied);
  send_text (target->channel, full);
  return 0;
}

/* The same in a fork server's child: the arguments come as a GVariant,
 * the channel as the inherited channel 0. */
static gint
probe_server_target (GipcProcess *process,
                     GVariant    *args,
                     gpointer     user_data)
{
  g_autoptr(GError) error = NULL;
  ProbeTarget target = { NULL, NULL, NULL, FALSE, 0, 0 };
  const char *allowed = NULL;
  const char *outside = NULL;
  guint64 small_bytes, large_bytes;
  gint status;

  g_variant_get (args, "(m&sm&sitt)", &allowed, &outside, &target.intrusive,
                 &small_bytes, &large_bytes);
  target.allowed_dir = allowed;
  target.outside_dir = outside;
  target.small_bytes = (gsize) small_bytes;
  target.large_bytes = (gsize) large_bytes;
  target.channel = gipc_channel_new_inherited (0, &error);
  if (target.channel == NULL)
    return 93;
  status = probe_target (process, &target);
  g_object_unref (target.channel);
  return status;
}

static gint
zero_server_target (GipcProcess *process,
                    GVariant    *args,
                    gpointer     user_data)
{
  return 0;
}

/* A process of @mode that runs the probes (or the memory probe) and sends
 * the report back on a channel. */
typedef struct
{
  GipcProcess *process;
  GipcChannel *reader;
  ProbeTarget *target;
} Probe;

static void
probe_clear (Probe *probe)
{
  g_clear_object (&probe->process);
  g_clear_object (&probe->reader);
  if (probe->target != NULL)
    g_clear_object (&probe->target->channel);
  g_clear_pointer (&probe->target, g_free);
}

static void
probe_init (Probe      *probe,
            Mode        mode,
            const char *allowed_dir,
            const char *outside_dir,
            gboolean    intrusive,
            gsize       small_bytes,
            gsize       large_bytes)
{
  GipcChannel *writer = NULL;

  memset (probe, 0, sizeof *probe);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &probe->reader, &writer);

  if (mode == MODE_FORK)
    {
      probe->target = g_new0 (ProbeTarget, 1);
      probe->target->channel = writer;
      probe->target->allowed_dir = allowed_dir;
      probe->target->outside_dir = outside_dir;
      probe->target->intrusive = intrusive;
      probe->target->small_bytes = small_bytes;
      probe->target->large_bytes = large_bytes;
      probe->process = gipc_process_new (probe_target, probe->target, NULL);
    }
  else if (mode == MODE_SERVER)
    {
      probe->process = gipc_process_new_for_target (server, "probe",
                                                    g_variant_new ("(msmsitt)", allowed_dir,
                                                                   outside_dir, intrusive,
                                                                   (guint64) small_bytes,
                                                                   (guint64) large_bytes));
    }
  else
    {
      const char *helper = g_getenv ("GIPC_TEST_HELPER");
      g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GError) error = NULL;

      g_assert_nonnull (helper);
      g_ptr_array_add (argv, g_strdup (helper));
      if (small_bytes > 0)
        {
          g_ptr_array_add (argv, g_strdup ("sandbox-memory"));
          g_ptr_array_add (argv, g_strdup_printf ("%" G_GSIZE_FORMAT, small_bytes));
          g_ptr_array_add (argv, g_strdup_printf ("%" G_GSIZE_FORMAT, large_bytes));
        }
      else
        {
          g_ptr_array_add (argv, g_strdup ("sandbox-report"));
          if (!intrusive)
            {
              /* The control: no directories, nothing intrusive. */
              g_ptr_array_add (argv, g_strdup ("-"));
            }
          else if (allowed_dir != NULL && outside_dir != NULL)
            {
              g_ptr_array_add (argv, g_strdup (allowed_dir));
              g_ptr_array_add (argv, g_strdup (outside_dir));
              if (intrusive == SANDBOX_PROBE_LANDLOCK_ONLY)
                g_ptr_array_add (argv, g_strdup ("landlock-only"));
            }
        }
      g_ptr_array_add (argv, NULL);

      probe->process = gipc_process_new_for_argv ((const char * const *) argv->pdata, &error);
      g_assert_no_error (error);
    }

  gipc_process_pass_channel (probe->process, writer);
  if (mode != MODE_FORK)
    g_object_unref (writer);
}

/* Starts the probe, returns its report; the child exited 0. */
static char *
probe_run (Probe *probe)
{
  g_autoptr(GError) error = NULL;
  char *report;

  g_assert_true (gipc_process_start (probe->process, &error));
  g_assert_no_error (error);
  report = gipc_test_receive_text (probe->reader);
  g_assert_cmpint (join_sync (probe->process), ==, 0);
  g_test_message ("%s", report);

  return report;
}

static char *
make_temp_dir (const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *template = g_strdup_printf ("gipc-sandbox-%s-XXXXXX", what);
  char *dir = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);
  g_assert_nonnull (dir);
  return dir;
}

static gboolean
landlock_usable (void)
{
  if (gipc_sandbox_get_landlock_abi () < 3)
    {
      /* valgrind 3.19 has no Landlock system calls: the probe reads 0. */
      g_test_skip (gipc_test_running_on_valgrind () ?
                   "valgrind has no Landlock system calls" :
                   "this kernel has no Landlock ABI 3 (Linux 6.2)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
seccomp_usable (void)
{
  if (!gipc_sandbox_has_seccomp ())
    {
      g_test_skip ("no seccomp filters here (or built without libseccomp)");
      return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* The guarantees, in each mode */

static void
test_control (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autofree char *outside = make_temp_dir ("outside");
  g_autofree char *report = NULL;
  Probe probe;

  /* Unsandboxed, every probe succeeds: the denials below are the
   * sandbox's doing. */
  probe_init (&probe, mode, NULL, outside, FALSE, 0, 0);
  report = probe_run (&probe);
  assert_probe (report, "read-hostname", g_file_test ("/etc/hostname", G_FILE_TEST_EXISTS) ? "ok" : "ENOENT");
  assert_probe (report, "inet", "ok");
  assert_probe (report, "unix", "ok");
  assert_probe (report, "memfd", "ok");
  assert_probe (report, "main-loop", "ok");
  g_assert_cmpuint (gipc_process_get_sandbox_applied (probe.process), ==, GIPC_SANDBOX_FLAGS_NONE);
  if (mode != MODE_SPAWN)
    assert_probe (report, "write-outside", "ok");
  probe_clear (&probe);
  g_assert_no_errno (g_rmdir (outside));
}

/* What every sandboxed child keeps, and what the block-list denies. */
static void
assert_child_keeps (const char *report)
{
  assert_probe (report, "pass-fd", "ok");
  assert_probe (report, "memfd", "ok");
  assert_probe (report, "timerfd", "ok");
  assert_probe (report, "main-loop", "ok");
  assert_probe (report, "thread", "ok");
  assert_probe (report, "fork", "ok");
  assert_probe (report, "ptrace", "EPERM");
  assert_probe (report, "unshare-user", "EPERM");
  assert_probe (report, "clone-newuser", "EPERM");
  assert_probe (report, "clone-newns", "EPERM");
  assert_probe (report, "clone-plain", "ok");
  assert_probe (report, "clone3", "ENOSYS");
  assert_probe (report, "personality-query", "ok");
  assert_probe (report, "personality-set", "EPERM");
  assert_probe (report, "personality-default", "ok");
  assert_probe (report, "mount", "EPERM");
  assert_probe (report, "bpf", "EPERM");
  assert_probe (report, "io_uring", "EPERM");
  assert_probe (report, "keyctl", "EPERM");
  assert_probe (report, "process_vm_readv", "EPERM");
#if defined(__x86_64__)
  /* The other architectures' routes fail, they do not get around it. */
  assert_probe (report, "i386-getpid", "EPERM");
  assert_probe (report, "x32-getpid", "EPERM");
#endif
}

static void
test_no_filesystem (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autofree char *allowed = NULL;
  g_autofree char *outside = NULL;
  g_autofree char *report = NULL;
  g_autofree char *expected_applied = NULL;
  Probe probe;

  if (!landlock_usable () || !seccomp_usable ())
    return;

  allowed = make_temp_dir ("allowed");
  outside = make_temp_dir ("outside");
  probe_init (&probe, mode, allowed, outside, TRUE, 0, 0);
  gipc_process_set_sandbox (probe.process, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM);
  gipc_process_sandbox_allow_path (probe.process, allowed, TRUE);
  report = probe_run (&probe);

  assert_probe (report, "read-hostname", "EACCES");
  assert_probe (report, "write-allowed", "ok");
  assert_probe (report, "write-outside", "EACCES");
  /* NO_FILESYSTEM leaves the network alone. */
  assert_probe (report, "inet", "ok");
  assert_probe (report, "unix", "ok");
  assert_child_keeps (report);
  g_assert_cmpuint (gipc_process_get_sandbox_applied (probe.process), ==,
                    GIPC_SANDBOX_FLAGS_NO_FILESYSTEM);
  if (mode == MODE_FORK)
    {
      expected_applied = g_strdup_printf ("%u", (guint) GIPC_SANDBOX_FLAGS_NO_FILESYSTEM);
      assert_probe (report, "applied-in-child", expected_applied);
    }

  probe_clear (&probe);
  g_assert_no_errno (g_rmdir (allowed));
  g_assert_no_errno (g_rmdir (outside));
}

static void
test_read_only (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autofree char *allowed = NULL;
  g_autofree char *outside = NULL;
  g_autofree char *report = NULL;
  Probe probe;

  if (!landlock_usable () || !seccomp_usable ())
    return;

  allowed = make_temp_dir ("allowed");
  outside = make_temp_dir ("outside");
  probe_init (&probe, mode, allowed, outside, TRUE, 0, 0);
  gipc_process_set_sandbox (probe.process, GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM);
  gipc_process_sandbox_allow_path (probe.process, allowed, TRUE);
  report = probe_run (&probe);

  assert_probe (report, "read-hostname",
                g_file_test ("/etc/hostname", G_FILE_TEST_EXISTS) ? "ok" : "ENOENT");
  assert_probe (report, "write-allowed", "ok");
  assert_probe (report, "write-outside", "EACCES");
  assert_probe (report, "inet", "ok");
  assert_child_keeps (report);
  g_assert_cmpuint (gipc_process_get_sandbox_applied (probe.process), ==,
                    GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM);

  probe_clear (&probe);
  g_assert_no_errno (g_rmdir (allowed));
  g_assert_no_errno (g_rmdir (outside));
}

static void
test_no_network (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autofree char *report = NULL;
  Probe probe;

  /* NO_NETWORK needs Landlock too (the domain every flag makes). */
  if (!landlock_usable () || !seccomp_usable ())
    return;

  probe_init (&probe, mode, NULL, NULL, TRUE, 0, 0);
  g_object_set (probe.process, "sandbox", GIPC_SANDBOX_FLAGS_NO_NETWORK, NULL);
  report = probe_run (&probe);

  assert_probe_denied (report, "inet");
  assert_probe_denied (report, "inet6");
  /* No new socket at all. */
  assert_probe_denied (report, "unix");
  assert_probe (report, "read-hostname",
                g_file_test ("/etc/hostname", G_FILE_TEST_EXISTS) ? "ok" : "ENOENT");
  assert_child_keeps (report);
  g_assert_cmpuint (gipc_process_get_sandbox_applied (probe.process), ==,
                    GIPC_SANDBOX_FLAGS_NO_NETWORK);

  probe_clear (&probe);
}

/* ---------------------------------------------------------------------- */
/* The escapes of issue 23, in every mode, under each flag */

/* What every escape gives under @flags (the kernel's Landlock ABI decides
 * the scoped ones). */
static void
assert_escapes_denied (const char       *report,
                       GipcSandboxFlags  flags)
{
  gboolean no_network = (flags & GIPC_SANDBOX_FLAGS_NO_NETWORK) != 0;
  gboolean fs = (flags & (GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                          GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM)) != 0;
  gboolean scoped = gipc_sandbox_get_landlock_abi () >= 6;

  /* No new socket at all under NO_NETWORK: the session bus, ssh-agent,
   * docker.sock are out of reach whatever the filesystem flags. */
  if (no_network)
    {
      assert_probe_denied (report, "unix");
      assert_probe_denied (report, "unix-named");
      assert_probe_denied (report, "unix-abstract");
    }
  else
    {
      assert_probe (report, "unix", "ok");
      /* Landlock's abstract-socket scope (ABI 6). A named socket stays
       * reachable without NO_NETWORK (documented). */
      if (scoped)
        assert_probe (report, "unix-abstract", "EPERM");
    }
  /* A socketpair stays. */
  assert_probe (report, "socketpair", "ok");

  /* Terminal injection, on a pty of its own where it can open one
   * (opening /dev/ptmx is a write: not under the filesystem flags; a
   * terminal it inherited is refused the same way, seccomp looks at the
   * request only). */
  assert_probe (report, "tiocsti", "EPERM");
  assert_probe (report, "tioclinux", "EPERM");
  if (!fs)
    assert_probe (report, "tiocsti-on-pty", "ok");

  /* The parent: its memory, ptrace, signals. */
  assert_probe_denied (report, "proc-mem");
  assert_probe (report, "ptrace-attach", "EPERM");
  assert_probe (report, "process_vm_writev", "EPERM");
  if (scoped)
    assert_probe (report, "kill-parent", "EPERM");
  assert_probe (report, "kill-self", "ok");

  /* Metadata, everywhere under the filesystem flags (seccomp sees no
   * paths: the writable allowed paths too). */
  if (fs)
    {
      assert_probe (report, "chmod-outside", "EPERM");
#if !defined(__alpha__)
      assert_probe (report, "fchmodat2-outside", "EPERM");
#endif
      assert_probe (report, "chown-outside", "EPERM");
      assert_probe (report, "utimes-outside", "EPERM");
      assert_probe (report, "setxattr-outside", "EPERM");
      assert_probe (report, "chmod-allowed", "EPERM");
    }

  /* Device nodes, in a writable allowed path, and a device through one. */
  assert_probe (report, "mknod-char", "EPERM");
  assert_probe (report, "mknodat-block", "EPERM");
  assert_probe (report, "mknod-open", "EPERM");
  /* A FIFO is no device. */
  assert_probe (report, "mkfifo-allowed", "ok");

  /* System V IPC, io_uring, userfaultfd. */
  assert_probe (report, "shm-find", "EPERM");
  assert_probe (report, "shm-attach", "EPERM");
  assert_probe (report, "shm-new", "EPERM");
  assert_probe (report, "io_uring", "EPERM");
  assert_probe (report, "userfaultfd", "EPERM");

  /* And the child otherwise works (its channel carried this report). */
  assert_child_keeps (report);
}

static const GipcSandboxFlags escape_flag_sets[] = {
  GIPC_SANDBOX_FLAGS_NO_NETWORK,
  GIPC_SANDBOX_FLAGS_NO_FILESYSTEM,
  GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM,
  GIPC_SANDBOX_FLAGS_NO_FILESYSTEM | GIPC_SANDBOX_FLAGS_NO_NETWORK,
};

static void
run_escapes (Mode mode)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (escape_flag_sets); i++)
    {
      g_autofree char *allowed = make_temp_dir ("allowed");
      g_autofree char *outside = make_temp_dir ("outside");
      g_autofree char *report = NULL;
      SandboxProbeTargets targets;
      Probe probe;

      g_test_message ("%s, flags %u, uid %d", mode_name (mode),
                      (guint) escape_flag_sets[i], (int) getuid ());
      sandbox_probe_setup_targets (outside, &targets);
      probe_init (&probe, mode, allowed, outside, TRUE, 0, 0);
      gipc_process_set_sandbox (probe.process, escape_flag_sets[i]);
      gipc_process_sandbox_allow_path (probe.process, allowed, TRUE);
      report = probe_run (&probe);
      assert_escapes_denied (report, escape_flag_sets[i]);
      g_assert_cmpuint (gipc_process_get_sandbox_applied (probe.process), ==,
                        escape_flag_sets[i]);

      probe_clear (&probe);
      sandbox_probe_teardown_targets (outside, &targets);
      g_assert_no_errno (g_rmdir (allowed));
      g_assert_no_errno (g_rmdir (outside));
    }
}

/* Landlock on its own (seccomp simulated away, BEST_EFFORT): the domain
 * every flag makes keeps the child from the parent (its memory, ptrace,
 * signals, its abstract sockets) and writable allowed paths never grant
 * device nodes, without help from the block-list. */
static void
test_landlock_alone (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  gboolean scoped = gipc_sandbox_get_landlock_abi () >= 6;
  guint i;

  if (!landlock_usable () || !seccomp_usable ())
    return;

  gipc_sandbox_simulate_kernel (-1, FALSE);
  for (i = 0; i < G_N_ELEMENTS (escape_flag_sets); i++)
    {
      GipcSandboxFlags flags = escape_flag_sets[i] | GIPC_SANDBOX_FLAGS_BEST_EFFORT;
      g_autofree char *allowed = make_temp_dir ("allowed");
      g_autofree char *outside = make_temp_dir ("outside");
      g_autofree char *report = NULL;
      SandboxProbeTargets targets;
      Probe probe;

      sandbox_probe_setup_targets (outside, &targets);
      probe_init (&probe, mode, allowed, outside, SANDBOX_PROBE_LANDLOCK_ONLY, 0, 0);
      gipc_process_set_sandbox (probe.process, flags);
      gipc_process_sandbox_allow_path (probe.process, allowed, TRUE);
      report = probe_run (&probe);

      /* No seccomp: NO_NETWORK is not applied, the filesystem flags are. */
      g_assert_cmpuint (gipc_process_get_sandbox_applied (probe.process), ==,
                        escape_flag_sets[i] & ~GIPC_SANDBOX_FLAGS_NO_NETWORK);
      assert_probe (report, "proc-mem", "EACCES");
      assert_probe (report, "ptrace-attach", "EPERM");
      assert_probe (report, "mknod-char", "EACCES");
      assert_probe (report, "mknodat-block", "EACCES");
      assert_probe (report, "mknod-open", "EACCES");
      assert_probe (report, "mkfifo-allowed", "ok");
      assert_probe (report, "kill-self", "ok");
      if (scoped)
        {
          assert_probe (report, "kill-parent", "EPERM");
          assert_probe (report, "unix-abstract", "EPERM");
        }

      probe_clear (&probe);
      sandbox_probe_teardown_targets (outside, &targets);
      g_assert_no_errno (g_rmdir (allowed));
      g_assert_no_errno (g_rmdir (outside));
    }
  gipc_sandbox_simulate_kernel (-1, TRUE);
}

static void
test_escapes (gconstpointer data)
{
  if (!landlock_usable () || !seccomp_usable ())
    return;

  run_escapes (GPOINTER_TO_INT (data));
}

/* The same as an unprivileged user: as root, a subprocess drops to
 * nobody first (and starts a fork server of its own as nobody). */
static void
test_escapes_unprivileged (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);

  if (!landlock_usable () || !seccomp_usable ())
    return;

  if (getuid () != 0)
    {
      run_escapes (mode);
      return;
    }

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  g_assert_no_errno (setgroups (0, NULL));
  g_assert_no_errno (setgid (65534));
  g_assert_no_errno (setuid (65534));
  g_assert_cmpint (getuid (), ==, 65534);
  if (mode == MODE_SERVER)
    {
      g_autoptr(GError) error = NULL;

      g_clear_object (&server);
      server = gipc_fork_server_new ();
      gipc_fork_server_add_target (server, "probe", probe_server_target, NULL, NULL);
      g_assert_true (gipc_fork_server_start (server, &error));
      g_assert_no_error (error);
    }
  run_escapes (mode);
}

/* gipc_process_sandbox_allow_system_data: the system's read-only data,
 * nothing else, in every mode. */
static void
test_system_data (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  const GipcSandboxFlags flags = GIPC_SANDBOX_FLAGS_NO_FILESYSTEM | GIPC_SANDBOX_FLAGS_NO_NETWORK;
  guint with;

  if (!landlock_usable () || !seccomp_usable ())
    return;
  if (!g_file_test ("/usr/share/mime/mime.cache", G_FILE_TEST_EXISTS) ||
      !g_file_test ("/etc/ld.so.cache", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no MIME database or dynamic linker cache here");
      return;
    }

  for (with = 0; with < 2; with++)
    {
      g_autofree char *allowed = make_temp_dir ("allowed");
      g_autofree char *outside = make_temp_dir ("outside");
      g_autofree char *report = NULL;
      Probe probe;

      probe_init (&probe, mode, allowed, outside, TRUE, 0, 0);
      gipc_process_set_sandbox (probe.process, flags);
      gipc_process_sandbox_allow_path (probe.process, allowed, TRUE);
      if (with)
        gipc_process_sandbox_allow_system_data (probe.process);
      report = probe_run (&probe);

      if (with)
        {
          assert_probe (report, "read-mime", "ok");
          assert_probe (report, "read-ld-cache", "ok");
        }
      else if (mode != MODE_SPAWN)
        {
          /* (A spawned program keeps the system directories readable.) */
          assert_probe (report, "read-mime", "EACCES");
          assert_probe (report, "read-ld-cache", "EACCES");
        }
      /* Read-only, and nothing but the system's data. */
      assert_probe (report, "write-system", "EACCES");
      assert_probe (report, "read-hostname", "EACCES");
      assert_probe (report, "write-outside", "EACCES");
      assert_probe (report, "write-allowed", "ok");
      g_assert_cmpuint (gipc_process_get_sandbox_applied (probe.process), ==, flags);

      probe_clear (&probe);
      g_assert_no_errno (g_rmdir (allowed));
      g_assert_no_errno (g_rmdir (outside));
    }
}

/* Every flag at once; the child still answers on its channel. */
static gint
echo_target (GipcProcess *process,
             gpointer     user_data)
{
  GipcChannel *channel = user_data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) message = gipc_channel_receive (channel, NULL, &error);

      if (message == NULL)
        return g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED) ? 0 : 91;
      if (!gipc_channel_send (channel, message, NULL, NULL))
        return 92;
    }
}

static gint
echo_server_target (GipcProcess *process,
                    GVariant    *args,
                    gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);

  return channel != NULL ? echo_target (process, channel) : 93;
}

static void
test_echo (gconstpointer data)
{
  const GipcSandboxFlags all = GIPC_SANDBOX_FLAGS_NO_NETWORK |
                               GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                               GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM;
  Mode mode = GPOINTER_TO_INT (data);
  g_autoptr(GipcChannel) mine = NULL;
  g_autoptr(GipcChannel) theirs = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  guint i;

  if (!landlock_usable () || !seccomp_usable ())
    return;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &mine, &theirs);
  if (mode == MODE_FORK)
    {
      process = gipc_process_new (echo_target, theirs, NULL);
    }
  else if (mode == MODE_SERVER)
    {
      process = gipc_process_new_for_target (server, "echo", NULL);
    }
  else
    {
      const char *argv[] = { g_getenv ("GIPC_TEST_HELPER"), "sandbox-echo", NULL };

      process = gipc_process_new_for_argv (argv, &error);
      g_assert_no_error (error);
    }
  gipc_process_set_sandbox (process, all);
  gipc_process_pass_channel (process, theirs);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gipc_process_get_sandbox_applied (process), ==, all);

  for (i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) sent = gipc_test_pattern_bytes (1000 * i + 1, i);
      g_autoptr(GBytes) back = NULL;

      g_assert_true (gipc_channel_send (mine, sent, NULL, &error));
      g_assert_no_error (error);
      back = gipc_channel_receive (mine, NULL, &error);
      g_assert_no_error (error);
      gipc_test_assert_pattern (back, 1000 * i + 1, i);
    }

  g_assert_true (gipc_channel_close (mine, &error));
  g_assert_no_error (error);
  g_assert_cmpint (join_sync (process), ==, 0);
}

static void
test_memory_limit (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autofree char *report = NULL;
  guint64 limit;
  Probe probe;

  if (GIPC_TEST_ASAN)
    {
      g_test_skip ("AddressSanitizer reserves terabytes of address space: "
                   "RLIMIT_AS cannot be tested under it");
      return;
    }

  /* In fork mode the limit counts what the child inherited (a fork
   * server is a copy of this program). */
  if (mode != MODE_SPAWN)
    limit = (guint64) gipc_test_status_kib ("VmSize:") * KiB + 256 * MiB;
  else
    limit = 256 * MiB;

  probe_init (&probe, mode, NULL, NULL, TRUE, 1 * MiB, (gsize) limit);
  gipc_process_set_memory_limit (probe.process, limit);
  report = probe_run (&probe);

  assert_probe (report, "small", "ok");
  assert_probe (report, "large", "ENOMEM");
  /* No sandbox flag: nothing but the limit. */
  g_assert_cmpuint (gipc_process_get_sandbox_applied (probe.process), ==, GIPC_SANDBOX_FLAGS_NONE);

  probe_clear (&probe);
}

/* ---------------------------------------------------------------------- */
/* Spawn mode: programs */

static gint
run_program (const char * const *argv,
             GipcSandboxFlags    flags)
{
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GError) error = NULL;

  process = gipc_process_new_for_argv (argv, &error);
  g_assert_no_error (error);
  gipc_process_set_sandbox (process, flags);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  return join_sync (process);
}

static void
test_spawn_programs (void)
{
  const char *cat_argv[] = { "/bin/cat", "/etc/hostname", NULL };
  const char *true_argv[] = { "/bin/true", NULL };

  if (!landlock_usable () || !seccomp_usable ())
    return;
  if (!g_file_test ("/etc/hostname", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no /etc/hostname here");
      return;
    }

  /* cat prints the file on success: stdout is the TAP stream, so the
   * unsandboxed control reads /dev/null instead. */
  {
    const char *control_argv[] = { "/bin/cat", "/dev/null", NULL };

    g_assert_cmpint (run_program (control_argv, GIPC_SANDBOX_FLAGS_NONE), ==, 0);
  }

  g_assert_cmpint (run_program (true_argv, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                                           GIPC_SANDBOX_FLAGS_NO_NETWORK), ==, 0);
  g_assert_cmpint (run_program (true_argv, GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM), ==, 0);
  g_assert_cmpint (run_program (cat_argv, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                                          GIPC_SANDBOX_FLAGS_NO_NETWORK), ==, 1);

  /* A script outside the system directories: it and its interpreter stay
   * readable and executable, the rest of its directory does not. */
  {
    g_autofree char *dir = make_temp_dir ("script");
    g_autofree char *script = g_build_filename (dir, "script.sh", NULL);
    g_autofree char *other = g_build_filename (dir, "other", NULL);
    g_autoptr(GError) error = NULL;
    const char *script_argv[] = { script, other, NULL };

    g_assert_true (g_file_set_contents (other, "x\n", -1, &error));
    g_assert_true (g_file_set_contents (script,
                                        "#!/bin/sh\n"
                                        "if read line < \"$1\"; then exit 4; fi\n"
                                        "exit 3\n", -1, &error));
    g_assert_no_error (error);
    g_assert_no_errno (g_chmod (script, 0700));
    g_assert_cmpint (run_program (script_argv, GIPC_SANDBOX_FLAGS_NONE), ==, 4);
    g_assert_cmpint (run_program (script_argv, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM), ==, 3);
    g_assert_no_errno (g_unlink (script));
    g_assert_no_errno (g_unlink (other));
    g_assert_no_errno (g_rmdir (dir));
  }
}

typedef struct
{
  guint  index;
  guint  failures;
  char  *last_report;
} ThreadData;

static gpointer
spawn_thread (gpointer user_data)
{
  ThreadData *data = user_data;
  guint i;

  for (i = 0; i < 8; i++)
    {
      const char *argv[] = { g_getenv ("GIPC_TEST_HELPER"), "sandbox-report", NULL };
      g_autoptr(GipcProcess) process = NULL;
      g_autoptr(GipcChannel) reader = NULL;
      g_autoptr(GipcChannel) writer = NULL;
      g_autoptr(GBytes) bytes = NULL;

      if (!gipc_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer, NULL))
        {
          data->failures++;
          continue;
        }
      process = gipc_process_new_for_argv (argv, NULL);
      gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_NETWORK |
                                         GIPC_SANDBOX_FLAGS_NO_FILESYSTEM);
      gipc_process_pass_channel (process, writer);
      if (!gipc_process_start (process, NULL))
        {
          data->failures++;
          continue;
        }
      bytes = gipc_channel_receive (reader, NULL, NULL);
      if (bytes == NULL || !gipc_process_join (process, -1, NULL) ||
          gipc_process_get_exit_code (process) != 0)
        {
          data->failures++;
          continue;
        }
      g_free (data->last_report);
      data->last_report = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }

  return NULL;
}

static void
test_spawn_threaded_parent (void)
{
  ThreadData data[4];
  GThread *threads[G_N_ELEMENTS (data)];
  guint i;

  if (!landlock_usable () || !seccomp_usable ())
    return;

  for (i = 0; i < G_N_ELEMENTS (data); i++)
    {
      data[i].index = i;
      data[i].failures = 0;
      data[i].last_report = NULL;
      threads[i] = g_thread_new ("spawner", spawn_thread, &data[i]);
    }
  for (i = 0; i < G_N_ELEMENTS (data); i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (data[i].failures, ==, 0);
      g_assert_nonnull (data[i].last_report);
      assert_probe (data[i].last_report, "read-hostname", "EACCES");
      assert_probe_denied (data[i].last_report, "inet");
      assert_probe (data[i].last_report, "ptrace", "EPERM");
      g_free (data[i].last_report);
    }

  /* The exit watches went to the global default context. */
  gipc_test_drain_context (g_main_context_default ());
}

/* ---------------------------------------------------------------------- */
/* sandbox-applied, BEST_EFFORT and what is missing */

static gint
return_zero (GipcProcess *process,
             gpointer     user_data)
{
  return 0;
}

/* The parent's shared memory, as a fork-mode child finds it. */
typedef struct
{
  guint8 *writable;   /* MAP_SHARED, PROT_READ | PROT_WRITE (a memfd) */
  guint8 *anonymous;  /* MAP_SHARED | MAP_ANONYMOUS, writable */
  guint8 *readable;   /* MAP_SHARED, PROT_READ (a memfd) */
} SharedViews;

static gboolean
is_mapped (gpointer addr)
{
  unsigned char vec;

  return mincore (addr, (size_t) sysconf (_SC_PAGESIZE), &vec) == 0;
}

/* Exit status: bit 0 the writable memfd view is there (and was written),
 * bit 1 the anonymous one (written), bit 2 the read-only view is gone or
 * does not read 'r'. */
static gint
shared_views_target (GipcProcess *process,
                     gpointer     data)
{
  SharedViews *v = data;
  gint status = 0;

  if (is_mapped (v->writable))
    {
      v->writable[0] = 'X';
      status |= 1;
    }
  if (is_mapped (v->anonymous))
    {
      v->anonymous[0] = 'X';
      status |= 2;
    }
  if (!is_mapped (v->readable) || v->readable[0] != 'r')
    status |= 4;
  return status;
}

/* A sandboxed fork-mode child keeps no writable view of the parent's
 * shared memory (a toolkit's shared-memory buffers): neither Landlock nor
 * seccomp would stop it writing there. Read-only views stay, and an
 * unsandboxed child keeps everything (it has what the parent has). */
/* Runs @process (sandboxed best-effort if @sandboxed: under valgrind,
 * which has neither seccomp nor Landlock, the unmapping of shared memory
 * is what is left) to its end; its exit status. */
static gint
run_shared_memory_child (GipcProcess *process,
                         gboolean     sandboxed)
{
  g_autoptr(GError) error = NULL;

  if (sandboxed)
    gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  gipc_process_start (process, &error);
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, -1, &error));
  g_assert_no_error (error);
  return gipc_process_get_exit_code (process);
}

/* A shared mapping the fork server has from the program, made before the
 * server started: its children are forked from the server. */
static guint8 *server_shared;

static gint
shared_server_target (GipcProcess *process,
                      GVariant    *args,
                      gpointer     user_data)
{
  if (!is_mapped (server_shared))
    return 0;
  server_shared[0] = 'X';
  return 1;
}

/* The same for a fork server's children: the server was forked from the
 * program, and a sandboxed child of it unmaps what it shares with the
 * program; an unsandboxed one writes into the program's memory. */
static void
test_server_shared_memory (void)
{
  guint i;

  g_assert_cmpint (server_shared[0], ==, 's');
  for (i = 0; i < 2; i++)
    {
      gboolean sandboxed = i == 1;
      g_autoptr(GipcProcess) process = gipc_process_new_for_target (server, "shared", NULL);

      g_assert_cmpint (run_shared_memory_child (process, sandboxed), ==, sandboxed ? 0 : 1);
      g_assert_cmpint (server_shared[0], ==, sandboxed ? 's' : 'X');
      server_shared[0] = 's';
    }
}

static void
test_fork_shared_memory (void)
{
  gsize page = (gsize) sysconf (_SC_PAGESIZE);
  int fd = memfd_create ("test-sandbox-shared", MFD_CLOEXEC);
  SharedViews v;
  guint i;

  g_assert_cmpint (fd, >=, 0);
  g_assert_no_errno (ftruncate (fd, (off_t) (2 * page)));
  v.writable = mmap (NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  v.anonymous = mmap (NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  g_assert_true (v.writable != MAP_FAILED && v.anonymous != MAP_FAILED);
  memset (v.writable, 'w', page);
  memset (v.anonymous, 'a', page);
  /* The second page, written through the writable view's file. */
  g_assert_cmpint (pwrite (fd, "r", 1, (off_t) page), ==, 1);
  v.readable = mmap (NULL, page, PROT_READ, MAP_SHARED, fd, (off_t) page);
  g_assert_true (v.readable != MAP_FAILED);

  for (i = 0; i < 2; i++)
    {
      gboolean sandboxed = i == 1;
      g_autoptr(GipcProcess) process = gipc_process_new (shared_views_target, &v, NULL);
      gint status = run_shared_memory_child (process, sandboxed);

      if (sandboxed)
        {
          /* Both writable views gone, nothing written; the read-only one
           * there. */
          g_assert_cmpint (status, ==, 0);
          g_assert_cmpint (v.writable[0], ==, 'w');
          g_assert_cmpint (v.anonymous[0], ==, 'a');
        }
      else
        {
          g_assert_cmpint (status, ==, 3);
          g_assert_cmpint (v.writable[0], ==, 'X');
          g_assert_cmpint (v.anonymous[0], ==, 'X');
          v.writable[0] = 'w';
          v.anonymous[0] = 'a';
        }
    }
  munmap (v.writable, page);
  munmap (v.anonymous, page);
  munmap (v.readable, page);
  close (fd);
}

static GipcProcess *
new_zero_process (Mode mode)
{
  if (mode == MODE_SERVER)
    return gipc_process_new_for_target (server, "zero", NULL);
  if (mode == MODE_SPAWN)
    {
      const char *argv[] = { "/bin/true", NULL };

      return gipc_process_new_for_argv (argv, NULL);
    }
  return gipc_process_new (return_zero, NULL, NULL);
}

static void
assert_unavailable (Mode              mode,
                    GipcSandboxFlags  flags,
                    const char       *what)
{
  g_autoptr(GipcProcess) process = new_zero_process (mode);
  g_autoptr(GError) error = NULL;
  guint n_fds = gipc_test_count_fds ();

  gipc_process_set_sandbox (process, flags);
  g_assert_false (gipc_process_start (process, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SANDBOX_UNAVAILABLE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, what));
  g_assert_false (gipc_process_is_alive (process));
  g_assert_cmpuint (gipc_process_get_sandbox_applied (process), ==, GIPC_SANDBOX_FLAGS_NONE);
  g_assert_cmpuint (gipc_test_count_fds (), ==, n_fds);
}

static GipcSandboxFlags
start_applied (Mode             mode,
               GipcSandboxFlags flags)
{
  g_autoptr(GipcProcess) process = new_zero_process (mode);
  g_autoptr(GError) error = NULL;
  GipcSandboxFlags applied;

  gipc_process_set_sandbox (process, flags);
  g_assert_cmpuint (gipc_process_get_sandbox_applied (process), ==, GIPC_SANDBOX_FLAGS_NONE);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  applied = gipc_process_get_sandbox_applied (process);
  g_assert_cmpint (join_sync (process), ==, 0);
  /* It stays after the exit: what the child had. */
  g_assert_cmpuint (gipc_process_get_sandbox_applied (process), ==, applied);

  return applied;
}

static void
test_applied (gconstpointer data)
{
  const GipcSandboxFlags fs = GIPC_SANDBOX_FLAGS_NO_FILESYSTEM;
  const GipcSandboxFlags net = GIPC_SANDBOX_FLAGS_NO_NETWORK;
  const GipcSandboxFlags ro = GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM;
  const GipcSandboxFlags best = GIPC_SANDBOX_FLAGS_BEST_EFFORT;
  Mode mode = GPOINTER_TO_INT (data);

  if (!landlock_usable () || !seccomp_usable ())
    return;

  /* The real kernel: everything, BEST_EFFORT never reported. */
  g_assert_cmpuint (start_applied (mode, fs | net), ==, fs | net);
  g_assert_cmpuint (start_applied (mode, fs | net | best), ==, fs | net);
  g_assert_cmpuint (start_applied (mode, ro), ==, ro);
  g_assert_cmpuint (start_applied (mode, best), ==, GIPC_SANDBOX_FLAGS_NONE);
  g_assert_cmpuint (start_applied (mode, GIPC_SANDBOX_FLAGS_NONE), ==, GIPC_SANDBOX_FLAGS_NONE);

  /* No Landlock. */
  gipc_sandbox_simulate_kernel (0, TRUE);
  assert_unavailable (mode, fs, "Landlock");
  assert_unavailable (mode, ro | net, "Landlock");
  g_assert_cmpuint (start_applied (mode, fs | net | best), ==, net);
  /* Every flag needs a Landlock domain (it keeps the child from ptrace and
   * /proc/<pid>/mem of other processes), NO_NETWORK alone too. */
  assert_unavailable (mode, net, "Landlock");
  g_assert_cmpuint (start_applied (mode, net | best), ==, net);

  /* Landlock without truncate() control. */
  gipc_sandbox_simulate_kernel (2, TRUE);
  assert_unavailable (mode, ro, "ABI 3");
  g_assert_cmpuint (start_applied (mode, ro | best), ==, ro);

  /* No seccomp: NO_NETWORK and the block-list are missing. */
  gipc_sandbox_simulate_kernel (-1, FALSE);
  assert_unavailable (mode, net, "seccomp");
  assert_unavailable (mode, fs, "block-list");
  g_assert_cmpuint (start_applied (mode, fs | net | best), ==, fs);

  /* Nothing at all. */
  gipc_sandbox_simulate_kernel (0, FALSE);
  g_assert_cmpuint (start_applied (mode, fs | ro | net | best), ==, GIPC_SANDBOX_FLAGS_NONE);
  /* No flag, no need. */
  g_assert_cmpuint (start_applied (mode, GIPC_SANDBOX_FLAGS_NONE), ==, GIPC_SANDBOX_FLAGS_NONE);

  gipc_sandbox_simulate_kernel (-1, TRUE);
}

/* Where seccomp() itself is refused (valgrind has no seccomp(); a
 * container's policy may answer ENOSYS or EPERM) while prctl() still
 * takes filters, there are no filters for the sandbox: a NO_NETWORK
 * request fails, naming seccomp, and a best-effort one starts without it.
 * Run in a subprocess that refuses seccomp() with ENOSYS, the way
 * valgrind does. */
static void
test_seccomp_refused (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  const GipcSandboxFlags net = GIPC_SANDBOX_FLAGS_NO_NETWORK;
  const GipcSandboxFlags best = GIPC_SANDBOX_FLAGS_BEST_EFFORT;

  if (!g_test_subprocess ())
    {
      if (!seccomp_usable ())
        return;
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  {
    struct sock_filter insns[] = {
      BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
      BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
      BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { G_N_ELEMENTS (insns), insns };

    /* Before anything asked whether there are filters: the answer is
     * kept for the process's life. */
    g_assert_cmpint (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), ==, 0);
    g_assert_cmpint (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0), ==, 0);
  }

  g_assert_false (gipc_sandbox_has_seccomp ());
  assert_unavailable (mode, net, "seccomp");
  g_assert_cmpuint (start_applied (mode, net | best), ==, GIPC_SANDBOX_FLAGS_NONE);
}

/* ---------------------------------------------------------------------- */
/* Properties, misuse, fds */

static void
test_properties (void)
{
  g_autoptr(GipcProcess) process = new_zero_process (MODE_FORK);
  GipcSandboxFlags flags = 0;
  guint64 limit = 1;
  guint n_sandbox = 0;
  guint n_limit = 0;
  GParamSpec *pspec;

  g_signal_connect (process, "notify::sandbox", G_CALLBACK (gipc_test_count_notify_cb), &n_sandbox);
  g_signal_connect (process, "notify::memory-limit", G_CALLBACK (gipc_test_count_notify_cb), &n_limit);

  g_object_get (process, "sandbox", &flags, "memory-limit", &limit, NULL);
  g_assert_cmpuint (flags, ==, GIPC_SANDBOX_FLAGS_NONE);
  g_assert_cmpuint (limit, ==, 0);

  g_object_set (process,
                "sandbox", GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_BEST_EFFORT,
                "memory-limit", (guint64) 64 * MiB,
                NULL);
  g_assert_cmpuint (gipc_process_get_sandbox (process), ==,
                    GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  g_assert_cmpuint (gipc_process_get_memory_limit (process), ==, 64 * MiB);
  g_assert_cmpuint (n_sandbox, ==, 1);
  g_assert_cmpuint (n_limit, ==, 1);

  /* The same value again: no notification. */
  gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  gipc_process_set_memory_limit (process, 64 * MiB);
  g_assert_cmpuint (n_sandbox, ==, 1);
  g_assert_cmpuint (n_limit, ==, 1);

  g_object_get (process, "sandbox", &flags, "memory-limit", &limit, NULL);
  g_assert_cmpuint (flags, ==, GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  g_assert_cmpuint (limit, ==, 64 * MiB);

  g_object_get (process, "sandbox-applied", &flags, NULL);
  g_assert_cmpuint (flags, ==, GIPC_SANDBOX_FLAGS_NONE);
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (process), "sandbox-applied");
  g_assert_nonnull (pspec);
  g_assert_false (pspec->flags & G_PARAM_WRITABLE);
  g_assert_true (G_IS_PARAM_SPEC_FLAGS (pspec));
  g_assert_true (G_PARAM_SPEC_VALUE_TYPE (pspec) == GIPC_TYPE_SANDBOX_FLAGS);

  /* The flags type is registered for bindings. */
  {
    GFlagsClass *klass = g_type_class_ref (GIPC_TYPE_SANDBOX_FLAGS);
    GFlagsValue *value = g_flags_get_value_by_nick (klass, "no-network");

    g_assert_nonnull (value);
    g_assert_cmpuint (value->value, ==, GIPC_SANDBOX_FLAGS_NO_NETWORK);
    g_type_class_unref (klass);
  }
}

static void
test_invalid (void)
{
  g_autoptr(GipcProcess) process = new_zero_process (MODE_FORK);
  g_autoptr(GError) error = NULL;

  /* Relative paths and unknown flags. */
  g_test_expect_message ("Gipc", G_LOG_LEVEL_CRITICAL, "*assertion*");
  gipc_process_sandbox_allow_path (process, "relative/dir", FALSE);
  g_test_assert_expected_messages ();
  g_test_expect_message ("Gipc", G_LOG_LEVEL_CRITICAL, "*assertion*");
  gipc_process_set_sandbox (process, 1 << 10);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (gipc_process_get_sandbox (process), ==, GIPC_SANDBOX_FLAGS_NONE);

  /* An allowed path that does not exist fails the start, leaking nothing. */
  if (gipc_sandbox_get_landlock_abi () >= 3 && gipc_sandbox_has_seccomp ())
    {
      g_autoptr(GipcProcess) missing = new_zero_process (MODE_SPAWN);
      guint n_fds = gipc_test_count_fds ();

      gipc_process_set_sandbox (missing, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM);
      gipc_process_sandbox_allow_path (missing, "/nonexistent/gipc-sandbox", FALSE);
      g_assert_false (gipc_process_start (missing, &error));
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
      g_assert_nonnull (strstr (error->message, "/nonexistent/gipc-sandbox"));
      g_clear_error (&error);
      g_assert_cmpuint (gipc_test_count_fds (), ==, n_fds);
    }

  /* After start: programmer errors, nothing changes. */
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);

  g_test_expect_message ("Gipc", G_LOG_LEVEL_CRITICAL, "*assertion*");
  gipc_process_sandbox_allow_path (process, "/tmp", TRUE);
  g_test_assert_expected_messages ();
  g_test_expect_message ("Gipc", G_LOG_LEVEL_CRITICAL, "*assertion*");
  gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_NETWORK);
  g_test_assert_expected_messages ();
  g_test_expect_message ("Gipc", G_LOG_LEVEL_CRITICAL, "*assertion*");
  gipc_process_set_memory_limit (process, 1 * MiB);
  g_test_assert_expected_messages ();

  g_assert_cmpuint (gipc_process_get_sandbox (process), ==, GIPC_SANDBOX_FLAGS_NONE);
  g_assert_cmpuint (gipc_process_get_memory_limit (process), ==, 0);
  g_assert_cmpint (join_sync (process), ==, 0);
}

static void
test_no_fd_leak (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autofree char *allowed = make_temp_dir ("allowed");
  guint n_fds = 0;
  guint i;

  if (!landlock_usable () || !seccomp_usable ())
    {
      g_rmdir (allowed);
      return;
    }

  /* Once first: the seccomp programs are built and cached. */
  for (i = 0; i < 2; i++)
    {
      g_autoptr(GipcProcess) process = new_zero_process (mode);
      g_autoptr(GError) error = NULL;

      if (i == 1)
        n_fds = gipc_test_count_fds ();
      gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                                         GIPC_SANDBOX_FLAGS_NO_NETWORK);
      gipc_process_sandbox_allow_path (process, allowed, TRUE);
      gipc_process_sandbox_allow_path (process, "/etc/hostname", FALSE);
      g_assert_true (gipc_process_start (process, &error));
      g_assert_no_error (error);
      g_assert_cmpint (join_sync (process), ==, 0);
    }
  g_assert_cmpuint (gipc_test_count_fds (), ==, n_fds);

  g_assert_no_errno (g_rmdir (allowed));
}

/* Fork-server mode: the program sends the seccomp program it built once
 * with the request, and the server's child uses it as sent (it builds
 * none); a damaged one fails the start with a message. */
static void
test_server_options (void)
{
  const GipcSandboxFlags flags = GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_NO_FILESYSTEM;
  GipcSandboxPrepared parent = GIPC_SANDBOX_PREPARED_INIT;
  GipcSandboxPrepared child = GIPC_SANDBOX_PREPARED_INIT;
  g_autoptr(GVariant) options = NULL;
  g_autoptr(GVariant) damaged = NULL;
  g_autoptr(GError) error = NULL;
  const struct sock_fprog *sent;
  const struct sock_fprog *used;
  GVariantBuilder builder;
  guint8 junk[3] = { 1, 2, 3 };

  if (!landlock_usable () || !seccomp_usable ())
    return;

  g_assert_true (gipc_sandbox_prepare (&parent, flags, NULL, 0, NULL, NULL, "test", &error));
  g_assert_no_error (error);
  gipc_sandbox_prepared_clear (&parent);
  g_assert_nonnull (parent.seccomp_prog);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&builder, "{sv}", "sandbox", g_variant_new_uint32 (flags));
  gipc_sandbox_prepared_to_options (&parent, &builder);
  options = g_variant_ref_sink (g_variant_builder_end (&builder));

  g_assert_true (gipc_sandbox_prepare_from_options (&child, options, "test", &error));
  g_assert_no_error (error);
  sent = parent.seccomp_prog;
  used = child.seccomp_prog;
  g_assert_nonnull (used);
  /* Not built again: the same instructions, read from the request. */
  g_assert_true (used != sent);
  g_assert_cmpuint (used->len, ==, sent->len);
  g_assert_cmpmem (used->filter, used->len * sizeof (struct sock_filter),
                   sent->filter, sent->len * sizeof (struct sock_filter));
  g_assert_cmpint (child.landlock_abi, ==, gipc_sandbox_get_landlock_abi ());
  g_assert_cmpint (child.ruleset_fd, >=, 0);
  g_assert_cmpuint (child.applied, ==, flags);
  gipc_sandbox_prepared_clear (&child);

  /* A program that is not whole instructions. */
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&builder, "{sv}", "sandbox", g_variant_new_uint32 (flags));
  g_variant_builder_add (&builder, "{sv}", "landlock-abi",
                         g_variant_new_int32 (gipc_sandbox_get_landlock_abi ()));
  g_variant_builder_add (&builder, "{sv}", "seccomp-program",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, junk, sizeof junk, 1));
  damaged = g_variant_ref_sink (g_variant_builder_end (&builder));
  g_assert_false (gipc_sandbox_prepare_from_options (&child, damaged, "test", &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, "seccomp program"));
  g_assert_cmpint (child.ruleset_fd, ==, -1);
}

/* One test in one mode, run under the hard timeout guard of test-util.h. */
typedef struct
{
  GTestDataFunc func;
  Mode          mode;
} ModeCase;

static ModeCase mode_cases[64];
static guint n_mode_cases;

static void
run_mode_case (gconstpointer data)
{
  const ModeCase *mode_case = data;

  gipc_test_arm_alarm ();
  mode_case->func (GINT_TO_POINTER (mode_case->mode));
  alarm (0);
}

static void
add_both (const char    *name,
          GTestDataFunc  func)
{
  Mode modes[] = { MODE_FORK, MODE_SPAWN, MODE_SERVER };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/sandbox/%s/%s", mode_name (modes[i]), name);
      ModeCase *mode_case;

      g_assert_cmpuint (n_mode_cases, <, G_N_ELEMENTS (mode_cases));
      mode_case = &mode_cases[n_mode_cases++];
      mode_case->func = func;
      mode_case->mode = modes[i];
      g_test_add_data_func (path, mode_case, run_mode_case);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  /* Before anything can start a thread. */
  g_main_context_default ();
  server = gipc_fork_server_new ();
  gipc_fork_server_add_target (server, "probe", probe_server_target, NULL, NULL);
  gipc_fork_server_add_target (server, "zero", zero_server_target, NULL, NULL);
  gipc_fork_server_add_target (server, "echo", echo_server_target, NULL, NULL);
  gipc_fork_server_add_target (server, "shared", shared_server_target, NULL, NULL);
  server_shared = mmap (NULL, (size_t) sysconf (_SC_PAGESIZE), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  g_assert_true (server_shared != MAP_FAILED);
  server_shared[0] = 's';
  if (!gipc_fork_server_start (server, &error))
    g_error ("fork server: %s", error->message);

  g_test_init (&argc, &argv, NULL);

  add_both ("control", test_control);
  add_both ("no-filesystem", test_no_filesystem);
  add_both ("read-only-filesystem", test_read_only);
  add_both ("no-network", test_no_network);
  add_both ("echo", test_echo);
  add_both ("escapes", test_escapes);
  add_both ("landlock-alone", test_landlock_alone);
  add_both ("system-data", test_system_data);
  add_both ("escapes-unprivileged", test_escapes_unprivileged);
  add_both ("memory-limit", test_memory_limit);
  add_both ("applied", test_applied);
  add_both ("seccomp-refused", test_seccomp_refused);
  add_both ("no-fd-leak", test_no_fd_leak);
  gipc_test_add_func ("/sandbox/spawn/programs", test_spawn_programs);
  gipc_test_add_func ("/sandbox/properties", test_properties);
  gipc_test_add_func ("/sandbox/fork-server-options", test_server_options);
  gipc_test_add_func ("/sandbox/invalid", test_invalid);
  gipc_test_add_func ("/sandbox/fork/shared-memory", test_fork_shared_memory);
  gipc_test_add_func ("/sandbox/fork-server/shared-memory", test_server_shared_memory);
  /* Last: it leaves this process with threads. */
  gipc_test_add_func ("/sandbox/spawn/threaded-parent", test_spawn_threaded_parent);

  return g_test_run ();
}
