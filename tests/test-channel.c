/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * GipcChannel: what works. Pipes, messages of every size, ordering, the
 * thread-default context of callbacks, push mode, GVariant messages, the
 * wire format, fds, fork and the sync calls. The failure paths are in
 * test-channel-errors.c.
 */

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

#include "test-util.h"

/* ---------------------------------------------------------------------- */
/* Helpers */

/* A pipe made with pipe2 (no flags): returns the raw fds. */
static void
raw_pipe (int fds[2])
{
  g_assert_no_errno (pipe2 (fds, 0));
}

/* Sends @message from @sender and receives it on @receiver, both async and
 * concurrently on the thread-default context (so any size works). */
static GBytes *
transfer_async (GipcChannel *sender,
                GipcChannel *receiver,
                GBytes      *message)
{
  g_autoptr(GAsyncResult) send_result = NULL;
  g_autoptr(GAsyncResult) receive_result = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *received;

  gipc_channel_send_async (sender, message, NULL, gipc_test_result_cb, &send_result);
  gipc_channel_receive_async (receiver, NULL, gipc_test_result_cb, &receive_result);
  gipc_test_run_until_result (NULL, &send_result);
  gipc_test_run_until_result (NULL, &receive_result);

  g_assert_true (gipc_channel_send_finish (sender, send_result, &error));
  g_assert_no_error (error);
  received = gipc_channel_receive_finish (receiver, receive_result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (received);

  return received;
}

/* The open fds of this process, sorted. */
static GArray *
list_fds (void)
{
  GArray *fds = g_array_new (FALSE, FALSE, sizeof (int));
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;

  g_assert_nonnull (dir);
  while ((entry = readdir (dir)) != NULL)
    {
      int fd;

      if (entry->d_name[0] == '.')
        continue;
      fd = atoi (entry->d_name);
      if (fd != dirfd (dir))
        g_array_append_val (fds, fd);
    }
  closedir (dir);

  return fds;
}

static gboolean
fd_in (GArray *fds,
       int     fd)
{
  guint i;

  for (i = 0; i < fds->len; i++)
    if (g_array_index (fds, int, i) == fd)
      return TRUE;
  return FALSE;
}

/* ---------------------------------------------------------------------- */
/* Pipes and properties */

static void
assert_directions (GipcChannel *channel,
                   gboolean     can_send,
                   gboolean     can_receive)
{
  gboolean p_send = !can_send, p_receive = !can_receive, p_closed = TRUE;

  g_assert_cmpint (gipc_channel_get_can_send (channel), ==, can_send);
  g_assert_cmpint (gipc_channel_get_can_receive (channel), ==, can_receive);
  g_assert_false (gipc_channel_is_closed (channel));
  g_object_get (channel,
                "can-send", &p_send,
                "can-receive", &p_receive,
                "closed", &p_closed,
                NULL);
  g_assert_cmpint (p_send, ==, can_send);
  g_assert_cmpint (p_receive, ==, can_receive);
  g_assert_false (p_closed);
}

static void
test_pipe_simplex (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);

  /* gipc's order: (reader, writer). */
  assert_directions (reader, FALSE, TRUE);
  assert_directions (writer, TRUE, FALSE);
  g_assert_false (gipc_channel_is_listening (reader));
  g_assert_false (gipc_channel_is_listening (writer));

  gipc_test_send_str (writer, "hello");
  gipc_test_send_str (writer, "world");
  gipc_test_receive_str (reader, "hello");
  gipc_test_receive_str (reader, "world");
}

static void
test_pipe_duplex (void)
{
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);
  assert_directions (h1, TRUE, TRUE);
  assert_directions (h2, TRUE, TRUE);

  /* gipc test 52: h1.put(1), h2.put(2), h2.get() == 1, h1.get() == 2. */
  gipc_test_send_str (h1, "one");
  gipc_test_send_str (h2, "two");
  gipc_test_receive_str (h2, "one");
  gipc_test_receive_str (h1, "two");

  /* A channel never receives its own messages. */
  gipc_test_send_str (h1, "three");
  gipc_test_send_str (h1, "four");
  gipc_test_receive_str (h2, "three");
  gipc_test_receive_str (h2, "four");
}

static void
test_properties (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  guint timeout_notifies = 0, max_notifies = 0;
  guint timeout = 99;
  guint64 max = 0;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);

  g_assert_cmpuint (gipc_channel_get_timeout (reader), ==, 0);
  g_assert_cmpuint (gipc_channel_get_max_message_size (reader), ==,
                    GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE);
  g_assert_cmpuint (GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE, ==, 1024 * 1024 * 1024);

  g_signal_connect (reader, "notify::timeout", G_CALLBACK (gipc_test_count_notify_cb), &timeout_notifies);
  g_signal_connect (reader, "notify::max-message-size", G_CALLBACK (gipc_test_count_notify_cb), &max_notifies);

  gipc_channel_set_timeout (reader, 250);
  g_assert_cmpuint (gipc_channel_get_timeout (reader), ==, 250);
  g_assert_cmpuint (timeout_notifies, ==, 1);
  gipc_channel_set_timeout (reader, 250);
  g_assert_cmpuint (timeout_notifies, ==, 1);
  g_object_set (reader, "timeout", 0u, NULL);
  g_assert_cmpuint (timeout_notifies, ==, 2);
  g_object_get (reader, "timeout", &timeout, NULL);
  g_assert_cmpuint (timeout, ==, 0);

  gipc_channel_set_max_message_size (reader, 4096);
  g_assert_cmpuint (gipc_channel_get_max_message_size (reader), ==, 4096);
  g_assert_cmpuint (max_notifies, ==, 1);
  gipc_channel_set_max_message_size (reader, 4096);
  g_assert_cmpuint (max_notifies, ==, 1);
  g_object_set (reader, "max-message-size", (guint64) 100, NULL);
  g_object_get (reader, "max-message-size", &max, NULL);
  g_assert_cmpuint (max, ==, 100);
  g_assert_cmpuint (max_notifies, ==, 2);

  /* The channel still works with the new settings. */
  gipc_test_send_str (writer, "fits");
  gipc_test_receive_str (reader, "fits");
}

/* Every fd that gipc_pipe opens is O_CLOEXEC (and non-blocking), and
 * finalizing the ends closes them all. */
static void
check_pipe_fds (GipcPipeFlags flags)
{
  g_autoptr(GArray) before = NULL;
  g_autoptr(GArray) during = NULL;
  g_autoptr(GArray) after = NULL;
  GipcChannel *end1, *end2;
  guint i, n_new = 0;

  /* GLib's own fds (the default context's wakeup fd) exist before. */
  gipc_test_drain_context (g_main_context_default ());
  before = list_fds ();
  gipc_test_make_pipe (flags, &end1, &end2);
  during = list_fds ();

  for (i = 0; i < during->len; i++)
    {
      int fd = g_array_index (during, int, i);

      if (fd_in (before, fd))
        continue;
      n_new++;
      g_test_message ("new fd %d", fd);
      g_assert_true (gipc_test_fd_is_cloexec (fd));
      g_assert_true (gipc_test_fd_is_nonblocking (fd));
    }
  g_assert_cmpuint (n_new, >=, 2);

  g_object_unref (end1);
  g_object_unref (end2);

  after = list_fds ();
  g_assert_cmpuint (after->len, ==, before->len);
  for (i = 0; i < before->len; i++)
    g_assert_true (fd_in (after, g_array_index (before, int, i)));
}

static void
test_pipe_fds_simplex (void)
{
  check_pipe_fds (GIPC_PIPE_FLAGS_NONE);
}

static void
test_pipe_fds_duplex (void)
{
  check_pipe_fds (GIPC_PIPE_FLAGS_DUPLEX);
}

/* ---------------------------------------------------------------------- */
/* Message sizes */

static void
check_size_sync (gsize size)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (size, (guint) size);
  g_autoptr(GBytes) received = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_test_send_bytes (writer, payload);
  received = gipc_test_receive_bytes (reader);
  gipc_test_assert_pattern (received, size, (guint) size);
}

static void
check_size_async (gsize         size,
                  GipcPipeFlags flags)
{
  g_autoptr(GipcChannel) end1 = NULL;
  g_autoptr(GipcChannel) end2 = NULL;
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (size, (guint) size + 1);
  g_autoptr(GBytes) received = NULL;

  gipc_test_make_pipe (flags, &end1, &end2);
  received = transfer_async (end2, end1, payload);
  gipc_test_assert_pattern (received, size, (guint) size + 1);

  if (flags & GIPC_PIPE_FLAGS_DUPLEX)
    {
      g_autoptr(GBytes) back = transfer_async (end1, end2, payload);

      gipc_test_assert_pattern (back, size, (guint) size + 1);
    }
}

/* A received 0-byte message is an empty GBytes, never NULL. */
static void
test_message_empty (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GBytes) empty_static = g_bytes_new_static ("", 0);

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);

  gipc_test_send_bytes (writer, empty);
  gipc_test_send_bytes (writer, empty_static);
  gipc_test_send_str (writer, "after");
  {
    g_autoptr(GBytes) r1 = gipc_test_receive_bytes (reader);
    g_autoptr(GBytes) r2 = gipc_test_receive_bytes (reader);

    g_assert_cmpuint (g_bytes_get_size (r1), ==, 0);
    g_assert_cmpuint (g_bytes_get_size (r2), ==, 0);
  }
  gipc_test_receive_str (reader, "after");

  {
    g_autoptr(GBytes) r3 = transfer_async (writer, reader, empty);

    g_assert_nonnull (r3);
    g_assert_cmpuint (g_bytes_get_size (r3), ==, 0);
  }
}

static void
test_message_one_byte (void)
{
  check_size_sync (1);
  check_size_async (1, GIPC_PIPE_FLAGS_NONE);
  check_size_async (1, GIPC_PIPE_FLAGS_DUPLEX);
}

/* Around the size of a pipe's buffer (64 KiB on Linux). */
static void
test_message_64k (void)
{
  check_size_sync (64 * KiB - 4 - 1);
  check_size_async (64 * KiB - 4, GIPC_PIPE_FLAGS_NONE);
  check_size_async (64 * KiB, GIPC_PIPE_FLAGS_NONE);
  check_size_async (64 * KiB + 1, GIPC_PIPE_FLAGS_DUPLEX);
}

/* gipc's "OK" * 999999: larger than the pipe, so sender and receiver must
 * run concurrently in one thread. */
static void
test_message_2m (void)
{
  check_size_async (2 * MiB, GIPC_PIPE_FLAGS_NONE);
  check_size_async (2 * MiB - 1, GIPC_PIPE_FLAGS_DUPLEX);
}

/* gipc's LONGERTHANBUFFER. */
static void
test_message_10m (void)
{
  check_size_async (9999999, GIPC_PIPE_FLAGS_NONE);
  check_size_async (10 * MiB, GIPC_PIPE_FLAGS_DUPLEX);
}

typedef struct
{
  GipcChannel *writer;
  gsize        size;
  gboolean     ok;
} SendThreadData;

static gpointer
send_thread_func (gpointer user_data)
{
  SendThreadData *data = user_data;
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (data->size, 77);
  g_autoptr(GError) error = NULL;

  data->ok = gipc_channel_send (data->writer, payload, NULL, &error);
  g_assert_no_error (error);
  return NULL;
}

/* Sync calls block their own thread only: a 10 MB sync send in one thread
 * and a sync receive in another. */
static void
test_message_sync_threads (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) received = NULL;
  SendThreadData data = { NULL, 10 * MiB, FALSE };
  GThread *thread;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  data.writer = writer;
  thread = g_thread_new ("sender", send_thread_func, &data);
  received = gipc_test_receive_bytes (reader);
  g_thread_join (thread);

  g_assert_true (data.ok);
  gipc_test_assert_pattern (received, 10 * MiB, 77);
}

/* ---------------------------------------------------------------------- */
/* Order */

static gsize
order_size (guint i)
{
  return (i * 37) % 300;
}

static void
test_order_many_sync (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);

  /* About 15 KiB in all: fits in the pipe, so sync sends do not block. */
  for (i = 0; i < 100; i++)
    {
      g_autoptr(GBytes) payload = gipc_test_pattern_bytes (order_size (i), i);

      gipc_test_send_bytes (writer, payload);
    }
  for (i = 0; i < 100; i++)
    {
      g_autoptr(GBytes) received = gipc_test_receive_bytes (reader);

      gipc_test_assert_pattern (received, order_size (i), i);
    }
}

typedef struct
{
  GipcChannel *channel;
  GArray      *order;       /* call indices, in callback order */
  GPtrArray   *messages;    /* received, in callback order */
  guint        n_expected;
  gboolean     done;
} OrderState;

typedef struct
{
  OrderState *state;
  guint       index;
} OrderCall;

static void
order_send_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  OrderCall *call = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (gipc_channel_send_finish (GIPC_CHANNEL (source), result, &error));
  g_assert_no_error (error);
  g_array_append_val (call->state->order, call->index);
  if (call->state->order->len == call->state->n_expected)
    call->state->done = TRUE;
}

static void
order_receive_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  OrderCall *call = user_data;
  g_autoptr(GError) error = NULL;
  GBytes *message;

  message = gipc_channel_receive_finish (GIPC_CHANNEL (source), result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (message);
  g_array_append_val (call->state->order, call->index);
  g_ptr_array_add (call->state->messages, message);
  if (call->state->order->len == call->state->n_expected)
    call->state->done = TRUE;
}

/* Receives one message after another (each receive_async started from the
 * previous one's callback). */
static void
chain_receive_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  OrderState *state = user_data;
  g_autoptr(GError) error = NULL;
  GBytes *message;

  message = gipc_channel_receive_finish (GIPC_CHANNEL (source), result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (message);
  g_ptr_array_add (state->messages, message);
  if (state->messages->len < state->n_expected)
    gipc_channel_receive_async (state->channel, NULL, chain_receive_cb, state);
  else
    state->done = TRUE;
}

static void
order_state_init (OrderState  *state,
                  GipcChannel *channel,
                  guint        n_expected)
{
  state->channel = channel;
  state->order = g_array_new (FALSE, FALSE, sizeof (guint));
  state->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  state->n_expected = n_expected;
  state->done = FALSE;
}

static void
order_state_clear (OrderState *state)
{
  g_array_unref (state->order);
  g_ptr_array_unref (state->messages);
}

/* 500 send_async in flight at once (about 1 MB, far more than the pipe
 * holds): written in call order, callbacks in call order. */
static void
test_order_many_send_async (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  const guint n = 500;
  OrderCall *calls = g_new0 (OrderCall, n);
  OrderState sends, receives;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  order_state_init (&sends, writer, n);
  order_state_init (&receives, reader, n);

  for (i = 0; i < n; i++)
    {
      g_autoptr(GBytes) payload = gipc_test_pattern_bytes (1000 + order_size (i) * 10, i);

      calls[i].state = &sends;
      calls[i].index = i;
      gipc_channel_send_async (writer, payload, NULL, order_send_cb, &calls[i]);
    }
  gipc_channel_receive_async (reader, NULL, chain_receive_cb, &receives);

  gipc_test_run_until (NULL, &sends.done);
  gipc_test_run_until (NULL, &receives.done);

  for (i = 0; i < n; i++)
    {
      g_assert_cmpuint (g_array_index (sends.order, guint, i), ==, i);
      gipc_test_assert_pattern (g_ptr_array_index (receives.messages, i),
                                1000 + order_size (i) * 10, i);
    }

  order_state_clear (&sends);
  order_state_clear (&receives);
  g_free (calls);
}

/* Callbacks of successive sends run in call order also when every
 * message fits in the pipe at once (the first may be written before the
 * others are queued), with and without receives pending. */
static void
check_send_callbacks_small (gboolean receives_first)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  const guint n = 5;
  OrderCall calls[5];
  OrderState sends, receives;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  order_state_init (&sends, writer, n);
  order_state_init (&receives, reader, n);

  if (receives_first)
    gipc_channel_receive_async (reader, NULL, chain_receive_cb, &receives);
  for (i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);
      g_autoptr(GBytes) payload = g_bytes_new (text, strlen (text));

      calls[i].state = &sends;
      calls[i].index = i;
      gipc_channel_send_async (writer, payload, NULL, order_send_cb, &calls[i]);
    }
  if (!receives_first)
    gipc_channel_receive_async (reader, NULL, chain_receive_cb, &receives);

  gipc_test_run_until (NULL, &sends.done);
  gipc_test_run_until (NULL, &receives.done);

  for (i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);

      g_test_message ("send callback %u: index %u", i, g_array_index (sends.order, guint, i));
      gipc_test_assert_bytes_str (g_ptr_array_index (receives.messages, i), text);
    }
  for (i = 0; i < n; i++)
    g_assert_cmpuint (g_array_index (sends.order, guint, i), ==, i);

  order_state_clear (&sends);
  order_state_clear (&receives);
}

static void
test_order_send_callbacks_small (void)
{
  check_send_callbacks_small (FALSE);
}

static void
test_order_send_callbacks_small_receiving (void)
{
  check_send_callbacks_small (TRUE);
}

/* Receive callbacks run in call order also when the messages are already
 * in the pipe when the receives are made. */
static void
test_order_receive_callbacks_ready (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  const guint n = 5;
  OrderCall calls[5];
  OrderState receives;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  order_state_init (&receives, reader, n);

  for (i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("ready %u", i);

      gipc_test_send_str (writer, text);
    }
  for (i = 0; i < n; i++)
    {
      calls[i].state = &receives;
      calls[i].index = i;
      gipc_channel_receive_async (reader, NULL, order_receive_cb, &calls[i]);
    }
  gipc_test_run_until (NULL, &receives.done);

  for (i = 0; i < n; i++)
    g_test_message ("receive callback %u: index %u", i,
                    g_array_index (receives.order, guint, i));
  for (i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("ready %u", i);

      g_assert_cmpuint (g_array_index (receives.order, guint, i), ==, i);
      gipc_test_assert_bytes_str (g_ptr_array_index (receives.messages, i), text);
    }

  order_state_clear (&receives);
}

static void
order_send_variant_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  OrderCall *call = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (gipc_channel_send_variant_finish (GIPC_CHANNEL (source), result, &error));
  g_assert_no_error (error);
  g_array_append_val (call->state->order, call->index);
  if (call->state->order->len == call->state->n_expected)
    call->state->done = TRUE;
}

/* send_async and send_variant_async interleaved: one queue, one order. */
static void
test_order_mixed_variant_callbacks (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  const guint n = 8;
  OrderCall calls[8];
  OrderState sends, receives;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  order_state_init (&sends, writer, n);
  order_state_init (&receives, reader, n);

  for (i = 0; i < n; i++)
    {
      calls[i].state = &sends;
      calls[i].index = i;
      if (i % 2 == 0)
        {
          g_autoptr(GBytes) payload = gipc_test_pattern_bytes (i == 4 ? 300 * KiB : 10, i);

          gipc_channel_send_async (writer, payload, NULL, order_send_cb, &calls[i]);
        }
      else
        gipc_channel_send_variant_async (writer, g_variant_new_uint32 (i), NULL,
                                         order_send_variant_cb, &calls[i]);
    }
  gipc_channel_receive_async (reader, NULL, chain_receive_cb, &receives);

  gipc_test_run_until (NULL, &sends.done);
  gipc_test_run_until (NULL, &receives.done);

  for (i = 0; i < n; i++)
    g_test_message ("send callback %u: index %u", i, g_array_index (sends.order, guint, i));
  for (i = 0; i < n; i++)
    {
      GBytes *got = g_ptr_array_index (receives.messages, i);

      g_assert_cmpuint (g_array_index (sends.order, guint, i), ==, i);
      if (i % 2 == 0)
        gipc_test_assert_pattern (got, i == 4 ? 300 * KiB : 10, i);
      else
        {
          g_autoptr(GVariant) boxed = g_variant_new_from_bytes (G_VARIANT_TYPE_VARIANT, got, FALSE);
          g_autoptr(GVariant) inner = g_variant_get_variant (boxed);

          g_assert_cmpuint (g_variant_get_uint32 (inner), ==, i);
        }
    }

  order_state_clear (&sends);
  order_state_clear (&receives);
}

/* 100 receive_async pending at once: each gets the next whole message, and
 * the callbacks run in call order. Some messages are larger than the pipe. */
static void
test_order_many_receive_async (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  const guint n = 100;
  OrderCall *calls = g_new0 (OrderCall, n);
  OrderState receives;
  g_autoptr(GAsyncResult) last_send = NULL;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  order_state_init (&receives, reader, n);

  for (i = 0; i < n; i++)
    {
      calls[i].state = &receives;
      calls[i].index = i;
      gipc_channel_receive_async (reader, NULL, order_receive_cb, &calls[i]);
    }

  /* Let the pending receives see an empty pipe first. */
  gipc_test_drain_context (g_main_context_default ());
  g_assert_cmpuint (receives.order->len, ==, 0);

  for (i = 0; i < n; i++)
    {
      gsize size = (i % 10 == 9) ? 200 * KiB : order_size (i);
      g_autoptr(GBytes) payload = gipc_test_pattern_bytes (size, i);

      if (i < n - 1)
        gipc_channel_send_async (writer, payload, NULL, NULL, NULL);
      else
        gipc_channel_send_async (writer, payload, NULL, gipc_test_result_cb, &last_send);
    }

  gipc_test_run_until (NULL, &receives.done);
  gipc_test_run_until_result (NULL, &last_send);
  g_assert_true (gipc_channel_send_finish (writer, last_send, NULL));

  for (i = 0; i < n; i++)
    {
      gsize size = (i % 10 == 9) ? 200 * KiB : order_size (i);

      g_assert_cmpuint (g_array_index (receives.order, guint, i), ==, i);
      gipc_test_assert_pattern (g_ptr_array_index (receives.messages, i), size, i);
    }

  order_state_clear (&receives);
  g_free (calls);
}

/* Async results are not recycled: data a callback attaches to its result
 * (as bindings do) never shows up on a later receive's result. Each
 * callback starts the next receive, the pattern a recycling pool served. */
typedef struct
{
  GipcChannel *reader;
  gboolean     variant;
  guint        received;
  guint        n;
  gboolean     done;
} MarkState;

static void
mark_receive_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  MarkState *state = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_null (g_object_get_data (G_OBJECT (result), "gipc-test-mark"));
  g_object_set_data (G_OBJECT (result), "gipc-test-mark", GUINT_TO_POINTER (state->received + 1));

  if (state->variant)
    {
      g_autoptr(GVariant) value = gipc_channel_receive_variant_finish (state->reader, result, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (g_variant_get_uint32 (value), ==, state->received);
    }
  else
    {
      g_autoptr(GBytes) message = gipc_channel_receive_finish (state->reader, result, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (message), ==, state->received % 7);
    }

  if (++state->received == state->n)
    state->done = TRUE;
  else if (state->variant)
    gipc_channel_receive_variant_async (state->reader, NULL, mark_receive_cb, state);
  else
    gipc_channel_receive_async (state->reader, NULL, mark_receive_cb, state);
}

static void
test_async_results_not_recycled (void)
{
  for (guint variant = 0; variant <= 1; variant++)
    {
      g_autoptr(GipcChannel) reader = NULL;
      g_autoptr(GipcChannel) writer = NULL;
      MarkState state = { NULL, variant, 0, 20, FALSE };

      gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
      state.reader = reader;

      for (guint i = 0; i < state.n; i++)
        {
          if (variant)
            gipc_channel_send_variant_async (writer, g_variant_new_uint32 (i), NULL, NULL, NULL);
          else
            {
              g_autoptr(GBytes) payload = gipc_test_pattern_bytes (i % 7, i);

              gipc_channel_send_async (writer, payload, NULL, NULL, NULL);
            }
        }

      if (variant)
        gipc_channel_receive_variant_async (reader, NULL, mark_receive_cb, &state);
      else
        gipc_channel_receive_async (reader, NULL, mark_receive_cb, &state);
      gipc_test_run_until (NULL, &state.done);
      g_assert_cmpuint (state.received, ==, state.n);
    }
}

/* gipc test 7: one writer puts two large messages, two readers each get
 * one whole message, in call order. */
static void
test_order_one_writer_two_readers (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) m1 = gipc_test_pattern_bytes (2 * MiB, 1);
  g_autoptr(GBytes) m2 = gipc_test_pattern_bytes (2 * MiB, 2);
  g_autoptr(GAsyncResult) r1 = NULL;
  g_autoptr(GAsyncResult) r2 = NULL;
  g_autoptr(GAsyncResult) s1 = NULL;
  g_autoptr(GAsyncResult) s2 = NULL;
  g_autoptr(GBytes) got1 = NULL;
  g_autoptr(GBytes) got2 = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);

  gipc_channel_receive_async (reader, NULL, gipc_test_result_cb, &r1);
  gipc_channel_receive_async (reader, NULL, gipc_test_result_cb, &r2);
  gipc_channel_send_async (writer, m1, NULL, gipc_test_result_cb, &s1);
  gipc_channel_send_async (writer, m2, NULL, gipc_test_result_cb, &s2);

  gipc_test_run_until_result (NULL, &r1);
  gipc_test_run_until_result (NULL, &r2);
  gipc_test_run_until_result (NULL, &s1);
  gipc_test_run_until_result (NULL, &s2);

  got1 = gipc_channel_receive_finish (reader, r1, NULL);
  got2 = gipc_channel_receive_finish (reader, r2, NULL);
  gipc_test_assert_pattern (got1, 2 * MiB, 1);
  gipc_test_assert_pattern (got2, 2 * MiB, 2);
  g_assert_true (gipc_channel_send_finish (writer, s1, NULL));
  g_assert_true (gipc_channel_send_finish (writer, s2, NULL));
}

/* gipc test 8: two concurrent writers of 2 MB messages on one end never
 * interleave; the messages arrive whole, in call order. */
static void
test_order_two_writers (void)
{
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  OrderState sends, receives;
  OrderCall calls[4];
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);
  order_state_init (&sends, h1, 4);
  order_state_init (&receives, h2, 4);

  /* Sizes not multiples of any buffer size, so a split write shows. */
  for (i = 0; i < 4; i++)
    {
      g_autoptr(GBytes) payload = gipc_test_pattern_bytes (2 * MiB + i * 4099, 10 + i);

      calls[i].state = &sends;
      calls[i].index = i;
      gipc_channel_send_async (h1, payload, NULL, order_send_cb, &calls[i]);
    }
  gipc_channel_receive_async (h2, NULL, chain_receive_cb, &receives);

  gipc_test_run_until (NULL, &sends.done);
  gipc_test_run_until (NULL, &receives.done);

  for (i = 0; i < 4; i++)
    {
      g_assert_cmpuint (g_array_index (sends.order, guint, i), ==, i);
      gipc_test_assert_pattern (g_ptr_array_index (receives.messages, i),
                                2 * MiB + i * 4099, 10 + i);
    }

  order_state_clear (&sends);
  order_state_clear (&receives);
}

/* ---------------------------------------------------------------------- */
/* send_async without a callback */

static void
test_send_async_no_callback (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GBytes) small = g_bytes_new_static ("fire", 4);
  g_autoptr(GBytes) large = gipc_test_pattern_bytes (3 * MiB, 5);
  OrderState receives;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  order_state_init (&receives, reader, 3);

  gipc_channel_send_async (writer, small, NULL, NULL, NULL);
  gipc_channel_send_async (writer, large, NULL, NULL, NULL);
  gipc_channel_send_async (writer, small, NULL, NULL, NULL);

  gipc_channel_receive_async (reader, NULL, chain_receive_cb, &receives);
  gipc_test_run_until (NULL, &receives.done);

  gipc_test_assert_bytes_str (g_ptr_array_index (receives.messages, 0), "fire");
  gipc_test_assert_pattern (g_ptr_array_index (receives.messages, 1), 3 * MiB, 5);
  gipc_test_assert_bytes_str (g_ptr_array_index (receives.messages, 2), "fire");

  order_state_clear (&receives);
}

/* ---------------------------------------------------------------------- */
/* The thread-default context of callbacks */

typedef struct
{
  GMainContext *expected;
  GAsyncResult *result;
  gboolean      in_expected_context;
} ContextCall;

static void
context_call_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ContextCall *call = user_data;
  GSource *current = g_main_current_source ();

  g_assert_null (call->result);
  call->result = g_object_ref (result);
  call->in_expected_context = g_main_context_is_owner (call->expected) &&
                              current != NULL &&
                              g_source_get_context (current) == call->expected;
}

/* Async calls made with a context pushed as thread-default complete in
 * that context, by iterating only it, never in the global default one,
 * even though the channel was made in the default context. */
static void
test_async_thread_default_context (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GBytes) large = gipc_test_pattern_bytes (2 * MiB, 9);
  g_autoptr(GBytes) got = NULL;
  ContextCall receive_call = { context, NULL, FALSE };
  ContextCall send_call = { context, NULL, FALSE };
  ContextCall receive_call2 = { context, NULL, FALSE };

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);

  /* A message already in the pipe. */
  gipc_test_send_str (writer, "ready");

  g_main_context_push_thread_default (context);

  gipc_channel_receive_async (reader, NULL, context_call_cb, &receive_call);
  gipc_test_drain_context (g_main_context_default ());
  g_assert_null (receive_call.result);

  gipc_test_run_until_result (context, &receive_call.result);
  g_assert_true (receive_call.in_expected_context);
  got = gipc_channel_receive_finish (reader, receive_call.result, NULL);
  gipc_test_assert_bytes_str (got, "ready");
  g_clear_pointer (&got, g_bytes_unref);

  /* Both directions at once, larger than the pipe: only this context is
   * iterated, so all the I/O has to happen in it. */
  gipc_channel_send_async (writer, large, NULL, context_call_cb, &send_call);
  gipc_channel_receive_async (reader, NULL, context_call_cb, &receive_call2);
  gipc_test_drain_context (g_main_context_default ());
  g_assert_null (send_call.result);
  g_assert_null (receive_call2.result);
  gipc_test_run_until_result (context, &send_call.result);
  gipc_test_run_until_result (context, &receive_call2.result);
  g_assert_true (send_call.in_expected_context);
  g_assert_true (receive_call2.in_expected_context);
  g_assert_true (gipc_channel_send_finish (writer, send_call.result, NULL));
  got = gipc_channel_receive_finish (reader, receive_call2.result, NULL);
  gipc_test_assert_pattern (got, 2 * MiB, 9);

  g_main_context_pop_thread_default (context);

  /* And back in the default context. */
  {
    g_autoptr(GBytes) again = transfer_async (writer, reader, large);

    gipc_test_assert_pattern (again, 2 * MiB, 9);
  }

  g_clear_object (&receive_call.result);
  g_clear_object (&receive_call2.result);
  g_clear_object (&send_call.result);
}

/* A channel made while another context is the thread-default one can be
 * used from the default context afterwards. */
static void
test_async_created_in_other_context (void)
{
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (300 * KiB, 4);
  g_autoptr(GBytes) got = NULL;

  g_main_context_push_thread_default (context);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);
  g_main_context_pop_thread_default (context);

  got = transfer_async (h1, h2, payload);
  gipc_test_assert_pattern (got, 300 * KiB, 4);
  g_clear_pointer (&got, g_bytes_unref);
  got = transfer_async (h2, h1, payload);
  gipc_test_assert_pattern (got, 300 * KiB, 4);

  g_main_context_unref (context);
}

/* ---------------------------------------------------------------------- */
/* Push mode */

typedef struct
{
  GMainContext *expected;
  GPtrArray    *messages;
  guint         n_errors;
  GError       *error;
  guint         n_wrong_context;
  guint         n_after_error;
} ListenState;

static void
listen_message_cb (GipcChannel *channel,
                   GBytes      *message,
                   gpointer     user_data)
{
  ListenState *state = user_data;

  g_assert_nonnull (message);
  if (!g_main_context_is_owner (state->expected))
    state->n_wrong_context++;
  if (state->n_errors > 0)
    state->n_after_error++;
  g_ptr_array_add (state->messages, g_bytes_ref (message));
}

static void
listen_error_cb (GipcChannel  *channel,
                 const GError *error,
                 gpointer      user_data)
{
  ListenState *state = user_data;

  g_assert_nonnull (error);
  if (!g_main_context_is_owner (state->expected))
    state->n_wrong_context++;
  state->n_errors++;
  if (state->error == NULL)
    state->error = g_error_copy (error);
}

static void
listen_state_init (ListenState  *state,
                   GMainContext *expected)
{
  memset (state, 0, sizeof *state);
  state->expected = expected;
  state->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

static void
listen_state_clear (ListenState *state)
{
  g_ptr_array_unref (state->messages);
  g_clear_error (&state->error);
}

static gboolean
listen_have_n (ListenState *state,
               guint        n)
{
  return state->messages->len >= n;
}

static void
run_until_n_messages (GMainContext *context,
                      ListenState  *state,
                      guint         n)
{
  g_autoptr(GSource) guard = g_timeout_source_new_seconds (gipc_test_timeout_seconds ());
  gboolean timed_out = FALSE;

  g_source_set_callback (guard, gipc_test_guard_timeout_cb, &timed_out, NULL);
  g_source_attach (guard, context);
  while (!listen_have_n (state, n) && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (guard);
  g_assert_false (timed_out);
}

/* "message" for each message, in order, in the thread-default context of
 * the listen caller; 0-byte and large messages included. */
static void
test_listen_messages (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) last_send = NULL;
  ListenState state;
  const guint n = 100;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  listen_state_init (&state, context);
  g_signal_connect (reader, "message", G_CALLBACK (listen_message_cb), &state);
  g_signal_connect (reader, "error", G_CALLBACK (listen_error_cb), &state);

  g_main_context_push_thread_default (context);
  gipc_channel_listen (reader);
  g_assert_true (gipc_channel_is_listening (reader));

  for (i = 0; i < n; i++)
    {
      gsize size = (i == 50) ? 1 * MiB : (i % 7 == 0) ? 0 : order_size (i);
      g_autoptr(GBytes) payload = gipc_test_pattern_bytes (size, i);

      if (i < n - 1)
        gipc_channel_send_async (writer, payload, NULL, NULL, NULL);
      else
        gipc_channel_send_async (writer, payload, NULL, gipc_test_result_cb, &last_send);
    }

  /* Nothing is emitted while only the default context runs. */
  gipc_test_drain_context (g_main_context_default ());
  g_assert_cmpuint (state.messages->len, ==, 0);

  run_until_n_messages (context, &state, n);
  gipc_test_run_until_result (context, &last_send);
  g_assert_true (gipc_channel_send_finish (writer, last_send, NULL));
  g_main_context_pop_thread_default (context);

  g_assert_cmpuint (state.messages->len, ==, n);
  for (i = 0; i < n; i++)
    {
      gsize size = (i == 50) ? 1 * MiB : (i % 7 == 0) ? 0 : order_size (i);

      gipc_test_assert_pattern (g_ptr_array_index (state.messages, i), size, i);
    }
  g_assert_cmpuint (state.n_wrong_context, ==, 0);
  g_assert_cmpuint (state.n_errors, ==, 0);

  gipc_test_close_ok (reader);
  listen_state_clear (&state);
}

/* A listening duplex end still sends. */
static void
test_listen_duplex_send (void)
{
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  g_autoptr(GBytes) ping = g_bytes_new_static ("ping", 4);
  g_autoptr(GBytes) got = NULL;
  ListenState state;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);
  listen_state_init (&state, g_main_context_default ());
  g_signal_connect (h1, "message", G_CALLBACK (listen_message_cb), &state);
  g_signal_connect (h1, "error", G_CALLBACK (listen_error_cb), &state);
  gipc_channel_listen (h1);

  gipc_test_send_str (h1, "from-h1");
  gipc_test_receive_str (h2, "from-h1");
  got = transfer_async (h1, h2, ping);
  gipc_test_assert_bytes_str (got, "ping");

  gipc_test_send_str (h2, "from-h2");
  run_until_n_messages (g_main_context_default (), &state, 1);
  gipc_test_assert_bytes_str (g_ptr_array_index (state.messages, 0), "from-h2");

  gipc_test_close_ok (h1);
  listen_state_clear (&state);
}

/* ---------------------------------------------------------------------- */
/* GVariant messages */

static GVariant *
make_value (guint i)
{
  static const guint8 raw[] = { 0, 1, 2, 0xff, 0, 'x' };

  switch (i)
    {
    case 0:
      return g_variant_new_parsed ("{'name': <'gipc'>, 'n': <int32 42>, 'list': <[1, 2, 3]>,"
                                   " 'nested': <{'k': <(true, 2.5)>}>}");
    case 1:
      return g_variant_new ("(ius)", -5, 7u, "hello");
    case 2:
      return g_variant_new_parsed ("['a', 'bb', '', 'ccc']");
    case 3:
      return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, raw, sizeof raw, 1);
    case 4:
      return g_variant_new_variant (g_variant_new_variant (g_variant_new_int32 (-17)));
    case 5:
      return g_variant_new_parsed ("@ay []");
    case 6:
      return g_variant_new_parsed ("()");
    case 7:
      return g_variant_new_parsed ("(@ms nothing, just uint64 12345678901234, @a{ss} {})");
    default:
      return NULL;
    }
}

static void
assert_variant_equal (GVariant *got,
                      GVariant *expected)
{
  g_autofree char *got_str = NULL;
  g_autofree char *expected_str = NULL;

  g_assert_nonnull (got);
  g_assert_false (g_variant_is_floating (got));
  got_str = g_variant_print (got, TRUE);
  expected_str = g_variant_print (expected, TRUE);
  g_assert_cmpstr (got_str, ==, expected_str);
  g_assert_cmpstr (g_variant_get_type_string (got), ==, g_variant_get_type_string (expected));
  g_assert_true (g_variant_equal (got, expected));
}

static void
test_variant_roundtrip_sync (void)
{
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);

  for (i = 0; i < 8; i++)
    {
      g_autoptr(GVariant) value = g_variant_ref_sink (make_value (i));
      g_autoptr(GVariant) got = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_true (gipc_channel_send_variant (h1, value, NULL, &error));
      g_assert_no_error (error);
      got = gipc_channel_receive_variant (h2, NULL, &error);
      g_assert_no_error (error);
      assert_variant_equal (got, value);
    }
}

static void
test_variant_roundtrip_async (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);

  for (i = 0; i < 9; i++)
    {
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GAsyncResult) send_result = NULL;
      g_autoptr(GAsyncResult) receive_result = NULL;
      g_autoptr(GVariant) got = NULL;
      g_autoptr(GError) error = NULL;

      if (i < 8)
        value = g_variant_ref_sink (make_value (i));
      else
        {
          /* Larger than the pipe. */
          g_autoptr(GBytes) big = gipc_test_pattern_bytes (3 * MiB, 8);

          value = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                big, TRUE));
        }

      gipc_channel_receive_variant_async (reader, NULL, gipc_test_result_cb, &receive_result);
      gipc_channel_send_variant_async (writer, value, NULL, gipc_test_result_cb, &send_result);
      gipc_test_run_until_result (NULL, &send_result);
      gipc_test_run_until_result (NULL, &receive_result);
      g_assert_true (gipc_channel_send_variant_finish (writer, send_result, &error));
      g_assert_no_error (error);
      got = gipc_channel_receive_variant_finish (reader, receive_result, &error);
      g_assert_no_error (error);
      assert_variant_equal (got, value);
    }
}

/* A floating value passed to send_variant is consumed (GVariant's
 * convention); under valgrind a leak here fails the suite. */
static void
test_variant_floating (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GVariant) got = NULL;
  g_autoptr(GError) error = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  g_assert_true (gipc_channel_send_variant (writer, g_variant_new ("(su)", "floating", 3u),
                                            NULL, &error));
  g_assert_no_error (error);
  got = gipc_channel_receive_variant (reader, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (got, G_VARIANT_TYPE ("(su)")));
}

/* The payload of a GVariant message is g_variant_new_variant (value)
 * serialized in normal form, also when @value itself is not in normal form
 * (here: non-zero padding bytes). */
static void
test_variant_wire_format (void)
{
  static const guint8 not_normal[] = { 0x01, 0xaa, 0xbb, 0xcc, 0x05, 0x00, 0x00, 0x00 };
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  guint i;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);

  for (i = 0; i < 9; i++)
    {
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GVariant) boxed = NULL;
      g_autoptr(GVariant) normal = NULL;
      g_autoptr(GBytes) expected = NULL;
      g_autoptr(GBytes) payload = NULL;
      g_autoptr(GError) error = NULL;

      if (i < 8)
        value = g_variant_ref_sink (make_value (i));
      else
        {
          value = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(yi)"),
                                                               not_normal, sizeof not_normal,
                                                               FALSE, NULL, NULL));
          g_assert_false (g_variant_is_normal_form (value));
        }

      boxed = g_variant_ref_sink (g_variant_new_variant (value));
      normal = g_variant_get_normal_form (boxed);
      expected = g_variant_get_data_as_bytes (normal);

      g_assert_true (gipc_channel_send_variant (writer, value, NULL, &error));
      g_assert_no_error (error);
      payload = gipc_test_receive_bytes (reader);
      g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                       g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
    }
}

/* Raw messages and GVariant messages mix on one channel: a raw message
 * holding a serialized "v" is received as that value. */
static void
test_variant_from_raw (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new ("(ius)", 1, 2u, "three"));
  g_autoptr(GVariant) boxed = g_variant_ref_sink (g_variant_new_variant (value));
  g_autoptr(GBytes) raw = g_variant_get_data_as_bytes (boxed);
  g_autoptr(GVariant) got = NULL;
  g_autoptr(GError) error = NULL;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_test_send_bytes (writer, raw);
  got = gipc_channel_receive_variant (reader, NULL, &error);
  g_assert_no_error (error);
  assert_variant_equal (got, value);
}

/* ---------------------------------------------------------------------- */
/* new_from_fds */

static void
test_new_from_fds_directions (void)
{
  int a[2], b[2];
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GipcChannel) duplex1 = NULL;
  g_autoptr(GipcChannel) duplex2 = NULL;
  int c[2];

  raw_pipe (a);
  g_assert_false (gipc_test_fd_is_cloexec (a[0]));
  g_assert_false (gipc_test_fd_is_nonblocking (a[0]));

  reader = gipc_channel_new_from_fds (a[0], -1, &error);
  g_assert_no_error (error);
  writer = gipc_channel_new_from_fds (-1, a[1], &error);
  g_assert_no_error (error);
  assert_directions (reader, FALSE, TRUE);
  assert_directions (writer, TRUE, FALSE);

  /* The channel made them close-on-exec and non-blocking. */
  g_assert_true (gipc_test_fd_is_cloexec (a[0]));
  g_assert_true (gipc_test_fd_is_nonblocking (a[0]));
  g_assert_true (gipc_test_fd_is_cloexec (a[1]));
  g_assert_true (gipc_test_fd_is_nonblocking (a[1]));

  gipc_test_send_str (writer, "simplex");
  gipc_test_receive_str (reader, "simplex");

  /* A duplex pair from two pipes. */
  raw_pipe (b);
  raw_pipe (c);
  duplex1 = gipc_channel_new_from_fds (b[0], c[1], &error);
  g_assert_no_error (error);
  duplex2 = gipc_channel_new_from_fds (c[0], b[1], &error);
  g_assert_no_error (error);
  assert_directions (duplex1, TRUE, TRUE);
  assert_directions (duplex2, TRUE, TRUE);
  gipc_test_send_str (duplex1, "to-2");
  gipc_test_send_str (duplex2, "to-1");
  gipc_test_receive_str (duplex2, "to-2");
  gipc_test_receive_str (duplex1, "to-1");
}

/* The fds of a socketpair work too (any stream fd does). */
static void
test_new_from_fds_socketpair (void)
{
  int sv[2];
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  g_autoptr(GBytes) payload = gipc_test_pattern_bytes (1 * MiB, 6);
  g_autoptr(GBytes) got = NULL;
  int dup1, dup2;

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM, 0, sv));
  dup1 = dup (sv[0]);
  dup2 = dup (sv[1]);
  g_assert_cmpint (dup1, >=, 0);
  g_assert_cmpint (dup2, >=, 0);
  h1 = gipc_channel_new_from_fds (sv[0], dup1, &error);
  g_assert_no_error (error);
  h2 = gipc_channel_new_from_fds (sv[1], dup2, &error);
  g_assert_no_error (error);

  got = transfer_async (h1, h2, payload);
  gipc_test_assert_pattern (got, 1 * MiB, 6);
  gipc_test_send_str (h2, "back");
  gipc_test_receive_str (h1, "back");
}

static void
test_new_from_fds_finalize_closes (void)
{
  guint before;
  g_autoptr(GError) error = NULL;
  GipcChannel *reader, *writer;
  int a[2];

  gipc_test_drain_context (g_main_context_default ());
  before = gipc_test_count_fds ();
  raw_pipe (a);
  g_assert_cmpuint (gipc_test_count_fds (), ==, before + 2);
  reader = gipc_channel_new_from_fds (a[0], -1, &error);
  g_assert_no_error (error);
  writer = gipc_channel_new_from_fds (-1, a[1], &error);
  g_assert_no_error (error);
  gipc_test_send_str (writer, "x");

  g_object_unref (writer);
  g_assert_false (gipc_test_fd_is_open (a[1]));
  g_object_unref (reader);
  g_assert_false (gipc_test_fd_is_open (a[0]));
  g_assert_cmpuint (gipc_test_count_fds (), ==, before);
}

static void
test_close_closes_fds (void)
{
  guint before;
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  int a[2], b[2];

  gipc_test_drain_context (g_main_context_default ());
  before = gipc_test_count_fds ();
  raw_pipe (a);
  raw_pipe (b);
  h1 = gipc_channel_new_from_fds (a[0], b[1], &error);
  g_assert_no_error (error);
  h2 = gipc_channel_new_from_fds (b[0], a[1], &error);
  g_assert_no_error (error);

  gipc_test_close_ok (h1);
  g_assert_false (gipc_test_fd_is_open (a[0]));
  g_assert_false (gipc_test_fd_is_open (b[1]));
  g_assert_true (gipc_test_fd_is_open (b[0]));
  gipc_test_close_ok (h2);
  g_assert_cmpuint (gipc_test_count_fds (), ==, before);
}

/* ---------------------------------------------------------------------- */
/* The wire */

/* gipc's raw framing: "abc" is 00 00 00 03 61 62 63. */
static void
test_wire_abc (void)
{
  static const guint8 abc[] = { 0x00, 0x00, 0x00, 0x03, 0x61, 0x62, 0x63 };
  static const guint8 empty[] = { 0x00, 0x00, 0x00, 0x00 };
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) msg = g_bytes_new_static ("abc", 3);
  g_autoptr(GBytes) nothing = g_bytes_new (NULL, 0);
  guint8 buf[sizeof abc];
  int out[2], in[2];

  raw_pipe (out);
  writer = gipc_channel_new_from_fds (-1, out[1], &error);
  g_assert_no_error (error);

  gipc_test_send_bytes (writer, msg);
  gipc_test_read_exact (out[0], buf, sizeof abc);
  g_assert_cmpmem (buf, sizeof abc, abc, sizeof abc);

  gipc_channel_send_async (writer, msg, NULL, gipc_test_result_cb, &result);
  gipc_test_run_until_result (NULL, &result);
  g_assert_true (gipc_channel_send_finish (writer, result, &error));
  gipc_test_read_exact (out[0], buf, sizeof abc);
  g_assert_cmpmem (buf, sizeof abc, abc, sizeof abc);

  gipc_test_send_bytes (writer, nothing);
  gipc_test_read_exact (out[0], buf, sizeof empty);
  g_assert_cmpmem (buf, sizeof empty, empty, sizeof empty);
  g_assert_cmpuint (gipc_test_bytes_available (out[0]), ==, 0);
  close (out[0]);

  /* And the other way: frames written by hand are received. */
  raw_pipe (in);
  reader = gipc_channel_new_from_fds (in[0], -1, &error);
  g_assert_no_error (error);
  gipc_test_write_all (in[1], abc, sizeof abc);
  gipc_test_write_all (in[1], empty, sizeof empty);
  gipc_test_receive_str (reader, "abc");
  {
    g_autoptr(GBytes) got = gipc_test_receive_bytes (reader);

    g_assert_cmpuint (g_bytes_get_size (got), ==, 0);
  }
  close (in[1]);
}

/* Many send_async in flight may be batched into one write, but the bytes
 * on the wire are exactly the frames, in call order. */
static void
test_wire_batched (void)
{
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) expected = g_byte_array_new ();
  g_autoptr(GAsyncResult) last = NULL;
  guint8 *buf;
  int out[2];
  guint i;

  raw_pipe (out);
  writer = gipc_channel_new_from_fds (-1, out[1], &error);
  g_assert_no_error (error);

  /* 50 messages, about 20 KiB in all: fits in the pipe. */
  for (i = 0; i < 50; i++)
    {
      g_autoptr(GBytes) payload = gipc_test_pattern_bytes (i * 17, i);
      guint8 header[4] = { 0, 0, (guint8) ((i * 17) >> 8), (guint8) (i * 17) };

      g_byte_array_append (expected, header, 4);
      if (i > 0)
        g_byte_array_append (expected, g_bytes_get_data (payload, NULL), i * 17);
      gipc_channel_send_async (writer, payload, NULL,
                               i == 49 ? gipc_test_result_cb : NULL,
                               i == 49 ? &last : NULL);
    }
  gipc_test_run_until_result (NULL, &last);
  g_assert_true (gipc_channel_send_finish (writer, last, &error));
  g_assert_no_error (error);

  /* send_async completes when the whole message is in the pipe. */
  g_assert_cmpuint (gipc_test_bytes_available (out[0]), ==, expected->len);
  buf = g_malloc (expected->len);
  gipc_test_read_exact (out[0], buf, expected->len);
  g_assert_cmpmem (buf, expected->len, expected->data, expected->len);
  g_free (buf);
  close (out[0]);
}

/* ---------------------------------------------------------------------- */
/* fork */

/* A channel is its fds plus its state: after a plain fork() (no
 * GipcProcess) the child uses it with the sync API, with no main loop. */
/* The child of /channel/fork/plain: echoes one message, says goodbye and
 * _exits, having released what it holds (valgrind follows the fork). */
static void G_GNUC_NORETURN
fork_child_echo (GipcChannel *parent_end,
                 GipcChannel *child_end)
{
  GBytes *in;
  GBytes *bye = g_bytes_new_static ("bye", 3);
  gboolean ok;

  alarm (gipc_test_timeout_seconds ());
  in = gipc_channel_receive (child_end, NULL, NULL);
  ok = in != NULL && g_bytes_get_size (in) == 2 * MiB &&
       gipc_channel_send (child_end, in, NULL, NULL);
  ok = ok && gipc_channel_send (child_end, bye, NULL, NULL);

  g_clear_pointer (&in, g_bytes_unref);
  g_bytes_unref (bye);
  g_object_unref (child_end);
  g_object_unref (parent_end);
  _exit (ok ? 0 : 1);
}

static void
test_fork_plain (void)
{
  g_autoptr(GipcChannel) h1 = NULL;
  g_autoptr(GipcChannel) h2 = NULL;
  g_autoptr(GBytes) large = NULL;
  g_autoptr(GAsyncResult) sent = NULL;
  OrderState receives;
  int status = 0;
  pid_t pid;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_DUPLEX, &h1, &h2);

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    fork_child_echo (g_steal_pointer (&h1), g_steal_pointer (&h2));

  large = gipc_test_pattern_bytes (2 * MiB, 21);
  order_state_init (&receives, h1, 2);
  gipc_channel_send_async (h1, large, NULL, gipc_test_result_cb, &sent);
  gipc_channel_receive_async (h1, NULL, chain_receive_cb, &receives);
  gipc_test_run_until_result (NULL, &sent);
  g_assert_true (gipc_channel_send_finish (h1, sent, NULL));
  gipc_test_run_until (NULL, &receives.done);

  gipc_test_assert_pattern (g_ptr_array_index (receives.messages, 0), 2 * MiB, 21);
  gipc_test_assert_bytes_str (g_ptr_array_index (receives.messages, 1), "bye");
  order_state_clear (&receives);

  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* ---------------------------------------------------------------------- */
/* Sync calls */

static gboolean
count_idle_cb (gpointer user_data)
{
  guint *count = user_data;

  (*count)++;
  return G_SOURCE_CONTINUE;
}

/* Sync calls do not dispatch the caller's other sources: an idle, a 0 ms
 * timeout and a ready async receive on another channel all wait. */
static void
check_no_dispatch (GMainContext *context)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  g_autoptr(GipcChannel) other_reader = NULL;
  g_autoptr(GipcChannel) other_writer = NULL;
  g_autoptr(GSource) idle = g_idle_source_new ();
  g_autoptr(GSource) timeout = g_timeout_source_new (0);
  g_autoptr(GAsyncResult) other_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;
  guint idle_count = 0, timeout_count = 0;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &other_reader, &other_writer);

  gipc_test_send_str (other_writer, "other");
  gipc_channel_receive_async (other_reader, NULL, gipc_test_result_cb, &other_result);

  g_source_set_callback (idle, count_idle_cb, &idle_count, NULL);
  g_source_attach (idle, context);
  g_source_set_callback (timeout, count_idle_cb, &timeout_count, NULL);
  g_source_attach (timeout, context);

  gipc_test_send_str (writer, "one");
  gipc_test_receive_str (reader, "one");

  /* A receive that has to wait until its timeout. */
  gipc_channel_set_timeout (reader, 50);
  got = gipc_channel_receive (reader, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (got);

  {
    g_autoptr(GBytes) big = gipc_test_pattern_bytes (60 * KiB, 1);
    g_autoptr(GBytes) back = NULL;

    gipc_test_send_bytes (writer, big);
    back = gipc_test_receive_bytes (reader);
    gipc_test_assert_pattern (back, 60 * KiB, 1);
  }

  g_assert_cmpuint (idle_count, ==, 0);
  g_assert_cmpuint (timeout_count, ==, 0);
  g_assert_null (other_result);

  /* Once the context runs, everything does. */
  gipc_test_run_until_result (context, &other_result);
  {
    g_autoptr(GError) other_error = NULL;
    g_autoptr(GBytes) other = gipc_channel_receive_finish (other_reader, other_result,
                                                           &other_error);

    g_assert_no_error (other_error);
    gipc_test_assert_bytes_str (other, "other");
  }
  g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (idle_count + timeout_count, >, 0);

  g_source_destroy (idle);
  g_source_destroy (timeout);
}

static void
test_sync_no_dispatch_default (void)
{
  check_no_dispatch (g_main_context_default ());
}

static void
test_sync_no_dispatch_pushed (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  check_no_dispatch (context);
  g_main_context_pop_thread_default (context);
}

/* A sync call inside a callback dispatched by the context works (it does
 * not depend on the caller's context being free). */
typedef struct
{
  GipcChannel *reader;
  GipcChannel *writer;
  gboolean     done;
} NestedData;

static gboolean
nested_sync_cb (gpointer user_data)
{
  NestedData *data = user_data;

  gipc_test_send_str (data->writer, "nested");
  gipc_test_receive_str (data->reader, "nested");
  data->done = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_sync_in_callback (void)
{
  g_autoptr(GipcChannel) reader = NULL;
  g_autoptr(GipcChannel) writer = NULL;
  NestedData data;

  gipc_test_make_pipe (GIPC_PIPE_FLAGS_NONE, &reader, &writer);
  data.reader = reader;
  data.writer = writer;
  data.done = FALSE;
  g_idle_add (nested_sync_cb, &data);
  gipc_test_run_until (NULL, &data.done);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  gipc_test_add_func ("/channel/pipe/simplex", test_pipe_simplex);
  gipc_test_add_func ("/channel/pipe/duplex", test_pipe_duplex);
  gipc_test_add_func ("/channel/pipe/fds-simplex", test_pipe_fds_simplex);
  gipc_test_add_func ("/channel/pipe/fds-duplex", test_pipe_fds_duplex);
  gipc_test_add_func ("/channel/properties", test_properties);

  gipc_test_add_func ("/channel/message/empty", test_message_empty);
  gipc_test_add_func ("/channel/message/one-byte", test_message_one_byte);
  gipc_test_add_func ("/channel/message/64k", test_message_64k);
  gipc_test_add_func ("/channel/message/2m", test_message_2m);
  gipc_test_add_func ("/channel/message/10m", test_message_10m);
  gipc_test_add_func ("/channel/message/sync-threads", test_message_sync_threads);

  gipc_test_add_func ("/channel/order/many-sync", test_order_many_sync);
  gipc_test_add_func ("/channel/order/many-send-async", test_order_many_send_async);
  gipc_test_add_func ("/channel/order/send-callbacks-small", test_order_send_callbacks_small);
  gipc_test_add_func ("/channel/order/send-callbacks-small-receiving",
                      test_order_send_callbacks_small_receiving);
  gipc_test_add_func ("/channel/order/receive-callbacks-ready", test_order_receive_callbacks_ready);
  gipc_test_add_func ("/channel/order/mixed-variant-callbacks", test_order_mixed_variant_callbacks);
  gipc_test_add_func ("/channel/order/many-receive-async", test_order_many_receive_async);
  gipc_test_add_func ("/channel/order/one-writer-two-readers", test_order_one_writer_two_readers);
  gipc_test_add_func ("/channel/order/two-writers", test_order_two_writers);

  gipc_test_add_func ("/channel/async/no-callback", test_send_async_no_callback);
  gipc_test_add_func ("/channel/async/results-not-recycled", test_async_results_not_recycled);
  gipc_test_add_func ("/channel/async/thread-default-context", test_async_thread_default_context);
  gipc_test_add_func ("/channel/async/created-in-other-context", test_async_created_in_other_context);

  gipc_test_add_func ("/channel/listen/messages", test_listen_messages);
  gipc_test_add_func ("/channel/listen/duplex-send", test_listen_duplex_send);

  gipc_test_add_func ("/channel/variant/roundtrip-sync", test_variant_roundtrip_sync);
  gipc_test_add_func ("/channel/variant/roundtrip-async", test_variant_roundtrip_async);
  gipc_test_add_func ("/channel/variant/floating", test_variant_floating);
  gipc_test_add_func ("/channel/variant/wire-format", test_variant_wire_format);
  gipc_test_add_func ("/channel/variant/from-raw", test_variant_from_raw);

  gipc_test_add_func ("/channel/new-from-fds/directions", test_new_from_fds_directions);
  gipc_test_add_func ("/channel/new-from-fds/socketpair", test_new_from_fds_socketpair);
  gipc_test_add_func ("/channel/new-from-fds/finalize-closes", test_new_from_fds_finalize_closes);
  gipc_test_add_func ("/channel/close/closes-fds", test_close_closes_fds);

  gipc_test_add_func ("/channel/wire/abc", test_wire_abc);
  gipc_test_add_func ("/channel/wire/batched", test_wire_batched);

  gipc_test_add_func ("/channel/fork/plain", test_fork_plain);

  gipc_test_add_func ("/channel/sync/no-dispatch-default", test_sync_no_dispatch_default);
  gipc_test_add_func ("/channel/sync/no-dispatch-pushed", test_sync_no_dispatch_pushed);
  gipc_test_add_func ("/channel/sync/in-callback", test_sync_in_callback);

  return g_test_run ();
}
