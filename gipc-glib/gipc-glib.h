/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#define GIPC_INSIDE

#include <gipc-glib/gipc-version.h>
#include <gipc-glib/gipc-version-macros.h>
#include <gipc-glib/gipc-error.h>
#include <gipc-glib/gipc-channel.h>
#include <gipc-glib/gipc-sandbox.h>
#include <gipc-glib/gipc-process.h>
#include <gipc-glib/gipc-fork-server.h>
#include <gipc-glib/gipc-shared-memory.h>
#include <gipc-glib/gipc-pool.h>
#include <gipc-glib/gipc-enum-types.h>

#undef GIPC_INSIDE
