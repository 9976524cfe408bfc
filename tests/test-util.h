/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Helpers shared by the C test suites: a per-test hard timeout (SIGALRM),
 * with or without an fd-leak check; main-loop helpers that fail the test
 * instead of hanging; fd and process inspection; patterned payloads; raw
 * frame writing; and the asserting channel steps every suite repeats
 * (send, receive, expect an error, close, a notify counter). A helper used
 * by more than one suite belongs here, not copied. Header-only (static
 * inline), so every test program includes it without a build change.
 */

#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gipc-glib/gipc-glib.h>

/* 1 in a build with AddressSanitizer (GCC or clang): it reserves terabytes
 * of address space and keeps freed memory in quarantine, so RLIMIT_AS and
 * RSS checks mean nothing there. */
#if defined(__SANITIZE_ADDRESS__)
#define GIPC_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GIPC_TEST_ASAN 1
#endif
#endif
#ifndef GIPC_TEST_ASAN
#define GIPC_TEST_ASAN 0
#endif

#if GIPC_TEST_ASAN
/* LeakSanitizer in a fork-mode child that calls exit (), in every suite:
 * the parent's other threads (the library's reaper thread, GLib's worker)
 * do not run there, so what only their stacks and thread-local data refer
 * to (GLib's per-thread data of the reaper thread) looks leaked to it
 * ("Running thread ... was not suspended. False leaks are possible.").
 * The leak check stays on in the test program itself. */
static pid_t gipc_test_main_pid;

__attribute__((constructor)) static void
gipc_test_record_main_pid (void)
{
  gipc_test_main_pid = getpid ();
}

int __lsan_is_turned_off (void);

__attribute__((weak)) int
__lsan_is_turned_off (void)
{
  return gipc_test_main_pid != 0 && getpid () != gipc_test_main_pid;
}
#endif

/* Base per-test budget; multiplied by 10 under valgrind. */
#define GIPC_TEST_TIMEOUT_SECONDS 30

#define KiB 1024
#define MiB (1024 * 1024)

static inline guint
gipc_test_timeout_seconds (void)
{
  const char *preload = g_getenv ("LD_PRELOAD");

  if (preload != NULL && strstr (preload, "vgpreload") != NULL)
    return GIPC_TEST_TIMEOUT_SECONDS * 10;
  /* Under ASan a fork copies the shadow memory's page tables too: the
   * tests that start hundreds of fork-mode children run several times
   * slower, more so beside another ASan suite. */
  if (GIPC_TEST_ASAN)
    return GIPC_TEST_TIMEOUT_SECONDS * 4;
  return GIPC_TEST_TIMEOUT_SECONDS;
}

static char gipc_test_alarm_message[512];

static inline void
gipc_test_alarm_handler (int signum)
{
  ssize_t unused G_GNUC_UNUSED;

  unused = write (STDERR_FILENO, gipc_test_alarm_message,
                  strlen (gipc_test_alarm_message));
  abort ();
}

/* Arms (or re-arms) the hard guard: if the process is still in the current
 * test after gipc_test_timeout_seconds(), it prints the test path and aborts,
 * so a blocked sync call cannot hang the suite. */
static inline void
gipc_test_arm_alarm (void)
{
  struct sigaction sa;

  g_snprintf (gipc_test_alarm_message, sizeof gipc_test_alarm_message,
              "\nTIMEOUT: test %s still running after %u s\n",
              g_test_get_path () != NULL ? g_test_get_path () : "(none)",
              gipc_test_timeout_seconds ());

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = gipc_test_alarm_handler;
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  g_assert_no_errno (sigaction (SIGALRM, &sa, NULL));
  alarm (gipc_test_timeout_seconds ());
}

static inline void
gipc_test_run_guarded (gconstpointer data)
{
  GTestFunc func = (GTestFunc) data;

  gipc_test_arm_alarm ();
  func ();
  alarm (0);
}

/* Like g_test_add_func(), with the hard timeout guard around the test. */
static inline void
gipc_test_add_func (const char *path,
                    GTestFunc   func)
{
  g_test_add_data_func (path, (gconstpointer) func, gipc_test_run_guarded);
}

static inline gboolean
gipc_test_guard_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates @context (NULL: the thread-default one) until *@done is TRUE.
 * A timeout source on the same context fails the test if that takes longer
 * than the test budget. */
static inline void
gipc_test_run_until (GMainContext   *context,
                     const gboolean *done)
{
  g_autoptr(GSource) guard = NULL;
  gboolean timed_out = FALSE;

  if (context == NULL)
    context = g_main_context_get_thread_default ();
  if (context == NULL)
    context = g_main_context_default ();

  guard = g_timeout_source_new_seconds (gipc_test_timeout_seconds ());
  g_source_set_callback (guard, gipc_test_guard_timeout_cb, &timed_out, NULL);
  g_source_set_static_name (guard, "[gipc-test-guard]");
  g_source_attach (guard, context);

  while (!*done && !timed_out)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (guard);
  if (timed_out)
    g_test_message ("timed out waiting in %s", g_test_get_path ());
  g_assert_false (timed_out);
}

/* A GAsyncReadyCallback that stores a reference to the result in the
 * GAsyncResult* that @user_data points to (which must be NULL). */
static inline void
gipc_test_result_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

/* Iterates @context until *@result is set (by gipc_test_result_cb). */
static inline void
gipc_test_run_until_result (GMainContext  *context,
                            GAsyncResult **result)
{
  g_autoptr(GSource) guard = NULL;
  gboolean timed_out = FALSE;

  if (context == NULL)
    context = g_main_context_get_thread_default ();
  if (context == NULL)
    context = g_main_context_default ();

  guard = g_timeout_source_new_seconds (gipc_test_timeout_seconds ());
  g_source_set_callback (guard, gipc_test_guard_timeout_cb, &timed_out, NULL);
  g_source_set_static_name (guard, "[gipc-test-guard]");
  g_source_attach (guard, context);

  while (*result == NULL && !timed_out)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (guard);
  if (timed_out)
    g_test_message ("timed out waiting for a result in %s", g_test_get_path ());
  g_assert_false (timed_out);
}

/* Dispatches whatever is ready on @context without blocking. */
static inline void
gipc_test_drain_context (GMainContext *context)
{
  guint i;

  /* Bounded, so a source that is always ready cannot spin forever. */
  for (i = 0; i < 1000 && g_main_context_iteration (context, FALSE); i++)
    ;
}

/* TRUE under valgrind (which preloads its vgpreload libraries into the
 * program; no valgrind header needed). */
static inline gboolean
gipc_test_running_on_valgrind (void)
{
  const char *preload = g_getenv ("LD_PRELOAD");

  return preload != NULL && strstr (preload, "vgpreload") != NULL;
}

/* Number of open fds of this process (entries of /proc/self/fd, minus the
 * one used to read it). Only those below the soft RLIMIT_NOFILE: valgrind
 * keeps its own fds above the limit it gives the program, and a child
 * inherits them. */
static inline guint
gipc_test_count_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;
  struct rlimit limit;
  guint n = 0;

  g_assert_nonnull (dir);
  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    limit.rlim_cur = RLIM_INFINITY;
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '.' &&
        (limit.rlim_cur == RLIM_INFINITY ||
         g_ascii_strtoull (entry->d_name, NULL, 10) < (guint64) limit.rlim_cur))
      n++;
  closedir (dir);

  return n - 1;
}

/* Number of threads of this process (entries of /proc/self/task). */
static inline guint
gipc_test_count_threads (void)
{
  DIR *dir = opendir ("/proc/self/task");
  struct dirent *entry;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '.')
      n++;
  closedir (dir);

  return n;
}

/* CPU time (user + system) this process used so far, in µs. */
static inline gint64
gipc_test_cpu_time_us (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &usage), ==, 0);
  return (gint64) usage.ru_utime.tv_sec * G_USEC_PER_SEC + usage.ru_utime.tv_usec +
         (gint64) usage.ru_stime.tv_sec * G_USEC_PER_SEC + usage.ru_stime.tv_usec;
}

/* The state letter ('R', 'S', 'Z' for a zombie...) and parent of process
 * @pid from /proc/PID/stat, "pid (comm) S ppid ...", where comm may hold
 * anything and the last ')' ends it. FALSE if @pid is gone. */
static inline gboolean
gipc_test_read_proc_stat (pid_t  pid,
                          char  *state,
                          pid_t *ppid)
{
  char path[64];
  g_autofree char *contents = NULL;
  const char *after;
  char s;
  int p;

  g_snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  after = strrchr (contents, ')');
  if (after == NULL || sscanf (after + 1, " %c %d", &s, &p) != 2)
    return FALSE;
  if (state != NULL)
    *state = s;
  if (ppid != NULL)
    *ppid = (pid_t) p;
  return TRUE;
}

/* The children of this process, alive or zombies, as a GArray of pid_t;
 * how many are zombies in @n_zombies if not NULL. */
static inline GArray *
gipc_test_list_children (guint *n_zombies)
{
  DIR *dir = opendir ("/proc");
  struct dirent *entry;
  GArray *children = g_array_new (FALSE, FALSE, sizeof (pid_t));
  pid_t self = getpid ();

  g_assert_nonnull (dir);
  if (n_zombies != NULL)
    *n_zombies = 0;
  while ((entry = readdir (dir)) != NULL)
    {
      pid_t pid, ppid;
      char state;

      if (!g_ascii_isdigit (entry->d_name[0]))
        continue;
      pid = (pid_t) g_ascii_strtoll (entry->d_name, NULL, 10);
      if (!gipc_test_read_proc_stat (pid, &state, &ppid) || ppid != self)
        continue;
      g_array_append_val (children, pid);
      if (state == 'Z' && n_zombies != NULL)
        (*n_zombies)++;
    }
  closedir (dir);

  return children;
}

/* A "Vm…:" line of /proc/self/status in KiB: gipc_test_status_kib
 * ("VmRSS:") for the resident set, "VmSize:" for the address space. */
static inline gsize
gipc_test_status_kib (const char *key)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, key);
  g_assert_nonnull (line);
  return (gsize) g_ascii_strtoull (line + strlen (key), NULL, 10);
}

/* TRUE if @fd is open in this process. */
static inline gboolean
gipc_test_fd_is_open (int fd)
{
  return fcntl (fd, F_GETFD) != -1 || errno != EBADF;
}

static inline gboolean
gipc_test_fd_is_cloexec (int fd)
{
  int flags = fcntl (fd, F_GETFD);

  g_assert_cmpint (flags, !=, -1);
  return (flags & FD_CLOEXEC) != 0;
}

static inline gboolean
gipc_test_fd_is_nonblocking (int fd)
{
  int flags = fcntl (fd, F_GETFL);

  g_assert_cmpint (flags, !=, -1);
  return (flags & O_NONBLOCK) != 0;
}

/* write(2) until all of @data is written (the fd must be blocking). */
static inline void
gipc_test_write_all (int         fd,
                     const void *data,
                     gsize       len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      p += n;
      len -= (gsize) n;
    }
}

/* read(2) exactly @len bytes (the fd must be blocking); fails the test at
 * end of file. */
static inline void
gipc_test_read_exact (int   fd,
                      void *data,
                      gsize len)
{
  guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = read (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      p += n;
      len -= (gsize) n;
    }
}

/* Bytes waiting in the pipe or socket @fd (FIONREAD). */
static inline gsize
gipc_test_bytes_available (int fd)
{
  int n = 0;

  g_assert_no_errno (ioctl (fd, FIONREAD, &n));
  g_assert_cmpint (n, >=, 0);
  return (gsize) n;
}

/* Writes a frame header (32-bit big-endian length @len) to @fd. */
static inline void
gipc_test_write_header (int     fd,
                        guint32 len)
{
  guint8 header[4] = { len >> 24, len >> 16, len >> 8, len };

  gipc_test_write_all (fd, header, sizeof header);
}

/* A payload of @size bytes whose content depends on @seed and on the
 * position, so a lost, duplicated or reordered chunk is detected. */
static inline GBytes *
gipc_test_pattern_bytes (gsize size,
                         guint seed)
{
  guint8 *data = g_malloc (size);
  gsize i;

  for (i = 0; i < size; i++)
    data[i] = (guint8) ((i * 31 + (i >> 11) * 7 + seed * 101) & 0xff);

  return g_bytes_new_take (data, size);
}

static inline void
gipc_test_assert_pattern (GBytes *bytes,
                          gsize   size,
                          guint   seed)
{
  g_autoptr(GBytes) expected = gipc_test_pattern_bytes (size, seed);

  g_assert_nonnull (bytes);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, size);
  g_assert_true (g_bytes_equal (bytes, expected));
}

/* A pair of channels from gipc_pipe(); the test fails if it cannot. */
static inline void
gipc_test_make_pipe (GipcPipeFlags   flags,
                     GipcChannel   **end1,
                     GipcChannel   **end2)
{
  g_autoptr(GError) error = NULL;

  *end1 = NULL;
  *end2 = NULL;
  g_assert_true (gipc_pipe (flags, end1, end2, &error));
  g_assert_no_error (error);
  g_assert_true (GIPC_IS_CHANNEL (*end1));
  g_assert_true (GIPC_IS_CHANNEL (*end2));
}

/* The gipc_test_add_func() guard plus an fd-leak check: the test fails if
 * it leaves more or fewer fds open than it found (the default main context
 * is drained before both counts, so pending closures do not count). */
static inline void
gipc_test_run_fd_checked (gconstpointer data)
{
  GTestFunc func = (GTestFunc) data;
  guint before;

  gipc_test_drain_context (g_main_context_default ());
  before = gipc_test_count_fds ();
  gipc_test_arm_alarm ();
  func ();
  alarm (0);
  gipc_test_drain_context (g_main_context_default ());
  g_assert_cmpuint (gipc_test_count_fds (), ==, before);
}

static inline gint
gipc_test_warm_up_target (GipcProcess *process,
                          gpointer     user_data)
{
  return 0;
}

/* The library's reaper thread opens one fd (its wakeup eventfd) at a
 * program's first child and keeps it, as GLib's worker thread keeps its
 * own: a suite that counts fds around its first start calls this from
 * main() first. */
static inline void
gipc_test_warm_up_reaper (void)
{
  g_autoptr(GipcProcess) process = gipc_process_new (gipc_test_warm_up_target, NULL, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (gipc_process_start (process, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_process_join (process, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gipc_process_get_exit_code (process), ==, 0);
}

/* Like gipc_test_add_func(), also checking that the test leaks no fd. */
static inline void
gipc_test_add_fd_checked (const char *path,
                          GTestFunc   func)
{
  g_test_add_data_func (path, (gconstpointer) func, gipc_test_run_fd_checked);
}

/* The bytes of @text, without its terminating NUL. */
static inline GBytes *
gipc_test_text_bytes (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

/* @bytes is non-NULL and holds exactly @text (no NUL). */
static inline void
gipc_test_assert_bytes_str (GBytes     *bytes,
                            const char *text)
{
  g_assert_nonnull (bytes);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   text, strlen (text));
}

/* gipc_channel_send() of @message succeeds. */
static inline void
gipc_test_send_bytes (GipcChannel *channel,
                      GBytes      *message)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (gipc_channel_send (channel, message, NULL, &error));
  g_assert_no_error (error);
}

/* gipc_channel_send() of @text (no NUL) succeeds. */
static inline void
gipc_test_send_str (GipcChannel *channel,
                    const char  *text)
{
  g_autoptr(GBytes) message = gipc_test_text_bytes (text);

  gipc_test_send_bytes (channel, message);
}

/* gipc_channel_receive() succeeds; returns the message (free it). */
static inline GBytes *
gipc_test_receive_bytes (GipcChannel *channel)
{
  g_autoptr(GError) error = NULL;
  GBytes *message = gipc_channel_receive (channel, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (message);
  return message;
}

/* gipc_channel_receive() succeeds with exactly @text. */
static inline void
gipc_test_receive_str (GipcChannel *channel,
                       const char  *text)
{
  g_autoptr(GBytes) message = gipc_test_receive_bytes (channel);

  gipc_test_assert_bytes_str (message, text);
}

/* gipc_channel_receive() (or, with @async, receive_async() run on the
 * thread-default context) fails with @domain/@code and no message. */
static inline void
gipc_test_receive_expect_error (GipcChannel *channel,
                                gboolean     async,
                                GQuark       domain,
                                gint         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;

  if (async)
    {
      g_autoptr(GAsyncResult) result = NULL;

      gipc_channel_receive_async (channel, NULL, gipc_test_result_cb, &result);
      gipc_test_run_until_result (NULL, &result);
      message = gipc_channel_receive_finish (channel, result, &error);
    }
  else
    message = gipc_channel_receive (channel, NULL, &error);

  g_assert_null (message);
  g_assert_error (error, domain, code);
}

/* gipc_channel_close() succeeds and the channel then reports closed. */
static inline void
gipc_test_close_ok (GipcChannel *channel)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (gipc_channel_close (channel, &error));
  g_assert_no_error (error);
  g_assert_true (gipc_channel_is_closed (channel));
}

/* A "notify" handler that counts its emissions in the guint @user_data. */
static inline void
gipc_test_count_notify_cb (GObject    *object,
                           GParamSpec *pspec,
                           gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

/* gipc_channel_receive() succeeds; returns the message as a string (its
 * bytes plus a NUL; free it). */
static inline char *
gipc_test_receive_text (GipcChannel *channel)
{
  g_autoptr(GBytes) message = gipc_test_receive_bytes (channel);
  gsize size;
  const char *data = g_bytes_get_data (message, &size);

  return g_strndup (data, size);
}
