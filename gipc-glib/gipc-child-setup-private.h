/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <sys/types.h>

#include "gipc-channel.h"
#include "gipc-orphan-private.h"
#include "gipc-sandbox-private.h"

G_BEGIN_DECLS

/*
 * The child side of starting a process, with no knowledge of GipcProcess:
 * what a fork-mode child does before its target runs (discard the inherited
 * main contexts, close the channels it was not given, reset signals, stdin
 * from /dev/null), and what a spawn-mode child does between fork() and
 * exec() (async-signal-safe only).
 */

typedef enum
{
  GIPC_CHILD_SETUP_OK,          /* nothing inherited can run */
  GIPC_CHILD_SETUP_UNVERIFIED,  /* a source of the parent may be left */
  GIPC_CHILD_SETUP_FAILED,      /* errno set */
} GipcChildSetupResult;

/* Fork mode, in the child right after fork(), before the target runs:
 * 1. signal dispositions back to SIG_DFL except SIGPIPE, empty signal mask;
 * 2. the main contexts inherited from the parent are discarded (see
 *    gipc_orphan_discard_main_contexts());
 * 3. every channel not in @keep is closed (gipc_channel_child_after_fork());
 * 4. the fds of the kept channels leave 0 to 2, then stdin reads /dev/null;
 * 5. an atexit() hook flushes the channels' queued output if the target
 *    calls exit().
 * UNVERIFIED: the residual check found something of the parent's that
 * could still run (the caller must not run the target). */
GipcChildSetupResult gipc_child_setup_after_fork (GipcChannel * const *keep,
                                                  guint                n_keep);

/* The old names of gipc_orphan_sources() and
 * gipc_orphan_discard_main_contexts() (gipc-orphan-private.h), for the
 * fork server's loop. */
static inline gboolean
gipc_child_setup_orphan_sources (GMainContext *context,
                                 GPollFD      *fds,
                                 gint         *n_fds)
{
  return gipc_orphan_sources (context, fds, n_fds);
}

static inline gboolean
gipc_child_setup_discard_main_contexts (void)
{
  return gipc_orphan_discard_main_contexts ();
}

/* The number of threads of this process (/proc/self/task), or 0 if it
 * cannot be read. */
guint    gipc_child_setup_count_threads          (void);

/* The threads the program made: those of gipc_child_setup_count_threads()
 * without GLib's own service threads ("gmain", "pool-spawner") and this
 * library's ("gipc-…") and threads that have ended but are still listed;
 * the calling thread always counts. While it sees more than one it looks
 * again, 2 ms apart, up to 25 times. For warn-if-threaded and
 * gipc_fork_server_start(). */
guint    gipc_child_setup_count_program_threads  (void);

/* Every signal back to SIG_DFL (except SIGKILL and SIGSTOP, and SIGPIPE if
 * @keep_sigpipe), then an empty signal mask. Async-signal-safe. */
void     gipc_child_setup_reset_signals          (gboolean             keep_sigpipe);

/* Points fd 0 at /dev/null and drops stdin's buffered input. Returns FALSE
 * with errno set if /dev/null cannot be opened. */
gboolean gipc_child_setup_stdin_to_devnull       (void);

/* Arms PR_SET_PDEATHSIG (SIGKILL), then checks that @parent_pid is still
 * the parent: if it already died, kills the calling process. Returns FALSE
 * with errno set if prctl() fails. Async-signal-safe. */
gboolean gipc_child_setup_die_with_parent        (pid_t                parent_pid);

/* In a sandboxed child forked without exec (fork mode, a fork server's
 * child; gipc_sandbox_apply_prepared): unmaps every shared mapping the process
 * may write (from the parent: a toolkit's shared-memory buffers, a shared
 * block not yet sent), which neither Landlock nor seccomp would stop it
 * from writing into. FALSE with errno when /proc/self/maps cannot be read
 * or a mapping not unmapped. No allocation. */
gboolean gipc_child_setup_unmap_shared_writable  (void);

/* Closes every fd from 3 up except the @n_keep fds in @keep (any order;
 * fds below 3 in it are ignored). With close_range(), falls back to a loop
 * up to the fd limit. */
void     gipc_child_setup_close_fds_except       (const int           *keep,
                                                  guint                n_keep);

/* Spawn mode: everything the child needs, prepared before fork() because
 * nothing may be allocated between fork() and exec(). */
typedef struct
{
  const char   *path;          /* resolved program path */
  char * const *argv;
  char * const *envp;          /* with GIPC_CHANNEL_FDS */
  const int    *keep_fds;      /* fds to inherit (cloexec off, blocking) */
  guint         n_keep_fds;
  /* Written by the child (CLONE_VM: shared memory), read after it execs or
   * exits. */
  volatile int  failed_step;   /* GipcChildExecStep */
  volatile int  child_errno;
  /* -1; under valgrind (plain fork there) the write end of a CLOEXEC
   * pipe that also receives failed_step and child_errno. */
  int           status_fd;
  gboolean      die_with_parent;
  pid_t         parent_pid;
  int           max_fd;        /* fallback bound when close_range() fails */
  /* NULL or the sandbox prepared by the parent, applied last before exec;
   * the child reports its failed step (GipcSandboxStep) and what it got
   * (GipcSandboxFlags) here. */
  const GipcSandboxPrepared *sandbox;
  volatile int  sandbox_step;
  volatile int  sandbox_applied;
} GipcChildExecData;

/* The step of gipc_child_setup_exec() that failed. */
typedef enum
{
  GIPC_CHILD_EXEC_STEP_NONE,
  GIPC_CHILD_EXEC_STEP_DIE_WITH_PARENT,
  GIPC_CHILD_EXEC_STEP_KEEP_FDS,
  GIPC_CHILD_EXEC_STEP_SANDBOX,
  GIPC_CHILD_EXEC_STEP_EXEC,
} GipcChildExecStep;

/* In the child between clone (CLONE_VM | CLONE_VFORK, own stack) or fork
 * and exec(): signals reset (SIGPIPE too),
 * empty mask, die-with-parent, every fd from 3 up marked close-on-exec
 * except @data->keep_fds, which become inheritable and blocking, then the
 * sandbox (gipc_sandbox_apply_prepared()); then execve(). On failure, stores the step and errno in @data->failed_step
 * and @data->child_errno (memory shared with the suspended parent) and
 * _exit()s with 127. Only async-signal-safe calls. */
G_GNUC_NORETURN
void     gipc_child_setup_exec                   (GipcChildExecData   *data);

/* The name of a runtime loaded in this process that cannot survive fork()
 * without exec (its threads hold its heap), or NULL. Today: SpiderMonkey,
 * the engine of gjs, whose garbage collector waits on helper threads that
 * do not exist in a forked child. */
const char *gipc_child_setup_find_fork_unsafe_runtime (void);

G_END_DECLS
