/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The seccomp room of the sandbox: the block-list (every flag) and the
 * NO_NETWORK rules, compiled with libseccomp into a BPF program once per
 * flag set and kept for the life of the program, and the one system call
 * that loads it in the child.
 *
 * Building happens in the parent (libseccomp allocates); the child only
 * calls gipc_seccomp_load(), which is async-signal-safe. This file knows
 * nothing of paths, Landlock or GipcProcess.
 */

#include "config.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#ifdef HAVE_SECCOMP
# include <sched.h>
# include <seccomp.h>
# include <sys/ioctl.h>
# include <sys/socket.h>
#endif

#include "gipc-error.h"
#include "gipc-sandbox-private.h"
#include "gipc-seccomp-private.h"

static gboolean simulated_no_seccomp;

void
gipc_seccomp_simulate_missing (gboolean missing)
{
  simulated_no_seccomp = missing;
}

gboolean
gipc_sandbox_has_seccomp (void)
{
#ifdef HAVE_SECCOMP
  static gsize available = 0;

  if (simulated_no_seccomp)
    return FALSE;

  if (g_once_init_enter (&available))
    {
      /* Through seccomp(), the call the child installs its filter with
       * (prctl (PR_SET_SECCOMP) can work where it does not: valgrind
       * lacks it, and a seccomp policy may refuse it, ENOSYS or EPERM).
       * With filters built in, a NULL program is EFAULT (or EACCES
       * without PR_SET_NO_NEW_PRIVS, on kernels that check that first);
       * without, EINVAL. Nothing is installed either way. */
      long r = syscall (__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL);

      g_once_init_leave (&available,
                         (r < 0 && (errno == EFAULT || errno == EACCES)) ? 2 : 1);
    }

  return available == 2;
#else
  return FALSE;
#endif
}

#ifdef HAVE_SECCOMP

/* What a worker that parses data never needs. Each fails with EPERM; the
 * names unknown to the installed libseccomp (or absent on this
 * architecture) are skipped, but for the newest ones (below). Where each
 * entry comes from (docs/sandbox.md has the table): F = Flatpak's
 * block-list (common/flatpak-run.c), G = not in glycin's allow-list
 * (glycin's loaders may make only the calls it lists), P = this project's
 * probes (tests/sandbox-probes.h, issue 23). */
static const char * const blocked_syscalls[] = {
  /* other processes' memory and state (G; ptrace F) */
  "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
  "pidfd_getfd", "kcmp", "move_pages", "migrate_pages",
  /* mounts and the filesystem tree (F, G) */
  "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount",
  "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
  "open_by_handle_at", "name_to_handle_at", "quotactl", "quotactl_fd",
  "swapon", "swapoff", "acct", "fanotify_init", "nfsservctl", "lookup_dcookie",
  /* the kernel itself (F: syslog, uselib, acct, modify_ldt, perf_event_open;
   * G: all) */
  "kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module",
  "delete_module", "create_module", "query_module", "get_kernel_syms",
  "bpf", "perf_event_open", "userfaultfd", "syslog", "_sysctl", "uselib",
  "iopl", "ioperm", "vm86", "vm86old", "vhangup", "modify_ldt",
  /* keys (F, G) */
  "keyctl", "add_key", "request_key",
  /* namespaces (F, but glycin allows unshare; clone with CLONE_NEW* is
   * handled below) */
  "unshare", "setns",
  /* io_uring: its operations are not seen by seccomp (G, P) */
  "io_uring_setup", "io_uring_enter", "io_uring_register",
  /* System V IPC: a segment is found by key, outside any sandbox of the
   * filesystem (G, P) */
  "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv",
  "msgctl", "semget", "semop", "semtimedop", "semtimedop_time64", "semctl",
  "ipc",
  /* the clocks and names of the whole system (G) */
  "settimeofday", "stime", "clock_settime", "clock_adjtime", "adjtimex",
  "sethostname", "setdomainname",
};

/* Under the filesystem flags: no change of file metadata. seccomp sees no
 * paths, so these fail everywhere, the writable allowed paths and the
 * files the child already had open included (stricter than "outside the
 * writable paths": documented). Landlock does not control them. (G, P) */
static const char * const metadata_syscalls[] = {
  "chmod", "fchmod", "fchmodat", "fchmodat2",
  "chown", "fchown", "lchown", "fchownat", "chown32", "fchown32", "lchown32",
  "utime", "utimes", "utimensat", "utimensat_time64", "futimesat",
  "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr",
  "fremovexattr", "setxattrat", "removexattrat",
};

/* Calls newer than some libseccomp releases: their number, the same on
 * every architecture but alpha (numbers from 424 on are shared). */
static const struct
{
  const char *name;
  int         nr;
} new_syscalls[] = {
  { "fchmodat2", 452 },
  { "setxattrat", 463 },
  { "removexattrat", 466 },
};

static gboolean
add_rule (scmp_filter_ctx               ctx,
          guint32                       action,
          int                           nr,
          unsigned int                  n_args,
          const struct scmp_arg_cmp    *arg)
{
  int r = seccomp_rule_add_array (ctx, action, nr, n_args, arg);

  /* -EDOM: not on this architecture (a multiplexed call, say). */
  if (r < 0 && r != -EDOM)
    {
      g_debug ("sandbox: seccomp_rule_add (%d): %s", nr, g_strerror (-r));
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_blocked_name (scmp_filter_ctx  ctx,
                  const char      *name)
{
  int nr = seccomp_syscall_resolve_name (name);
  guint i;

#if defined(__linux__) && !defined(__alpha__)
  for (i = 0; nr == __NR_SCMP_ERROR && i < G_N_ELEMENTS (new_syscalls); i++)
    if (g_str_equal (name, new_syscalls[i].name))
      nr = new_syscalls[i].nr;
#else
  (void) i;
#endif
  if (nr == __NR_SCMP_ERROR)
    return TRUE;
  return add_rule (ctx, SCMP_ACT_ERRNO (EPERM), nr, 0, NULL);
}

#if defined(__s390__) || defined(__CRIS__)
# define CLONE_FLAGS_ARG 1   /* clone (stack, flags, ...) */
#else
# define CLONE_FLAGS_ARG 0
#endif

static gboolean
add_block_list (scmp_filter_ctx ctx)
{
  static const guint64 namespace_flags[] = {
    CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
  };
  gboolean ok = TRUE;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (blocked_syscalls); i++)
    ok &= add_blocked_name (ctx, blocked_syscalls[i]);

  /* clone() that makes a namespace: one rule per flag (rules are or-ed). */
  for (i = 0; i < G_N_ELEMENTS (namespace_flags); i++)
    {
      struct scmp_arg_cmp cmp = SCMP_CMP (CLONE_FLAGS_ARG, SCMP_CMP_MASKED_EQ,
                                          namespace_flags[i], namespace_flags[i]);

      ok &= add_rule (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), 1, &cmp);
    }

  /* Terminal injection: pushing input into the terminal (TIOCSTI, F, P)
   * or the console's selection and its other subcommands (TIOCLINUX, F
   * since CVE-2023-28100, P). The command is 32 bits wide. */
  {
    static const guint32 tty_requests[] = { TIOCSTI, TIOCLINUX };

    for (i = 0; i < G_N_ELEMENTS (tty_requests); i++)
      {
        struct scmp_arg_cmp cmp = SCMP_CMP (1, SCMP_CMP_MASKED_EQ, 0xffffffffu,
                                            tty_requests[i]);

        ok &= add_rule (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (ioctl), 1, &cmp);
      }
  }

  /* Device nodes (P; Landlock denies them too, where it can). */
  {
    static const guint32 device_types[] = { S_IFCHR, S_IFBLK };

    for (i = 0; i < G_N_ELEMENTS (device_types); i++)
      {
        struct scmp_arg_cmp mode1 = SCMP_CMP (1, SCMP_CMP_MASKED_EQ, S_IFMT, device_types[i]);
        struct scmp_arg_cmp mode2 = SCMP_CMP (2, SCMP_CMP_MASKED_EQ, S_IFMT, device_types[i]);

        ok &= add_rule (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (mknod), 1, &mode1);
        ok &= add_rule (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (mknodat), 1, &mode2);
      }
  }

  /* clone3() takes its flags in memory, out of seccomp's sight: ENOSYS, so
   * that the C library falls back to clone(), which is checked above. */
  ok &= add_rule (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), 0, NULL);

  /* personality(): only PER_LINUX (0) and the query (0xffffffff). The
   * argument is 32 bits wide; any other value has both a set and a clear
   * bit, so somewhere a 1 is followed (cyclically) by a 0: one rule per
   * such pair, each a single masked comparison. */
  for (i = 0; i < 32; i++)
    {
      guint64 bit = G_GUINT64_CONSTANT (1) << i;
      guint64 next = G_GUINT64_CONSTANT (1) << ((i + 1) % 32);
      struct scmp_arg_cmp cmp = SCMP_CMP (0, SCMP_CMP_MASKED_EQ, bit | next, bit);

      ok &= add_rule (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (personality), 1, &cmp);
    }

  return ok;
}

static gboolean
add_metadata_list (scmp_filter_ctx ctx)
{
  gboolean ok = TRUE;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (metadata_syscalls); i++)
    ok &= add_blocked_name (ctx, metadata_syscalls[i]);

  return ok;
}

/* No new socket at all: socket() fails for every family, AF_UNIX
 * included, so that no named or abstract Unix socket (the session bus,
 * ssh-agent, docker.sock) can be reached whatever the filesystem flags
 * (Landlock does not control connect() on a socket file). socketpair()
 * stays, for AF_UNIX only: a pair reaches nothing outside. (P; Flatpak and
 * glycin keep sockets and use a network namespace instead.) */
static gboolean
add_no_network (scmp_filter_ctx ctx)
{
  struct scmp_arg_cmp not_unix = SCMP_CMP (0, SCMP_CMP_NE, AF_UNIX);
  gboolean ok = TRUE;

  ok &= add_rule (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (socket), 0, NULL);
  ok &= add_rule (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (socketpair), 1, &not_unix);

  return ok;
}

/* Builds the BPF program: libseccomp exports it to an fd, a memfd here,
 * which is read back into memory that lives as long as the program. */
static struct sock_fprog *
build_seccomp_program (gboolean   no_network,
                       gboolean   no_metadata,
                       GError   **error)
{
  scmp_filter_ctx ctx;
  struct sock_fprog *prog = NULL;
  struct stat st;
  guint8 *buffer = NULL;
  gsize done = 0;
  int fd = -1;
  int r;

  ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                           "seccomp_init failed");
      return NULL;
    }

  /* A system call of another architecture (int 0x80 from x86-64, say)
   * would bypass a block-list written for this one: it fails, it does not
   * kill. */
  r = seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO (EPERM));
  if (r < 0)
    goto fail;
  /* The child sets PR_SET_NO_NEW_PRIVS itself, before Landlock. */
  r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (r < 0)
    goto fail;
  /* A binary tree of system call numbers instead of a linear list: every
   * call of the child passes a few comparisons instead of one per rule, and
   * the kernel, which runs the program once per system call number when
   * it is loaded (to cache the always-allowed ones), does so in a fraction
   * of the time: about 150 µs less per start. (libseccomp >= 2.5.) */
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
  r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (r < 0)
    g_debug ("sandbox: libseccomp cannot build a binary tree: %s", g_strerror (-r));
#endif

  if (!add_block_list (ctx) || (no_network && !add_no_network (ctx)) ||
      (no_metadata && !add_metadata_list (ctx)))
    {
      r = -EINVAL;
      goto fail;
    }

  fd = memfd_create ("gipc-seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0)
    {
      r = -errno;
      goto fail;
    }
  r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    goto fail;
  if (fstat (fd, &st) < 0)
    {
      r = -errno;
      goto fail;
    }
  if (st.st_size <= 0 || st.st_size % sizeof (struct sock_filter) != 0 ||
      st.st_size / sizeof (struct sock_filter) > BPF_MAXINSNS)
    {
      r = -E2BIG;
      goto fail;
    }

  buffer = g_malloc ((gsize) st.st_size);
  while (done < (gsize) st.st_size)
    {
      ssize_t n = pread (fd, buffer + done, (gsize) st.st_size - done, (off_t) done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          r = n < 0 ? -errno : -EIO;
          goto fail;
        }
      done += (gsize) n;
    }

  prog = g_new0 (struct sock_fprog, 1);
  prog->len = (unsigned short) (st.st_size / sizeof (struct sock_filter));
  prog->filter = (struct sock_filter *) (gpointer) g_steal_pointer (&buffer);

  close (fd);
  seccomp_release (ctx);
  return prog;

fail:
  g_free (buffer);
  if (fd >= 0)
    close (fd);
  seccomp_release (ctx);
  g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
               "building the seccomp program failed: %s", g_strerror (-r));
  return NULL;
}

#endif /* HAVE_SECCOMP */

/* One program per flag set (with or without NO_NETWORK, with or without a
 * filesystem flag), built on first
 * use and kept: a start costs no libseccomp call after the first. */
const void *
gipc_seccomp_get_program (gboolean   no_network,
                          gboolean   no_metadata,
                          GError   **error)
{
#ifdef HAVE_SECCOMP
  G_LOCK_DEFINE_STATIC (programs);
  static struct sock_fprog *programs[4];
  guint index = (no_network ? 1 : 0) | (no_metadata ? 2 : 0);
  struct sock_fprog *prog;

  G_LOCK (programs);
  prog = programs[index];
  if (prog == NULL)
    {
      prog = build_seccomp_program (no_network, no_metadata, error);
      programs[index] = prog;
    }
  G_UNLOCK (programs);

  return prog;
#else
  g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_SANDBOX_UNAVAILABLE,
                       "gipc-glib was built without libseccomp");
  return NULL;
#endif
}

int
gipc_seccomp_load (const void *program)
{
  if (syscall (__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, program) < 0)
    return errno;
  return 0;
}
