/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#pragma once

#include <sys/types.h>

#include <glib.h>

G_BEGIN_DECLS

/*
 * The reaper (gipc-reaper.c): pidfds and exit statuses of the library's
 * own children, with no knowledge of GipcProcess.
 */

/* pidfd_open (close-on-exec), or -1 with errno (no pidfds: kernel < 5.3,
 * valgrind 3.19). */
int  gipc_reaper_pidfd_open        (pid_t pid);

/* pidfd_send_signal (), or -1 with errno. */
int  gipc_reaper_pidfd_send_signal (int   pidfd,
                                    int   signum);

typedef enum
{
  GIPC_REAP_RUNNING,  /* still runs: nothing changed */
  GIPC_REAP_EXITED,   /* reaped now: *exit_code set (status, or -signal) */
  GIPC_REAP_LOST,     /* gone, its status collected by someone else */
} GipcReapResult;

/* One waitid (WEXITED | WNOHANG) on @pidfd, or on @pid without one. The
 * caller makes sure nobody else of the library reaps the same child.
 * EXITED also sets *core_dumped (CLD_DUMPED: killed by a signal, with a
 * core dump); FALSE otherwise. */
GipcReapResult gipc_reaper_try_reap (pid_t     pid,
                                     int       pidfd,
                                     gint     *exit_code,
                                     gboolean *core_dumped);

/* Our own child that never ran its target: waits for it and closes
 * @pidfd (if >= 0). */
void gipc_reaper_reap_failed_child (pid_t pid,
                                    int   pidfd);

/* The reaper thread ("gipc-reaper", one per process, started by the
 * first watch and never ended). @func runs in it once the child @pid
 * ended: once @fd turns readable (a pidfd; duplicated, the thread's copy
 * is closed before @func runs), or, with @fd -1, once waitid (WNOWAIT) on
 * @pid (looked at on a backoff of 1 to 100 ms) says it ended or was
 * reaped by someone else, or after gipc_reaper_wake(). @func runs with
 * the reaper's fork lock held and no lock of the caller, one func at a
 * time for all children, and returns TRUE when it is done with the child
 * (FALSE: asked again a little later, 10 ms). A fork child inherits no
 * reaper state: its first watch starts its own thread. */
typedef gboolean (*GipcReaperFunc) (gpointer data);

void gipc_reaper_watch (pid_t          pid,
                        int            fd,
                        GipcReaperFunc func,
                        gpointer       data);

/* A child that is not ours (a fork server's): the reaper thread waits for
 * @fd (duplicated) to become readable, closes its copy and calls @func as
 * above. When @func returns FALSE it sets *next_fd to a fresh fd of the
 * thread's own to wait for next (what tells of the exit may have changed:
 * the server died and its report fd became the child's pidfd), or to -1:
 * asked again a little later. */
typedef gboolean (*GipcReaperFdFunc) (gpointer  data,
                                      int      *next_fd);

void gipc_reaper_watch_fd (int              fd,
                           GipcReaperFdFunc func,
                           gpointer         data);

/* Someone else (a join) may have reaped a child watched without an fd:
 * its func runs at the thread's next round, not after the backoff. */
void gipc_reaper_wake (void);

/* Around the library's own fork () (fork mode, the fork server): the
 * reaper thread is in no func then (not inside GLib or the allocator). */
void gipc_reaper_lock_for_fork     (void);
void gipc_reaper_unlock_after_fork (gboolean in_child);

G_END_DECLS
