/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The sandbox of a child process: the flags and their preparation.
 * gipc_sandbox_prepare() (parent, before fork) decides what a child gets
 * from the flags, the kernel and the allowed paths, asks gipc-seccomp.c for
 * the cached BPF program and gipc-landlock.c for the ruleset, and says what
 * is missing; gipc_sandbox_apply_prepared() (child) sets RLIMIT_AS and
 * PR_SET_NO_NEW_PRIVS and calls the two rooms' async-signal-safe halves.
 *
 * The rooms: gipc-seccomp.c (the block-list and NO_NETWORK), gipc-landlock.c
 * (the filesystem rules), gipc-elf-deps.c (what a spawned program needs to
 * stay readable). This file makes no seccomp or Landlock call itself, and
 * nothing here may run in the child but the apply half.
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

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/filter.h>

#include "gipc-child-setup-private.h"
#include "gipc-error.h"
#include "gipc-landlock-private.h"
#include "gipc-sandbox-private.h"
#include "gipc-seccomp-private.h"

void
gipc_sandbox_simulate_kernel (int      landlock_abi,
                              gboolean seccomp)
{
  gipc_landlock_simulate_abi (landlock_abi);
  gipc_seccomp_simulate_missing (!seccomp);
}

/* ------------------------------------------------------------------ */
/* Preparing, in the parent                                            */

void
gipc_sandbox_path_free (GipcSandboxPath *path)
{
  g_free (path->path);
  g_free (path);
}

/* What the program decided for a fork server's child: the kernel's
 * Landlock ABI it used (0: none) and its cached seccomp program (NULL:
 * none). given == FALSE: decide here. */
typedef struct
{
  gboolean    given;
  int         landlock_abi;
  const void *seccomp_prog;
} Decided;

static gboolean
prepare_full (GipcSandboxPrepared  *prepared,
              GipcSandboxFlags      flags,
              GPtrArray            *paths,
              guint64               memory_limit,
              const char           *exec_path,
              const char * const   *envp,
              const char           *name,
              const Decided        *decided,
              GError              **error)
{
  const GipcSandboxFlags fs_flags = GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                                    GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM;
  gboolean best_effort = (flags & GIPC_SANDBOX_FLAGS_BEST_EFFORT) != 0;
  g_autoptr(GString) missing = g_string_new (NULL);
  g_autoptr(GError) local_error = NULL;
  GipcSandboxPrepared result = GIPC_SANDBOX_PREPARED_INIT;
  int abi;

  g_return_val_if_fail (prepared != NULL, FALSE);

  *prepared = result;
  result.flags = flags;
  result.memory_limit = memory_limit;
  result.active = flags != GIPC_SANDBOX_FLAGS_NONE || memory_limit > 0;
  /* Without an exec, the child keeps the address space it was forked
   * with. */
  result.unmap_shared = exec_path == NULL;

  if (flags == GIPC_SANDBOX_FLAGS_NONE)
    {
      *prepared = result;
      return TRUE;
    }

  /* The block-list (every flag) and NO_NETWORK: seccomp. */
  if (decided->given ? decided->seccomp_prog == NULL : !gipc_sandbox_has_seccomp ())
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

      result.seccomp_prog = decided->given ? decided->seccomp_prog
                            : gipc_seccomp_get_program (no_network, (flags & fs_flags) != 0,
                                                        &local_error);
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

  /* Landlock, for every flag: the filesystem flags, and for all of them
   * the domain that keeps the child from other processes (ptrace,
   * /proc/<pid>/mem; signals and abstract sockets where the kernel scopes
   * them) and from device nodes. */
  {
    const char *which = (flags & GIPC_SANDBOX_FLAGS_NO_FILESYSTEM) ? "NO_FILESYSTEM"
                        : (flags & GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM) ? "READ_ONLY_FILESYSTEM"
                        : "keeping the child from other processes";

    abi = decided->given ? decided->landlock_abi : gipc_sandbox_get_landlock_abi ();
    result.landlock_abi = abi;
    if (abi == 0)
      {
        g_string_append_printf (missing, "%sLandlock (Linux 5.13, enabled in the "
                                "\"lsm=\" list), for %s",
                                missing->len > 0 ? "; " : "", which);
      }
    else
      {
        if (abi < LANDLOCK_ABI_COMPLETE && (flags & fs_flags))
          g_string_append_printf (missing, "%sLandlock ABI %d (Linux 6.2, control of "
                                  "truncate()) for %s; this kernel has ABI %d",
                                  missing->len > 0 ? "; " : "", LANDLOCK_ABI_COMPLETE,
                                  which, abi);

        if (missing->len == 0 || best_effort)
          {
            int ruleset_fd = gipc_landlock_make_ruleset (abi, flags, paths, exec_path,
                                                         envp, &local_error);

            if (ruleset_fd < 0)
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
                result.ruleset_fd = ruleset_fd;
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

/* The system's read-only data, beyond the system directories: what the
 * lazy loaders of a decoder read (found with strace -f -e trace=%file on
 * gdk-pixbuf decoding PNG and JPEG, fontconfig, GLib's time zone and
 * locale code). Everything under /usr is in the system directories: the
 * MIME database (/usr/share/mime), gdk-pixbuf's loaders and their cache,
 * gconv modules, locales, icon themes, fonts, zoneinfo. */
static const char * const system_data_files[] = {
  "/etc/ld.so.cache",        /* the dynamic linker, for dlopen() of loaders */
  "/etc/fonts",              /* fontconfig's configuration */
  "/var/cache/fontconfig",   /* and its cache */
  "/etc/localtime",          /* GLib's local time zone */
  "/etc/timezone",
  "/etc/locale.alias",       /* glibc's locale aliases */
  "/etc/gtk-3.0",            /* GTK's and gdk-pixbuf's settings */
  "/etc/xdg",                /* XDG_CONFIG_DIRS's default (icon theme settings) */
};

void
gipc_sandbox_add_system_data (GPtrArray *paths)
{
  const char * const *dirs = gipc_landlock_get_system_dirs ();
  guint i;

  for (i = 0; dirs[i] != NULL; i++)
    {
      GipcSandboxPath *allowed = g_new0 (GipcSandboxPath, 1);

      allowed->path = g_strdup (dirs[i]);
      g_ptr_array_add (paths, allowed);
    }
  /* Only what exists here: an allowed path that is missing at start would
   * fail it. */
  for (i = 0; i < G_N_ELEMENTS (system_data_files); i++)
    {
      GipcSandboxPath *allowed;

      if (access (system_data_files[i], F_OK) != 0)
        continue;
      allowed = g_new0 (GipcSandboxPath, 1);
      allowed->path = g_strdup (system_data_files[i]);
      g_ptr_array_add (paths, allowed);
    }
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
  const Decided decided = { FALSE, 0, NULL };

  return prepare_full (prepared, flags, paths, memory_limit, exec_path, envp, name,
                       &decided, error);
}

/* ------------------------------------------------------------------ */
/* Fork-server mode: the program decides, the server's child applies   */

void
gipc_sandbox_prepared_to_options (const GipcSandboxPrepared *prepared,
                                  GVariantBuilder           *options)
{
  const struct sock_fprog *prog = prepared->seccomp_prog;

  g_variant_builder_add (options, "{sv}", "landlock-abi",
                         g_variant_new_int32 (prepared->landlock_abi));
  if (prepared->block_list && prog != NULL)
    g_variant_builder_add (options, "{sv}", "seccomp-program",
                           g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, prog->filter,
                                                      (gsize) prog->len * sizeof (struct sock_filter),
                                                      1));
}

gboolean
gipc_sandbox_prepare_from_options (GipcSandboxPrepared  *prepared,
                                   GVariant             *options,
                                   const char           *name,
                                   GError              **error)
{
  /* The program in a form seccomp() takes: it points into @options, which
   * the caller keeps until the child has applied it. One per child (the
   * child has one thread). */
  static struct sock_fprog prog;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func ((GDestroyNotify) gipc_sandbox_path_free);
  g_autoptr(GVariantIter) path_iter = NULL;
  g_autoptr(GVariant) program = NULL;
  Decided decided = { TRUE, 0, NULL };
  guint32 flags = 0;
  guint64 memory_limit = 0;
  const char *path;
  gboolean writable;

  g_variant_lookup (options, "sandbox", "u", &flags);
  g_variant_lookup (options, "memory-limit", "t", &memory_limit);
  g_variant_lookup (options, "landlock-abi", "i", &decided.landlock_abi);
  program = g_variant_lookup_value (options, "seccomp-program", G_VARIANT_TYPE_BYTESTRING);
  if (program != NULL)
    {
      gsize size = 0;
      gconstpointer data = g_variant_get_fixed_array (program, &size, 1);

      if (size == 0 || size % sizeof (struct sock_filter) != 0 ||
          size / sizeof (struct sock_filter) > BPF_MAXINSNS)
        {
          g_set_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED,
                       "Cannot start process “%s”: the seccomp program sent is %" G_GSIZE_FORMAT
                       " bytes long", name, size);
          return FALSE;
        }
      prog.len = (unsigned short) (size / sizeof (struct sock_filter));
      prog.filter = (struct sock_filter *) data;
      decided.seccomp_prog = &prog;
    }
  if (g_variant_lookup (options, "allowed-paths", "a(sb)", &path_iter))
    while (g_variant_iter_next (path_iter, "(&sb)", &path, &writable))
      {
        GipcSandboxPath *allowed = g_new0 (GipcSandboxPath, 1);

        allowed->path = g_strdup (path);
        allowed->writable = writable;
        g_ptr_array_add (paths, allowed);
      }

  return prepare_full (prepared, (GipcSandboxFlags) flags, paths, memory_limit, NULL, NULL,
                       name, &decided, error);
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

  /* A child that runs in the memory it was forked with (fork mode, a fork
   * server's child) keeps no writable view of its parent's shared memory
   * (a toolkit's shared-memory buffers, a shared block not yet sent):
   * neither Landlock nor seccomp looks at what is mapped. Without
   * /proc/self/maps, only a best-effort sandbox goes on. */
  if (prepared->unmap_shared && !gipc_child_setup_unmap_shared_writable () && !best_effort)
    {
      *errsv = errno;
      return GIPC_SANDBOX_STEP_SHARED_MEMORY;
    }

  /* Required by Landlock and seccomp without CAP_SYS_ADMIN, and what keeps
   * a set-user-id program from running with more rights. */
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      *errsv = errno;
      return GIPC_SANDBOX_STEP_NO_NEW_PRIVS;
    }

  if (prepared->ruleset_fd >= 0)
    {
      int landlock_errno = gipc_landlock_restrict_self (prepared->ruleset_fd);

      close (prepared->ruleset_fd);
      if (landlock_errno != 0)
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
      int seccomp_errno = gipc_seccomp_load (prepared->seccomp_prog);

      if (seccomp_errno != 0)
        {
          if (!best_effort)
            {
              *errsv = seccomp_errno;
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
    case GIPC_SANDBOX_STEP_SHARED_MEMORY:
      return "unmapping the parent's writable shared memory (reading /proc/self/maps)";
    case GIPC_SANDBOX_STEP_NONE:
    default:
      return "applying the sandbox";
    }
}