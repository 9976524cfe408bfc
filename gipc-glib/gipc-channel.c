/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>

#include "gipc-async-result-private.h"
#include "gipc-channel.h"
#include "gipc-channel-private.h"
#include "gipc-channel-source-private.h"
#include "gipc-error.h"
#include "gipc-frame-stream-private.h"
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
 *
 * Since: 1.0
 */

/* Queued output beyond which send_async writes what it can at once. */
#define OUTPUT_HIGH_WATER   (256 * 1024)
/* Fairness: what one dispatch may deliver before it yields to the other
 * sources of the main context. */
#define MAX_DELIVERIES      256
#define MAX_READS           8
/* A callback that iterates the context re-enters the dispatch, which
 * hands the next message to a callback that may iterate again: without a
 * bound the nesting would follow the peer's message count down the stack.
 * At this depth the source rests (no fd polled, never ready) until the
 * callbacks below return; the dispatch below goes on delivering, so
 * nothing is lost or reordered, only not handed out by nested loops. */
#define MAX_DISPATCH_DEPTH  16
#define MAX_POOLED_RESULTS  4

/* A cancellable of a pending operation is watched with a "cancelled"
 * handler, not a GSource: an operation then uses no source id (GLib's ids
 * are 32 bits, and fork mode pays for every id ever used). The handler may
 * run in any thread: it only flags the channel and wakes its context; the
 * dispatch completes the operation. */
typedef struct
{
  GCancellable *cancellable;
  gulong        handler_id;
} CancelWatch;

typedef struct
{
  GTask        *task;       /* holds the channel */
  guint64       start;      /* stream offsets of the op's frame */
  guint64       end;
  GError       *error;      /* the write failed */
  CancelWatch   cancel;
} SendOp;

typedef struct
{
  GTask        *task;       /* holds the channel */
  guint64       target;     /* stream offset that must be written */
  GError       *error;      /* a write failed before the target */
  CancelWatch   cancel;
} FlushOp;

/* A received message with its fds. */
typedef struct
{
  GBytes      *message;
  GUnixFDList *fds;            /* or NULL */
} InboxItem;

typedef struct
{
  GipcAsyncResult *result;     /* holds the channel */
  gboolean         variant;    /* receive_variant_async */
  gint64           deadline;   /* monotonic µs, or 0 for none */
  CancelWatch      cancel;
} ReceiveOp;

struct _GipcChannel
{
  GObject           parent_instance;

  /* The framing and, below it, the transport (fds). */
  GipcFrameStream   stream;

  guint             can_send : 1;
  guint             can_receive : 1;
  guint             closed : 1;
  guint             passed : 1;
  guint             listening : 1;
  guint             error_emitted : 1;
  guint             registered : 1;
  guint             sync_send : 1;
  guint             sync_receive : 1;

  guint             dispatch_depth;  /* > 1 in nested main loops */
  gint              cancel_pending;  /* atomic: a "cancelled" handler ran */
  guint             timeout_ms;
  guint64           max_message_size;
  guint64           shared_memory_threshold;

  /* The GSource runs in this context (captured from the first caller that
   * needs it: an async call, a send without callback, listen). Written
   * under context_mutex, which "cancelled" handlers (any thread) hold to
   * wake it up. */
  GMainContext     *context;
  GSource          *source;

  /* Output. */
  GQueue            send_ops;        /* SendOp*, in stream order */
  guint64           inline_generation;
  gboolean          inline_used;
  gboolean          output_held;     /* a self-reference while output is queued */
  GError           *write_error;     /* sticky: the reader is gone, or worse */
  GQueue            flush_ops;       /* FlushOp*, in call order (= target order) */

  /* Flow control: congested follows queued bytes at once (no call-out);
   * the dispatch emits one notify per change (a change and its reversal
   * before the dispatch are two: a producer waiting for FALSE must hear
   * it). */
  guint64           high_water_mark;
  gboolean          congested;
  guint             congestion_changes;
  guint             congestion_changes_notified;

  /* Input. */
  GQueue            inbox;           /* InboxItem*, whole messages not yet taken */
  GQueue            receive_ops;     /* ReceiveOp*, in call order */
  GQueue            result_pool;     /* recycled GipcAsyncResult* */
  GError           *read_error;      /* sticky: end of stream, corrupt frame */
};

G_DEFINE_FINAL_TYPE (GipcChannel, gipc_channel, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TIMEOUT,
  PROP_MAX_MESSAGE_SIZE,
  PROP_CAN_SEND,
  PROP_CAN_RECEIVE,
  PROP_CLOSED,
  PROP_QUEUED_BYTES,
  PROP_HIGH_WATER_MARK,
  PROP_CONGESTED,
  PROP_CAN_PASS_FDS,
  PROP_SHARED_MEMORY_THRESHOLD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_MESSAGE,
  SIGNAL_ERROR,
  SIGNAL_MESSAGE_WITH_FDS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Guards GipcChannel.context against "cancelled" handlers in other
 * threads. */
static GMutex context_mutex;

/* The process-wide registry of open channels, for fork-mode hygiene. */
static GMutex registry_mutex;
static GHashTable *registry;

static void   gipc_channel_dispatch   (gpointer      data,
                                       GIOCondition  read_revents,
                                       GIOCondition  write_revents);
static gint64 gipc_channel_wakeup     (gpointer      data);
static gboolean send_op_finished      (GipcChannel  *self,
                                       SendOp       *op);
static void update_source             (GipcChannel  *self);

/* ------------------------------------------------------------------ */
/* Registry                                                            */

static void
registry_add (GipcChannel *self)
{
  g_mutex_lock (&registry_mutex);
  if (registry == NULL)
    registry = g_hash_table_new (NULL, NULL);
  g_hash_table_add (registry, self);
  self->registered = TRUE;
  g_mutex_unlock (&registry_mutex);
}

static void
registry_remove (GipcChannel *self)
{
  if (!self->registered)
    return;

  g_mutex_lock (&registry_mutex);
  g_hash_table_remove (registry, self);
  self->registered = FALSE;
  g_mutex_unlock (&registry_mutex);
}

void
gipc_channel_registry_lock (void)
{
  g_mutex_lock (&registry_mutex);
}

void
gipc_channel_registry_unlock (void)
{
  g_mutex_unlock (&registry_mutex);
}

guint
gipc_channel_get_n_open (void)
{
  guint n;

  g_mutex_lock (&registry_mutex);
  n = registry != NULL ? g_hash_table_size (registry) : 0;
  g_mutex_unlock (&registry_mutex);

  return n;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static gboolean
check_open (GipcChannel  *self,
            GError      **error)
{
  if (self->closed)
    {
      if (self->passed)
        g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_CLOSED,
                             "The channel was passed to a child process");
      else
        g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_CLOSED,
                             "The channel is closed");
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_can_send (GipcChannel  *self,
                GError      **error)
{
  if (!check_open (self, error))
    return FALSE;

  if (!self->can_send)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "This end of the channel can only receive");
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_can_receive (GipcChannel  *self,
                   GError      **error)
{
  if (!check_open (self, error))
    return FALSE;

  if (!self->can_receive)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "This end of the channel can only send");
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_message_size (gsize    size,
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
static void
ensure_source (GipcChannel *self,
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
  update_source (self);
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
static void
cancel_watch_init (CancelWatch  *watch,
                   GipcChannel  *self,
                   GCancellable *cancellable)
{
  if (cancellable == NULL)
    return;

  watch->cancellable = g_object_ref (cancellable);
  watch->handler_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb),
                                             self, NULL);
}

static void
cancel_watch_clear (CancelWatch *watch)
{
  if (watch->cancellable == NULL)
    return;

  /* Waits for a handler running in another thread; never called from
   * within our own handler. */
  g_cancellable_disconnect (watch->cancellable, watch->handler_id);
  watch->handler_id = 0;
  g_clear_object (&watch->cancellable);
}

static gboolean
cancel_watch_fired (const CancelWatch *watch)
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
static gboolean
wants_input (GipcChannel *self)
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
  if (send_op != NULL && send_op_finished (self, send_op))
    return 0;

  /* Messages or an error to hand out, with no I/O. */
  if (have_news &&
      (self->receive_ops.length > 0 || (self->listening && !self->error_emitted)))
    return 0;

  if (self->receive_ops.length > 0)
    return next_deadline (self);

  return -1;
}

static void
update_source (GipcChannel *self)
{
  gboolean resting;

  if (self->source == NULL)
    return;

  resting = self->dispatch_depth >= MAX_DISPATCH_DEPTH;
  gipc_channel_source_want_read (self->source, !resting && wants_input (self));
  gipc_channel_source_want_write (self->source, !resting &&
                                  self->stream.output.length > 0 && self->stream.transport.write_fd >= 0);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

/* While output is queued the channel holds a reference on itself, so
 * dropping the last user reference never blocks nor loses a message: the
 * source writes the rest, then the channel goes. Call after anything that
 * may change the output queue, with a reference held by the caller. */
static void
sync_output_ref (GipcChannel *self)
{
  if (self->stream.output.length > 0 && !self->output_held)
    {
      self->output_held = TRUE;
      g_object_ref (self);
    }
  else if (self->stream.output.length == 0 && self->output_held)
    {
      self->output_held = FALSE;
      g_object_unref (self);
    }
}

/* Flow control: TRUE above the high-water mark, FALSE again at or below
 * half of it. Only state here (send_async calls it per message): the
 * notify is the dispatch's. */
static void
update_congestion (GipcChannel *self)
{
  guint64 queued = self->stream.queued - self->stream.written;

  if ((!self->congested && queued > self->high_water_mark) ||
      (self->congested && queued <= self->high_water_mark / 2))
    {
      self->congested = !self->congested;
      self->congestion_changes++;
    }
}

/* Appends one frame to the output queue; returns its stream offsets. */
static gboolean
queue_frame (GipcChannel  *self,
             GBytes       *message,
             GUnixFDList  *fds,
             guint64      *start,
             guint64      *end,
             GError      **error)
{
  if (!gipc_frame_stream_queue (&self->stream, message, fds, start, end, error))
    return FALSE;
  update_congestion (self);
  return TRUE;
}

static void send_op_complete (SendOp *op,
                              GError *error);

static gboolean
send_op_finished (GipcChannel *self,
                  SendOp      *op)
{
  return op->error != NULL || op->end <= self->stream.written;
}

/* Completes, in call order, every send that is written or failed. Only
 * from the dispatch: never inside send_async, and never out of order. */
static void
complete_finished_sends (GipcChannel *self)
{
  SendOp *op;

  while (!self->closed &&
         (op = g_queue_peek_head (&self->send_ops)) != NULL &&
         send_op_finished (self, op))
    {
      g_queue_pop_head (&self->send_ops);
      send_op_complete (op, op->error);
    }
}

/* Records a write failure: every queued byte is dropped and every pending
 * send fails (completed by the dispatch); later sends fail the same
 * way. */
static void
fail_output (GipcChannel *self,
             GError      *error)
{
  if (self->write_error == NULL)
    {
      self->write_error = g_error_copy (error);
      g_debug ("Channel %p: sending failed: %s", self, error->message);
    }

  /* Flushes whose messages were not all written fail; the others are
   * done (the dispatch tells them apart by error). */
  for (GList *l = self->flush_ops.head; l != NULL; l = l->next)
    {
      FlushOp *op = l->data;

      if (op->error == NULL && op->target > self->stream.written)
        op->error = g_error_copy (error);
    }

  gipc_frame_stream_drop_output (&self->stream);
  update_congestion (self);

  for (GList *l = self->send_ops.head; l != NULL; l = l->next)
    {
      SendOp *op = l->data;

      if (op->error == NULL)
        op->error = g_error_copy (error);
    }
}

/* Writes queued output until it is all written or the transport is full.
 * Never blocks. Does not complete sends (the caller does). */
static GipcFrameFlushResult
flush_output (GipcChannel  *self,
              GError      **error)
{
  GipcFrameFlushResult result = gipc_frame_stream_flush (&self->stream, error);

  update_congestion (self);
  return result;
}

/* Writes what it can now and records failures. */
static void
pump_output (GipcChannel *self)
{
  g_autoptr(GError) error = NULL;

  if (flush_output (self, &error) == GIPC_FRAME_FLUSH_FAILED)
    fail_output (self, error);
}

/* Writes all queued output, blocking. @cancellable counts only while the
 * stream has not passed the offset @cancel_limit: a frame that has begun
 * is always finished, and if even waiting fails then, the output is lost. */
static gboolean
flush_output_blocking (GipcChannel   *self,
                       GCancellable  *cancellable,
                       guint64        cancel_limit,
                       GError       **error)
{
  GError *local_error = NULL;

  for (;;)
    {
      gboolean cancellable_now;

      switch (flush_output (self, &local_error))
        {
        case GIPC_FRAME_FLUSH_DONE:
          return TRUE;

        case GIPC_FRAME_FLUSH_FAILED:
          fail_output (self, local_error);
          g_propagate_error (error, local_error);
          return FALSE;

        case GIPC_FRAME_FLUSH_AGAIN:
        default:
          break;
        }

      cancellable_now = self->stream.written <= cancel_limit;
      if (gipc_transport_wait_fd (self->stream.transport.write_fd, G_IO_OUT,
                   cancellable_now ? cancellable : NULL, -1, &local_error) < 0)
        {
          if (!cancellable_now)
            fail_output (self, local_error);
          g_propagate_error (error, local_error);
          return FALSE;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Send operations                                                     */

static void
send_op_free (SendOp *op)
{
  cancel_watch_clear (&op->cancel);
  g_clear_object (&op->task);
  g_clear_error (&op->error);
  g_slice_free (SendOp, op);
}

static void
send_op_complete (SendOp *op,
                  GError *error)
{
  GTask *task = g_steal_pointer (&op->task);

  if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    g_task_return_boolean (task, TRUE);

  send_op_free (op);
  g_object_unref (task);
}

/* Removes the not-yet-started frame of a cancelled send from the output. */
static void
unqueue_frame (GipcChannel *self,
               guint64      start,
               guint64      end)
{
  guint64 length = end - start;

  gipc_frame_stream_unqueue (&self->stream, start, end);

  for (GList *o = self->send_ops.head; o != NULL; o = o->next)
    {
      SendOp *op = o->data;

      if (op->start >= end)
        {
          op->start -= length;
          op->end -= length;
        }
    }

  for (GList *o = self->flush_ops.head; o != NULL; o = o->next)
    {
      FlushOp *op = o->data;

      if (op->target >= end)
        op->target -= length;
    }

  update_congestion (self);
}

static gboolean
send_internal (GipcChannel   *self,
               GBytes        *message,
               GUnixFDList   *fds,
               GCancellable  *cancellable,
               GTask         *task,
               GError       **error)
{
  guint64 start, end;
  gboolean was_idle;
  guint64 generation;

  was_idle = self->stream.output.length == 0;
  if (!queue_frame (self, message, fds, &start, &end, error))
    return FALSE;

  ensure_source (self, FALSE);

  if (task != NULL)
    {
      SendOp *op = g_slice_new0 (SendOp);

      op->task = g_object_ref (task);
      op->start = start;
      op->end = end;
      g_queue_push_tail (&self->send_ops, op);
      cancel_watch_init (&op->cancel, self, cancellable);
    }

  /* Latency: the first send of an iteration into an idle channel is
   * written at once. Throughput: the ones after it are coalesced and
   * written by the source on the next iteration, or at once when much is
   * queued. */
  generation = gipc_channel_source_get_generation (self->source);
  if (!self->stream.full &&
      ((was_idle && (!self->inline_used || self->inline_generation != generation)) ||
       self->stream.queued - self->stream.written >= OUTPUT_HIGH_WATER))
    {
      self->inline_used = TRUE;
      self->inline_generation = generation;
      pump_output (self);
    }

  update_source (self);
  sync_output_ref (self);
  return TRUE;
}

/* Checks that @fds can go with a message on @self, before anything is
 * queued or written. */
static gboolean
check_fds (GipcChannel  *self,
           GUnixFDList  *fds,
           GError      **error)
{
  int n = fds != NULL ? g_unix_fd_list_get_length (fds) : 0;

  if (n == 0)
    return TRUE;

  if (!gipc_transport_can_pass_fds (&self->stream.transport))
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "This channel cannot pass file descriptors (make it "
                           "with GIPC_PIPE_FLAGS_UNIX_FDS)");
      return FALSE;
    }

  if (n > GIPC_CHANNEL_MAX_FDS_PER_MESSAGE)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "A message can carry at most %d file descriptors, not %d",
                   GIPC_CHANNEL_MAX_FDS_PER_MESSAGE, n);
      return FALSE;
    }

  return TRUE;
}

static void
send_async_internal (GipcChannel         *self,
                     GBytes              *message,
                     GUnixFDList         *fds,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data,
                     gpointer             source_tag)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  if (callback != NULL)
    {
      task = g_task_new (self, cancellable, callback, user_data);
      g_task_set_source_tag (task, source_tag);
      g_task_set_check_cancellable (task, FALSE);
    }

  if (!check_can_send (self, &error) ||
      !check_message_size (g_bytes_get_size (message), &error) ||
      !check_fds (self, fds, &error) ||
      g_cancellable_set_error_if_cancelled (cancellable, &error))
    goto fail;

  if (self->write_error != NULL)
    {
      error = g_error_copy (self->write_error);
      goto fail;
    }

  if (send_internal (self, message, fds, cancellable, task, &error))
    return;

fail:
  if (task != NULL)
    g_task_return_error (task, error);
  else
    {
      g_debug ("Channel %p: send_async without callback failed: %s", self, error->message);
      g_error_free (error);
    }
}

/**
 * gipc_channel_send_async:
 * @self: a channel that can send
 * @message: the message
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (nullable): called when the whole message is in
 *   the pipe, or on failure; %NULL to fire and forget
 * @user_data: data for @callback
 *
 * Sends @message without blocking. Many sends may be in flight: they are
 * written in call order, never interleaved, and several may be written with
 * one system call. @callback runs in the thread-default main context of
 * the caller once the whole message is in the pipe; finish with
 * [method@Gipc.Channel.send_finish].
 *
 * With a %NULL @callback no [class@Gio.Task] is created: the message is
 * queued and written as soon as the pipe takes it; a failure is logged with
 * g_debug() and makes later sends fail. The channel keeps itself alive
 * until such messages are written, so dropping the last reference right
 * after sending loses nothing.
 *
 * Cancelling takes effect only before the first byte of the message is
 * written; after that the message is written whole and the send succeeds.
 *
 * Since: 1.0
 */
void
gipc_channel_send_async (GipcChannel         *self,
                         GBytes              *message,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  send_async_internal (self, message, NULL, cancellable, callback, user_data,
                       gipc_channel_send_async);
}

/**
 * gipc_channel_send_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.send_async].
 *
 * Returns: %TRUE if the whole message was written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_finish (GipcChannel   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gipc_channel_send_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gipc_channel_send:
 * @self: a channel that can send
 * @message: the message
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Sends @message, blocking the calling thread until the whole message is in
 * the pipe. It does not iterate any main context. Messages queued earlier
 * with [method@Gipc.Channel.send_async] and no callback are written first;
 * while sends with a callback are pending it fails with
 * %GIPC_ERROR_LOCKED.
 *
 * Cancelling takes effect only before the first byte is written.
 *
 * Returns: %TRUE if the whole message was written
 *
 * Since: 1.0
 */
static gboolean
send_sync (GipcChannel   *self,
           GBytes        *message,
           GUnixFDList   *fds,
           GCancellable  *cancellable,
           GError       **error)
{
  guint64 start, end;
  gboolean ok;

  if (!check_can_send (self, error) ||
      !check_message_size (g_bytes_get_size (message), error) ||
      !check_fds (self, fds, error))
    return FALSE;

  if (self->send_ops.length > 0 || self->sync_send)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           "Asynchronous sends are pending on this channel");
      return FALSE;
    }

  if (self->write_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->write_error));
      return FALSE;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  self->sync_send = TRUE;

  /* What is queued without a callback goes first; cancelling applies only
   * while none of our own message is written. */
  ok = queue_frame (self, message, fds, &start, &end, error);
  if (ok)
    {
      ok = flush_output_blocking (self, cancellable, start, error);
      if (!ok && self->write_error == NULL)
        unqueue_frame (self, start, end);
    }

  self->sync_send = FALSE;
  update_source (self);
  sync_output_ref (self);

  return ok;
}

gboolean
gipc_channel_send (GipcChannel   *self,
                   GBytes        *message,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return send_sync (self, message, NULL, cancellable, error);
}

/**
 * gipc_channel_send_with_fds_async:
 * @self: a channel that can send and pass fds
 * @message: the message
 * @fds: (nullable): file descriptors to send with @message; the list is
 *   referenced until they are sent (the caller keeps its own copies open
 *   or closes them: the peer gets duplicates)
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (nullable): called when the whole message and
 *   its fds are in the socket, or on failure; %NULL to fire and forget
 * @user_data: data for @callback
 *
 * Like [method@Gipc.Channel.send_async], with file descriptors that arrive
 * with @message and no other message: the receiver gets them from
 * [method@Gipc.Channel.receive_with_fds_finish],
 * [method@Gipc.Channel.receive_with_fds] or
 * [signal@Gipc.Channel::message-with-fds]. Fails with %GIPC_ERROR_FAILED,
 * before anything is written, on a channel that cannot pass fds
 * ([property@Gipc.Channel:can-pass-fds]) or with more than
 * %GIPC_CHANNEL_MAX_FDS_PER_MESSAGE of them. A %NULL or empty @fds sends a
 * plain message.
 *
 * Since: 1.0
 */
void
gipc_channel_send_with_fds_async (GipcChannel         *self,
                                  GBytes              *message,
                                  GUnixFDList         *fds,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (fds == NULL || G_IS_UNIX_FD_LIST (fds));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  send_async_internal (self, message, fds, cancellable, callback, user_data,
                       gipc_channel_send_with_fds_async);
}

/**
 * gipc_channel_send_with_fds_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.send_with_fds_async].
 *
 * Returns: %TRUE if the whole message and its fds were written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_with_fds_finish (GipcChannel   *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gipc_channel_send_with_fds_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gipc_channel_send_with_fds:
 * @self: a channel that can send and pass fds
 * @message: the message
 * @fds: (nullable): file descriptors to send with @message (duplicates
 *   arrive; the caller's stay open)
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Like [method@Gipc.Channel.send], with file descriptors, as
 * [method@Gipc.Channel.send_with_fds_async] describes.
 *
 * Returns: %TRUE if the whole message and its fds were written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_with_fds (GipcChannel   *self,
                            GBytes        *message,
                            GUnixFDList   *fds,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (fds == NULL || G_IS_UNIX_FD_LIST (fds), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return send_sync (self, message, fds, cancellable, error);
}

/* ------------------------------------------------------------------ */
/* Flow control                                                        */

static void
flush_op_free (FlushOp *op)
{
  cancel_watch_clear (&op->cancel);
  g_clear_object (&op->task);
  g_clear_error (&op->error);
  g_slice_free (FlushOp, op);
}

/* Consumes @op and @error (nullable). */
static void
flush_op_complete (FlushOp *op,
                   GError  *error)
{
  GTask *task = g_steal_pointer (&op->task);

  flush_op_free (op);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* Completes, in call order, the flushes whose messages are all written
 * (or failed). Each is taken out of the queue before its callback runs. */
static void
complete_finished_flushes (GipcChannel *self)
{
  FlushOp *op;

  while ((op = g_queue_peek_head (&self->flush_ops)) != NULL &&
         (op->error != NULL || op->target <= self->stream.written))
    {
      g_queue_pop_head (&self->flush_ops);
      flush_op_complete (op, g_steal_pointer (&op->error));
    }
}

/* Emits notify::congested once per change since the last call: from the
 * dispatch (or close) only, never inside the send_async that crossed the
 * mark. A handler may send (and change the state again): each change is
 * counted before its notify. */
static void
notify_congestion (GipcChannel *self)
{
  while (self->congestion_changes_notified != self->congestion_changes)
    {
      self->congestion_changes_notified++;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONGESTED]);
    }
}

/**
 * gipc_channel_flush_async:
 * @self: a channel that can send
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called once every message queued before this
 *   call is written, or on failure
 * @user_data: data for @callback
 *
 * Waits, without blocking, until every message accepted by
 * [method@Gipc.Channel.send_async] (and its variant form) before this call
 * is in the pipe; finish with [method@Gipc.Channel.flush_finish]. Many
 * flushes may be pending; they complete in call order. A write that fails
 * first fails the flush with its error (%GIPC_ERROR_PEER_CLOSED when the
 * reader is gone). Cancelling completes the flush with
 * %G_IO_ERROR_CANCELLED and leaves the queued messages to be written.
 *
 * A producer that must not queue without bound can await a flush after
 * each batch, or watch [property@Gipc.Channel:congested].
 *
 * Since: 1.0
 */
void
gipc_channel_flush_async (GipcChannel         *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  FlushOp *op;

  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gipc_channel_flush_async);
  g_task_set_check_cancellable (task, FALSE);

  if (!check_can_send (self, &error) ||
      g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (self->write_error != NULL)
    {
      g_task_return_error (task, g_error_copy (self->write_error));
      return;
    }

  if (self->stream.written >= self->stream.queued)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  ensure_source (self, FALSE);
  op = g_slice_new0 (FlushOp);
  op->task = g_object_ref (task);
  op->target = self->stream.queued;
  g_queue_push_tail (&self->flush_ops, op);
  cancel_watch_init (&op->cancel, self, cancellable);
}

/**
 * gipc_channel_flush_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.flush_async].
 *
 * Returns: %TRUE if every message queued before the flush is written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_flush_finish (GipcChannel   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gipc_channel_flush_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gipc_channel_flush:
 * @self: a channel that can send
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Writes every message queued with [method@Gipc.Channel.send_async],
 * blocking the calling thread until they are all in the pipe. Like every
 * blocking call it does not iterate any main context; the callbacks of the
 * sends it wrote run later, from the channel's context. Cancelling stops
 * the wait (%G_IO_ERROR_CANCELLED); what is not written stays queued and is
 * written from the channel's context (a message that has begun is always
 * finished, so the stream stays whole).
 *
 * Returns: %TRUE if everything queued is written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_flush (GipcChannel   *self,
                    GCancellable  *cancellable,
                    GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_can_send (self, error))
    return FALSE;

  if (self->write_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->write_error));
      return FALSE;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  ok = flush_output_blocking (self, cancellable, G_MAXUINT64, error);
  update_source (self);
  sync_output_ref (self);

  return ok;
}

/**
 * gipc_channel_get_queued_bytes:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:queued-bytes].
 *
 * Returns: the bytes accepted by the asynchronous sends and not yet
 *   written, frame headers included
 *
 * Since: 1.0
 */
guint64
gipc_channel_get_queued_bytes (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), 0);

  return self->stream.queued - self->stream.written;
}

/**
 * gipc_channel_get_high_water_mark:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:high-water-mark].
 *
 * Returns: the high-water mark in bytes
 *
 * Since: 1.0
 */
guint64
gipc_channel_get_high_water_mark (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), 0);

  return self->high_water_mark;
}

/**
 * gipc_channel_set_high_water_mark:
 * @self: a channel
 * @bytes: the new high-water mark in bytes
 *
 * Sets [property@Gipc.Channel:high-water-mark]. The
 * [property@Gipc.Channel:congested] state follows at once; its notify comes
 * from the channel's context.
 *
 * Since: 1.0
 */
void
gipc_channel_set_high_water_mark (GipcChannel *self,
                                  guint64      bytes)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  if (self->high_water_mark == bytes)
    return;

  self->high_water_mark = bytes;
  update_congestion (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HIGH_WATER_MARK]);
}

/**
 * gipc_channel_is_congested:
 * @self: a channel
 *
 * Gets [property@Gipc.Channel:congested].
 *
 * Returns: whether more than the high-water mark is queued (until it is
 *   back at or below half of it)
 *
 * Since: 1.0
 */
gboolean
gipc_channel_is_congested (GipcChannel *self)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);

  return self->congested;
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
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHARED_MEMORY_THRESHOLD]);
}

/* ------------------------------------------------------------------ */
/* Input                                                               */

static void
set_read_error (GipcChannel *self,
                GError      *error)
{
  if (self->read_error == NULL)
    self->read_error = error;
  else
    g_error_free (error);
}

static void
inbox_push (GipcChannel *self,
            GBytes      *message,
            GUnixFDList *fds)
{
  InboxItem *item = g_slice_new (InboxItem);

  item->message = message;
  item->fds = fds;
  g_queue_push_tail (&self->inbox, item);
}

/* The oldest message (transfer full); its fds into *fds (transfer full,
 * may be NULL). */
static GBytes *
inbox_pop (GipcChannel  *self,
           GUnixFDList **fds)
{
  InboxItem *item = g_queue_pop_head (&self->inbox);
  GBytes *message = item->message;

  *fds = item->fds;
  g_slice_free (InboxItem, item);
  return message;
}

static void
inbox_item_free (InboxItem *item)
{
  g_bytes_unref (item->message);
  g_clear_object (&item->fds);
  g_slice_free (InboxItem, item);
}

/* Push mode: a message with fds goes to "message-with-fds" when it has a
 * handler, else to "message" (and its fds are closed). Consumes both. */
static void
emit_message (GipcChannel *self,
              GBytes      *message,
              GUnixFDList *fds)
{
  if (fds != NULL &&
      g_signal_has_handler_pending (self, signals[SIGNAL_MESSAGE_WITH_FDS], 0, TRUE))
    g_signal_emit (self, signals[SIGNAL_MESSAGE_WITH_FDS], 0, message, fds);
  else
    {
      /* Closed before the handlers run: an fd nobody asked for never
       * lingers in the process. */
      g_clear_object (&fds);
      g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, message);
    }
  g_clear_object (&fds);
  g_bytes_unref (message);
}

/* A whole message from the stream: in push mode straight to the handlers
 * (when no older message waits in the inbox), else into the inbox. The
 * handlers may close the channel or iterate the context (a nested
 * dispatch may reach the end of the stream): the stream stops reading
 * then. */
static gboolean
take_message (GBytes      *message,
              GUnixFDList *fds,
              gpointer     user_data)
{
  GipcChannel *self = user_data;

  if (self->listening && self->inbox.length == 0)
    {
      emit_message (self, message, fds);
      return !self->closed && self->read_error == NULL;
    }

  inbox_push (self, message, fds);
  return TRUE;
}

typedef enum
{
  READ_MORE,       /* got data; there may be more */
  READ_AGAIN,      /* nothing available now */
  READ_END,        /* end of stream, error, or closed: stop */
} ReadResult;

/* One read from the stream, then its messages; never blocks. */
static ReadResult
read_once (GipcChannel *self)
{
  GError *error = NULL;

  switch (gipc_frame_stream_read (&self->stream, take_message, self, &error))
    {
    case GIPC_FRAME_READ_MORE:
      return READ_MORE;
    case GIPC_FRAME_READ_AGAIN:
      return READ_AGAIN;
    case GIPC_FRAME_READ_END:
      set_read_error (self, error);
      return READ_END;
    case GIPC_FRAME_READ_STOPPED:
    default:
      return READ_END;
    }
}

/* Reads until at least one whole message is in the inbox, or nothing more
 * is available now, or the stream ended. */
static void
fill_inbox (GipcChannel *self)
{
  while (self->inbox.length == 0 && self->read_error == NULL)
    {
      if (read_once (self) != READ_MORE)
        break;
    }
}

static void
receive_op_free (ReceiveOp *op)
{
  cancel_watch_clear (&op->cancel);
  g_clear_object (&op->result);
  g_slice_free (ReceiveOp, op);
}

static GVariant *message_to_variant (GBytes  *message,
                                     GError **error);

/* Completes a receive with @message (consumed) or @error (consumed). The
 * callback runs now when the receive was made in the context the channel's
 * source dispatches in (we are in that dispatch, never inside the call
 * that made the receive), otherwise from an idle in its own context. */
static void
receive_op_return (GipcChannel *self,
                   ReceiveOp   *op,
                   GBytes      *message,
                   GUnixFDList *fds,
                   GError      *error)
{
  GipcAsyncResult *result = g_steal_pointer (&op->result);
  gboolean variant = op->variant;

  receive_op_free (op);
  if (fds != NULL)
    gipc_async_result_set_fds (result, fds);

  if (message != NULL && variant)
    {
      GVariant *value = message_to_variant (message, &error);

      g_bytes_unref (message);
      if (value != NULL)
        gipc_async_result_set_pointer (result, value, (GDestroyNotify) g_variant_unref);
    }
  else if (message != NULL)
    gipc_async_result_set_pointer (result, message, (GDestroyNotify) g_bytes_unref);

  if (error != NULL)
    gipc_async_result_set_error (result, error);

  if (self != NULL && gipc_async_result_get_context (result) == self->context &&
      g_main_context_is_owner (self->context))
    gipc_async_result_complete_to_pool (result, &self->result_pool, MAX_POOLED_RESULTS);
  else
    gipc_async_result_complete_in_idle (result);
}

/* Hands messages (or the sticky error) to the waiting receivers, or emits
 * them in push mode. Runs user code: the caller holds a reference. */
static void
deliver (GipcChannel *self)
{
  guint budget = MAX_DELIVERIES;

  while (!self->closed && self->inbox.length > 0 && budget > 0)
    {
      budget--;

      if (self->listening)
        {
          GUnixFDList *fds = NULL;
          GBytes *message = inbox_pop (self, &fds);

          emit_message (self, message, fds);
        }
      else
        {
          ReceiveOp *op = g_queue_pop_head (&self->receive_ops);
          GUnixFDList *fds = NULL;
          GBytes *message;

          if (op == NULL)
            break;

          message = inbox_pop (self, &fds);
          receive_op_return (self, op, message, fds, NULL);
        }
    }

  if (self->closed || self->inbox.length > 0 || self->read_error == NULL)
    return;

  if (self->listening)
    {
      if (!self->error_emitted)
        {
          /* A copy: a handler may close the channel, which frees
           * read_error, while this or another handler still reads it. */
          g_autoptr(GError) error = g_error_copy (self->read_error);

          self->error_emitted = TRUE;
          self->listening = FALSE;
          update_source (self);
          g_signal_emit (self, signals[SIGNAL_ERROR], 0, error);
        }
      return;
    }

  while (!self->closed && budget-- > 0)
    {
      ReceiveOp *op = g_queue_pop_head (&self->receive_ops);

      if (op == NULL)
        break;

      receive_op_return (self, op, NULL, NULL, g_error_copy (self->read_error));
    }
}

/* Fails the receives whose deadline passed. They are taken out of the
 * queue before any callback runs (a callback may iterate the context and
 * change the queue), then completed in call order. */
static void
expire_receives (GipcChannel *self)
{
  gint64 now = g_get_monotonic_time ();
  GQueue expired = G_QUEUE_INIT;
  ReceiveOp *op;
  GList *l = self->receive_ops.head;

  while (l != NULL)
    {
      GList *next = l->next;

      op = l->data;
      if (op->deadline > 0 && op->deadline <= now)
        {
          if (l == self->receive_ops.head && gipc_frame_stream_in_frame (&self->stream))
            {
              /* The head's message has begun to arrive: it is read to its
               * end, no timeout splits a message. */
              op->deadline = 0;
            }
          else
            {
              g_queue_unlink (&self->receive_ops, l);
              g_queue_push_tail_link (&expired, l);
            }
        }
      l = next;
    }

  while ((op = g_queue_pop_head (&expired)) != NULL)
    receive_op_return (self, op, NULL, NULL,
                       g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                            "No message arrived within the channel's timeout"));
}

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

  for (;;)
    {
      SendOp *found = NULL;
      GError *error = NULL;

      for (GList *l = self->send_ops.head; l != NULL && found == NULL; l = l->next)
        {
          SendOp *op = l->data;

          if (op->error == NULL && op->start >= self->stream.written &&
              cancel_watch_fired (&op->cancel))
            found = op;
        }
      if (found == NULL)
        break;

      g_queue_remove (&self->send_ops, found);
      unqueue_frame (self, found->start, found->end);
      g_cancellable_set_error_if_cancelled (found->cancel.cancellable, &error);
      send_op_complete (found, error);
      g_error_free (error);
    }

  for (;;)
    {
      FlushOp *found = NULL;
      GError *error = NULL;

      for (GList *l = self->flush_ops.head; l != NULL && found == NULL; l = l->next)
        {
          FlushOp *op = l->data;

          if (op->error == NULL && cancel_watch_fired (&op->cancel))
            found = op;
        }
      if (found == NULL)
        break;

      g_queue_remove (&self->flush_ops, found);
      g_cancellable_set_error_if_cancelled (found->cancel.cancellable, &error);
      flush_op_complete (found, error);
    }

  for (;;)
    {
      ReceiveOp *found = NULL;
      GError *error = NULL;

      for (GList *l = self->receive_ops.head; l != NULL && found == NULL; l = l->next)
        {
          ReceiveOp *op = l->data;

          if (cancel_watch_fired (&op->cancel))
            found = op;
        }
      if (found == NULL)
        break;

      g_queue_remove (&self->receive_ops, found);
      g_cancellable_set_error_if_cancelled (found->cancel.cancellable, &error);
      receive_op_return (self, found, NULL, NULL, error);
    }
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
    update_source (self);

  complete_cancelled (self);

  if (write_revents != 0)
    self->stream.full = FALSE;
  if (write_revents != 0 && self->stream.output.length > 0)
    pump_output (self);
  complete_finished_sends (self);
  complete_finished_flushes (self);
  if (!self->closed)
    notify_congestion (self);

  if (!self->closed && read_revents != 0 && wants_input (self) &&
      self->inbox.length == 0)
    {
      if (self->listening)
        {
          /* Push mode: take what is available, a buffer at a time. */
          for (guint i = 0; i < MAX_READS; i++)
            {
              ReadResult r;

              if (self->closed || !self->listening || self->read_error != NULL ||
                  self->inbox.length > 0)
                break;

              r = read_once (self);
              if (r != READ_MORE)
                break;
            }
        }
      else
        fill_inbox (self);
    }

  if (!self->closed)
    {
      deliver (self);
      if (!self->closed && self->receive_ops.length > 0)
        expire_receives (self);
    }

  self->dispatch_depth--;
  if (!self->closed)
    update_source (self);
  sync_output_ref (self);
  g_object_unref (self);
}

static void
receive_async_internal (GipcChannel         *self,
                        gboolean             variant,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data,
                        gpointer             source_tag)
{
  GipcAsyncResult *result;
  GError *error = NULL;
  ReceiveOp *op;

  result = gipc_async_result_new_from_pool (&self->result_pool, self, cancellable,
                                            callback, user_data, source_tag);

  if (!check_can_receive (self, &error))
    goto fail;

  if (self->listening || self->sync_receive)
    {
      g_set_error_literal (&error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           self->listening ?
                           "The channel is listening: messages arrive as the \"message\" signal" :
                           "A synchronous receive is in progress on this channel");
      goto fail;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    goto fail;

  ensure_source (self, FALSE);

  op = g_slice_new0 (ReceiveOp);
  op->result = result;
  op->variant = variant;
  if (self->timeout_ms > 0)
    op->deadline = g_get_monotonic_time () + (gint64) self->timeout_ms * 1000;
  g_queue_push_tail (&self->receive_ops, op);
  cancel_watch_init (&op->cancel, self, cancellable);

  /* Inside our own dispatch (a callback starting the next receive) the
   * dispatch delivers it; otherwise the source wakes up for it. */
  if (self->dispatch_depth == 0)
    update_source (self);
  return;

fail:
  gipc_async_result_set_error (result, error);
  gipc_async_result_complete_in_idle (result);
}

/**
 * gipc_channel_receive_async:
 * @self: a channel that can receive
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called with the next message
 * @user_data: data for @callback
 *
 * Receives the next whole message without blocking; finish with
 * [method@Gipc.Channel.receive_finish]. Many receives may be pending: each
 * gets the next message, in call order. The callback runs in the
 * thread-default main context of the caller, never from within this call.
 *
 * With [property@Gipc.Channel:timeout] set, a receive that sees no byte of
 * a new message within it fails with %G_IO_ERROR_TIMED_OUT; a message that
 * has begun to arrive is read to its end. Cancelling never loses data: a
 * message that has begun to arrive stays whole in the channel for the next
 * receive.
 *
 * Fails with %GIPC_ERROR_LOCKED while the channel is listening.
 *
 * Since: 1.0
 */
void
gipc_channel_receive_async (GipcChannel         *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  receive_async_internal (self, FALSE, cancellable, callback, user_data,
                          gipc_channel_receive_async);
}

/**
 * gipc_channel_receive_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.receive_async].
 *
 * Returns: (transfer full): the message (an empty #GBytes for a 0-byte
 *   message, never %NULL on success), or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
gipc_channel_receive_finish (GipcChannel   *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (gipc_async_result_is_valid (result, self, gipc_channel_receive_async), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return gipc_async_result_propagate_pointer (GIPC_ASYNC_RESULT (result), error);
}

/**
 * gipc_channel_receive_with_fds_finish:
 * @self: a channel
 * @result: the result given to the callback of
 *   [method@Gipc.Channel.receive_async]
 * @fds: (out) (transfer full) (nullable) (optional): the fds that came with
 *   the message, or %NULL if none did
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.receive_async] like
 * [method@Gipc.Channel.receive_finish], and hands out the file descriptors
 * that came with the message (close-on-exec, owned by the caller through
 * the list). A message's fds arrive with that message and no other. Without
 * @fds (or with [method@Gipc.Channel.receive_finish]) they are closed.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
gipc_channel_receive_with_fds_finish (GipcChannel   *self,
                                      GAsyncResult  *result,
                                      GUnixFDList  **fds,
                                      GError       **error)
{
  GBytes *message;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (gipc_async_result_is_valid (result, self, gipc_channel_receive_async), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (fds != NULL)
    *fds = NULL;
  message = gipc_async_result_propagate_pointer (GIPC_ASYNC_RESULT (result), error);
  if (message != NULL && fds != NULL)
    *fds = gipc_async_result_steal_fds (GIPC_ASYNC_RESULT (result));
  return message;
}

/**
 * gipc_channel_receive:
 * @self: a channel that can receive
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Receives the next whole message, blocking the calling thread. It does not
 * iterate any main context, so it works in a program with no main loop.
 * [property@Gipc.Channel:timeout] applies as for
 * [method@Gipc.Channel.receive_async].
 *
 * Fails with %GIPC_ERROR_LOCKED while the channel is listening or while
 * asynchronous receives are pending.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 *
 * Since: 1.0
 */
static GBytes *
receive_sync (GipcChannel   *self,
              GUnixFDList  **fds,
              GCancellable  *cancellable,
              GError       **error)
{
  GBytes *message = NULL;
  gint64 deadline = -1;

  *fds = NULL;

  if (!check_can_receive (self, error))
    return NULL;

  if (self->listening || self->receive_ops.length > 0 || self->sync_receive)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           self->listening ?
                           "The channel is listening: messages arrive as the \"message\" signal" :
                           "Asynchronous receives are pending on this channel");
      return NULL;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (self->timeout_ms > 0)
    deadline = g_get_monotonic_time () + (gint64) self->timeout_ms * 1000;

  self->sync_receive = TRUE;

  for (;;)
    {
      int r;

      if (self->inbox.length == 0 && self->read_error == NULL)
        fill_inbox (self);

      if (self->inbox.length > 0)
        {
          message = inbox_pop (self, fds);
          break;
        }

      if (self->read_error != NULL)
        {
          g_propagate_error (error, g_error_copy (self->read_error));
          break;
        }

      /* No timeout once a message has begun to arrive. */
      r = gipc_transport_wait_fd (self->stream.transport.read_fd, G_IO_IN,
                   cancellable,
                   gipc_frame_stream_in_frame (&self->stream) ? -1 : deadline,
                   error);
      if (r < 0)
        break;
      if (r == 0 && !gipc_frame_stream_in_frame (&self->stream))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               "No message arrived within the channel's timeout");
          break;
        }
    }

  self->sync_receive = FALSE;
  update_source (self);

  return message;
}

GBytes *
gipc_channel_receive (GipcChannel   *self,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GUnixFDList) fds = NULL;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The message's fds, if any, are closed with the list. */
  return receive_sync (self, &fds, cancellable, error);
}

/**
 * gipc_channel_receive_with_fds:
 * @self: a channel that can receive
 * @fds: (out) (transfer full) (nullable) (optional): the fds that came with
 *   the message, or %NULL if none did
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Like [method@Gipc.Channel.receive], and hands out the file descriptors
 * that came with the message (close-on-exec, owned by the caller through
 * the list). Without @fds they are closed.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
gipc_channel_receive_with_fds (GipcChannel   *self,
                               GUnixFDList  **fds,
                               GCancellable  *cancellable,
                               GError       **error)
{
  GUnixFDList *received = NULL;
  GBytes *message;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  message = receive_sync (self, &received, cancellable, error);
  if (fds != NULL)
    *fds = received;
  else
    g_clear_object (&received);
  return message;
}

/* ------------------------------------------------------------------ */
/* GVariant                                                            */

static GBytes *
variant_to_message (GVariant *value)
{
  g_autoptr(GVariant) boxed = g_variant_ref_sink (g_variant_new_variant (value));
  g_autoptr(GVariant) normal = g_variant_get_normal_form (boxed);

  return g_variant_get_data_as_bytes (normal);
}

static GVariant *
message_to_variant (GBytes  *message,
                    GError **error)
{
  g_autoptr(GVariant) boxed = NULL;

  boxed = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARIANT, message, FALSE));
  if (!g_variant_is_normal_form (boxed))
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "The message (%" G_GSIZE_FORMAT " bytes) is not a serialized GVariant "
                   "of type \"v\" in normal form",
                   g_bytes_get_size (message));
      return NULL;
    }

  return g_variant_get_variant (boxed);
}

static void
send_variant_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (gipc_channel_send_finish (GIPC_CHANNEL (object), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * gipc_channel_send_variant_async:
 * @self: a channel that can send
 * @value: the value to send; a floating reference is consumed
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async) (nullable): called when the message is in the
 *   pipe, or %NULL to fire and forget
 * @user_data: data for @callback
 *
 * Sends @value boxed in a `v` (so the receiver needs no type): the message
 * is the serialized normal form of `g_variant_new_variant (value)`.
 * Otherwise as [method@Gipc.Channel.send_async].
 *
 * Since: 1.0
 */
void
gipc_channel_send_variant_async (GipcChannel         *self,
                                 GVariant            *value,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GBytes) message = NULL;
  GTask *task;

  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (value != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  message = variant_to_message (value);

  if (callback == NULL)
    {
      gipc_channel_send_async (self, message, cancellable, NULL, NULL);
      return;
    }

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gipc_channel_send_variant_async);
  g_task_set_check_cancellable (task, FALSE);
  gipc_channel_send_async (self, message, cancellable, send_variant_cb, task);
}

/**
 * gipc_channel_send_variant_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.send_variant_async].
 *
 * Returns: %TRUE if the whole message was written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_variant_finish (GipcChannel   *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gipc_channel_send_variant_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * gipc_channel_send_variant:
 * @self: a channel that can send
 * @value: the value to send; a floating reference is consumed
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Sends @value boxed in a `v`, blocking; see
 * [method@Gipc.Channel.send_variant_async] and [method@Gipc.Channel.send].
 *
 * Returns: %TRUE if the whole message was written
 *
 * Since: 1.0
 */
gboolean
gipc_channel_send_variant (GipcChannel   *self,
                           GVariant      *value,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autoptr(GBytes) message = NULL;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  message = variant_to_message (value);

  return gipc_channel_send (self, message, cancellable, error);
}

/**
 * gipc_channel_receive_variant_async:
 * @self: a channel that can receive
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called with the next value
 * @user_data: data for @callback
 *
 * Receives the next message as a value sent with
 * [method@Gipc.Channel.send_variant_async]; finish with
 * [method@Gipc.Channel.receive_variant_finish]. A message that is not a
 * serialized `v` in normal form fails with %GIPC_ERROR_PROTOCOL (the
 * message is consumed; the channel stays usable).
 *
 * Since: 1.0
 */
void
gipc_channel_receive_variant_async (GipcChannel         *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  receive_async_internal (self, TRUE, cancellable, callback, user_data,
                          gipc_channel_receive_variant_async);
}

/**
 * gipc_channel_receive_variant_finish:
 * @self: a channel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Gipc.Channel.receive_variant_async].
 *
 * Returns: (transfer full): the value that was sent, or %NULL with @error
 *   set
 *
 * Since: 1.0
 */
GVariant *
gipc_channel_receive_variant_finish (GipcChannel   *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (gipc_async_result_is_valid (result, self, gipc_channel_receive_variant_async), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return gipc_async_result_propagate_pointer (GIPC_ASYNC_RESULT (result), error);
}

/**
 * gipc_channel_receive_variant:
 * @self: a channel that can receive
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Receives the next message as a value, blocking; see
 * [method@Gipc.Channel.receive_variant_async] and
 * [method@Gipc.Channel.receive].
 *
 * Returns: (transfer full): the value that was sent, or %NULL with @error
 *   set
 *
 * Since: 1.0
 */
GVariant *
gipc_channel_receive_variant (GipcChannel   *self,
                              GCancellable  *cancellable,
                              GError       **error)
{
  g_autoptr(GBytes) message = NULL;

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  message = gipc_channel_receive (self, cancellable, error);
  if (message == NULL)
    return NULL;

  return message_to_variant (message, error);
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

  ensure_source (self, TRUE);
  self->listening = TRUE;
  update_source (self);
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

static gboolean
is_busy (GipcChannel *self)
{
  return self->send_ops.length > 0 ||
         self->flush_ops.length > 0 ||
         self->receive_ops.length > 0 ||
         self->sync_send ||
         self->sync_receive;
}

static void
clear_input (GipcChannel *self)
{
  g_queue_clear_full (&self->inbox, (GDestroyNotify) inbox_item_free);
  gipc_frame_stream_drop_input (&self->stream);
}

/* Closes the fds and marks the channel closed. No signal or notify. */
static void
close_internal (GipcChannel *self)
{
  self->listening = FALSE;
  self->closed = TRUE;
  destroy_source (self);
  clear_input (self);
  gipc_frame_stream_close (&self->stream);
  update_congestion (self);
  g_clear_error (&self->read_error);
  g_clear_error (&self->write_error);
  registry_remove (self);
  sync_output_ref (self);
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

  if (is_busy (self))
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           "An operation is in progress on this channel");
      return FALSE;
    }

  if (self->stream.output.length > 0)
    {
      pump_output (self);
      sync_output_ref (self);
      if (self->stream.output.length > 0)
        {
          g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                               "Messages sent without a callback are still being written");
          return FALSE;
        }
    }

  close_internal (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLOSED]);
  notify_congestion (self);

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Process hygiene (gipc-channel-private.h)                             */

void
gipc_channel_get_fds (GipcChannel *self,
                      int         *read_fd,
                      int         *write_fd)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  if (read_fd != NULL)
    *read_fd = self->stream.transport.read_fd;
  if (write_fd != NULL)
    *write_fd = self->stream.transport.write_fd;
}

gboolean
gipc_channel_prepare_pass (GipcChannel  *self,
                           gboolean      for_exec,
                           GError      **error)
{
  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);

  if (!check_open (self, error))
    return FALSE;

  if (is_busy (self) || self->listening)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                           "An operation is in progress on this channel");
      return FALSE;
    }

  if (for_exec && (self->inbox.length > 0 || gipc_frame_stream_in_frame (&self->stream)))
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "The channel holds received data that a spawned program could not read");
      return FALSE;
    }

  if (self->stream.output.length > 0)
    {
      pump_output (self);
      sync_output_ref (self);
      if (self->stream.output.length > 0)
        {
          g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_LOCKED,
                               "Messages sent without a callback are still being written");
          return FALSE;
        }
    }

  return TRUE;
}

void
gipc_channel_mark_passed (GipcChannel *self)
{
  g_return_if_fail (GIPC_IS_CHANNEL (self));

  if (self->closed)
    return;

  self->passed = TRUE;
  close_internal (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLOSED]);
}

/* What a fork-mode child took over from its parent and must never run or
 * free (callbacks, destroy notifiers and free functions of the parent):
 * kept reachable here, so it is a deliberate leak and not a lost one. */
static GPtrArray *parent_leftovers;

static void
keep_leftover (gpointer pointer)
{
  if (pointer == NULL)
    return;
  if (parent_leftovers == NULL)
    parent_leftovers = g_ptr_array_new ();
  g_ptr_array_add (parent_leftovers, pointer);
}

/* In a fork-mode child: forget everything that belongs to the parent's
 * main context without running any of it. The GSource was orphaned with
 * the rest of the inherited context; the pending operations hold the
 * parent's callbacks and data. */
static void
forget_parent_state (GipcChannel *self)
{
  keep_leftover (self->source);
  keep_leftover (self->context);
  keep_leftover (self->send_ops.head);
  keep_leftover (self->receive_ops.head);
  keep_leftover (self->flush_ops.head);
  self->source = NULL;
  self->context = NULL;
  g_queue_init (&self->send_ops);
  g_queue_init (&self->flush_ops);
  g_queue_init (&self->receive_ops);
  self->listening = FALSE;
  self->sync_send = FALSE;
  self->sync_receive = FALSE;
  self->dispatch_depth = 0;
  self->cancel_pending = FALSE;
  self->inline_used = FALSE;
}

void
gipc_channel_child_after_fork (GipcChannel * const *keep,
                               guint                n_keep)
{
  GHashTableIter iter;
  gpointer key;

  if (registry == NULL)
    return;

  g_hash_table_iter_init (&iter, registry);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      GipcChannel *self = key;
      gboolean kept = FALSE;

      for (guint i = 0; i < n_keep; i++)
        kept |= keep[i] == self;

      forget_parent_state (self);

      if (kept)
        continue;

      /* Not ours: close the fds, silently. Queued output belongs to the
       * parent (it writes it); its GBytes may have the parent's free
       * functions, so it is leaked rather than freed here. */
      gipc_frame_stream_abandon_output (&self->stream, keep_leftover);
      self->output_held = FALSE;  /* its reference is the parent's, kept */
      self->closed = TRUE;
      gipc_frame_stream_close (&self->stream);
      self->registered = FALSE;
      g_hash_table_iter_remove (&iter);
    }
}

void
gipc_channel_flush_all (void)
{
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer key;

  g_mutex_lock (&registry_mutex);
  if (registry != NULL)
    {
      g_hash_table_iter_init (&iter, registry);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (open, g_object_ref (key));
    }
  g_mutex_unlock (&registry_mutex);

  for (guint i = 0; i < open->len; i++)
    {
      GipcChannel *self = open->pdata[i];
      g_autoptr(GError) error = NULL;

      if (self->closed || self->stream.output.length == 0 || self->write_error != NULL)
        continue;

      if (!flush_output_blocking (self, NULL, G_MAXUINT64, &error))
        g_debug ("Channel %p: queued messages not written: %s", self, error->message);
      sync_output_ref (self);
    }
}

/* In a fork-mode child, for a kept channel before it has a source: its
 * fds that sit on 0 to 2 (a parent started with stdio closed) are moved
 * to 3 or above, so that pointing stdin at /dev/null cannot replace them.
 * The low fds are closed. FALSE with errno set if dup fails. */
gboolean
gipc_channel_child_move_fds_above_stdio (GipcChannel *self)
{
  int old_read = self->stream.transport.read_fd;
  int old_write = self->stream.transport.write_fd;
  int *fds[2] = { &self->stream.transport.read_fd, &self->stream.transport.write_fd };

  g_return_val_if_fail (GIPC_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (self->source == NULL, FALSE);

  for (guint k = 0; k < 2; k++)
    {
      int fd = *fds[k];
      int moved;

      if (fd < 0 || fd > 2)
        continue;

      /* One fd for both directions (a socket): move it once. */
      if (k == 1 && old_write == old_read)
        {
          self->stream.transport.write_fd = self->stream.transport.read_fd;
          continue;
        }

      moved = fcntl (fd, F_DUPFD_CLOEXEC, 3);
      if (moved < 0)
        return FALSE;
      *fds[k] = moved;
    }

  if (old_read >= 0 && old_read <= 2 && old_read != self->stream.transport.read_fd)
    close (old_read);
  if (old_write >= 0 && old_write <= 2 && old_write != old_read &&
      old_write != self->stream.transport.write_fd)
    close (old_write);

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
  registry_add (self);

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
  int a[2] = { -1, -1 };
  int b[2] = { -1, -1 };

  g_return_val_if_fail ((flags & ~(GIPC_PIPE_FLAGS_DUPLEX | GIPC_PIPE_FLAGS_UNIX_FDS)) == 0, FALSE);
  g_return_val_if_fail (end1 != NULL && end2 != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

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
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
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
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
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

static void
gipc_channel_dispose (GObject *object)
{
  GipcChannel *self = GIPC_CHANNEL (object);

  /* Finalizing an open channel closes it. Pending operations hold a
   * reference on the channel (their GTask or result, or the channel's own
   * while output is queued), so there are none here. */
  if (!self->closed)
    close_internal (self);
  g_queue_clear_full (&self->result_pool, g_object_unref);

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
  properties[PROP_TIMEOUT] =
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
  properties[PROP_MAX_MESSAGE_SIZE] =
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
  properties[PROP_CAN_SEND] =
    g_param_spec_boolean ("can-send", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:can-receive: (getter get_can_receive)
   *
   * Whether this end receives.
   *
   * Since: 1.0
   */
  properties[PROP_CAN_RECEIVE] =
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
  properties[PROP_CLOSED] =
    g_param_spec_boolean ("closed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:queued-bytes: (getter get_queued_bytes)
   *
   * The bytes accepted by [method@Gipc.Channel.send_async] (and its
   * variant form) and not yet written, frame headers included. It changes
   * with every message, so it has no notify: watch
   * [property@Gipc.Channel:congested] instead.
   *
   * Since: 1.0
   */
  properties[PROP_QUEUED_BYTES] =
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
  properties[PROP_HIGH_WATER_MARK] =
    g_param_spec_uint64 ("high-water-mark", NULL, NULL,
                         0, G_MAXUINT64, GIPC_CHANNEL_DEFAULT_HIGH_WATER_MARK,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * GipcChannel:congested: (getter is_congested)
   *
   * %TRUE once [property@Gipc.Channel:queued-bytes] exceeds
   * [property@Gipc.Channel:high-water-mark], and %FALSE again once it is
   * back at or below half of it. The getter is current at once (right
   * after the [method@Gipc.Channel.send_async] that crossed the mark); the
   * notify is emitted once per change from the channel's source in its
   * main context (never from inside send_async), or by
   * [method@Gipc.Channel.close]. A producer sends while the channel is not
   * congested and resumes on the notify that turns it %FALSE.
   *
   * Since: 1.0
   */
  properties[PROP_CONGESTED] =
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
  properties[PROP_CAN_PASS_FDS] =
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
   * a copy. 0 means never. Ignored on channels that cannot pass fds.
   * Default: %GIPC_CHANNEL_DEFAULT_SHARED_MEMORY_THRESHOLD.
   *
   * Since: 1.0
   */
  properties[PROP_SHARED_MEMORY_THRESHOLD] =
    g_param_spec_uint64 ("shared-memory-threshold", NULL, NULL,
                         0, G_MAXUINT64, GIPC_CHANNEL_DEFAULT_SHARED_MEMORY_THRESHOLD,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

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
  signals[SIGNAL_MESSAGE_WITH_FDS] =
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
  signals[SIGNAL_MESSAGE] =
    g_signal_new ("message",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL,
                  g_cclosure_marshal_VOID__BOXED,
                  G_TYPE_NONE, 1,
                  G_TYPE_BYTES | G_SIGNAL_TYPE_STATIC_SCOPE);
  g_signal_set_va_marshaller (signals[SIGNAL_MESSAGE],
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
  signals[SIGNAL_ERROR] =
    g_signal_new ("error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL,
                  g_cclosure_marshal_VOID__BOXED,
                  G_TYPE_NONE, 1,
                  G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
  g_signal_set_va_marshaller (signals[SIGNAL_ERROR],
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
  g_queue_init (&self->result_pool);
}
