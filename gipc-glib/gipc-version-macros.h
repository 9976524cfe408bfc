/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#if !defined (GIPC_INSIDE) && !defined (GIPC_COMPILATION)
# error "Only <gipc-glib/gipc-glib.h> can be included directly."
#endif

#include <glib.h>

/* Export the public symbols when building the library (json-glib's scheme);
 * everything else has hidden visibility. */
#if defined (GIPC_COMPILATION) && defined (__GNUC__) && __GNUC__ >= 4
# define _GIPC_EXTERN __attribute__((visibility ("default"))) extern
#else
# define _GIPC_EXTERN extern
#endif

#define GIPC_AVAILABLE_IN_ALL _GIPC_EXTERN
#define GIPC_AVAILABLE_IN_1_0 _GIPC_EXTERN
