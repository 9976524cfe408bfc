/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gipc-channel.h"
#include "gipc-channel-private.h"
#include "gipc-channel-source-private.h"
#include "gipc-channel-state-private.h"
#include "gipc-error.h"
#include "gipc-transport-private.h"

/**
 * GipcChannel:
 *
 * One end of a message channel between processes.
 *
 * A message is a [struct@GLib.Bytes] of any length from 0 to
 * [property@Gipc.Channel:max-message-size] bytes; it arrives whole, once and
 * in order. On the wire each message is a 4-byte big-endian length followed
 * by the payload (the framing of gipc's raw pipes, so a channel can talk to
 * a Python gipc handle made with `encoder=None`).
 *
 * Channels made with %GIPC_PIPE_FLAGS_UNIX_FDS (an AF_UNIX socketpair),
 * and channels over one AF_UNIX stream socket for both directions, can also
 * pass file descriptors with a message
 * ([method@Gipc.Channel.send_with_fds_async],
 * [method@Gipc.Channel.receive_with_fds_finish],
 * [signal@Gipc.Channel::message-with-fds]) and carry large messages as
 * sealed shared memory ([property@Gipc.Channel:shared-memory-threshold],
 * [func@Gipc.shared_bytes_new]). They speak the fd wire format: each
 * message is an 8-byte header (bytes 0-3: the big-endian length; 4-5: the
 * big-endian number of fds sent with it, at most 253; 6: the kind, 0 for a
 * payload that follows inline, 1 for shared memory, where no payload
 * follows and the first fd is a memfd of exactly that length with the
 * seals `F_SEAL_WRITE`, `F_SEAL_SHRINK`, `F_SEAL_GROW` and `F_SEAL_SEAL`;
 * 7: zero), then the payload; the fds travel as one `SCM_RIGHTS` message
 * on the `sendmsg` that carries the header's first byte.
 *
 * Channels come in pairs from [func@Gipc.pipe], or are made from file
 * descriptors with [ctor@Gipc.Channel.new_from_fds], or in a program started
 * by [ctor@Gipc.Process.new_for_argv] with [ctor@Gipc.Channel.new_inherited].
 *
 * The asynchronous calls ([method@Gipc.Channel.send_async],
 * [method@Gipc.Channel.receive_async] and their variant forms) never block:
 * the channel's I/O runs from a [struct@GLib.Source] in the thread-default
 * main context of the caller, and callbacks run there too. Sends are written
 * in call order and never interleaved; small messages queued in one main
 * loop iteration are written with one system call. A send without a
 * callback costs no [class@Gio.Task].
 *
 * For streams of messages, [method@Gipc.Channel.listen] switches the
 * channel to push mode: every message is emitted as
 * [signal@Gipc.Channel::message], and the end of the stream (or a failure)
 * once as [signal@Gipc.Channel::error].
 *
 * The synchronous calls block the calling thread (they do not iterate any
 * main context) and work in programs with no main loop.
 *
 * Every callback and signal handler the channel invokes may iterate the
 * main context (a nested main loop), close the channel or drop the last
 * reference to it, and start new operations: no message is lost,
 * duplicated or reordered by it. Once the peer is gone (end of stream, a
 * bad frame, the reader closed) the channel watches no fd and costs
 * nothing, also while it stays open; close it to free its fds.
 *
 * A channel is used from one thread at a time (a cancellable may be
 * cancelled from any thread). All of its file descriptors
 * are close-on-exec; nothing leaks into other programs unless passed with
 * [method@Gipc.Process.pass_channel]. Writing to a channel whose reader is
 * gone fails with %GIPC_ERROR_PEER_CLOSED: the process never receives
 * `SIGPIPE` for it, and the library never changes signal dispositions.
 * A socket peer that closes its end with messages of ours unread (the
 * kernel reports `ECONNRESET` to our reads, after what it sent) ends the
 * stream as an end of file does: every whole message it sent is received,
 * then %GIPC_ERROR_PEER_CLOSED (or %GIPC_ERROR_PROTOCOL inside a message).
 *
 * Since: 1.0
 */

/* A callback that iterates the context re-enters the dispatch, which
 * hands the next message to a callback that may iterate again: without a
 * bound the nesting would follow the peer's message count down the stack.
 * At this depth the source rests (no fd polled, never ready) until the
 * callbacks below return; the dispatch below goes on delivering, so
 * nothing is lost or reordered, only not handed out by nested loops. */
#define MAX_DISPATCH_DEPTH  16

G_DEFINE_FINAL_TYPE (GipcChannel, gipc_channel, G_TYPE_OBJECT)

GParamSpec *gipc_channel_properties[N_PROPS];
guint gipc_channel_signals[N_SIGNALS];

/* Guards GipcChannel.context against "cancelled" handlers in other
 * threads. */
static GMutex context_mutex;

static void   gipc_channel_dispatch   (gpointer      data,
                                       GIOCondition  read_revents,
                                       GIOCondition  write_revents);
static gint64 gipc_channel_wakeup     (gpointer      data);

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

gboolean
gipc_channel_check_open (GipcChannel  *self,
                         GError      **error)
{
  if (self->closed)
    {
      if (self->passed)
        g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_CLOSED,
                             "The channel was passed to a child process");
      else if (self->not_passed)
        g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_CLOSED,
                             "The channel is closed in this fork-mode child: it was "
                             "not passed to this child: gipc_process_pass_channel");
      else
        g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_CLOSED,
                             "The channel is closed");
      return FALSE;
    }

  return TRUE;
}

gboolean
gipc_channel_check_can_send (GipcChannel  *self,
                             GError      **error)
{
  if (!gipc_channel_check_open (self, error))
    return FALSE;

  if (!self->can_send)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "This end of the channel can only receive");
      return FALSE;
    }

  return TRUE;
}

gboolean
gipc_channel_check_can_receive (GipcChannel  *self,
                                GError      **error)
{
  if (!gipc_channel_check_open (self, error))
    return FALSE;

  if (!self->can_receive)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "This end of the channel can only send");
      return FALSE;
    }

  return TRUE;
}

gboolean
gipc_channel_check_message_size (gsize    size,
                                 GError **error)
{
  if (size > GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE,
                   "A message of %" G_GSIZE_FORMAT " bytes is larger than the "
                   "wire format allows (%" G_GUINT64_FORMAT " bytes)",
                   size, GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT);
      return FALSE;
    }

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Source management                                                   */

static GMainContext *
caller_context (void)
{
  GMainContext *context = g_main_context_get_thread_default ();

  return context != NULL ? context : g_main_context_default ();
}

/* Work that belongs to the context the source runs in: callbacks due
 * there (sends and receives in flight) and the signals of listen. Output
 * queued without a callback is no one's: it moves with the source. */
static gboolean
has_context_work (GipcChannel *self)
{
  return self->send_ops.length > 0 ||
         self->flush_ops.length > 0 ||
         self->receive_ops.length > 0 ||
         self->listening;
}

static void
set_context (GipcChannel  *self,
             GMainContext *context)
{
  GMainContext *old;

  g_mutex_lock (&context_mutex);
  old = g_steal_pointer (&self->context);
  self->context = context != NULL ? g_main_context_ref (context) : NULL;
  g_mutex_unlock (&context_mutex);

  if (old != NULL)
    g_main_context_unref (old);
}

static void
destroy_source (GipcChannel *self)
{
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  set_context (self, NULL);
}

/* Makes sure the channel's source runs in the caller's thread-default
 * context. When it runs in another context with no work due there, it
 * moves; while it has work there, it stays (each callback still runs in
 * its own caller's context: GTask and the receive results see to that).
 * @force moves it anyway (listen: the signals belong to its caller). */
void
gipc_channel_ensure_source (GipcChannel *self,
                            gboolean     force)
{
  GMainContext *context = caller_context ();

  if (self->source != NULL)
    {
      if (self->context == context || (!force && has_context_work (self)))
        return;

      destroy_source (self);
    }

  set_context (self, context);
  self->source = gipc_channel_source_new (self->can_receive ? self->stream.transport.read_fd : -1,
                                          self->can_send ? self->stream.transport.write_fd : -1,
                                          gipc_channel_dispatch,
                                          gipc_channel_wakeup, self);
  g_source_attach (self->source, self->context);
  gipc_channel_update_source (self);
}

static void
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  GipcChannel *self = user_data;

  /* Any thread, maybe inside g_cancellable_cancel() called from one of our
   * own callbacks: flag, wake up, and let the dispatch do the rest. */
  g_mutex_lock (&context_mutex);
  g_atomic_int_set (&self->cancel_pending, TRUE);
  if (self->context != NULL)
    g_main_context_wakeup (self->context);
  g_mutex_unlock (&context_mutex);
}

/* The operation holding @watch holds a reference on @self until it is
 * freed, and it disconnects before that. */
void
gipc_channel_cancel_watch_init (CancelWatch  *watch,
                                GipcChannel  *self,
                                GCancellable *cancellable)
{
  if (cancellable == NULL)
    return;

  watch->cancellable = g_object_ref (cancellable);
  watch->handler_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb),
                                             self, NULL);
}

void
gipc_channel_cancel_watch_clear (CancelWatch *watch)
{
  if (watch->cancellable == NULL)
    return;

  /* Waits for a handler running in another thread; never called from
   * within our own handler. */
  g_cancellable_disconnect (watch->cancellable, watch->handler_id);
  watch->handler_id = 0;
  g_clear_object (&watch->cancellable);
}

gboolean
gipc_channel_cancel_watch_fired (const CancelWatch *watch)
{
  return watch->cancellable != NULL && g_cancellable_is_cancelled (watch->cancellable);
}

static gint64
next_deadline (GipcChannel *self)
{
  gint64 deadline = -1;

  for (GList *l = self->receive_ops.head; l != NULL; l = l->next)
    {
      ReceiveOp *op = l->data;

      if (op->deadline > 0 && (deadline < 0 || op->deadline < deadline))
        deadline = op->deadline;
    }

  return deadline;
}

/* Whether to watch the read fd: while somebody waits for messages. It
 * does not follow the inbox (the dispatch delivers from the inbox before
 * it reads), so a receive loop never toggles it: each change costs a
 * wakeup of the context. */
gboolean
gipc_channel_wants_input (GipcChannel *self)
{
  return self->stream.transport.read_fd >= 0 &&
         self->read_error == NULL &&
         (self->listening || self->receive_ops.length > 0);
}

static gint64
gipc_channel_wakeup (gpointer data)
{
  GipcChannel *self = data;
  gboolean have_news = self->inbox.length > 0 || self->read_error != NULL;
  SendOp *send_op = g_queue_peek_head (&self->send_ops);
  gint64 output_wakeup;

  if (self->dispatch_depth >= MAX_DISPATCH_DEPTH)
    return -1;

  /* Operations to cancel, a congested notify to emit. */
  if (g_atomic_int_get (&self->cancel_pending) ||
      self->congestion_changes != self->congestion_changes_notified)
    return 0;

  /* Flushes to complete. */
  if (self->flush_ops.head != NULL)
    {
      FlushOp *flush_op = self->flush_ops.head->data;

      if (flush_op->error != NULL || flush_op->target <= self->stream.written)
        return 0;
    }

  /* Sends to complete. */
  if (send_op != NULL && gipc_channel_send_op_finished (self, send_op))
    return 0;

  /* Messages or an error to hand out, with no I/O. */
  if (have_news &&
      (self->receive_ops.length > 0 || (self->listening && !self->error_emitted)))
    return 0;

  output_wakeup = gipc_channel_output_wakeup (self);
  if (self->receive_ops.length > 0)
    {
      gint64 deadline = next_deadline (self);

      if (deadline > 0 && (output_wakeup < 0 || deadline < output_wakeup))
        return deadline;
    }

  return output_wakeup;
}

void
gipc_channel_update_source (GipcChannel *self)
{
  gboolean resting;

  if (self->source == NULL)
    return;

  resting = self->dispatch_depth >= MAX_DISPATCH_DEPTH;
  gipc_channel_source_want_read (self->source, !resting && gipc_channel_wants_input (self));
  /* Held by the fd budget, the socket is writable but nothing may be
   * written: the wakeup polls instead. */
  gipc_channel_source_want_write (self->source, !resting && !self->stream.held &&
                                  self->stream.output.length > 0 && self->stream.transport.write_fd >= 0);
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */

/* Completes the operations whose cancellable fired (flagged by
 * cancelled_cb). A send is cancelled only before its first byte is
 * written; then it completes at once, not after the sends before it (those
 * may be stuck on a full pipe). Whatever part of a message has arrived
 * stays in the channel for the next receive. Each operation is taken out
 * of its queue before its callback runs. */
static void
complete_cancelled (GipcChannel *self)
{
  if (!g_atomic_int_compare_and_exchange (&self->cancel_pending, TRUE, FALSE))
    return;

  gipc_channel_cancel_sends (self);
  gipc_channel_cancel_receives (self);
}

static void
gipc_channel_dispatch (gpointer     data,
                       GIOCondition read_revents,
                       GIOCondition write_revents)
{
  GipcChannel *self = data;

  g_object_ref (self);
  self->dispatch_depth++;
  if (self->dispatch_depth == MAX_DISPATCH_DEPTH)
    gipc_channel_update_source (self);

  complete_cancelled (self);
  gipc_channel_dispatch_output (self, write_revents);
  gipc_channel_dispatch_input (self, read_revents);

  self->dispatch_depth--;
  if (!self->closed)
    gipc_channel_update_source (self);
  gipc_channel_sync_output_ref (self);
  g_object_unref (self);
}

/* See gipc-channel-private.h. Bounded: stops as soon as nothing whole is
 * left to hand out and the fd has no byte ready (a writer that is still
 * alive, a grandchild, is not waited for); the end of the stream is left
 * to the source. */
void
gipc_channel_drain_input (GipcChannel *self)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  if (self->closed || self->context == NULL || !g_main_context_is_owner (self->context))
    return;

  g_object_ref (self);
  for (guint round = 0; round < 4096; round++)
    {
      int ready = 0;

      if (self->closed || self->dispatch_depth >= MAX_DISPATCH_DEPTH ||
          !(self->listening || self->receive_ops.length > 0))
        break;
      if (self->inbox.length == 0 &&
          (self->read_error != NULL || self->stream.transport.read_fd < 0 ||
           ioctl (self->stream.transport.read_fd, FIONREAD, &ready) < 0 || ready <= 0))
        break;

      gipc_channel_dispatch (self, G_IO_IN, 0);
    }
  g_object_unref (self);
}

/* ------------------------------------------------------------------ */
/* Push mode                                                           */

/**
 * gipc_channel_listen:
 * @self: a channel that can receive
 *
 * Switches @self to push mode: from now on every incoming message is
 * emitted as [signal@Gipc.Channel::message], in order, in the
 * thread-default main context of the caller; the end of the stream, or a
 * failure, is emitted once as [signal@Gipc.Channel::error], and nothing
 * after it. While listening, receives fail with %GIPC_ERROR_LOCKED;
 * [method@Gipc.Channel.close] stops listening.
 *
 * Push mode is the fast path for streams of small messages: no
 * [class@Gio.Task] is made per message.
 *
 * Since: 1.0
 */
void
gipc_channel_listen (GipcChannel *self)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (self->can_receive);
  g_return_if_fail (self->receive_ops.length == 0);

  if (self->closed || self->listening || self->error_emitted)
    return;

  gipc_channel_ensure_source (self, TRUE);
  self->listening = TRUE;
  gipc_channel_update_source (self);
}

/**
 * gipc_channel_is_listening:
 * @self: a channel
 *
 * Whether @self is in push mode (see [method@Gipc.Channel.listen]).
 *
 * Returns: %TRUE while listening
 *
 * Since: 1.0
 */
gboolean
gipc_channel_is_listening (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);

  return self->listening;
}

/* ------------------------------------------------------------------ */
/* Closing                                                             */

gboolean
gipc_channel_is_busy (GipcChannel *self)
{
  return self->send_ops.length > 0 ||
         self->flush_ops.length > 0 ||
         self->receive_ops.length > 0 ||
         self->sync_send ||
         self->sync_receive;
}

/* Closes the fds and marks the channel closed. No signal or notify. */
void
gipc_channel_close_internal (GipcChannel *self)
{
  self->listening = FALSE;
  self->closed = TRUE;
  destroy_source (self);
  gipc_channel_clear_input (self);
  gipc_frame_stream_close (&self->stream);
  gipc_channel_update_congestion (self);
  g_clear_error (&self->read_error);
  g_clear_error (&self->write_error);
  gipc_channel_registry_remove (self);
  gipc_channel_sync_output_ref (self);
}

/**
 * gipc_channel_close:
 * @self: a channel
 * @error: return location for a #GError
 *
 * Closes both directions of @self. Closing stops listening, without an
 * error signal.
 *
 * Closing a closed channel does nothing and returns %TRUE. While an
 * operation is in progress on @self it fails with %GIPC_ERROR_LOCKED and
 * changes nothing; the operation still completes. In progress are pending
 * receives and sends, including sends without a callback whose message is
 * not yet all in the pipe (close never blocks): to close right after such a
 * send, give it a callback and close from there, or drop your reference
 * instead, and the channel closes itself once the message is written.
 *
 * Returns: %TRUE if @self is closed
 *
 * Since: 1.0
 */
gboolean
gipc_channel_close (GipcChannel  *self,
                    GError      **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->closed)
    return TRUE;

  if (gipc_channel_is_busy (self))
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           "An operation is in progress on this channel");
      return FALSE;
    }

  if (self->stream.output.length > 0)
    {
      gipc_channel_pump_output (self);
      gipc_channel_sync_output_ref (self);
      if (self->stream.output.length > 0)
        {
          g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                               "Messages sent without a callback are still being written");
          return FALSE;
        }
    }

  gipc_channel_close_internal (self);
  g_object_notify_by_pspec (G_OBJECT (self), gipc_channel_properties[PROP_CLOSED]);
  gipc_channel_notify_congestion (self);

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Construction                                                        */

static GipcChannel *
channel_new_take_fds (int read_fd,
                      int write_fd)
{
  GipcChannel *self = g_object_new (GIPC_TYPE_CHANNEL, NULL);

  gipc_frame_stream_init (&self->stream, read_fd, write_fd, self->max_message_size);
  self->stream.shared_memory_threshold = self->shared_memory_threshold;
  self->can_receive = read_fd >= 0;
  self->can_send = write_fd >= 0;
  gipc_channel_registry_add (self);

  return self;
}

/**
 * gipc_pipe:
 * @flags: whether to make a simplex or a duplex pair
 * @end1: (out) (transfer full): the first end: with
 *   %GIPC_PIPE_FLAGS_NONE the end that receives
 * @end2: (out) (transfer full): the second end: with
 *   %GIPC_PIPE_FLAGS_NONE the end that sends
 * @error: return location for a #GError
 *
 * Makes a connected pair of channels. With %GIPC_PIPE_FLAGS_NONE, @end1
 * only receives and @end2 only sends (gipc's `(reader, writer)` order);
 * with %GIPC_PIPE_FLAGS_DUPLEX both ends send and receive, and what one end
 * sends the other receives. With %GIPC_PIPE_FLAGS_UNIX_FDS the pair is an
 * AF_UNIX socketpair instead of pipes: messages can carry file descriptors
 * and large messages travel as shared memory
 * ([property@Gipc.Channel:can-pass-fds]).
 *
 * Python: `r, w = Gipc.pipe(Gipc.PipeFlags.NONE)`;
 * JavaScript: `const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE)`.
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
gipc_pipe (GipcPipeFlags   flags,
           GipcChannel   **end1,
           GipcChannel   **end2,
           GError        **error)
{
  static gint pipe_counter;
  int a[2] = { -1, -1 };
  int b[2] = { -1, -1 };
  guint64 pipe_id;

  g_return_val_if_fail ((flags & ~(GIPC_PIPE_FLAGS_DUPLEX | GIPC_PIPE_FLAGS_UNIX_FDS)) == 0, FALSE);
  g_return_val_if_fail (end1 != NULL && end2 != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  pipe_id = (guint64) (guint) g_atomic_int_add (&pipe_counter, 1) + 1;

  if (flags & GIPC_PIPE_FLAGS_UNIX_FDS)
    {
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, a) < 0)
        {
          gipc_transport_set_io_error (error, errno, "Could not create a socket pair");
          return FALSE;
        }

      if (flags & GIPC_PIPE_FLAGS_DUPLEX)
        {
          *end1 = channel_new_take_fds (a[0], a[0]);
          *end2 = channel_new_take_fds (a[1], a[1]);
        }
      else
        {
          /* The unused directions are shut, as a pipe has none. */
          (void) shutdown (a[0], SHUT_WR);
          (void) shutdown (a[1], SHUT_RD);
          *end1 = channel_new_take_fds (a[0], -1);
          *end2 = channel_new_take_fds (-1, a[1]);
        }
      (*end1)->pipe_id = (*end2)->pipe_id = pipe_id;
      return TRUE;
    }

  if (pipe2 (a, O_CLOEXEC | O_NONBLOCK) < 0 ||
      ((flags & GIPC_PIPE_FLAGS_DUPLEX) && pipe2 (b, O_CLOEXEC | O_NONBLOCK) < 0))
    {
      int errsv = errno;

      if (a[0] >= 0)
        close (a[0]);
      if (a[1] >= 0)
        close (a[1]);
      gipc_transport_set_io_error (error, errsv, "Could not create a pipe");
      return FALSE;
    }

  if (flags & GIPC_PIPE_FLAGS_DUPLEX)
    {
      /* end1 reads pipe a and writes pipe b; end2 the other way round. */
      *end1 = channel_new_take_fds (a[0], b[1]);
      *end2 = channel_new_take_fds (b[0], a[1]);
    }
  else
    {
      *end1 = channel_new_take_fds (a[0], -1);
      *end2 = channel_new_take_fds (-1, a[1]);
    }
  (*end1)->pipe_id = (*end2)->pipe_id = pipe_id;

  return TRUE;
}

/**
 * gipc_channel_new_from_fds:
 * @read_fd: the fd to receive from, or -1
 * @write_fd: the fd to send to, or -1
 * @error: return location for a #GError
 *
 * Makes a channel of existing pipe (or socket) fds and takes ownership of
 * them: they are made non-blocking and close-on-exec, and closed with the
 * channel. At least one of them must be given. One socket may serve both
 * directions: pass it as both @read_fd and @write_fd; it is closed once.
 *
 * `O_NONBLOCK` is a flag of the open file description, not of the fd: it
 * is shared with every duplicate of the fd, in this process and in others
 * (for example a terminal or pipe inherited as stdin or stdout, which the
 * parent shell and its other children use too). Pass such fds only when
 * nothing else reads or writes them, or pass a pipe of your own instead;
 * the channel does not restore the flag when it closes.
 *
 * Returns: (transfer full): a new channel, or %NULL with @error set (the
 *   fds are closed then too)
 *
 * Since: 1.0
 */
GipcChannel *
gipc_channel_new_from_fds (int      read_fd,
                           int      write_fd,
                           GError **error)
{
  g_return_val_if_fail (read_fd >= -1 && write_fd >= -1, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (read_fd < 0 && write_fd < 0)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "A channel needs a file descriptor to read or to write");
      return NULL;
    }

  if ((read_fd >= 0 && !gipc_transport_prepare_fd (read_fd, error)) ||
      (write_fd >= 0 && write_fd != read_fd && !gipc_transport_prepare_fd (write_fd, error)))
    {
      if (read_fd >= 0)
        close (read_fd);
      if (write_fd >= 0 && write_fd != read_fd)
        close (write_fd);
      return NULL;
    }

  return channel_new_take_fds (read_fd, write_fd);
}

/* ------------------------------------------------------------------ */
/* Properties                                                          */

/**
 * gipc_channel_get_timeout:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:timeout].
 *
 * Returns: the receive timeout in milliseconds, 0 for none
 *
 * Since: 1.0
 */
guint
gipc_channel_get_timeout (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), 0);

  return self->timeout_ms;
}

/**
 * gipc_channel_set_timeout:
 * @self: a channel
 * @timeout_ms: the receive timeout in milliseconds, 0 for none
 *
 * Sets [property@Gipc.Channel:timeout]. It applies to receives started
 * afterwards.
 *
 * Since: 1.0
 */
void
gipc_channel_set_timeout (GipcChannel *self,
                          guint        timeout_ms)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  if (self->timeout_ms == timeout_ms)
    return;

  self->timeout_ms = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), gipc_channel_properties[PROP_TIMEOUT]);
}

/**
 * gipc_channel_get_max_message_size:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:max-message-size].
 *
 * Returns: the largest message @self accepts, in bytes
 *
 * Since: 1.0
 */
guint64
gipc_channel_get_max_message_size (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), 0);

  return self->max_message_size;
}

/**
 * gipc_channel_set_max_message_size:
 * @self: a channel
 * @max_message_size: the largest message to accept, in bytes (at most
 *   %GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT)
 *
 * Sets [property@Gipc.Channel:max-message-size]. It applies to frame
 * headers that arrive afterwards.
 *
 * Since: 1.0
 */
void
gipc_channel_set_max_message_size (GipcChannel *self,
                                   guint64      max_message_size)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  max_message_size = MIN (max_message_size, GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT);
  if (self->max_message_size == max_message_size)
    return;

  self->max_message_size = max_message_size;
  gipc_frame_stream_set_max_message_size (&self->stream, max_message_size);
  g_object_notify_by_pspec (G_OBJECT (self), gipc_channel_properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * gipc_channel_get_can_send:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:can-send].
 *
 * Returns: whether this end of the channel sends
 *
 * Since: 1.0
 */
gboolean
gipc_channel_get_can_send (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);

  return self->can_send;
}

/**
 * gipc_channel_get_can_receive:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:can-receive].
 *
 * Returns: whether this end of the channel receives
 *
 * Since: 1.0
 */
gboolean
gipc_channel_get_can_receive (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);

  return self->can_receive;
}

/**
 * gipc_channel_is_closed:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:closed].
 *
 * Returns: whether @self was closed (or passed to a child process)
 *
 * Since: 1.0
 */
gboolean
gipc_channel_is_closed (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), TRUE);

  return self->closed;
}

/**
 * gipc_channel_get_can_pass_fds: (get-property can-pass-fds)
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:can-pass-fds].
 *
 * Returns: whether messages on @self can carry file descriptors
 *
 * Since: 1.0
 */
gboolean
gipc_channel_get_can_pass_fds (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);

  return gipc_transport_can_pass_fds (&self->stream.transport);
}

/**
 * gipc_channel_get_shared_memory_threshold: (get-property shared-memory-threshold)
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:shared-memory-threshold].
 *
 * Returns: the size from which messages travel as shared memory, or 0
 *
 * Since: 1.0
 */
guint64
gipc_channel_get_shared_memory_threshold (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), 0);

  return self->shared_memory_threshold;
}

/**
 * gipc_channel_set_shared_memory_threshold: (set-property shared-memory-threshold)
 * @self: a channel
 * @bytes: the size from which messages travel as shared memory, or 0 for
 *   never
 *
 * Sets [property@Gipc.Channel:shared-memory-threshold]. It applies to
 * messages sent from now on.
 *
 * Since: 1.0
 */
void
gipc_channel_set_shared_memory_threshold (GipcChannel *self,
                                          guint64      bytes)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  if (self->shared_memory_threshold == bytes)
    return;

  self->shared_memory_threshold = bytes;
  self->stream.shared_memory_threshold = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), gipc_channel_properties[PROP_SHARED_MEMORY_THRESHOLD]);
}

static void
gipc_channel_dispose (GObject *object)
{
  GipcChannel *self = GIPC_CHANNEL (object);

  /* Finalizing an open channel closes it. Pending operations hold a
   * reference on the channel (their GTask or result, or the channel's own
   * while output is queued), so there are none here. */
  if (!self->closed)
    gipc_channel_close_internal (self);

  G_OBJECT_CLASS (gipc_channel_parent_class)->dispose (object);
}

static void
gipc_channel_finalize (GObject *object)
{
  GipcChannel *self = GIPC_CHANNEL (object);

  g_assert (self->send_ops.length == 0);
  g_assert (self->flush_ops.length == 0);
  g_assert (self->receive_ops.length == 0);
  g_assert (self->stream.transport.read_fd < 0 && self->stream.transport.write_fd < 0);

  G_OBJECT_CLASS (gipc_channel_parent_class)->finalize (object);
}

static void
gipc_channel_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  GipcChannel *self = GIPC_CHANNEL (object);

  switch (prop_id)
    {
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout_ms);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, self->max_message_size);
      break;

    case PROP_CAN_SEND:
      g_value_set_boolean (value, self->can_send);
      break;

    case PROP_CAN_RECEIVE:
      g_value_set_boolean (value, self->can_receive);
      break;

    case PROP_CLOSED:
      g_value_set_boolean (value, self->closed);
      break;

    case PROP_QUEUED_BYTES:
      g_value_set_uint64 (value, gipc_channel_get_queued_bytes (self));
      break;

    case PROP_HIGH_WATER_MARK:
      g_value_set_uint64 (value, self->high_water_mark);
      break;

    case PROP_CONGESTED:
      g_value_set_boolean (value, self->congested);
      break;

    case PROP_CAN_PASS_FDS:
      g_value_set_boolean (value, gipc_channel_get_can_pass_fds (self));
      break;

    case PROP_SHARED_MEMORY_THRESHOLD:
      g_value_set_uint64 (value, self->shared_memory_threshold);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gipc_channel_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  GipcChannel *self = GIPC_CHANNEL (object);

  switch (prop_id)
    {
    case PROP_TIMEOUT:
      gipc_channel_set_timeout (self, g_value_get_uint (value));
      break;

    case PROP_MAX_MESSAGE_SIZE:
      gipc_channel_set_max_message_size (self, g_value_get_uint64 (value));
      break;

    case PROP_HIGH_WATER_MARK:
      gipc_channel_set_high_water_mark (self, g_value_get_uint64 (value));
      break;

    case PROP_SHARED_MEMORY_THRESHOLD:
      gipc_channel_set_shared_memory_threshold (self, g_value_get_uint64 (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gipc_channel_class_init (GipcChannelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gipc_channel_dispose;
  object_class->finalize = gipc_channel_finalize;
  object_class->get_property = gipc_channel_get_property;
  object_class->set_property = gipc_channel_set_property;

  /**
   * GipcChannel:timeout: (getter get_timeout) (setter set_timeout)
   *
   * The receive timeout in milliseconds, 0 for none. A receive that sees
   * no byte of a new message within it fails with %G_IO_ERROR_TIMED_OUT;
   * once a message has begun to arrive, it is read to its end. The channel
   * stays usable after a timeout.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:max-message-size: (getter get_max_message_size) (setter set_max_message_size)
   *
   * The largest message this end accepts, in bytes (default 1 GiB). A
   * frame header that announces more fails the receive with
   * %GIPC_ERROR_MESSAGE_TOO_LARGE at once, before anything is allocated;
   * the receiving direction is unusable afterwards. Within the limit, the
   * memory for a message grows as its bytes arrive (at first at most
   * 1 MiB, then doubling), so a peer cannot make the receiver allocate
   * what it has not sent; an allocation that fails is
   * %GIPC_ERROR_FAILED, never an abort.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint64 ("max-message-size", NULL, NULL,
                         0, GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT,
                         GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:can-send: (getter get_can_send)
   *
   * Whether this end sends.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_CAN_SEND] =
    g_param_spec_boolean ("can-send", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:can-receive: (getter get_can_receive)
   *
   * Whether this end receives.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_CAN_RECEIVE] =
    g_param_spec_boolean ("can-receive", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:closed: (getter is_closed)
   *
   * Whether the channel was closed by its owner, or passed to a child
   * process.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_CLOSED] =
    g_param_spec_boolean ("closed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:queued-bytes: (getter get_queued_bytes)
   *
   * The bytes the channel holds for its asynchronous sends: those accepted
   * by [method@Gipc.Channel.send_async] (and its variant and fd forms) and
   * not yet written, frame headers included, plus the full size of every
   * message sent as shared memory (see
   * [property@Gipc.Channel:shared-memory-threshold]) until the peer has
   * taken it: queued, or written and waiting in the socket, its memfd
   * holds that much memory. It changes with every message, so it has no
   * notify: watch [property@Gipc.Channel:congested] instead. See the
   * [Flow control](flow-control.html) page.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_QUEUED_BYTES] =
    g_param_spec_uint64 ("queued-bytes", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:high-water-mark: (getter get_high_water_mark) (setter set_high_water_mark)
   *
   * The queued bytes above which the channel is
   * [property@Gipc.Channel:congested] (default 1 MiB). Sends are never
   * refused: the mark only tells a producer when to wait.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_HIGH_WATER_MARK] =
    g_param_spec_uint64 ("high-water-mark", NULL, NULL,
                         0, G_MAXUINT64, GIPC_CHANNEL_DEFAULT_HIGH_WATER_MARK,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:congested: (getter is_congested)
   *
   * %TRUE once [property@Gipc.Channel:queued-bytes] exceeds
   * [property@Gipc.Channel:high-water-mark], and %FALSE again once it is
   * back at or below half of it. On a channel that passes fds, the fds
   * queued or in flight (a shared-memory message's memfd counts as one)
   * count too: more than the channel's fd budget (64, or a sixteenth of
   * the soft `RLIMIT_NOFILE` when that is lower) make it congested until
   * they are back at or below half of it. A producer that respects it
   * stays within the mark in memory and in fds, whatever the sizes of its
   * messages. The getter is current at once (right
   * after the [method@Gipc.Channel.send_async] that crossed the mark); the
   * notify is emitted once per change from the channel's source in its
   * main context (never from inside send_async), or by
   * [method@Gipc.Channel.close]. A producer sends while the channel is not
   * congested and resumes on the notify that turns it %FALSE.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_CONGESTED] =
    g_param_spec_boolean ("congested", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:can-pass-fds: (getter get_can_pass_fds)
   *
   * Whether messages on this channel can carry file descriptors: %TRUE for
   * channels over an AF_UNIX stream socket (made with
   * %GIPC_PIPE_FLAGS_UNIX_FDS, inherited from such a pair, or from
   * [ctor@Gipc.Channel.new_from_fds] with one socket for both
   * directions), which also carry large messages as shared memory.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_CAN_PASS_FDS] =
    g_param_spec_boolean ("can-pass-fds", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:shared-memory-threshold: (getter get_shared_memory_threshold) (setter set_shared_memory_threshold)
   *
   * On a channel that can pass fds, a message of at least this many bytes
   * travels as a sealed memfd instead of through the socket: the receiver
   * maps it read-only and never copies it, and the sender cannot change it
   * after sending. A message from [func@Gipc.shared_bytes_new] (or one
   * received as shared memory) is sent that way whatever its size, without
   * a copy. A received one keeps its memfd for that, but only so many at
   * once (an eighth of the soft `RLIMIT_NOFILE`, at most 256), so that
   * kept messages never use up the fd table: one received past that budget
   * keeps no fd and is copied once into a new memfd when sent. 0 means
   * never. Ignored on channels that cannot pass fds.
   * Default: %GIPC_CHANNEL_DEFAULT_SHARED_MEMORY_THRESHOLD.
   *
   * Since: 1.0
   */
  gipc_channel_properties[PROP_SHARED_MEMORY_THRESHOLD] =
    g_param_spec_uint64 ("shared-memory-threshold", NULL, NULL,
                         0, G_MAXUINT64, GIPC_CHANNEL_DEFAULT_SHARED_MEMORY_THRESHOLD,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, gipc_channel_properties);

  /**
   * GipcChannel::message-with-fds:
   * @self: the channel
   * @message: the message
   * @fds: the file descriptors that came with @message
   *
   * Emitted instead of [signal@Gipc.Channel::message], while the channel
   * is listening, for a message that came with file descriptors, if this
   * signal has a handler (otherwise the message goes to
   * [signal@Gipc.Channel::message] and its fds are closed). The fds are
   * closed after the emission: take them with
   * g_unix_fd_list_steal_fds() or g_unix_fd_list_get() (a duplicate) to
   * keep them.
   *
   * Since: 1.0
   */
  gipc_channel_signals[SIGNAL_MESSAGE_WITH_FDS] =
    g_signal_new ("message-with-fds",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 2,
                  G_TYPE_BYTES | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_UNIX_FD_LIST);

  /**
   * GipcChannel::message:
   * @self: the channel
   * @message: the message
   *
   * Emitted for each incoming message while the channel is listening (see
   * [method@Gipc.Channel.listen]), in order, in the thread-default main
   * context of the caller of listen. Take a reference on @message to keep
   * it.
   *
   * Since: 1.0
   */
  gipc_channel_signals[SIGNAL_MESSAGE] =
    g_signal_new ("message",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL,
                  g_cclosure_marshal_VOID__BOXED,
                  G_TYPE_NONE, 1,
                  G_TYPE_BYTES | G_SIGNAL_TYPE_STATIC_SCOPE);
  g_signal_set_va_marshaller (gipc_channel_signals[SIGNAL_MESSAGE],
                              G_TYPE_FROM_CLASS (klass),
                              g_cclosure_marshal_VOID__BOXEDv);

  /**
   * GipcChannel::error:
   * @self: the channel
   * @error: what ended the stream: %GIPC_ERROR_PEER_CLOSED at a clean end,
   *   or the failure
   *
   * Emitted once while listening, when the stream ends or fails. Nothing
   * is emitted after it, and the channel then watches no fd (it costs
   * nothing while it stays open). @error stays valid for the whole
   * emission, also if a handler closes the channel.
   *
   * Since: 1.0
   */
  gipc_channel_signals[SIGNAL_ERROR] =
    g_signal_new ("error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL,
                  g_cclosure_marshal_VOID__BOXED,
                  G_TYPE_NONE, 1,
                  G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
  g_signal_set_va_marshaller (gipc_channel_signals[SIGNAL_ERROR],
                              G_TYPE_FROM_CLASS (klass),
                              g_cclosure_marshal_VOID__BOXEDv);
}

static void
gipc_channel_init (GipcChannel *self)
{
  self->max_message_size = GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE;
  self->shared_memory_threshold = GIPC_CHANNEL_DEFAULT_SHARED_MEMORY_THRESHOLD;
  gipc_frame_stream_init (&self->stream, -1, -1, self->max_message_size);
  g_queue_init (&self->send_ops);
  g_queue_init (&self->flush_ops);
  g_queue_init (&self->inbox);
  self->high_water_mark = GIPC_CHANNEL_DEFAULT_HIGH_WATER_MARK;
  g_queue_init (&self->receive_ops);
}

