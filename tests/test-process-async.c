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

/* ---------------------------------------------------------------------- */
/* "exited" after the child's last message */

static gint
target_reply (GipcProcess *process,
              gpointer     user_data)
{
  GipcChannel *channel = user_data;
  g_autoptr(GBytes) message = g_bytes_new_static ("reply", 5);
  g_autoptr(GError) error = NULL;

  if (!gipc_channel_send (channel, message, NULL, &error))
    return 100;
  return 3;
}

static gint
server_target_reply (GipcProcess *process,
                     GVariant    *args,
                     gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);
  g_autoptr(GBytes) message = g_bytes_new_static ("reply", 5);

  if (channel == NULL || !gipc_channel_send (channel, message, NULL, NULL))
    return 100;
  return 3;
}

typedef struct
{
  GipcChannel *reader;
  guint        replies;
  gboolean     exited;
  gboolean     reply_before_exit;
  guint       *n_exited;
} ReplyJob;

static void
job_received_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ReplyJob *job = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = gipc_channel_receive_finish (GIPC_CHANNEL (source), result, &error);

  if (message != NULL)
    job->replies++;
}

static void
job_message_cb (GipcChannel *channel,
                GBytes      *message,
                gpointer     user_data)
{
  ReplyJob *job = user_data;

  job->replies++;
}

static void
job_exited_cb (GipcProcess *process,
               gint         exit_code,
               gpointer     user_data)
{
  ReplyJob *job = user_data;

  g_assert_cmpint (exit_code, ==, 3);
  job->exited = TRUE;
  job->reply_before_exit = job->replies == 1;
  (*job->n_exited)++;
}

/* 200 jobs at once, each a child that sends one reply and exits. Whether
 * the parent waits with receive_async or listens with a message handler,
 * the reply is handed over before "exited" in every job. */
static void
run_reply_jobs_one_by_one (const char *mode,
                           gboolean    listen)
{
  const guint n_jobs = 200;
  guint n_late = 0;

  for (guint i = 0; i < n_jobs; i++)
    {
      g_autoptr(GipcChannel) writer = NULL;
      g_autoptr(GipcProcess) process = NULL;
      g_autoptr(GError) error = NULL;
      guint n_exited = 0;
      ReplyJob job = { NULL, 0, FALSE, FALSE, &n_exited };

      gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &job.reader, &writer);
      if (g_str_equal (mode, "fork"))
        process = gipc_process_new (target_reply, writer, NULL);
      else
        process = gipc_process_new_for_target (server, "reply", NULL);
      gipc_process_pass_channel (process, writer);
      g_signal_connect (process, "exited", G_CALLBACK (job_exited_cb), &job);
      g_assert_true (gipc_process_start (process, &error));
      g_assert_no_error (error);
      if (listen)
        {
          g_signal_connect (job.reader, "message", G_CALLBACK (job_message_cb), &job);
          gipc_channel_listen (job.reader);
        }
      else
        {
          gipc_channel_receive_async (job.reader, NULL, job_received_cb, &job);
        }
      gipc_test_run_until (NULL, &job.exited);
      if (!job.reply_before_exit)
        n_late++;
      /* The reply comes, late or not. */
      while (job.replies == 0)
        g_main_context_iteration (NULL, TRUE);
      g_clear_object (&job.reader);
      gipc_test_drain_context (NULL);
    }
  g_test_message ("%s/%s one by one: exited before the reply in %u of %u jobs",
                  mode, listen ? "listen" : "receive_async", n_late, n_jobs);
  g_assert_cmpuint (n_late, ==, 0);
}

static void
run_reply_jobs (const char *mode,
                gboolean    listen)
{
  const guint n_jobs = 200;
  g_autofree ReplyJob *jobs = g_new0 (ReplyJob, n_jobs);
  g_autoptr(GPtrArray) processes = g_ptr_array_new_with_free_func (g_object_unref);
  guint n_exited = 0;
  guint n_late = 0;

  for (guint i = 0; i < n_jobs; i++)
    {
      g_autoptr(GipcChannel) writer = NULL;
      g_autoptr(GError) error = NULL;
      GipcProcess *process;

      gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &jobs[i].reader, &writer);
      jobs[i].n_exited = &n_exited;
      if (g_str_equal (mode, "fork"))
        process = gipc_process_new (target_reply, writer, NULL);
      else
        process = gipc_process_new_for_target (server, "reply", NULL);
      gipc_process_pass_channel (process, writer);
      g_signal_connect (process, "exited", G_CALLBACK (job_exited_cb), &jobs[i]);
      /* As programs do: start, then wait for the reply. */
      g_assert_true (gipc_process_start (process, &error));
      g_assert_no_error (error);
      if (listen)
        {
          g_signal_connect (jobs[i].reader, "message", G_CALLBACK (job_message_cb), &jobs[i]);
          gipc_channel_listen (jobs[i].reader);
        }
      else
        {
          gipc_channel_receive_async (jobs[i].reader, NULL, job_received_cb, &jobs[i]);
        }
      g_ptr_array_add (processes, process);
    }

  gipc_test_run_until (NULL, (const gboolean *) &jobs[n_jobs - 1].exited);
  while (n_exited < n_jobs)
    g_main_context_iteration (NULL, TRUE);

  for (guint i = 0; i < n_jobs; i++)
    {
      if (!jobs[i].reply_before_exit)
        n_late++;
      g_assert_cmpuint (jobs[i].replies, ==, 1);
      g_clear_object (&jobs[i].reader);
    }
  g_test_message ("%s/%s: exited before the reply in %u of %u jobs",
                  mode, listen ? "listen" : "receive_async", n_late, n_jobs);
  g_assert_cmpuint (n_late, ==, 0);
}

static void
test_exited_after_reply_receive (void)
{
  run_reply_jobs ("fork", FALSE);
  run_reply_jobs_one_by_one ("fork", FALSE);
}

static void
test_exited_after_reply_listen (void)
{
  run_reply_jobs ("fork", TRUE);
  run_reply_jobs_one_by_one ("fork", TRUE);
}

static void
test_exited_after_reply_server (void)
{
  run_reply_jobs ("server", FALSE);
  run_reply_jobs_one_by_one ("server", TRUE);
}

static gint
target_three_then_exit (GipcProcess *process,
                        gpointer     user_data)
{
  GipcChannel *channel = user_data;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *text = g_strdup_printf ("m%u", i);
      g_autoptr(GBytes) message = g_bytes_new (text, strlen (text));

      if (!gipc_channel_send (channel, message, NULL, NULL))
        return 100;
    }
  return 0;
}

/* Nobody waits when the child exits: a receive after "exited" gets every
 * message it wrote, then PEER_CLOSED. */
static void
test_receive_after_exited (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  guint exited = 0;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  process = gipc_process_new (target_three_then_exit, writer, NULL);
  gipc_process_pass_channel (process, writer);
  g_signal_connect (process, "exited", G_CALLBACK (exited_count_cb), &exited);
  g_assert_true (gipc_process_start (process, &error));
  gipc_test_run_until (NULL, (const gboolean *) &exited);

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *expected = g_strdup_printf ("m%u", i);
      g_autoptr(GBytes) message = gipc_channel_receive (reader, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message),
                       expected, strlen (expected));
    }
  g_assert_null (gipc_channel_receive (reader, NULL, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
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
  gipc_fork_server_add_target (server, "reply", server_target_reply, NULL, NULL);
  if (!gipc_fork_server_start (server, &error))
    g_error ("fork server: %s", error->message);

  g_test_init (&argc, &argv, NULL);

  gipc_test_add_func ("/process-async/start/modes", test_start_async_modes);
  gipc_test_add_func ("/process-async/start/errors", test_start_async_errors);
  gipc_test_add_func ("/process-async/start/timer-fork", test_start_async_timer_fork);
  gipc_test_add_func ("/process-async/start/timer-spawn", test_start_async_timer_spawn);
  gipc_test_add_func ("/process-async/start/timer-server", test_start_async_timer_server);

  gipc_test_add_func ("/process-async/exited/after-reply-receive", test_exited_after_reply_receive);
  gipc_test_add_func ("/process-async/exited/after-reply-listen", test_exited_after_reply_listen);
  gipc_test_add_func ("/process-async/exited/after-reply-server", test_exited_after_reply_server);
  gipc_test_add_func ("/process-async/exited/receive-after", test_receive_after_exited);

  return g_test_run ();
}
