/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The child-side setup (gipc-child-setup-private.h), tested with plain
 * fork(): the inherited main contexts are discarded without running
 * anything of the parent's, the default context's wakeup is no longer
 * shared with the parent, signals and stdin are reset, unpassed channels
 * are closed, and the exec path keeps only what it is told to. Each child
 * writes a one-line report to a pipe and _exit()s.
 */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#if defined(__has_include)
# if __has_include(<valgrind/valgrind.h>)
#  include <valgrind/valgrind.h>
# endif
#endif
#ifndef RUNNING_ON_VALGRIND
# define RUNNING_ON_VALGRIND 0
#endif

#include "gipc-glib/gipc-channel-private.h"
#include "gipc-glib/gipc-child-setup-private.h"
#include "gipc-glib/gipc-orphan-private.h"
#include "gipc-glib/gipc-glib.h"

#include "test-util.h"

/* Run as test-fork-context-fallback: the public path of gipc-orphan.c. */
static gboolean forced_fallback;
/* The path taken: public when forced, and on a GLib whose layout
 * gipc-orphan.c was not verified on. */
static gboolean public_path;

/* ---------------------------------------------------------------------- */
/* Forking helpers */

typedef struct
{
  pid_t pid;
  int   report_fd;   /* read end */
  int   control_fd;  /* write end: parent -> child */
} Child;

/* In the child: where the report goes, and where orders come from. */
static int child_report_fd = -1;
static int child_control_fd = -1;

static void
child_report (const char *text)
{
  gipc_test_write_all (child_report_fd, text, strlen (text));
  gipc_test_write_all (child_report_fd, "\n", 1);
}

static void
child_wait_order (void)
{
  char c;

  if (read (child_control_fd, &c, 1) != 1)
    _exit (90);
}

typedef gint (*ChildFunc) (gpointer user_data);

static Child
fork_child (ChildFunc func,
            gpointer  user_data)
{
  Child child;
  int report[2];
  int control[2];

  g_assert_no_errno (pipe2 (report, O_CLOEXEC));
  g_assert_no_errno (pipe2 (control, O_CLOEXEC));
  fflush (NULL);

  child.pid = fork ();
  g_assert_cmpint (child.pid, >=, 0);
  if (child.pid == 0)
    {
      close (report[0]);
      close (control[1]);
      child_report_fd = report[1];
      child_control_fd = control[0];
      _exit (func (user_data));
    }

  close (report[1]);
  close (control[0]);
  child.report_fd = report[0];
  child.control_fd = control[1];
  return child;
}

/* The next line of the child's report (without the newline). */
static char *
read_line (Child *child)
{
  GString *line = g_string_new (NULL);

  for (;;)
    {
      char c;
      ssize_t n = read (child->report_fd, &c, 1);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, ==, 1);
      if (c == '\n')
        break;
      g_string_append_c (line, c);
    }

  return g_string_free (line, FALSE);
}

static void
send_order (Child *child)
{
  gipc_test_write_all (child->control_fd, "o", 1);
}

/* Waits for the child; returns its wait status. */
static int
finish_child (Child *child)
{
  int status = 0;

  close (child->report_fd);
  close (child->control_fd);
  while (waitpid (child->pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  return status;
}

static void
assert_exit_status (int status,
                    int expected)
{
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, expected);
}

/* ---------------------------------------------------------------------- */
/* Inherited sources */

enum {
  SRC_TIMEOUT = 1 << 0,
  SRC_IDLE    = 1 << 1,
  SRC_FD      = 1 << 2,
  SRC_PARENT  = 1 << 3,
  SRC_CHILD   = 1 << 4,
  SRC_CANARY  = 1 << 5,
  SRC_SECOND  = 1 << 6,
};

static guint fired;
static guint notified;
static gboolean canary_finalized;

/* Every callback and notifier of the parent's sources writes a byte here
 * when it runs in any other process: a child that gipc_process_start()
 * made and reaped cannot report otherwise. Non-blocking read end. */
static int witness_fds[2] = { -1, -1 };
static pid_t witness_pid;

static void
witness (char what)
{
  if (getpid () != witness_pid)
    (void) write (witness_fds[1], &what, 1);
}

static void
assert_no_witness (void)
{
  char c;

  g_assert_cmpint (read (witness_fds[0], &c, 1), ==, -1);
  g_assert_cmpint (errno, ==, EAGAIN);
}

static gboolean
source_cb (gpointer user_data)
{
  witness ('s');
  fired |= GPOINTER_TO_UINT (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
fd_cb (gint         fd,
       GIOCondition condition,
       gpointer     user_data)
{
  witness ('f');
  fired |= SRC_FD;
  return G_SOURCE_CONTINUE;
}

static gboolean
canary_cb (gpointer user_data)
{
  witness ('c');
  fired |= SRC_CANARY;
  return G_SOURCE_CONTINUE;
}

static void
notify_cb (gpointer user_data)
{
  witness ('n');
  notified |= GPOINTER_TO_UINT (user_data);
}

static void
canary_weak_notify (gpointer  data,
                    GObject  *where_the_object_was)
{
  witness ('w');
  canary_finalized = TRUE;
}

static gboolean
count_idle_cb (gpointer user_data)
{
  guint *count = user_data;

  (*count)++;
  return G_SOURCE_REMOVE;
}

/* Iterates the default context as a child target would, then checks that
 * it is usable. */
static char *
child_iterate_and_describe (void)
{
  guint fresh = 0;
  guint i;

  for (i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);

  g_idle_add (count_idle_cb, &fresh);
  for (i = 0; i < 50 && fresh == 0; i++)
    g_main_context_iteration (NULL, FALSE);

  return g_strdup_printf ("fired=%u notified=%u finalized=%d fresh=%u",
                          fired, notified, canary_finalized, fresh);
}

/* After a refusal (the public path found a live source and touched
 * nothing), what ran so far, without iterating: iterating would run the
 * parent's sources, which is why fork mode then never runs the target. */
static char *
child_describe_refused (void)
{
  return g_strdup_printf ("refused fired=%u notified=%u finalized=%d",
                          fired, notified, canary_finalized);
}

static gint
child_discard_and_report (gpointer user_data)
{
  g_autofree char *text = NULL;

  if (gipc_orphan_discard_main_contexts ())
    text = child_iterate_and_describe ();
  else
    text = child_describe_refused ();
  child_report (text);
  return 0;
}

static gint
target_zero (GipcProcess *process,
             gpointer     user_data)
{
  return 0;
}

/* The public path (test-fork-context-fallback), with @n_live live sources
 * in this thread's default and thread-default contexts: fork mode's start
 * fails in the parent, says why and what to do, leaves no child, and
 * nothing of the parent's ran in the child it made. */
static void
assert_start_refused (guint n_live)
{
  g_autoptr(GipcProcess) process = gipc_process_new (target_zero, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *count = g_strdup_printf ("cannot discard the %u source%s ",
                                            n_live, n_live == 1 ? "" : "s");
  int wait_status;

  g_assert_cmpint (gipc_orphan_choose_path (), ==, GIPC_ORPHAN_PATH_PUBLIC);
  g_assert_false (gipc_process_start (process, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, count));
  g_assert_nonnull (strstr (error->message, "private layout"));
  g_assert_nonnull (strstr (error->message, "start the child before attaching sources"));
  g_assert_nonnull (strstr (error->message, "fork server"));
  g_assert_nonnull (strstr (error->message, "spawn mode"));
  g_assert_false (gipc_process_is_alive (process));
  /* The refused child was reaped. */
  g_assert_cmpint (waitpid (-1, &wait_status, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
  assert_no_witness ();
}

static void
test_orphan_default_context (void)
{
  g_autoptr(GSource) parent = NULL;
  g_autoptr(GSource) child_source = NULL;
  GObject *canary = g_object_new (G_TYPE_OBJECT, NULL);
  g_autofree char *line = NULL;
  guint ids[4];
  Child child;
  int fds[2];

  fired = 0;
  notified = 0;
  canary_finalized = FALSE;

  g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
  gipc_test_write_all (fds[1], "x", 1);

  ids[0] = g_timeout_add_full (G_PRIORITY_DEFAULT, 0, source_cb,
                               GUINT_TO_POINTER (SRC_TIMEOUT), notify_cb);
  ids[1] = g_idle_add_full (G_PRIORITY_DEFAULT, source_cb,
                            GUINT_TO_POINTER (SRC_IDLE), notify_cb);
  ids[2] = g_unix_fd_add_full (G_PRIORITY_DEFAULT, fds[0], G_IO_IN, fd_cb,
                               GUINT_TO_POINTER (SRC_FD), notify_cb);
  g_object_weak_ref (canary, canary_weak_notify, NULL);
  ids[3] = g_idle_add_full (G_PRIORITY_DEFAULT, canary_cb, canary, g_object_unref);

  /* A source with a child source: both ready. */
  parent = g_idle_source_new ();
  g_source_set_priority (parent, G_PRIORITY_DEFAULT);
  g_source_set_callback (parent, source_cb, GUINT_TO_POINTER (SRC_PARENT), notify_cb);
  child_source = g_timeout_source_new (0);
  g_source_set_callback (child_source, source_cb, GUINT_TO_POINTER (SRC_CHILD), notify_cb);
  g_source_add_child_source (parent, child_source);
  g_source_attach (parent, NULL);

  child = fork_child (child_discard_and_report, NULL);
  line = read_line (&child);
  g_assert_cmpstr (line, ==, public_path ? "refused fired=0 notified=0 finalized=0"
                                             : "fired=0 notified=0 finalized=0 fresh=1");
  assert_exit_status (finish_child (&child), 0);
  /* Six: the four, the parent source and its child source. */
  if (public_path)
    assert_start_refused (6);

  /* The control: here they run, and removing them notifies. */
  gipc_test_drain_context (NULL);
  g_assert_cmpuint (fired & (SRC_TIMEOUT | SRC_IDLE | SRC_FD | SRC_CANARY | SRC_PARENT),
                    ==, SRC_TIMEOUT | SRC_IDLE | SRC_FD | SRC_CANARY | SRC_PARENT);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_source_remove (ids[i]);
  g_source_destroy (parent);
  g_assert_cmpuint (notified, ==, SRC_TIMEOUT | SRC_IDLE | SRC_FD | SRC_PARENT | SRC_CHILD);
  g_assert_true (canary_finalized);

  close (fds[0]);
  close (fds[1]);
}

/* A fork from inside a dispatch: the other source that was ready in the
 * same iteration sits in the context's pending dispatches. */
static Child forked_from_dispatch;

static gboolean
fork_from_dispatch_cb (gpointer user_data)
{
  fired |= SRC_IDLE;
  /* This one and the second idle (first: it wants no other child). */
  if (public_path)
    assert_start_refused (2);
  forked_from_dispatch = fork_child (child_discard_and_report, NULL);
  return G_SOURCE_REMOVE;
}

static void
test_orphan_from_dispatch (void)
{
  g_autofree char *line = NULL;
  guint second;

  fired = 0;
  notified = 0;
  canary_finalized = FALSE;

  g_idle_add_full (G_PRIORITY_DEFAULT, fork_from_dispatch_cb, NULL, NULL);
  second = g_idle_add_full (G_PRIORITY_DEFAULT, source_cb,
                            GUINT_TO_POINTER (SRC_SECOND), notify_cb);

  /* One iteration: both are ready, the first forks. */
  g_assert_true (g_main_context_iteration (NULL, FALSE));

  /* In the child, neither the second idle nor the first one's notifier
   * ran; the first one had already run in the parent before the fork. */
  line = read_line (&forked_from_dispatch);
  g_assert_cmpstr (line, ==, public_path ? "refused fired=2 notified=0 finalized=0"
                                             : "fired=2 notified=0 finalized=0 fresh=1");
  assert_exit_status (finish_child (&forked_from_dispatch), 0);

  /* The control: in the parent, the second one ran in that iteration. */
  g_assert_cmpuint (fired, ==, SRC_IDLE | SRC_SECOND);
  g_source_remove (second);
  g_assert_cmpuint (notified, ==, SRC_SECOND);
}

/* The thread-default stack of the forking thread. */
static gint
child_thread_default (gpointer user_data)
{
  GMainContext *pushed = user_data;
  g_autofree char *text = NULL;
  g_autofree char *rest = NULL;
  gboolean was_pushed = g_main_context_get_thread_default () == pushed;
  guint i;

  if (!gipc_orphan_discard_main_contexts ())
    {
      rest = child_describe_refused ();
      text = g_strdup_printf ("was-pushed=%d %s", was_pushed, rest);
      child_report (text);
      return 0;
    }

  /* Nothing of the popped context runs, even when iterated by hand. */
  for (i = 0; i < 20; i++)
    g_main_context_iteration (pushed, FALSE);
  rest = child_iterate_and_describe ();
  text = g_strdup_printf ("was-pushed=%d now=%s %s", was_pushed,
                          g_main_context_get_thread_default () == NULL ? "default" : "other",
                          rest);
  child_report (text);
  return 0;
}

static void
test_orphan_thread_default (void)
{
  g_autoptr(GMainContext) outer = g_main_context_new ();
  g_autoptr(GMainContext) inner = g_main_context_new ();
  g_autoptr(GSource) outer_idle = g_idle_source_new ();
  g_autoptr(GSource) inner_idle = g_idle_source_new ();
  g_autofree char *line = NULL;
  Child child;

  fired = 0;
  notified = 0;
  canary_finalized = FALSE;

  g_source_set_callback (outer_idle, source_cb, GUINT_TO_POINTER (SRC_PARENT), notify_cb);
  g_source_attach (outer_idle, outer);
  g_source_set_callback (inner_idle, source_cb, GUINT_TO_POINTER (SRC_CHILD), notify_cb);
  g_source_attach (inner_idle, inner);

  g_main_context_push_thread_default (outer);
  g_main_context_push_thread_default (inner);
  /* The thread-default context's idle (the default context has none). */
  if (public_path)
    assert_start_refused (1);
  child = fork_child (child_thread_default, inner);
  g_main_context_pop_thread_default (inner);
  g_main_context_pop_thread_default (outer);

  line = read_line (&child);
  g_assert_cmpstr (line, ==, public_path
                   ? "was-pushed=1 refused fired=0 notified=0 finalized=0"
                   : "was-pushed=1 now=default fired=0 notified=0 finalized=0 fresh=1");
  assert_exit_status (finish_child (&child), 0);

  /* The control. */
  gipc_test_drain_context (inner);
  g_assert_cmpuint (fired, ==, SRC_CHILD);
  g_source_destroy (outer_idle);
  g_source_destroy (inner_idle);
  g_assert_cmpuint (notified, ==, SRC_PARENT | SRC_CHILD);
}

/* ---------------------------------------------------------------------- */
/* The wakeup eventfd */

/* The eventfd-count of the default context's wakeup fd, from fdinfo. */
static char *
describe_wakeup (void)
{
  GMainContext *context = g_main_context_default ();
  GPollFD fds[8];
  gint max_priority = G_MAXINT;
  gint timeout = -1;
  gint n;
  gint i;
  GString *text = g_string_new (NULL);

  g_assert_true (g_main_context_acquire (context));
  g_main_context_prepare (context, &max_priority);
  n = g_main_context_query (context, max_priority, &timeout, fds, G_N_ELEMENTS (fds));
  for (i = 0; i < n; i++)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/fdinfo/%d", fds[i].fd);
      g_autofree char *contents = NULL;
      const char *count;

      if (!g_file_get_contents (path, &contents, NULL, NULL))
        continue;
      count = strstr (contents, "eventfd-count:");
      if (count == NULL)
        continue;
      count += strlen ("eventfd-count:");
      while (*count == ' ' || *count == '\t')
        count++;
      g_string_append_printf (text, "%s%.*s", text->len > 0 ? "," : "",
                              (int) strcspn (count, "\n"), count);
      fds[i].revents = 0;
    }
  for (i = 0; i < n; i++)
    fds[i].revents = 0;
  g_main_context_check (context, max_priority, fds, n);
  g_main_context_release (context);

  return g_string_free (text, FALSE);
}

static gint
child_wakeup (gpointer user_data)
{
  gboolean full_setup = GPOINTER_TO_INT (user_data);
  g_autofree char *count = NULL;

  if (full_setup)
    gipc_orphan_discard_main_contexts ();
  else
    gipc_orphan_sources (g_main_context_default (), NULL, NULL);

  child_report ("ready");
  child_wait_order ();
  count = describe_wakeup ();
  child_report (count);
  return 0;
}

static void
run_wakeup_child (gboolean    full_setup,
                  const char *expected)
{
  g_autofree char *ready = NULL;
  g_autofree char *count = NULL;
  Child child;

  /* The default context exists and has been polled. */
  gipc_test_drain_context (NULL);

  child = fork_child (child_wakeup, GINT_TO_POINTER (full_setup));
  ready = read_line (&child);
  g_assert_cmpstr (ready, ==, "ready");

  /* Signal the parent's context without iterating it. */
  g_main_context_wakeup (NULL);
  send_order (&child);
  count = read_line (&child);
  g_assert_cmpstr (count, ==, expected);
  assert_exit_status (finish_child (&child), 0);

  gipc_test_drain_context (NULL);
}

static void
test_wakeup_not_shared (void)
{
  /* The control first: without the fresh eventfd, the child sees the
   * parent's wakeup (and would consume it). */
  run_wakeup_child (FALSE, "1");
  run_wakeup_child (TRUE, "0");
}

/* ---------------------------------------------------------------------- */
/* Signals, stdin, die-with-parent */

static const char *
disposition (int signum)
{
  struct sigaction sa;

  sigaction (signum, NULL, &sa);
  if (sa.sa_handler == SIG_DFL)
    return "dfl";
  if (sa.sa_handler == SIG_IGN)
    return "ign";
  return "handler";
}

static gint
child_reset_signals (gpointer user_data)
{
  gboolean keep_sigpipe = GPOINTER_TO_INT (user_data);
  g_autofree char *text = NULL;
  sigset_t mask;

  gipc_child_setup_reset_signals (keep_sigpipe);
  sigprocmask (SIG_SETMASK, NULL, &mask);
  text = g_strdup_printf ("usr1=%s term=%s pipe=%s mask=%s",
                          disposition (SIGUSR1), disposition (SIGTERM),
                          disposition (SIGPIPE),
                          sigisemptyset (&mask) ? "empty" : "set");
  child_report (text);
  return 0;
}

static void
test_handler (int signum)
{
}

static void
test_reset_signals (void)
{
  struct sigaction handler, ign, old_usr1, old_term, old_pipe;
  sigset_t usr2, old_mask;
  gboolean variants[] = { TRUE, FALSE };
  const char *expected[] = {
    "usr1=dfl term=dfl pipe=ign mask=empty",
    "usr1=dfl term=dfl pipe=dfl mask=empty",
  };
  guint v;

  memset (&handler, 0, sizeof handler);
  handler.sa_handler = test_handler;
  memset (&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction (SIGUSR1, &handler, &old_usr1);
  sigaction (SIGTERM, &ign, &old_term);
  sigaction (SIGPIPE, &ign, &old_pipe);
  sigemptyset (&usr2);
  sigaddset (&usr2, SIGUSR2);
  sigprocmask (SIG_BLOCK, &usr2, &old_mask);

  for (v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      g_autofree char *line = NULL;
      Child child = fork_child (child_reset_signals, GINT_TO_POINTER (variants[v]));

      line = read_line (&child);
      g_assert_cmpstr (line, ==, expected[v]);
      assert_exit_status (finish_child (&child), 0);
    }

  sigaction (SIGUSR1, &old_usr1, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  sigaction (SIGPIPE, &old_pipe, NULL);
  sigprocmask (SIG_SETMASK, &old_mask, NULL);
}

static gint
child_stdin (gpointer user_data)
{
  char target[64] = "";
  g_autofree char *text = NULL;
  ssize_t len;
  char c;
  ssize_t n;

  if (!gipc_child_setup_stdin_to_devnull ())
    return 1;
  len = readlink ("/proc/self/fd/0", target, sizeof target - 1);
  if (len > 0)
    target[len] = '\0';
  n = read (STDIN_FILENO, &c, 1);
  text = g_strdup_printf ("stdin=%s cloexec=%d read=%d", target,
                          (fcntl (STDIN_FILENO, F_GETFD) & FD_CLOEXEC) != 0, (int) n);
  child_report (text);
  return 0;
}

static void
test_stdin_devnull (void)
{
  g_autofree char *line = NULL;
  Child child = fork_child (child_stdin, NULL);

  line = read_line (&child);
  g_assert_cmpstr (line, ==, "stdin=/dev/null cloexec=0 read=0");
  assert_exit_status (finish_child (&child), 0);
}

static gint
child_die_with_parent (gpointer user_data)
{
  pid_t parent = GPOINTER_TO_INT (user_data);

  if (!gipc_child_setup_die_with_parent (parent))
    return 1;
  child_report ("armed");
  return 0;
}

static void
test_die_with_parent_check (void)
{
  g_autofree char *line = NULL;
  Child child;
  int status;

  /* The real parent: armed. */
  child = fork_child (child_die_with_parent, GINT_TO_POINTER (getpid ()));
  line = read_line (&child);
  g_assert_cmpstr (line, ==, "armed");
  assert_exit_status (finish_child (&child), 0);

  /* A parent that is not ours any more (it "died" before prctl): the
   * child kills itself. */
  child = fork_child (child_die_with_parent, GINT_TO_POINTER (getpid () + 100000));
  status = finish_child (&child);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
}

/* ---------------------------------------------------------------------- */
/* Channels */

static gint
child_after_fork (gpointer user_data)
{
  GipcChannel **channels = user_data;
  g_autofree char *text = NULL;
  char target[64] = "";
  ssize_t len;

  /* channels[0] is kept. */
  gipc_child_setup_after_fork (channels, 1);
  len = readlink ("/proc/self/fd/0", target, sizeof target - 1);
  if (len > 0)
    target[len] = '\0';
  text = g_strdup_printf ("open=%u kept=%d r=%d other_r=%d other_w=%d stdin=%s",
                          gipc_channel_get_n_open (),
                          !gipc_channel_is_closed (channels[0]),
                          gipc_channel_is_closed (channels[1]),
                          gipc_channel_is_closed (channels[2]),
                          gipc_channel_is_closed (channels[3]),
                          target);
  child_report (text);
  return 0;
}

static void
test_after_fork_channels (void)
{
  g_autoptr(GipcChannel) r = NULL;
  g_autoptr(GipcChannel) w = NULL;
  g_autoptr(GipcChannel) other_r = NULL;
  g_autoptr(GipcChannel) other_w = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  GipcChannel *channels[4];
  guint n_open;
  Child child;

  g_assert_true (gipc_pipe (GIPC_PIPE_FLAGS_NONE, &r, &w, &error));
  g_assert_true (gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX, &other_r, &other_w, &error));
  g_assert_no_error (error);
  channels[0] = w;
  channels[1] = r;
  channels[2] = other_r;
  channels[3] = other_w;
  n_open = gipc_channel_get_n_open ();
  g_assert_cmpuint (n_open, >=, 4);

  child = fork_child (child_after_fork, channels);
  line = read_line (&child);
  g_assert_cmpstr (line, ==, "open=1 kept=1 r=1 other_r=1 other_w=1 stdin=/dev/null");
  assert_exit_status (finish_child (&child), 0);

  /* Nothing changed here. */
  g_assert_cmpuint (gipc_channel_get_n_open (), ==, n_open);
  g_assert_false (gipc_channel_is_closed (w));
  g_assert_false (gipc_channel_is_closed (other_w));
}

/* ---------------------------------------------------------------------- */
/* The exec path */

typedef struct
{
  GipcChildExecData data;
  int               stray_fd;
} ExecCase;

static gint
child_exec (gpointer user_data)
{
  ExecCase *exec_case = user_data;

  gipc_child_setup_exec (&exec_case->data);
}

G_GNUC_NO_INLINE static pid_t
vfork_child_exec (ExecCase *exec_case)
{
  pid_t pid = vfork ();

  if (pid == 0)
    child_exec (exec_case);
  return pid;
}

/* vforks and execs, as spawn mode does; returns the errno the child
 * reported (0: exec worked). The report is read from the status pipe,
 * which also works where vfork is a fork (valgrind); @data's shared fields
 * must agree with it otherwise. */
static int
run_exec (ExecCase *exec_case,
          int      *wait_status)
{
  int status_pipe[2];
  int status[2] = { GIPC_CHILD_EXEC_STEP_NONE, 0 };
  ssize_t n;
  pid_t pid;

  g_assert_no_errno (pipe2 (status_pipe, O_CLOEXEC));
  exec_case->data.status_fd = status_pipe[1];
  exec_case->data.parent_pid = getpid ();
  exec_case->data.max_fd = 1024;
  exec_case->data.failed_step = GIPC_CHILD_EXEC_STEP_NONE;
  exec_case->data.child_errno = 0;
  fflush (NULL);

  pid = vfork_child_exec (exec_case);
  g_assert_cmpint (pid, >=, 0);
  close (status_pipe[1]);

  while (waitpid (pid, wait_status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  do
    n = read (status_pipe[0], status, sizeof status);
  while (n < 0 && errno == EINTR);
  close (status_pipe[0]);
  g_assert_true (n == 0 || n == sizeof status);

  if (n == 0)
    return 0;
  if (!RUNNING_ON_VALGRIND)
    {
      g_assert_cmpint (exec_case->data.failed_step, ==, status[0]);
      g_assert_cmpint (exec_case->data.child_errno, ==, status[1]);
    }
  exec_case->data.failed_step = status[0];
  return status[1];
}

static void
test_exec_failure (void)
{
  char *argv[] = { (char *) "/nonexistent/program", NULL };
  char *envp[] = { NULL };
  ExecCase exec_case;
  int status = 0;

  memset (&exec_case, 0, sizeof exec_case);
  exec_case.data.path = argv[0];
  exec_case.data.argv = argv;
  exec_case.data.envp = envp;

  g_assert_cmpint (run_exec (&exec_case, &status), ==, ENOENT);
  assert_exit_status (status, 127);
}

static void
test_exec_keeps_only_passed_fds (void)
{
  const char *helper = g_getenv ("GIPC_TEST_HELPER");
  g_autofree char *env_line = NULL;
  g_autofree char *report = NULL;
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  char *argv[] = { (char *) helper, (char *) "report-fds", NULL };
  char *envp[2];
  ExecCase exec_case;
  int fds[2];
  int stray;
  int status = 0;
  g_autofree char *expected = NULL;

  g_assert_nonnull (helper);

  /* The passed fd: non-blocking and close-on-exec, as a channel's. */
  g_assert_no_errno (pipe2 (fds, O_CLOEXEC | O_NONBLOCK));
  /* A stray fd without close-on-exec: must not reach the program. */
  stray = dup (STDERR_FILENO);
  g_assert_cmpint (stray, >=, 3);

  env_line = g_strdup_printf ("GIPC_CHANNEL_FDS=-1:%d", fds[1]);
  envp[0] = env_line;
  envp[1] = NULL;

  memset (&exec_case, 0, sizeof exec_case);
  exec_case.data.path = helper;
  exec_case.data.argv = argv;
  exec_case.data.envp = envp;
  exec_case.data.keep_fds = &fds[1];
  exec_case.data.n_keep_fds = 1;

  g_assert_cmpint (run_exec (&exec_case, &status), ==, 0);
  assert_exit_status (status, 0);
  close (stray);
  close (fds[1]);

  reader = gipc_channel_new_from_fds (fds[0], -1, &error);
  g_assert_no_error (error);
  first = gipc_channel_receive (reader, NULL, &error);
  g_assert_no_error (error);
  second = gipc_channel_receive (reader, NULL, &error);
  g_assert_no_error (error);

  expected = g_strdup_printf ("0,1,2,%d", fds[1]);
  report = g_strndup (g_bytes_get_data (second, NULL), g_bytes_get_size (second));
  g_assert_cmpstr (report, ==, expected);
}

/* A step of the exec path that fails is named (not always "exec"). */
static void
test_exec_failed_step (void)
{
  char *argv[] = { (char *) "/bin/true", NULL };
  char *envp[] = { NULL };
  const int bad_fd[] = { 1000 };
  ExecCase exec_case;
  int status = 0;

  g_assert_false (gipc_test_fd_is_open (1000));
  memset (&exec_case, 0, sizeof exec_case);
  exec_case.data.path = argv[0];
  exec_case.data.argv = argv;
  exec_case.data.envp = envp;
  exec_case.data.keep_fds = bad_fd;
  exec_case.data.n_keep_fds = 1;

  g_assert_cmpint (run_exec (&exec_case, &status), ==, EBADF);
  g_assert_cmpint (exec_case.data.failed_step, ==, GIPC_CHILD_EXEC_STEP_KEEP_FDS);
  assert_exit_status (status, 127);

  exec_case.data.n_keep_fds = 0;
  exec_case.data.path = "/nonexistent/program";
  g_assert_cmpint (run_exec (&exec_case, &status), ==, ENOENT);
  g_assert_cmpint (exec_case.data.failed_step, ==, GIPC_CHILD_EXEC_STEP_EXEC);
}

static gboolean
odd_timer_cb (gpointer user_data)
{
  if (getpid () != GPOINTER_TO_INT (user_data))
    _exit (99);
  return G_SOURCE_CONTINUE;
}

/* After a wrap of the id counter (simulated: the id scan finds nothing),
 * a timer at an unusual priority cannot be found: start refuses fork mode
 * instead of letting it run in the child. Sources the walk or the residual
 * check can place (common priorities, ready sources, fds) do not matter. */
static void
test_simulated_wrap (void)
{
  g_autoptr(GipcProcess) refused = NULL;
  g_autoptr(GipcProcess) fine = NULL;
  g_autoptr(GError) error = NULL;
  gpointer parent = GINT_TO_POINTER (getpid ());
  GSource *timer;
  GSource *idle;
  int wait_status;

  gipc_orphan_set_simulate_id_wrap_for_testing (TRUE);

  idle = g_idle_source_new ();
  g_source_set_priority (idle, 4321);
  g_source_set_callback (idle, odd_timer_cb, parent, NULL);
  g_source_attach (idle, NULL);

  /* Ready at an odd priority: found through the residual check and the
   * walk of that priority. The public path has no walk: only the id scan,
   * which finds nothing after the wrap, so it refuses. */
  fine = gipc_process_new (target_zero, NULL, NULL);
  if (gipc_orphan_choose_path () == GIPC_ORPHAN_PATH_LAYOUT)
    {
      g_assert_true (gipc_process_start (fine, &error));
      g_assert_no_error (error);
      g_assert_true (gipc_process_join (fine, -1, &error));
      g_assert_no_error (error);
      g_assert_cmpint (gipc_process_get_exit_code (fine), ==, 0);
    }
  else
    {
      g_assert_false (gipc_process_start (fine, &error));
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
      g_assert_nonnull (strstr (error->message, "spawn mode"));
      g_clear_error (&error);
    }

  timer = g_timeout_source_new_seconds (3600);
  g_source_set_priority (timer, 4321);
  g_source_set_callback (timer, odd_timer_cb, parent, NULL);
  g_source_attach (timer, NULL);
  g_source_destroy (idle);
  g_source_unref (idle);

  refused = gipc_process_new (target_zero, NULL, NULL);
  g_assert_false (gipc_process_start (refused, &error));
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
  g_assert_nonnull (strstr (error->message, "spawn mode"));
  g_assert_nonnull (strstr (error->message, "fork server"));
  g_assert_false (gipc_process_is_alive (refused));
  /* The refused child was reaped. */
  g_assert_cmpint (waitpid (-1, &wait_status, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);

  /* Without the wrap, the id scan finds it: the layout path orphans it,
   * the public path refuses (it cannot orphan with public calls). */
  gipc_orphan_set_simulate_id_wrap_for_testing (FALSE);
  g_clear_object (&refused);
  g_clear_error (&error);
  if (public_path)
    {
      assert_start_refused (1);
    }
  else
    {
      refused = gipc_process_new (target_zero, NULL, NULL);
      g_assert_true (gipc_process_start (refused, &error));
      g_assert_no_error (error);
      g_assert_true (gipc_process_join (refused, -1, &error));
      g_assert_cmpint (gipc_process_get_exit_code (refused), ==, 0);
    }

  g_source_destroy (timer);
  g_source_unref (timer);
}

/* A program without live sources (everything it attached is gone again)
 * starts fork-mode children on either path, the public one included: the
 * target gets a clean default context and runs a main loop on it. */
typedef struct
{
  GMainLoop *loop;
  guint      idles;
} LoopTarget;

static gboolean
loop_target_idle_cb (gpointer user_data)
{
  LoopTarget *target = user_data;

  target->idles++;
  g_main_loop_quit (target->loop);
  return G_SOURCE_REMOVE;
}

static gint
target_idle_loop (GipcProcess *process,
                  gpointer     user_data)
{
  LoopTarget target = { g_main_loop_new (NULL, FALSE), 0 };

  g_idle_add (loop_target_idle_cb, &target);
  g_main_loop_run (target.loop);
  g_main_loop_unref (target.loop);

  /* Nothing of the parent's ran (the witness pipe is the test's proof),
   * and our idle ran once. */
  return target.idles == 1 && fired == 0 && notified == 0 ? 0 : 3;
}

static void
test_no_live_sources (void)
{
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  GSource *timer;
  guint idle;

  fired = 0;
  notified = 0;

  idle = g_idle_add_full (G_PRIORITY_DEFAULT, source_cb,
                          GUINT_TO_POINTER (SRC_IDLE), notify_cb);
  timer = g_timeout_source_new_seconds (3600);
  g_source_set_callback (timer, source_cb, GUINT_TO_POINTER (SRC_TIMEOUT), notify_cb);
  g_source_attach (timer, NULL);
  g_source_remove (idle);
  g_source_destroy (timer);
  g_source_unref (timer);
  g_assert_cmpuint (notified, ==, SRC_IDLE | SRC_TIMEOUT);
  notified = 0;

  g_assert_cmpint (gipc_orphan_choose_path (), ==,
                   public_path ? GIPC_ORPHAN_PATH_PUBLIC : GIPC_ORPHAN_PATH_LAYOUT);
  if (forced_fallback)
    g_assert_true (public_path);

  process = gipc_process_new (target_idle_loop, NULL, NULL);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
  assert_no_witness ();
}

/* start_async: the same refusal on the public path, reported to the
 * callback (the source that watches for the child's report is the
 * library's, attached after the fork, and not counted). */
static void
start_async_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GError **error = user_data;

  if (gipc_process_start_finish (GIPC_PROCESS (object), result, error))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "started");
}

static void
test_start_async_refused (void)
{
  g_autoptr(GipcProcess) process = gipc_process_new (target_zero, NULL, NULL);
  g_autoptr(GError) error = NULL;
  int wait_status;
  guint idle;

  fired = 0;
  notified = 0;
  idle = g_idle_add_full (G_PRIORITY_LOW, source_cb, GUINT_TO_POINTER (SRC_IDLE), notify_cb);

  gipc_process_start_async (process, NULL, start_async_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);

  if (public_path)
    {
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "cannot discard the 1 source "));
      g_assert_nonnull (strstr (error->message, "start the child before attaching sources"));
      g_assert_false (gipc_process_is_alive (process));
      g_assert_cmpint (waitpid (-1, &wait_status, WNOHANG), ==, -1);
      g_assert_cmpint (errno, ==, ECHILD);
    }
  else
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
      g_clear_error (&error);
      g_assert_true (gipc_process_join (process, -1, &error));
      g_assert_no_error (error);
      g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
    }
  assert_no_witness ();

  g_source_remove (idle);
  g_assert_cmpuint (notified, ==, SRC_IDLE);
}

static gint
server_target_zero (GipcProcess *process,
                    GVariant    *args,
                    gpointer     user_data)
{
  return 0;
}

/* A fork server is a fork of the program too: on the public path, whose
 * children cannot discard live sources, start refuses while the program's
 * contexts hold one (the server would keep the program's sources live and
 * its children would inherit them), and says what to do; with none it
 * starts. On the layout path a source does not matter. */
static void
test_fork_server_start (void)
{
  g_autoptr(GipcForkServer) refused = gipc_fork_server_new ();
  g_autoptr(GipcForkServer) fine = gipc_fork_server_new ();
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GError) error = NULL;
  gboolean on_public_path = gipc_orphan_choose_path () == GIPC_ORPHAN_PATH_PUBLIC;
  guint timer;
  int wait_status;

  gipc_fork_server_add_target (refused, "zero", server_target_zero, NULL, NULL);
  gipc_fork_server_add_target (fine, "zero", server_target_zero, NULL, NULL);

  timer = g_timeout_add_seconds (3600, odd_timer_cb, GINT_TO_POINTER (getpid ()));
  if (on_public_path)
    {
      g_assert_false (gipc_fork_server_start (refused, &error));
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "1 source"));
      g_assert_nonnull (strstr (error->message, "first thing in main"));
      g_assert_false (gipc_fork_server_is_running (refused));
      /* No server was forked. */
      g_assert_cmpint (waitpid (-1, &wait_status, WNOHANG), ==, -1);
      g_assert_cmpint (errno, ==, ECHILD);
      g_clear_error (&error);
    }
  else
    {
      g_assert_true (gipc_fork_server_start (refused, &error));
      g_assert_no_error (error);
    }
  g_source_remove (timer);

  /* Nothing attached: a server on either path, and a child through it. */
  g_assert_true (gipc_fork_server_start (fine, &error));
  g_assert_no_error (error);
  process = gipc_process_new_for_target (fine, "zero", NULL);
  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
}

/* Which way the inherited sources are found: the private-layout walk on
 * the GLib this was built and verified for (its self-test passed), the
 * public id scan when the run forces it (test-fork-context-fallback, the
 * same suite built again: every test then checks the public path's
 * guarantees). */
static void
test_orphan_path (void)
{
  GipcOrphanPath path = gipc_orphan_choose_path ();

  if (forced_fallback)
    g_assert_cmpint (path, ==, GIPC_ORPHAN_PATH_PUBLIC);
  else if (GLIB_CHECK_VERSION (2, 74, 0) && !GLIB_CHECK_VERSION (2, 75, 0))
    g_assert_cmpint (path, ==, GIPC_ORPHAN_PATH_LAYOUT);
  else
    g_assert_cmpint (path, !=, GIPC_ORPHAN_PATH_UNKNOWN);
}

/* The public path's cost grows with the program's age, but it still finds
 * old sources: one made before 20,000 others came and went. */
static gint
child_discard_old (gpointer user_data)
{
  gboolean verified = gipc_orphan_discard_main_contexts ();
  g_autofree char *iterated = NULL;
  g_autofree char *text = NULL;

  /* Never iterated after a refusal (see child_describe_refused()). */
  iterated = verified ? child_iterate_and_describe () : child_describe_refused ();
  text = g_strdup_printf ("verified=%d %s", verified, iterated);
  child_report (text);
  return 0;
}

static void
test_orphan_old_source (void)
{
  g_autofree char *line = NULL;
  GSource *odd;
  guint old;
  Child child;
  guint i;

  fired = 0;
  notified = 0;

  old = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, source_cb,
                         GUINT_TO_POINTER (SRC_IDLE), notify_cb);
  for (i = 0; i < 20000; i++)
    g_source_remove (g_idle_add (source_cb, NULL));
  /* The public path sees the old one (and nothing else), and refuses. */
  if (public_path)
    assert_start_refused (1);
  /* Ready, at a priority no walk starts from. */
  odd = g_idle_source_new ();
  g_source_set_priority (odd, 777);
  g_source_set_callback (odd, source_cb, GUINT_TO_POINTER (SRC_SECOND), notify_cb);
  g_source_attach (odd, NULL);

  child = fork_child (child_discard_old, NULL);
  line = read_line (&child);
  g_assert_cmpstr (line, ==, public_path
                   ? "verified=0 refused fired=0 notified=0 finalized=0"
                   : "verified=1 fired=0 notified=0 finalized=0 fresh=1");
  assert_exit_status (finish_child (&child), 0);

  g_source_remove (old);
  g_source_destroy (odd);
  g_source_unref (odd);
  g_assert_cmpuint (notified, ==, SRC_IDLE | SRC_SECOND);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  forced_fallback = g_str_has_suffix (argv[0], "-fallback");
  gipc_orphan_force_fallback_for_testing (forced_fallback);
  public_path = gipc_orphan_choose_path () == GIPC_ORPHAN_PATH_PUBLIC;
  g_assert_no_errno (pipe2 (witness_fds, O_CLOEXEC | O_NONBLOCK));
  witness_pid = getpid ();

  gipc_test_add_func ("/process/fork-context/orphan/path", test_orphan_path);
  gipc_test_add_func ("/process/fork-context/orphan/old-source", test_orphan_old_source);
  gipc_test_add_func ("/process/fork-context/orphan/no-live-sources", test_no_live_sources);
  gipc_test_add_func ("/process/fork-context/orphan/start-async", test_start_async_refused);

  gipc_test_add_func ("/process/fork-context/orphan/default-context", test_orphan_default_context);
  gipc_test_add_func ("/process/fork-context/orphan/from-dispatch", test_orphan_from_dispatch);
  gipc_test_add_func ("/process/fork-context/orphan/thread-default", test_orphan_thread_default);
  gipc_test_add_func ("/process/fork-context/wakeup-not-shared", test_wakeup_not_shared);
  gipc_test_add_func ("/process/fork-context/reset-signals", test_reset_signals);
  gipc_test_add_func ("/process/fork-context/stdin-devnull", test_stdin_devnull);
  gipc_test_add_func ("/process/fork-context/die-with-parent", test_die_with_parent_check);
  gipc_test_add_func ("/process/fork-context/after-fork-channels", test_after_fork_channels);
  gipc_test_add_func ("/process/fork-context/exec/failure", test_exec_failure);
  gipc_test_add_func ("/process/fork-context/exec/failed-step", test_exec_failed_step);
  gipc_test_add_func ("/process/fork-context/orphan/simulated-wrap", test_simulated_wrap);
  gipc_test_add_func ("/process/fork-context/orphan/fork-server-start", test_fork_server_start);
  gipc_test_add_func ("/process/fork-context/exec/only-passed-fds", test_exec_keeps_only_passed_fds);

  return g_test_run ();
}
