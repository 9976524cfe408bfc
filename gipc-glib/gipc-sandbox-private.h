/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <glib.h>

#include "gipc-sandbox.h"

G_BEGIN_DECLS

/*
 * The sandbox of a child process, in two halves that know nothing of
 * GipcProcess:
 *
 * - gipc_sandbox_prepare(), in the parent before fork(): probes the kernel,
 *   builds (once per flag set, cached) the seccomp BPF program with
 *   libseccomp, creates the Landlock ruleset with its rules, and decides
 *   what the child will get. Everything that allocates happens here.
 * - gipc_sandbox_apply_prepared(), in the child (fork mode before the
 *   target; spawn mode between vfork() and exec(); later the fork server):
 *   only async-signal-safe system calls (setrlimit, prctl,
 *   landlock_restrict_self, seccomp) on what was prepared.
 *
 * The parent then calls gipc_sandbox_prepared_clear() (closes the ruleset
 * fd). The child closes its copy of the ruleset fd after restricting
 * itself.
 */

/* A path given to gipc_process_sandbox_allow_path(). */
typedef struct
{
  char     *path;
  gboolean  writable;
} GipcSandboxPath;

void gipc_sandbox_path_free (GipcSandboxPath *path);

/* Appends the system's read-only data (GipcSandboxPath*, not writable):
 * the system directories and what lazy loaders read beyond them (the
 * dynamic linker's cache, fontconfig, time zone, locale aliases), those
 * that exist now. For gipc_process_sandbox_allow_system_data(). */
void gipc_sandbox_add_system_data (GPtrArray *paths);

typedef struct
{
  GipcSandboxFlags  flags;         /* as requested, BEST_EFFORT included */
  GipcSandboxFlags  applied;       /* what the child gets if every step works */
  gboolean          active;        /* anything at all to do in the child */
  gboolean          block_list;    /* the seccomp program is to be loaded */
  guint64           memory_limit;  /* RLIMIT_AS in bytes, 0: none */
  int               ruleset_fd;    /* Landlock, -1 if none */
  const void       *seccomp_prog;  /* struct sock_fprog *, cached; NULL if none */
  int               landlock_abi;  /* the ABI the ruleset was made for, 0: none */
  gboolean          unmap_shared;  /* the child keeps its parent's memory (fork mode, a
                                    * fork server's child): its writable shared mappings go */
} GipcSandboxPrepared;

#define GIPC_SANDBOX_PREPARED_INIT { 0, 0, FALSE, FALSE, 0, -1, NULL, 0, FALSE }

/* The step of gipc_sandbox_apply_prepared() that failed. */
typedef enum
{
  GIPC_SANDBOX_STEP_NONE,
  GIPC_SANDBOX_STEP_MEMORY_LIMIT,
  GIPC_SANDBOX_STEP_NO_NEW_PRIVS,
  GIPC_SANDBOX_STEP_LANDLOCK,
  GIPC_SANDBOX_STEP_SECCOMP,
  GIPC_SANDBOX_STEP_SHARED_MEMORY,  /* the parent's writable shared mappings (unmap_shared) */
} GipcSandboxStep;

/* In the parent, before fork(). @paths: GipcSandboxPath*, may be NULL.
 * @exec_path (spawn mode, else NULL): the resolved program, which with its
 * interpreter and libraries stays readable and executable; @envp: the
 * child's environment (its LD_LIBRARY_PATH and LD_PRELOAD are honoured).
 * Fails with GIPC_ERROR_SANDBOX_UNAVAILABLE (naming what is missing) unless
 * @flags has BEST_EFFORT, or GIPC_ERROR_SPAWN_FAILED if an allowed path
 * cannot be opened. @name is the process's, for messages. On failure
 * @prepared holds nothing to clear. */
gboolean        gipc_sandbox_prepare         (GipcSandboxPrepared     *prepared,
                                              GipcSandboxFlags         flags,
                                              GPtrArray               *paths,
                                              guint64                  memory_limit,
                                              const char              *exec_path,
                                              const char * const      *envp,
                                              const char              *name,
                                              GError                 **error);

/* Fork-server mode. In the program, after gipc_sandbox_prepare(): adds
 * what it decided (the Landlock ABI, and the seccomp program it built once
 * and keeps) to the request's options ("landlock-abi", "seccomp-program"),
 * next to "sandbox", "memory-limit" and "allowed-paths". */
void            gipc_sandbox_prepared_to_options  (const GipcSandboxPrepared *prepared,
                                                   GVariantBuilder           *options);

/* In the fork server's child (one thread; it may allocate): prepares from
 * the request's @options, with the program's decisions: no libseccomp call,
 * no kernel probe; the ruleset is made here (it needs the allowed paths
 * opened). The seccomp program points into @options: keep it until
 * gipc_sandbox_apply_prepared() has run. */
gboolean        gipc_sandbox_prepare_from_options (GipcSandboxPrepared  *prepared,
                                                   GVariant             *options,
                                                   const char           *name,
                                                   GError              **error);

/* In the child. Async-signal-safe: no allocation, no lock. Returns
 * GIPC_SANDBOX_STEP_NONE on success with *@applied set to what the child
 * now has (less than prepared->applied only with BEST_EFFORT), or the step
 * that failed with *@errsv set. Closes the child's copy of the ruleset fd. */
GipcSandboxStep gipc_sandbox_apply_prepared  (const GipcSandboxPrepared *prepared,
                                              GipcSandboxFlags        *applied,
                                              int                     *errsv);

/* In the parent after fork() (or after a failed start): closes the ruleset
 * fd. Idempotent. */
void            gipc_sandbox_prepared_clear  (GipcSandboxPrepared     *prepared);

/* What a step does, for error messages. */
const char     *gipc_sandbox_step_describe   (GipcSandboxStep          step);

/* The Landlock ABI of the running kernel (0: none), and whether seccomp
 * filters can be loaded (FALSE also if built without libseccomp). Probed
 * once. */
int             gipc_sandbox_get_landlock_abi (void);
gboolean        gipc_sandbox_has_seccomp      (void);

/* Testing: pretend the kernel has Landlock ABI @landlock_abi (-1: the real
 * one) and seccomp only if @seccomp. */
void            gipc_sandbox_simulate_kernel  (int                     landlock_abi,
                                               gboolean                seccomp);

G_END_DECLS
