/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The seccomp room of the sandbox (gipc-seccomp.c): see there. */

/* Testing: gipc_sandbox_has_seccomp() returns FALSE if @missing. */
void        gipc_seccomp_simulate_missing (gboolean   missing);

/* In the parent: the BPF program (a struct sock_fprog *) for a child
 * with or without NO_NETWORK, with or without the metadata calls (chmod,
 * chown, utimes, xattrs: under the filesystem flags), built on first use and kept for the life of
 * the program (thread-safe). NULL with @error set if it cannot be built. */
const void *gipc_seccomp_get_program      (gboolean   no_network,
                                           gboolean   no_metadata,
                                           GError   **error);

/* In the child, async-signal-safe: loads @program with seccomp(). Returns
 * 0 or the errno. PR_SET_NO_NEW_PRIVS must be set already. */
int         gipc_seccomp_load             (const void *program);

G_END_DECLS
