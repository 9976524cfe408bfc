/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Discarding the main contexts a fork-mode child inherited
 * (gipc-orphan.c, the one file that knows GLib's private layout).
 */

typedef enum
{
  GIPC_ORPHAN_PATH_UNKNOWN,  /* not chosen yet */
  GIPC_ORPHAN_PATH_LAYOUT,   /* verified GLib, self-test passed: constant cost */
  GIPC_ORPHAN_PATH_PUBLIC,   /* public calls only: cost grows with the program's
                              * age; refuses while a source is live */
} GipcOrphanPath;

/* Chooses the path once (the self-test runs on the first call; call it in
 * the parent before forking, so the child inherits the answer) and
 * returns it. */
GipcOrphanPath gipc_orphan_choose_path           (void);

/* Orphans every source attached to @context, on the layout path: each
 * source and its callback data get a reference that is never dropped,
 * then the source is destroyed, so no callback, no destroy notifier and no
 * finalizer of it ever runs in this process. The sources are leaked on
 * purpose. On the public path, which cannot keep callback data alive with
 * public calls, a live source is left untouched and FALSE returned (so
 * @context must then never be iterated). Single-threaded child only.
 * Returns TRUE if a residual check then shows nothing but the context's
 * wakeup fd, FALSE if something may be left (a live source on the public
 * path; after a wrap of the 32-bit id counter). @fds/@n_fds (both may be
 * NULL): receives the fds the context still polls (its wakeup; none on
 * FALSE from the public path). */
gboolean       gipc_orphan_sources               (GMainContext *context,
                                                  GPollFD      *fds,
                                                  gint         *n_fds);

/* Discards the main contexts inherited through fork(): every context on the
 * calling thread's thread-default stack is orphaned and popped (and leaked,
 * so popping never finalizes it), then the global default context is
 * orphaned, its pending dispatches are cleared, and its wakeup eventfd
 * (shared with the parent after fork) is replaced by a fresh one. The
 * default context is then empty, thread-default and usable. Returns FALSE
 * if a context may still hold something of the parent's. */
gboolean       gipc_orphan_discard_main_contexts (void);

/* In the parent, once a fork-mode child said it could not discard what it
 * inherited (FALSE above): why, and what to do instead, as the end of an
 * error message. On the public path it counts the live sources of the
 * calling thread's default and thread-default contexts with public calls.
 * Free with g_free(). */
char          *gipc_orphan_describe_refusal      (void);

/* In a program about to fork a copy that must discard its contexts (a
 * fork server): how many live sources of the calling thread's default
 * and thread-default contexts a fork child could not discard (the public
 * path), counted with public calls; 0 on the layout path. */
guint          gipc_orphan_count_undiscardable_sources (void);

#ifdef GIPC_TESTING
/* Tests only (not in the installed library): take the public path even
 * on a verified GLib (resets the choice). */
void           gipc_orphan_force_fallback_for_testing      (gboolean force);
/* Tests only: make the id scan find nothing, as after a wrap. */
void           gipc_orphan_set_simulate_id_wrap_for_testing (gboolean simulate);
#endif

G_END_DECLS
