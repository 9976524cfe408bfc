/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The fork server's wire: what the program (gipc-fork-server.c) and the
 * server's own process (gipc-fork-server-loop.c) exchange on the control
 * socket, and the few helpers both sides use. It holds types and plain
 * functions only: no GObject, no state, nothing that knows a
 * GipcForkServer or a GipcProcess.
 */

#pragma once

#include <sys/types.h>

#include "gipc-fork-server-private.h"

G_BEGIN_DECLS

typedef struct
{
  GipcTargetFunc func;
  gpointer       user_data;
  GDestroyNotify notify;
} Target;

/* (target name, arguments or nothing, process name, options, channels as
 * pairs of indices into the attached fds, -1 for an absent direction; the
 * same index twice for one socket) */
#define REQUEST_TYPE "(smvsa{sv}a(ii))"
/* (succeeded, child pid, GipcError code, error message, sandbox applied);
 * the child's pidfd is the attached fd whenever a child was made (also
 * when its set-up failed: the program reaps it) */
#define REPLY_TYPE   "(biisu)"
/* (ready, error message): the server's first message */
#define HELLO_TYPE   "(bs)"

/* What a child tells the server once its set-up is done (code 0) or
 * failed (a GipcError code), followed by the message. */
typedef struct
{
  gint32  code;
  guint32 sandbox_applied;
} GipcForkServerChildStatus;

void  gipc_fork_server_target_free  (gpointer data);
pid_t gipc_fork_server_wait_for_pid (pid_t    pid,
                                     int     *wait_status);
void  gipc_fork_server_write_all    (int         fd,
                                     const void *data,
                                     gsize       len);

/* The server's own process (gipc-fork-server-loop.c): serves the requests
 * that come on @socket_fd, for the program @program_pid, with @targets
 * (name -> Target*). Never returns. */
G_GNUC_NORETURN
void  gipc_fork_server_loop_run     (GHashTable               *targets,
                                     int                       socket_fd,
                                     pid_t                     program_pid,
                                     gboolean                  die_before_reply,
                                     GipcForkServerChildFault  child_fault);

G_END_DECLS
