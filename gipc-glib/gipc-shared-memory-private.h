/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <fcntl.h>

#include <glib.h>

#include "gipc-shared-memory.h"

G_BEGIN_DECLS

/*
 * Sealed memfds for the channel's large messages. The sender turns a GBytes
 * into an fd of a memfd that holds exactly its bytes and can never change
 * again (gipc_shared_memory_export); the receiver checks the seals and the
 * size and maps it read-only (gipc_shared_memory_import). Both are safe to
 * call from any thread, and in a forked child.
 */

/* Every seal a memfd must carry to be accepted as a message: no write, no
 * resize, no change of the seals themselves. */
#define GIPC_SHARED_MEMORY_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* Returns a new close-on-exec fd (the caller closes it) of a memfd that
 * carries GIPC_SHARED_MEMORY_SEALS and holds exactly the bytes of @bytes
 * (its size is g_bytes_get_size (@bytes)), or -1 with @error set
 * (GIPC_ERROR_FAILED).
 *
 * A GBytes for which gipc_shared_memory_is_shared() is TRUE is not copied:
 * the first export seals its memfd in place (the caller's writable mapping
 * becomes read-only; writing through the pointer that
 * gipc_shared_bytes_new() gave then faults), every later export returns a
 * dup of the same sealed memfd, so the same GBytes can be sent many times
 * and on many channels. Any other GBytes (also a slice of a shared one) is
 * copied into a new sealed memfd: one copy, by the kernel. */
/* A new memfd of @size bytes (zeros), close-on-exec, that can be sealed
 * (and, on kernels that know the flag, not executable). */
int      gipc_shared_memory_create_fd (gsize     size,
                                       GError  **error);

int      gipc_shared_memory_export    (GBytes   *bytes,
                                       GError  **error);

/* Seals @bytes in place now if it is a shared GBytes that is not sealed
 * yet (as the first gipc_shared_memory_export() would; no fd is made);
 * does nothing for any other GBytes. FALSE with @error set
 * (GIPC_ERROR_FAILED) if it cannot be sealed. */
gboolean gipc_shared_memory_seal      (GBytes   *bytes,
                                       GError  **error);

/* At most this many imported GBytes keep their memfd open (and fewer, an
 * eighth of the soft RLIMIT_NOFILE, under a lower limit). */
#define GIPC_SHARED_MEMORY_MAX_KEPT_FDS 256

/* Takes ownership of @fd and closes it on every path. Checks that @fd is a
 * memfd that carries all of GIPC_SHARED_MEMORY_SEALS and whose size is
 * @size, else fails with GIPC_ERROR_PROTOCOL (a peer sent something it must
 * not); then maps it read-only and returns a GBytes of @size bytes that
 * unmaps it when freed. The GBytes is shared
 * (gipc_shared_memory_is_shared()). While fewer than the budget above of
 * imported GBytes live, it keeps @fd open, and is sent on without a copy;
 * past it, @fd is closed at once, and sending it on copies it once into a
 * new sealed memfd: received messages that a program keeps cannot use up
 * its fds. A mapping that cannot be made (address space exhausted) fails
 * with GIPC_ERROR_FAILED. @size 0 gives an empty GBytes. */
GBytes  *gipc_shared_memory_import    (int       fd,
                                       gsize     size,
                                       GError  **error);

/* TRUE if @bytes is a GBytes made by gipc_shared_bytes_new() (or
 * gipc_shared_bytes_new_from_data(), or another reference to one) or by
 * gipc_shared_memory_import(), which gipc_shared_memory_export() sends
 * without copying. FALSE for every other
 * GBytes (also slices). Imported GBytes are shared. */
gboolean gipc_shared_memory_is_shared (GBytes   *bytes);

G_END_DECLS
