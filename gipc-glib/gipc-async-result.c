/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include "gipc-async-result-private.h"

struct _GipcAsyncResult
{
  GObject              parent_instance;

  GObject             *source_object;
  GWeakRef             weak_source;   /* see gipc_async_result_new_weak () */
  gboolean             has_weak_source;
  gpointer             source_handle; /* see gipc_async_result_new_for_handle () */
  GipcSourceGetFunc    source_get;
  GDestroyNotify       source_handle_unref;
  GCancellable        *cancellable;
  GMainContext        *context;
  GAsyncReadyCallback  callback;
  gpointer             user_data;
  gpointer             source_tag;

  gpointer             result;
  GDestroyNotify       result_destroy;
  GUnixFDList         *fds;          /* that came with the result, or NULL */
  GError              *error;
  gboolean             completed;
};

static void gipc_async_result_iface_init (GAsyncResultIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GipcAsyncResult, gipc_async_result, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_RESULT,
                                                      gipc_async_result_iface_init))

static gpointer
gipc_async_result_get_user_data (GAsyncResult *result)
{
  return GIPC_ASYNC_RESULT (result)->user_data;
}

/* The source object while it exists (a new reference), for a result that
 * does not hold it strongly. */
static GObject *
weak_source_get (GipcAsyncResult *self)
{
  if (self->source_get != NULL)
    return self->source_get (self->source_handle);
  return g_weak_ref_get (&self->weak_source);
}

static GObject *
gipc_async_result_get_source_object (GAsyncResult *result)
{
  GipcAsyncResult *self = GIPC_ASYNC_RESULT (result);

  if (self->has_weak_source)
    return weak_source_get (self);
  return self->source_object != NULL ? g_object_ref (self->source_object) : NULL;
}

static gboolean
gipc_async_result_is_tagged (GAsyncResult *result,
                             gpointer      source_tag)
{
  return GIPC_ASYNC_RESULT (result)->source_tag == source_tag;
}

static void
gipc_async_result_iface_init (GAsyncResultIface *iface)
{
  iface->get_user_data = gipc_async_result_get_user_data;
  iface->get_source_object = gipc_async_result_get_source_object;
  iface->is_tagged = gipc_async_result_is_tagged;
}

static void
clear_state (GipcAsyncResult *self)
{
  if (self->result != NULL && self->result_destroy != NULL)
    self->result_destroy (self->result);
  self->result = NULL;
  self->result_destroy = NULL;
  g_clear_object (&self->fds);
  g_clear_error (&self->error);
  g_clear_object (&self->source_object);
  if (self->source_get != NULL)
    self->source_handle_unref (self->source_handle);
  else if (self->has_weak_source)
    g_weak_ref_clear (&self->weak_source);
  self->has_weak_source = FALSE;
  self->source_handle = NULL;
  self->source_get = NULL;
  self->source_handle_unref = NULL;
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);
  self->callback = NULL;
  self->user_data = NULL;
  self->source_tag = NULL;
  self->completed = FALSE;
}

static void
gipc_async_result_finalize (GObject *object)
{
  clear_state (GIPC_ASYNC_RESULT (object));

  G_OBJECT_CLASS (gipc_async_result_parent_class)->finalize (object);
}

static void
gipc_async_result_class_init (GipcAsyncResultClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gipc_async_result_finalize;
}

static void
gipc_async_result_init (GipcAsyncResult *self)
{
}

static GipcAsyncResult *
setup (GipcAsyncResult     *self,
       gpointer             source_object,
       GCancellable        *cancellable,
       GAsyncReadyCallback  callback,
       gpointer             user_data,
       gpointer             source_tag)
{
  GMainContext *context = g_main_context_get_thread_default ();

  self->source_object = source_object != NULL ? g_object_ref (source_object) : NULL;
  self->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  self->context = g_main_context_ref (context != NULL ? context : g_main_context_default ());
  self->callback = callback;
  self->user_data = user_data;
  self->source_tag = source_tag;

  return self;
}

GipcAsyncResult *
gipc_async_result_new (gpointer             source_object,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data,
                       gpointer             source_tag)
{
  return setup (g_object_new (GIPC_TYPE_ASYNC_RESULT, NULL),
                source_object, cancellable, callback, user_data, source_tag);
}

/* A result whose source object is held weakly: a pending operation does
 * not keep its source alive (a pool's tasks must not), yet the callback
 * gets the source while it exists (bindings such as gjs's
 * Gio._promisify call the finish function on it), and NULL once it has
 * been finalized. */
GipcAsyncResult *
gipc_async_result_new_weak (gpointer             source_object,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data,
                            gpointer             source_tag)
{
  GipcAsyncResult *self = gipc_async_result_new (NULL, cancellable, callback,
                                                 user_data, source_tag);

  g_return_val_if_fail (G_IS_OBJECT (source_object), self);

  g_weak_ref_init (&self->weak_source, source_object);
  self->has_weak_source = TRUE;
  return self;
}

/* Like _new_weak, for a source that many results reach through one
 * shared @handle (taken; released with @handle_unref) rather than a
 * GWeakRef each: GObject keeps an object's weak locations in a list, and
 * initializing and clearing one costs a result about 850 instructions
 * under GLib's global lock of weak references. @get returns a new
 * reference to the source, or NULL once it is gone. */
GipcAsyncResult *
gipc_async_result_new_for_handle (gpointer             handle,
                                  GipcSourceGetFunc    get,
                                  GDestroyNotify       handle_unref,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data,
                                  gpointer             source_tag)
{
  GipcAsyncResult *self = gipc_async_result_new (NULL, cancellable, callback,
                                                 user_data, source_tag);

  self->source_handle = handle;
  self->source_get = get;
  self->source_handle_unref = handle_unref;
  self->has_weak_source = TRUE;
  return self;
}

GMainContext *
gipc_async_result_get_context (GipcAsyncResult *self)
{
  return self->context;
}

GCancellable *
gipc_async_result_get_cancellable (GipcAsyncResult *self)
{
  return self->cancellable;
}

void
gipc_async_result_set_pointer (GipcAsyncResult *self,
                               gpointer         result,
                               GDestroyNotify   result_destroy)
{
  g_return_if_fail (!self->completed);

  self->result = result;
  self->result_destroy = result_destroy;
}

void
gipc_async_result_set_error (GipcAsyncResult *self,
                             GError          *error)
{
  g_return_if_fail (!self->completed);

  self->error = error;
}

void
gipc_async_result_complete (GipcAsyncResult *self)
{
  g_return_if_fail (!self->completed);

  self->completed = TRUE;
  if (self->callback != NULL && self->has_weak_source)
    {
      GObject *source = weak_source_get (self);

      self->callback (source, G_ASYNC_RESULT (self), self->user_data);
      g_clear_object (&source);
    }
  else if (self->callback != NULL)
    self->callback (self->source_object, G_ASYNC_RESULT (self), self->user_data);

  /* Never recycled: the callback may keep the result and attach data to
   * it (g_object_set_data, binding wrappers), so each receive gets a
   * fresh one. A toggle reference would tell whether the callback kept a
   * reference, but not whether it attached data (or a weak reference)
   * without one: no public GObject call says whether an object has qdata,
   * and a recycled result would show it to a later, unrelated callback
   * (/channel/async/results-not-recycled). */
  g_object_unref (self);
}

static gboolean
complete_in_idle_cb (gpointer user_data)
{
  gipc_async_result_complete (g_object_ref (user_data));
  return G_SOURCE_REMOVE;
}

void
gipc_async_result_complete_in_idle (GipcAsyncResult *self)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[gipc-async-result]");
  g_source_set_callback (source, complete_in_idle_cb, self, g_object_unref);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

gboolean
gipc_async_result_is_valid (GAsyncResult *result,
                            gpointer      source_object,
                            gpointer      source_tag)
{
  GipcAsyncResult *self;

  if (!GIPC_IS_ASYNC_RESULT (result))
    return FALSE;

  self = GIPC_ASYNC_RESULT (result);
  if (self->source_tag != source_tag)
    return FALSE;
  if (self->has_weak_source)
    {
      /* NULL is accepted too: the source may be gone by now. */
      GObject *current;
      gboolean same;

      if (source_object == NULL)
        return TRUE;
      current = weak_source_get (self);
      same = (gpointer) current == source_object;
      g_clear_object (&current);
      return same;
    }
  return (gpointer) self->source_object == source_object;
}

gpointer
gipc_async_result_propagate_pointer (GipcAsyncResult  *self,
                                     GError          **error)
{
  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      return NULL;
    }

  self->result_destroy = NULL;
  return g_steal_pointer (&self->result);
}

void
gipc_async_result_set_fds (GipcAsyncResult *self,
                           GUnixFDList     *fds)
{
  g_return_if_fail (!self->completed);

  g_clear_object (&self->fds);
  self->fds = fds;
}

GUnixFDList *
gipc_async_result_steal_fds (GipcAsyncResult *self)
{
  return g_steal_pointer (&self->fds);
}
