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
 * @GIPC_SANDBOX_FLAGS_NO_NETWORK: No new socket at all: `socket()` fails
 *   with `EACCES` for every family, `AF_UNIX` included, so the child
 *   reaches no named or abstract Unix socket either (the session bus,
 *   ssh-agent, docker.sock), whatever its filesystem flags;
 *   `socketpair()` still works for `AF_UNIX` (seccomp). TCP sockets it
 *   already had can neither bind nor connect (Landlock ABI 4).
 * @GIPC_SANDBOX_FLAGS_NO_FILESYSTEM: No file access by path, except beneath
 *   the paths given to [method@Gipc.Process.sandbox_allow_path] and
 *   [method@Gipc.Process.sandbox_allow_system_data] (Landlock), and no
 *   change of file metadata anywhere (seccomp). Files that were open before
 *   the sandbox (the channels, stdio) stay usable. In spawn mode the
 *   program, its interpreter and its libraries (the system directories
 *   `/usr` and `/lib*`, and the program's run path) stay readable and
 *   executable.
 * @GIPC_SANDBOX_FLAGS_READ_ONLY_FILESYSTEM: Reading and executing
 *   everywhere, writing (creating, removing, renaming, truncating) only
 *   beneath the writable allowed paths (Landlock), and no change of file
 *   metadata anywhere (seccomp).
 * @GIPC_SANDBOX_FLAGS_BEST_EFFORT: Apply what the kernel supports instead of
 *   failing [method@Gipc.Process.start] with
 *   %GIPC_ERROR_SANDBOX_UNAVAILABLE; [method@Gipc.Process.get_sandbox_applied]
 *   then tells what the child really got.
 *
 * What a child process may not do, set with
 * [method@Gipc.Process.set_sandbox]. Any flag other than
 * %GIPC_SANDBOX_FLAGS_NONE also sets `PR_SET_NO_NEW_PRIVS`, a Landlock
 * domain (the child cannot ptrace or open `/proc/<pid>/mem` of any process
 * outside it; from Landlock ABI 6 it can neither signal them nor connect
 * to their abstract Unix sockets; it creates no device node), and a
 * seccomp block-list of system calls a worker never needs (ptrace,
 * process_vm_*, mount, kexec, bpf, perf_event_open, module loading,
 * keyctl, namespaces, io_uring, userfaultfd, System V IPC, the terminal
 * injection ioctls `TIOCSTI` and `TIOCLINUX`, `mknod` of character and
 * block devices, reboot, swapon, personality changes, ...): they fail with
 * `EPERM` (`clone3` with `ENOSYS`, so the C library falls back to `clone`);
 * they never kill the child. Under the filesystem flags, chmod, chown,
 * utimes and the xattr calls fail with `EPERM` everywhere, in the writable
 * allowed paths too: seccomp sees no paths, so the sandbox is stricter
 * than "outside the writable paths".
 *
 * This is a seatbelt for a worker that parses untrusted data, not a
 * container: the child still runs as the same user, in the same mount and
 * network namespaces, on the same kernel (reachable through every call
 * that stays allowed), it keeps every fd it had before the sandbox (a
 * fork-mode child keeps the parent's fds but the channels it was not
 * given: close what it should not have, or use spawn mode), and without
 * %GIPC_SANDBOX_FLAGS_NO_NETWORK it can connect to named Unix sockets it
 * can reach by path (Landlock does not control connect()). Untrusted
 * programs need a real container. The docs page "Sandboxing a decoder"
 * has the details and a recipe.
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
