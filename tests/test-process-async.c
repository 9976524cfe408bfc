/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Starting and ending processes as programs use them (DESIGN.md "Starting
 * and ending (GipcProcess)"): start_async in every mode, a main loop that
 * keeps its timer while children start, and more below.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

#include "test-util.h"

static GipcForkServer *server;

static const char *
helper_path (void)
{
  const char *helper = g_getenv ("GIPC_TEST_HELPER");

  g_assert_nonnull (helper);
  return helper;
}

static gint
target_exit_code (GipcProcess *process,
                  gpointer     user_data)
{
  return GPOINTER_TO_INT (user_data);
}

static gint
server_target_exit (GipcProcess *process,
                    GVariant    *args,
                    gpointer     user_data)
{
  return args != NULL ? (gint) g_variant_get_int32 (args) : 0;
}

static void
exited_count_cb (GipcProcess *process,
                 gint         exit_code,
                 gpointer     user_data)
{
  guint *count = user_data;

  (*count)++;
}

/* Starts @process with start_async and waits for the result; returns
 * whether it started (error in @error). The call itself must return before
 * the child was reported: the process is not alive yet then. */
static gboolean
start_async_and_wait (GipcProcess  *process,
                      GError      **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  gipc_process_start_async (process, NULL, gipc_test_result_cb, &result);
  g_assert_null (result);
  g_assert_false (gipc_process_is_alive (process));
  gipc_test_run_until_result (NULL, &result);

  return gipc_process_start_finish (process, result, error);
}

static GipcProcess *
new_mode (const char *mode,
          gint        exit_code)
{
  if (g_str_equal (mode, "fork"))
    return gipc_process_new (target_exit_code, GINT_TO_POINTER (exit_code), NULL);

  if (g_str_equal (mode, "spawn"))
    {
      g_autofree char *code = g_strdup_printf ("%d", exit_code);
      const char *argv[] = { helper_path (), "exit", code, NULL };

      return gipc_process_new_for_argv (argv, NULL);
    }

  return gipc_process_new_for_target (server, "exit", g_variant_new_int32 (exit_code));
}

static void
test_start_async_modes (void)
{
  const char *modes[] = { "fork", "spawn", "server" };

  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_autoptr(GipcProcess) process = new_mode (modes[m], 7);
      g_autoptr(GError) error = NULL;
      g_autoptr(GAsyncResult) joined = NULL;
      guint exited = 0;

      g_test_message ("mode %s", modes[m]);
      g_signal_connect (process, "exited", G_CALLBACK (exited_count_cb), &exited);
      g_assert_true (start_async_and_wait (process, &error));
      g_assert_no_error (error);
      g_assert_cmpint (gipc_process_get_pid (process), >, 0);

      gipc_process_join_async (process, NULL, gipc_test_result_cb, &joined);
      gipc_test_run_until_result (NULL, &joined);
      g_assert_true (gipc_process_join_finish (process, joined, &error));
      g_assert_cmpuint (exited, ==, 1);
      g_assert_cmpint (gipc_process_get_exit_code (process), ==, 7);

      /* Started once. */
      gipc_process_start_async (process, NULL, NULL, NULL);
      g_assert_false (gipc_process_start (process, &error));
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_ALREADY_STARTED);
    }
}

/* The same errors as start: a program that cannot be executed, an unknown
 * target, a closed channel; a failed start_async can be retried. */
static void
test_start_async_errors (void)
{
  const char *argv[] = { "/nonexistent/gipc-no-such-program", NULL };
  const char *not_exec[] = { "/dev/null", NULL };
  g_autoptr(GipcProcess) missing = gipc_process_new_for_argv (argv, NULL);
  g_autoptr(GipcProcess) denied = gipc_process_new_for_argv (not_exec, NULL);
  g_autoptr(GipcProcess) unknown = gipc_process_new_for_target (server, "no-such-target", NULL);
  g_autoptr(GipcProcess) closed = gipc_process_new (target_exit_code, NULL, NULL);
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (start_async_and_wait (missing, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_clear_error (&error);

  g_assert_false (start_async_and_wait (denied, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, "/dev/null"));
  g_clear_error (&error);

  g_assert_false (start_async_and_wait (unknown, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_clear_error (&error);
  /* Nothing left in flight: the same process can be asked again. */
  g_assert_false (start_async_and_wait (unknown, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_clear_error (&error);

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w);
  gipc_process_pass_channel (closed, w);
  gipc_channel_close (w, NULL);
  g_assert_false (start_async_and_wait (closed, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_CLOSED);
}

/* A GTK-like loop: a 1 ms timer keeps running while 50 children start with
 * start_async (each from the timer itself, as an application starts them
 * from its callbacks). The starts never wait for a child's set-up or exec:
 * the timer fires between a start and its report. The bound on the
 * longest gap is generous (a loaded machine); what matters is that no
 * start blocks on a child. */
typedef struct
{
  guint        started;
  guint        reported;
  guint        ticks;
  guint        ticks_while_pending;
  gint64       last_tick;
  gint64       max_gap;
  const char  *mode;
  GPtrArray   *processes;
} TimerJob;

static void
timer_start_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  TimerJob *job = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (gipc_process_start_finish (GIPC_PROCESS (source), result, &error));
  g_assert_no_error (error);
  job->reported++;
}

static gboolean
timer_tick_cb (gpointer user_data)
{
  TimerJob *job = user_data;
  gint64 now = g_get_monotonic_time ();

  if (job->last_tick != 0)
    job->max_gap = MAX (job->max_gap, now - job->last_tick);
  job->last_tick = now;
  job->ticks++;
  if (job->reported < job->started)
    job->ticks_while_pending++;

  if (job->started < 50)
    {
      GipcProcess *process = new_mode (job->mode, 0);

      g_ptr_array_add (job->processes, process);
      job->started++;
      gipc_process_start_async (process, NULL, timer_start_cb, job);
    }

  return G_SOURCE_CONTINUE;
}

static void
run_timer_job (const char *mode)
{
  TimerJob job = { 0, };
  guint id;
  gboolean done = FALSE;

  job.mode = mode;
  job.processes = g_ptr_array_new_with_free_func (g_object_unref);
  id = g_timeout_add (1, timer_tick_cb, &job);
  while (job.reported < 50)
    {
      g_main_context_iteration (NULL, TRUE);
      done = job.reported == 50;
    }
  g_source_remove (id);
  g_assert_true (done);

  for (guint i = 0; i < job.processes->len; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (gipc_process_join (g_ptr_array_index (job.processes, i), -1, &error));
      g_assert_no_error (error);
    }
  gipc_test_drain_context (NULL);

  g_test_message ("%s: %u ticks, %u while a start was pending, longest gap %" G_GINT64_FORMAT " us",
                  mode, job.ticks, job.ticks_while_pending, job.max_gap);
  /* Generous: a loaded machine; every start_async call itself was seen
   * returning before its child reported (start_async_and_wait() and the
   * modes test check that deterministically). */
  g_assert_cmpuint (job.ticks, >=, 50);
  g_assert_cmpint (job.max_gap, <, G_USEC_PER_SEC);
  g_ptr_array_unref (job.processes);
}

static void
test_start_async_timer_fork (void)
{
  run_timer_job ("fork");
}

static void
test_start_async_timer_spawn (void)
{
  run_timer_job ("spawn");
}

static void
test_start_async_timer_server (void)
{
  run_timer_job ("server");
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;

  /* Before anything can start a thread. */
  g_main_context_default ();
  server = gipc_fork_server_new ();
  gipc_fork_server_add_target (server, "exit", server_target_exit, NULL, NULL);
  if (!gipc_fork_server_start (server, &error))
    g_error ("fork server: %s", error->message);

  g_test_init (&argc, &argv, NULL);

  gipc_test_add_func ("/process-async/start/modes", test_start_async_modes);
  gipc_test_add_func ("/process-async/start/errors", test_start_async_errors);
  gipc_test_add_func ("/process-async/start/timer-fork", test_start_async_timer_fork);
  gipc_test_add_func ("/process-async/start/timer-spawn", test_start_async_timer_spawn);
  gipc_test_add_func ("/process-async/start/timer-server", test_start_async_timer_server);

  return g_test_run ();
}
