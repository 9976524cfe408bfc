/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <gio/gunixfdlist.h>

#include "gipc-channel.h"

G_BEGIN_DECLS

typedef void (*GipcChannelMessageFunc) (GipcChannel *channel,
                                        GBytes      *message,
                                        GUnixFDList *fds,
                                        gpointer     user_data);

/*
 * What the process part needs from channels. A channel knows nothing of
 * processes: these calls speak only of fds, ownership and the per-process
 * registry of open channels.
 */

/* Fails with GIPC_ERROR_CLOSED if @self is closed or already passed to
 * another process, with GIPC_ERROR_LOCKED if an operation is in progress
 * (pending async calls, listening, a sync call). For @for_exec, also fails
 * if input was already read into the channel's buffer (an exec'd program
 * could never see it). Writes out any output queued by send_async without a
 * callback first (blocking), so no message is left in this process's memory. */
gboolean gipc_channel_prepare_pass      (GipcChannel  *self,
                                         gboolean      for_exec,
                                         GError      **error);

/* The channel's fds (-1 where absent or closed). No ownership transfer. */
void     gipc_channel_get_fds           (GipcChannel  *self,
                                         int          *read_fd,
                                         int          *write_fd);

/* In the parent, right after the fork: close the fds and mark the channel
 * closed and passed (every later call fails with GIPC_ERROR_CLOSED, and so
 * does passing it again). */
void     gipc_channel_mark_passed       (GipcChannel  *self);

/* The registry lock: held across fork() so the child's copy of the registry
 * is consistent. */
void     gipc_channel_registry_lock     (void);
void     gipc_channel_registry_unlock   (void);

/* In a fork-mode child, before the target runs: every registered channel
 * that is not in @keep (an array of GipcChannel*, may be empty) is closed
 * with its busy state forced idle; pending operations of the parent are
 * dropped without running any callback, and every kept channel forgets the
 * parent's GSource so it attaches afresh to the child's context. Nothing of
 * the parent's (callbacks, destroy notifiers, finalizers) runs. */
void     gipc_channel_child_after_fork  (GipcChannel * const *keep,
                                         guint                n_keep);

/* In a fork-mode child, for a kept channel (after
 * gipc_channel_child_after_fork()): fds on 0 to 2 are moved to 3 or above
 * and the low ones closed. FALSE with errno set on failure. */
gboolean gipc_channel_child_move_fds_above_stdio (GipcChannel *self);

/* Blocks until every open channel of this process has written the output
 * queued with send_async (errors are logged with g_debug and dropped). Used
 * by a child before it _exits, so no message it sent is lost. */
void     gipc_channel_flush_all         (void);

/* The open channels of this process made by the same gipc_pipe() as @self
 * (its other end, unless that was passed or closed), as new references. */
GPtrArray *gipc_channel_dup_pipe_peers  (GipcChannel  *self);

/* In the context @self's source runs in, while it is iterated: reads what
 * has arrived and hands it to the pending receives or message handlers now,
 * until nothing whole is left or nobody waits. Does nothing from any other
 * context. The process part calls it before emitting "exited". */
void       gipc_channel_drain_input     (GipcChannel  *self);

/* Whether the end of @self's input came as a connection reset (a socket
 * whose peer closed its end with messages of ours unread in its receive
 * queue) rather than a plain end of file; either way receivers see
 * %GIPC_ERROR_PEER_CLOSED (or the truncation error mid-message). The
 * pool uses it to know its request was never read. */
gboolean gipc_channel_get_peer_reset    (GipcChannel  *self);

/* A listener of the library's own channels (the pool's and its workers'):
 * called for each message instead of the "message" and "message-with-fds"
 * signals (which then do not run), with the same arguments, borrowed. The
 * signals' emission was a tenth of a tiny pool task's cost. Set before
 * gipc_channel_listen(); NULL goes back to the signals. */
void     gipc_channel_set_message_func  (GipcChannel            *self,
                                         GipcChannelMessageFunc  func,
                                         gpointer                user_data);

/* Number of open channels in this process (tests, debugging). */
guint    gipc_channel_get_n_open        (void);

G_END_DECLS
