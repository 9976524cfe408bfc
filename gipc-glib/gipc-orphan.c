/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Orphaning the main contexts a fork-mode child inherited: the one file
 * that knows GLib's private layout, and the only file of the library that
 * reads a private field of GLib.
 *
 * Fork mode runs the target in a copy of the parent, so everything the
 * parent had attached to its main contexts is in the child too: timeouts,
 * idles, fd watches, pending GTask returns, the channels' own sources. None
 * of it may run there. The sources are "orphaned": each one and its
 * callback data get a reference that is never dropped, then the source is
 * destroyed. Destroying drops the context's reference and releases the
 * callback data once, which with the extra references reaches neither the
 * destroy notifier nor the finalizer. The memory is leaked on purpose; the
 * child is short-lived and _exit()s.
 *
 * Two ways to find the sources:
 *
 * - The layout path, at constant cost: a context keeps the sources of each
 *   priority in one list linked through GSource's private prev/next
 *   fields, and a newly attached source goes to the tail of its priority's
 *   list (source_add_to_context() in gmain.c). Used only on the GLib
 *   versions in GIPC_GLIB_LAYOUT_VERIFIED (set by meson from the headers'
 *   version) and only once a self-test on first use agreed.
 *
 * - The public path everywhere else: every id below the context's next one
 *   is looked up with g_main_context_find_source_by_id(): correct, at a
 *   cost that grows with the number of sources the program ever created.
 *   Said once with g_debug().
 *
 * Both then run a residual check with public calls only (prepare, query,
 * check; nothing is dispatched) and refuse (FALSE) if something is left
 * that could run, which happens only after the 32-bit source id counter
 * wrapped.
 *
 * Pinning the callback data reads GSource's callback_data/callback_funcs
 * fields (ABI: custom sources embed struct GSource, so these fields are
 * where every GLib 2.x has them; GSourceCallbackFuncs is public API). No
 * public call can keep a source's callback data alive across
 * g_source_destroy(), so both paths need this one read; the fallback
 * avoids only the version-dependent knowledge (the list links).
 *
 * The default context's wakeup is an eventfd shared with the parent after
 * fork; with every source gone the context polls only that fd (seen
 * through the public g_main_context_query()), which is replaced by a fresh
 * eventfd under the same number if /proc says it is one.
 *
 * May not: run anything of the parent's, be used outside a single-threaded
 * fork child (the self-test excepted, which uses a context of its own).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gipc-orphan-private.h"

#ifndef GIPC_GLIB_LAYOUT_VERIFIED
# define GIPC_GLIB_LAYOUT_VERIFIED 0
#endif

/* Everything orphaned stays referenced from here, so that it is plainly
 * kept (and memory checkers see it as reachable, not lost). */
static GPtrArray *orphans;

static void
keep_orphan (gpointer pointer)
{
  if (orphans == NULL)
    orphans = g_ptr_array_new ();
  g_ptr_array_add (orphans, pointer);
}

/* Keeps @source's callback data alive for good (see the top of the
 * file). */
static void
pin_callback (GSource *source)
{
  if (source->callback_funcs != NULL)
    {
      source->callback_funcs->ref (source->callback_data);
      keep_orphan (source->callback_data);
    }
}

/* Pins @sources (GSource*, attached, not destroyed) and their callback
 * data for good, then destroys them. Pinning comes first: destroying a
 * parent source also destroys its child sources, which must already be
 * pinned by then. */
static void
orphan_source_array (GPtrArray *sources)
{
  guint i;

  for (i = 0; i < sources->len; i++)
    {
      GSource *source = g_ptr_array_index (sources, i);

      keep_orphan (g_source_ref (source));
      pin_callback (source);
    }

  for (i = 0; i < sources->len; i++)
    g_source_destroy (g_ptr_array_index (sources, i));
}

/* ------------------------------------------------------------------ */
/* Which path                                                          */

static GipcOrphanPath chosen_path = GIPC_ORPHAN_PATH_UNKNOWN;

#ifdef GIPC_TESTING
static gboolean forced_fallback;

void
gipc_orphan_force_fallback_for_testing (gboolean force)
{
  forced_fallback = force;
  chosen_path = GIPC_ORPHAN_PATH_UNKNOWN;
}

/* Testing hook: with TRUE, the fallback id scan finds nothing, as after a
 * wrap of the source id counter (which cannot be reached in test time). */
static gboolean simulate_id_wrap;

void
gipc_orphan_set_simulate_id_wrap_for_testing (gboolean simulate)
{
  simulate_id_wrap = simulate;
}
#else
# define forced_fallback FALSE
# define simulate_id_wrap FALSE
#endif

#if GIPC_GLIB_LAYOUT_VERIFIED

/* The sources before @probe in its priority's list, newest first. */
static void
collect_before (GSource   *probe,
                GPtrArray *sources)
{
  GSource *source;

  for (source = probe->prev; source != NULL; source = source->prev)
    {
      if (!g_source_is_destroyed (source))
        g_ptr_array_add (sources, source);
    }
}

static guint self_test_notified;

static gboolean
self_test_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
self_test_notify (gpointer user_data)
{
  self_test_notified++;
}

/* On a context of its own: three sources at one priority, a probe after
 * them; the walk from the probe must find exactly those three, newest
 * first, and nothing of another priority; pinning must keep the destroy
 * notifier from running until the pin is dropped. */
static gboolean
layout_self_test (void)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GPtrArray) found = g_ptr_array_new ();
  GSource *sources[4];
  GSource *probe;
  gboolean ok = TRUE;
  guint i;

  self_test_notified = 0;
  for (i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      sources[i] = g_idle_source_new ();
      /* The last one at another priority: the walk must not see it. */
      g_source_set_priority (sources[i], i < 3 ? 4321 : 4322);
      g_source_set_callback (sources[i], self_test_cb, NULL, self_test_notify);
      g_source_attach (sources[i], context);
    }

  probe = g_idle_source_new ();
  g_source_set_priority (probe, 4321);
  g_source_attach (probe, context);
  collect_before (probe, found);
  g_source_destroy (probe);
  g_source_unref (probe);

  ok = found->len == 3 &&
       g_ptr_array_index (found, 0) == sources[2] &&
       g_ptr_array_index (found, 1) == sources[1] &&
       g_ptr_array_index (found, 2) == sources[0];

  if (ok)
    {
      gpointer data = sources[0]->callback_data;
      GSourceCallbackFuncs *funcs = sources[0]->callback_funcs;

      ok = funcs != NULL;
      if (ok)
        {
          funcs->ref (data);
          g_source_destroy (sources[0]);
          ok = self_test_notified == 0;
          funcs->unref (data);
          ok = ok && self_test_notified == 1;
        }
    }

  for (i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      g_source_destroy (sources[i]);
      g_source_unref (sources[i]);
    }
  g_main_context_unref (context);

  return ok;
}

#endif /* GIPC_GLIB_LAYOUT_VERIFIED */

GipcOrphanPath
gipc_orphan_choose_path (void)
{
  if (chosen_path != GIPC_ORPHAN_PATH_UNKNOWN)
    return chosen_path;

#if GIPC_GLIB_LAYOUT_VERIFIED
  if (!forced_fallback && layout_self_test ())
    {
      chosen_path = GIPC_ORPHAN_PATH_LAYOUT;
      return chosen_path;
    }
  g_debug ("fork mode: the self-test of GLib %u.%u.%u's main context layout "
           "failed%s; inherited sources are found by id, at a cost that grows "
           "with the number of sources this program ever created",
           glib_major_version, glib_minor_version, glib_micro_version,
           forced_fallback ? " (forced for a test)" : "");
#else
  g_debug ("fork mode: GLib %u.%u.%u is not among the versions whose main "
           "context layout gipc-glib was verified on; inherited sources are "
           "found by id, at a cost that grows with the number of sources this "
           "program ever created",
           glib_major_version, glib_minor_version, glib_micro_version);
#endif

  chosen_path = GIPC_ORPHAN_PATH_PUBLIC;
  return chosen_path;
}

/* ------------------------------------------------------------------ */
/* Finding the sources                                                 */

/* Every source of one priority, in O(sources of that priority): a probe
 * attached at @priority is the tail of its list, and walking prev from it
 * visits every source of that priority. Called in the single-threaded
 * child only, so nothing changes the list during the walk. Layout path
 * only: 0 on the public path. */
static guint
orphan_at_priority (GMainContext *context,
                    gint          priority)
{
#if GIPC_GLIB_LAYOUT_VERIFIED
  g_autoptr(GPtrArray) sources = g_ptr_array_new ();
  GSource *probe;

  if (gipc_orphan_choose_path () != GIPC_ORPHAN_PATH_LAYOUT)
    return 0;

  probe = g_idle_source_new ();
  g_source_set_priority (probe, priority);
  g_source_set_static_name (probe, "[gipc-orphan-probe]");
  g_source_attach (probe, context);

  collect_before (probe, sources);

  g_source_destroy (probe);
  g_source_unref (probe);

  orphan_source_array (sources);
  return sources->len;
#else
  return 0;
#endif
}

/* Every id below the context's next one, with public calls only. Costs
 * O(ids ever given out) and misses sources whose id is above next_id after
 * the 32-bit counter wrapped. */
static void
orphan_by_id_scan (GMainContext *context)
{
  g_autoptr(GPtrArray) sources = g_ptr_array_new ();
  GSource *probe;
  guint next_id;
  guint id;

  probe = g_idle_source_new ();
  g_source_set_static_name (probe, "[gipc-orphan-probe]");
  next_id = g_source_attach (probe, context);
  g_source_destroy (probe);
  g_source_unref (probe);

  if (simulate_id_wrap)
    return;

  for (id = 1; id < next_id; id++)
    {
      GSource *source = g_main_context_find_source_by_id (context, id);

      if (source != NULL && !g_source_is_destroyed (source))
        g_ptr_array_add (sources, source);
    }

  orphan_source_array (sources);
}

static int
count_polled_fds (GMainContext *context,
                  gint          max_priority)
{
  GPollFD fds[1];
  gint timeout = -1;

  return g_main_context_query (context, max_priority, &timeout, fds, 0);
}

/* The lowest priority at which @context polls an fd besides its own wakeup
 * (whose poll record has priority 0), by bisection over g_main_context_query()
 * with a priority bound. Only after a prepare. */
static gint
find_fd_priority (GMainContext *context)
{
  gint64 lo = G_MININT;
  gint64 hi = G_MAXINT;

  while (lo < hi)
    {
      gint mid = (gint) (lo + (hi - lo) / 2);
      int extra = count_polled_fds (context, mid) - (mid >= 0 ? 1 : 0);

      if (extra > 0)
        hi = mid;
      else
        lo = (gint64) mid + 1;
    }

  return (gint) lo;
}

/* The priorities GLib, GIO and GTK use; other priorities are found by the
 * residual check below. */
static const gint common_priorities[] = {
  G_PRIORITY_HIGH,
  G_PRIORITY_DEFAULT,           /* GDK_PRIORITY_EVENTS */
  G_PRIORITY_HIGH_IDLE,
  G_PRIORITY_HIGH_IDLE + 10,    /* GTK_PRIORITY_RESIZE */
  G_PRIORITY_HIGH_IDLE + 20,    /* GDK_PRIORITY_REDRAW */
  G_PRIORITY_DEFAULT_IDLE,
  G_PRIORITY_LOW,
};

/* One prepare/query/check cycle that dispatches nothing. Returns 1 if a
 * source is ready (*priority set), 2 if an fd besides the wakeup is polled
 * (*priority set), 3 if something has a timeout (priority unknown), 0 if
 * only the wakeup fd is left. @fds receives what is polled. */
static int
residual_check (GMainContext *context,
                gint         *priority,
                GPollFD      *fds,
                gint         *n_fds_inout)
{
  gint max_priority = G_MAXINT;
  gint timeout = -1;
  gboolean ready;
  gint n_fds;
  int result = 0;
  gint i;

  ready = g_main_context_prepare (context, &max_priority);
  n_fds = g_main_context_query (context, G_MAXINT, &timeout, fds, *n_fds_inout);

  if (ready)
    {
      *priority = max_priority;
      result = 1;
    }
  else if (n_fds > 1)
    {
      *priority = find_fd_priority (context);
      result = 2;
    }
  else if (timeout >= 0)
    {
      result = 3;
    }

  /* Close the cycle without polling: nothing runs. */
  n_fds = MIN (n_fds, *n_fds_inout);
  for (i = 0; i < n_fds; i++)
    fds[i].revents = 0;
  g_main_context_check (context, G_MAXINT, fds, n_fds);
  *n_fds_inout = n_fds;

  return result;
}

/* See gipc-orphan-private.h. */
gboolean
gipc_orphan_sources (GMainContext *context,
                     GPollFD      *fds,
                     gint         *n_fds)
{
  gboolean scanned = FALSE;
  GPollFD local_fds[16];
  gint local_n_fds = G_N_ELEMENTS (local_fds);
  gboolean verified = FALSE;
  guint round;
  guint i;

  g_return_val_if_fail (context != NULL, FALSE);

  if (fds == NULL)
    {
      fds = local_fds;
      n_fds = &local_n_fds;
    }

  if (gipc_orphan_choose_path () == GIPC_ORPHAN_PATH_PUBLIC)
    {
      orphan_by_id_scan (context);
      scanned = TRUE;
    }
  else
    {
      for (i = 0; i < G_N_ELEMENTS (common_priorities); i++)
        orphan_at_priority (context, common_priorities[i]);
    }

  /* A context owned by a thread of the parent (gone in the child) can
   * never be iterated here: none of its sources can run. */
  if (!g_main_context_acquire (context))
    {
      *n_fds = 0;
      return TRUE;
    }

  for (round = 0; round < 64; round++)
    {
      gint n = *n_fds;
      gint priority = 0;
      int found = residual_check (context, &priority, fds, &n);

      *n_fds = n;
      if (found == 0)
        {
          verified = TRUE;
          break;
        }

      if ((found == 1 || found == 2) && orphan_at_priority (context, priority) > 0)
        continue;

      /* A timer (or something the walk cannot find) at a priority the
       * check cannot tell: look every id up once. */
      if (scanned)
        break;
      orphan_by_id_scan (context);
      scanned = TRUE;
    }

  g_main_context_release (context);
  return verified;
}

/* ------------------------------------------------------------------ */
/* The wakeup                                                          */

static gboolean
fd_is_eventfd (int fd)
{
  char path[64];
  char target[64];
  ssize_t len;

  g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  len = readlink (path, target, sizeof target - 1);
  if (len < 0)
    return FALSE;
  target[len] = '\0';

  return strcmp (target, "anon_inode:[eventfd]") == 0;
}

/* After fork, the default context's GWakeup is the same open eventfd as the
 * parent's: a wakeup of either would be consumed by the other. With every
 * source gone, the context polls only its wakeup fd; give it a fresh
 * eventfd under the same number. */
static void
replace_wakeup_fd (const GPollFD *fds,
                   guint          n_fds)
{
  int wakeup_fd = -1;
  int fresh;
  guint i;

  for (i = 0; i < n_fds; i++)
    {
      if (fds[i].fd < 0 || !fd_is_eventfd (fds[i].fd))
        continue;
      if (wakeup_fd != -1)
        {
          g_debug ("child setup: more than one eventfd polled by the default "
                   "context; its wakeup is left shared with the parent");
          return;
        }
      wakeup_fd = fds[i].fd;
    }

  if (wakeup_fd == -1)
    return;

  fresh = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fresh < 0)
    {
      g_debug ("child setup: eventfd() failed: %s", g_strerror (errno));
      return;
    }

  if (dup3 (fresh, wakeup_fd, O_CLOEXEC) < 0)
    g_debug ("child setup: dup3() failed: %s", g_strerror (errno));
  close (fresh);
}

/* ------------------------------------------------------------------ */

gboolean
gipc_orphan_discard_main_contexts (void)
{
  GMainContext *context;
  GPollFD fds[16];
  gint n_fds = G_N_ELEMENTS (fds);
  gboolean verified = TRUE;

  /* The thread-default stack of the forking thread: a parent may start a
   * process from a callback of a context pushed as thread-default. Each is
   * orphaned, then popped; the extra reference keeps popping from
   * finalizing it. (A default context pushed on top of others hides those
   * below it: they stay on the stack, orphaned of nothing, and are simply
   * never used by the child.) */
  while ((context = g_main_context_get_thread_default ()) != NULL)
    {
      verified &= gipc_orphan_sources (context, NULL, NULL);
      keep_orphan (g_main_context_ref (context));
      g_main_context_pop_thread_default (context);
    }

  /* The residual check of the default context also clears the sources a
   * fork from inside a dispatch left in its pending list, and shows what
   * it polls: its wakeup eventfd, shared with the parent after fork, is
   * replaced by a fresh one. */
  context = g_main_context_default ();
  verified &= gipc_orphan_sources (context, fds, &n_fds);
  replace_wakeup_fd (fds, n_fds);

  return verified;
}
