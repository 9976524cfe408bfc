/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include "gipc-error.h"

/**
 * gipc_error_quark:
 *
 * The quark of the gipc-glib error domain, [error@Gipc.Error]; C code uses
 * the %GIPC_ERROR macro.
 *
 * Returns: the quark of `gipc-error-quark`
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (gipc-error-quark, gipc_error)
