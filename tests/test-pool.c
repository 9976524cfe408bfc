/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* GipcPool: one result per task, exactly once, whatever the worker does. */

#include "config.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <gio/gunixfdlist.h>

#include "test-util.h"

static GipcForkServer *server;
static const char *self_exe;

/* ---- the worker side ---- */

static void
exit_soon_cb (gpointer data)
{
  _exit (GPOINTER_TO_INT (data));
}

static gboolean
exit_soon_source_cb (gpointer data)
{
  exit_soon_cb (data);
  return G_SOURCE_REMOVE;
}

static gboolean
cancelled_flag_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* In a worker: the cancellable that "hold" kept (or that "hold-connect"
 * and "watch" point to without a reference, NULL once it is finalized),
 * and how often the handler "hold-connect" left ran. */
static GCancellable *held_cancellable;
static gboolean held_strongly;
static guint held_handler_runs;

static void
forget_held (void)
{
  if (held_strongly)
    g_clear_object (&held_cancellable);
  else if (held_cancellable != NULL)
    g_object_remove_weak_pointer (G_OBJECT (held_cancellable), (gpointer *) &held_cancellable);
  held_cancellable = NULL;
  held_strongly = FALSE;
}

static void
watch_held (GCancellable *cancellable)
{
  forget_held ();
  held_cancellable = cancellable;
  g_object_add_weak_pointer (G_OBJECT (cancellable), (gpointer *) &held_cancellable);
}

static void
held_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  held_handler_runs++;
}

static void
noop_task_func (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  g_task_return_boolean (task, TRUE);
}

/* Requests are "command" or "command:argument". */
static GBytes *
test_worker_func (GBytes        *request,
                  GUnixFDList   *fds,
                  GUnixFDList  **out_fds,
                  GCancellable  *cancellable,
                  gpointer       user_data,
                  GError       **error)
{
  g_autofree gchar *text = g_strndup (g_bytes_get_data (request, NULL), g_bytes_get_size (request));
  const gchar *arg = strchr (text, ':');

  arg = arg != NULL ? arg + 1 : "";

  if (g_str_has_prefix (text, "net"))
    {
      int fd = socket (AF_INET, SOCK_STREAM, 0);

      if (fd < 0)
        return g_bytes_new_static ("blocked", 7);
      close (fd);
      return g_bytes_new_static ("open", 4);
    }
  if (g_str_has_prefix (text, "read-file"))
    {
      int fd = open (arg, O_RDONLY | O_CLOEXEC);

      if (fd < 0)
        return g_bytes_new_static ("denied", 6);
      close (fd);
      return g_bytes_new_static ("read", 4);
    }
  if (g_str_has_prefix (text, "echo"))
    return g_bytes_new (arg, strlen (arg));
  if (g_str_has_prefix (text, "hold-connect"))
    {
      /* Leaves a handler on its cancellable, without a reference (a weak
       * pointer: NULL once the cancellable is gone). */
      g_signal_connect (cancellable, "cancelled", G_CALLBACK (held_cancelled_cb), NULL);
      watch_held (cancellable);
      return g_bytes_new_static ("held", 4);
    }
  if (g_str_has_prefix (text, "hold"))
    {
      forget_held ();
      held_cancellable = g_object_ref (cancellable);
      held_strongly = TRUE;
      return g_bytes_new_static ("held", 4);
    }
  if (g_str_has_prefix (text, "watch"))
    {
      /* Points to its cancellable without a reference or a handler. */
      watch_held (cancellable);
      return g_bytes_new_static ("watched", 7);
    }
  if (g_str_has_prefix (text, "held-state"))
    {
      gchar *state = g_strdup_printf ("%s %u",
                                      held_cancellable == NULL ? "none" :
                                      g_cancellable_is_cancelled (held_cancellable) ? "cancelled" : "uncancelled",
                                      held_handler_runs);
      return g_bytes_new_take (state, strlen (state));
    }
  if (g_str_has_prefix (text, "task-in-thread"))
    {
      /* A GIO-style sync call: the GTask, and with it a reference to the
       * cancellable, is often dropped by GIO's thread after the return. */
      GTask *task = g_task_new (NULL, cancellable, NULL, NULL);

      g_task_run_in_thread_sync (task, noop_task_func);
      g_object_unref (task);
      return g_bytes_new_static ("ran", 3);
    }
  if (g_str_has_prefix (text, "self-cancel"))
    {
      g_cancellable_cancel (cancellable);
      return g_bytes_new_static ("done", 4);
    }
  if (g_str_has_prefix (text, "cancel-state"))
    {
      gchar *state = g_strdup_printf ("%s %s",
                                      g_cancellable_is_cancelled (cancellable) ? "cancelled" : "uncancelled",
                                      cancellable == held_cancellable ? "same" : "other");
      return g_bytes_new_take (state, strlen (state));
    }
  if (g_str_has_prefix (text, "maps"))
    {
      g_autofree gchar *maps = NULL;
      const gchar *p;
      guint n = 0;

      /* The library's memfds this worker maps: its own answer ring only. */
      g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
      for (p = maps; (p = strstr (p, "memfd:gipc-shared-memory")) != NULL; p++)
        n++;
      p = g_strdup_printf ("%u", n);
      return g_bytes_new_take ((gchar *) p, strlen (p));
    }
  if (g_str_has_prefix (text, "pid"))
    {
      gchar *pid = g_strdup_printf ("%d", (int) getpid ());
      return g_bytes_new_take (pid, strlen (pid));
    }
  if (g_str_has_prefix (text, "segv-nocore"))
    {
      struct rlimit none = { 0, 0 };

      setrlimit (RLIMIT_CORE, &none);
      raise (SIGSEGV);
      return NULL;
    }
  if (g_str_has_prefix (text, "segv"))
    {
      raise (SIGSEGV);
      return NULL;
    }
  if (g_str_has_prefix (text, "abort"))
    abort ();
  if (g_str_has_prefix (text, "exit-later"))
    {
      /* Answers, then exits between tasks. */
      GSource *source = g_timeout_source_new (20);

      g_source_set_callback (source, exit_soon_source_cb, GINT_TO_POINTER (0), NULL);
      g_source_attach (source, g_main_context_get_thread_default ());
      g_source_unref (source);
      return g_bytes_new_static ("bye", 3);
    }
  if (g_str_has_prefix (text, "exit"))
    _exit (atoi (arg));
  if (g_str_has_prefix (text, "hang"))
    {
      for (;;)
        pause ();
    }
  if (g_str_has_prefix (text, "coop"))
    {
      /* Waits for the cancel, iterating its context. */
      GMainContext *context = g_main_context_get_thread_default ();
      GSource *tick = g_timeout_source_new (10);

      g_source_set_callback (tick, cancelled_flag_cb, NULL, NULL);
      g_source_attach (tick, context);
      while (!g_cancellable_is_cancelled (cancellable))
        g_main_context_iteration (context, TRUE);
      g_source_destroy (tick);
      g_source_unref (tick);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "stopped");
      return NULL;
    }
  if (g_str_has_prefix (text, "sleep"))
    {
      g_usleep ((gulong) atoi (arg) * 1000);
      return g_bytes_new_static ("slept", 5);
    }
  if (g_str_has_prefix (text, "error"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no such thing: %s", arg);
      return NULL;
    }
  if (g_str_has_prefix (text, "custom-error"))
    {
      /* A domain registered only here, in the worker. */
      g_set_error_literal (error, g_quark_from_string ("gipc-test-worker-only-error-quark"), 7, "custom");
      return NULL;
    }
  if (g_str_has_prefix (text, "alloc"))
    {
      gsize size = (gsize) g_ascii_strtoull (arg, NULL, 10);
      guint8 *p = g_try_malloc (size);

      if (p == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "could not allocate %" G_GSIZE_FORMAT, size);
          return NULL;
        }
      memset (p, 1, size);
      g_free (p);
      return g_bytes_new_static ("allocated", 9);
    }
  if (g_str_has_prefix (text, "big"))
    {
      gsize size = (gsize) g_ascii_strtoull (arg, NULL, 10);
      gpointer data;
      GBytes *bytes = gipc_shared_bytes_new (size, &data, error);

      if (bytes != NULL)
        {
          memset (data, 0x5a, size);
          ((guint8 *) data)[0] = 1;
          ((guint8 *) data)[size - 1] = 2;
        }
      return bytes;
    }
  if (g_str_has_prefix (text, "fds"))
    {
      /* Writes "hello" into the fd it got, sends back a pipe's read end
       * with "world" in it. */
      int in_fd, p[2];
      ssize_t unused G_GNUC_UNUSED;

      g_assert_nonnull (fds);
      in_fd = g_unix_fd_list_get (fds, 0, NULL);
      unused = write (in_fd, "hello", 5);
      close (in_fd);
      g_assert_no_errno (pipe (p));
      unused = write (p[1], "world", 5);
      close (p[1]);
      *out_fds = g_unix_fd_list_new_from_array (&p[0], 1);
      return g_bytes_new_static ("fds", 3);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown request %s", text);
  return NULL;
}

/* The write fd of inherited channel 0, read from GIPC_CHANNEL_FDS before
 * the channel is made: a rogue worker writes raw bytes to it. */
static int raw_write_fd = -1;

static void
remember_raw_write_fd (void)
{
  const gchar *env = g_getenv ("GIPC_CHANNEL_FDS");
  const gchar *colon = env != NULL ? strchr (env, ':') : NULL;

  if (colon != NULL)
    raw_write_fd = atoi (colon + 1);
}

/* The answer ring's layout (gipc-pool-ring-private.h), as a hostile worker
 * sees it: its header, the worker's write position at offset 64, the data
 * area after the header. */
#define RING_HEADER 256
#define RING_DATA   (64 * 1024)

/* Appends one record (length, message) at the ring's start and publishes
 * it, as gipc_worker_serve would for a first answer. */
static void
ring_put (guint8       *ring,
          const guint8 *msg,
          guint32       len)
{
  memcpy (ring + RING_HEADER, &len, 4);
  memcpy (ring + RING_HEADER + 4, msg, len);
  __atomic_store_n ((guint32 *) (ring + 64), 4 + ((len + 3) & ~3u), __ATOMIC_SEQ_CST);
}

/* Workers that do not speak the protocol. */
static gint
rogue_worker (GipcChannel *channel,
              const gchar *mode)
{
  g_autoptr(GBytes) request = NULL;
  g_autoptr(GUnixFDList) fds = NULL;

  g_autoptr(GUnixFDList) ring_fds = NULL;
  guint8 *ring = NULL;

  request = gipc_channel_receive_with_fds (channel, &fds, NULL, NULL);
  /* The pool's first message gives the worker its answer ring (kind 'M',
   * one fd): a rogue keeps it mapped for the ring-* modes, and answers on
   * the channel otherwise. */
  if (request != NULL && g_bytes_get_size (request) > 0 &&
      ((const guint8 *) g_bytes_get_data (request, NULL))[0] == 'M')
    {
      g_assert_nonnull (fds);
      ring_fds = g_steal_pointer (&fds);
      ring = mmap (NULL, RING_HEADER + RING_DATA, PROT_READ | PROT_WRITE, MAP_SHARED,
                   g_unix_fd_list_peek_fds (ring_fds, NULL)[0], 0);
      g_assert_true (ring != MAP_FAILED);
      g_clear_pointer (&request, g_bytes_unref);
      request = gipc_channel_receive_with_fds (channel, &fds, NULL, NULL);
    }
  if (request == NULL)
    return 1;
  if (g_str_has_prefix (mode, "ring-"))
    {
      guint64 id_be;
      guint8 msg[18] = { 'R', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'o', 'k' };

      g_assert_nonnull (ring);
      memcpy (&id_be, (const guint8 *) g_bytes_get_data (request, NULL) + 4, 8);
      if (g_str_equal (mode, "ring-seal"))
        {
          /* The ring's memfd is sealed: it cannot be shrunk under the
           * pool's mapping (a SIGBUS there), nor sealed further. */
          int fd = g_unix_fd_list_peek_fds (ring_fds, NULL)[0];
          gboolean refused = ftruncate (fd, 0) < 0 && fcntl (fd, F_ADD_SEALS, F_SEAL_WRITE) < 0;
          g_autoptr(GBytes) answer = NULL;

          memcpy (msg + 4, &id_be, 8);
          memcpy (msg + 16, refused ? "ok" : "NO", 2);
          answer = g_bytes_new (msg, sizeof msg);
          gipc_channel_send (channel, answer, NULL, NULL);
          g_usleep (G_USEC_PER_SEC * 30);
        }
      else if (g_str_equal (mode, "ring-answer-exit"))
        {
          /* A whole answer in the ring, then the exit at once. */
          memcpy (msg + 4, &id_be, 8);
          ring_put (ring, msg, sizeof msg);
          _exit (0);
        }
      else if (g_str_equal (mode, "ring-unknown-id"))
        {
          guint64 id = GUINT64_FROM_BE (id_be);
          guint64 other = GUINT64_TO_BE (id + 1000);

          memcpy (msg + 4, &other, 8);
          ring_put (ring, msg, sizeof msg);
        }
      else if (g_str_equal (mode, "ring-next-first"))
        {
          /* The answer of the task behind this one (sent, pipelined), and
           * none for this one: it waits, without a busy loop. */
          guint64 id = GUINT64_FROM_BE (id_be);
          guint64 next = GUINT64_TO_BE (id + 1);
          g_autoptr(GBytes) batch = gipc_channel_receive (channel, NULL, NULL);

          g_assert_nonnull (batch);  /* the next task's request came */
          memcpy (msg + 4, &next, 8);
          ring_put (ring, msg, sizeof msg);
        }
      else if (g_str_equal (mode, "ring-bad-length"))
        {
          guint32 len = 1u << 30;
          guint32 head = 8;

          memcpy (ring + RING_HEADER, &len, 4);
          __atomic_store_n ((guint32 *) (ring + 64), head, __ATOMIC_SEQ_CST);
        }
      else if (g_str_equal (mode, "ring-bad-head"))
        __atomic_store_n ((guint32 *) (ring + 64), 3u * RING_DATA, __ATOMIC_SEQ_CST);
      /* Wakes the pool (whether it waits or not): the answer is there. */
      {
        guint8 wake[16] = { 'W', 0, };
        g_autoptr(GBytes) w = g_bytes_new (wake, sizeof wake);

        gipc_channel_send (channel, w, NULL, NULL);
      }
      g_usleep (G_USEC_PER_SEC * 30);
    }
  else if (g_str_equal (mode, "garbage"))
    {
      g_autoptr(GBytes) junk = g_bytes_new_static ("this is not a result at all", 27);

      gipc_channel_send (channel, junk, NULL, NULL);
      g_usleep (G_USEC_PER_SEC * 30);
    }
  else if (g_str_equal (mode, "wrong-id"))
    {
      /* A well-formed result for a task it does not run. */
      guint8 msg[20] = { 'R', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 'o', 'o', 'p', 's' };
      g_autoptr(GBytes) junk = g_bytes_new (msg, sizeof msg);

      gipc_channel_send (channel, junk, NULL, NULL);
      g_usleep (G_USEC_PER_SEC * 30);
    }
  else if (g_str_equal (mode, "answer-exit"))
    {
      /* A whole result, then the exit at once: the exit may be seen before
       * the result; the result must win. */
      guint8 msg[18] = { 'R', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'o', 'k' };
      g_autoptr(GBytes) answer = NULL;

      memcpy (msg + 4, (const guint8 *) g_bytes_get_data (request, NULL) + 4, 8);
      answer = g_bytes_new (msg, sizeof msg);
      gipc_channel_send (channel, answer, NULL, NULL);
      _exit (0);
    }
  else if (g_str_equal (mode, "answer-linger-exit"))
    {
      /* A whole result, then the exit a while later, without reading the
       * next request: the pool's read of the channel then gets the end
       * as ECONNRESET (AF_UNIX, data of ours unread in its queue). */
      guint8 msg[18] = { 'R', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'o', 'k' };
      g_autoptr(GBytes) answer = NULL;

      memcpy (msg + 4, (const guint8 *) g_bytes_get_data (request, NULL) + 4, 8);
      answer = g_bytes_new (msg, sizeof msg);
      gipc_channel_send (channel, answer, NULL, NULL);
      g_usleep (300 * 1000);
      _exit (0);
    }
  else if (g_str_equal (mode, "partial-frame"))
    {
      /* Dies in the middle of writing its result: the channel frame's
       * header (fd wire format: length, no fds, inline) and the first
       * bytes of a result message announced as 20 bytes long, then
       * _exit(). */
      guint8 frame[8 + 10] = { 0, 0, 0, 20, 0, 0, 0, 0, 'R', 0, 0, 0 };

      g_assert_cmpint (raw_write_fd, >=, 0);
      memcpy (frame + 12, (const guint8 *) g_bytes_get_data (request, NULL) + 4, 6);
      gipc_test_write_all (raw_write_fd, frame, sizeof frame);
      _exit (0);
    }
  else if (g_str_equal (mode, "truncated"))
    {
      /* A result header announcing a separate payload, then the death. */
      guint8 msg[16] = { 'R', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
      g_autoptr(GBytes) header = NULL;

      /* The real task id is in the request (bytes 4-11). */
      memcpy (msg + 4, (const guint8 *) g_bytes_get_data (request, NULL) + 4, 8);
      header = g_bytes_new (msg, sizeof msg);
      gipc_channel_send (channel, header, NULL, NULL);
      _exit (0);
    }
  return 0;
}

static gint
serve_target (GipcProcess *process,
              GVariant    *args,
              gpointer     user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = NULL;
  const gchar *mode = args != NULL ? g_variant_get_string (args, NULL) : "serve";

  remember_raw_write_fd ();
  channel = gipc_channel_new_inherited (0, &error);

  g_assert_no_error (error);
  if (!g_str_equal (mode, "serve"))
    return rogue_worker (channel, mode);
  return gipc_worker_serve (channel, test_worker_func, NULL);
}

/* ---- helpers ---- */

static GBytes *
req (const gchar *text)
{
  return g_bytes_new (text, strlen (text));
}

/* Runs one task to its end, iterating the thread-default context. */
static GBytes *
run_one (GipcPool     *pool,
         const gchar  *text,
         GError      **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) request = req (text);

  gipc_pool_run_async (pool, request, NULL, NULL, gipc_test_result_cb, &result);
  gipc_test_run_until_result (NULL, &result);
  return gipc_pool_run_finish (pool, result, NULL, error);
}

static gint
bytes_to_int (GBytes *bytes)
{
  g_autofree gchar *s = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  return atoi (s);
}

typedef struct
{
  guint    n_called;
  GError  *error;
  GBytes  *bytes;
} Outcome;

static void
outcome_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Outcome *o = user_data;

  o->n_called++;
  g_assert_cmpuint (o->n_called, ==, 1);
  /* The pool while it exists (held weakly: gjs's Gio._promisify calls
   * run_finish on it), NULL once it is gone. */
  g_assert_true (source == NULL || GIPC_IS_POOL (source));
  /* The pool may be gone already: finish without it. */
  o->bytes = gipc_pool_run_finish (NULL, result, NULL, &o->error);
}

static void
outcome_clear (Outcome *o)
{
  g_clear_error (&o->error);
  g_clear_pointer (&o->bytes, g_bytes_unref);
  o->n_called = 0;
}

/* ---- tests ---- */

static void
test_basic_fork (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) a = NULL;
  g_autoptr(GBytes) p1 = NULL;
  g_autoptr(GBytes) p2 = NULL;

  gipc_pool_set_max_workers (pool, 1);
  a = run_one (pool, "echo:hello", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (a, "hello");

  /* Warm: the same worker runs the next tasks. */
  p1 = run_one (pool, "pid", &error);
  g_assert_no_error (error);
  p2 = run_one (pool, "pid", &error);
  g_assert_no_error (error);
  g_assert_cmpint (bytes_to_int (p1), ==, bytes_to_int (p2));
  g_assert_cmpint (bytes_to_int (p1), !=, getpid ());
  g_assert_cmpuint (gipc_pool_get_workers (pool), ==, 1);
  g_assert_cmpuint (gipc_pool_get_running_tasks (pool), ==, 0);
  g_assert_cmpuint (gipc_pool_get_queued_tasks (pool), ==, 0);
}

static void
test_errors (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) none = NULL;

  none = run_one (pool, "error:thing", &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "no such thing: thing");
  g_clear_error (&error);

  none = run_one (pool, "custom-error", &error);
  g_assert_null (none);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "gipc-test-worker-only-error-quark"));
  g_assert_nonnull (strstr (error->message, "custom"));
}

static void
assert_died (GipcPool    *pool,
             const gchar *command,
             const gchar *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) none = run_one (pool, command, &error);
  g_autoptr(GBytes) ok = NULL;

  g_assert_null (none);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED);
  g_test_message ("%s: %s", command, error->message);
  g_assert_nonnull (strstr (error->message, what));
  g_assert_nonnull (strstr (error->message, "Worker process "));
  g_clear_error (&error);

  /* The pool is still good. */
  ok = run_one (pool, "echo:after", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (ok, "after");
}

static void
test_crashes (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);

  gipc_pool_set_max_workers (pool, 1);
  assert_died (pool, "segv", "signal 11");
  assert_died (pool, "abort", "signal 6");
  assert_died (pool, "exit:3", "exited with status 3");
  assert_died (pool, "exit:0", "exited with status 0");
}

/* WORKER_DIED says whether a core was dumped as the kernel reported it for
 * the worker (gipc_process_get_core_dumped), not from this program's own
 * core size limit: here the program may dump cores, the worker may not. */
static void
test_crash_core_dumped (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  struct rlimit rl;

  g_assert_cmpint (getrlimit (RLIMIT_CORE, &rl), ==, 0);
  if (rl.rlim_max == 0)
    {
      g_test_skip ("the hard core size limit is 0: a worker never dumps one");
      return;
    }
  rl.rlim_cur = rl.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_CORE, &rl), ==, 0);

  gipc_pool_set_max_workers (pool, 1);
  assert_died (pool, "segv-nocore", "signal 11");
  assert_died (pool, "segv-nocore", "; no core dumped");
}

static void
test_timeout (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) none = NULL;
  g_autoptr(GBytes) ok = NULL;

  gipc_pool_set_max_workers (pool, 1);
  gipc_pool_set_task_timeout (pool, 200);
  none = run_one (pool, "hang", &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  ok = run_one (pool, "echo:x", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (ok, "x");
}

static void
test_cancel_queued_and_running (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GCancellable) c1 = g_cancellable_new ();
  g_autoptr(GCancellable) c2 = g_cancellable_new ();
  g_autoptr(GBytes) hang = req ("hang");
  g_autoptr(GBytes) echo = req ("echo:queued");
  g_autoptr(GBytes) ok = NULL;
  g_autoptr(GError) error = NULL;
  Outcome o1 = { 0, }, o2 = { 0, };

  gipc_pool_set_max_workers (pool, 1);
  gipc_pool_run_async (pool, hang, NULL, c1, outcome_cb, &o1);
  gipc_pool_run_async (pool, echo, NULL, c2, outcome_cb, &o2);
  /* Wait until the first runs. */
  while (gipc_pool_get_running_tasks (pool) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (gipc_pool_get_queued_tasks (pool), ==, 1);

  g_cancellable_cancel (c2);
  while (o2.n_called == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (o2.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (o1.n_called, ==, 0);
  g_assert_cmpuint (gipc_pool_get_queued_tasks (pool), ==, 0);

  g_cancellable_cancel (c1);
  while (o1.n_called == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (o1.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  ok = run_one (pool, "echo:again", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (ok, "again");
  gipc_test_drain_context (NULL);
  g_assert_cmpuint (o1.n_called, ==, 1);
  g_assert_cmpuint (o2.n_called, ==, 1);
  outcome_clear (&o1);
  outcome_clear (&o2);
}

static void
count_pid_cb (GipcPool    *pool,
              GipcProcess *worker,
              gpointer     user_data)
{
  (*(guint *) user_data)++;
}

static void
record_exit_cb (GipcPool    *pool,
                GipcProcess *worker,
                gpointer     user_data)
{
  GArray *codes = user_data;
  gint code = gipc_process_get_exit_code (worker);

  g_array_append_val (codes, code);
}

static void
close_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data);

/* A worker that answers the cancel within cancel-grace is not killed; one
 * that has no grace is. */
static void
test_cancel_cooperative (void)
{
  guint round;

  for (round = 0; round < 2; round++)
    {
      g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
      g_autoptr(GCancellable) c = g_cancellable_new ();
      g_autoptr(GBytes) coop = req ("coop");
      g_autoptr(GBytes) p = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GArray) codes = g_array_new (FALSE, FALSE, sizeof (gint));
      Outcome o = { 0, };
      gboolean closed = FALSE;

      gipc_pool_set_max_workers (pool, 1);
      gipc_pool_set_cancel_grace (pool, round == 0 ? 20000 : 0);
      g_signal_connect (pool, "worker-exited", G_CALLBACK (record_exit_cb), codes);
      gipc_pool_run_async (pool, coop, NULL, c, outcome_cb, &o);
      while (gipc_pool_get_running_tasks (pool) == 0)
        g_main_context_iteration (NULL, TRUE);
      g_cancellable_cancel (c);
      while (o.n_called == 0)
        g_main_context_iteration (NULL, TRUE);
      g_assert_error (o.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpuint (gipc_pool_get_running_tasks (pool), ==, 0);

      /* Back to full strength at once. */
      p = run_one (pool, "pid", &error);
      g_assert_no_error (error);

      gipc_pool_close_async (pool, NULL, close_cb, &closed);
      gipc_test_run_until (NULL, &closed);
      if (round == 0)
        {
          /* Answered the cancel, then stopped cleanly when closed. */
          g_assert_cmpuint (codes->len, >=, 1);
          for (guint i = 0; i < codes->len; i++)
            g_assert_cmpint (g_array_index (codes, gint, i), ==, 0);
        }
      else
        {
          guint killed = 0;

          for (guint i = 0; i < codes->len; i++)
            killed += g_array_index (codes, gint, i) == -SIGKILL;
          g_assert_cmpuint (killed, ==, 1);
        }
      outcome_clear (&o);
    }
}

static void
source_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GObject **out = user_data;
  g_autoptr(GObject) from_result = g_async_result_get_source_object (result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = gipc_pool_run_finish (NULL, result, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (from_result == source);
  g_assert_nonnull (source);
  *out = source;
}

static void
keep_result_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GAsyncResult **out = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = gipc_pool_run_finish (GIPC_POOL (source), result, NULL, &error);

  g_assert_no_error (error);
  gipc_test_assert_bytes_str (bytes, "kept");
  *out = g_object_ref (result);
}

/* A task's result that its callback keeps stays what it was while later
 * tasks complete: its user data, its tag, its source object while the pool
 * exists and NULL after (the results reach the pool through a handle the
 * tasks share, not a GWeakRef each). */
static void
test_result_kept (void)
{
  GipcPool *pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) kept_req = req ("echo:kept");
  g_autoptr(GAsyncResult) kept = NULL;
  g_autoptr(GObject) source = NULL;
  GipcPool *weak = pool;
  guint i;

  gipc_pool_run_async (pool, kept_req, NULL, NULL, keep_result_cb, &kept);
  while (kept == NULL)
    g_main_context_iteration (NULL, TRUE);

  for (i = 0; i < 20; i++)
    {
      g_autoptr(GBytes) echo = req ("echo:x");
      GAsyncResult *later = NULL;

      gipc_pool_run_async (pool, echo, NULL, NULL, gipc_test_result_cb, &later);
      gipc_test_run_until_result (NULL, &later);
      g_assert_true (later != kept);
      g_assert_true (g_async_result_get_user_data (later) == &later);
      g_object_unref (later);
    }

  g_assert_true (g_async_result_get_user_data (kept) == &kept);
  g_assert_true (g_async_result_is_tagged (kept, gipc_pool_run_async));
  g_assert_false (g_async_result_is_tagged (kept, gipc_pool_close_async));
  source = g_async_result_get_source_object (kept);
  g_assert_true (source == G_OBJECT (pool));
  g_clear_object (&source);

  g_object_add_weak_pointer (G_OBJECT (pool), (gpointer *) &weak);
  g_object_unref (pool);
  g_assert_null (weak);  /* the kept result does not keep the pool */
  g_assert_null (g_async_result_get_source_object (kept));
  g_assert_true (g_async_result_get_user_data (kept) == &kept);
  g_assert_true (g_async_result_is_tagged (kept, gipc_pool_run_async));
}

/* A task's callback gets the pool as its source object while the pool
 * exists (gjs's Gio._promisify calls run_finish on it); the pending task
 * did not keep the pool alive (see test_finalize_pending). */
static void
test_source_object (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) echo = req ("echo:x");
  GObject *source = NULL;

  gipc_pool_run_async (pool, echo, NULL, NULL, source_cb, &source);
  while (source == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (source == G_OBJECT (pool));
}

static void
assert_run (GipcPool    *pool,
            const gchar *command,
            const gchar *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = run_one (pool, command, &error);

  g_assert_no_error (error);
  gipc_test_assert_bytes_str (bytes, expected);
}

/* A worker serves request after request with one GCancellable (making and
 * finalizing one costs more than a tiny task), but never one that was
 * cancelled, that the worker function kept, or that it left a handler on. */
static void
test_cancellable_per_task (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) pid1 = NULL, pid2 = NULL;
  g_autoptr(GError) error = NULL;
  guint i;

  gipc_pool_set_max_workers (pool, 1);
  pid1 = run_one (pool, "pid", &error);
  g_assert_no_error (error);

  /* Reused: the object "watch" pointed to (a weak pointer, NULL once it
   * is finalized) is the next tasks' cancellable. */
  assert_run (pool, "watch", "watched");
  assert_run (pool, "cancel-state", "uncancelled same");
  assert_run (pool, "cancel-state", "uncancelled same");

  /* Kept by the function: the next task gets another, and a later task's
   * cancel (here by the function itself: a cancel from the pool cancels
   * the same object, and may leave the task's answer to another worker)
   * does not reach the kept one. */
  assert_run (pool, "hold", "held");
  assert_run (pool, "cancel-state", "uncancelled other");
  assert_run (pool, "self-cancel", "done");
  assert_run (pool, "held-state", "uncancelled 0");
  assert_run (pool, "cancel-state", "uncancelled other");

  /* A handler left on it without a reference: the cancellable is given up
   * (and, held by nothing, finalized), so a later task's cancel does not
   * run the handler. */
  assert_run (pool, "hold-connect", "held");
  assert_run (pool, "self-cancel", "done");
  assert_run (pool, "held-state", "none 0");
  assert_run (pool, "cancel-state", "uncancelled other");

  /* A cancellable cancelled during a task (here by the function itself,
   * and after a cancel from the pool above) is not the next task's. */
  assert_run (pool, "watch", "watched");
  assert_run (pool, "self-cancel", "done");
  for (i = 0; i < 3; i++)
    assert_run (pool, "cancel-state", "uncancelled other");
  assert_run (pool, "held-state", "none 0");

  pid2 = run_one (pool, "pid", &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (pid1, pid2));  /* one worker all along */
}

/* A function whose cancellable another thread holds for a while after it
 * returned: the worker's count of references, kept from notifications in
 * that thread, lets each task run with an uncancelled cancellable, and the
 * worker (and, under valgrind or ASan, its memory) stays sound. */
static void
test_cancellable_other_thread (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) pid1 = NULL, pid2 = NULL;
  g_autoptr(GError) error = NULL;
  guint i;

  gipc_pool_set_max_workers (pool, 1);
  pid1 = run_one (pool, "pid", &error);
  g_assert_no_error (error);
  for (i = 0; i < 100; i++)
    {
      assert_run (pool, "task-in-thread", "ran");
      assert_run (pool, "cancel-state", "uncancelled other");
    }
  assert_run (pool, "self-cancel", "done");
  assert_run (pool, "task-in-thread", "ran");
  assert_run (pool, "cancel-state", "uncancelled other");
  pid2 = run_one (pool, "pid", &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (pid1, pid2));
}

/* Tasks sent to a worker behind its current one (pipelining) never run
 * twice and are not lost when the current one crashes, hangs or is
 * cancelled; a cancelled one behind is skipped without killing the worker. */
static void
test_pipelined (void)
{
  const gchar *heads[] = { "segv", "hang", "coop" };
  guint round;

  for (round = 0; round < G_N_ELEMENTS (heads); round++)
    {
      g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
      g_autoptr(GBytes) head = req (heads[round]);
      g_autoptr(GCancellable) head_cancel = g_cancellable_new ();
      g_autoptr(GCancellable) behind_cancel = g_cancellable_new ();
      g_autoptr(GArray) codes = g_array_new (FALSE, FALSE, sizeof (gint));
      Outcome o[8] = { { 0, }, };
      Outcome h = { 0, };
      guint i, total;

      gipc_pool_set_max_workers (pool, 1);
      if (round == 1)
        gipc_pool_set_task_timeout (pool, 300);
      gipc_pool_set_cancel_grace (pool, round == 2 ? 10000 : 0);
      g_signal_connect (pool, "worker-exited", G_CALLBACK (record_exit_cb), codes);
      gipc_pool_run_async (pool, head, NULL, head_cancel, outcome_cb, &h);
      for (i = 0; i < 8; i++)
        {
          g_autofree gchar *text = g_strdup_printf ("echo:%u", i);
          g_autoptr(GBytes) request = req (text);

          gipc_pool_run_async (pool, request, NULL, i == 3 ? behind_cancel : NULL, outcome_cb, &o[i]);
        }
      /* The head runs and more than one task was given to the worker. */
      while (gipc_pool_get_running_tasks (pool) < 2)
        g_main_context_iteration (NULL, TRUE);
      g_cancellable_cancel (behind_cancel);
      if (round == 2)
        g_cancellable_cancel (head_cancel);
      do
        {
          g_main_context_iteration (NULL, TRUE);
          for (total = h.n_called, i = 0; i < 8; i++)
            total += o[i].n_called;
        }
      while (total < 9);

      if (round == 0)
        g_assert_error (h.error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED);
      else if (round == 1)
        g_assert_error (h.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
      else
        g_assert_error (h.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      for (i = 0; i < 8; i++)
        {
          g_autofree gchar *text = g_strdup_printf ("%u", i);

          g_assert_cmpuint (o[i].n_called, ==, 1);
          if (i == 3)
            g_assert_error (o[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          else
            {
              g_assert_no_error (o[i].error);
              gipc_test_assert_bytes_str (o[i].bytes, text);
            }
          outcome_clear (&o[i]);
        }
      outcome_clear (&h);
      /* The cooperative round killed nobody: the skipped task did not
       * cost its worker. */
      if (round == 2)
        for (i = 0; i < codes->len; i++)
          g_assert_cmpint (g_array_index (codes, gint, i), !=, -SIGKILL);
    }
}

static void
test_restart_intensity (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) ok = NULL;
  guint i;

  gipc_pool_set_max_workers (pool, 1);
  gipc_pool_set_restart_intensity (pool, 3);
  gipc_pool_set_restart_period (pool, 60000);
  for (i = 0; i < 4; i++)
    {
      g_autoptr(GBytes) none = run_one (pool, "exit:1", &error);
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED);
      g_clear_error (&error);
    }
  /* 4 deaths > 3: broken. */
  ok = run_one (pool, "echo:x", &error);
  g_assert_null (ok);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_POOL_BROKEN);
  g_clear_error (&error);
  g_assert_cmpuint (gipc_pool_get_workers (pool), ==, 0);

  gipc_pool_reset (pool);
  ok = run_one (pool, "echo:y", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (ok, "y");
}

static void
test_recycling (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  gint pids[6];
  guint i;

  gipc_pool_set_max_workers (pool, 1);
  gipc_pool_set_max_tasks_per_worker (pool, 2);
  for (i = 0; i < 6; i++)
    {
      g_autoptr(GBytes) p = run_one (pool, "pid", &error);
      g_assert_no_error (error);
      pids[i] = bytes_to_int (p);
    }
  g_assert_cmpint (pids[0], ==, pids[1]);
  g_assert_cmpint (pids[1], !=, pids[2]);
  g_assert_cmpint (pids[2], ==, pids[3]);
  g_assert_cmpint (pids[3], !=, pids[4]);
  g_assert_cmpint (pids[4], ==, pids[5]);
}

static void
test_idle_timeout (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) sleep_req = req ("sleep:200");
  Outcome o[3] = { { 0, }, };
  guint i, exited = 0;

  gipc_pool_set_max_workers (pool, 3);
  gipc_pool_set_min_workers (pool, 1);
  gipc_pool_set_idle_timeout (pool, 100);
  g_signal_connect (pool, "worker-exited", G_CALLBACK (count_pid_cb), &exited);
  for (i = 0; i < 3; i++)
    gipc_pool_run_async (pool, sleep_req, NULL, NULL, outcome_cb, &o[i]);
  while (o[0].n_called + o[1].n_called + o[2].n_called < 3)
    g_main_context_iteration (NULL, TRUE);
  for (i = 0; i < 3; i++)
    {
      g_assert_no_error (o[i].error);
      outcome_clear (&o[i]);
    }
  g_assert_cmpuint (gipc_pool_get_workers (pool), >=, 2);
  while (gipc_pool_get_workers (pool) > 1 || exited < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (gipc_pool_get_workers (pool), ==, 1);
  g_assert_cmpuint (exited, ==, 2);
}

static void
notify_count_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  guint *transitions = user_data;

  if (gipc_pool_is_congested (GIPC_POOL (object)))
    transitions[0]++;
  else
    transitions[1]++;
}

static void
test_congested (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) sleep_req = req ("sleep:10");
  Outcome o[20] = { { 0, }, };
  guint transitions[2] = { 0, 0 };
  guint i, total;

  gipc_pool_set_max_workers (pool, 1);
  gipc_pool_set_max_queued (pool, 2);
  g_signal_connect (pool, "notify::congested", G_CALLBACK (notify_count_cb), transitions);
  g_assert_false (gipc_pool_is_congested (pool));
  for (i = 0; i < 20; i++)
    gipc_pool_run_async (pool, sleep_req, NULL, NULL, outcome_cb, &o[i]);
  /* run_async never refuses; congested is seen from the caller's thread
   * (more wait than the busy worker takes behind its current task). */
  g_assert_true (gipc_pool_is_congested (pool));
  do
    {
      g_main_context_iteration (NULL, TRUE);
      for (total = 0, i = 0; i < 20; i++)
        total += o[i].n_called;
    }
  while (total < 20);
  g_assert_false (gipc_pool_is_congested (pool));
  g_assert_cmpuint (transitions[0], ==, 1);
  g_assert_cmpuint (transitions[1], ==, 1);
  for (i = 0; i < 20; i++)
    {
      g_assert_no_error (o[i].error);
      outcome_clear (&o[i]);
    }
}

static void
test_fds_both_ways (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr(GUnixFDList) out_fds = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) request = req ("fds");
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  char buf[16] = { 0, };
  int p[2], got;

  g_assert_no_errno (pipe (p));
  g_assert_cmpint (g_unix_fd_list_append (fds, p[1], &error), ==, 0);
  close (p[1]);
  gipc_pool_run_async (pool, request, fds, NULL, gipc_test_result_cb, &result);
  gipc_test_run_until_result (NULL, &result);
  answer = gipc_pool_run_finish (pool, result, &out_fds, &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (answer, "fds");
  g_clear_object (&fds);  /* closes our copy of the write end */
  g_assert_cmpint (read (p[0], buf, sizeof buf), ==, 5);
  g_assert_cmpstr (buf, ==, "hello");
  close (p[0]);
  g_assert_nonnull (out_fds);
  g_assert_cmpint (g_unix_fd_list_get_length (out_fds), ==, 1);
  got = g_unix_fd_list_get (out_fds, 0, &error);
  memset (buf, 0, sizeof buf);
  g_assert_cmpint (read (got, buf, sizeof buf), ==, 5);
  g_assert_cmpstr (buf, ==, "world");
  close (got);
}

static void
test_big_result (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) big = NULL;
  gsize size = 256 * MiB;
  const guint8 *data;
  gsize rss_before = gipc_test_status_kib ("VmRSS:");

  big = run_one (pool, "big:268435456", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (big), ==, size);
  data = g_bytes_get_data (big, NULL);
  g_assert_cmpint (data[0], ==, 1);
  g_assert_cmpint (data[size / 2], ==, 0x5a);
  g_assert_cmpint (data[size - 1], ==, 2);
  /* Mapped, not copied: touching three pages did not bring 256 MiB in. */
  if (!GIPC_TEST_ASAN)
    g_assert_cmpuint (gipc_test_status_kib ("VmRSS:"), <, rss_before + 64 * 1024);
}

static void
test_finalize_pending (void)
{
  GipcPool *pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) hang = req ("hang");
  Outcome o[5] = { { 0, }, };
  guint i, exited = 0;

  gipc_pool_set_max_workers (pool, 2);
  g_signal_connect (pool, "worker-exited", G_CALLBACK (count_pid_cb), &exited);
  for (i = 0; i < 5; i++)
    gipc_pool_run_async (pool, hang, NULL, NULL, outcome_cb, &o[i]);
  while (gipc_pool_get_running_tasks (pool) < 2)
    g_main_context_iteration (NULL, TRUE);
  g_object_unref (pool);  /* finalized at once, pending tasks or not */
  for (i = 0; i < 5; i++)
    while (o[i].n_called == 0)
      g_main_context_iteration (NULL, TRUE);
  for (i = 0; i < 5; i++)
    {
      g_assert_cmpuint (o[i].n_called, ==, 1);
      g_assert_error (o[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      outcome_clear (&o[i]);
    }
}

static GipcPool *unref_pool;

static void
unref_pool_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Outcome *o = user_data;

  outcome_cb (source, result, user_data);
  if (o->n_called == 1)
    g_clear_object (&unref_pool);
}

/* The last reference dropped in the callback of a task whose worker died,
 * while the replacement worker waits to be started: nothing leaks (the
 * ASan and valgrind runs of this test found the waiting worker leaked). */
static void
test_unref_in_death_callback (void)
{
  g_autoptr(GBytes) die = req ("exit:1");
  g_autoptr(GBytes) echo = req ("echo:x");
  Outcome o[2] = { { 0, }, };

  unref_pool = gipc_pool_new (test_worker_func, NULL, NULL);
  gipc_pool_set_max_workers (unref_pool, 1);
  gipc_pool_run_async (unref_pool, die, NULL, NULL, unref_pool_cb, &o[0]);
  gipc_pool_run_async (unref_pool, echo, NULL, NULL, outcome_cb, &o[1]);
  while (o[0].n_called + o[1].n_called < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (unref_pool);
  g_assert_error (o[0].error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED);
  g_assert_error (o[1].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  outcome_clear (&o[0]);
  outcome_clear (&o[1]);
  gipc_test_drain_context (NULL);
}

typedef struct
{
  GipcPool *pool;
  guint     remaining;
  guint     done;
  gboolean  nested;
} Chain;

static void chain_cb (GObject *, GAsyncResult *, gpointer);

static void
chain_submit (Chain *chain)
{
  g_autoptr(GBytes) request = req ("echo:chain");

  gipc_pool_run_async (chain->pool, request, NULL, NULL, chain_cb, chain);
}

static void
chain_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Chain *chain = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = gipc_pool_run_finish (chain->pool, result, NULL, &error);

  g_assert_no_error (error);
  gipc_test_assert_bytes_str (bytes, "chain");
  chain->done++;
  if (chain->nested && chain->done == 1)
    {
      /* A nested loop inside the callback: other tasks still complete. */
      g_autoptr(GBytes) inner = run_one (chain->pool, "echo:nested", &error);
      g_assert_no_error (error);
      gipc_test_assert_bytes_str (inner, "nested");
    }
  if (chain->remaining > 0)
    {
      chain->remaining--;
      chain_submit (chain);
    }
}

static void
test_callback_reentrancy (void)
{
  Chain chain = { NULL, 10, 0, TRUE };
  Outcome o[3] = { { 0, }, };
  g_autoptr(GBytes) sleep_req = req ("sleep:20");
  guint i;

  chain.pool = gipc_pool_new (test_worker_func, NULL, NULL);
  gipc_pool_set_max_workers (chain.pool, 2);
  chain_submit (&chain);
  while (chain.done < 11)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&chain.pool);

  /* A callback that drops the last reference, with tasks still pending. */
  unref_pool = gipc_pool_new (test_worker_func, NULL, NULL);
  gipc_pool_set_max_workers (unref_pool, 1);
  gipc_pool_run_async (unref_pool, sleep_req, NULL, NULL, unref_pool_cb, &o[0]);
  gipc_pool_run_async (unref_pool, sleep_req, NULL, NULL, outcome_cb, &o[1]);
  gipc_pool_run_async (unref_pool, sleep_req, NULL, NULL, outcome_cb, &o[2]);
  while (o[0].n_called + o[1].n_called + o[2].n_called < 3)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (unref_pool);
  g_assert_no_error (o[0].error);
  /* The worker was free for the next task before the callback ran, so the
   * second may have finished or been cancelled; the third was cancelled. */
  g_assert_error (o[2].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  for (i = 0; i < 3; i++)
    outcome_clear (&o[i]);
}

typedef struct
{
  GipcPool *pool;
  guint     running_seen;
  guint     queued_seen;
  Outcome   outcome;
} FreeFirst;

static void
free_first_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  FreeFirst *ff = user_data;

  ff->running_seen = gipc_pool_get_running_tasks (ff->pool);
  ff->queued_seen = gipc_pool_get_queued_tasks (ff->pool);
  outcome_cb (source, result, &ff->outcome);
}

/* A worker is free for the next task before the finished task's callback
 * runs: in the first callback, the second task already runs. */
static void
test_free_before_callback (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) first = req ("echo:1");
  g_autoptr(GBytes) second = req ("sleep:100");
  FreeFirst ff = { pool, 0, 0, { 0, } };
  Outcome o = { 0, };

  gipc_pool_set_max_workers (pool, 1);
  gipc_pool_run_async (pool, first, NULL, NULL, free_first_cb, &ff);
  gipc_pool_run_async (pool, second, NULL, NULL, outcome_cb, &o);
  while (o.n_called == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (ff.outcome.error);
  g_assert_cmpuint (ff.running_seen, ==, 1);
  g_assert_cmpuint (ff.queued_seen, ==, 0);
  g_assert_no_error (o.error);
  outcome_clear (&ff.outcome);
  outcome_clear (&o);
}

typedef struct
{
  GipcPool *pool;
  guint     n;
  gint      ok;  /* atomic */
} ThreadData;

static gpointer
thread_async_func (gpointer data)
{
  ThreadData *td = data;
  GMainContext *context = g_main_context_new ();
  guint i, total;
  Outcome *o = g_new0 (Outcome, td->n);

  g_main_context_push_thread_default (context);
  for (i = 0; i < td->n; i++)
    {
      g_autofree gchar *text = g_strdup_printf ("echo:%u", i);
      g_autoptr(GBytes) request = req (text);

      gipc_pool_run_async (td->pool, request, NULL, NULL, outcome_cb, &o[i]);
    }
  do
    {
      g_main_context_iteration (context, TRUE);
      for (total = 0, i = 0; i < td->n; i++)
        total += o[i].n_called;
    }
  while (total < td->n);
  for (i = 0; i < td->n; i++)
    {
      g_autofree gchar *text = g_strdup_printf ("%u", i);

      g_assert_no_error (o[i].error);
      gipc_test_assert_bytes_str (o[i].bytes, text);
      outcome_clear (&o[i]);
      g_atomic_int_inc (&td->ok);
    }
  g_free (o);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static gpointer
thread_sync_func (gpointer data)
{
  ThreadData *td = data;
  guint i;

  for (i = 0; i < td->n; i++)
    {
      g_autofree gchar *text = g_strdup_printf ("echo:s%u", i);
      g_autoptr(GBytes) request = req (text);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = gipc_pool_run (td->pool, request, NULL, NULL, NULL, &error);

      g_assert_no_error (error);
      gipc_test_assert_bytes_str (bytes, text + 5);
      g_atomic_int_inc (&td->ok);
    }
  return NULL;
}

/* gipc_pool_run from threads while nobody iterates the pool's context;
 * then run_async from threads with contexts of their own (and a sync
 * caller beside them) while the pool's context is iterated. */
static void
test_threads (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new_for_target (server, "serve", NULL);
  ThreadData td[3];
  GThread *threads[3];
  guint i;

  gipc_pool_set_max_workers (pool, 3);

  for (i = 0; i < 2; i++)
    {
      td[i].pool = pool;
      td[i].n = 50;
      td[i].ok = 0;
      threads[i] = g_thread_new ("pool-sync", thread_sync_func, &td[i]);
    }
  for (i = 0; i < 2; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpint (td[i].ok, ==, 50);
    }

  for (i = 0; i < 3; i++)
    {
      td[i].pool = pool;
      td[i].n = 50;
      td[i].ok = 0;
      threads[i] = g_thread_new ("pool-test", i < 2 ? thread_async_func : thread_sync_func, &td[i]);
    }
  while (g_atomic_int_get (&td[0].ok) + g_atomic_int_get (&td[1].ok) + g_atomic_int_get (&td[2].ok) < 150)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  for (i = 0; i < 3; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpint (td[i].ok, ==, 50);
    }
}

static void
test_sync_no_loop (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) request = req ("echo:sync");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = gipc_pool_run (pool, request, NULL, NULL, NULL, &error);
  g_autoptr(GBytes) segv = req ("segv");
  g_autoptr(GBytes) none = NULL;

  g_assert_no_error (error);
  gipc_test_assert_bytes_str (bytes, "sync");
  none = gipc_pool_run (pool, segv, NULL, NULL, NULL, &error);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED);
}

typedef struct
{
  guint  index;
  guint *next;     /* the index the next callback must have */
  Outcome outcome;
} Ordered;

static void
ordered_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Ordered *o = user_data;

  g_assert_cmpuint (o->index, ==, *o->next);
  (*o->next)++;
  outcome_cb (source, result, &o->outcome);
}

/* Answers of one worker travel by two ways: small ones (results and
 * errors) in its ring, large ones on its channel (inline from 4 KiB, as a
 * shared-memory message of their own from 64 KiB). Pipelined, they still
 * complete in order, each with its own answer. */
static void
test_ring_mixed_order (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  const guint n = 200;
  g_autofree Ordered *o = g_new0 (Ordered, n);
  guint next = 0, i;

  gipc_pool_set_max_workers (pool, 1);
  for (i = 0; i < n; i++)
    {
      g_autofree gchar *text = NULL;
      g_autoptr(GBytes) request = NULL;

      switch (i % 5)
        {
        case 0: text = g_strdup_printf ("echo:%u", i); break;
        case 1: text = g_strdup ("big:5000"); break;
        case 2: text = g_strdup_printf ("error:%u", i); break;
        case 3: text = g_strdup ("big:70000"); break;
        default: text = g_strdup ("big:10"); break;
        }
      request = req (text);
      o[i].index = i;
      o[i].next = &next;
      gipc_pool_run_async (pool, request, NULL, NULL, ordered_cb, &o[i]);
    }
  while (next < n)
    g_main_context_iteration (NULL, TRUE);

  for (i = 0; i < n; i++)
    {
      Outcome *out = &o[i].outcome;

      switch (i % 5)
        {
        case 0:
          {
            g_autofree gchar *want = g_strdup_printf ("%u", i);

            g_assert_no_error (out->error);
            gipc_test_assert_bytes_str (out->bytes, want);
          }
          break;
        case 2:
          {
            g_autofree gchar *want = g_strdup_printf ("no such thing: %u", i);

            g_assert_error (out->error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
            g_assert_cmpstr (out->error->message, ==, want);
          }
          break;
        default:
          {
            gsize size, want = i % 5 == 1 ? 5000 : i % 5 == 3 ? 70000 : 10;
            const guint8 *data;

            g_assert_no_error (out->error);
            data = g_bytes_get_data (out->bytes, &size);
            g_assert_cmpuint (size, ==, want);
            g_assert_cmpuint (data[0], ==, 1);
            g_assert_cmpuint (data[size - 1], ==, 2);
          }
          break;
        }
      outcome_clear (out);
    }
}

static void
max_running_cb (GObject    *object,
                GParamSpec *pspec,
                gpointer    user_data)
{
  guint *max = user_data;

  *max = MAX (*max, gipc_pool_get_running_tasks (GIPC_POOL (object)));
}

/* How many tasks a busy worker is sent: at most 16 while its tasks take
 * milliseconds (fewer wait behind one worker), never more than 256 however
 * short they are (how deep it goes for tiny tasks depends on the
 * machine's pace: the benchmark measures that). */
static void
pipeline_depth_run (const gchar *text,
                    guint        n,
                    guint        bound)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) request = req (text);
  Outcome *o = g_new0 (Outcome, n);
  guint max_running = 0, total, i;

  gipc_pool_set_max_workers (pool, 1);
  g_signal_connect (pool, "notify::running-tasks", G_CALLBACK (max_running_cb), &max_running);
  for (i = 0; i < n; i++)
    gipc_pool_run_async (pool, request, NULL, NULL, outcome_cb, &o[i]);
  do
    {
      g_main_context_iteration (NULL, TRUE);
      for (total = 0, i = 0; i < n; i++)
        total += o[i].n_called;
    }
  while (total < n);
  for (i = 0; i < n; i++)
    {
      g_assert_no_error (o[i].error);
      outcome_clear (&o[i]);
    }
  g_free (o);
  g_test_message ("%s: at most %u running", text, max_running);
  g_assert_cmpuint (max_running, >, 1);
  g_assert_cmpuint (max_running, <=, bound);
}

static void
test_pipeline_depth (void)
{
  pipeline_depth_run ("sleep:5", 40, 16);
  pipeline_depth_run ("echo:x", 3000, 256);
}

/* Workers that abuse their answer ring: each costs its own task a clear
 * error (or, for a whole answer before the exit, the answer), never a
 * crash of the program, a hang or a busy loop. */
static void
test_ring_rogues (void)
{
  const struct { const gchar *mode; gint code; } bad[] = {
    { "ring-unknown-id", GIPC_ERROR_PROTOCOL },
    { "ring-bad-length", GIPC_ERROR_PROTOCOL },
    { "ring-bad-head", GIPC_ERROR_PROTOCOL },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GipcPool) pool = gipc_pool_new_for_target (server, "serve", g_variant_new_string (bad[i].mode));
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) none = run_one (pool, "echo:x", &error);

      g_test_message ("%s: %s", bad[i].mode, error != NULL ? error->message : "(none)");
      g_assert_null (none);
      g_assert_error (error, GIPC_ERROR, bad[i].code);
    }

  /* Its memfd is sealed against shrinking (a SIGBUS in the program) and
   * further seals. */
  {
    g_autoptr(GipcPool) pool = gipc_pool_new_for_target (server, "serve", g_variant_new_string ("ring-seal"));
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) answer = run_one (pool, "echo:x", &error);

    g_assert_no_error (error);
    gipc_test_assert_bytes_str (answer, "ok");
  }

  /* An answer in the ring, then the exit at once: the answer wins, however
   * the exit and the wakeup race. */
  for (i = 0; i < 5; i++)
    {
      g_autoptr(GipcPool) pool = gipc_pool_new_for_target (server, "serve", g_variant_new_string ("ring-answer-exit"));
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) answer = run_one (pool, "echo:x", &error);

      g_assert_no_error (error);
      gipc_test_assert_bytes_str (answer, "ok");
    }

  /* The answer of the second task in the ring, none for the first: the
   * ring waits for the channel without spinning, and task-timeout ends
   * it. */
  {
    g_autoptr(GipcPool) pool = gipc_pool_new_for_target (server, "serve", g_variant_new_string ("ring-next-first"));
    g_autoptr(GBytes) request = req ("echo:x");
    Outcome o[3] = { { 0, }, };
    gint64 cpu_before;

    /* One worker, three tasks: the second and third are sent behind the
     * first (pipelined); each rogue answers the one behind its first. */
    gipc_pool_set_max_workers (pool, 1);
    gipc_pool_set_task_timeout (pool, 500);
    cpu_before = gipc_test_cpu_time_us ();
    for (i = 0; i < 3; i++)
      gipc_pool_run_async (pool, request, NULL, NULL, outcome_cb, &o[i]);
    while (o[0].n_called + o[1].n_called + o[2].n_called < 3)
      g_main_context_iteration (NULL, TRUE);
    /* Three timeouts of 500 ms, two of them with an answer waiting in the
     * ring: a spinning loop would use about 1 s. */
    g_assert_cmpint (gipc_test_cpu_time_us () - cpu_before, <, 400 * 1000);
    for (i = 0; i < 3; i++)
      {
        g_assert_error (o[i].error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
        outcome_clear (&o[i]);
      }
  }
}

static void
test_target_and_rogues (void)
{
  const gchar *modes[] = { "garbage", "wrong-id", "truncated" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(GipcPool) pool = gipc_pool_new_for_target (server, "serve", g_variant_new_string (modes[i]));
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) none = run_one (pool, "echo:x", &error);

      g_test_message ("%s: %s", modes[i], error != NULL ? error->message : "(none)");
      g_assert_null (none);
      g_assert_true (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL) ||
                     g_error_matches (error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED));
      if (i < 2)
        g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL);
    }

  {
    g_autoptr(GipcPool) pool = gipc_pool_new_for_target (server, "serve", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) a = run_one (pool, "echo:target", &error);

    g_assert_no_error (error);
    gipc_test_assert_bytes_str (a, "target");
  }
}

/* The bug users hit: a worker that answers and exits at once had its
 * result reported as a crash when the exit was seen first. */
static void
test_result_before_exit (void)
{
  const gchar *argv[] = { self_exe, "--pool-worker", "answer-exit", NULL };
  g_autoptr(GipcPool) pool = gipc_pool_new_for_argv (argv);
  guint i;

  gipc_pool_set_restart_intensity (pool, G_MAXUINT);
  for (i = 0; i < 30; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) ok = run_one (pool, "echo:x", &error);

      g_assert_no_error (error);
      gipc_test_assert_bytes_str (ok, "ok");
    }
}

/* A worker that exits between tasks with the next request unread in its
 * channel: that task never ran, so it goes to a new worker (not
 * WORKER_DIED). The pool reads the end of that channel as ECONNRESET:
 * PEER_CLOSED now (it was GIPC_ERROR_FAILED), so it asks the channel
 * whether the end was a reset. */
static void
test_exit_with_request_unread (void)
{
  const gchar *argv[] = { self_exe, "--pool-worker", "answer-linger-exit", NULL };
  g_autoptr(GipcPool) pool = gipc_pool_new_for_argv (argv);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) a = NULL;
  g_autoptr(GBytes) b = NULL;

  gipc_pool_set_max_workers (pool, 1);
  a = run_one (pool, "echo:a", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (a, "ok");
  /* Sent while the worker lingers; it exits without reading it. */
  b = run_one (pool, "echo:b", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (b, "ok");
}

static void
test_argv (void)
{
  const gchar *argv[] = { self_exe, "--pool-worker", "serve", NULL };
  const gchar *bad[] = { "/nonexistent/gipc-worker", NULL };
  g_autoptr(GipcPool) pool = gipc_pool_new_for_argv (argv);
  g_autoptr(GipcPool) broken = gipc_pool_new_for_argv (bad);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) a = run_one (pool, "echo:argv", &error);
  g_autoptr(GBytes) b = NULL;
  g_autoptr(GBytes) c = NULL;

  g_assert_no_error (error);
  gipc_test_assert_bytes_str (a, "argv");
  b = run_one (pool, "exit-later", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (b, "bye");
  /* It exits between tasks: the next task goes to a new worker. */
  g_usleep (100 * 1000);
  c = run_one (pool, "echo:next", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (c, "next");

  g_clear_pointer (&a, g_bytes_unref);
  a = run_one (broken, "echo:x", &error);
  g_assert_null (a);
  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);
}

static void
record_sandbox_cb (GipcPool    *pool,
                   GipcProcess *worker,
                   gpointer     user_data)
{
  *(GipcSandboxFlags *) user_data = gipc_process_get_sandbox_applied (worker);
}

/* The pool's sandbox reaches every worker. */
static void
test_sandbox (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) answer = NULL;
  GipcSandboxFlags applied = GIPC_SANDBOX_FLAGS_NONE;

  gipc_pool_set_sandbox (pool, GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  g_assert_cmpint (gipc_pool_get_sandbox (pool), ==,
                   GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  g_signal_connect (pool, "worker-started", G_CALLBACK (record_sandbox_cb), &applied);
  answer = run_one (pool, "net", &error);
  g_assert_no_error (error);
  if ((applied & GIPC_SANDBOX_FLAGS_NO_NETWORK) == 0)
    {
      g_test_skip ("the kernel cannot take network access away here");
      return;
    }
  gipc_test_assert_bytes_str (answer, "blocked");
}

/* gipc_pool_sandbox_allow_system_data reaches every worker: under
 * NO_FILESYSTEM the linker's cache is readable with it and not without. */
static void
test_sandbox_system_data (void)
{
  g_autoptr(GipcPool) bare = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GipcPool) with_data = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) denied = NULL;
  g_autoptr(GBytes) read = NULL;
  GipcSandboxFlags applied = GIPC_SANDBOX_FLAGS_NONE;

  if (!g_file_test ("/etc/ld.so.cache", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no /etc/ld.so.cache on this system");
      return;
    }
  gipc_pool_set_sandbox (bare, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM | GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  gipc_pool_set_sandbox (with_data, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM | GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  gipc_pool_sandbox_allow_system_data (with_data);
  g_signal_connect (bare, "worker-started", G_CALLBACK (record_sandbox_cb), &applied);

  denied = run_one (bare, "read-file:/etc/ld.so.cache", &error);
  g_assert_no_error (error);
  if ((applied & GIPC_SANDBOX_FLAGS_NO_FILESYSTEM) == 0)
    {
      g_test_skip ("the kernel cannot take file access away here");
      return;
    }
  gipc_test_assert_bytes_str (denied, "denied");
  read = run_one (with_data, "read-file:/etc/ld.so.cache", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (read, "read");
}

static void
test_memory_limit (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) none = NULL;
  g_autoptr(GBytes) ok = NULL;

  if (GIPC_TEST_ASAN)
    {
      g_test_skip ("RLIMIT_AS means nothing under ASan");
      return;
    }
  gipc_pool_set_memory_limit (pool, 512 * MiB);
  none = run_one (pool, "alloc:1073741824", &error);
  g_assert_null (none);
  g_test_message ("%s", error->message);
  g_assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ||
                 g_error_matches (error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED));
  g_clear_error (&error);
  ok = run_one (pool, "alloc:1048576", &error);
  g_assert_no_error (error);
}

static void
close_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  gboolean *closed = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (gipc_pool_close_finish (NULL, result, &error));
  g_assert_no_error (error);
  *closed = TRUE;
}

static void
test_close (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) sleep_req = req ("sleep:50");
  Outcome o[4] = { { 0, }, };
  Outcome late = { 0, };
  gboolean closed = FALSE;
  guint i;

  gipc_pool_set_max_workers (pool, 2);
  for (i = 0; i < 4; i++)
    gipc_pool_run_async (pool, sleep_req, NULL, NULL, outcome_cb, &o[i]);
  gipc_pool_close_async (pool, NULL, close_cb, &closed);
  gipc_pool_run_async (pool, sleep_req, NULL, NULL, outcome_cb, &late);
  gipc_test_run_until (NULL, &closed);
  for (i = 0; i < 4; i++)
    {
      g_assert_cmpuint (o[i].n_called, ==, 1);
      g_assert_no_error (o[i].error);
      outcome_clear (&o[i]);
    }
  g_assert_cmpuint (late.n_called, ==, 1);
  g_assert_error (late.error, GIPC_ERROR, GIPC_ERROR_CLOSED);
  outcome_clear (&late);
  g_assert_cmpuint (gipc_pool_get_workers (pool), ==, 0);
}

/* Mappings of the library's memfds in this process. */
static guint
count_shared_memory_maps (void)
{
  g_autofree gchar *maps = NULL;
  const gchar *p;
  guint n = 0;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  for (p = maps; (p = strstr (p, "memfd:gipc-shared-memory")) != NULL; p++)
    n++;
  return n;
}

/* A fork-mode worker maps its own answer ring and no other: it does not
 * inherit the program's view of the rings of the workers started before
 * it, nor of its own (a worker could write answers for another's tasks). */
static void
ring_not_inherited (GipcSandboxFlags sandbox)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GBytes) request = req ("maps");
  Outcome o[6] = { { 0, }, };
  guint i, n_called = 0;

  /* Sandboxed (seccomp's filter), the worker still maps its ring. */
  gipc_pool_set_sandbox (pool, sandbox);
  gipc_pool_set_max_workers (pool, 3);
  gipc_pool_set_min_workers (pool, 3);
  while (gipc_pool_get_workers (pool) < 3)
    g_main_context_iteration (NULL, TRUE);
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    gipc_pool_run_async (pool, request, NULL, NULL, outcome_cb, &o[i]);
  while (n_called < G_N_ELEMENTS (o))
    {
      g_main_context_iteration (NULL, TRUE);
      for (n_called = 0, i = 0; i < G_N_ELEMENTS (o); i++)
        n_called += o[i].n_called;
    }
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_assert_no_error (o[i].error);
      gipc_test_assert_bytes_str (o[i].bytes, "1");
      outcome_clear (&o[i]);
    }
}

static void
test_ring_not_inherited (void)
{
  ring_not_inherited (GIPC_SANDBOX_FLAGS_NONE);
}

static void
test_ring_not_inherited_sandboxed (void)
{
  ring_not_inherited (GIPC_SANDBOX_FLAGS_NO_NETWORK);
}

/* Each worker's answer ring is unmapped when the worker is gone: 100
 * workers one after the other (each recycled after one task) leave no
 * mapping behind. */
static GArray *children_but (GArray *baseline);

static void
test_ring_unmapped (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  guint before = count_shared_memory_maps ();
  g_autoptr(GArray) baseline = gipc_test_list_children (NULL);
  gboolean closed = FALSE;
  guint i;

  gipc_pool_set_max_workers (pool, 2);
  gipc_pool_set_max_tasks_per_worker (pool, 1);
  for (i = 0; i < 100; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) answer = run_one (pool, "echo:x", &error);

      g_assert_no_error (error);
      gipc_test_assert_bytes_str (answer, "x");
      /* A ring for each worker process alive (two, and the recycled ones
       * not yet gone: many under valgrind, whose exits are slow), and a few
       * of workers reaped whose exit the pool has not seen yet; never one
       * for each worker so far. */
      {
        g_autoptr(GArray) alive = children_but (baseline);

        g_assert_cmpuint (count_shared_memory_maps (), <=, before + alive->len + 4);
      }
    }
  gipc_pool_close_async (pool, NULL, close_cb, &closed);
  gipc_test_run_until (NULL, &closed);
  /* (Workers of earlier tests may have gone meanwhile: at most as many.) */
  g_assert_cmpuint (count_shared_memory_maps (), <=, before);
}

/* Our children, but those in @baseline. */
static GArray *
children_but (GArray *baseline)
{
  GArray *children = gipc_test_list_children (NULL);
  guint i, j;

  for (i = children->len; i > 0; i--)
    for (j = 0; j < baseline->len; j++)
      if (g_array_index (children, pid_t, i - 1) == g_array_index (baseline, pid_t, j))
        {
          g_array_remove_index (children, i - 1);
          break;
        }
  return children;
}

/* 2,000 tasks, workers killed at random: every task answered once, no
 * hang, no zombie, no fd left. */
static void
test_stress_kills (void)
{
  g_autoptr(GipcPool) pool = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1234);
  guint n = 2000, i, total, n_ok = 0, n_died = 0, n_unstarted = 0, n_zombies = 0;
  Outcome *o = g_new0 (Outcome, n);
  GArray *children;
  guint fds_before = gipc_test_count_fds ();
  GPtrArray *pids = g_ptr_array_new ();
  GArray *baseline = gipc_test_list_children (NULL);  /* the fork server */

  pool = gipc_pool_new (test_worker_func, NULL, NULL);
  gipc_pool_set_max_workers (pool, 4);
  gipc_pool_set_restart_intensity (pool, G_MAXUINT);
  for (i = 0; i < n; i++)
    {
      g_autoptr(GBytes) request = req (g_rand_int_range (rand, 0, 50) == 0 ? "sleep:5" : "echo:ok");
      gipc_pool_run_async (pool, request, NULL, NULL, outcome_cb, &o[i]);
    }
  do
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_rand_int_range (rand, 0, 20) == 0)
        {
          /* Kill a random child of ours. */
          children = children_but (baseline);
          if (children->len > 0)
            kill (g_array_index (children, pid_t, g_rand_int_range (rand, 0, children->len)), SIGKILL);
          g_array_unref (children);
        }
      for (total = 0, i = 0; i < n; i++)
        total += o[i].n_called;
    }
  while (total < n);
  for (i = 0; i < n; i++)
    {
      g_assert_cmpuint (o[i].n_called, ==, 1);
      if (o[i].error == NULL)
        {
          gipc_test_assert_bytes_str (o[i].bytes, g_bytes_get_size (o[i].bytes) == 2 ? "ok" : "slept");
          n_ok++;
        }
      else if (g_error_matches (o[i].error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED))
        {
          /* Every worker was dead or starting when a start was killed:
           * no worker could be started for that task. Rare. */
          g_assert_nonnull (strstr (o[i].error->message, "died while setting up"));
          n_unstarted++;
        }
      else
        {
          g_assert_error (o[i].error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED);
          n_died++;
        }
      outcome_clear (&o[i]);
    }
  g_test_message ("%u answered, %u died with their worker, %u had no worker that could start",
                  n_ok, n_died, n_unstarted);
  g_assert_cmpuint (n_ok + n_died + n_unstarted, ==, n);
  g_assert_cmpuint (n_ok, >, 0);
  g_free (o);
  g_ptr_array_unref (pids);

  g_clear_object (&pool);
  /* Every worker goes, reaped. */
  for (i = 0; i < 2000; i++)
    {
      children = children_but (baseline);
      total = children->len;
      g_array_unref (children);
      if (total == 0)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpuint (total, ==, 0);
  children = gipc_test_list_children (&n_zombies);
  g_assert_cmpuint (n_zombies, ==, 0);
  g_array_unref (children);
  g_array_unref (baseline);
  gipc_test_drain_context (NULL);
  g_assert_cmpuint (gipc_test_count_fds (), ==, fds_before);
}

static gboolean
low_idle_cb (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

static gboolean
flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* The pool sits idle: nothing of it is ready (a low-priority idle runs
 * on nearly every iteration), and over @ms of a running loop the program
 * uses less than @max_cpu_us of CPU (a source ready forever would take
 * all of it). */
static void
assert_idle_loop (guint  ms,
                  gint64 max_cpu_us)
{
  gboolean done = FALSE;
  guint idles = 0, id, i;
  gint64 cpu_us;

  id = g_idle_add_full (G_PRIORITY_LOW, low_idle_cb, &idles, NULL);
  for (i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_source_remove (id);
  g_assert_cmpuint (idles, >=, 8);

  cpu_us = gipc_test_cpu_time_us ();
  g_timeout_add (ms, flag_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  cpu_us = gipc_test_cpu_time_us () - cpu_us;
  g_test_message ("CPU over %u ms of idle loop: %" G_GINT64_FORMAT " us", ms, cpu_us);
  g_assert_cmpint (cpu_us, <, max_cpu_us);
}

static void
test_idle_no_cpu (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new (test_worker_func, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) ok = NULL;

  gipc_pool_set_min_workers (pool, 2);
  ok = run_one (pool, "echo:warm", &error);
  g_assert_no_error (error);
  while (gipc_pool_get_workers (pool) < 2)
    g_main_context_iteration (NULL, TRUE);

  assert_idle_loop (1000, 50000);
}

/* A worker that dies in the middle of writing its result (a partial
 * channel frame, then _exit) costs its task, once, as a death; after it the
 * idle pool costs no CPU (the end of that stream is not ready forever) and
 * a lower-priority idle source keeps running. */
static void
test_partial_frame_death (gconstpointer data)
{
  const gchar *kind = data;
  const gchar *argv[] = { self_exe, "--pool-worker", "partial-frame", NULL };
  g_autoptr(GipcPool) pool = g_str_equal (kind, "argv")
    ? gipc_pool_new_for_argv (argv)
    : gipc_pool_new_for_target (server, "serve", g_variant_new_string ("partial-frame"));
  g_autoptr(GBytes) echo = req ("echo:x");
  Outcome o = { 0, };

  gipc_pool_run_async (pool, echo, NULL, NULL, outcome_cb, &o);
  while (o.n_called == 0)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("%s", o.error != NULL ? o.error->message : "(no error)");
  g_assert_null (o.bytes);
  g_assert_error (o.error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED);
  g_assert_nonnull (strstr (o.error->message, "exited with status 0"));
  while (gipc_pool_get_workers (pool) > 0)
    g_main_context_iteration (NULL, TRUE);
  gipc_test_drain_context (NULL);

  assert_idle_loop (300, 100000);
  g_assert_cmpuint (o.n_called, ==, 1);
  outcome_clear (&o);
}

/* ---- starting workers ---- */

/* The fork server's pid: the parent of one of its children (a worker). */
static pid_t
fork_server_pid (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new_for_target (server, "serve", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) pid = run_one (pool, "pid", &error);
  pid_t ppid = 0;

  g_assert_no_error (error);
  g_assert_true (gipc_test_read_proc_stat (bytes_to_int (pid), NULL, &ppid));
  g_assert_cmpint (ppid, !=, getpid ());
  return ppid;
}

typedef struct
{
  gint64 last;
  gint64 max_gap;
  guint  ticks;
} Ticker;

static gboolean
tick_cb (gpointer data)
{
  Ticker *t = data;
  gint64 now = g_get_monotonic_time ();

  if (t->last != 0)
    t->max_gap = MAX (t->max_gap, now - t->last);
  t->last = now;
  t->ticks++;
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  pid_t  pid;
  guint  ms;
  gint64 continued;  /* monotonic time of the SIGCONT */
} Resume;

static gpointer
resume_thread (gpointer data)
{
  Resume *r = data;

  g_usleep ((gulong) r->ms * 1000);
  r->continued = g_get_monotonic_time ();
  g_assert_no_errno (kill (r->pid, SIGCONT));
  return NULL;
}

static void
record_start_time_cb (GipcPool    *pool,
                      GipcProcess *worker,
                      gpointer     user_data)
{
  GArray *times = user_data;
  gint64 now = g_get_monotonic_time ();

  g_array_append_val (times, now);
}

#define STOPPED_MS 1000
#define N_STARTS 4

/* Workers start without blocking the pool's context. What a start waits
 * for is the child's set-up report, or here the fork server's reply: the
 * server is stopped (SIGSTOP) for a second while four workers start, and
 * a 1 ms timeout in the same context (a GTK frame clock, say) keeps
 * ticking. A blocking start would stall the context for the whole second. */
static void
test_start_never_blocks (void)
{
  g_autoptr(GipcPool) pool = gipc_pool_new_for_target (server, "serve", NULL);
  g_autoptr(GBytes) echo = req ("echo:up");
  g_autoptr(GArray) started = g_array_new (FALSE, FALSE, sizeof (gint64));
  Outcome o[6] = { { 0, }, };
  Ticker ticker = { 0, };
  Resume resume = { 0, };
  GThread *thread;
  guint i, tick_id, n_done = 0;

  resume.pid = fork_server_pid ();
  resume.ms = STOPPED_MS;
  gipc_pool_set_max_workers (pool, N_STARTS);
  g_signal_connect (pool, "worker-started", G_CALLBACK (record_start_time_cb), started);

  g_assert_no_errno (kill (resume.pid, SIGSTOP));
  thread = g_thread_new ("resume", resume_thread, &resume);
  tick_id = g_timeout_add (1, tick_cb, &ticker);
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    gipc_pool_run_async (pool, echo, NULL, NULL, outcome_cb, &o[i]);
  /* max-workers counts the workers that start: four, not six. */
  gipc_test_drain_context (NULL);
  g_assert_cmpuint (gipc_pool_get_workers (pool), ==, N_STARTS);
  g_assert_cmpuint (gipc_pool_get_queued_tasks (pool), ==, G_N_ELEMENTS (o));
  g_assert_cmpuint (gipc_pool_get_running_tasks (pool), ==, 0);
  /* The four start (tasks waited when the pool looked); the first one
   * up may run all the tasks. */
  while (n_done < G_N_ELEMENTS (o) || started->len < N_STARTS)
    {
      g_main_context_iteration (NULL, TRUE);
      for (i = 0, n_done = 0; i < G_N_ELEMENTS (o); i++)
        n_done += o[i].n_called;
    }
  g_source_remove (tick_id);
  g_thread_join (thread);

  g_test_message ("%u ticks, largest gap %" G_GINT64_FORMAT " us, server stopped %u ms",
                  ticker.ticks, ticker.max_gap, STOPPED_MS);
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_assert_no_error (o[i].error);
      gipc_test_assert_bytes_str (o[i].bytes, "up");
      outcome_clear (&o[i]);
    }
  /* The starts were in flight while the server was stopped... */
  g_assert_cmpuint (started->len, ==, N_STARTS);
  for (i = 0; i < started->len; i++)
    g_assert_cmpint (g_array_index (started, gint64, i), >=, resume.continued);
  g_assert_cmpuint (gipc_pool_get_workers (pool), ==, N_STARTS);
  /* ...and the context kept ticking (a blocking start: one gap of a
   * second; the bound is generous for a loaded machine). */
  g_assert_cmpint (ticker.max_gap, <, STOPPED_MS * 1000 / 2);
  g_assert_cmpuint (ticker.ticks, >, 10);
}

/* The number of open fds once what earlier tests left closing (workers
 * being reaped, their channels) is gone: the same count for 50 ms. */
static guint
settled_fd_count (void)
{
  guint prev = G_MAXUINT, n = 0, same = 0, i;

  for (i = 0; i < 10000 && same < 50; i++)
    {
      gipc_test_drain_context (NULL);
      n = gipc_test_count_fds ();
      same = n == prev ? same + 1 : 0;
      prev = n;
      g_usleep (1000);
    }
  return n;
}

/* A pool finalized while its workers start (fork mode, spawn mode): every
 * task's callback runs once with G_IO_ERROR_CANCELLED, the workers that
 * were starting are killed and reaped once up, and no fd is left. */
static void
test_finalize_while_starting (gconstpointer data)
{
  const gchar *kind = data;
  const gchar *argv[] = { self_exe, "--pool-worker", "serve", NULL };
  g_autoptr(GBytes) echo = req ("echo:x");
  g_autoptr(GArray) baseline = NULL;
  Outcome o[3] = { { 0, }, };
  GipcPool *pool;
  guint fds_before, i, n_done = 0, total = 0, n_zombies = 0, iterations = 0;
  GArray *children;

  fds_before = settled_fd_count ();
  baseline = gipc_test_list_children (NULL);
  pool = g_str_equal (kind, "fork") ? gipc_pool_new (test_worker_func, NULL, NULL)
                                    : gipc_pool_new_for_argv (argv);
  gipc_pool_set_max_workers (pool, G_N_ELEMENTS (o));
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    gipc_pool_run_async (pool, echo, NULL, NULL, outcome_cb, &o[i]);

  /* One iteration at a time until the starts are made (the children
   * exist): their reports come in a later iteration, so the starts are in
   * flight. */
  do
    {
      g_main_context_iteration (NULL, TRUE);
      children = children_but (baseline);
      total = children->len;
      g_array_unref (children);
      g_assert_cmpuint (++iterations, <, 100000);
    }
  while (total == 0);
  g_assert_cmpuint (gipc_pool_get_running_tasks (pool), ==, 0);
  g_object_unref (pool);

  while (n_done < G_N_ELEMENTS (o))
    {
      g_main_context_iteration (NULL, TRUE);
      for (i = 0, n_done = 0; i < G_N_ELEMENTS (o); i++)
        n_done += o[i].n_called;
    }
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    g_assert_error (o[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* Every worker goes, reaped. */
  for (i = 0; i < 10000; i++)
    {
      children = children_but (baseline);
      total = children->len;
      g_array_unref (children);
      if (total == 0 && gipc_test_count_fds () == fds_before)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpuint (total, ==, 0);
  children = gipc_test_list_children (&n_zombies);
  g_assert_cmpuint (n_zombies, ==, 0);
  g_array_unref (children);
  gipc_test_drain_context (NULL);
  g_assert_cmpuint (gipc_test_count_fds (), ==, fds_before);
  /* Each callback ran once, also after everything settled. */
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_assert_cmpuint (o[i].n_called, ==, 1);
      outcome_clear (&o[i]);
    }
}

/* The same through a stopped fork server: the pool is finalized while
 * the server has not answered its requests; once it does, the children it
 * made are killed and nothing is left here. */
static void
test_finalize_while_starting_target (void)
{
  g_autoptr(GBytes) echo = req ("echo:x");
  Outcome o[3] = { { 0, }, };
  GipcPool *pool;
  guint fds_before, i, n_done = 0;
  pid_t server_pid;
  guint exited = 0;
  gboolean settled = FALSE;

  fds_before = settled_fd_count ();
  server_pid = fork_server_pid ();
  pool = gipc_pool_new_for_target (server, "serve", NULL);
  gipc_pool_set_max_workers (pool, G_N_ELEMENTS (o));
  g_signal_connect (pool, "worker-exited", G_CALLBACK (count_pid_cb), &exited);
  g_assert_no_errno (kill (server_pid, SIGSTOP));
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    gipc_pool_run_async (pool, echo, NULL, NULL, outcome_cb, &o[i]);
  /* The requests are sent; no reply can come. */
  gipc_test_drain_context (NULL);
  g_assert_cmpuint (gipc_pool_get_workers (pool), ==, G_N_ELEMENTS (o));
  g_object_unref (pool);
  g_assert_no_errno (kill (server_pid, SIGCONT));

  while (n_done < G_N_ELEMENTS (o))
    {
      g_main_context_iteration (NULL, TRUE);
      for (i = 0, n_done = 0; i < G_N_ELEMENTS (o); i++)
        n_done += o[i].n_called;
    }
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_assert_cmpuint (o[i].n_called, ==, 1);
      g_assert_error (o[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      outcome_clear (&o[i]);
    }
  for (i = 0; i < 10000 && !settled; i++)
    {
      settled = gipc_test_count_fds () == fds_before;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  gipc_test_drain_context (NULL);
  g_assert_cmpuint (gipc_test_count_fds (), ==, fds_before);
  g_assert_cmpuint (exited, ==, 0);  /* the pool was gone: no signal */
  /* The server still serves. */
  g_assert_cmpint (fork_server_pid (), ==, server_pid);
}

/* A worker that cannot start ran no task: while another worker is up, the
 * task that waited for it is not failed with the start's error but waits
 * for a worker that can run it (here the first one, once it is free). The
 * program of an argv pool disappears after its first worker started. */
static void
test_start_failure_with_a_worker_up (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("gipc-test-pool-XXXXXX", NULL);
  g_autofree gchar *link = g_build_filename (dir, "worker", NULL);
  g_autofree gchar *exe = g_canonicalize_filename (self_exe, NULL);
  const gchar *argv[] = { link, "--pool-worker", "serve", NULL };
  g_autoptr(GipcPool) pool = NULL;
  g_autoptr(GBytes) sleep_req = req ("sleep:200");
  g_autoptr(GBytes) echo = req ("echo:b");
  g_autoptr(GBytes) a = NULL, c = NULL;
  g_autoptr(GError) error = NULL;
  Outcome slept = { 0, }, o = { 0, };

  g_assert_nonnull (dir);
  g_assert_no_errno (symlink (exe, link));
  pool = gipc_pool_new_for_argv (argv);
  gipc_pool_set_max_workers (pool, 2);
  /* The failed starts are deaths: room for them while worker 1 sleeps. */
  gipc_pool_set_restart_intensity (pool, 10000);
  a = run_one (pool, "echo:a", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (a, "a");

  g_assert_no_errno (unlink (link));
  gipc_pool_run_async (pool, sleep_req, NULL, NULL, outcome_cb, &slept);  /* worker 1 */
  gipc_pool_run_async (pool, echo, NULL, NULL, outcome_cb, &o);           /* no worker 2 */
  while (slept.n_called == 0 || o.n_called == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (slept.error);
  gipc_test_assert_bytes_str (slept.bytes, "slept");
  g_assert_no_error (o.error);
  gipc_test_assert_bytes_str (o.bytes, "b");
  outcome_clear (&slept);
  outcome_clear (&o);

  c = run_one (pool, "echo:c", &error);
  g_assert_no_error (error);
  gipc_test_assert_bytes_str (c, "c");
  g_assert_no_errno (rmdir (dir));
}

/* A worker that cannot start fails a task that waited for it with the
 * start's error (when no other worker is up or starting); the failures
 * count as deaths, so the pool breaks after restart-intensity of them
 * instead of trying again and again, and the remaining tasks fail with
 * POOL_BROKEN naming the cause. */
static void
test_start_failure (void)
{
  const gchar *bad[] = { "/nonexistent/gipc-worker", NULL };
  g_autoptr(GipcPool) pool = gipc_pool_new_for_argv (bad);
  g_autoptr(GBytes) echo = req ("echo:x");
  Outcome o[12] = { { 0, }, };
  guint i, n_done = 0, n_spawn = 0, n_broken = 0;

  gipc_pool_set_max_workers (pool, 2);
  gipc_pool_set_restart_intensity (pool, 3);
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    gipc_pool_run_async (pool, echo, NULL, NULL, outcome_cb, &o[i]);
  while (n_done < G_N_ELEMENTS (o))
    {
      g_main_context_iteration (NULL, TRUE);
      for (i = 0, n_done = 0; i < G_N_ELEMENTS (o); i++)
        n_done += o[i].n_called;
    }
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_assert_cmpuint (o[i].n_called, ==, 1);
      g_assert_null (o[i].bytes);
      if (g_error_matches (o[i].error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED))
        n_spawn++;
      else
        {
          g_assert_error (o[i].error, GIPC_ERROR, GIPC_ERROR_POOL_BROKEN);
          g_assert_nonnull (strstr (o[i].error->message, "could not start"));
          g_assert_nonnull (strstr (o[i].error->message, "nonexistent"));
          n_broken++;
        }
      outcome_clear (&o[i]);
    }
  /* restart-intensity + 1 failures break it, with at most two starts in
   * flight: at most five tasks got the start's error. */
  g_test_message ("%u tasks failed with the start's error, %u with POOL_BROKEN", n_spawn, n_broken);
  g_assert_cmpuint (n_spawn, <=, 5);
  g_assert_cmpuint (n_broken, ==, G_N_ELEMENTS (o) - n_spawn);
  /* A start in flight when it broke ends too; none is tried again. */
  while (gipc_pool_get_workers (pool) > 0)
    g_main_context_iteration (NULL, TRUE);
  gipc_test_drain_context (NULL);
  g_assert_cmpuint (gipc_pool_get_workers (pool), ==, 0);
  g_assert_cmpuint (gipc_pool_get_queued_tasks (pool), ==, 0);
}

/* ---- re-entrancy: every callback the pool invokes, every action ---- */

/* A start that fails at once (an empty program name), with the pool broken
 * by it (restart-intensity 0) while more starts wait: the task's callback
 * disposes the pool. The waiting workers' start references were dropped
 * twice (by the dispose, and by the dispatch source that had taken them). */
static void
dispose_pool_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  outcome_cb (source, result, user_data);
  if (unref_pool != NULL)
    g_object_run_dispose (G_OBJECT (unref_pool));
}

static void
test_dispose_in_start_failure_callback (void)
{
  const gchar *empty[] = { "", NULL };
  Outcome o[3] = { { 0, }, };
  g_autoptr(GBytes) echo = req ("echo:x");
  guint i, n_done = 0;

  unref_pool = gipc_pool_new_for_argv (empty);
  gipc_pool_set_max_workers (unref_pool, 3);
  gipc_pool_set_restart_intensity (unref_pool, 0);
  gipc_pool_run_async (unref_pool, echo, NULL, NULL, dispose_pool_cb, &o[0]);
  gipc_pool_run_async (unref_pool, echo, NULL, NULL, outcome_cb, &o[1]);
  gipc_pool_run_async (unref_pool, echo, NULL, NULL, outcome_cb, &o[2]);
  while (n_done < G_N_ELEMENTS (o))
    {
      g_main_context_iteration (NULL, TRUE);
      for (i = 0, n_done = 0; i < G_N_ELEMENTS (o); i++)
        n_done += o[i].n_called;
    }
  gipc_test_drain_context (NULL);
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_assert_cmpuint (o[i].n_called, ==, 1);
      g_assert_nonnull (o[i].error);
      outcome_clear (&o[i]);
    }
  g_assert_cmpuint (gipc_pool_get_workers (unref_pool), ==, 0);
  g_clear_object (&unref_pool);
}

typedef enum
{
  ACT_UNREF,
  ACT_DISPOSE,
  ACT_NESTED,
  ACT_RESET,
  ACT_SUBMIT,
  ACT_CLOSE,
  N_ACTS
} ReAct;

static const gchar *const re_act_names[] = { "unref", "dispose", "nested", "reset", "submit", "close" };

typedef enum
{
  AT_RESULT,          /* a run_async callback with a result */
  AT_START_FAILURE,   /* a run_async callback with a failed start's error */
  AT_WORKER_STARTED,
  AT_WORKER_EXITED,
  AT_NOTIFY_QUEUED,
  AT_NOTIFY_RUNNING,
  AT_NOTIFY_WORKERS,
  AT_NOTIFY_CONGESTED,
  AT_CLOSE,           /* the close_async callback */
  N_ATS
} ReAt;

static const gchar *const re_at_names[] = {
  "result", "start-failure", "worker-started", "worker-exited", "notify-queued-tasks",
  "notify-running-tasks", "notify-workers", "notify-congested", "close",
};

#define RE_N_TASKS 4

typedef struct
{
  ReAt      at;
  ReAct     act;
  GipcPool *pool;       /* the test's reference; NULL once dropped */
  GipcPool *weak;       /* the pool while it exists */
  gboolean  acted;
  guint     depth;
  Outcome   tasks[RE_N_TASKS];
  Outcome   extra[2];   /* submitted by the action */
  guint     n_extra;
  gboolean  closed;
  GError   *close_error;
  gboolean  close2_done;
} Re;

static void re_act (Re *re);

typedef struct
{
  Re      *re;
  Outcome *o;
} ReTask;

static void
re_run_task_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  ReTask *t = user_data;
  Re *re = t->re;
  Outcome *o = t->o;

  g_free (t);
  outcome_cb (source, result, o);
  if ((re->at == AT_RESULT && o->error == NULL) ||
      (re->at == AT_START_FAILURE && o->error != NULL))
    re_act (re);
}

static void
re_submit (Re          *re,
           Outcome     *o,
           const gchar *text)
{
  g_autoptr(GBytes) request = req (text);
  ReTask *t = g_new0 (ReTask, 1);

  t->re = re;
  t->o = o;
  gipc_pool_run_async (re->weak, request, NULL, NULL, re_run_task_cb, t);
}

static void
re_close_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Re *re = user_data;

  g_assert_false (re->closed);
  re->closed = TRUE;
  gipc_pool_close_finish (NULL, result, &re->close_error);
  if (re->at == AT_CLOSE)
    re_act (re);
}

static void
re_close2_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Re *re = user_data;

  g_assert_false (re->close2_done);
  re->close2_done = TRUE;
  gipc_pool_close_finish (NULL, result, NULL);
}

static void
re_act (Re *re)
{
  if (re->acted || re->weak == NULL)
    return;
  re->acted = TRUE;
  switch (re->act)
    {
    case ACT_UNREF:
      g_clear_object (&re->pool);
      break;
    case ACT_DISPOSE:
      g_object_run_dispose (G_OBJECT (re->weak));
      break;
    case ACT_NESTED:
      {
        /* A nested loop until another task completes. */
        Outcome *o = &re->extra[re->n_extra++];

        re_submit (re, o, "echo:nested");
        while (o->n_called == 0)
          g_main_context_iteration (NULL, TRUE);
      }
      break;
    case ACT_RESET:
      gipc_pool_reset (re->weak);
      break;
    case ACT_SUBMIT:
      re_submit (re, &re->extra[re->n_extra++], "echo:more");
      break;
    case ACT_CLOSE:
      gipc_pool_close_async (re->weak, NULL, re_close2_cb, re);
      break;
    case N_ACTS:
      g_assert_not_reached ();
    }
}

static void
re_signal_cb (GipcPool    *pool,
              GipcProcess *worker,
              gpointer     user_data)
{
  re_act (user_data);
}

static void
re_notify_cb (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  re_act (user_data);
}

static gboolean
re_all_done (Re *re)
{
  guint i;

  for (i = 0; i < RE_N_TASKS; i++)
    if (re->tasks[i].n_called == 0)
      return FALSE;
  for (i = 0; i < re->n_extra; i++)
    if (re->extra[i].n_called == 0)
      return FALSE;
  if (re->at == AT_CLOSE && !re->closed && re->weak != NULL)
    return FALSE;
  if (re->act == ACT_CLOSE && re->acted && !re->close2_done)
    return FALSE;
  return re->acted;
}

static void
test_reentrancy_matrix (gconstpointer data)
{
  guint code = GPOINTER_TO_UINT (data);
  Re re = { 0, };
  const gchar *bad[] = { "", NULL };
  g_autoptr(GSource) guard = NULL;
  gboolean timed_out = FALSE;
  guint i;

  re.at = code / N_ACTS;
  re.act = code % N_ACTS;
  if (re.at == AT_START_FAILURE)
    re.pool = gipc_pool_new_for_argv (bad);
  else
    re.pool = gipc_pool_new_for_target (server, "serve", NULL);  /* no fork from a threaded test */
  re.weak = re.pool;
  g_object_add_weak_pointer (G_OBJECT (re.pool), (gpointer *) &re.weak);
  gipc_pool_set_max_workers (re.pool, 2);
  gipc_pool_set_max_queued (re.pool, 1);
  if (re.at == AT_START_FAILURE)
    gipc_pool_set_restart_intensity (re.pool, 1);

  switch (re.at)
    {
    case AT_WORKER_STARTED:
      g_signal_connect (re.pool, "worker-started", G_CALLBACK (re_signal_cb), &re);
      break;
    case AT_WORKER_EXITED:
      g_signal_connect (re.pool, "worker-exited", G_CALLBACK (re_signal_cb), &re);
      break;
    case AT_NOTIFY_QUEUED:
      g_signal_connect (re.pool, "notify::queued-tasks", G_CALLBACK (re_notify_cb), &re);
      break;
    case AT_NOTIFY_RUNNING:
      g_signal_connect (re.pool, "notify::running-tasks", G_CALLBACK (re_notify_cb), &re);
      break;
    case AT_NOTIFY_WORKERS:
      g_signal_connect (re.pool, "notify::workers", G_CALLBACK (re_notify_cb), &re);
      break;
    case AT_NOTIFY_CONGESTED:
      g_signal_connect (re.pool, "notify::congested", G_CALLBACK (re_notify_cb), &re);
      break;
    default:
      break;
    }

  /* One worker dies (for worker-exited), the others answer. */
  re_submit (&re, &re.tasks[0], "echo:a");
  re_submit (&re, &re.tasks[1], "exit:3");
  re_submit (&re, &re.tasks[2], "sleep:20");
  re_submit (&re, &re.tasks[3], "echo:d");
  if (re.at == AT_CLOSE)
    gipc_pool_close_async (re.pool, NULL, re_close_cb, &re);

  guard = g_timeout_source_new_seconds (gipc_test_timeout_seconds ());
  g_source_set_callback (guard, gipc_test_guard_timeout_cb, &timed_out, NULL);
  g_source_attach (guard, NULL);
  while (!re_all_done (&re) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (guard);
  g_assert_false (timed_out);

  for (i = 0; i < RE_N_TASKS; i++)
    {
      g_assert_cmpuint (re.tasks[i].n_called, ==, 1);
      outcome_clear (&re.tasks[i]);
    }
  for (i = 0; i < re.n_extra; i++)
    {
      g_assert_cmpuint (re.extra[i].n_called, ==, 1);
      outcome_clear (&re.extra[i]);
    }
  g_clear_error (&re.close_error);
  if (re.pool != NULL)
    {
      /* Still usable unless disposed or closed. */
      if (re.act != ACT_DISPOSE && re.act != ACT_CLOSE && re.at != AT_CLOSE && re.at != AT_START_FAILURE)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GBytes) bytes = NULL;

          gipc_pool_reset (re.pool);
          bytes = run_one (re.pool, "echo:after", &error);
          g_assert_no_error (error);
          gipc_test_assert_bytes_str (bytes, "after");
        }
      g_clear_object (&re.pool);
    }
  g_assert_null (re.weak);
  gipc_test_drain_context (NULL);
}

static void
add_reentrancy_tests (void)
{
  guint at, act;

  for (at = 0; at < N_ATS; at++)
    for (act = 0; act < N_ACTS; act++)
      {
        g_autofree gchar *path = g_strdup_printf ("/pool/reentrancy/%s/%s", re_at_names[at], re_act_names[act]);

        g_test_add_data_func (path, GUINT_TO_POINTER (at * N_ACTS + act), test_reentrancy_matrix);
      }
}

/* Tasks that failed so far, of @o. */
static guint
count_called (Outcome *o,
              guint    n)
{
  guint i, called = 0;

  for (i = 0; i < n; i++)
    called += o[i].n_called;
  return called;
}

/* Iterates the default context for @ms; returns how many iterations. */
static guint
iterate_for (guint ms)
{
  gboolean done = FALSE;
  GSource *source = g_timeout_source_new (ms);
  guint n = 0;

  g_source_set_callback (source, flag_cb, &done, NULL);
  g_source_attach (source, NULL);
  while (!done)
    {
      g_main_context_iteration (NULL, TRUE);
      n++;
    }
  g_source_destroy (source);
  g_source_unref (source);
  return n;
}

static gint64
cpu_time_us (void)
{
  struct timespec ts;

  g_assert_no_errno (clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts));
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* A worker that cannot start is tried again after a backoff (10 ms,
 * doubling), not at once: with a restart intensity that never breaks the
 * pool, a few tries in 300 ms, not hundreds, and the context idle
 * meanwhile. A reset forgets the backoff: the next try is at once. */
static void
test_start_backoff (void)
{
  const gchar *bad[] = { "/nonexistent/gipc-worker", NULL };
  g_autoptr(GipcPool) pool = gipc_pool_new_for_argv (bad);
  g_autoptr(GBytes) echo = req ("echo:x");
  Outcome o[60] = { { 0, }, };
  guint i, n_tries, n_before, n_iterations;
  gint64 cpu, start;

  gipc_pool_set_max_workers (pool, 1);
  gipc_pool_set_restart_intensity (pool, 1000);
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    gipc_pool_run_async (pool, echo, NULL, NULL, outcome_cb, &o[i]);

  /* One worker at a time, none up: each failed start fails one task. */
  cpu = cpu_time_us ();
  n_iterations = iterate_for (300);
  cpu = cpu_time_us () - cpu;
  n_tries = count_called (o, G_N_ELEMENTS (o));
  g_test_message ("%u tries in 300 ms, %u iterations, %" G_GINT64_FORMAT " us of CPU",
                  n_tries, n_iterations, cpu);
  g_assert_cmpuint (n_tries, >=, 1);
  g_assert_cmpuint (n_tries, <=, 12);
  /* The context sleeps between tries: a few wakeups per try. */
  g_assert_cmpuint (n_iterations, <=, 12 * n_tries + 10);
  if (!gipc_test_running_on_valgrind ())  /* CPU time is tens of times higher there */
    g_assert_cmpint (cpu, <, 150 * 1000);
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    if (o[i].n_called > 0)
      g_assert_error (o[i].error, GIPC_ERROR, GIPC_ERROR_SPAWN_FAILED);

  /* Let the backoff grow to its 1 s ceiling (10 + 20 + ... + 640 ms),
   * then reset: the next try comes at once, long before a second. */
  while (count_called (o, G_N_ELEMENTS (o)) < 8)
    g_main_context_iteration (NULL, TRUE);
  iterate_for (20);
  n_before = count_called (o, G_N_ELEMENTS (o));
  gipc_pool_reset (pool);
  start = g_get_monotonic_time ();
  while (count_called (o, G_N_ELEMENTS (o)) == n_before)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("next try %" G_GINT64_FORMAT " ms after the reset",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 700 * 1000);

  /* Dropped with a backoff running: the remaining tasks are cancelled,
   * and the backoff's timeout does nothing once the pool is gone. */
  g_clear_object (&pool);
  while (count_called (o, G_N_ELEMENTS (o)) < G_N_ELEMENTS (o))
    g_main_context_iteration (NULL, TRUE);
  iterate_for (50);
  for (i = 0; i < G_N_ELEMENTS (o); i++)
    {
      g_assert_cmpuint (o[i].n_called, ==, 1);
      g_assert_nonnull (o[i].error);
      outcome_clear (&o[i]);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc >= 3 && g_str_equal (argv[1], "--pool-worker"))
    {
      g_autoptr(GipcChannel) channel = NULL;

      remember_raw_write_fd ();
      channel = gipc_channel_new_inherited (0, &error);

      if (channel == NULL)
        g_error ("worker: %s", error->message);
      if (!g_str_equal (argv[2], "serve"))
        return rogue_worker (channel, argv[2]);
      return gipc_worker_serve (channel, test_worker_func, NULL);
    }
  self_exe = argv[0];

  g_main_context_default ();
  server = gipc_fork_server_new ();
  gipc_fork_server_add_target (server, "serve", serve_target, NULL, NULL);
  if (!gipc_fork_server_start (server, &error))
    g_error ("fork server: %s", error->message);
  g_type_class_unref (g_type_class_ref (G_TYPE_TASK));

  g_test_init (&argc, &argv, NULL);
  /* The fd counts of the tests hold however they are picked (-p): the
   * reaper's eventfd, kept for the program's life, exists from here on. */
  gipc_test_warm_up_reaper ();

  gipc_test_add_func ("/pool/basic/fork", test_basic_fork);
  gipc_test_add_func ("/pool/errors", test_errors);
  gipc_test_add_func ("/pool/crashes", test_crashes);
  gipc_test_add_func ("/pool/crash-core-dumped", test_crash_core_dumped);
  gipc_test_add_func ("/pool/timeout", test_timeout);
  gipc_test_add_func ("/pool/cancel/queued-and-running", test_cancel_queued_and_running);
  gipc_test_add_func ("/pool/cancel/cooperative", test_cancel_cooperative);
  gipc_test_add_func ("/pool/pipelined", test_pipelined);
  gipc_test_add_func ("/pool/cancellable-per-task", test_cancellable_per_task);
  gipc_test_add_func ("/pool/cancellable-other-thread", test_cancellable_other_thread);
  gipc_test_add_func ("/pool/result-kept", test_result_kept);
  gipc_test_add_func ("/pool/source-object", test_source_object);
  gipc_test_add_func ("/pool/restart-intensity", test_restart_intensity);
  gipc_test_add_func ("/pool/recycling", test_recycling);
  gipc_test_add_func ("/pool/idle-timeout", test_idle_timeout);
  gipc_test_add_func ("/pool/congested", test_congested);
  gipc_test_add_func ("/pool/fds", test_fds_both_ways);
  gipc_test_add_func ("/pool/big-result", test_big_result);
  gipc_test_add_func ("/pool/finalize-pending", test_finalize_pending);
  gipc_test_add_func ("/pool/callback-reentrancy", test_callback_reentrancy);
  gipc_test_add_func ("/pool/pipeline-depth", test_pipeline_depth);
  gipc_test_add_func ("/pool/ring-rogues", test_ring_rogues);
  gipc_test_add_func ("/pool/ring-mixed-order", test_ring_mixed_order);
  gipc_test_add_func ("/pool/ring-unmapped", test_ring_unmapped);
  gipc_test_add_func ("/pool/ring-not-inherited/plain", test_ring_not_inherited);
  gipc_test_add_func ("/pool/ring-not-inherited/sandboxed", test_ring_not_inherited_sandboxed);
  gipc_test_add_func ("/pool/free-before-callback", test_free_before_callback);
  gipc_test_add_func ("/pool/unref-in-death-callback", test_unref_in_death_callback);
  gipc_test_add_func ("/pool/threads", test_threads);
  gipc_test_add_func ("/pool/sync-no-loop", test_sync_no_loop);
  gipc_test_add_func ("/pool/target-and-rogues", test_target_and_rogues);
  gipc_test_add_func ("/pool/argv", test_argv);
  gipc_test_add_func ("/pool/exit-with-request-unread", test_exit_with_request_unread);
  gipc_test_add_func ("/pool/result-before-exit", test_result_before_exit);
  gipc_test_add_func ("/pool/memory-limit", test_memory_limit);
  gipc_test_add_func ("/pool/sandbox", test_sandbox);
  gipc_test_add_func ("/pool/sandbox/system-data", test_sandbox_system_data);
  gipc_test_add_func ("/pool/close", test_close);
  gipc_test_add_func ("/pool/stress-kills", test_stress_kills);
  gipc_test_add_func ("/pool/idle-no-cpu", test_idle_no_cpu);
  gipc_test_add_func ("/pool/start/never-blocks", test_start_never_blocks);
  g_test_add_data_func ("/pool/start/finalize-in-flight/fork", "fork", test_finalize_while_starting);
  g_test_add_data_func ("/pool/start/finalize-in-flight/argv", "argv", test_finalize_while_starting);
  gipc_test_add_func ("/pool/start/finalize-in-flight/target", test_finalize_while_starting_target);
  gipc_test_add_func ("/pool/start/failure", test_start_failure);
  gipc_test_add_func ("/pool/start/failure-with-a-worker-up", test_start_failure_with_a_worker_up);
  gipc_test_add_func ("/pool/start/backoff", test_start_backoff);
  g_test_add_data_func ("/pool/partial-frame-death/argv", "argv", test_partial_frame_death);
  g_test_add_data_func ("/pool/partial-frame-death/target", "target", test_partial_frame_death);
  gipc_test_add_func ("/pool/dispose-in-start-failure-callback", test_dispose_in_start_failure_callback);
  add_reentrancy_tests ();

  return g_test_run ();
}
