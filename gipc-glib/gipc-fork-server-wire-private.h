/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */
/*
 * The fork server's wire: what the program (gipc-fork-server.c) and the
 * server's own process (gipc-fork-server-loop.c) exchange, and the few
 * helpers both sides use. It holds types and plain functions on fds only:
 * no GObject, no state, nothing that knows a GipcForkServer or a
 * GipcProcess, no main loop.
 *
 * The control socket is a SOCK_SEQPACKET socketpair. The program sends
 * one datagram per request on it: one byte, with one fd attached, the
 * server's end of a fresh per-request SOCK_SEQPACKET socketpair. Before
 * that, the program has put the request itself on its own end of that
 * pair (one datagram: a GipcForkServerRequestHeader, then the GVariant
 * REQUEST_TYPE, with fds attached: first the child's end of a second
 * fresh SOCK_SEQPACKET socketpair, the child's report socket, then the
 * passed channels' fds; a request too big for one datagram travels in a
 * sealed memfd, attached last).
 *
 * The server answers on the per-request socket: one GipcForkServerReport
 * datagram STARTED (the child's pidfd attached) or FAILED (followed by
 * the message), then closes it. Until then the program never holds an
 * end of anything the server is expected to close, so a dead server is
 * seen at once (end of file), never after a wait.
 *
 * The child's report socket: the program keeps its end (the child's
 * status fd) and, once it has the STARTED report, sends the child one
 * byte there, the go: the child runs its target only then, and exits
 * without running it at end of file (the program never heard of it, or
 * gave the request up). The server keeps a copy of the child's end and
 * sends one EXITED report there when it reaped the child; the child sends
 * CHILD_EXITING just before it exits (the status its target returned or
 * gave exit ()). End of file without EXITED means the server died; the
 * CHILD_EXITING report, if one came, then tells the exit status (else
 * it is unknown: killed by a signal, or _exit ()).
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

#define GIPC_FORK_SERVER_REQUEST_MAGIC 0x67495053u  /* "SPIg" */

typedef struct
{
  guint32 magic;
  guint32 in_memfd;      /* the variant is in the last attached fd */
  guint64 size;          /* of the variant */
} GipcForkServerRequestHeader;

/* A request bigger than this travels in a memfd. */
#define GIPC_FORK_SERVER_MAX_INLINE_REQUEST (48 * 1024)

/* At most this many fds come with one request (the channels' and the
 * memfd). */
#define GIPC_FORK_SERVER_MAX_FDS 253

typedef enum
{
  GIPC_FORK_SERVER_REPORT_STARTED = 1,
  GIPC_FORK_SERVER_REPORT_FAILED  = 2,
  GIPC_FORK_SERVER_REPORT_EXITED  = 3,
  GIPC_FORK_SERVER_REPORT_CHILD_EXITING = 4,  /* from the child itself */
} GipcForkServerReportKind;

typedef struct
{
  guint32 kind;             /* GipcForkServerReportKind */
  gint32  pid;              /* the child's, or 0 (FAILED before a fork) */
  gint32  code;             /* FAILED: a GipcError code; EXITED: si_code
                             * (CLD_EXITED, CLD_KILLED or CLD_DUMPED: a
                             * core was dumped); CHILD_EXITING: CLD_EXITED */
  gint32  status;           /* EXITED, CHILD_EXITING: the exit status or
                             * the signal */
  guint32 sandbox_applied;  /* STARTED: GipcSandboxFlags */
  guint32 has_pidfd;        /* STARTED: the pidfd is attached */
} GipcForkServerReport;

/* The longest FAILED message. */
#define GIPC_FORK_SERVER_MAX_MESSAGE 1024

/* What a child tells the server on its set-up socket once its set-up is
 * done (code 0) or failed (a GipcError code, followed by the message).
 * After code 0 the child waits for the program's go on its report socket
 * before its target runs. */
typedef struct
{
  gint32  code;
  guint32 sandbox_applied;
} GipcForkServerChildStatus;

/* The environment variable that turns gipc_fork_server_start() into a
 * replacement server, in a copy of the program that the program started
 * by re-executing itself: "ordinal:control-fd:program-pid:pdeathsig". Set
 * in the new process's envp only. */
#define GIPC_FORK_SERVER_ENV "GIPC_FORK_SERVER"

typedef struct
{
  guint  ordinal;     /* which gipc_fork_server_start() call, from 1 */
  int    control_fd;
  pid_t  program_pid;
  gboolean pdeathsig; /* started from the program's main thread */
} GipcForkServerEnv;

gboolean gipc_fork_server_env_parse  (const char        *value,
                                      GipcForkServerEnv *env);
char    *gipc_fork_server_env_format (const GipcForkServerEnv *env);

void  gipc_fork_server_target_free  (gpointer data);
pid_t gipc_fork_server_wait_for_pid (pid_t    pid,
                                     int     *wait_status);
void  gipc_fork_server_write_all    (int         fd,
                                     const void *data,
                                     gsize       len);

/* One datagram with @n_fds fds attached (none if 0). Returns 0, or -1
 * with errno. @flags: sendmsg() flags (MSG_NOSIGNAL is always added). */
int   gipc_fork_server_send         (int         fd,
                                     const void *data,
                                     gsize       len,
                                     const int  *fds,
                                     guint       n_fds,
                                     int         flags);

/* One datagram into @buffer (@size bytes) and up to @max_fds fds
 * (close-on-exec) into @fds, *n_fds of them. Returns the datagram's
 * length, 0 at end of file, or -1 with errno (EMSGSIZE: the datagram or
 * its fds were truncated; what came is closed). */
gssize gipc_fork_server_receive     (int         fd,
                                     void       *buffer,
                                     gsize       size,
                                     int        *fds,
                                     guint       max_fds,
                                     guint      *n_fds,
                                     int         flags);

/* An EXITED report as an exit code: the status, or -signal. */
gint  gipc_fork_server_report_exit_code (const GipcForkServerReport *report);

/* The server's own process (gipc-fork-server-loop.c): serves the requests
 * that come on @control_fd, for the program @program_pid, with @targets
 * (name -> Target*). @pdeathsig: the server may arm PR_SET_PDEATHSIG
 * (the thread that made it is the program's main thread). Never
 * returns. */
G_GNUC_NORETURN
void  gipc_fork_server_loop_run     (GHashTable               *targets,
                                     int                       control_fd,
                                     pid_t                     program_pid,
                                     gboolean                  pdeathsig,
                                     GipcForkServerFault       server_fault,
                                     GipcForkServerChildFault  child_fault);

G_END_DECLS
