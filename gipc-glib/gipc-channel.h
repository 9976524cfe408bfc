/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#if !defined (GIPC_INSIDE) && !defined (GIPC_COMPILATION)
# error "Only <gipc-glib/gipc-glib.h> can be included directly."
#endif

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "gipc-version-macros.h"

G_BEGIN_DECLS

/**
 * GipcPipeFlags:
 * @GIPC_PIPE_FLAGS_NONE: A simplex pipe: the first end only receives, the
 *   second only sends (gipc's `pipe()` order: reader, writer).
 * @GIPC_PIPE_FLAGS_DUPLEX: A duplex pair: both ends send and receive; what
 *   one end sends, the other receives.
 * @GIPC_PIPE_FLAGS_UNIX_FDS: The pair is an AF_UNIX socketpair instead of
 *   pipes: messages can carry file descriptors
 *   ([method@Gipc.Channel.send_with_fds_async]), and large messages travel
 *   as sealed shared memory
 *   ([property@Gipc.Channel:shared-memory-threshold]). With or without
 *   %GIPC_PIPE_FLAGS_DUPLEX. Such a channel speaks the fd wire format
 *   described in [class@Gipc.Channel], not gipc's.
 *
 * Flags for [func@Gipc.pipe].
 *
 * Since: 1.0
 */
typedef enum /*< flags >*/
{
  GIPC_PIPE_FLAGS_NONE   = 0,
  GIPC_PIPE_FLAGS_DUPLEX   = 1 << 0,
  GIPC_PIPE_FLAGS_UNIX_FDS = 1 << 1,
} GipcPipeFlags;

/**
 * GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE:
 *
 * The default of [property@Gipc.Channel:max-message-size]: 1 GiB.
 *
 * Since: 1.0
 */
#define GIPC_CHANNEL_DEFAULT_MAX_MESSAGE_SIZE (G_GUINT64_CONSTANT (1) << 30)

/**
 * GIPC_CHANNEL_DEFAULT_HIGH_WATER_MARK:
 *
 * The default of [property@Gipc.Channel:high-water-mark]: 1 MiB.
 *
 * Since: 1.0
 */
#define GIPC_CHANNEL_DEFAULT_HIGH_WATER_MARK (G_GUINT64_CONSTANT (1) << 20)

/**
 * GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT:
 *
 * The largest message the wire format can carry: 2^31 - 1 bytes (the frame
 * header is a signed 32-bit big-endian length, as in gipc).
 *
 * Since: 1.0
 */
#define GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT (G_GUINT64_CONSTANT (2147483647))

/**
 * GIPC_CHANNEL_DEFAULT_SHARED_MEMORY_THRESHOLD:
 *
 * The default of [property@Gipc.Channel:shared-memory-threshold]: 1 MiB.
 *
 * Since: 1.0
 */
#define GIPC_CHANNEL_DEFAULT_SHARED_MEMORY_THRESHOLD (G_GUINT64_CONSTANT (1) << 20)

/**
 * GIPC_CHANNEL_MAX_FDS_PER_MESSAGE:
 *
 * The most file descriptors one message can carry: 253 (the kernel's
 * limit for one `sendmsg`).
 *
 * Since: 1.0
 */
#define GIPC_CHANNEL_MAX_FDS_PER_MESSAGE 253

#define GIPC_TYPE_CHANNEL (gipc_channel_get_type ())

GIPC_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GipcChannel, gipc_channel, GIPC, CHANNEL, GObject)

GIPC_AVAILABLE_IN_ALL
gboolean     gipc_pipe                            (GipcPipeFlags        flags,
                                                   GipcChannel        **end1,
                                                   GipcChannel        **end2,
                                                   GError             **error);

GIPC_AVAILABLE_IN_ALL
GipcChannel *gipc_channel_new_from_fds            (int                  read_fd,
                                                   int                  write_fd,
                                                   GError             **error) G_GNUC_WARN_UNUSED_RESULT;
GIPC_AVAILABLE_IN_ALL
GipcChannel *gipc_channel_new_inherited           (guint                index,
                                                   GError             **error) G_GNUC_WARN_UNUSED_RESULT;

GIPC_AVAILABLE_IN_ALL
void         gipc_channel_send_async              (GipcChannel         *self,
                                                   GBytes              *message,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_send_finish             (GipcChannel         *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_send                    (GipcChannel         *self,
                                                   GBytes              *message,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

GIPC_AVAILABLE_IN_ALL
void         gipc_channel_receive_async           (GipcChannel         *self,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
GIPC_AVAILABLE_IN_ALL
GBytes      *gipc_channel_receive_finish          (GipcChannel         *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
GIPC_AVAILABLE_IN_ALL
GBytes      *gipc_channel_receive                 (GipcChannel         *self,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

GIPC_AVAILABLE_IN_ALL
void         gipc_channel_send_with_fds_async     (GipcChannel         *self,
                                                   GBytes              *message,
                                                   GUnixFDList         *fds,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_send_with_fds_finish    (GipcChannel         *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_send_with_fds           (GipcChannel         *self,
                                                   GBytes              *message,
                                                   GUnixFDList         *fds,
                                                   GCancellable        *cancellable,
                                                   GError             **error);
GIPC_AVAILABLE_IN_ALL
void         gipc_channel_receive_with_fds_async  (GipcChannel         *self,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
GIPC_AVAILABLE_IN_ALL
GBytes      *gipc_channel_receive_with_fds_finish (GipcChannel         *self,
                                                   GAsyncResult        *result,
                                                   GUnixFDList        **fds,
                                                   GError             **error);
GIPC_AVAILABLE_IN_ALL
GBytes      *gipc_channel_receive_with_fds        (GipcChannel         *self,
                                                   GUnixFDList        **fds,
                                                   GCancellable        *cancellable,
                                                   GError             **error);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_get_can_pass_fds        (GipcChannel         *self);
GIPC_AVAILABLE_IN_ALL
guint64      gipc_channel_get_shared_memory_threshold (GipcChannel     *self);
GIPC_AVAILABLE_IN_ALL
void         gipc_channel_set_shared_memory_threshold (GipcChannel     *self,
                                                       guint64          bytes);

GIPC_AVAILABLE_IN_ALL
void         gipc_channel_send_variant_async      (GipcChannel         *self,
                                                   GVariant            *value,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_send_variant_finish     (GipcChannel         *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_send_variant            (GipcChannel         *self,
                                                   GVariant            *value,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

GIPC_AVAILABLE_IN_ALL
void         gipc_channel_receive_variant_async   (GipcChannel         *self,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
GIPC_AVAILABLE_IN_ALL
GVariant    *gipc_channel_receive_variant_finish  (GipcChannel         *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
GIPC_AVAILABLE_IN_ALL
GVariant    *gipc_channel_receive_variant         (GipcChannel         *self,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

GIPC_AVAILABLE_IN_ALL
void         gipc_channel_listen                  (GipcChannel         *self);

GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_close                   (GipcChannel         *self,
                                                   GError             **error);

GIPC_AVAILABLE_IN_ALL
guint        gipc_channel_get_timeout             (GipcChannel         *self);
GIPC_AVAILABLE_IN_ALL
void         gipc_channel_set_timeout             (GipcChannel         *self,
                                                   guint                timeout_ms);
GIPC_AVAILABLE_IN_ALL
guint64      gipc_channel_get_max_message_size    (GipcChannel         *self);
GIPC_AVAILABLE_IN_ALL
void         gipc_channel_set_max_message_size    (GipcChannel         *self,
                                                   guint64              max_message_size);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_get_can_send            (GipcChannel         *self);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_get_can_receive         (GipcChannel         *self);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_is_closed               (GipcChannel         *self);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_is_listening            (GipcChannel         *self);

GIPC_AVAILABLE_IN_ALL
guint64      gipc_channel_get_queued_bytes        (GipcChannel         *self);
GIPC_AVAILABLE_IN_ALL
guint64      gipc_channel_get_high_water_mark     (GipcChannel         *self);
GIPC_AVAILABLE_IN_ALL
void         gipc_channel_set_high_water_mark     (GipcChannel         *self,
                                                   guint64              bytes);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_is_congested            (GipcChannel         *self);
GIPC_AVAILABLE_IN_ALL
void         gipc_channel_flush_async             (GipcChannel         *self,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_flush_finish            (GipcChannel         *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_channel_flush                   (GipcChannel         *self,
                                                   GCancellable        *cancellable,
                                                   GError             **error);

G_END_DECLS
