/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The GSource that drives a GipcChannel: it watches the channel's read and
 * write fds and an optional deadline for receive timeouts. An fd is in the
 * poll set only while it is wanted: one kept with no events would still
 * report POLLHUP/POLLERR after its peer is gone and make the source ready
 * on every iteration, so an idle channel costs nothing.
 *
 * It holds no reference on the channel: the channel destroys it in
 * dispose.
 */

typedef void (*GipcChannelSourceFunc) (gpointer     channel,
                                       GIOCondition read_revents,
                                       GIOCondition write_revents);

/* When the channel needs a dispatch regardless of its fds: 0 for now
 * (work it can do without I/O), a monotonic time in µs (a receive
 * deadline), or -1 for none. Asked in prepare and check, so changing it
 * costs no system call (g_source_set_ready_time would signal the
 * context's wakeup fd every time). */
typedef gint64 (*GipcChannelSourceWakeupFunc) (gpointer channel);

GSource *gipc_channel_source_new         (int                          read_fd,
                                          int                          write_fd,
                                          GipcChannelSourceFunc        func,
                                          GipcChannelSourceWakeupFunc  wakeup_func,
                                          gpointer                     channel);

/* Whether to wake up when the read fd is readable (and on HUP/ERR): adds
 * the fd to the poll set, or takes it out. */
void     gipc_channel_source_want_read   (GSource               *source,
                                          gboolean               want);
/* Whether to wake up when the write fd is writable (and on ERR). */
void     gipc_channel_source_want_write  (GSource               *source,
                                          gboolean               want);

/* A counter bumped once per main-loop iteration (in prepare): lets the
 * channel tell "this iteration" from "an earlier one". */
guint64  gipc_channel_source_get_generation (GSource            *source);

G_END_DECLS
