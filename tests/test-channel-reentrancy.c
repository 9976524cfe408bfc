/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The re-entrancy matrix of GipcChannel: every kind of callback the
 * library invokes, times every action a handler may take in it, times
 * three peers (good data, a bad header, end of stream). One test case per
 * cell, /reentrancy/KIND/ACTION/PEER.
 *
 * Each case checks the invariants of DESIGN.md "Lifetime and
 * re-entrancy": no message is lost, duplicated or reordered (what arrives
 * is a prefix of what the peer sent, and all of it unless the handler
 * closed or dropped the channel); the end of the stream is reported once;
 * the channel is never wedged (it finishes its work and is finalized when
 * the last reference goes); and memory stays sound (run under ASan with
 * G_SLICE=always-malloc).
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gipc-glib/gipc-glib.h>

#include "test-util.h"

typedef enum
{
  KIND_MESSAGE,          /* the "message" signal */
  KIND_ERROR,            /* the "error" signal */
  KIND_SEND,             /* a send_async callback */
  KIND_RECEIVE,          /* a receive_async callback */
  KIND_RECEIVE_VARIANT,  /* a receive_variant_async callback */
  KIND_TIMEOUT,          /* a receive that timed out */
  KIND_CANCEL_RECEIVE,   /* a cancelled receive */
  KIND_CANCEL_SEND,      /* a cancelled send */
  KIND_NOTIFY,           /* notify::timeout */
  N_KINDS
} Kind;

static const char *kind_names[N_KINDS] = {
  "message", "error", "send", "receive", "receive-variant", "timeout",
  "cancel-receive", "cancel-send", "notify",
};

typedef enum
{
  ACTION_ITERATE,        /* iterate the context once */
  ACTION_NESTED,         /* a nested loop until one more message (bounded) */
  ACTION_CLOSE,          /* close the channel (LOCKED is a fine answer) */
  ACTION_UNREF,          /* drop the test's (last user) reference */
  ACTION_NEW_OPS,        /* start a send and a receive */
  N_ACTIONS
} Action;

static const char *action_names[N_ACTIONS] = {
  "iterate", "nested-loop", "close", "unref", "new-ops",
};

typedef enum
{
  PEER_GOOD,             /* three messages; the stream stays open */
  PEER_BAD_HEADER,       /* two messages, then a header over the maximum */
  PEER_EOF,              /* two messages, then the end of the stream */
  N_PEERS
} Peer;

static const char *peer_names[N_PEERS] = { "good", "bad-header", "eof" };

#define N_SCRIPT   3
#define MAX_SIZE   64

typedef struct
{
  Kind kind;
  Action action;
  Peer peer;

  GMainContext *context;
  GipcChannel *channel;          /* the test's reference, or NULL */
  GipcChannel *weak;             /* NULL once finalized */
  int peer_write;                /* raw fds of the peer */
  int peer_read;

  gboolean acted;
  gboolean in_action;
  gboolean peer_sent;
  gboolean stop_chain;           /* the chain of receives ends */
  guint pending_callbacks;       /* async calls not yet called back */

  GPtrArray *received;           /* char*, in arrival order */
  guint n_errors;                /* ends of stream reported */
  guint n_error_signals;         /* of which by the "error" signal */
  GError *end;                   /* the first */
  GCancellable *cancel_first;
} Case;

static const char *script[N_SCRIPT] = { "m0", "m1", "m2" };

static guint
script_messages (Peer peer)
{
  return peer == PEER_GOOD ? 3 : 2;
}

static gboolean
uses_variants (Kind kind)
{
  return kind == KIND_RECEIVE_VARIANT;
}

static void
append_frame (GByteArray *wire,
              Case       *c,
              const char *text)
{
  g_autoptr(GBytes) payload = NULL;
  guint8 header[4];
  gsize size;

  if (uses_variants (c->kind))
    {
      g_autoptr(GVariant) boxed = g_variant_ref_sink (g_variant_new_variant (g_variant_new_string (text)));
      g_autoptr(GVariant) normal = g_variant_get_normal_form (boxed);

      payload = g_variant_get_data_as_bytes (normal);
    }
  else
    payload = g_bytes_new (text, strlen (text));

  size = g_bytes_get_size (payload);
  header[0] = header[1] = header[2] = 0;
  header[3] = (guint8) size;
  g_byte_array_append (wire, header, 4);
  g_byte_array_append (wire, g_bytes_get_data (payload, NULL), size);
}

/* The peer writes its whole script at once. */
static void
peer_send (Case *c)
{
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  if (c->peer_sent)
    return;
  c->peer_sent = TRUE;

  /* A handler closed or dropped the channel: its read end is gone. */
  if (c->weak == NULL || gipc_channel_is_closed (c->weak))
    return;

  for (guint i = 0; i < script_messages (c->peer); i++)
    append_frame (wire, c, script[i]);

  if (c->peer == PEER_BAD_HEADER)
    {
      static const guint8 bad[] = { 0, 0, 0x10, 0, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f };

      g_byte_array_append (wire, bad, sizeof bad);
    }

  gipc_test_write_all (c->peer_write, wire->data, wire->len);
  if (c->peer == PEER_EOF)
    {
      close (c->peer_write);
      c->peer_write = -1;
    }
}

static void
record_message (Case       *c,
                const char *text)
{
  g_ptr_array_add (c->received, g_strdup (text));
}

static void
record_end (Case         *c,
            const GError *error)
{
  c->n_errors++;
  if (c->end == NULL)
    c->end = g_error_copy (error);
}

static void start_receive (Case *c, GipcChannel *channel);
static void do_action (Case *c, GipcChannel *channel);

static void
maybe_act (Case        *c,
           GipcChannel *channel)
{
  if (c->acted || c->in_action)
    return;
  c->acted = TRUE;
  c->in_action = TRUE;
  do_action (c, channel);
  c->in_action = FALSE;
}

/* ---------------------------------------------------------------------- */
/* Callbacks                                                               */

static void
message_cb (GipcChannel *channel,
            GBytes      *message,
            gpointer     user_data)
{
  Case *c = user_data;
  g_autofree char *text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));

  record_message (c, text);
  if (c->kind == KIND_MESSAGE)
    maybe_act (c, channel);
  g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message),
                   text, strlen (text));
}

static void
error_cb (GipcChannel  *channel,
          const GError *error,
          gpointer      user_data)
{
  Case *c = user_data;

  c->n_error_signals++;
  record_end (c, error);
  if (c->kind == KIND_ERROR)
    maybe_act (c, channel);
  /* Still ours to read after the action (a close frees the channel's). */
  g_assert_cmpuint (strlen (error->message), >, 0);
}

static void
receive_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Case *c = user_data;
  GipcChannel *channel = GIPC_CHANNEL (source);
  g_autoptr(GError) error = NULL;
  gboolean chain = FALSE;

  c->pending_callbacks--;

  if (uses_variants (c->kind))
    {
      g_autoptr(GVariant) value = gipc_channel_receive_variant_finish (channel, result, &error);

      if (value != NULL)
        record_message (c, g_variant_get_string (value, NULL));
    }
  else
    {
      g_autoptr(GBytes) message = gipc_channel_receive_finish (channel, result, &error);

      if (message != NULL)
        {
          g_autofree char *text = g_strndup (g_bytes_get_data (message, NULL),
                                             g_bytes_get_size (message));
          record_message (c, text);
        }
    }

  if (error == NULL)
    chain = TRUE;
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    chain = TRUE;
  else if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_CLOSED))
    chain = FALSE;
  else
    record_end (c, error);

  switch (c->kind)
    {
    case KIND_RECEIVE:
    case KIND_RECEIVE_VARIANT:
      if (error == NULL)
        maybe_act (c, channel);
      break;
    case KIND_TIMEOUT:
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          gipc_channel_set_timeout (channel, 0);
          maybe_act (c, channel);
          peer_send (c);
        }
      break;
    case KIND_CANCEL_RECEIVE:
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          maybe_act (c, channel);
          peer_send (c);
        }
      break;
    default:
      break;
    }

  if (chain && !c->stop_chain)
    start_receive (c, channel);
}

static void
start_receive (Case        *c,
               GipcChannel *channel)
{
  GCancellable *cancellable = NULL;

  if (gipc_channel_is_closed (channel) || gipc_channel_is_listening (channel))
    return;

  if (c->kind == KIND_CANCEL_RECEIVE && c->cancel_first == NULL)
    cancellable = c->cancel_first = g_cancellable_new ();

  c->pending_callbacks++;
  if (uses_variants (c->kind))
    gipc_channel_receive_variant_async (channel, cancellable, receive_cb, c);
  else
    gipc_channel_receive_async (channel, cancellable, receive_cb, c);
}

static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Case *c = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = gipc_channel_send_finish (GIPC_CHANNEL (source), result, &error);

  c->pending_callbacks--;
  if (c->kind == KIND_SEND && ok)
    maybe_act (c, GIPC_CHANNEL (source));
  if (c->kind == KIND_CANCEL_SEND &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    maybe_act (c, GIPC_CHANNEL (source));
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  maybe_act (user_data, GIPC_CHANNEL (object));
}

/* ---------------------------------------------------------------------- */
/* Actions                                                                 */

static gboolean
nested_timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
do_action (Case        *c,
           GipcChannel *channel)
{
  switch (c->action)
    {
    case ACTION_ITERATE:
      g_main_context_iteration (c->context, FALSE);
      break;

    case ACTION_NESTED:
      {
        guint seen = c->received->len;
        gboolean timed_out = FALSE;
        g_autoptr(GSource) timer = g_timeout_source_new (200);

        g_source_set_callback (timer, nested_timeout_cb, &timed_out, NULL);
        g_source_attach (timer, c->context);
        while (!timed_out && c->received->len == seen && c->n_errors == 0)
          g_main_context_iteration (c->context, TRUE);
        g_source_destroy (timer);
      }
      break;

    case ACTION_CLOSE:
      {
        g_autoptr(GError) error = NULL;

        if (!gipc_channel_close (channel, &error))
          g_assert_error (error, GIPC_ERROR, GIPC_ERROR_LOCKED);
        else
          c->stop_chain = TRUE;
      }
      break;

    case ACTION_UNREF:
      g_clear_object (&c->channel);
      break;

    case ACTION_NEW_OPS:
      {
        g_autoptr(GBytes) extra = g_bytes_new_static ("new", 3);

        c->pending_callbacks++;
        gipc_channel_send_async (channel, extra, NULL, send_cb, c);
        start_receive (c, channel);
      }
      break;

    case N_ACTIONS:
    default:
      g_assert_not_reached ();
    }
}

/* ---------------------------------------------------------------------- */
/* The case                                                                */

/* The peer reads whatever the channel sends, as it comes. */
static gboolean
peer_drain_cb (gint         fd,
               GIOCondition condition,
               gpointer     user_data)
{
  guint8 buffer[64 * 1024];
  ssize_t n;

  do
    n = read (fd, buffer, sizeof buffer);
  while (n > 0);

  return n == 0 ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean
stop_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until the case has settled: the action ran and the peer's
 * script is all in (or the channel ended), or a bounded time passed. */
static void
run_case (Case *c)
{
  gboolean stop = FALSE;
  g_autoptr(GSource) timer = g_timeout_source_new (2000);
  guint expected = script_messages (c->peer);

  g_source_set_callback (timer, stop_cb, &stop, NULL);
  g_source_attach (timer, c->context);

  while (!stop)
    {
      gboolean ended = c->n_errors > 0 || c->weak == NULL ||
                       (c->weak != NULL && gipc_channel_is_closed (c->weak));
      gboolean complete = c->received->len >= expected &&
                          (c->peer == PEER_GOOD || c->n_errors > 0);

      if (c->acted && (ended || complete) && c->pending_callbacks <= 1)
        break;
      g_main_context_iteration (c->context, TRUE);
    }
  g_source_destroy (timer);
}

static void
test_cell (gconstpointer data)
{
  guint cell = GPOINTER_TO_UINT (data);
  Case c = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSource) drain = NULL;
  int in[2], out[2];
  guint expected;

  c.kind = cell / (N_ACTIONS * N_PEERS);
  c.action = (cell / N_PEERS) % N_ACTIONS;
  c.peer = cell % N_PEERS;
  expected = script_messages (c.peer);

  gipc_test_arm_alarm ();
  c.context = g_main_context_new ();
  g_main_context_push_thread_default (c.context);
  c.received = g_ptr_array_new_with_free_func (g_free);

  /* The channel under test reads in[0] and writes out[1]; the peer is the
   * test itself, with raw fds. */
  g_assert_no_errno (pipe2 (in, O_CLOEXEC));
  g_assert_no_errno (pipe2 (out, O_CLOEXEC));
  c.peer_write = in[1];
  c.peer_read = out[0];
  g_assert_true (g_unix_set_fd_nonblocking (c.peer_read, TRUE, NULL));
  c.channel = gipc_channel_new_from_fds (in[0], out[1], &error);
  g_assert_no_error (error);
  gipc_channel_set_max_message_size (c.channel, MAX_SIZE);
  c.weak = c.channel;
  g_object_add_weak_pointer (G_OBJECT (c.channel), (gpointer *) &c.weak);

  switch (c.kind)
    {
    case KIND_MESSAGE:
    case KIND_ERROR:
      g_signal_connect (c.channel, "message", G_CALLBACK (message_cb), &c);
      g_signal_connect (c.channel, "error", G_CALLBACK (error_cb), &c);
      gipc_channel_listen (c.channel);
      peer_send (&c);
      break;

    case KIND_SEND:
      for (guint i = 0; i < 2; i++)
        {
          g_autoptr(GBytes) m = g_bytes_new_static ("out", 3);

          c.pending_callbacks++;
          gipc_channel_send_async (c.channel, m, NULL, send_cb, &c);
        }
      start_receive (&c, c.channel);
      peer_send (&c);
      break;

    case KIND_RECEIVE:
    case KIND_RECEIVE_VARIANT:
      start_receive (&c, c.channel);
      peer_send (&c);
      break;

    case KIND_TIMEOUT:
      /* No data until the first receive timed out. */
      gipc_channel_set_timeout (c.channel, 10);
      start_receive (&c, c.channel);
      break;

    case KIND_CANCEL_RECEIVE:
      /* The first receive is cancelled; the chain then gets the data. */
      start_receive (&c, c.channel);
      g_main_context_iteration (c.context, FALSE);
      g_cancellable_cancel (c.cancel_first);
      break;

    case KIND_CANCEL_SEND:
      {
        /* The peer starts reading only after the cancellation. */
        g_autoptr(GBytes) big = gipc_test_pattern_bytes (1 * MiB, 1);
        g_autoptr(GBytes) small = g_bytes_new_static ("queued", 6);

        /* The pipe fills: the second send has not begun when cancelled. */
        c.pending_callbacks += 2;
        gipc_channel_send_async (c.channel, big, NULL, send_cb, &c);
        c.cancel_first = g_cancellable_new ();
        gipc_channel_send_async (c.channel, small, c.cancel_first, send_cb, &c);
        start_receive (&c, c.channel);
        peer_send (&c);
        g_main_context_iteration (c.context, FALSE);
        g_cancellable_cancel (c.cancel_first);
      }
      break;

    case KIND_NOTIFY:
      g_signal_connect (c.channel, "notify::timeout", G_CALLBACK (notify_cb), &c);
      start_receive (&c, c.channel);
      peer_send (&c);
      gipc_channel_set_timeout (c.channel, 5000);
      break;

    case N_KINDS:
    default:
      g_assert_not_reached ();
    }

  drain = g_unix_fd_source_new (c.peer_read, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback (drain, G_SOURCE_FUNC (peer_drain_cb), NULL, NULL);
  g_source_attach (drain, c.context);

  run_case (&c);
  g_assert_true (c.acted);

  /* Nothing lost, duplicated or reordered: a prefix of the script. */
  g_assert_cmpuint (c.received->len, <=, expected + 1);
  {
    guint next = 0;

    for (guint i = 0; i < c.received->len; i++)
      {
        const char *text = g_ptr_array_index (c.received, i);

        if (next < expected && g_str_equal (text, script[next]))
          next++;
        else
          g_error ("cell %s/%s/%s: message %u is \"%s\", expected \"%s\"",
                   kind_names[c.kind], action_names[c.action], peer_names[c.peer],
                   i, text, next < expected ? script[next] : "(none)");
      }

    /* All of it, unless the handler closed or dropped the channel. */
    if (c.action != ACTION_CLOSE && c.action != ACTION_UNREF)
      g_assert_cmpuint (next, ==, expected);
  }

  /* The end, once per receiver (the signal, or a receive chain; new-ops
   * starts a second chain), and the right one. */
  g_assert_cmpuint (c.n_error_signals, <=, 1);
  g_assert_cmpuint (c.n_errors, <=, c.action == ACTION_NEW_OPS ? 2 : 1);
  if (c.n_errors > 0 && c.peer == PEER_BAD_HEADER)
    g_assert_error (c.end, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE);
  else if (c.n_errors > 0)
    g_assert_error (c.end, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  if (c.peer != PEER_GOOD && c.action != ACTION_CLOSE && c.action != ACTION_UNREF)
    g_assert_cmpuint (c.n_errors, >=, 1);

  /* Not wedged: once the peer goes and the last reference is dropped,
   * every pending operation completes and the channel is finalized. */
  if (c.peer_write >= 0)
    close (c.peer_write);
  g_source_destroy (drain);
  close (c.peer_read);
  g_clear_object (&c.channel);
  for (guint i = 0; i < 10000 && (c.weak != NULL || c.pending_callbacks > 0); i++)
    g_main_context_iteration (c.context, TRUE);
  g_assert_null (c.weak);
  g_assert_cmpuint (c.pending_callbacks, ==, 0);

  gipc_test_drain_context (c.context);
  g_main_context_pop_thread_default (c.context);
  g_main_context_unref (c.context);
  g_ptr_array_unref (c.received);
  g_clear_error (&c.end);
  g_clear_object (&c.cancel_first);
  alarm (0);
}

/* ---------------------------------------------------------------------- */
/* Nesting depth                                                           */

/* A handler that iterates the context once per message (a GTK program
 * flushing its events while it handles a burst) must not nest one level
 * per message the peer sent: 20,000 small messages in the pipe once made
 * as many nested dispatches and overflowed the stack (found by fuzzing). */

#define DEPTH_MESSAGES 20000

typedef struct
{
  GMainContext *context;
  GipcChannel *channel;
  int write_fd;
  guint received;
  guint depth;
  guint max_depth;
  gboolean ended;
} DepthCase;

static gpointer
depth_writer_thread (gpointer data)
{
  DepthCase *d = data;
  g_autoptr(GByteArray) wire = g_byte_array_new ();

  for (guint32 i = 0; i < DEPTH_MESSAGES; i++)
    {
      guint8 frame[8] = { 0, 0, 0, 4 };
      guint32 be = GUINT32_TO_BE (i);

      memcpy (frame + 4, &be, 4);
      g_byte_array_append (wire, frame, sizeof frame);
    }
  gipc_test_write_all (d->write_fd, wire->data, wire->len);
  close (d->write_fd);
  return NULL;
}

static void
depth_check_message (DepthCase *d,
                     GBytes    *message)
{
  guint32 be;

  g_assert_cmpuint (g_bytes_get_size (message), ==, 4);
  memcpy (&be, g_bytes_get_data (message, NULL), 4);
  g_assert_cmpuint (GUINT32_FROM_BE (be), ==, d->received);
  d->received++;
}

static void
depth_iterate (DepthCase *d)
{
  d->depth++;
  d->max_depth = MAX (d->max_depth, d->depth);
  g_main_context_iteration (d->context, FALSE);
  d->depth--;
}

static void
depth_message_cb (GipcChannel *channel,
                  GBytes      *message,
                  gpointer     user_data)
{
  DepthCase *d = user_data;

  depth_check_message (d, message);
  depth_iterate (d);
}

static void
depth_error_cb (GipcChannel  *channel,
                const GError *error,
                gpointer      user_data)
{
  DepthCase *d = user_data;

  g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
  d->ended = TRUE;
}

static void
depth_receive_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  DepthCase *d = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = gipc_channel_receive_finish (GIPC_CHANNEL (source), result, &error);

  if (message == NULL)
    {
      g_assert_error (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED);
      d->ended = TRUE;
      return;
    }
  depth_check_message (d, message);
  gipc_channel_receive_async (d->channel, NULL, depth_receive_cb, d);
  depth_iterate (d);
}

static void
test_depth (gconstpointer data)
{
  gboolean push = GPOINTER_TO_UINT (data);
  DepthCase d = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GThread) writer = NULL;
  int fds[2];

  gipc_test_arm_alarm ();
  d.context = g_main_context_new ();
  g_main_context_push_thread_default (d.context);
  g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
  d.write_fd = fds[1];
  d.channel = gipc_channel_new_from_fds (fds[0], -1, &error);
  g_assert_no_error (error);

  /* The pipe is full before the first message is handled. */
  writer = g_thread_new ("depth-writer", depth_writer_thread, &d);
  while (gipc_test_bytes_available (fds[0]) < 60 * KiB)
    g_usleep (1000);

  if (push)
    {
      g_signal_connect (d.channel, "message", G_CALLBACK (depth_message_cb), &d);
      g_signal_connect (d.channel, "error", G_CALLBACK (depth_error_cb), &d);
      gipc_channel_listen (d.channel);
    }
  else
    gipc_channel_receive_async (d.channel, NULL, depth_receive_cb, &d);

  while (!d.ended)
    g_main_context_iteration (d.context, TRUE);
  g_thread_join (g_steal_pointer (&writer));

  /* Every message, in order, and a nesting that did not follow them. */
  g_assert_cmpuint (d.received, ==, DEPTH_MESSAGES);
  g_assert_cmpuint (d.depth, ==, 0);
  g_assert_cmpuint (d.max_depth, >=, 2);
  g_assert_cmpuint (d.max_depth, <=, 64);

  g_clear_object (&d.channel);
  gipc_test_drain_context (d.context);
  g_main_context_pop_thread_default (d.context);
  g_main_context_unref (d.context);
  alarm (0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Every callback kind of GipcChannel x every action in it "
                  "(iterate, nested loop, close, unref, new operations) x good, "
                  "bad-header and EOF peers.");

  for (guint k = 0; k < N_KINDS; k++)
    for (guint a = 0; a < N_ACTIONS; a++)
      for (guint p = 0; p < N_PEERS; p++)
        {
          g_autofree char *path = g_strdup_printf ("/channel/reentrancy/%s/%s/%s",
                                                   kind_names[k], action_names[a],
                                                   peer_names[p]);
          guint cell = (k * N_ACTIONS + a) * N_PEERS + p;

          /* A good peer that stays never ends the stream. */
          if (k == KIND_ERROR && p == PEER_GOOD)
            continue;
          g_test_add_data_func (path, GUINT_TO_POINTER (cell), test_cell);
        }

  g_test_add_data_func ("/channel/reentrancy/depth/message-iterate", GUINT_TO_POINTER (TRUE), test_depth);
  g_test_add_data_func ("/channel/reentrancy/depth/receive-iterate", GUINT_TO_POINTER (FALSE), test_depth);

  return g_test_run ();
}
