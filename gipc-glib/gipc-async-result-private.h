/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

G_BEGIN_DECLS

/*
 * A minimal GAsyncResult for the channel's receives. GTask defers the
 * callback of a task returned in the main-loop iteration that created it
 * to an idle source; a receive loop (each callback starts the next
 * receive) then pays a GTask and a whole loop iteration per message. This
 * result is completed directly from the channel's GSource dispatch, which
 * is never inside the _async call that made it, so GIO's rule (no callback
 * from within the call) holds without the detour.
 */

#define GIPC_TYPE_ASYNC_RESULT (gipc_async_result_get_type ())
G_DECLARE_FINAL_TYPE (GipcAsyncResult, gipc_async_result, GIPC, ASYNC_RESULT, GObject)

/* A new reference to the object @handle leads to, or NULL once it is gone. */
typedef GObject *(*GipcSourceGetFunc) (gpointer handle);

GipcAsyncResult *gipc_async_result_new              (gpointer              source_object,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data,
                                                     gpointer              source_tag);
GipcAsyncResult *gipc_async_result_new_weak         (gpointer              source_object,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data,
                                                     gpointer              source_tag);
/* The same, for a source reached through @handle (taken). */
GipcAsyncResult *gipc_async_result_new_for_handle   (gpointer              handle,
                                                     GipcSourceGetFunc     get,
                                                     GDestroyNotify        handle_unref,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data,
                                                     gpointer              source_tag);
GMainContext    *gipc_async_result_get_context      (GipcAsyncResult      *self);
GCancellable    *gipc_async_result_get_cancellable  (GipcAsyncResult      *self);

void             gipc_async_result_set_pointer      (GipcAsyncResult      *self,
                                                     gpointer              result,
                                                     GDestroyNotify        result_destroy);
/* The fds that came with the result (transfer full; closed with the result
 * unless stolen). */
void             gipc_async_result_set_fds          (GipcAsyncResult      *self,
                                                     GUnixFDList          *fds);
GUnixFDList     *gipc_async_result_steal_fds        (GipcAsyncResult      *self);
void             gipc_async_result_set_error        (GipcAsyncResult      *self,
                                                     GError               *error);

/* Runs the callback now. Only from a main-loop dispatch in the result's
 * context, never from within the _async call. Consumes a reference. */
void             gipc_async_result_complete         (GipcAsyncResult      *self);
/* Runs the callback from an idle source in the result's context.
 * Consumes a reference. */
void             gipc_async_result_complete_in_idle (GipcAsyncResult      *self);

gboolean         gipc_async_result_is_valid         (GAsyncResult         *result,
                                                     gpointer              source_object,
                                                     gpointer              source_tag);
gpointer         gipc_async_result_propagate_pointer (GipcAsyncResult     *self,
                                                      GError             **error);

G_END_DECLS
