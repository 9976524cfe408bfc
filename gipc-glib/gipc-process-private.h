/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <sys/types.h>

#include <gio/gio.h>

#include "gipc-fork-server.h"
#include "gipc-fork-server-private.h"
#include "gipc-process.h"
#include "gipc-reaper-private.h"
#include "gipc-sandbox-private.h"

G_BEGIN_DECLS

/*
 * Between the process object (gipc-process.c) and the files that make its
 * child: gipc-process-fork.c (fork mode), gipc-process-spawn.c (spawn
 * mode), gipc-process-server.c (fork-server client). Each start path checks
 * nothing that gipc_process_start() already checked (state, passed
 * channels prepared), makes the child, and on success calls
 * gipc_process_started() once; on failure it leaves no child, no fd and the
 * passed channels with the parent.
 */

typedef enum
{
  STATE_NEW,
  STATE_RUNNING,
  STATE_EXITED,   /* reaped (by a join or the exit watch); ::exited not emitted yet */
  STATE_DONE,     /* ::exited emitted in the start context */
} ProcessState;

struct _GipcProcess
{
  GObject          parent_instance;

  /* What to run */
  GipcProcessFunc  target;
  gpointer         target_data;
  GDestroyNotify   target_notify;
  char           **argv;
  GipcForkServer  *server;          /* fork-server mode */
  char            *server_target;
  GVariant        *server_args;     /* nullable */
  char            *name;
  gboolean         die_with_parent;
  gboolean         warn_if_threaded;
  GPtrArray       *channels;        /* GipcChannel*, passed, in pass order */

  /* The sandbox: what was asked for, and what the child got */
  GipcSandboxFlags sandbox;
  GPtrArray       *sandbox_paths;   /* GipcSandboxPath*, in allow order */
  guint64          memory_limit;
  GipcSandboxFlags sandbox_applied;

  gboolean         in_child;        /* this is the child's copy (fork mode) */

  /* Shared with join and signal senders in other threads */
  GMutex           lock;
  ProcessState     state;
  GPid             pid;
  int              pidfd;
  /* Fork-server children (not ours to reap): the server's exit report
   * comes on this fd, which the exit watch polls instead of the pidfd
   * (gipc_fork_server_child_try_reap()); -1 for the others. */
  int              server_status_fd;
  GipcForkServerReapState server_reap; /* what its reports told so far */
  gint             exit_code;
  gboolean         core_dumped;     /* set with exit_code */
  GQueue           join_tasks;      /* GTask*, owned */
  /* While the child runs, a reaper thread holds a strong reference on the
   * process. The start caller's context until the
   * report is attached there; a weak report, destroyed with the process.
   * See "Reaping" in gipc-process.c. */
  GMainContext    *start_context;
  GSource         *report;
  gboolean         report_strong;   /* the report holds a strong reference */
  gboolean         joined;          /* a sync join returned */
  gboolean         reaper_active;   /* a reaper thread holds a reference */
  gboolean         handed_ref;      /* ... which it left to a join to drop */
  GCond            cond;            /* reaper_active changed */

  /* start_async in flight (the caller's thread only) */
  gboolean         starting;

  /* GWeakRef*: the parent's ends of the passed channels' pipes, drained
   * before "exited" (start context only). */
  GPtrArray       *drain_peers;
};

/* gipc-process.c: in the parent, right after a successful start. */
void     gipc_process_started        (GipcProcess      *self,
                                      GPid              pid,
                                      int               pidfd,
                                      GipcSandboxFlags  sandbox_applied);
/* The same, with the exit watched from @context (NULL: the calling
 * thread's thread-default one). */
void     gipc_process_started_in     (GipcProcess      *self,
                                      GMainContext     *context,
                                      GPid              pid,
                                      int               pidfd,
                                      GipcSandboxFlags  sandbox_applied);

/* gipc-process.c: what gipc_process_start() checks and prepares first
 * (state, passed channels), for the start paths that make their task
 * later. */
gboolean gipc_process_check_start    (GipcProcess      *self,
                                      GError          **error);

/* gipc-process-fork.c */
gboolean gipc_process_start_fork     (GipcProcess      *self,
                                      GError          **error);
void     gipc_process_warn_if_threaded (GipcProcess    *self);
/* start_async: forks now, returns @task from its context once the child
 * reported. */
void     gipc_process_start_fork_async (GipcProcess    *self,
                                        GTask          *task);

/* gipc-process-spawn.c */
gboolean gipc_process_start_spawn    (GipcProcess      *self,
                                      GError          **error);
void     gipc_process_start_spawn_async (GipcProcess   *self,
                                         GTask         *task);

/* gipc-process-server.c */
gboolean gipc_process_start_server   (GipcProcess      *self,
                                      GError          **error);
/* start_async: checks and sends the request now; the task (of
 * gipc_process_start_async, its source tag) is made and returned in the
 * caller's thread-default context once the server replied. */
void     gipc_process_start_server_async (GipcProcess         *self,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);

G_END_DECLS
