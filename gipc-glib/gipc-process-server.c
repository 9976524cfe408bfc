/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Fork-server mode: gipc_process_start() of a process made with
 * gipc_process_new_for_target(), the client side of one request: the
 * process's options go to the server (gipc_fork_server_request(), or
 * gipc_fork_server_request_async() for start_async), the answer (pid,
 * pidfd, the fd of the server's exit report, sandbox) comes back. This
 * file knows nothing of the wire format or the server's loop
 * (gipc-fork-server*.c) and makes no child itself.
 */

#include "config.h"

#include "gipc-fork-server-private.h"
#include "gipc-process-private.h"
#include "gipc-sandbox-private.h"

/* The request's options (floating a{sv}), or NULL with @error set when the
 * kernel lacks what the sandbox needs: that fails here, before anything is
 * sent. */
static GVariant *
make_options (GipcProcess  *self,
              GError      **error)
{
  GipcSandboxPrepared sandbox = GIPC_SANDBOX_PREPARED_INIT;
  GVariantBuilder options;
  GVariantBuilder paths;
  guint i;

  /* The child makes its own ruleset, with what was decided here (and this
   * program's cached seccomp program: it is built once, not per child). */
  if (!gipc_sandbox_prepare (&sandbox, self->sandbox, self->sandbox_paths,
                             self->memory_limit, NULL, NULL, self->name, error))
    return NULL;
  gipc_sandbox_prepared_clear (&sandbox);

  g_variant_builder_init (&paths, G_VARIANT_TYPE ("a(sb)"));
  for (i = 0; i < self->sandbox_paths->len; i++)
    {
      GipcSandboxPath *allowed = g_ptr_array_index (self->sandbox_paths, i);

      g_variant_builder_add (&paths, "(sb)", allowed->path, allowed->writable);
    }
  g_variant_builder_init (&options, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&options, "{sv}", "die-with-parent",
                         g_variant_new_boolean (self->die_with_parent));
  g_variant_builder_add (&options, "{sv}", "sandbox", g_variant_new_uint32 (self->sandbox));
  g_variant_builder_add (&options, "{sv}", "memory-limit",
                         g_variant_new_uint64 (self->memory_limit));
  g_variant_builder_add (&options, "{sv}", "allowed-paths", g_variant_builder_end (&paths));
  gipc_sandbox_prepared_to_options (&sandbox, &options);

  return g_variant_builder_end (&options);
}

gboolean
gipc_process_start_server (GipcProcess  *self,
                           GError      **error)
{
  GipcForkServerChild child;
  GVariant *options;

  options = make_options (self, error);
  if (options == NULL)
    return FALSE;

  if (!gipc_fork_server_request (self->server, self->server_target, self->server_args,
                                 self->name, options, self->channels, &child, error))
    return FALSE;

  /* Not our child: its exit comes as the server's report. */
  self->server_status_fd = child.status_fd;
  gipc_process_started (self, child.pid, child.pidfd, (GipcSandboxFlags) child.sandbox_applied);
  return TRUE;
}

/* start_async: what the reply needs. No GTask until the reply came: a
 * task holds its context, and the context holds the source that awaits
 * the reply, so a caller that drops its context before the reply would
 * leak both (and the request's fds). */
typedef struct
{
  GipcProcess         *process;      /* referenced */
  GCancellable        *cancellable;  /* nullable, referenced */
  GAsyncReadyCallback  callback;
  gpointer             user_data;
  GMainContext        *context;      /* not referenced: the request's */
  gboolean             replied;
} StartData;

static void
start_data_free (gpointer data)
{
  StartData *start = data;

  /* The context was dropped before the reply: the start is abandoned
   * (the child, if one was made, never runs). */
  if (!start->replied)
    start->process->starting = FALSE;
  g_clear_object (&start->process);
  g_clear_object (&start->cancellable);
  g_free (start);
}

/* In the start caller's context (the request's), from its dispatch. */
static void
request_reply_cb (gboolean             started,
                  GipcForkServerChild *child,
                  GError              *error,
                  gpointer             user_data)
{
  StartData *start = user_data;
  GipcProcess *self = start->process;
  g_autoptr(GTask) task = NULL;

  start->replied = TRUE;
  /* The task of gipc_process_start_async(), in its caller's context
   * (being dispatched: ours to push). */
  g_main_context_push_thread_default (start->context);
  task = g_task_new (self, start->cancellable, start->callback, start->user_data);
  g_main_context_pop_thread_default (start->context);
  g_task_set_source_tag (task, gipc_process_start_async);
  g_task_set_name (task, "[gipc] process start");
  /* A sent request is always answered: its answer is the truth, a
   * cancellation after it was sent does not hide a running child. */
  g_task_set_check_cancellable (task, FALSE);

  if (!started)
    {
      self->starting = FALSE;
      g_task_return_error (task, error);
      return;
    }

  self->server_status_fd = child->status_fd;
  gipc_process_started_in (self, start->context, child->pid, child->pidfd,
                           (GipcSandboxFlags) child->sandbox_applied);
  g_task_return_boolean (task, TRUE);
}

void
gipc_process_start_server_async (GipcProcess         *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GVariant *options;
  GError *error = NULL;
  StartData *start;

  /* Errors before a request: reported as start_async's always are. */
  if (g_cancellable_set_error_if_cancelled (cancellable, &error) ||
      !gipc_process_check_start (self, &error))
    {
      g_task_report_error (self, callback, user_data, gipc_process_start_async, error);
      return;
    }
  self->starting = TRUE;

  options = make_options (self, &error);
  if (options == NULL)
    {
      self->starting = FALSE;
      g_task_report_error (self, callback, user_data, gipc_process_start_async, error);
      return;
    }

  start = g_new0 (StartData, 1);
  start->process = g_object_ref (self);
  start->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  start->callback = callback;
  start->user_data = user_data;
  start->context = g_main_context_get_thread_default ();
  if (start->context == NULL)
    start->context = g_main_context_default ();

  /* Sent from here; the reply is awaited in this thread's thread-default
   * context. A sent request is always answered (or fails) within the
   * fork server's bound: the cancellable is looked at before the request
   * only. */
  gipc_fork_server_request_async (self->server, self->server_target, self->server_args,
                                  self->name, options, self->channels, start->context,
                                  request_reply_cb, start, start_data_free);
}
