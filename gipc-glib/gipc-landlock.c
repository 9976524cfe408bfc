/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The Landlock room of the sandbox: probing the kernel's ABI, making the
 * ruleset of a child in the parent (the allowed paths, and in spawn mode
 * the program with its interpreter and libraries, found by
 * gipc-elf-deps.c), and the one system call that restricts the child.
 *
 * Making the ruleset allocates and opens files: parent only. In the child
 * only gipc_landlock_restrict_self() runs, which is async-signal-safe. This
 * file knows nothing of seccomp or GipcProcess; Landlock is reached
 * through its system calls (the C library has no wrappers).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "gipc-elf-deps-private.h"
#include "gipc-error.h"
#include "gipc-landlock-private.h"
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

/* Newer than the installed kernel headers too: networking (ABI 4) and
 * scoping (ABI 6). */
#ifndef LANDLOCK_NET_BIND_TCP
# define LANDLOCK_NET_BIND_TCP (1ULL << 0)
# define LANDLOCK_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
# define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
# define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

#define FS_RIGHTS_ABI1 ((1ULL << 13) - 1)   /* EXECUTE to MAKE_SYM */

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_READ_EXEC (FS_READ | LANDLOCK_ACCESS_FS_EXECUTE)
/* Creating device nodes, and with them ioctls on devices: never granted. */
#define FS_DEVICE_NODES (LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK)
#define FS_DEVICE_RIGHTS (FS_DEVICE_NODES | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* What a rule on a file (not a directory) may grant. */
#define FS_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
                        LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
                        LANDLOCK_ACCESS_FS_IOCTL_DEV)

static int simulated_landlock_abi = -1;

void
gipc_landlock_simulate_abi (int abi)
{
  simulated_landlock_abi = abi;
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
static const char * const system_dirs[] = {
  "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin",
};

/* The system directories that exist and are not beneath another one (on a
 * merged-/usr system /bin is /usr/bin): found once, as a NULL-terminated
 * array. */
const char * const *
gipc_landlock_get_system_dirs (void)
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
  const char * const *dirs_found = gipc_landlock_get_system_dirs ();
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
  interpreter = gipc_elf_deps_inspect (exec_path, files, dirs);
  if (interpreter != NULL)
    {
      g_ptr_array_add (files, g_strdup (interpreter));
      g_free (gipc_elf_deps_inspect (interpreter, files, dirs));
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

/* The ruleset attribute as of Landlock ABI 6 (the installed kernel
 * headers may be older): a kernel reads the fields it knows. */
typedef struct
{
  guint64 handled_access_fs;
  guint64 handled_access_net;   /* ABI 4 */
  guint64 scoped;               /* ABI 6 */
} RulesetAttr;

static gboolean
make_ruleset (Ruleset             *ruleset,
              GipcSandboxFlags     flags,
              GPtrArray           *paths,
              const char          *exec_path,
              const char * const  *envp,
              GError             **error)
{
  RulesetAttr attr;
  gsize attr_size;
  gboolean no_fs = (flags & GIPC_SANDBOX_FLAGS_NO_FILESYSTEM) != 0;
  gboolean read_only = (flags & GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM) != 0;
  guint i;

  /* Every flag makes a domain: being in one is what keeps the child from
   * ptrace and /proc/<pid>/mem of any process outside it (Landlock's own
   * ptrace rule, ABI 1). Without a filesystem flag the domain handles
   * only device creation, which no rule grants. */
  if (no_fs)
    ruleset->handled = landlock_fs_rights (ruleset->abi);
  else if (read_only)
    ruleset->handled = landlock_write_rights (ruleset->abi);
  else
    ruleset->handled = FS_DEVICE_NODES;

  memset (&attr, 0, sizeof attr);
  attr.handled_access_fs = ruleset->handled;
  attr_size = sizeof attr.handled_access_fs;
  if (ruleset->abi >= 4 && (flags & GIPC_SANDBOX_FLAGS_NO_NETWORK))
    {
      /* Also for TCP sockets the child had before: no bind or connect. */
      attr.handled_access_net = LANDLOCK_NET_BIND_TCP | LANDLOCK_NET_CONNECT_TCP;
      attr_size = G_STRUCT_OFFSET (RulesetAttr, scoped);
    }
  if (ruleset->abi >= 6)
    {
      /* No signal to, and no abstract Unix socket of, any process outside
       * the domain. */
      attr.scoped = LANDLOCK_SCOPE_SIGNAL | LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
      attr_size = sizeof attr;
    }

  ruleset->fd = (int) syscall (__NR_landlock_create_ruleset, &attr, attr_size, 0);
  if (ruleset->fd < 0)
    {
      int errsv = errno;

      g_set_error (error, GIPC_ERROR, GIPC_ERROR_SANDBOX_UNAVAILABLE,
                   "landlock_create_ruleset failed: %s", g_strerror (errsv));
      return FALSE;
    }

  for (i = 0; (no_fs || read_only) && paths != NULL && i < paths->len; i++)
    {
      GipcSandboxPath *allowed = g_ptr_array_index (paths, i);
      /* Writable never means device nodes or device ioctls. */
      guint64 access = allowed->writable ? ruleset->handled & ~FS_DEVICE_RIGHTS : FS_READ;

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

int
gipc_landlock_make_ruleset (int                  abi,
                            GipcSandboxFlags     flags,
                            GPtrArray           *paths,
                            const char          *exec_path,
                            const char * const  *envp,
                            GError             **error)
{
  Ruleset ruleset = { -1, abi, 0 };

  if (!make_ruleset (&ruleset, flags, paths, exec_path, envp, error))
    return -1;
  return ruleset.fd;
}

int
gipc_landlock_restrict_self (int ruleset_fd)
{
  if (syscall (__NR_landlock_restrict_self, ruleset_fd, 0) < 0)
    return errno;
  return 0;
}
