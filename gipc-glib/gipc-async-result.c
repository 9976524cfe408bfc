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
  GipcAsyncResultSourceFunc source_func;  /* see gipc_async_result_new_with_source_func () */
  gpointer             source_data;
  GDestroyNotify       source_data_free;
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

static GObject *
gipc_async_result_get_source_object (GAsyncResult *result)
{
  GipcAsyncResult *self = GIPC_ASYNC_RESULT (result);

  if (self->source_func != NULL)
    return self->source_func (self->source_data);
  if (self->has_weak_source)
    return g_weak_ref_get (&self->weak_source);
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
  if (self->has_weak_source)
    g_weak_ref_clear (&self->weak_source);
  self->has_weak_source = FALSE;
  if (self->source_data_free != NULL)
    self->source_data_free (self->source_data);
  self->source_func = NULL;
  self->source_data = NULL;
  self->source_data_free = NULL;
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

/* A result whose source object @source_func gives (a new reference, or
 * NULL once it is gone) from @source_data, which the result keeps until it
 * is finalized: a weak source without GWeakRef, whose weak locations cost
 * GObject a lock and a list walk for each result made and freed (a pool's
 * tiny tasks). */
GipcAsyncResult *
gipc_async_result_new_with_source_func (GipcAsyncResultSourceFunc  source_func,
                                        gpointer                   source_data,
                                        GDestroyNotify             source_data_free,
                                        GCancellable              *cancellable,
                                        GAsyncReadyCallback        callback,
                                        gpointer                   user_data,
                                        gpointer                   source_tag)
{
  GipcAsyncResult *self = gipc_async_result_new (NULL, cancellable, callback,
                                                 user_data, source_tag);

  self->source_func = source_func;
  self->source_data = source_data;
  self->source_data_free = source_data_free;
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
  if (self->callback != NULL && (self->has_weak_source || self->source_func != NULL))
    {
      GObject *source = gipc_async_result_get_source_object (G_ASYNC_RESULT (self));

      self->callback (source, G_ASYNC_RESULT (self), self->user_data);
      g_clear_object (&source);
    }
  else if (self->callback != NULL)
    self->callback (self->source_object, G_ASYNC_RESULT (self), self->user_data);

  /* Never recycled: the callback may keep the result and attach data to
   * it (g_object_set_data, binding wrappers), so each receive gets a
   * fresh one. */
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
  if (self->has_weak_source || self->source_func != NULL)
    {
      /* NULL is accepted too: the source may be gone by now. */
      GObject *current = gipc_async_result_get_source_object (result);
      gboolean same = source_object == NULL || (gpointer) current == source_object;

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
