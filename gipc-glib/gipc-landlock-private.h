/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <glib.h>

#include "gipc-sandbox.h"

G_BEGIN_DECLS

/* The Landlock room of the sandbox (gipc-landlock.c): see there. */

/* The Landlock ABI that controls every way of writing a file: ABI 3
 * (Linux 6.2) added truncate(); before it, a READ_ONLY_FILESYSTEM child
 * could still truncate any file it can name. */
#define LANDLOCK_ABI_COMPLETE 3

/* Testing: gipc_sandbox_get_landlock_abi() returns @abi (-1: the real one). */
void gipc_landlock_simulate_abi   (int                  abi);

/* In the parent: the ruleset of a child under @flags (any flag: every flag
 * makes a domain, with signal and abstract-socket scoping from ABI 6, no
 * device creation, and under NO_NETWORK no TCP bind or connect from ABI 4),
 * for a kernel with Landlock ABI @abi (> 0): under the filesystem flags the
 * allowed @paths
 * (GipcSandboxPath*, may be NULL) and, in spawn mode (@exec_path not NULL),
 * the program, its interpreter and its libraries. Returns the ruleset fd
 * (close-on-exec), or -1 with @error set: GIPC_ERROR_SANDBOX_UNAVAILABLE if
 * the kernel refuses the ruleset, GIPC_ERROR_SPAWN_FAILED if an allowed path
 * cannot be opened. */
int  gipc_landlock_make_ruleset   (int                  abi,
                                   GipcSandboxFlags     flags,
                                   GPtrArray           *paths,
                                   const char          *exec_path,
                                   const char * const  *envp,
                                   GError             **error);

/* The system directories (/usr, and /lib*, /bin, /sbin where they are
 * not beneath /usr) that exist: found once, NULL-terminated. */
const char * const *gipc_landlock_get_system_dirs (void);

/* In the child, async-signal-safe: landlock_restrict_self(). Returns 0 or
 * the errno. Does not close @ruleset_fd. */
int  gipc_landlock_restrict_self  (int                  ruleset_fd);

G_END_DECLS
