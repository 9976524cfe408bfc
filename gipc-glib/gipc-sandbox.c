/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The sandbox of a child process: PR_SET_NO_NEW_PRIVS, a Landlock ruleset
 * for the filesystem flags, a seccomp program (built with libseccomp) for
 * NO_NETWORK and the block-list, and RLIMIT_AS for the memory limit.
 *
 * The parent prepares everything: libseccomp allocates and is not
 * async-signal-safe, and neither is opening the allowed paths with the
 * error handling that goes with it. The seccomp program depends only on the
 * flags, so it is built once per flag set and kept for the life of the
 * program; the Landlock ruleset depends on the allowed paths and is made per
 * start (a handful of system calls). The child then needs only setrlimit(),
 * prctl(), landlock_restrict_self(), close() and seccomp(), all plain system
 * calls.
 */

#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>

#ifdef HAVE_SECCOMP
# include <sched.h>
# include <seccomp.h>
# include <sys/socket.h>
#endif

#include "gipc-error.h"
#include "gipc-sandbox-private.h"

/* ------------------------------------------------------------------ */
/* Landlock, by system call number: the C library has no wrappers      */

#ifndef __NR_landlock_create_ruleset
# define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
# define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
# define __NR_landlock_restrict_self 446
#endif

/* Rights newer than the installed kernel headers. */
#ifndef LANDLOCK_ACCESS_FS_REFER
# define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
# define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
# define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define FS_RIGHTS_ABI1 ((1ULL << 13) - 1)   /* EXECUTE to MAKE_SYM */

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_READ_EXEC (FS_READ | LANDLOCK_ACCESS_FS_EXECUTE)
/* What a rule on a file (not a directory) may grant. */
#define FS_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
                        LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
                        LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* The Landlock ABI that controls every way of writing a file: ABI 3
 * (Linux 6.2) added truncate(); before it, a READ_ONLY_FILESYSTEM child
 * could still truncate any file it can name. */
#define LANDLOCK_ABI_COMPLETE 3

static int simulated_landlock_abi = -1;
static gboolean simulated_no_seccomp;

void
gipc_sandbox_simulate_kernel (int      landlock_abi,
                              gboolean seccomp)
{
  simulated_landlock_abi = landlock_abi;
  simulated_no_seccomp = !seccomp;
}

static int
probe_landlock_abi (void)
{
  long abi = syscall (__NR_landlock_create_ruleset, NULL, 0,
                      LANDLOCK_CREATE_RULESET_VERSION);

  /* ENOSYS: not built in; EOPNOTSUPP: built in but not enabled at boot. */
  return abi > 0 ? (int) abi : 0;
}

int
gipc_sandbox_get_landlock_abi (void)
{
  static gsize abi = 0;

  if (simulated_landlock_abi >= 0)
    return simulated_landlock_abi;

  if (g_once_init_enter (&abi))
    g_once_init_leave (&abi, (gsize) probe_landlock_abi () + 1);

  return (int) abi - 1;
}

/* Every filesystem right the kernel's Landlock ABI knows. */
static guint64
landlock_fs_rights (int abi)
{
  guint64 rights = FS_RIGHTS_ABI1;

  if (abi >= 2)
    rights |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5)
    rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;

  return rights;
}

/* The rights that change the filesystem (READ_ONLY_FILESYSTEM handles only
 * these, so reading and executing stay allowed everywhere). */
static guint64
landlock_write_rights (int abi)
{
  guint64 rights = landlock_fs_rights (abi);

  return rights & ~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
                    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_IOCTL_DEV);
}

/* ------------------------------------------------------------------ */
/* seccomp                                                             */

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
static const struct sock_fprog *
get_seccomp_program (gboolean   no_network,
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

/* ------------------------------------------------------------------ */
/* The Landlock ruleset, made in the parent                            */

typedef struct
{
  int      fd;
  int      abi;
  guint64  handled;
} Ruleset;

/* Adds a rule granting @access beneath @path. A missing path is skipped
 * if @optional (the implicit paths of spawn mode), else an error. */
static gboolean ruleset_allow_full (Ruleset     *ruleset,
                                    const char  *path,
                                    guint64      access,
                                    gboolean     optional,
                                    gboolean     known_dir,
                                    GError     **error);

static gboolean
ruleset_allow (Ruleset     *ruleset,
               const char  *path,
               guint64      access,
               gboolean     optional,
               GError     **error)
{
  return ruleset_allow_full (ruleset, path, access, optional, FALSE, error);
}

/* @known_dir: @path was seen to be a directory already (no fstat). */
static gboolean
ruleset_allow_full (Ruleset     *ruleset,
                    const char  *path,
                    guint64      access,
                    gboolean     optional,
                    gboolean     known_dir,
                    GError     **error)
{
  struct landlock_path_beneath_attr rule;
  struct stat st;
  int fd;
  int errsv;

  fd = open (path, O_PATH | O_CLOEXEC);
  if (fd < 0)
    {
      errsv = errno;
      if (optional)
        return TRUE;
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "cannot open the allowed path “%s”: %s", path, g_strerror (errsv));
      return FALSE;
    }

  if (!known_dir && fstat (fd, &st) < 0)
    {
      errsv = errno;
      close (fd);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "cannot stat the allowed path “%s”: %s", path, g_strerror (errsv));
      return FALSE;
    }

  access &= ruleset->handled;
  if (!known_dir && !S_ISDIR (st.st_mode))
    access &= FS_FILE_RIGHTS;

  if (access == 0)
    {
      close (fd);
      return TRUE;
    }

  memset (&rule, 0, sizeof rule);
  rule.allowed_access = access;
  rule.parent_fd = fd;
  if (syscall (__NR_landlock_add_rule, ruleset->fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
    {
      errsv = errno;
      close (fd);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                   "cannot allow the path “%s” in the Landlock ruleset: %s",
                   path, g_strerror (errsv));
      return FALSE;
    }

  close (fd);
  return TRUE;
}

/* ELF: the interpreter (PT_INTERP) and the run path (DT_RUNPATH, or
 * DT_RPATH, with $ORIGIN expanded) of @path, for the native class only.
 * Both appended to @dirs as newly allocated strings. Best effort: a file
 * that is not ELF adds nothing. */
static gboolean
pread_all (int    fd,
           void  *buffer,
           gsize  size,
           off_t  offset)
{
  ssize_t n;

  do
    n = pread (fd, buffer, size, offset);
  while (n < 0 && errno == EINTR);

  return n == (ssize_t) size;
}

/* The interpreter of a script ("#!/usr/bin/python3 -u" → /usr/bin/python3),
 * or NULL. */
static char *
script_interpreter (char *line)
{
  char *start;
  char *end;

  if (line[0] != '#' || line[1] != '!')
    return NULL;

  start = line + 2;
  while (*start == ' ' || *start == '\t')
    start++;
  if (*start != '/')
    return NULL;
  end = start + strcspn (start, " \t\n");
  *end = '\0';
  return g_strdup (start);
}

/* What exec and the dynamic loader read for @path: for a script, its
 * interpreter (returned); for an ELF program, its interpreter (PT_INTERP,
 * into @files) and run path (into @dirs). One open of the file. */
static char *
inspect_program (const char *path,
                 GPtrArray  *files,
                 GPtrArray  *dirs)
{
  union {
    ElfW(Ehdr) ehdr;
    char       line[256];
  } head;
  char *interpreter = NULL;
  ElfW(Ehdr) ehdr;
  g_autofree ElfW(Phdr) *phdrs = NULL;
  g_autofree ElfW(Dyn) *dyns = NULL;
  g_autofree char *origin = NULL;
  ElfW(Off) dyn_offset = 0;
  gsize dyn_size = 0;
  ElfW(Addr) strtab = 0;
  guint64 runpath = G_MAXUINT64;
  guint64 rpath = G_MAXUINT64;
  off_t strtab_offset = -1;
  char text[4096];
  guint i, n_dyns;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;

  memset (&head, 0, sizeof head);
  {
    ssize_t n;

    do
      n = pread (fd, head.line, sizeof head.line - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < (ssize_t) sizeof ehdr)
      {
        if (n > 2)
          interpreter = script_interpreter (head.line);
        goto out;
      }
  }
  interpreter = script_interpreter (head.line);
  if (interpreter != NULL)
    goto out;
  memcpy (&ehdr, &head.ehdr, sizeof ehdr);

  if (memcmp (ehdr.e_ident, ELFMAG, SELFMAG) != 0 ||
      ehdr.e_ident[EI_CLASS] != (sizeof (void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
      ehdr.e_phentsize != sizeof (ElfW(Phdr)) || ehdr.e_phnum == 0 || ehdr.e_phnum > 256)
    goto out;

  phdrs = g_new (ElfW(Phdr), ehdr.e_phnum);
  if (!pread_all (fd, phdrs, sizeof (ElfW(Phdr)) * ehdr.e_phnum, (off_t) ehdr.e_phoff))
    goto out;

  for (i = 0; i < ehdr.e_phnum; i++)
    {
      if (phdrs[i].p_type == PT_INTERP && phdrs[i].p_filesz > 1 &&
          phdrs[i].p_filesz < sizeof text)
        {
          if (pread_all (fd, text, phdrs[i].p_filesz, (off_t) phdrs[i].p_offset))
            {
              text[phdrs[i].p_filesz] = '\0';
              g_ptr_array_add (files, g_strdup (text));
            }
        }
      else if (phdrs[i].p_type == PT_DYNAMIC)
        {
          dyn_offset = phdrs[i].p_offset;
          dyn_size = MIN (phdrs[i].p_filesz, 64 * 1024);
        }
    }

  n_dyns = (guint) (dyn_size / sizeof (ElfW(Dyn)));
  if (n_dyns == 0)
    goto out;
  dyns = g_new (ElfW(Dyn), n_dyns);
  if (!pread_all (fd, dyns, sizeof (ElfW(Dyn)) * n_dyns, (off_t) dyn_offset))
    goto out;

  for (i = 0; i < n_dyns && dyns[i].d_tag != DT_NULL; i++)
    {
      if (dyns[i].d_tag == DT_STRTAB)
        strtab = dyns[i].d_un.d_ptr;
      else if (dyns[i].d_tag == DT_RUNPATH)
        runpath = dyns[i].d_un.d_val;
      else if (dyns[i].d_tag == DT_RPATH)
        rpath = dyns[i].d_un.d_val;
    }
  if (runpath == G_MAXUINT64)
    runpath = rpath;
  if (runpath == G_MAXUINT64 || strtab == 0)
    goto out;

  /* The string table's address, as a file offset through its segment. */
  for (i = 0; i < ehdr.e_phnum; i++)
    {
      if (phdrs[i].p_type == PT_LOAD && strtab >= phdrs[i].p_vaddr &&
          strtab < phdrs[i].p_vaddr + phdrs[i].p_filesz)
        {
          strtab_offset = (off_t) (strtab - phdrs[i].p_vaddr + phdrs[i].p_offset);
          break;
        }
    }
  if (strtab_offset < 0)
    goto out;

  {
    ssize_t n;
    g_auto(GStrv) entries = NULL;

    do
      n = pread (fd, text, sizeof text - 1, strtab_offset + (off_t) runpath);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
      goto out;
    text[n] = '\0';

    {
      g_autofree char *real = realpath (path, NULL);

      origin = g_path_get_dirname (real != NULL ? real : path);
    }

    entries = g_strsplit (text, ":", -1);
    for (i = 0; entries[i] != NULL; i++)
      {
        g_autoptr(GString) dir = g_string_new (entries[i]);

        if (dir->len == 0)
          continue;
        g_string_replace (dir, "${ORIGIN}", origin, 0);
        g_string_replace (dir, "$ORIGIN", origin, 0);
        g_ptr_array_add (dirs, g_string_free (g_steal_pointer (&dir), FALSE));
      }
  }

out:
  close (fd);
  return interpreter;
}

static const char * const system_dirs[] = {
  "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin",
};

/* The system directories that exist and are not beneath another one (on a
 * merged-/usr system /bin is /usr/bin): found once, as a NULL-terminated
 * array. */
static const char * const *
get_system_dirs (void)
{
  static const char **dirs = NULL;

  if (g_once_init_enter (&dirs))
    {
      GPtrArray *found = g_ptr_array_new ();
      g_autofree char *usr = realpath ("/usr", NULL);
      guint i;

      for (i = 0; i < G_N_ELEMENTS (system_dirs); i++)
        {
          g_autofree char *real = realpath (system_dirs[i], NULL);
          struct stat st;

          if (real == NULL || stat (real, &st) < 0 || !S_ISDIR (st.st_mode))
            continue;
          if (i > 0 && usr != NULL &&
              (g_str_equal (real, usr) || (g_str_has_prefix (real, usr) &&
                                           real[strlen (usr)] == '/')))
            continue;
          g_ptr_array_add (found, (gpointer) system_dirs[i]);
        }
      g_ptr_array_add (found, NULL);
      g_once_init_leave (&dirs, (const char **) g_ptr_array_free (found, FALSE));
    }

  return dirs;
}

/* Whether @path names something beneath a system directory, which the
 * system directories' rules cover already. A path that leaves it through a
 * symbolic link is then denied: the start fails closed, with exec's
 * EACCES. */
static gboolean
beneath_system_dir (const char *path)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (system_dirs); i++)
    {
      gsize len = strlen (system_dirs[i]);

      if (strncmp (path, system_dirs[i], len) == 0 && path[len] == '/' &&
          strstr (path, "/../") == NULL)
        return TRUE;
    }
  return FALSE;
}

/* Spawn mode under NO_FILESYSTEM: what exec and the dynamic loader read,
 * and what an interpreter reads of its own library (Python lists the
 * directories of its standard library): the system directories can be
 * read, listed and executed from. */
static gboolean
allow_program (Ruleset             *ruleset,
               const char          *exec_path,
               const char * const  *envp,
               GError             **error)
{
  static const char * const loader_files[] = {
    "/etc/ld.so.cache", "/etc/ld.so.preload",
  };
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  const char * const *dirs_found = get_system_dirs ();
  g_autofree char *interpreter = NULL;
  const char *value;
  guint i;

  for (i = 0; dirs_found[i] != NULL; i++)
    if (!ruleset_allow_full (ruleset, dirs_found[i], FS_READ_EXEC, TRUE, TRUE, error))
      return FALSE;
  for (i = 0; i < G_N_ELEMENTS (loader_files); i++)
    if (!ruleset_allow (ruleset, loader_files[i], LANDLOCK_ACCESS_FS_READ_FILE, TRUE, error))
      return FALSE;

  g_ptr_array_add (files, g_strdup (exec_path));
  interpreter = inspect_program (exec_path, files, dirs);
  if (interpreter != NULL)
    {
      g_ptr_array_add (files, g_strdup (interpreter));
      g_free (inspect_program (interpreter, files, dirs));
    }

  value = envp != NULL ? g_environ_getenv ((char **) envp, "LD_LIBRARY_PATH") : NULL;
  if (value != NULL)
    {
      g_auto(GStrv) entries = g_strsplit (value, ":", -1);

      for (i = 0; entries[i] != NULL; i++)
        if (entries[i][0] == '/')
          g_ptr_array_add (dirs, g_strdup (entries[i]));
    }
  value = envp != NULL ? g_environ_getenv ((char **) envp, "LD_PRELOAD") : NULL;
  if (value != NULL)
    {
      g_auto(GStrv) entries = g_strsplit_set (value, ": ", -1);

      for (i = 0; entries[i] != NULL; i++)
        if (entries[i][0] == '/')
          g_ptr_array_add (files, g_strdup (entries[i]));
    }

  for (i = 0; i < files->len; i++)
    {
      const char *file = g_ptr_array_index (files, i);

      if (!beneath_system_dir (file) &&
          !ruleset_allow (ruleset, file, FS_READ_EXEC, TRUE, error))
        return FALSE;
    }
  for (i = 0; i < dirs->len; i++)
    {
      const char *dir = g_ptr_array_index (dirs, i);

      if (!beneath_system_dir (dir) &&
          !ruleset_allow (ruleset, dir, FS_READ_EXEC, TRUE, error))
        return FALSE;
    }

  return TRUE;
}

static gboolean
make_ruleset (Ruleset             *ruleset,
              GipcSandboxFlags     flags,
              GPtrArray           *paths,
              const char          *exec_path,
              const char * const  *envp,
              GError             **error)
{
  struct landlock_ruleset_attr attr;
  gboolean no_fs = (flags & GIPC_SANDBOX_FLAGS_NO_FILESYSTEM) != 0;
  guint i;

  ruleset->handled = no_fs ? landlock_fs_rights (ruleset->abi)
                           : landlock_write_rights (ruleset->abi);

  memset (&attr, 0, sizeof attr);
  attr.handled_access_fs = ruleset->handled;
  ruleset->fd = (int) syscall (__NR_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (ruleset->fd < 0)
    {
      int errsv = errno;

      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SANDBOX_UNAVAILABLE,
                   "landlock_create_ruleset failed: %s", g_strerror (errsv));
      return FALSE;
    }

  for (i = 0; paths != NULL && i < paths->len; i++)
    {
      GipcSandboxPath *allowed = g_ptr_array_index (paths, i);
      guint64 access = allowed->writable ? ruleset->handled : FS_READ;

      /* Under READ_ONLY_FILESYSTEM reading is allowed everywhere: only
       * writable paths need a rule. */
      if (!no_fs && !allowed->writable)
        continue;
      if (!ruleset_allow (ruleset, allowed->path, access, FALSE, error))
        goto fail;
    }

  if (no_fs && exec_path != NULL && !allow_program (ruleset, exec_path, envp, error))
    goto fail;

  return TRUE;

fail:
  close (ruleset->fd);
  ruleset->fd = -1;
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Preparing, in the parent                                            */

void
gipc_sandbox_path_free (GipcSandboxPath *path)
{
  g_free (path->path);
  g_free (path);
}

gboolean
gipc_sandbox_prepare (GipcSandboxPrepared  *prepared,
                      GipcSandboxFlags      flags,
                      GPtrArray            *paths,
                      guint64               memory_limit,
                      const char           *exec_path,
                      const char * const   *envp,
                      const char           *name,
                      GError              **error)
{
  const GipcSandboxFlags fs_flags = GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                                    GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM;
  gboolean best_effort = (flags & GIPC_SANDBOX_FLAGS_BEST_EFFORT) != 0;
  g_autoptr(GString) missing = g_string_new (NULL);
  g_autoptr(GError) local_error = NULL;
  GipcSandboxPrepared result = GIPC_SANDBOX_PREPARED_INIT;
  Ruleset ruleset = { -1, 0, 0 };

  g_return_val_if_fail (prepared != NULL, FALSE);

  *prepared = result;
  result.flags = flags;
  result.memory_limit = memory_limit;
  result.active = flags != GIPC_SANDBOX_FLAGS_NONE || memory_limit > 0;

  if (flags == GIPC_SANDBOX_FLAGS_NONE)
    {
      *prepared = result;
      return TRUE;
    }

  /* The block-list (every flag) and NO_NETWORK: seccomp. */
  if (!gipc_sandbox_has_seccomp ())
    {
#ifdef HAVE_SECCOMP
      g_string_append (missing, "seccomp filters (CONFIG_SECCOMP_FILTER), for the "
                       "system-call block-list");
#else
      g_string_append (missing, "libseccomp (gipc-glib was built without it), for the "
                       "system-call block-list");
#endif
      if (flags & GIPC_SANDBOX_FLAGS_NO_NETWORK)
        g_string_append (missing, " and NO_NETWORK");
    }
  else
    {
      gboolean no_network = (flags & GIPC_SANDBOX_FLAGS_NO_NETWORK) != 0;

      result.seccomp_prog = get_seccomp_program (no_network, &local_error);
      if (result.seccomp_prog == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "Cannot start process “%s”: ", name);
          return FALSE;
        }
      result.block_list = TRUE;
      if (no_network)
        result.applied |= GIPC_SANDBOX_FLAGS_NO_NETWORK;
    }

  /* The filesystem flags: Landlock. */
  if (flags & fs_flags)
    {
      const char *which = (flags & GIPC_SANDBOX_FLAGS_NO_FILESYSTEM)
                          ? "NO_FILESYSTEM" : "READ_ONLY_FILESYSTEM";

      ruleset.abi = gipc_sandbox_get_landlock_abi ();
      if (ruleset.abi == 0)
        {
          g_string_append_printf (missing, "%sLandlock (Linux 5.13, enabled in the "
                                  "\"lsm=\" list), for %s",
                                  missing->len > 0 ? "; " : "", which);
        }
      else
        {
          if (ruleset.abi < LANDLOCK_ABI_COMPLETE)
            g_string_append_printf (missing, "%sLandlock ABI %d (Linux 6.2, control of "
                                    "truncate()) for %s; this kernel has ABI %d",
                                    missing->len > 0 ? "; " : "", LANDLOCK_ABI_COMPLETE,
                                    which, ruleset.abi);

          if (missing->len == 0 || best_effort)
            {
              if (!make_ruleset (&ruleset, flags, paths, exec_path, envp, &local_error))
                {
                  if (!g_error_matches (local_error, GIPC_ERROR,
                                        GIPC_ERROR_SANDBOX_UNAVAILABLE) || !best_effort)
                    {
                      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                                  "Cannot start process “%s”: ", name);
                      return FALSE;
                    }
                  g_debug ("sandbox: %s", local_error->message);
                }
              else
                {
                  result.ruleset_fd = ruleset.fd;
                  result.applied |= flags & fs_flags;
                }
            }
        }
    }

  if (missing->len > 0 && !best_effort)
    {
      if (result.ruleset_fd >= 0)
        close (result.ruleset_fd);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SANDBOX_UNAVAILABLE,
                   "Cannot start process “%s”: this system lacks what its sandbox "
                   "needs: %s (GIPC_SANDBOX_FLAGS_BEST_EFFORT applies what is "
                   "available instead)", name, missing->str);
      return FALSE;
    }
  if (missing->len > 0)
    g_debug ("Process “%s”: sandbox without %s (best effort)", name, missing->str);

  *prepared = result;
  return TRUE;
}

void
gipc_sandbox_prepared_clear (GipcSandboxPrepared *prepared)
{
  if (prepared->ruleset_fd >= 0)
    {
      close (prepared->ruleset_fd);
      prepared->ruleset_fd = -1;
    }
}

/* ------------------------------------------------------------------ */
/* Applying, in the child: async-signal-safe only                      */

GipcSandboxStep
gipc_sandbox_apply_prepared (const GipcSandboxPrepared *prepared,
                             GipcSandboxFlags          *applied,
                             int                       *errsv)
{
  gboolean best_effort = (prepared->flags & GIPC_SANDBOX_FLAGS_BEST_EFFORT) != 0;
  GipcSandboxFlags result = prepared->applied;

  *errsv = 0;
  *applied = GIPC_SANDBOX_FLAGS_NONE;

  if (!prepared->active)
    return GIPC_SANDBOX_STEP_NONE;

  if (prepared->memory_limit > 0)
    {
      struct rlimit limit;

      if (getrlimit (RLIMIT_AS, &limit) < 0)
        goto fail_memory;
      /* Both limits: the child cannot raise it again. */
      if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max > prepared->memory_limit)
        limit.rlim_max = (rlim_t) prepared->memory_limit;
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_AS, &limit) < 0)
        goto fail_memory;
    }

  if (prepared->flags == GIPC_SANDBOX_FLAGS_NONE)
    return GIPC_SANDBOX_STEP_NONE;

  /* Required by Landlock and seccomp without CAP_SYS_ADMIN, and what keeps
   * a set-user-id program from running with more rights. */
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      *errsv = errno;
      return GIPC_SANDBOX_STEP_NO_NEW_PRIVS;
    }

  if (prepared->ruleset_fd >= 0)
    {
      long r = syscall (__NR_landlock_restrict_self, prepared->ruleset_fd, 0);
      int landlock_errno = errno;

      close (prepared->ruleset_fd);
      if (r < 0)
        {
          if (!best_effort)
            {
              *errsv = landlock_errno;
              return GIPC_SANDBOX_STEP_LANDLOCK;
            }
          result &= ~(GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                      GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM);
        }
    }

  /* Last: nothing above is blocked, but nothing after it needs to be
   * allowed either. */
  if (prepared->block_list)
    {
      if (syscall (__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, prepared->seccomp_prog) < 0)
        {
          if (!best_effort)
            {
              *errsv = errno;
              return GIPC_SANDBOX_STEP_SECCOMP;
            }
          result &= ~GIPC_SANDBOX_FLAGS_NO_NETWORK;
        }
    }

  *applied = result;
  return GIPC_SANDBOX_STEP_NONE;

fail_memory:
  *errsv = errno;
  return GIPC_SANDBOX_STEP_MEMORY_LIMIT;
}

const char *
gipc_sandbox_step_describe (GipcSandboxStep step)
{
  switch (step)
    {
    case GIPC_SANDBOX_STEP_MEMORY_LIMIT:
      return "setting the memory limit (RLIMIT_AS)";
    case GIPC_SANDBOX_STEP_NO_NEW_PRIVS:
      return "setting PR_SET_NO_NEW_PRIVS";
    case GIPC_SANDBOX_STEP_LANDLOCK:
      return "restricting the filesystem (landlock_restrict_self)";
    case GIPC_SANDBOX_STEP_SECCOMP:
      return "loading the seccomp program";
    case GIPC_SANDBOX_STEP_NONE:
    default:
      return "applying the sandbox";
    }
}
