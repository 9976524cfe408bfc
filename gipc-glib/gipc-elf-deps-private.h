/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The program-dependency reader of the sandbox (gipc-elf-deps.c): see
 * there. Parent only. */

/* What exec and the dynamic loader read for @path: for a script, its
 * interpreter (returned, newly allocated); for an ELF program, its
 * interpreter (PT_INTERP, appended to @files) and run path (appended to
 * @dirs), as newly allocated strings. One open of the file; NULL and
 * nothing appended for what is neither. */
char *gipc_elf_deps_inspect (const char *path,
                             GPtrArray  *files,
                             GPtrArray  *dirs);

G_END_DECLS
