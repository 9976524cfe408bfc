/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#if !defined (GIPC_INSIDE) && !defined (GIPC_COMPILATION)
# error "Only <gipc-glib/gipc-glib.h> can be included directly."
#endif

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "gipc-version-macros.h"
#include "gipc-channel.h"
#include "gipc-process.h"
#include "gipc-fork-server.h"
#include "gipc-sandbox.h"

G_BEGIN_DECLS

#define GIPC_TYPE_POOL (gipc_pool_get_type ())

GIPC_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GipcPool, gipc_pool, GIPC, POOL, GObject)

/**
 * GipcWorkerFunc:
 * @request: the bytes of the request, as given to
 *   [method@Gipc.Pool.run_async]
 * @fds: (nullable): the fds that came with the request, or %NULL if none
 * @out_fds: (out) (optional) (nullable) (transfer full): return location
 *   for fds to send back with the result
 * @cancellable: (nullable): cancelled when the task is cancelled in the
 *   parent; valid during the call (keep a reference to use it later)
 * @user_data: the data given with the function
 * @error: return location for a #GError: the error travels back to the
 *   task's caller with its domain, code and message
 *
 * The function a pool's worker runs for each task: it turns one request into
 * one result. It runs in the worker process, with the worker's own main
 * context as thread-default context (it may iterate it, e.g. for GIO async
 * calls), and should return soon after @cancellable is cancelled.
 *
 * The worker gives the next task the same @cancellable when nothing but
 * the worker holds a reference to it, it was not cancelled and no handler
 * is left connected to its [signal@Gio.Cancellable::cancelled] signal; a
 * function that keeps a reference (or whose GIO call, or binding wrapper,
 * still holds one) makes the worker use a new one for the next task, so a
 * later task's cancel never reaches a cancellable kept this way. Data attached
 * to @cancellable (`g_object_set_data()`) and weak references to it
 * (`g_object_weak_ref()`, `GWeakRef`, `g_object_add_weak_pointer()`) hold no
 * reference: they may still find it, serving a later task, after the call.
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error set
 *
 * Since: 1.0
 */
typedef GBytes *(*GipcWorkerFunc) (GBytes        *request,
                                   GUnixFDList   *fds,
                                   GUnixFDList  **out_fds,
                                   GCancellable  *cancellable,
                                   gpointer       user_data,
                                   GError       **error);

GIPC_AVAILABLE_IN_ALL
gint          gipc_worker_serve                  (GipcChannel          *channel,
                                                  GipcWorkerFunc        func,
                                                  gpointer              user_data);

GIPC_AVAILABLE_IN_ALL
GipcPool     *gipc_pool_new                      (GipcWorkerFunc        func,
                                                  gpointer              user_data,
                                                  GDestroyNotify        notify) G_GNUC_WARN_UNUSED_RESULT;
GIPC_AVAILABLE_IN_ALL
GipcPool     *gipc_pool_new_for_target           (GipcForkServer       *server,
                                                  const gchar          *target,
                                                  GVariant             *args) G_GNUC_WARN_UNUSED_RESULT;
GIPC_AVAILABLE_IN_ALL
GipcPool     *gipc_pool_new_for_argv             (const gchar * const  *argv) G_GNUC_WARN_UNUSED_RESULT;

GIPC_AVAILABLE_IN_ALL
void          gipc_pool_run_async                (GipcPool             *self,
                                                  GBytes               *request,
                                                  GUnixFDList          *fds,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
GIPC_AVAILABLE_IN_ALL
GBytes       *gipc_pool_run_finish               (GipcPool             *self,
                                                  GAsyncResult         *result,
                                                  GUnixFDList         **out_fds,
                                                  GError              **error);
GIPC_AVAILABLE_IN_ALL
GBytes       *gipc_pool_run                      (GipcPool             *self,
                                                  GBytes               *request,
                                                  GUnixFDList          *fds,
                                                  GUnixFDList         **out_fds,
                                                  GCancellable         *cancellable,
                                                  GError              **error);

GIPC_AVAILABLE_IN_ALL
void          gipc_pool_close_async              (GipcPool             *self,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
GIPC_AVAILABLE_IN_ALL
gboolean      gipc_pool_close_finish             (GipcPool             *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

GIPC_AVAILABLE_IN_ALL
void          gipc_pool_reset                    (GipcPool             *self);

GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_max_workers          (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_max_workers          (GipcPool             *self,
                                                  guint                 max_workers);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_min_workers          (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_min_workers          (GipcPool             *self,
                                                  guint                 min_workers);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_idle_timeout         (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_idle_timeout         (GipcPool             *self,
                                                  guint                 idle_timeout_ms);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_max_tasks_per_worker (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_max_tasks_per_worker (GipcPool             *self,
                                                  guint                 max_tasks);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_task_timeout         (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_task_timeout         (GipcPool             *self,
                                                  guint                 task_timeout_ms);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_cancel_grace         (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_cancel_grace         (GipcPool             *self,
                                                  guint                 cancel_grace_ms);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_restart_intensity    (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_restart_intensity    (GipcPool             *self,
                                                  guint                 restart_intensity);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_restart_period       (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_restart_period       (GipcPool             *self,
                                                  guint                 restart_period_ms);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_max_queued           (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_max_queued           (GipcPool             *self,
                                                  guint                 max_queued);
GIPC_AVAILABLE_IN_ALL
gboolean      gipc_pool_is_congested             (GipcPool             *self);

GIPC_AVAILABLE_IN_ALL
GipcSandboxFlags gipc_pool_get_sandbox           (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_sandbox              (GipcPool             *self,
                                                  GipcSandboxFlags      flags);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_sandbox_allow_path       (GipcPool             *self,
                                                  const gchar          *path,
                                                  gboolean              writable);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_sandbox_allow_system_data (GipcPool            *self);
GIPC_AVAILABLE_IN_ALL
guint64       gipc_pool_get_memory_limit         (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
void          gipc_pool_set_memory_limit         (GipcPool             *self,
                                                  guint64               bytes);

GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_queued_tasks         (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_running_tasks        (GipcPool             *self);
GIPC_AVAILABLE_IN_ALL
guint         gipc_pool_get_workers              (GipcPool             *self);

G_END_DECLS
