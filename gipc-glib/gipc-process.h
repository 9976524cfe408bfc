/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#if !defined (GIPC_INSIDE) && !defined (GIPC_COMPILATION)
# error "Only <gipc-glib/gipc-glib.h> can be included directly."
#endif

#include <gio/gio.h>

#include "gipc-version-macros.h"
#include "gipc-channel.h"
#include "gipc-sandbox.h"

G_BEGIN_DECLS

#define GIPC_TYPE_PROCESS (gipc_process_get_type ())

GIPC_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GipcProcess, gipc_process, GIPC, PROCESS, GObject)

/**
 * GIPC_PROCESS_EXIT_CODE_UNKNOWN:
 *
 * The exit code of a child whose exit status was collected by someone
 * else: a `waitpid (-1)` or `SIGCHLD` handler of the program reaped it
 * before the library could, or the fork server of a fork-server child
 * died before it reported the exit. The child has exited, but how is not
 * known. Never a real exit code (those are 0 to 255, or -N for signal N):
 * it is %G_MININT.
 *
 * Since: 1.0
 */
#define GIPC_PROCESS_EXIT_CODE_UNKNOWN (-2147483647 - 1)

/**
 * GipcProcessFunc:
 * @process: the process object, as seen from inside the child
 * @user_data: the data given to [ctor@Gipc.Process.new]
 *
 * The function a fork-mode child runs. It runs in the child only, after the
 * inherited main context was discarded.
 *
 * Returns: the exit status of the child (0 to 255)
 *
 * Since: 1.0
 */
typedef gint (*GipcProcessFunc) (GipcProcess *process,
                                 gpointer     user_data);

GIPC_AVAILABLE_IN_ALL
GipcProcess *gipc_process_new                (GipcProcessFunc       target,
                                              gpointer              user_data,
                                              GDestroyNotify        notify) G_GNUC_WARN_UNUSED_RESULT;
GIPC_AVAILABLE_IN_ALL
GipcProcess *gipc_process_new_for_argv       (const gchar * const  *argv,
                                              GError              **error) G_GNUC_WARN_UNUSED_RESULT;

GIPC_AVAILABLE_IN_ALL
void         gipc_process_pass_channel       (GipcProcess          *self,
                                              GipcChannel          *channel);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_start              (GipcProcess          *self,
                                              GError              **error);
GIPC_AVAILABLE_IN_ALL
void         gipc_process_start_async        (GipcProcess          *self,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_start_finish       (GipcProcess          *self,
                                              GAsyncResult         *result,
                                              GError              **error);

GIPC_AVAILABLE_IN_ALL
void         gipc_process_join_async         (GipcProcess          *self,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_join_finish        (GipcProcess          *self,
                                              GAsyncResult         *result,
                                              GError              **error);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_join               (GipcProcess          *self,
                                              gint                  timeout_ms,
                                              GError              **error);

GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_is_alive           (GipcProcess          *self);
GIPC_AVAILABLE_IN_ALL
gint         gipc_process_get_exit_code      (GipcProcess          *self);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_get_core_dumped    (GipcProcess          *self);
GIPC_AVAILABLE_IN_ALL
GPid         gipc_process_get_pid            (GipcProcess          *self);
GIPC_AVAILABLE_IN_ALL
const gchar *gipc_process_get_name           (GipcProcess          *self);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_get_die_with_parent (GipcProcess         *self);
GIPC_AVAILABLE_IN_ALL
void         gipc_process_set_die_with_parent (GipcProcess         *self,
                                               gboolean             die_with_parent);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_get_warn_if_threaded (GipcProcess        *self);
GIPC_AVAILABLE_IN_ALL
void         gipc_process_set_warn_if_threaded (GipcProcess        *self,
                                                gboolean            warn_if_threaded);

GIPC_AVAILABLE_IN_ALL
GipcSandboxFlags gipc_process_get_sandbox    (GipcProcess          *self);
GIPC_AVAILABLE_IN_ALL
void         gipc_process_set_sandbox        (GipcProcess          *self,
                                              GipcSandboxFlags      flags);
GIPC_AVAILABLE_IN_ALL
void         gipc_process_sandbox_allow_path (GipcProcess          *self,
                                              const gchar          *path,
                                              gboolean              writable);
GIPC_AVAILABLE_IN_ALL
void         gipc_process_sandbox_allow_system_data (GipcProcess   *self);
GIPC_AVAILABLE_IN_ALL
guint64      gipc_process_get_memory_limit   (GipcProcess          *self);
GIPC_AVAILABLE_IN_ALL
void         gipc_process_set_memory_limit   (GipcProcess          *self,
                                              guint64               bytes);
GIPC_AVAILABLE_IN_ALL
GipcSandboxFlags gipc_process_get_sandbox_applied (GipcProcess     *self);

GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_send_signal        (GipcProcess          *self,
                                              gint                  signum,
                                              GError              **error);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_terminate          (GipcProcess          *self,
                                              GError              **error);
GIPC_AVAILABLE_IN_ALL
gboolean     gipc_process_kill               (GipcProcess          *self,
                                              GError              **error);

G_END_DECLS
