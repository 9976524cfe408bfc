/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <sys/types.h>

#include "gipc-fork-server.h"

G_BEGIN_DECLS

/*
 * Between GipcProcess and GipcForkServer.
 */

/* In the program, from gipc_process_start(): asks the server for a child
 * that runs @target with @args (nullable), gives it the fds of @channels
 * (GipcChannel*, prepared for passing), and returns its pid and pidfd (the
 * child is the caller's child) and the sandbox it got. @options: an
 * a{sv} (floating or not) with "die-with-parent" (b), "sandbox" (u),
 * "memory-limit" (t), "allowed-paths" (a(sb)). Blocks; serialized between
 * threads. GIPC_ERROR_SPAWN_FAILED (or SANDBOX_UNAVAILABLE) with the
 * reason on failure. */
gboolean     gipc_fork_server_request          (GipcForkServer  *self,
                                                const char      *target,
                                                GVariant        *args,
                                                const char      *process_name,
                                                GVariant        *options,
                                                GPtrArray       *channels,
                                                pid_t           *pid,
                                                int             *pidfd,
                                                guint           *sandbox_applied,
                                                GError         **error);

/* Tests: before start, makes the server die right after it cloned a
 * child, before its reply (the program must still reap that child). */
void         gipc_fork_server_set_die_before_reply_for_testing (GipcForkServer *self);

/* Tests: before start, makes every child of the server fail its set-up
 * (it reports an error to the server, EIO) or kill itself (SIGKILL) there,
 * after its fds are closed and before its sandbox and report. */
typedef enum
{
  GIPC_FORK_SERVER_CHILD_FAULT_NONE,
  GIPC_FORK_SERVER_CHILD_FAULT_FAILS,
  GIPC_FORK_SERVER_CHILD_FAULT_DIES,
} GipcForkServerChildFault;

void         gipc_fork_server_set_child_fault_for_testing (GipcForkServer           *self,
                                                           GipcForkServerChildFault  fault);

/* The server's pid, 0 if none (tests). */
pid_t        gipc_fork_server_get_server_pid   (GipcForkServer  *self);

/* In a child of the server: the process object the target sees. */
GipcProcess *gipc_process_new_for_server_child (const char      *name,
                                                gboolean         die_with_parent);

G_END_DECLS
