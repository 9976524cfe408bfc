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

/* In the start caller's context (the request's). */
static void
request_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GipcProcess *self = g_task_get_source_object (task);
  GipcForkServerChild child;
  GError *error = NULL;

  if (!gipc_fork_server_request_finish (GIPC_FORK_SERVER (source), result, &child, &error))
    {
      self->starting = FALSE;
      g_task_return_error (task, error);
      return;
    }

  self->server_status_fd = child.status_fd;
  gipc_process_started_in (self, g_task_get_context (task), child.pid, child.pidfd,
                           (GipcSandboxFlags) child.sandbox_applied);
  g_task_return_boolean (task, TRUE);
}

void
gipc_process_start_server_async (GipcProcess *self,
                                 GTask       *task)
{
  GVariant *options;
  GError *error = NULL;

  options = make_options (self, &error);
  if (options == NULL)
    {
      self->starting = FALSE;
      g_task_return_error (task, error);
      return;
    }

  /* Sent from here; the reply is awaited in this thread's thread-default
   * context, the task's. A sent request is always answered (or fails)
   * within the fork server's bound: the task's cancellable is looked at
   * before the request only. */
  gipc_fork_server_request_async (self->server, self->server_target, self->server_args,
                                  self->name, options, self->channels,
                                  g_task_get_cancellable (task), request_done_cb,
                                  g_object_ref (task));
}
