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
 * GIPC_ERROR:
 *
 * The error domain of gipc-glib. Errors in this domain are from the
 * [error@Gipc.Error] enumeration.
 *
 * Cancellation is reported as %G_IO_ERROR_CANCELLED and timeouts as
 * %G_IO_ERROR_TIMED_OUT, in GIO's domain.
 *
 * Since: 1.0
 */
#define GIPC_ERROR (gipc_error_quark ())

/**
 * GipcError:
 * @GIPC_ERROR_FAILED: Anything else; the message says what and why.
 * @GIPC_ERROR_CLOSED: The channel was closed by its owner (or handed to a
 *   child process) before the operation.
 * @GIPC_ERROR_LOCKED: The channel is busy: [method@Gipc.Channel.close] while
 *   an operation is in progress on that end, a receive while the channel is
 *   listening, or a sync call while async calls of the same direction are
 *   pending.
 * @GIPC_ERROR_PEER_CLOSED: The other side is gone: a receive at the end of
 *   the stream (every writer closed), or a send whose reader is closed.
 * @GIPC_ERROR_MESSAGE_TOO_LARGE: A frame header announced more than
 *   [property@Gipc.Channel:max-message-size] bytes; the receiving direction
 *   of the channel is unusable afterwards.
 * @GIPC_ERROR_PROTOCOL: A corrupt or truncated frame, or a payload that does
 *   not decode (for example not a serialized `v` GVariant).
 * @GIPC_ERROR_NOT_STARTED: The process has not been started.
 * @GIPC_ERROR_ALREADY_STARTED: The process was started already.
 * @GIPC_ERROR_SPAWN_FAILED: Forking, executing or setting up the child failed.
 * @GIPC_ERROR_SANDBOX_UNAVAILABLE: The kernel (or the build) lacks what the
 *   requested sandbox needs (see [method@Gipc.Process.set_sandbox]); the
 *   message names what is missing. Since: 1.0
 * @GIPC_ERROR_WORKER_DIED: A [class@Gipc.Pool]'s worker died (exited or was
 *   killed by a signal) while it ran the task; the message names the pid,
 *   the exit code or signal, and whether a core was dumped. Since: 1.0
 * @GIPC_ERROR_POOL_BROKEN: A [class@Gipc.Pool]'s workers died faster than
 *   its [property@Gipc.Pool:restart-intensity] allows; the pool starts no
 *   worker until [method@Gipc.Pool.reset]. Since: 1.0
 *
 * Error codes of the `GIPC_ERROR` domain (`gipc-error-quark`).
 *
 * Since: 1.0
 */
typedef enum
{
  GIPC_ERROR_FAILED,
  GIPC_ERROR_CLOSED,
  GIPC_ERROR_LOCKED,
  GIPC_ERROR_PEER_CLOSED,
  GIPC_ERROR_MESSAGE_TOO_LARGE,
  GIPC_ERROR_PROTOCOL,
  GIPC_ERROR_NOT_STARTED,
  GIPC_ERROR_ALREADY_STARTED,
  GIPC_ERROR_SPAWN_FAILED,
  GIPC_ERROR_SANDBOX_UNAVAILABLE,
  GIPC_ERROR_WORKER_DIED,
  GIPC_ERROR_POOL_BROKEN,
} GipcError;

GIPC_AVAILABLE_IN_ALL
GQuark gipc_error_quark (void);

G_END_DECLS
