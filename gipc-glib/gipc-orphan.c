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
 * of it may run there: no callback and no destroy notifier of an
 * inherited source, no finalizer of the parent's objects.
 *
 * Two paths, chosen once in the parent (gipc_orphan_choose_path()):
 *
 * - The layout path, on the GLib series in GIPC_GLIB_LAYOUT_VERIFIED (set
 *   by meson from the headers' version: verified on 2.74 only) and only
 *   once a self-test on first use agreed. It reads these private fields of
 *   struct _GSource: prev (a context keeps the sources of each priority in
 *   one list linked through prev/next, and a newly attached source goes to
 *   the tail of its priority's list: source_add_to_context() in gmain.c),
 *   callback_data and callback_funcs (GSourceCallbackFuncs itself is public
 *   API). It finds the sources at constant cost and orphans them: each
 *   source and its callback data get a reference that is never dropped,
 *   then the source is destroyed. Destroying drops the context's reference
 *   and releases the callback data once, which with the extra references
 *   reaches neither the destroy notifier nor the finalizer. The memory is
 *   leaked on purpose; the child is short-lived and _exit()s. If its
 *   residual check finds something the walk cannot place, it looks every
 *   id up once (g_main_context_find_source_by_id()) and orphans what it
 *   finds the same way.
 *
 * - The public path everywhere else reads no field of GSource at all: only
 *   functions of gmain.h. Every id below the context's next one is looked
 *   up with g_main_context_find_source_by_id() (a cost that grows with the
 *   number of sources the program ever created). No public call keeps a
 *   source's callback data alive across g_source_destroy() (which, like
 *   g_source_set_callback(), releases it and so runs its GDestroyNotify),
 *   so this path cannot orphan: where it finds a live source it touches
 *   nothing and refuses (FALSE), and fork mode's start fails in the parent
 *   with gipc_orphan_describe_refusal()'s text. A context without live
 *   sources (a program that only blocks) is fine. Said once with g_debug().
 *   The compiler holds it to this: below the "public path" line every
 *   field name of struct _GSource is poisoned (#pragma GCC poison), so a
 *   field read there does not build.
 *
 * Both then run a residual check with public calls only (prepare, query,
 * check; nothing is dispatched) and refuse (FALSE) if something is left
 * that could run, which happens only after the 32-bit source id counter
 * wrapped.
 *
 * The default context's wakeup is an eventfd shared with the parent after
 * fork; with every source gone the context polls only that fd (seen
 * through the public g_main_context_query()), which is replaced by a fresh
 * eventfd under the same number if /proc says it is one.
 *
 * May not: run anything of the parent's, be used outside a single-threaded
 * fork child (the self-test and gipc_orphan_describe_refusal() excepted:
 * the first uses a context of its own, the second only looks ids up).
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

/* Testing hook: with TRUE, the id scan finds nothing, as after a wrap of
 * the source id counter (which cannot be reached in test time). */
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

/* ------------------------------------------------------------------ */
/* The layout path: the only code here that reads GSource's fields     */

#if GIPC_GLIB_LAYOUT_VERIFIED

/* Keeps @source's callback data alive for good (see the top of the
 * file). Reads callback_funcs and callback_data. */
static void
layout_pin_callback (GSource *source)
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
 * pinned by then. Layout path only. */
static void
layout_orphan_array (GPtrArray *sources)
{
  guint i;

  for (i = 0; i < sources->len; i++)
    {
      GSource *source = g_ptr_array_index (sources, i);

      keep_orphan (g_source_ref (source));
      layout_pin_callback (source);
    }

  for (i = 0; i < sources->len; i++)
    g_source_destroy (g_ptr_array_index (sources, i));
}

/* The sources before @probe in its priority's list, newest first. Reads
 * prev. */
static void
layout_collect_before (GSource   *probe,
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
  layout_collect_before (probe, found);
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

/* Every source of one priority, in O(sources of that priority): a probe
 * attached at @priority is the tail of its list, and walking prev from it
 * visits every source of that priority. Called in the single-threaded
 * child only, so nothing changes the list during the walk. Returns how
 * many were orphaned. */
static guint
layout_orphan_at_priority (GMainContext *context,
                           gint          priority)
{
  g_autoptr(GPtrArray) sources = g_ptr_array_new ();
  GSource *probe;

  probe = g_idle_source_new ();
  g_source_set_priority (probe, priority);
  g_source_set_static_name (probe, "[gipc-orphan-probe]");
  g_source_attach (probe, context);

  layout_collect_before (probe, sources);

  g_source_destroy (probe);
  g_source_unref (probe);

  layout_orphan_array (sources);
  return sources->len;
}

#else /* !GIPC_GLIB_LAYOUT_VERIFIED */

/* Never called: the layout path is never chosen on an unverified GLib. */
static void
layout_orphan_array (GPtrArray *sources)
{
  g_assert_not_reached ();
}

static guint
layout_orphan_at_priority (GMainContext *context,
                           gint          priority)
{
  g_assert_not_reached ();
  return 0;
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
           "failed%s; only public calls are used: inherited sources are found "
           "by id, at a cost that grows with the number of sources this "
           "program ever created, and fork mode refuses to start while this "
           "program's main contexts hold a source",
           glib_major_version, glib_minor_version, glib_micro_version,
           forced_fallback ? " (forced for a test)" : "");
#else
  g_debug ("fork mode: GLib %u.%u.%u is not among the versions whose main "
           "context layout gipc-glib was verified on; only public calls are "
           "used: inherited sources are found by id, at a cost that grows "
           "with the number of sources this program ever created, and fork "
           "mode refuses to start while this program's main contexts hold a "
           "source",
           glib_major_version, glib_minor_version, glib_micro_version);
#endif

  chosen_path = GIPC_ORPHAN_PATH_PUBLIC;
  return chosen_path;
}

/* ------------------------------------------------------------------ */
/* The public path, and what both paths share                          */

/* From here on, no field of struct _GSource can be named: the public path
 * reads none (see the top of the file), and the code both paths share
 * reaches the layout only through the layout_*() functions above. The
 * list is every field of struct _GSource in GLib 2.x. */
#if defined(__GNUC__)
# pragma GCC poison callback_data callback_funcs source_funcs ref_count
# pragma GCC poison context priority flags source_id poll_fds prev next
# pragma GCC poison name priv
#endif

/* Every live source whose id is below @main_context's next one, with
 * public calls only, into @found. Costs O(ids ever given out) and misses
 * sources whose id is above the next one after the 32-bit counter
 * wrapped. */
static void
collect_by_id (GMainContext *main_context,
               GPtrArray    *found)
{
  GSource *probe;
  guint next_id;
  guint id;

  probe = g_idle_source_new ();
  g_source_set_static_name (probe, "[gipc-orphan-probe]");
  next_id = g_source_attach (probe, main_context);
  g_source_destroy (probe);
  g_source_unref (probe);

  if (simulate_id_wrap)
    return;

  for (id = 1; id < next_id; id++)
    {
      GSource *source = g_main_context_find_source_by_id (main_context, id);

      if (source != NULL && !g_source_is_destroyed (source))
        g_ptr_array_add (found, source);
    }
}

static int
count_polled_fds (GMainContext *main_context,
                  gint          max_prio)
{
  GPollFD fds[1];
  gint timeout = -1;

  return g_main_context_query (main_context, max_prio, &timeout, fds, 0);
}

/* The lowest priority at which @main_context polls an fd besides its own
 * wakeup (whose poll record has priority 0), by bisection over
 * g_main_context_query() with a priority bound. Only after a prepare. */
static gint
find_fd_priority (GMainContext *main_context)
{
  gint64 lo = G_MININT;
  gint64 hi = G_MAXINT;

  while (lo < hi)
    {
      gint mid = (gint) (lo + (hi - lo) / 2);
      int extra = count_polled_fds (main_context, mid) - (mid >= 0 ? 1 : 0);

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
 * source is ready (*prio set), 2 if an fd besides the wakeup is polled
 * (*prio set), 3 if something has a timeout (priority unknown), 0 if only
 * the wakeup fd is left. @fds receives what is polled. */
static int
residual_check (GMainContext *main_context,
                gint         *prio,
                GPollFD      *fds,
                gint         *n_fds_inout)
{
  gint max_prio = G_MAXINT;
  gint timeout = -1;
  gboolean ready;
  gint n_fds;
  int result = 0;
  gint i;

  ready = g_main_context_prepare (main_context, &max_prio);
  n_fds = g_main_context_query (main_context, G_MAXINT, &timeout, fds, *n_fds_inout);

  if (ready)
    {
      *prio = max_prio;
      result = 1;
    }
  else if (n_fds > 1)
    {
      *prio = find_fd_priority (main_context);
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
  g_main_context_check (main_context, G_MAXINT, fds, n_fds);
  *n_fds_inout = n_fds;

  return result;
}

/* See gipc-orphan-private.h. */
gboolean
gipc_orphan_sources (GMainContext *main_context,
                     GPollFD      *fds,
                     gint         *n_fds)
{
  gboolean layout = gipc_orphan_choose_path () == GIPC_ORPHAN_PATH_LAYOUT;
  gboolean scanned = FALSE;
  GPollFD local_fds[16];
  gint local_n_fds = G_N_ELEMENTS (local_fds);
  gboolean verified = FALSE;
  guint round;
  guint i;

  g_return_val_if_fail (main_context != NULL, FALSE);

  if (fds == NULL)
    {
      fds = local_fds;
      n_fds = &local_n_fds;
    }

  if (layout)
    {
      for (i = 0; i < G_N_ELEMENTS (common_priorities); i++)
        layout_orphan_at_priority (main_context, common_priorities[i]);
    }
  else
    {
      g_autoptr(GPtrArray) live = g_ptr_array_new ();

      /* Public path: a live source cannot be orphaned with public calls
       * (destroying it would run its destroy notifier here). Touch
       * nothing and refuse. */
      collect_by_id (main_context, live);
      if (live->len > 0)
        {
          *n_fds = 0;
          return FALSE;
        }
      scanned = TRUE;
    }

  /* A context owned by a thread of the parent (gone in the child) can
   * never be iterated here: none of its sources can run. */
  if (!g_main_context_acquire (main_context))
    {
      *n_fds = 0;
      return TRUE;
    }

  for (round = 0; round < 64; round++)
    {
      gint n = *n_fds;
      gint prio = 0;
      int found = residual_check (main_context, &prio, fds, &n);

      *n_fds = n;
      if (found == 0)
        {
          verified = TRUE;
          break;
        }

      /* The public path has found every id it can: what is left is above
       * the next id after a wrap, and it can neither place nor orphan
       * it. */
      if (!layout)
        break;

      if ((found == 1 || found == 2) &&
          layout_orphan_at_priority (main_context, prio) > 0)
        continue;

      /* A timer (or something the walk cannot find) at a priority the
       * check cannot tell: look every id up once, and orphan what that
       * finds the layout path's way (this is a verified GLib). */
      if (scanned)
        break;
      {
        g_autoptr(GPtrArray) sources = g_ptr_array_new ();

        collect_by_id (main_context, sources);
        layout_orphan_array (sources);
      }
      scanned = TRUE;
    }

  g_main_context_release (main_context);
  return verified;
}

/* Live sources of the calling thread's default and thread-default
 * contexts that the id scan finds, but for the one that reports an
 * asynchronous start's outcome (gipc-process-fork.c: it was attached after
 * the fork, and is dispatching now). */
static guint
count_live_sources (void)
{
  g_autoptr(GPtrArray) live = g_ptr_array_new ();
  GMainContext *thread_default = g_main_context_get_thread_default ();
  GSource *current = g_main_current_source ();
  guint n;

  collect_by_id (g_main_context_default (), live);
  if (thread_default != NULL && thread_default != g_main_context_default ())
    collect_by_id (thread_default, live);

  n = live->len;
  if (current != NULL &&
      g_strcmp0 (g_source_get_name (current), "[gipc-process-fork-status]") == 0 &&
      g_ptr_array_find (live, current, NULL))
    n--;

  return n;
}

/* See gipc-orphan-private.h. */
guint
gipc_orphan_count_undiscardable_sources (void)
{
  if (gipc_orphan_choose_path () != GIPC_ORPHAN_PATH_PUBLIC)
    return 0;
  return count_live_sources ();
}

/* See gipc-orphan-private.h. */
char *
gipc_orphan_describe_refusal (void)
{
  g_autofree char *what = NULL;
  guint n_live;

  if (gipc_orphan_choose_path () != GIPC_ORPHAN_PATH_PUBLIC)
    return g_strdup ("the child cannot make sure that no callback of this "
                     "program's main contexts runs in it (a source at an "
                     "unusual priority, after the 32-bit source id counter "
                     "wrapped); use spawn mode (gipc_process_new_for_argv) or "
                     "a fork server started early");

  /* Counted here, now: 0 if what the child found is out of reach of this
   * count (a context deeper in the thread-default stack, an id past a
   * wrap). */
  n_live = count_live_sources ();
  if (n_live > 0)
    what = g_strdup_printf ("the %u source%s", n_live, n_live == 1 ? "" : "s");
  else
    what = g_strdup ("the sources");

  return g_strdup_printf ("on GLib %u.%u.%u the child cannot discard %s "
                          "this program's main contexts hold without GLib's "
                          "private layout; start the child before attaching "
                          "sources, or use a fork server "
                          "(gipc_process_new_for_target) or spawn mode "
                          "(gipc_process_new_for_argv)",
                          glib_major_version, glib_minor_version,
                          glib_micro_version, what);
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
  GMainContext *main_context;
  GPollFD fds[16];
  gint n_fds = G_N_ELEMENTS (fds);
  gboolean verified = TRUE;

  /* The thread-default stack of the forking thread: a parent may start a
   * process from a callback of a context pushed as thread-default. Each is
   * orphaned (the public path refuses instead if it holds a live source:
   * FALSE, and the target never runs), then popped; the extra reference
   * keeps popping from
   * finalizing it. (A default context pushed on top of others hides those
   * below it: they stay on the stack, orphaned of nothing, and are simply
   * never used by the child.) */
  while ((main_context = g_main_context_get_thread_default ()) != NULL)
    {
      verified &= gipc_orphan_sources (main_context, NULL, NULL);
      keep_orphan (g_main_context_ref (main_context));
      g_main_context_pop_thread_default (main_context);
    }

  /* The residual check of the default context also clears the sources a
   * fork from inside a dispatch left in its pending list, and shows what
   * it polls: its wakeup eventfd, shared with the parent after fork, is
   * replaced by a fresh one. */
  main_context = g_main_context_default ();
  verified &= gipc_orphan_sources (main_context, fds, &n_fds);
  replace_wakeup_fd (fds, n_fds);

  return verified;
}
