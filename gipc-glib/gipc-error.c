/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include "gipc-error.h"

G_DEFINE_QUARK (gipc-error-quark, gipc_error)
