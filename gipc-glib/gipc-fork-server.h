/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#if !defined (GIPC_INSIDE) && !defined (GIPC_COMPILATION)
# error "Only <gipc-glib/gipc-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "gipc-version-macros.h"
#include "gipc-process.h"

G_BEGIN_DECLS

#define GIPC_TYPE_FORK_SERVER (gipc_fork_server_get_type ())

GIPC_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GipcForkServer, gipc_fork_server, GIPC, FORK_SERVER, GObject)

/**
 * GipcTargetFunc:
 * @process: the process object, as seen from inside the child
 * @args: (nullable): the arguments given to [ctor@Gipc.Process.new_for_target]
 * @user_data: the data given to [method@Gipc.ForkServer.add_target]
 *
 * A function a child of a [class@Gipc.ForkServer] runs. It runs in the
 * child only, with an empty default main context; the channels passed to
 * the process are opened with [ctor@Gipc.Channel.new_inherited].
 *
 * Returns: the exit status of the child (0 to 255)
 *
 * Since: 1.0
 */
typedef gint (*GipcTargetFunc) (GipcProcess *process,
                                GVariant    *args,
                                gpointer     user_data);

GIPC_AVAILABLE_IN_ALL
GipcForkServer *gipc_fork_server_new         (void) G_GNUC_WARN_UNUSED_RESULT;
GIPC_AVAILABLE_IN_ALL
void            gipc_fork_server_add_target  (GipcForkServer  *self,
                                              const gchar     *name,
                                              GipcTargetFunc   func,
                                              gpointer         user_data,
                                              GDestroyNotify   notify);
GIPC_AVAILABLE_IN_ALL
gboolean        gipc_fork_server_start       (GipcForkServer  *self,
                                              GError         **error);
GIPC_AVAILABLE_IN_ALL
gboolean        gipc_fork_server_is_running  (GipcForkServer  *self);
GIPC_AVAILABLE_IN_ALL
guint           gipc_fork_server_get_restarts (GipcForkServer *self);

GIPC_AVAILABLE_IN_ALL
GipcProcess    *gipc_process_new_for_target  (GipcForkServer  *server,
                                              const gchar     *name,
                                              GVariant        *args) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
