/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * gipc-bench-pool: GipcPool next to its baselines, measured in the same run.
 *
 *   rtt        one tiny task at a time to a warm worker (µs per task)
 *              vs raw pipes, 8 B round trip (write one frame, read it back)
 *              goal: at most 2.5x
 *   pipelined  many tiny tasks in flight, max-workers N (tasks/s)
 *              vs raw pipe, 64 B one-way (one write() per message)
 *              goal: at least 0.5x
 *              vs Python multiprocessing.Pool(N).apply_async, same tasks
 *              (/usr/bin/python3 as a subprocess), goal: at least 20x
 *   cancel     cancel of a running task to its callback (µs)
 *              vs a plain fork-mode gipc_process_new + start + join
 *              goal: at most 2x
 *   big        a 256 MiB result (sealed shared memory) to the callback (ms)
 *              vs making and mapping the same 256 MiB shared memory here
 *              goal: at most +10 ms
 *
 * Usage: gipc-bench-pool [--quick] [--workers=N] [--repeat=N] [--verbose] [--only=pipelined|rtt]
 * Prints a Markdown table; every task's answer is checked. Each measure
 * and its baseline run --repeat times (default 3, 1 with --quick),
 * alternately; the best run of each side counts (--verbose prints each
 * pipelined run on stderr). --only runs one pool
 * measure alone, once, and prints its figure (for profiling).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <gipc-glib/gipc-glib.h>

#define BIG_SIZE (256u * 1024 * 1024)

static gboolean quick;
static gint n_workers = 2;
static const gchar *only;

static gdouble
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* ---- the worker ---- */

static GBytes *
bench_func (GBytes        *request,
            GUnixFDList   *fds,
            GUnixFDList  **out_fds,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  gsize size;
  const guint8 *p = g_bytes_get_data (request, &size);

  if (size == 4 && memcmp (p, "spin", 4) == 0)
    {
      /* Busy until cancelled (it iterates its context to hear the cancel). */
      while (!g_cancellable_is_cancelled (cancellable))
        g_main_context_iteration (NULL, TRUE);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      return NULL;
    }
  if (size == 3 && memcmp (p, "big", 3) == 0)
    {
      gpointer data;
      GBytes *bytes = gipc_shared_bytes_new (BIG_SIZE, &data, error);

      if (bytes != NULL)
        {
          ((guint8 *) data)[0] = 1;
          ((guint8 *) data)[BIG_SIZE - 1] = 2;
        }
      return bytes;
    }
  return g_bytes_ref (request);  /* echo */
}

/* ---- raw baselines ---- */

static gboolean
write_full (int fd, const void *buf, gsize n)
{
  const guint8 *p = buf;
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return FALSE;
      p += w;
      n -= (gsize) w;
    }
  return TRUE;
}

static gboolean
read_full (int fd, void *buf, gsize n)
{
  guint8 *p = buf;
  while (n > 0)
    {
      ssize_t r = read (fd, p, n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return FALSE;
      p += r;
      n -= (gsize) r;
    }
  return TRUE;
}

/* µs per 8 B round trip over two pipes (4-byte length + 8 bytes). */
static gdouble
raw_rtt (guint n)
{
  int down[2], up[2];
  guint8 buf[12] = { 0, 0, 0, 8 }, back[12];
  gdouble t0, t1;
  pid_t pid;
  guint i;

  g_assert (pipe2 (down, O_CLOEXEC) == 0 && pipe2 (up, O_CLOEXEC) == 0);
  pid = fork ();
  if (pid == 0)
    {
      close (down[1]);
      close (up[0]);
      while (read_full (down[0], back, sizeof back))
        if (!write_full (up[1], back, sizeof back))
          break;
      _exit (0);
    }
  close (down[0]);
  close (up[1]);
  t0 = now_s ();
  for (i = 0; i < n; i++)
    {
      memcpy (buf + 4, &i, sizeof i);
      g_assert (write_full (down[1], buf, sizeof buf));
      g_assert (read_full (up[0], back, sizeof back));
      g_assert (memcmp (buf, back, sizeof buf) == 0);
    }
  t1 = now_s ();
  close (down[1]);
  close (up[0]);
  waitpid (pid, NULL, 0);
  return (t1 - t0) * 1e6 / n;
}

/* Messages/s, 64 B one-way: the child writes each frame with one write(),
 * the parent reads in large chunks and checks the count. */
static gdouble
raw_oneway_64 (guint n)
{
  int p[2];
  guint8 frame[68] = { 0, 0, 0, 64 };
  static guint8 chunk[65536];
  gsize total = 0, want = (gsize) n * sizeof frame;
  gdouble t0, t1;
  pid_t pid;

  g_assert (pipe2 (p, O_CLOEXEC) == 0);
  t0 = now_s ();
  pid = fork ();
  if (pid == 0)
    {
      guint i;

      close (p[0]);
      for (i = 0; i < n; i++)
        {
          memcpy (frame + 4, &i, sizeof i);
          if (!write_full (p[1], frame, sizeof frame))
            _exit (1);
        }
      _exit (0);
    }
  close (p[1]);
  while (total < want)
    {
      ssize_t r = read (p[0], chunk, sizeof chunk);
      if (r < 0 && errno == EINTR)
        continue;
      g_assert (r > 0);
      total += (gsize) r;
    }
  t1 = now_s ();
  close (p[0]);
  waitpid (pid, NULL, 0);
  return n / (t1 - t0);
}

/* ---- pool measures ---- */

typedef struct
{
  guint  done;
  guint  errors;
} Counter;

static void
count_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Counter *c = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = gipc_pool_run_finish (NULL, result, NULL, &error);

  if (bytes == NULL || g_bytes_get_size (bytes) != 8)
    c->errors++;
  c->done++;
}

static GipcPool *
warm_pool (guint workers)
{
  GipcPool *pool = gipc_pool_new (bench_func, NULL, NULL);
  g_autoptr(GBytes) request = g_bytes_new_static ("warmwarm", 8);
  Counter c = { 0, 0 };
  guint i;

  gipc_pool_set_max_workers (pool, workers);
  gipc_pool_set_min_workers (pool, workers);
  for (i = 0; i < workers * 4; i++)
    gipc_pool_run_async (pool, request, NULL, NULL, count_cb, &c);
  while (c.done < workers * 4)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (c.errors, ==, 0);
  while (gipc_pool_get_workers (pool) < workers)
    g_main_context_iteration (NULL, TRUE);
  return pool;
}

static void
closed_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  gboolean *closed = user_data;

  g_assert_true (gipc_pool_close_finish (GIPC_POOL (source), result, NULL));
  *closed = TRUE;
}

/* The workers exit on their own (so that a profiler sees them end). */
static void
close_and_wait (GipcPool *pool)
{
  gboolean closed = FALSE;

  gipc_pool_close_async (pool, NULL, closed_cb, &closed);
  while (!closed)
    g_main_context_iteration (NULL, TRUE);
}

/* µs per tiny task, one at a time. */
static gdouble
pool_rtt (guint n)
{
  g_autoptr(GipcPool) pool = warm_pool (1);
  g_autoptr(GBytes) request = g_bytes_new_static ("01234567", 8);
  Counter c = { 0, 0 };
  gdouble t0, t1;
  guint i;

  t0 = now_s ();
  for (i = 0; i < n; i++)
    {
      gipc_pool_run_async (pool, request, NULL, NULL, count_cb, &c);
      while (c.done <= i)
        g_main_context_iteration (NULL, TRUE);
    }
  t1 = now_s ();
  g_assert_cmpuint (c.errors, ==, 0);
  close_and_wait (pool);
  return (t1 - t0) * 1e6 / n;
}

/* Tasks/s with every task submitted at once. */
static gdouble
pool_pipelined (guint n)
{
  g_autoptr(GipcPool) pool = warm_pool ((guint) n_workers);
  g_autoptr(GBytes) request = g_bytes_new_static ("01234567", 8);
  Counter c = { 0, 0 };
  gdouble t0, t1;
  guint i;

  t0 = now_s ();
  for (i = 0; i < n; i++)
    gipc_pool_run_async (pool, request, NULL, NULL, count_cb, &c);
  while (c.done < n)
    g_main_context_iteration (NULL, TRUE);
  t1 = now_s ();
  g_assert_cmpuint (c.errors, ==, 0);
  close_and_wait (pool);
  return n / (t1 - t0);
}

static const char python_pool[] =
  "import multiprocessing as mp, sys, time\n"
  "def echo(b):\n"
  "    return b\n"
  "if __name__ == '__main__':\n"
  "    n, w = int(sys.argv[1]), int(sys.argv[2])\n"
  "    mp.set_start_method('fork')\n"
  "    with mp.Pool(w) as pool:\n"
  "        [r.get() for r in [pool.apply_async(echo, (b'x' * 8,)) for _ in range(w * 4)]]\n"
  "        t0 = time.perf_counter()\n"
  "        rs = [pool.apply_async(echo, (b'01234567',)) for _ in range(n)]\n"
  "        out = [r.get() for r in rs]\n"
  "        t1 = time.perf_counter()\n"
  "    assert all(o == b'01234567' for o in out)\n"
  "    print(n / (t1 - t0))\n";

/* Tasks/s of Python's multiprocessing.Pool(N).apply_async, or 0. */
static gdouble
python_pipelined (guint n)
{
  g_autofree gchar *n_str = g_strdup_printf ("%u", n);
  g_autofree gchar *w_str = g_strdup_printf ("%d", n_workers);
  const gchar *argv[] = { "/usr/bin/python3", "-c", python_pool, n_str, w_str, NULL };
  g_autofree gchar *out = NULL;
  g_autoptr(GError) error = NULL;
  gint status = 0;

  if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                     &out, NULL, &status, &error) || !g_spawn_check_wait_status (status, &error))
    {
      fprintf (stderr, "gipc-bench-pool: python: %s\n", error->message);
      return 0;
    }
  return g_ascii_strtod (out, NULL);
}

static void
cancelled_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  gdouble *t = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = gipc_pool_run_finish (NULL, result, NULL, &error);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  *t = now_s ();
}

/* µs from cancelling a running task to its callback (cancel-grace 0: the
 * worker is killed; the pool is back to full strength). */
static gdouble
pool_cancel (guint n)
{
  g_autoptr(GipcPool) pool = warm_pool (1);
  g_autoptr(GBytes) spin = g_bytes_new_static ("spin", 4);
  gdouble total = 0;
  guint i;

  for (i = 0; i < n; i++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      gdouble t0, t1 = 0;

      while (gipc_pool_get_workers (pool) < 1)
        g_main_context_iteration (NULL, TRUE);
      gipc_pool_run_async (pool, spin, NULL, cancellable, cancelled_cb, &t1);
      while (gipc_pool_get_running_tasks (pool) < 1)
        g_main_context_iteration (NULL, TRUE);
      t0 = now_s ();
      g_cancellable_cancel (cancellable);
      while (t1 == 0)
        g_main_context_iteration (NULL, TRUE);
      total += t1 - t0;
    }
  return total * 1e6 / n;
}

static gint
trivial_target (GipcProcess *process,
                gpointer     user_data)
{
  return 0;
}

/* µs per fork-mode start + join of a process that returns at once. */
static gdouble
fork_start_join (guint n)
{
  gdouble t0 = now_s ();
  guint i;

  for (i = 0; i < n; i++)
    {
      g_autoptr(GipcProcess) p = gipc_process_new (trivial_target, NULL, NULL);
      g_autoptr(GError) error = NULL;

      g_assert_true (gipc_process_start (p, &error));
      g_assert_true (gipc_process_join (p, -1, &error));
    }
  return (now_s () - t0) * 1e6 / n;
}

static void
big_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  GBytes **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = gipc_pool_run_finish (NULL, result, NULL, &error);
  g_assert_no_error (error);
}

/* ms for a 256 MiB result, made in the worker, mapped here. */
static gdouble
pool_big (guint n)
{
  g_autoptr(GipcPool) pool = warm_pool (1);
  g_autoptr(GBytes) request = g_bytes_new_static ("big", 3);
  gdouble total = 0;
  guint i;

  for (i = 0; i < n; i++)
    {
      GBytes *big = NULL;
      const guint8 *data;
      gdouble t0 = now_s ();

      gipc_pool_run_async (pool, request, NULL, NULL, big_cb, &big);
      while (big == NULL)
        g_main_context_iteration (NULL, TRUE);
      data = g_bytes_get_data (big, NULL);
      g_assert_cmpuint (g_bytes_get_size (big), ==, BIG_SIZE);
      g_assert_cmpint (data[0], ==, 1);
      g_assert_cmpint (data[BIG_SIZE - 1], ==, 2);
      total += now_s () - t0;
      g_bytes_unref (big);
    }
  return total * 1e3 / n;
}

/* ms to make the same 256 MiB shared memory here and map it. */
static gdouble
local_big (guint n)
{
  gdouble total = 0;
  guint i;

  for (i = 0; i < n; i++)
    {
      gdouble t0 = now_s ();
      gpointer data;
      g_autoptr(GError) error = NULL;
      GBytes *big = gipc_shared_bytes_new (BIG_SIZE, &data, &error);

      g_assert_no_error (error);
      ((guint8 *) data)[0] = 1;
      ((guint8 *) data)[BIG_SIZE - 1] = 2;
      g_assert_cmpint (((const guint8 *) g_bytes_get_data (big, NULL))[BIG_SIZE - 1], ==, 2);
      total += now_s () - t0;
      g_bytes_unref (big);
    }
  return total * 1e3 / n;
}

static void
row (const gchar *measure,
     const gchar *baseline_name,
     gdouble      pool_value,
     gdouble      base_value,
     const gchar *unit,
     const gchar *goal_text,
     gboolean     met)
{
  printf ("| %s | %s: %.1f %s | %.1f %s | %s | %s |\n", measure, baseline_name, base_value, unit,
          pool_value, unit, goal_text, met ? "met" : "NOT met");
}

int
main (int    argc,
      char **argv)
{
  guint n_rtt, n_pipe, n_raw, n_cancel, n_big;
  gdouble v_rtt, v_raw_rtt, v_pipe, v_raw_pipe, v_py, v_cancel, v_fork, v_big, v_local_big;
  gint i, r, repeat = -1;
  gboolean verbose = FALSE;
  g_autofree gchar *ratio = NULL;

  for (i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--quick"))
        quick = TRUE;
      else if (g_str_has_prefix (argv[i], "--workers="))
        n_workers = MAX (1, atoi (argv[i] + 10));
      else if (g_str_has_prefix (argv[i], "--only="))
        only = argv[i] + 7;
      else if (g_str_equal (argv[i], "--verbose"))
        verbose = TRUE;
      else if (g_str_has_prefix (argv[i], "--repeat="))
        repeat = MAX (1, atoi (argv[i] + 9));
    }
  if (repeat < 0)
    repeat = quick ? 1 : 3;
  /* Fork-mode workers from a program that has GLib's helper threads. */
  g_setenv ("GIPC_NO_THREADS_WARNING", "1", TRUE);

  n_rtt = quick ? 200 : 20000;
  n_pipe = quick ? 500 : 100000;
  n_raw = quick ? 2000 : 1000000;
  n_cancel = quick ? 5 : 200;
  n_big = quick ? 2 : 20;

  if (only != NULL && g_str_equal (only, "pipelined"))
    {
      printf ("pipelined: %.1f k tasks/s\n", pool_pipelined (n_pipe) / 1e3);
      return 0;
    }
  if (only != NULL && g_str_equal (only, "rtt"))
    {
      printf ("rtt: %.1f µs\n", pool_rtt (n_rtt));
      return 0;
    }

  /* The process is small while the forks are measured: the pipelined rows
   * (100,000 tasks in flight) come last. Each measure runs --repeat times,
   * alternating with its baseline, and the best of each side counts (the
   * shared machine's noise only ever makes a run slower). */
  v_raw_rtt = v_rtt = v_fork = v_cancel = v_local_big = v_big = G_MAXDOUBLE;
  v_raw_pipe = v_pipe = v_py = 0;
  for (r = 0; r < repeat; r++)
    {
      v_raw_rtt = MIN (v_raw_rtt, raw_rtt (n_rtt));
      v_rtt = MIN (v_rtt, pool_rtt (n_rtt));
    }
  for (r = 0; r < repeat; r++)
    {
      v_fork = MIN (v_fork, fork_start_join (n_cancel));
      v_cancel = MIN (v_cancel, pool_cancel (n_cancel));
    }
  for (r = 0; r < repeat; r++)
    {
      v_local_big = MIN (v_local_big, local_big (n_big));
      v_big = MIN (v_big, pool_big (n_big));
    }
  for (r = 0; r < repeat; r++)
    {
      gdouble raw = raw_oneway_64 (n_raw), pool = pool_pipelined (n_pipe);
      gdouble py = python_pipelined (n_pipe);  /* the same number of tasks */

      if (verbose)
        fprintf (stderr, "run %d: raw %.0f k/s, pool %.0f k/s, python %.1f k/s\n",
                 r + 1, raw / 1e3, pool / 1e3, py / 1e3);
      v_raw_pipe = MAX (v_raw_pipe, raw);
      v_pipe = MAX (v_pipe, pool);
      v_py = MAX (v_py, py);
    }

  printf ("\n### GipcPool (%d workers for the pipelined rows; %s; best of %d runs each side)\n\n", n_workers,
          quick ? "--quick: counts too small for figures" : "fork-mode workers", repeat);
  printf ("| measure | baseline | GipcPool | goal | |\n| --- | ---: | ---: | --- | --- |\n");
  ratio = g_strdup_printf ("≤ 2.5x: %.2fx", v_rtt / v_raw_rtt);
  row ("tiny task round trip, one at a time", "raw pipes 8 B round trip", v_rtt, v_raw_rtt, "µs",
       ratio, v_rtt <= 2.5 * v_raw_rtt);
  g_free (ratio);
  ratio = g_strdup_printf ("≥ 0.5x: %.2fx", v_pipe / v_raw_pipe);
  row ("tiny tasks, pipelined", "raw pipe 64 B one-way", v_pipe / 1e3, v_raw_pipe / 1e3, "k/s",
       ratio, v_pipe >= 0.5 * v_raw_pipe);
  g_free (ratio);
  ratio = g_strdup_printf ("≥ 20x: %.1fx", v_py > 0 ? v_pipe / v_py : 0.0);
  row ("tiny tasks, pipelined", "Python multiprocessing.Pool.apply_async", v_pipe / 1e3, v_py / 1e3, "k/s",
       ratio, v_py > 0 && v_pipe >= 20 * v_py);
  g_free (ratio);
  ratio = g_strdup_printf ("≤ 2x: %.2fx", v_cancel / v_fork);
  row ("cancel of a running task to its callback", "fork-mode start + join", v_cancel, v_fork, "µs",
       ratio, v_cancel <= 2 * v_fork);
  g_free (ratio);
  ratio = g_strdup_printf ("≤ +10 ms: %+.1f ms", v_big - v_local_big);
  row ("256 MiB result", "make and map it here", v_big, v_local_big, "ms",
       ratio, v_big <= v_local_big + 10);
  return 0;
}
