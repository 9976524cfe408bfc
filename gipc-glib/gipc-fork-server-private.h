/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <sys/types.h>

#include "gipc-fork-server.h"
#include "gipc-reaper-private.h"

G_BEGIN_DECLS

/*
 * Between GipcProcess and GipcForkServer.
 */

/* A child the server made for the program. Not the program's child: the
 * program signals it through @pidfd and learns its exit from @status_fd. */
typedef struct
{
  pid_t pid;
  int   pidfd;            /* -1 where pidfds are missing (valgrind 3.19) */
  int   status_fd;        /* the program's end of the child's report
                           * socket: readable when the child or the
                           * server reports the exit, or both are gone
                           * (see gipc_fork_server_child_try_reap()) */
  guint sandbox_applied;  /* GipcSandboxFlags */
} GipcForkServerChild;

/* In the program, from gipc_process_start(): asks the server for a child
 * that runs @target with @args (nullable), gives it the fds of @channels
 * (GipcChannel*, prepared for passing; they stay the caller's), and fills
 * @child (fds owned by the caller). @options: an a{sv} (floating or not)
 * with "die-with-parent" (b), "sandbox" (u), "memory-limit" (t),
 * "allowed-paths" (a(sb)). A dead, killed or stopped server is replaced
 * (and the request sent again, once). Waits at most three times the
 * request timeout (GIPC_FORK_SERVER_REQUEST_TIMEOUT_MS: a server that never
 * answered gets twice the timeout, to start). GIPC_ERROR_SPAWN_FAILED (or SANDBOX_UNAVAILABLE) with the
 * reason on failure, at once for an unknown target. Any thread. */
gboolean     gipc_fork_server_request          (GipcForkServer       *self,
                                                const char           *target,
                                                GVariant             *args,
                                                const char           *process_name,
                                                GVariant             *options,
                                                GPtrArray            *channels,
                                                GipcForkServerChild  *child,
                                                GError              **error);

/* The reply to gipc_fork_server_request_async(): @started and @child
 * (whose fds are the callee's), or @error (the callee's, with the process
 * named). */
typedef void (*GipcForkServerReplyFunc) (gboolean             started,
                                         GipcForkServerChild *child,
                                         GError              *error,
                                         gpointer             user_data);

/* The same, without blocking the calling thread on the server's reply:
 * the request is sent from here (no wait but, after a server died, the
 * posix_spawn() of its replacement), the reply is awaited by a source of
 * @context (NULL: the global default one), where @func runs, once, never
 * from this call. No GTask, and no reference on @context: a context
 * dropped before the reply (finalized, never iterated again) destroys the
 * source and drops the request with it: its fds are closed, the child
 * made for it (if any) never runs its target, @func is never called.
 * @notify frees @user_data in both cases. @channels is kept (referenced)
 * until then. A sent request is always answered within the bound. */
void         gipc_fork_server_request_async    (GipcForkServer          *self,
                                                const char              *target,
                                                GVariant                *args,
                                                const char              *process_name,
                                                GVariant                *options,
                                                GPtrArray               *channels,
                                                GMainContext            *context,
                                                GipcForkServerReplyFunc  func,
                                                gpointer                 user_data,
                                                GDestroyNotify           notify);

/* What gipc_fork_server_child_try_reap() learnt so far of one child
 * (zero-filled at first; the caller passes it back on every call). */
typedef struct
{
  gboolean server_gone;     /* the server left before its EXITED report */
  gboolean child_reported;  /* the child said how it exits (CHILD_EXITING) */
  gint     child_code;      /* ... with this status */
} GipcForkServerReapState;

/* The reaper's side of a server's child (no lock, no I/O but on these
 * fds): reads the reports on @status_fd without blocking. EXITED with
 * *exit_code (the server's report; or, once the server is gone, what the
 * child said as it exited) and *core_dumped; RUNNING; LOST when the
 * server went away without a report and the child is gone without saying
 * how (a signal, _exit ()): its status is unknown. When the server went
 * away and the child still runs, @status_fd is made a duplicate of
 * @pidfd (the same number, so a poll on it now waits for the child's
 * exit) and state->server_gone is set. */
GipcReapResult gipc_fork_server_child_try_reap (int                      status_fd,
                                                int                      pidfd,
                                                GipcForkServerReapState *state,
                                                gint                    *exit_code,
                                                gboolean                *core_dumped);

/* Tests: the server's pid, 0 if none. */
pid_t        gipc_fork_server_get_server_pid   (GipcForkServer  *self);

/* In a child of the server: the process object the target sees. */
GipcProcess *gipc_process_new_for_server_child (const char      *name,
                                                gboolean         die_with_parent);

/* How long the program waits for the server's answer to one request
 * before it takes the server for dead (stopped, wedged), kills and
 * replaces it; twice that for a server that never answered yet (a
 * replacement may still be starting). */
#define GIPC_FORK_SERVER_REQUEST_TIMEOUT_MS 5000

/* Tests: where the server dies on purpose. */
typedef enum
{
  GIPC_FORK_SERVER_FAULT_NONE,
  GIPC_FORK_SERVER_FAULT_DIE_BEFORE_REPLY,   /* right after the fork */
  GIPC_FORK_SERVER_FAULT_DIE_AFTER_STARTED,  /* right after STARTED went out */
} GipcForkServerFault;

typedef enum
{
  GIPC_FORK_SERVER_CHILD_FAULT_NONE,
  GIPC_FORK_SERVER_CHILD_FAULT_FAILS,
  GIPC_FORK_SERVER_CHILD_FAULT_DIES,
} GipcForkServerChildFault;

#ifdef GIPC_TESTING
/* Test hooks: compiled only into the tests' build of the library (see
 * gipc-glib/meson.build, gipc_hook_sources), never into the installed one. */

/* Before start: makes the server die right after it forked a child,
 * before its reply. */
void         gipc_fork_server_set_die_before_reply_for_testing (GipcForkServer *self);

/* Before start: makes the server die right after it sent the program
 * the STARTED report (with the child's pidfd) of its first child. */
void         gipc_fork_server_set_die_after_started_for_testing (GipcForkServer *self);

/* Before start: makes every child of the server fail its set-up (it
 * reports an error to the server, EIO) or kill itself (SIGKILL) there,
 * after its fds are closed and before its sandbox and report. */
void         gipc_fork_server_set_child_fault_for_testing (GipcForkServer           *self,
                                                           GipcForkServerChildFault  fault);

/* The request timeout in ms, instead of GIPC_FORK_SERVER_REQUEST_TIMEOUT_MS. */
void         gipc_fork_server_set_request_timeout_for_testing (GipcForkServer *self,
                                                               guint           timeout_ms);
#endif

G_END_DECLS
