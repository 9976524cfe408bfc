/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "gipc-async-result-private.h"
#include "gipc-channel.h"
#include "gipc-channel-private.h"
#include "gipc-frame-stream-private.h"

G_BEGIN_DECLS

/*
 * The state of a GipcChannel, shared by the files that implement it, one
 * room each:
 *
 *   gipc-channel.c           the object: construction, properties,
 *                            closing, push mode, the GSource and its
 *                            dispatch, cancellation
 *   gipc-channel-send.c      the output queue, sends and flushes, flow
 *                            control
 *   gipc-channel-receive.c   the inbox, receives, delivery to callbacks
 *                            and the message signals
 *   gipc-channel-variant.c   GVariant messages on top of the two above
 *   gipc-channel-registry.c  the process-wide registry of open channels
 *                            and what passing and forking do to them
 *                            (gipc-channel-private.h)
 *
 * Nothing here is public API. Every function that calls out to user code
 * (callbacks, signals, notifies) says so; its caller holds a reference on
 * the channel and re-checks the state after it.
 */

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

/* A received message with its fds. Queued through its own link (no
 * allocation per message). */
typedef struct
{
  GList        link;           /* in inbox; data is the item */
  GBytes      *message;
  GUnixFDList *fds;            /* or NULL */
} InboxItem;

typedef struct
{
  GList            link;       /* in receive_ops; data is the op */
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
  guint             not_passed : 1;    /* closed in a fork-mode child: not passed to it */

  /* The library's own listener (the pool and its workers), called instead
   * of the message signals: see gipc_channel_set_message_func. */
  GipcChannelMessageFunc message_func;
  gpointer               message_func_data;

  /* Both ends made by one gipc_pipe() share it (0: not from gipc_pipe);
   * the process part finds the parent's end of a passed one with it. */
  guint64           pipe_id;

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
  gint64            in_flight_poll_at;       /* monotonic µs, or 0 */
  gint64            in_flight_poll_interval; /* µs */
  guint             congestion_changes;
  guint             congestion_changes_notified;

  /* Input. */
  GQueue            inbox;           /* InboxItem* (their own links), whole messages not yet taken */
  GQueue            receive_ops;     /* ReceiveOp* (their own links), in call order */
  GError           *read_error;      /* sticky: end of stream, corrupt frame */
};

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

extern GParamSpec *gipc_channel_properties[N_PROPS];

enum {
  SIGNAL_MESSAGE,
  SIGNAL_ERROR,
  SIGNAL_MESSAGE_WITH_FDS,
  N_SIGNALS
};

extern guint gipc_channel_signals[N_SIGNALS];

/* gipc-channel.c */

/* Each fails with a GError (GIPC_ERROR_CLOSED, GIPC_ERROR_FAILED for the
 * wrong direction, GIPC_ERROR_MESSAGE_TOO_LARGE for a size the wire format
 * cannot carry). */
gboolean gipc_channel_check_open          (GipcChannel       *self,
                                           GError           **error);
gboolean gipc_channel_check_can_send      (GipcChannel       *self,
                                           GError           **error);
gboolean gipc_channel_check_can_receive   (GipcChannel       *self,
                                           GError           **error);
gboolean gipc_channel_check_message_size  (gsize              size,
                                           GError           **error);

/* Makes sure the channel's source runs in the caller's thread-default
 * context (see the function for when it moves); @force moves it anyway. */
void     gipc_channel_ensure_source       (GipcChannel       *self,
                                           gboolean           force);
/* Tells the source which fds to watch, after any change of state. */
void     gipc_channel_update_source       (GipcChannel       *self);
/* Whether the read fd is to be watched: while somebody waits for messages. */
gboolean gipc_channel_wants_input         (GipcChannel       *self);

/* The operation holding @watch holds a reference on @self until it is
 * freed, and clears the watch before that. */
void     gipc_channel_cancel_watch_init   (CancelWatch       *watch,
                                           GipcChannel       *self,
                                           GCancellable      *cancellable);
void     gipc_channel_cancel_watch_clear  (CancelWatch       *watch);
gboolean gipc_channel_cancel_watch_fired  (const CancelWatch *watch);

/* Operations pending or a blocking call in progress. */
gboolean gipc_channel_is_busy             (GipcChannel       *self);
/* Closes the fds and marks the channel closed. No signal or notify. */
void     gipc_channel_close_internal      (GipcChannel       *self);

/* gipc-channel-send.c */

/* While output is queued the channel holds a reference on itself: call
 * after anything that may change the output queue, with a reference held
 * by the caller. */
void     gipc_channel_sync_output_ref     (GipcChannel       *self);
/* Flow control: the congested state follows the queued bytes (no
 * call-out: the notify is gipc_channel_notify_congestion()'s). */
void     gipc_channel_update_congestion   (GipcChannel       *self);
/* When the source must wake up for the fds in flight (the peer reads
 * them without any fd event here): a monotonic time in µs, or -1. */
gint64   gipc_channel_output_wakeup       (GipcChannel       *self);
/* Emits notify::congested once per change since the last call. Calls out. */
void     gipc_channel_notify_congestion   (GipcChannel       *self);
/* Writes what it can now, never blocking, and records failures. */
void     gipc_channel_pump_output         (GipcChannel       *self);
/* Writes all queued output, blocking; see the function for @cancel_limit. */
gboolean gipc_channel_flush_output_blocking (GipcChannel     *self,
                                             GCancellable    *cancellable,
                                             guint64          cancel_limit,
                                             GError         **error);
/* The dispatch's output half: writes when the fd is writable, then
 * completes the finished sends and flushes in order and emits the
 * congested notifies. Calls out. */
void     gipc_channel_dispatch_output     (GipcChannel       *self,
                                           GIOCondition       write_revents);
/* Completes the sends and flushes whose cancellable fired. Calls out. */
void     gipc_channel_cancel_sends        (GipcChannel       *self);

/* Whether a send is written (or failed): its callback is due. */
static inline gboolean
gipc_channel_send_op_finished (GipcChannel *self,
                               SendOp      *op)
{
  return op->error != NULL || op->end <= self->stream.written;
}

/* gipc-channel-receive.c */

/* The dispatch's input half: reads when the fd is readable, then hands
 * messages (or the end of the stream) to the receivers or the message
 * signals and fails the receives whose deadline passed. Calls out. */
void     gipc_channel_dispatch_input      (GipcChannel       *self,
                                           GIOCondition       read_revents);
/* Completes the receives whose cancellable fired. Calls out. */
void     gipc_channel_cancel_receives     (GipcChannel       *self);
/* Drops the inbox and the partly read input. */
void     gipc_channel_clear_input         (GipcChannel       *self);
/* receive_async and receive_variant_async (@variant). */
void     gipc_channel_receive_async_internal (GipcChannel         *self,
                                              gboolean             variant,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data,
                                              gpointer             source_tag);

/* gipc-channel-variant.c */

/* A message that holds a serialized "v" in normal form, or
 * GIPC_ERROR_PROTOCOL. */
GVariant *gipc_channel_message_to_variant (GBytes            *message,
                                           GError           **error);

/* gipc-channel-registry.c */

void     gipc_channel_registry_add        (GipcChannel       *self);
void     gipc_channel_registry_remove     (GipcChannel       *self);

G_END_DECLS
