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
 * architecture) are skipped. */
static const char * const blocked_syscalls[] = {
  /* other processes' memory and state */
  "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
  "pidfd_getfd", "kcmp",
  /* mounts and the filesystem tree */
  "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount",
  "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
  "open_by_handle_at", "name_to_handle_at", "quotactl", "quotactl_fd",
  "swapon", "swapoff", "acct", "fanotify_init", "nfsservctl", "lookup_dcookie",
  /* the kernel itself */
  "kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module",
  "delete_module", "create_module", "query_module", "get_kernel_syms",
  "bpf", "perf_event_open", "userfaultfd", "syslog", "_sysctl", "uselib",
  "iopl", "ioperm", "vm86", "vm86old", "vhangup",
  /* keys */
  "keyctl", "add_key", "request_key",
  /* namespaces (clone with CLONE_NEW* is handled below) */
  "unshare", "setns",
  /* io_uring: its operations are not seen by seccomp */
  "io_uring_setup", "io_uring_enter", "io_uring_register",
  /* the clocks and names of the whole system */
  "settimeofday", "stime", "clock_settime", "clock_adjtime", "adjtimex",
  "sethostname", "setdomainname",
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
add_no_network (scmp_filter_ctx ctx)
{
  struct scmp_arg_cmp not_unix = SCMP_CMP (0, SCMP_CMP_NE, AF_UNIX);
  gboolean ok = TRUE;

  ok &= add_rule (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (socket), 1, &not_unix);
  ok &= add_rule (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (socketpair), 1, &not_unix);

  return ok;
}

/* Builds the BPF program: libseccomp exports it to an fd, a memfd here,
 * which is read back into memory that lives as long as the program. */
static struct sock_fprog *
build_seccomp_program (gboolean   no_network,
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

  if (!add_block_list (ctx) || (no_network && !add_no_network (ctx)))
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

/* One program per flag set (with or without NO_NETWORK), built on first
 * use and kept: a start costs no libseccomp call after the first. */
const void *
gipc_seccomp_get_program (gboolean   no_network,
                          GError   **error)
{
#ifdef HAVE_SECCOMP
  G_LOCK_DEFINE_STATIC (programs);
  static struct sock_fprog *programs[2];
  struct sock_fprog *prog;

  G_LOCK (programs);
  prog = programs[no_network ? 1 : 0];
  if (prog == NULL)
    {
      prog = build_seccomp_program (no_network, error);
      programs[no_network ? 1 : 0] = prog;
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
