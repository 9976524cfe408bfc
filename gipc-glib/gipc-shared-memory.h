/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#if !defined (GIPC_INSIDE) && !defined (GIPC_COMPILATION)
# error "Only <gipc-glib/gipc-glib.h> can be included directly."
#endif

#include <glib.h>

#include "gipc-version-macros.h"

G_BEGIN_DECLS

GIPC_AVAILABLE_IN_1_0
GBytes *gipc_shared_bytes_new           (gsize          size,
                                         gpointer      *data,
                                         GError       **error) G_GNUC_WARN_UNUSED_RESULT;
GIPC_AVAILABLE_IN_1_0
GBytes *gipc_shared_bytes_new_from_data (gconstpointer  data,
                                         gsize          size,
                                         GError       **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
