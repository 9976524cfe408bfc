/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#if !defined (GIPC_INSIDE) && !defined (GIPC_COMPILATION)
# error "Only <gipc-glib/gipc-glib.h> can be included directly."
#endif

#include <glib.h>

#include "gipc-version-macros.h"

G_BEGIN_DECLS

/**
 * GipcSandboxFlags:
 * @GIPC_SANDBOX_FLAGS_NONE: No sandbox: the child has what the parent has.
 * @GIPC_SANDBOX_FLAGS_NO_NETWORK: No sockets but `AF_UNIX` ones: `socket()`
 *   and `socketpair()` with any other family fail with `EACCES` (seccomp).
 * @GIPC_SANDBOX_FLAGS_NO_FILESYSTEM: No file access by path, except beneath
 *   the paths given to [method@Gipc.Process.sandbox_allow_path] (Landlock).
 *   Files that were open before the sandbox (the channels, stdio) stay
 *   usable. In spawn mode the program, its interpreter and its libraries
 *   (the system directories `/usr` and `/lib*`, and the program's run path)
 *   stay readable and executable.
 * @GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM: Reading and executing
 *   everywhere, writing (creating, removing, renaming, truncating) only
 *   beneath the writable allowed paths (Landlock).
 * @GIPC_SANDBOX_FLAGS_BEST_EFFORT: Apply what the kernel supports instead of
 *   failing [method@Gipc.Process.start] with
 *   %GIPC_ERROR_SANDBOX_UNAVAILABLE; [method@Gipc.Process.get_sandbox_applied]
 *   then tells what the child really got.
 *
 * What a child process may not do, set with
 * [method@Gipc.Process.set_sandbox]. Any flag other than
 * %GIPC_SANDBOX_FLAGS_NONE also sets `PR_SET_NO_NEW_PRIVS` and a seccomp
 * block-list of system calls a worker never needs (ptrace, mount, kexec,
 * bpf, perf_event_open, module loading, keyctl, namespaces, io_uring,
 * reboot, swapon, personality changes, userfaultfd, ...): they fail with
 * `EPERM` (`clone3` with `ENOSYS`, so the C library falls back to `clone`);
 * they never kill the child.
 *
 * This is a seatbelt for a worker that parses untrusted data, not a
 * container: the child still runs as the same user, in the same process,
 * mount and network namespaces (it can signal the user's other processes),
 * on the same kernel (reachable through every call that stays allowed),
 * and it keeps every fd it had before the sandbox (a fork-mode child keeps
 * the parent's fds but the channels it was not given: close what it should
 * not have, or use spawn mode). Untrusted programs need a real container.
 *
 * Since: 1.0
 */
typedef enum /*< flags >*/
{
  GIPC_SANDBOX_FLAGS_NONE                 = 0,
  GIPC_SANDBOX_FLAGS_NO_NETWORK           = 1 << 0,
  GIPC_SANDBOX_FLAGS_NO_FILESYSTEM        = 1 << 1,
  GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM = 1 << 2,
  GIPC_SANDBOX_FLAGS_BEST_EFFORT          = 1 << 3,
} GipcSandboxFlags;

G_END_DECLS
