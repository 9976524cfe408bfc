/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * gipc-bench: the speed of gipc-glib next to raw pipes, in one run.
 *
 * Every measure runs the library through its public API, as a user calls it,
 * with a forked peer process (a GipcProcess in fork mode, or a plain fork()
 * with --peer=fork), and next to a raw-pipe baseline built into this program:
 * blocking write() and read() on a pipe, one message per system call, with
 * the same 4-byte length framing and the same sizes.
 *
 * Measures (keys for --only):
 *   oneway-SIZE-push         the parent sends with gipc_channel_send_async
 *                            (NULL callback, batches of messages; the last
 *                            message of each batch carries a callback that
 *                            sends the next batch, two batches in flight),
 *                            the peer listens ("message" signal)
 *   oneway-SIZE-recv         the same, the peer re-arms receive_async from
 *                            its callback
 *   oneway-SIZE-naive-push   the parent calls send_async N times in one go
 *   oneway-SIZE-naive-recv   (NULL callbacks), then runs its main loop
 *   oneway-64-sync           gipc_channel_send / gipc_channel_receive
 *   mbps-push, mbps-recv,    1 MiB messages, in MB/s (10^6 bytes)
 *   mbps-sync
 *   rtt-push                 8 B ping-pong, a main loop on each side, both
 *                            sides listening, replies with send_async
 *   rtt-recv                 the same, the parent uses receive_async
 *   rtt-sync                 gipc_channel_send + gipc_channel_receive
 *   start-fork               gipc_process_new + start + join
 *   start-spawn              gipc_process_new_for_argv (/bin/true) + start + join
 *   start-*-sandboxed        the same alternating with sandboxed starts (NO_NETWORK |
 *                            NO_FILESYSTEM) in fork, spawn and fork-server mode
 *   start-aged-fork,         the same after the program created (and
 *   start-aged-spawn         destroyed) 10^7 sources; run last
 *
 * Each measure runs --repeat times for --duration / --repeat seconds and
 * keeps the best run (the machine is shared; the best run is the one least
 * disturbed). Every message carries its sequence number at both ends and a
 * fixed pattern in between; the receiver checks the size and the sequence
 * numbers of every message and the whole content of the first ones (of all
 * of them with --verify or --quick), and the message count is compared with
 * what was sent, so a broken channel cannot produce a fast number.
 *
 * The exit status is 0 unless a measure failed (an error, a verification
 * failure); a missed speed goal is printed as MISS and is not a failure.
 */

#include <gipc-glib/gipc-glib.h>
#include <glib-unix.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GIPC_BENCH_BUILDTYPE
# define GIPC_BENCH_BUILDTYPE "unknown"
#endif

#define LARGE_SIZE      (1024 * 1024)
#define SMALL_MAX       (64 * 1024)
#define RESULT_SIZE     256
#define FULL_CHECK_N    1000
#define NAIVE_MAX       200000
#define NAIVE_MAX_BYTES (64 * 1024 * 1024)
#define BATCH_MAX_BYTES (256 * 1024)
#define READY_TIMEOUT_S 30

/* --- options ------------------------------------------------------------ */

static gdouble   opt_duration = 0.9;
static gint      opt_repeat = 3;
static gboolean  opt_quick;
static gchar   **opt_only;
static gchar    *opt_placement;
static gchar    *opt_peer;
static gint      opt_batch = 256;
static gint      opt_window = 2;
static gboolean  opt_verify;
static gboolean  opt_verbose;
static gboolean  opt_list;
static gboolean  opt_machine;

static gboolean  peer_is_process = TRUE;
/* The transport of the row being measured: 0 (pipes) or UNIX_FDS. */
static GipcPipeFlags bench_transport;
/* Shared memory on the socket rows: off (0) unless a row measures it. */
static guint64 bench_shm_threshold;
static gdouble   rep_duration;

/* --- small helpers ------------------------------------------------------ */

static guint8 *pattern;

static gdouble
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gdouble) ts.tv_sec + (gdouble) ts.tv_nsec * 1e-9;
}

static void
put_be32 (guint8 *p,
          guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static guint32
get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
         ((guint32) p[2] << 8) | (guint32) p[3];
}

static gboolean
write_full (int         fd,
            const void *buf,
            gsize       len)
{
  const guint8 *p = buf;

  while (len > 0)
    {
      gssize n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Returns the number of bytes read: less than @len only at end of file, -1
 * on error. */
static gssize
read_full (int    fd,
           void  *buf,
           gsize  len)
{
  guint8 *p = buf;
  gsize got = 0;

  while (got < len)
    {
      gssize n = read (fd, p + got, len - got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      got += (gsize) n;
    }
  return (gssize) got;
}

static gboolean
wait_readable (int   fd,
               gint  timeout_s)
{
  struct pollfd pfd = { fd, POLLIN, 0 };

  for (;;)
    {
      int r = poll (&pfd, 1, timeout_s * 1000);

      if (r < 0 && errno == EINTR)
        continue;
      return r > 0;
    }
}

/* --- messages: seq at the start, ~seq at the end, a pattern between ----- */

static void
stamp_message (guint8  *data,
               gsize    size,
               guint64  seq)
{
  guint64 tail = ~seq;

  memcpy (data, &seq, sizeof seq);
  if (size >= 16)
    memcpy (data + size - 8, &tail, sizeof tail);
}

static gboolean
full_check (guint64 seq,
            gsize   size)
{
  if (opt_verify)
    return TRUE;
  if (size >= SMALL_MAX)
    return seq < 8;
  return seq < FULL_CHECK_N;
}

static gboolean
check_message (const guint8 *data,
               gsize         len,
               gsize         want,
               guint64       seq,
               gchar        *err,
               gsize         errlen)
{
  guint64 head, tail;

  if (len != want)
    {
      g_snprintf (err, errlen, "message %" G_GUINT64_FORMAT " has %" G_GSIZE_FORMAT
                  " bytes, expected %" G_GSIZE_FORMAT, seq, len, want);
      return FALSE;
    }
  memcpy (&head, data, sizeof head);
  if (head != seq)
    {
      g_snprintf (err, errlen, "message %" G_GUINT64_FORMAT " carries sequence number %"
                  G_GUINT64_FORMAT " (lost, duplicated or reordered message)", seq, head);
      return FALSE;
    }
  if (want >= 16)
    {
      memcpy (&tail, data + want - 8, sizeof tail);
      if (tail != ~seq)
        {
          g_snprintf (err, errlen, "message %" G_GUINT64_FORMAT ": corrupt tail", seq);
          return FALSE;
        }
      if (full_check (seq, want) && memcmp (data + 8, pattern + 8, want - 16) != 0)
        {
          g_snprintf (err, errlen, "message %" G_GUINT64_FORMAT ": corrupt content", seq);
          return FALSE;
        }
    }
  return TRUE;
}

/* --- CPU placement ------------------------------------------------------ */

typedef struct
{
  const gchar *key;
  gchar       *title;
  int          self_cpu;
  int          peer_cpu;
} Placement;

static Placement placements[2];
static guint n_placements;
static const Placement *cur_place;
static int cpu_first = -1, cpu_second = -1;

static void
cpu_set_of (int        a,
            int        b,
            cpu_set_t *set)
{
  CPU_ZERO (set);
  CPU_SET (a, set);
  if (b >= 0)
    CPU_SET (b, set);
}

/* In a freshly forked child (one thread). */
static void
pin_this_thread (int cpu)
{
  cpu_set_t set;

  cpu_set_of (cpu, -1, &set);
  if (sched_setaffinity (0, sizeof set, &set) < 0)
    fprintf (stderr, "gipc-bench: sched_setaffinity(%d): %s\n", cpu, g_strerror (errno));
}

/* Every thread of this process (GLib may have started its worker thread). */
static gboolean
pin_process (const cpu_set_t *set)
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  const gchar *name;
  gboolean ok = TRUE;

  if (dir == NULL)
    return sched_setaffinity (0, sizeof *set, set) == 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      pid_t tid = (pid_t) atoi (name);

      if (tid > 0 && sched_setaffinity (tid, sizeof *set, set) < 0)
        ok = FALSE;
    }
  g_dir_close (dir);
  return ok;
}

static void
find_cpus (void)
{
  cpu_set_t set;
  int i;

  if (sched_getaffinity (0, sizeof set, &set) < 0)
    {
      cpu_first = 0;
      return;
    }
  for (i = 0; i < CPU_SETSIZE; i++)
    {
      if (!CPU_ISSET (i, &set))
        continue;
      if (cpu_first < 0)
        cpu_first = i;
      else if (cpu_second < 0)
        cpu_second = i;
    }
}

/* --- watchdog ----------------------------------------------------------- */

static guint watchdog_s;

static void
watchdog_handler (int sig)
{
  static const char msg[] = "gipc-bench: watchdog: a measure hung, giving up\n";
  ssize_t r = write (STDERR_FILENO, msg, sizeof msg - 1);

  (void) r;
  _exit (3);
}

static void
watchdog_arm (void)
{
  alarm (watchdog_s);
}

/* --- peers -------------------------------------------------------------- */

typedef struct
{
  guint64 count;
  guint64 bytes;
  guint32 failed;
  guint32 pad;
  gchar   msg[RESULT_SIZE - 24];
} PeerResult;

G_STATIC_ASSERT (sizeof (PeerResult) == RESULT_SIZE);

typedef enum
{
  RECV_PUSH,
  RECV_ASYNC,
  RECV_SYNC,
} RecvMode;

typedef enum
{
  SEND_BATCHED,
  SEND_NAIVE,
  SEND_SYNC,
} SendMode;

typedef struct _PeerArgs PeerArgs;
typedef gint (*PeerFunc) (PeerArgs *args);

struct _PeerArgs
{
  PeerFunc     func;
  GipcChannel *chan;     /* the peer's end, valid in the peer */
  int          ctl_fd;   /* peer -> parent: 'R' when ready, then a PeerResult */
  int          cpu;
  gsize        size;
  RecvMode     mode;
};

typedef struct
{
  GipcProcess *proc;
  pid_t        pid;
  int          ctl_fd;
} Peer;

static void
peer_ready (PeerArgs *a)
{
  if (!write_full (a->ctl_fd, "R", 1))
    _exit (5);
}

static void
peer_send_result (PeerArgs   *a,
                  PeerResult *r)
{
  if (!write_full (a->ctl_fd, r, sizeof *r))
    _exit (5);
}

static gint
peer_run (PeerArgs *a)
{
  pin_this_thread (a->cpu);
  alarm (watchdog_s);
  return a->func (a);
}

static gint
peer_process_target (GipcProcess *process,
                     gpointer     user_data)
{
  return peer_run (user_data);
}

static void
peer_abort (Peer *peer)
{
  if (peer->ctl_fd >= 0)
    close (peer->ctl_fd);
  peer->ctl_fd = -1;
  if (peer->proc != NULL)
    {
      if (gipc_process_is_alive (peer->proc))
        gipc_process_kill (peer->proc, NULL);
      gipc_process_join (peer->proc, 10000, NULL);
      g_clear_object (&peer->proc);
    }
  if (peer->pid > 0)
    {
      kill (peer->pid, SIGKILL);
      waitpid (peer->pid, NULL, 0);
      peer->pid = -1;
    }
}

/* Starts a peer that runs @a->func with its end of a new channel (simplex:
 * the peer receives; duplex: both ways), and waits until it says it is
 * ready. */
static gboolean
peer_launch (Peer         *peer,
             PeerArgs     *a,
             gboolean      duplex,
             GipcChannel **parent_end,
             GError      **error)
{
  int ctl[2];
  char ready = 0;

  peer->proc = NULL;
  peer->pid = -1;
  peer->ctl_fd = -1;
  *parent_end = NULL;
  a->cpu = cur_place->peer_cpu;

  if (pipe2 (ctl, O_CLOEXEC) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "pipe: %s", g_strerror (errno));
      return FALSE;
    }
  a->ctl_fd = ctl[1];
  peer->ctl_fd = ctl[0];

  if (peer_is_process)
    {
      GipcChannel *e1 = NULL, *e2 = NULL;
      gboolean ok;

      if (!gipc_pipe ((duplex ? GIPC_PIPE_FLAGS_DUPLEX : GIPC_PIPE_FLAGS_NONE) | bench_transport,
                      &e1, &e2, error))
        {
          close (ctl[1]);
          peer_abort (peer);
          return FALSE;
        }
      if (bench_transport & GIPC_PIPE_FLAGS_UNIX_FDS)
        {
          gipc_channel_set_shared_memory_threshold (e1, bench_shm_threshold);
          gipc_channel_set_shared_memory_threshold (e2, bench_shm_threshold);
        }
      a->chan = e1;
      peer->proc = gipc_process_new (peer_process_target, a, NULL);
      /* GLib's worker thread runs here; the peer is plain C. */
      gipc_process_set_warn_if_threaded (peer->proc, FALSE);
      gipc_process_pass_channel (peer->proc, e1);
      ok = gipc_process_start (peer->proc, error);
      a->chan = NULL;
      g_object_unref (e1);
      close (ctl[1]);
      if (!ok)
        {
          g_object_unref (e2);
          g_clear_object (&peer->proc);
          peer_abort (peer);
          return FALSE;
        }
      *parent_end = e2;
    }
  else
    {
      int down[2], up[2] = { -1, -1 };
      pid_t pid;

      if (bench_transport & GIPC_PIPE_FLAGS_UNIX_FDS)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "the socket transport rows need --peer=process");
          close (ctl[1]);
          peer_abort (peer);
          return FALSE;
        }
      if (pipe2 (down, O_CLOEXEC) < 0 || (duplex && pipe2 (up, O_CLOEXEC) < 0))
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "pipe: %s", g_strerror (errno));
          close (ctl[1]);
          peer_abort (peer);
          return FALSE;
        }
      fflush (stdout);
      fflush (stderr);
      pid = fork ();
      if (pid < 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "fork: %s", g_strerror (errno));
          close (ctl[1]);
          close (down[0]);
          close (down[1]);
          if (duplex)
            {
              close (up[0]);
              close (up[1]);
            }
          peer_abort (peer);
          return FALSE;
        }
      if (pid == 0)
        {
          GMainContext *ctx;
          GError *local_error = NULL;
          gint rc;

          close (ctl[0]);
          close (down[1]);
          if (duplex)
            close (up[0]);
          ctx = g_main_context_new ();
          g_main_context_push_thread_default (ctx);
          a->chan = gipc_channel_new_from_fds (down[0], duplex ? up[1] : -1, &local_error);
          if (a->chan == NULL)
            {
              fprintf (stderr, "gipc-bench: peer: %s\n", local_error->message);
              _exit (4);
            }
          rc = peer_run (a);
          _exit (rc);
        }
      peer->pid = pid;
      close (ctl[1]);
      close (down[0]);
      if (duplex)
        close (up[1]);
      *parent_end = gipc_channel_new_from_fds (duplex ? up[0] : -1, down[1], error);
      if (*parent_end == NULL)
        {
          if (duplex)
            close (up[0]);
          peer_abort (peer);
          return FALSE;
        }
    }

  if (!wait_readable (peer->ctl_fd, READY_TIMEOUT_S) || read_full (peer->ctl_fd, &ready, 1) != 1 || ready != 'R')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the peer did not start (no ready handshake)");
      g_clear_object (parent_end);
      peer_abort (peer);
      return FALSE;
    }
  return TRUE;
}

static gboolean
peer_read_result (Peer        *peer,
                  PeerResult  *result,
                  GError     **error)
{
  if (!wait_readable (peer->ctl_fd, (gint) watchdog_s) ||
      read_full (peer->ctl_fd, result, sizeof *result) != (gssize) sizeof *result)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no result from the peer (did it die?)");
      return FALSE;
    }
  result->msg[sizeof result->msg - 1] = '\0';
  return TRUE;
}

/* After a failure on our side: if the peer reported a failure of its own
 * (the likely cause), add its message to @error. */
static void
peer_explain (Peer    *peer,
              GError **error)
{
  PeerResult r;
  struct pollfd pfd = { peer->ctl_fd, POLLIN, 0 };

  if (error == NULL || *error == NULL || peer->ctl_fd < 0)
    return;
  if (poll (&pfd, 1, 2000) <= 0 ||
      read_full (peer->ctl_fd, &r, sizeof r) != (gssize) sizeof r || !r.failed)
    return;
  r.msg[sizeof r.msg - 1] = '\0';
  g_prefix_error (error, "peer: %s; here: ", r.msg);
}

static gboolean
peer_join (Peer    *peer,
           GError **error)
{
  gint code;

  close (peer->ctl_fd);
  peer->ctl_fd = -1;
  if (peer->proc != NULL)
    {
      GipcProcess *proc = g_steal_pointer (&peer->proc);

      if (!gipc_process_join (proc, (gint) watchdog_s * 1000, error))
        {
          gipc_process_kill (proc, NULL);
          gipc_process_join (proc, 10000, NULL);
          g_object_unref (proc);
          return FALSE;
        }
      code = gipc_process_get_exit_code (proc);
      g_object_unref (proc);
    }
  else
    {
      int status = 0;

      if (waitpid (peer->pid, &status, 0) < 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "waitpid: %s", g_strerror (errno));
          return FALSE;
        }
      peer->pid = -1;
      code = WIFEXITED (status) ? WEXITSTATUS (status) : -WTERMSIG (status);
    }
  if (code != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the peer exited with code %d", code);
      return FALSE;
    }
  return TRUE;
}

/* --- peer side: receivers ----------------------------------------------- */

typedef struct
{
  PeerArgs    *args;
  GipcChannel *chan;
  GMainLoop   *loop;
  PeerResult   result;
  gboolean     done;
} Receiver;

static void
receiver_finish (Receiver *r)
{
  r->done = TRUE;
  peer_send_result (r->args, &r->result);
  g_main_loop_quit (r->loop);
}

/* Returns FALSE once the receiver is done (end marker or failure). */
static gboolean
receiver_take (Receiver *r,
               GBytes   *message)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (message, &len);

  if (len == 0)
    {
      receiver_finish (r);
      return FALSE;
    }
  if (!check_message (data, len, r->args->size, r->result.count,
                      r->result.msg, sizeof r->result.msg))
    {
      r->result.failed = 1;
      receiver_finish (r);
      return FALSE;
    }
  r->result.count++;
  r->result.bytes += len;
  return TRUE;
}

static void
receiver_fail (Receiver     *r,
               const GError *error)
{
  r->result.failed = 1;
  g_snprintf (r->result.msg, sizeof r->result.msg,
              "receiver: error after %" G_GUINT64_FORMAT " messages: %s",
              r->result.count, error->message);
  receiver_finish (r);
}

static void
receiver_message_cb (GipcChannel *chan,
                     GBytes      *message,
                     gpointer     user_data)
{
  Receiver *r = user_data;

  if (!r->done)
    receiver_take (r, message);
}

static void
receiver_error_cb (GipcChannel *chan,
                   GError      *error,
                   gpointer     user_data)
{
  Receiver *r = user_data;

  if (!r->done)
    receiver_fail (r, error);
}

static void
receiver_receive_cb (GObject      *source,
                     GAsyncResult *res,
                     gpointer      user_data)
{
  Receiver *r = user_data;
  GError *error = NULL;
  GBytes *message = gipc_channel_receive_finish (GIPC_CHANNEL (source), res, &error);

  if (message == NULL)
    {
      if (!r->done)
        receiver_fail (r, error);
      g_error_free (error);
      return;
    }
  if (!r->done && receiver_take (r, message))
    gipc_channel_receive_async (r->chan, NULL, receiver_receive_cb, r);
  g_bytes_unref (message);
}

static gint
receiver_sync (PeerArgs *a)
{
  Receiver r;

  memset (&r, 0, sizeof r);
  r.args = a;
  r.chan = a->chan;
  peer_ready (a);
  for (;;)
    {
      GError *error = NULL;
      GBytes *message = gipc_channel_receive (r.chan, NULL, &error);
      gsize len = 0;
      const guint8 *data;

      if (message == NULL)
        {
          r.result.failed = 1;
          g_snprintf (r.result.msg, sizeof r.result.msg, "receiver: %s", error->message);
          g_error_free (error);
          break;
        }
      data = g_bytes_get_data (message, &len);
      if (len == 0)
        {
          g_bytes_unref (message);
          break;
        }
      if (!check_message (data, len, a->size, r.result.count, r.result.msg, sizeof r.result.msg))
        {
          r.result.failed = 1;
          g_bytes_unref (message);
          break;
        }
      r.result.count++;
      r.result.bytes += len;
      g_bytes_unref (message);
    }
  peer_send_result (a, &r.result);
  gipc_channel_close (r.chan, NULL);
  return r.result.failed ? 1 : 0;
}

static gint
receiver_main (PeerArgs *a)
{
  Receiver r;
  GMainContext *ctx;

  if (a->mode == RECV_SYNC)
    return receiver_sync (a);

  memset (&r, 0, sizeof r);
  r.args = a;
  r.chan = a->chan;
  ctx = g_main_context_ref_thread_default ();
  r.loop = g_main_loop_new (ctx, FALSE);
  if (a->mode == RECV_PUSH)
    {
      g_signal_connect (r.chan, "message", G_CALLBACK (receiver_message_cb), &r);
      g_signal_connect (r.chan, "error", G_CALLBACK (receiver_error_cb), &r);
      gipc_channel_listen (r.chan);
    }
  else
    {
      gipc_channel_receive_async (r.chan, NULL, receiver_receive_cb, &r);
    }
  peer_ready (a);
  g_main_loop_run (r.loop);
  g_signal_handlers_disconnect_by_data (r.chan, &r);
  gipc_channel_close (r.chan, NULL);
  g_main_loop_unref (r.loop);
  g_main_context_unref (ctx);
  return r.result.failed ? 1 : 0;
}

/* --- parent side: one-way senders --------------------------------------- */

typedef struct
{
  GipcChannel *chan;
  GMainLoop   *loop;
  gsize        size;
  guint64      seq;        /* messages sent so far (end marker excluded) */
  guint        batch;
  gdouble      deadline;
  gboolean     stopping;
  gdouble      t_end;
  PeerResult   result;
  gboolean     got_result;
  GError      *error;
  guint8      *scratch;    /* small messages: copied into a new GBytes */
  guint8     **pool;       /* large messages: reused buffers, one per message in flight */
  guint        pool_len;
} Sender;

static GBytes *
sender_next_message (Sender *s)
{
  guint64 seq = s->seq++;

  if (s->pool == NULL)
    {
      stamp_message (s->scratch, s->size, seq);
      return g_bytes_new (s->scratch, s->size);
    }
  else
    {
      /* Slot seq % pool_len was last used by a message of a batch that has
       * completed (it is in the pipe): pool_len = window * batch. */
      guint8 *buf = s->pool[seq % s->pool_len];

      stamp_message (buf, s->size, seq);
      return g_bytes_new_static (buf, s->size);
    }
}

static void
sender_send_end (Sender *s)
{
  GBytes *end = g_bytes_new (NULL, 0);

  gipc_channel_send_async (s->chan, end, NULL, NULL, NULL);
  g_bytes_unref (end);
}

static void sender_batch_done_cb (GObject      *source,
                                  GAsyncResult *res,
                                  gpointer      user_data);

static void
sender_send_batch (Sender *s)
{
  guint i;

  for (i = 0; i < s->batch; i++)
    {
      GBytes *message = sender_next_message (s);

      gipc_channel_send_async (s->chan, message, NULL,
                               i + 1 == s->batch ? sender_batch_done_cb : NULL, s);
      g_bytes_unref (message);
    }
}

static void
sender_batch_done_cb (GObject      *source,
                      GAsyncResult *res,
                      gpointer      user_data)
{
  Sender *s = user_data;
  GError *error = NULL;

  if (!gipc_channel_send_finish (GIPC_CHANNEL (source), res, &error))
    {
      if (s->error == NULL)
        s->error = error;
      else
        g_error_free (error);
      g_main_loop_quit (s->loop);
      return;
    }
  if (s->stopping || s->error != NULL)
    return;
  if (now_s () >= s->deadline)
    {
      s->stopping = TRUE;
      sender_send_end (s);
      return;
    }
  sender_send_batch (s);
}

static gboolean
sender_ctl_cb (gint         fd,
               GIOCondition condition,
               gpointer     user_data)
{
  Sender *s = user_data;

  s->t_end = now_s ();
  if (read_full (fd, &s->result, sizeof s->result) == (gssize) sizeof s->result)
    {
      s->result.msg[sizeof s->result.msg - 1] = '\0';
      s->got_result = TRUE;
    }
  g_main_loop_quit (s->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
verify_result (const PeerResult  *r,
               guint64            sent,
               gsize              size,
               GError           **error)
{
  if (r->failed)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "peer: %s", r->msg);
      return FALSE;
    }
  if (r->count != sent || r->bytes != sent * size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "sent %" G_GUINT64_FORMAT " messages of %" G_GSIZE_FORMAT " B, the peer got %"
                   G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " B)", sent, size, r->count, r->bytes);
      return FALSE;
    }
  return TRUE;
}

/* Messages per second, one way, parent -> peer. */
static gboolean
gipc_oneway (gsize      size,
             RecvMode   recv,
             SendMode   send,
             guint64    naive_n,
             gdouble    duration,
             gdouble   *value,
             gchar    **note,
             GError   **error)
{
  PeerArgs a;
  Peer peer;
  Sender s;
  GipcChannel *chan = NULL;
  gdouble t0;
  gboolean ok = TRUE;
  guint i;

  memset (&a, 0, sizeof a);
  a.func = receiver_main;
  a.size = size;
  a.mode = recv;
  if (!peer_launch (&peer, &a, FALSE, &chan, error))
    return FALSE;

  memset (&s, 0, sizeof s);
  s.chan = chan;
  s.size = size;
  s.batch = (guint) CLAMP (BATCH_MAX_BYTES / (size + 4), 1, (gsize) opt_batch);
  if (size > SMALL_MAX)
    {
      s.pool_len = s.batch * (guint) opt_window;
      s.pool = g_new0 (guint8 *, s.pool_len);
      for (i = 0; i < s.pool_len; i++)
        s.pool[i] = g_memdup2 (pattern, size);
    }
  else
    {
      s.scratch = g_memdup2 (pattern, size);
    }

  if (send == SEND_SYNC)
    {
      t0 = now_s ();
      s.deadline = t0 + duration;
      for (;;)
        {
          GBytes *message;

          if ((s.seq & 15) == 0 && now_s () >= s.deadline)
            break;
          message = sender_next_message (&s);
          ok = gipc_channel_send (chan, message, NULL, error);
          g_bytes_unref (message);
          if (!ok)
            break;
        }
      if (ok)
        {
          GBytes *end = g_bytes_new (NULL, 0);

          ok = gipc_channel_send (chan, end, NULL, error);
          g_bytes_unref (end);
        }
      if (ok)
        {
          ok = peer_read_result (&peer, &s.result, error);
          s.t_end = now_s ();
        }
    }
  else
    {
      guint ctl_id;

      s.loop = g_main_loop_new (NULL, FALSE);
      ctl_id = g_unix_fd_add (peer.ctl_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, sender_ctl_cb, &s);
      t0 = now_s ();
      s.deadline = t0 + duration;
      if (send == SEND_BATCHED)
        {
          for (i = 0; i < (guint) opt_window; i++)
            sender_send_batch (&s);
        }
      else
        {
          guint64 n;

          for (n = 0; n < naive_n; n++)
            {
              GBytes *message = sender_next_message (&s);

              gipc_channel_send_async (chan, message, NULL, NULL, NULL);
              g_bytes_unref (message);
            }
          sender_send_end (&s);
          *note = g_strdup_printf ("N = %" G_GUINT64_FORMAT, naive_n);
        }
      g_main_loop_run (s.loop);
      if (!s.got_result)
        g_source_remove (ctl_id);
      g_main_loop_unref (s.loop);
      if (s.got_result && s.result.failed)
        {
          /* The peer's report explains a failure here too. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "peer: %s%s%s", s.result.msg,
                       s.error != NULL ? "; here: " : "", s.error != NULL ? s.error->message : "");
          g_clear_error (&s.error);
          ok = FALSE;
        }
      else if (s.error != NULL)
        {
          if (s.got_result)
            g_prefix_error (&s.error, "the peer saw the end marker after %" G_GUINT64_FORMAT
                            " of %" G_GUINT64_FORMAT " messages sent so far; here: ",
                            s.result.count, s.seq);
          g_propagate_error (error, s.error);
          ok = FALSE;
        }
      else if (!s.got_result)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no result from the peer (did it die?)");
          ok = FALSE;
        }
    }

  gipc_channel_close (chan, NULL);
  g_object_unref (chan);
  if (!ok)
    {
      peer_explain (&peer, error);
      peer_abort (&peer);
    }
  else
    {
      ok = peer_join (&peer, error);
    }

  if (ok)
    ok = verify_result (&s.result, s.seq, size, error);
  if (ok)
    *value = (gdouble) s.seq / (s.t_end - t0);

  if (s.pool != NULL)
    {
      for (i = 0; i < s.pool_len; i++)
        g_free (s.pool[i]);
      g_free (s.pool);
    }
  g_free (s.scratch);
  return ok;
}

/* --- round trip --------------------------------------------------------- */

typedef enum
{
  RTT_PUSH,
  RTT_RECV_ASYNC,
  RTT_SYNC,
} RttMode;

typedef struct
{
  PeerArgs    *args;
  GipcChannel *chan;
  GMainLoop   *loop;
  PeerResult   result;
} Echo;

static void
echo_end_cb (GObject      *source,
             GAsyncResult *res,
             gpointer      user_data)
{
  Echo *e = user_data;
  GError *error = NULL;

  if (!gipc_channel_send_finish (GIPC_CHANNEL (source), res, &error))
    {
      e->result.failed = 1;
      g_snprintf (e->result.msg, sizeof e->result.msg, "echo: %s", error->message);
      g_error_free (error);
    }
  peer_send_result (e->args, &e->result);
  g_main_loop_quit (e->loop);
}

static void
echo_message_cb (GipcChannel *chan,
                 GBytes      *message,
                 gpointer     user_data)
{
  Echo *e = user_data;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (message, &len);

  if (e->result.failed)
    return;
  if (len == 0)
    {
      gipc_channel_send_async (chan, message, NULL, echo_end_cb, e);
      return;
    }
  if (!check_message (data, len, e->args->size, e->result.count, e->result.msg, sizeof e->result.msg))
    {
      e->result.failed = 1;
      peer_send_result (e->args, &e->result);
      g_main_loop_quit (e->loop);
      return;
    }
  e->result.count++;
  e->result.bytes += len;
  gipc_channel_send_async (chan, message, NULL, NULL, NULL);
}

static void
echo_error_cb (GipcChannel *chan,
               GError      *error,
               gpointer     user_data)
{
  Echo *e = user_data;

  if (e->result.failed)
    return;
  e->result.failed = 1;
  g_snprintf (e->result.msg, sizeof e->result.msg, "echo: %s", error->message);
  peer_send_result (e->args, &e->result);
  g_main_loop_quit (e->loop);
}

static gint
echo_main (PeerArgs *a)
{
  Echo e;
  GMainContext *ctx;

  memset (&e, 0, sizeof e);
  e.args = a;
  e.chan = a->chan;

  if (a->mode == RECV_SYNC)
    {
      peer_ready (a);
      for (;;)
        {
          GError *error = NULL;
          GBytes *message = gipc_channel_receive (e.chan, NULL, &error);
          gsize len = 0;
          const guint8 *data;

          if (message == NULL)
            {
              e.result.failed = 1;
              g_snprintf (e.result.msg, sizeof e.result.msg, "echo: %s", error->message);
              g_error_free (error);
              break;
            }
          data = g_bytes_get_data (message, &len);
          if (len != 0 && !check_message (data, len, a->size, e.result.count, e.result.msg, sizeof e.result.msg))
            {
              e.result.failed = 1;
              g_bytes_unref (message);
              break;
            }
          if (!gipc_channel_send (e.chan, message, NULL, &error))
            {
              e.result.failed = 1;
              g_snprintf (e.result.msg, sizeof e.result.msg, "echo: %s", error->message);
              g_error_free (error);
              g_bytes_unref (message);
              break;
            }
          g_bytes_unref (message);
          if (len == 0)
            break;
          e.result.count++;
          e.result.bytes += len;
        }
      peer_send_result (a, &e.result);
      gipc_channel_close (e.chan, NULL);
      return e.result.failed ? 1 : 0;
    }

  ctx = g_main_context_ref_thread_default ();
  e.loop = g_main_loop_new (ctx, FALSE);
  g_signal_connect (e.chan, "message", G_CALLBACK (echo_message_cb), &e);
  g_signal_connect (e.chan, "error", G_CALLBACK (echo_error_cb), &e);
  gipc_channel_listen (e.chan);
  peer_ready (a);
  g_main_loop_run (e.loop);
  g_signal_handlers_disconnect_by_data (e.chan, &e);
  gipc_channel_close (e.chan, NULL);
  g_main_loop_unref (e.loop);
  g_main_context_unref (ctx);
  return e.result.failed ? 1 : 0;
}

typedef struct
{
  GipcChannel *chan;
  GMainLoop   *loop;
  RttMode      mode;
  guint64      seq;
  gdouble      deadline;
  gdouble      t_last;
  gboolean     stopping;
  gboolean     done;
  GError      *error;
  guint8       buf[8];
} Pinger;

static void
pinger_send (Pinger *p)
{
  GBytes *message;

  stamp_message (p->buf, sizeof p->buf, p->seq);
  message = g_bytes_new (p->buf, sizeof p->buf);
  gipc_channel_send_async (p->chan, message, NULL, NULL, NULL);
  g_bytes_unref (message);
}

static void
pinger_fail (Pinger      *p,
             GError      *error)
{
  if (p->error == NULL)
    p->error = error;
  else
    g_error_free (error);
  p->done = TRUE;
  g_main_loop_quit (p->loop);
}

/* Returns TRUE if another pong is expected. */
static gboolean
pinger_take (Pinger *p,
             GBytes *message)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (message, &len);
  gchar err[200];

  if (len == 0)
    {
      if (!p->stopping)
        pinger_fail (p, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "unexpected empty message"));
      p->done = TRUE;
      g_main_loop_quit (p->loop);
      return FALSE;
    }
  if (p->stopping)
    {
      pinger_fail (p, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "pong after the end marker"));
      return FALSE;
    }
  if (!check_message (data, len, sizeof p->buf, p->seq, err, sizeof err))
    {
      pinger_fail (p, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "pong: %s", err));
      return FALSE;
    }
  p->seq++;
  if ((p->seq & 31) == 0 && (p->t_last = now_s ()) >= p->deadline)
    {
      GBytes *end = g_bytes_new (NULL, 0);

      p->stopping = TRUE;
      gipc_channel_send_async (p->chan, end, NULL, NULL, NULL);
      g_bytes_unref (end);
    }
  else
    {
      pinger_send (p);
    }
  return TRUE;
}

static void
pinger_message_cb (GipcChannel *chan,
                   GBytes      *message,
                   gpointer     user_data)
{
  Pinger *p = user_data;

  if (!p->done)
    pinger_take (p, message);
}

static void
pinger_error_cb (GipcChannel *chan,
                 GError      *error,
                 gpointer     user_data)
{
  Pinger *p = user_data;

  if (!p->done)
    pinger_fail (p, g_error_copy (error));
}

static void
pinger_receive_cb (GObject      *source,
                   GAsyncResult *res,
                   gpointer      user_data)
{
  Pinger *p = user_data;
  GError *error = NULL;
  GBytes *message = gipc_channel_receive_finish (GIPC_CHANNEL (source), res, &error);

  if (message == NULL)
    {
      if (!p->done)
        pinger_fail (p, error);
      else
        g_error_free (error);
      return;
    }
  if (!p->done && pinger_take (p, message))
    gipc_channel_receive_async (p->chan, NULL, pinger_receive_cb, p);
  g_bytes_unref (message);
}

/* Microseconds per round trip. */
static gboolean
gipc_rtt (RttMode    mode,
          gdouble    duration,
          gdouble   *value,
          GError   **error)
{
  PeerArgs a;
  Peer peer;
  Pinger p;
  PeerResult result;
  GipcChannel *chan = NULL;
  gdouble t0;
  gboolean ok = TRUE;

  memset (&a, 0, sizeof a);
  a.func = echo_main;
  a.size = 8;
  a.mode = mode == RTT_SYNC ? RECV_SYNC : RECV_PUSH;
  if (!peer_launch (&peer, &a, TRUE, &chan, error))
    return FALSE;

  memset (&p, 0, sizeof p);
  p.chan = chan;
  p.mode = mode;

  if (mode == RTT_SYNC)
    {
      t0 = now_s ();
      p.deadline = t0 + duration;
      for (;;)
        {
          GBytes *message;
          gsize len = 0;
          const guint8 *data;
          gchar err[200];

          stamp_message (p.buf, sizeof p.buf, p.seq);
          message = g_bytes_new (p.buf, sizeof p.buf);
          ok = gipc_channel_send (chan, message, NULL, error);
          g_bytes_unref (message);
          if (!ok)
            break;
          message = gipc_channel_receive (chan, NULL, error);
          if (message == NULL)
            {
              ok = FALSE;
              break;
            }
          data = g_bytes_get_data (message, &len);
          ok = check_message (data, len, sizeof p.buf, p.seq, err, sizeof err);
          g_bytes_unref (message);
          if (!ok)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "pong: %s", err);
              break;
            }
          p.seq++;
          if ((p.seq & 31) == 0 && (p.t_last = now_s ()) >= p.deadline)
            break;
        }
      if (ok)
        {
          GBytes *end = g_bytes_new (NULL, 0);
          GBytes *back;

          ok = gipc_channel_send (chan, end, NULL, error);
          g_bytes_unref (end);
          back = ok ? gipc_channel_receive (chan, NULL, error) : NULL;
          if (back == NULL)
            ok = FALSE;
          else if (g_bytes_get_size (back) != 0)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the end marker came back with %"
                           G_GSIZE_FORMAT " bytes", g_bytes_get_size (back));
              ok = FALSE;
            }
          g_clear_pointer (&back, g_bytes_unref);
        }
    }
  else
    {
      p.loop = g_main_loop_new (NULL, FALSE);
      if (mode == RTT_PUSH)
        {
          g_signal_connect (chan, "message", G_CALLBACK (pinger_message_cb), &p);
          g_signal_connect (chan, "error", G_CALLBACK (pinger_error_cb), &p);
          gipc_channel_listen (chan);
        }
      else
        {
          gipc_channel_receive_async (chan, NULL, pinger_receive_cb, &p);
        }
      t0 = now_s ();
      p.deadline = t0 + duration;
      pinger_send (&p);
      g_main_loop_run (p.loop);
      g_signal_handlers_disconnect_by_data (chan, &p);
      g_main_loop_unref (p.loop);
      if (p.error != NULL)
        {
          g_propagate_error (error, p.error);
          ok = FALSE;
        }
    }

  if (ok)
    ok = peer_read_result (&peer, &result, error);
  gipc_channel_close (chan, NULL);
  g_object_unref (chan);
  if (!ok)
    {
      peer_explain (&peer, error);
      peer_abort (&peer);
    }
  else
    {
      ok = peer_join (&peer, error);
    }
  if (ok)
    ok = verify_result (&result, p.seq, 8, error);
  if (ok)
    *value = (p.t_last - t0) / (gdouble) p.seq * 1e6;
  return ok;
}

/* --- process start ------------------------------------------------------ */

typedef enum
{
  START_FORK,
  START_SPAWN,
  START_FORK_AGED,    /* after 10^7 sources were created (issue 8) */
  START_SPAWN_AGED,
  START_FORK_SANDBOXED,   /* NO_NETWORK | NO_FILESYSTEM (issue 11) */
  START_SPAWN_SANDBOXED,
  START_SERVER,           /* through a GipcForkServer (issue 13) */
  START_SERVER_BUSY,      /* ... with 4 threads churning malloc, GObjects, idles */
  START_SERVER_AGED,      /* ... after 10^7 sources */
  START_SERVER_SANDBOXED, /* ... NO_NETWORK | NO_FILESYSTEM (issue 23) */
} StartMode;

/* Started first thing in main, before any thread (NULL if that failed:
 * the server rows then fail with the reason). */
static GipcForkServer *bench_server;
static gchar *bench_server_error;

static gint
trivial_server_target (GipcProcess *process,
                       GVariant    *args,
                       gpointer     user_data)
{
  return 7;
}

/* The server: this program's only child right after the start. It must run where
 * the placement puts the program, as fork-mode children do, or the start
 * rows compare different placements. */
static pid_t bench_server_pid;

static pid_t
find_only_child (void)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/self/task/%d/children", (int) getpid ());
  g_autofree gchar *text = NULL;
  gchar *end = NULL;
  gint64 pid;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  pid = g_ascii_strtoll (text, &end, 10);
  if (end == text || pid <= 0 || g_ascii_strtoll (end, NULL, 10) != 0)
    return 0;
  return (pid_t) pid;
}

static void
start_bench_server (void)
{
  GError *error = NULL;

  bench_server = gipc_fork_server_new ();
  gipc_fork_server_add_target (bench_server, "trivial", trivial_server_target, NULL, NULL);
  if (!gipc_fork_server_start (bench_server, &error))
    {
      bench_server_error = g_strdup (error->message);
      g_clear_error (&error);
      g_clear_object (&bench_server);
      return;
    }
  bench_server_pid = find_only_child ();
}

/* The busy threads of START_SERVER_BUSY. In the one-CPU placement they run
 * on the other CPU, as a program's threads run on other cores than the
 * one that starts a child; in the split one they share the CPUs, at
 * SCHED_IDLE (busy whenever a CPU is free, without taking one from the
 * server, the child or the starting thread: at the normal policy, four
 * threads on two CPUs would measure the scheduler's share, not the start).
 * Parked (sleeping) for every other start, so that the row compares starts
 * with and without them under the same load of the machine. */
static gint busy_cpu = -1;
static gint busy_stop;
static gint busy_parked;
static gint busy_sched_idle;
static GMutex busy_lock;
static GCond busy_cond;

static void
set_busy_parked (gboolean parked)
{
  g_mutex_lock (&busy_lock);
  g_atomic_int_set (&busy_parked, parked);
  g_cond_broadcast (&busy_cond);
  g_mutex_unlock (&busy_lock);
}

static gboolean
busy_idle_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static gpointer
busy_thread_cb (gpointer data)
{
  GMainContext *context = g_main_context_new ();
  struct sched_param param = { 0 };

  if (busy_cpu >= 0)
    {
      cpu_set_t set;

      cpu_set_of (busy_cpu, -1, &set);
      (void) sched_setaffinity (0, sizeof set, &set);
    }
  if (pthread_setschedparam (pthread_self (), SCHED_IDLE, &param) == 0)
    g_atomic_int_inc (&busy_sched_idle);
  g_main_context_push_thread_default (context);
  while (!g_atomic_int_get (&busy_stop))
    {
      GObject *object;
      gpointer block;
      GSource *idle;

      if (g_atomic_int_get (&busy_parked))
        {
          g_mutex_lock (&busy_lock);
          while (g_atomic_int_get (&busy_parked) && !g_atomic_int_get (&busy_stop))
            g_cond_wait (&busy_cond, &busy_lock);
          g_mutex_unlock (&busy_lock);
          continue;
        }
      object = g_object_new (G_TYPE_OBJECT, NULL);
      block = g_malloc (64 + (g_random_int () % 4096));
      idle = g_idle_source_new ();
      g_source_set_callback (idle, busy_idle_cb, NULL, NULL);
      g_source_attach (idle, context);
      g_source_unref (idle);
      g_main_context_iteration (context, FALSE);
      g_free (block);
      g_object_unref (object);
    }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

/* The sandbox of the sandboxed rows: a decoder's. BEST_EFFORT, so that a
 * kernel without Landlock measures what it can instead of failing. */
#define BENCH_SANDBOX (GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_NO_FILESYSTEM | \
                       GIPC_SANDBOX_FLAGS_BEST_EFFORT)
/* The goal of issues 11 and 23: at most this much more than an
 * unsandboxed start, in every mode. */
#define SANDBOX_GOAL_US 300.0
/* The goal of issue 13: a start through the server costs the same with
 * busy threads in the program (within this, for the machine's noise). */
#define BUSY_GOAL_PERCENT 10.0

#define AGE_SOURCES 10000000

/* A long-running program: 10^7 sources created and destroyed over its
 * life (every GIO async call, GTask return, idle makes one). Done once,
 * before the first aged measure; the aged rows come last. */
static void
age_program (void)
{
  static gboolean aged;
  guint i;

  if (aged)
    return;
  aged = TRUE;

  alarm (0);
  for (i = 0; i < AGE_SOURCES; i++)
    {
      GSource *source = g_idle_source_new ();

      g_source_attach (source, NULL);
      g_source_destroy (source);
      g_source_unref (source);
    }
  alarm (watchdog_s);
}

static gint
trivial_target (GipcProcess *process,
                gpointer     user_data)
{
  return 7;
}

/* Microseconds per start + join. The sandboxed modes alternate sandboxed
 * and unsandboxed starts (so that a change of the machine's load hits
 * both alike), give the sandboxed mean and put the difference in @note. */
static gboolean
gipc_start (StartMode   mode,
            gdouble     duration,
            gdouble    *value,
            gchar     **note,
            GError    **error)
{
  static const gchar * const argv[] = { "/bin/true", NULL };
  gboolean sandboxed = mode == START_FORK_SANDBOXED || mode == START_SPAWN_SANDBOXED ||
                       mode == START_SERVER_SANDBOXED;
  gboolean busy_mode = mode == START_SERVER_BUSY;
  gboolean paired = sandboxed || busy_mode;
  gdouble spent[2] = { 0, 0 };
  guint counts[2] = { 0, 0 };
  gdouble t0, t1;
  guint n = 0;

  GThread *busy[4] = { NULL, NULL, NULL, NULL };
  gboolean ok = TRUE;
  guint k;

  if (mode == START_FORK_AGED || mode == START_SPAWN_AGED || mode == START_SERVER_AGED)
    {
      age_program ();
      mode = mode == START_FORK_AGED ? START_FORK : mode == START_SPAWN_AGED ? START_SPAWN : START_SERVER;
    }
  if (mode == START_SERVER_BUSY)
    {
      g_atomic_int_set (&busy_stop, 0);
      g_atomic_int_set (&busy_parked, 1);
      g_atomic_int_set (&busy_sched_idle, 0);
      busy_cpu = -1;
      if (cur_place->self_cpu == cur_place->peer_cpu && cpu_second >= 0)
        busy_cpu = cpu_second != cur_place->self_cpu ? cpu_second : cpu_first;
      for (k = 0; k < G_N_ELEMENTS (busy); k++)
        busy[k] = g_thread_new ("bench-busy", busy_thread_cb, NULL);
      mode = START_SERVER;
    }
  if (sandboxed)
    mode = mode == START_FORK_SANDBOXED ? START_FORK
           : mode == START_SPAWN_SANDBOXED ? START_SPAWN : START_SERVER;
  if (mode == START_SERVER && bench_server == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no fork server: %s",
                   bench_server_error != NULL ? bench_server_error : "not started");
      ok = FALSE;
      goto out;
    }
  t0 = now_s ();

  for (;;)
    {
      GipcProcess *proc;
      gint want = mode == START_SPAWN ? 0 : 7;
      gboolean variant = paired && n % 2 == 1;
      gboolean with_sandbox = sandboxed && variant;
      gdouble t_start;
      gint code;

      t1 = now_s ();
      if (n >= (paired ? 6 : 3) && t1 - t0 >= duration && (!paired || n % 2 == 0))
        break;
      if (busy_mode)
        {
          /* Woken (or stopped) within one of their iterations. */
          set_busy_parked (!variant);
        }
      t_start = now_s ();
      if (mode == START_FORK)
        {
          proc = gipc_process_new (trivial_target, NULL, NULL);
          gipc_process_set_warn_if_threaded (proc, FALSE);
        }
      else if (mode == START_SERVER)
        proc = gipc_process_new_for_target (bench_server, "trivial", NULL);
      else if ((proc = gipc_process_new_for_argv (argv, error)) == NULL)
        {
          ok = FALSE;
          goto out;
        }
      if (with_sandbox)
        gipc_process_set_sandbox (proc, BENCH_SANDBOX);
      if (!gipc_process_start (proc, error) ||
          !gipc_process_join (proc, (gint) watchdog_s * 1000, error))
        {
          g_object_unref (proc);
          ok = FALSE;
          goto out;
        }
      code = gipc_process_get_exit_code (proc);
      g_object_unref (proc);
      /* Let the start context run, as a program returning to its main
       * loop does. (Since issue 8 a join reaps and the dropped process
       * leaves nothing there; before, every later fork got slower
       * without this.) */
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (code != want)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the child exited with %d, expected %d", code, want);
          ok = FALSE;
          goto out;
        }
      spent[variant ? 1 : 0] += now_s () - t_start;
      counts[variant ? 1 : 0]++;
      n++;
    }
  if (busy_mode)
    {
      gdouble quiet = spent[0] / counts[0] * 1e6;
      gdouble busy_us = spent[1] / counts[1] * 1e6;

      *value = busy_us;
      if (busy_cpu >= 0)
        *note = g_strdup_printf ("threads on the other CPU; %+.0f %% over the same starts with "
                                 "the threads parked (%.0f µs)%s; goal ≤ %+.0f %%: %s",
                                 (busy_us / quiet - 1) * 100, quiet,
                                 g_atomic_int_get (&busy_sched_idle) == (gint) G_N_ELEMENTS (busy) ? "" :
                                 ", SCHED_IDLE refused",
                                 BUSY_GOAL_PERCENT,
                                 busy_us / quiet - 1 <= BUSY_GOAL_PERCENT / 100 ? "met" : "MISSED");
      else
        /* No CPU to spare: the start shares its CPUs with the threads,
         * which slows any work (no goal). */
        *note = g_strdup_printf ("threads on the same CPUs; %+.0f %% over the same starts with "
                                 "the threads parked (%.0f µs)%s",
                                 (busy_us / quiet - 1) * 100, quiet,
                                 g_atomic_int_get (&busy_sched_idle) == (gint) G_N_ELEMENTS (busy) ? "" :
                                 ", SCHED_IDLE refused");
      goto out;
    }
  if (sandboxed)
    {
      gdouble plain = spent[0] / counts[0] * 1e6;
      gdouble boxed = spent[1] / counts[1] * 1e6;

      *value = boxed;
      *note = g_strdup_printf ("%+.0f µs over unsandboxed %.0f µs; goal ≤ %+.0f µs: %s",
                               boxed - plain, plain, SANDBOX_GOAL_US,
                               boxed - plain <= SANDBOX_GOAL_US ? "met" : "MISSED");
      return TRUE;
    }
  *value = (t1 - t0) / n * 1e6;

out:
  g_atomic_int_set (&busy_stop, 1);
  set_busy_parked (FALSE);
  for (k = 0; k < G_N_ELEMENTS (busy); k++)
    if (busy[k] != NULL)
      g_thread_join (busy[k]);
  return ok;
}

/* --- raw baselines ------------------------------------------------------ */

static pid_t
raw_fork (int ctl[2])
{
  pid_t pid;

  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid < 0)
    g_error ("fork: %s", g_strerror (errno));
  if (pid == 0)
    {
      close (ctl[0]);
      pin_this_thread (cur_place->peer_cpu);
      alarm (watchdog_s);
    }
  else
    {
      close (ctl[1]);
    }
  return pid;
}

/* Reads one frame of at most 4 + @size bytes, in one read() when the whole
 * frame is there. Returns the payload length, 0 for the end marker, -1 on
 * error. */
static gssize
raw_read_frame (int     fd,
                guint8 *buf,
                gsize   size)
{
  gsize frame = 4 + size, got = 0;

  while (got < frame)
    {
      gssize n = read (fd, buf + got, frame - got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      got += (gsize) n;
      if (got >= 4 && get_be32 (buf) == 0)
        return got == 4 ? 0 : -1;
    }
  return get_be32 (buf) == size ? (gssize) size : -1;
}

static void G_GNUC_NORETURN
raw_receiver (int   fd,
              int   ctl,
              gsize size,
              int   echo_fd)
{
  guint8 *buf = g_malloc (4 + size);
  PeerResult r;

  memset (&r, 0, sizeof r);
  if (!write_full (ctl, "R", 1))
    _exit (5);
  for (;;)
    {
      gssize len = raw_read_frame (fd, buf, size);

      if (len < 0)
        {
          r.failed = 1;
          g_snprintf (r.msg, sizeof r.msg, "raw receiver: bad frame or early end after %"
                      G_GUINT64_FORMAT " messages", r.count);
          break;
        }
      if (echo_fd >= 0 && !write_full (echo_fd, buf, 4 + (gsize) len))
        {
          r.failed = 1;
          g_snprintf (r.msg, sizeof r.msg, "raw echo: write: %s", g_strerror (errno));
          break;
        }
      if (len == 0)
        break;
      if (!check_message (buf + 4, (gsize) len, size, r.count, r.msg, sizeof r.msg))
        {
          r.failed = 1;
          break;
        }
      r.count++;
      r.bytes += (guint64) len;
    }
  write_full (ctl, &r, sizeof r);
  _exit (r.failed ? 1 : 0);
}

static gboolean
raw_wait (pid_t    pid,
          GError **error)
{
  int status = 0;

  if (waitpid (pid, &status, 0) < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "raw peer failed (status 0x%x)", (guint) status);
      return FALSE;
    }
  return TRUE;
}

static gboolean
raw_read_result (int          ctl,
                 PeerResult  *r,
                 GError     **error)
{
  char ready = 0;

  if (r == NULL)
    {
      if (!wait_readable (ctl, READY_TIMEOUT_S) || read_full (ctl, &ready, 1) != 1 || ready != 'R')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the raw peer did not start");
          return FALSE;
        }
      return TRUE;
    }
  if (!wait_readable (ctl, (gint) watchdog_s) || read_full (ctl, r, sizeof *r) != (gssize) sizeof *r)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no result from the raw peer");
      return FALSE;
    }
  r->msg[sizeof r->msg - 1] = '\0';
  return TRUE;
}

/* Messages per second, blocking write() of one whole frame per message. */
static gboolean
raw_oneway (gsize     size,
            gdouble   duration,
            gdouble  *value,
            GError  **error)
{
  int p[2], ctl[2];
  pid_t pid;
  guint8 *buf;
  guint8 end[4] = { 0, 0, 0, 0 };
  guint64 n = 0;
  guint64 mask = size >= 4096 ? 0 : 63;
  gdouble t0, t1, deadline;
  PeerResult r;
  gboolean ok;

  if (pipe2 (p, O_CLOEXEC) < 0 || pipe2 (ctl, O_CLOEXEC) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "pipe: %s", g_strerror (errno));
      return FALSE;
    }
  pid = raw_fork (ctl);
  if (pid == 0)
    {
      close (p[1]);
      raw_receiver (p[0], ctl[1], size, -1);
    }
  close (p[0]);
  buf = g_malloc (4 + size);
  put_be32 (buf, (guint32) size);
  memcpy (buf + 4, pattern, size);

  ok = raw_read_result (ctl[0], NULL, error);
  t0 = now_s ();
  deadline = t0 + duration;
  while (ok)
    {
      if ((n & mask) == 0 && now_s () >= deadline)
        break;
      stamp_message (buf + 4, size, n);
      if (!write_full (p[1], buf, 4 + size))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "write: %s", g_strerror (errno));
          ok = FALSE;
        }
      n++;
    }
  if (ok)
    ok = write_full (p[1], end, 4) && raw_read_result (ctl[0], &r, error);
  t1 = now_s ();
  close (p[1]);
  close (ctl[0]);
  g_free (buf);
  if (!raw_wait (pid, ok ? error : NULL))
    ok = FALSE;
  if (ok)
    ok = verify_result (&r, n, size, error);
  if (ok)
    *value = (gdouble) n / (t1 - t0);
  return ok;
}

/* Microseconds per 8 B round trip: write() one frame, read() it back. */
static gboolean
raw_rtt (gdouble    duration,
         gdouble   *value,
         GError   **error)
{
  int down[2], up[2], ctl[2];
  pid_t pid;
  guint8 buf[12], back[12];
  guint8 end[4] = { 0, 0, 0, 0 };
  guint64 n = 0;
  gdouble t0, t_last = 0, deadline;
  PeerResult r;
  gboolean ok;

  if (pipe2 (down, O_CLOEXEC) < 0 || pipe2 (up, O_CLOEXEC) < 0 || pipe2 (ctl, O_CLOEXEC) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "pipe: %s", g_strerror (errno));
      return FALSE;
    }
  pid = raw_fork (ctl);
  if (pid == 0)
    {
      close (down[1]);
      close (up[0]);
      raw_receiver (down[0], ctl[1], 8, up[1]);
    }
  close (down[0]);
  close (up[1]);
  put_be32 (buf, 8);

  ok = raw_read_result (ctl[0], NULL, error);
  t0 = now_s ();
  deadline = t0 + duration;
  while (ok)
    {
      stamp_message (buf + 4, 8, n);
      if (!write_full (down[1], buf, sizeof buf) || read_full (up[0], back, sizeof back) != sizeof back)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "raw ping: %s", g_strerror (errno));
          ok = FALSE;
          break;
        }
      if (memcmp (buf, back, sizeof buf) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "raw pong %" G_GUINT64_FORMAT " differs", n);
          ok = FALSE;
          break;
        }
      n++;
      if ((n & 31) == 0 && (t_last = now_s ()) >= deadline)
        break;
    }
  if (ok)
    ok = write_full (down[1], end, 4) && read_full (up[0], back, 4) == 4 &&
         get_be32 (back) == 0 && raw_read_result (ctl[0], &r, error);
  close (down[1]);
  close (up[0]);
  close (ctl[0]);
  if (!raw_wait (pid, ok ? error : NULL))
    ok = FALSE;
  if (ok)
    ok = verify_result (&r, n, 8, error);
  if (ok)
    *value = (t_last - t0) / (gdouble) n * 1e6;
  return ok;
}

/* Microseconds per fork() + _exit() + waitpid(), or fork + exec /bin/true. */
static gboolean
raw_start (StartMode   mode,
           gdouble     duration,
           gdouble    *value,
           GError    **error)
{
  static char * const argv[] = { (char *) "/bin/true", NULL };
  gdouble t0 = now_s (), t1;
  guint n = 0;

  for (;;)
    {
      pid_t pid;
      int status = 0;
      int want = mode == START_FORK ? 7 : 0;

      t1 = now_s ();
      if (n >= 3 && t1 - t0 >= duration)
        break;
      pid = fork ();
      if (pid < 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "fork: %s", g_strerror (errno));
          return FALSE;
        }
      if (pid == 0)
        {
          if (mode == START_FORK)
            _exit (7);
          execv (argv[0], argv);
          _exit (127);
        }
      if (waitpid (pid, &status, 0) < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != want)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "raw child status 0x%x", (guint) status);
          return FALSE;
        }
      n++;
    }
  *value = (t1 - t0) / n * 1e6;
  return TRUE;
}

/* --- the table ---------------------------------------------------------- */

typedef enum
{
  UNIT_RATE,
  UNIT_MBPS,
  UNIT_USEC,
} Unit;

typedef enum
{
  KIND_ONEWAY,
  KIND_RTT,
  KIND_START,
  KIND_RAW_ONEWAY,
  KIND_RAW_RTT,
  KIND_RAW_START,
  KIND_ECHO_LARGE,
  KIND_RAW_ECHO_LARGE,
} Kind;

typedef enum
{
  GOAL_NONE,
  GOAL_AT_LEAST,
  GOAL_AT_MOST,
} GoalKind;

typedef struct
{
  const gchar *key;
  const gchar *label;
  const gchar *raw_key;
  Kind         kind;
  Unit         unit;
  gsize        size;
  gint         mode;      /* RecvMode, RttMode or StartMode */
  SendMode     send;
  const gchar *batched;   /* naive rows: the row whose rate sizes N */
  GoalKind     goal[2];   /* per placement: one CPU, two CPUs */
  gdouble      goal_val[2];
  GipcPipeFlags transport; /* GIPC_PIPE_FLAGS_UNIX_FDS: the socket transport */
} Row;

#define ONEWAY_ROWS(SZ, G64) \
  { "oneway-" #SZ "-push", #SZ " B one-way msgs/s, push (listen), batched send_async", "raw-oneway-" #SZ, \
    KIND_ONEWAY, UNIT_RATE, SZ, RECV_PUSH, SEND_BATCHED, NULL, \
    { (G64) ? GOAL_AT_LEAST : GOAL_NONE, GOAL_NONE }, { 2.0, 0 } }, \
  { "oneway-" #SZ "-recv", #SZ " B one-way msgs/s, receive_async, batched send_async", "raw-oneway-" #SZ, \
    KIND_ONEWAY, UNIT_RATE, SZ, RECV_ASYNC, SEND_BATCHED, NULL, \
    { (G64) ? GOAL_AT_LEAST : GOAL_NONE, GOAL_NONE }, { 0.7, 0 } }, \
  { "oneway-" #SZ "-naive-push", #SZ " B one-way msgs/s, push, N send_async in one go", "raw-oneway-" #SZ, \
    KIND_ONEWAY, UNIT_RATE, SZ, RECV_PUSH, SEND_NAIVE, "oneway-" #SZ "-push", \
    { GOAL_NONE, GOAL_NONE }, { 0, 0 } }, \
  { "oneway-" #SZ "-naive-recv", #SZ " B one-way msgs/s, receive_async, N send_async in one go", "raw-oneway-" #SZ, \
    KIND_ONEWAY, UNIT_RATE, SZ, RECV_ASYNC, SEND_NAIVE, "oneway-" #SZ "-push", \
    { GOAL_NONE, GOAL_NONE }, { 0, 0 } }

static const Row rows[] = {
  ONEWAY_ROWS (8, FALSE),
  ONEWAY_ROWS (64, TRUE),
  { "oneway-64-sync", "64 B one-way msgs/s, sync send / sync receive", "raw-oneway-64",
    KIND_ONEWAY, UNIT_RATE, 64, RECV_SYNC, SEND_SYNC, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  ONEWAY_ROWS (1024, FALSE),
  { "mbps-push", "1 MiB messages MB/s, push, send_async", "raw-mbps",
    KIND_ONEWAY, UNIT_MBPS, LARGE_SIZE, RECV_PUSH, SEND_BATCHED, NULL,
    { GOAL_AT_LEAST, GOAL_AT_LEAST }, { 0.8, 1.0 } },
  { "mbps-recv", "1 MiB messages MB/s, receive_async, send_async", "raw-mbps",
    KIND_ONEWAY, UNIT_MBPS, LARGE_SIZE, RECV_ASYNC, SEND_BATCHED, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "mbps-sync", "1 MiB messages MB/s, sync send / sync receive", "raw-mbps",
    KIND_ONEWAY, UNIT_MBPS, LARGE_SIZE, RECV_SYNC, SEND_SYNC, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "rtt-push", "8 B round trip µs, async, push (listen) on both sides", "raw-rtt",
    KIND_RTT, UNIT_USEC, 8, RTT_PUSH, 0, NULL, { GOAL_AT_MOST, GOAL_NONE }, { 2.2, 0 } },
  { "rtt-recv", "8 B round trip µs, async, receive_async / send_async", "raw-rtt",
    KIND_RTT, UNIT_USEC, 8, RTT_RECV_ASYNC, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "rtt-sync", "8 B round trip µs, sync send + receive", "raw-rtt",
    KIND_RTT, UNIT_USEC, 8, RTT_SYNC, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "echo-256m-pipe", "256 MiB message echoed µs, sync, pipe channel", "raw-echo-256m",
    KIND_ECHO_LARGE, UNIT_USEC, 0, 0, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "echo-256m-shm", "256 MiB message echoed µs, sync, UNIX_FDS channel, shared memory", "raw-echo-256m",
    KIND_ECHO_LARGE, UNIT_USEC, 0, 1, 0, NULL, { GOAL_AT_MOST, GOAL_AT_MOST }, { 0.1, 0.1 },
    GIPC_PIPE_FLAGS_UNIX_FDS },
  /* The socket transport (UNIX_FDS channels) against the pipe rows above. */
  { "sock-oneway-64-push", "64 B one-way msgs/s, push, UNIX_FDS socket channel", "raw-oneway-64",
    KIND_ONEWAY, UNIT_RATE, 64, RECV_PUSH, SEND_BATCHED, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 },
    GIPC_PIPE_FLAGS_UNIX_FDS },
  { "sock-oneway-64-recv", "64 B one-way msgs/s, receive_async, UNIX_FDS socket channel", "raw-oneway-64",
    KIND_ONEWAY, UNIT_RATE, 64, RECV_ASYNC, SEND_BATCHED, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 },
    GIPC_PIPE_FLAGS_UNIX_FDS },
  { "sock-mbps-push", "1 MiB messages MB/s, push, UNIX_FDS socket channel (no shared memory)", "raw-mbps",
    KIND_ONEWAY, UNIT_MBPS, LARGE_SIZE, RECV_PUSH, SEND_BATCHED, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 },
    GIPC_PIPE_FLAGS_UNIX_FDS },
  { "sock-rtt-push", "8 B round trip µs, push on both sides, UNIX_FDS socket channel", "raw-rtt",
    KIND_RTT, UNIT_USEC, 8, RTT_PUSH, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 },
    GIPC_PIPE_FLAGS_UNIX_FDS },
  { "sock-rtt-sync", "8 B round trip µs, sync send + receive, UNIX_FDS socket channel", "raw-rtt",
    KIND_RTT, UNIT_USEC, 8, RTT_SYNC, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 },
    GIPC_PIPE_FLAGS_UNIX_FDS },
  { "start-fork", "child start+join µs, fork mode (gipc_process_new)", "raw-fork",
    KIND_START, UNIT_USEC, 0, START_FORK, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "start-spawn", "child start+join µs, spawn /bin/true (new_for_argv)", "raw-exec",
    KIND_START, UNIT_USEC, 0, START_SPAWN, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "start-fork-sandboxed", "child start+join µs, fork mode, sandbox NO_NETWORK + NO_FILESYSTEM", "raw-fork",
    KIND_START, UNIT_USEC, 0, START_FORK_SANDBOXED, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "start-spawn-sandboxed", "child start+join µs, spawn /bin/true, sandbox NO_NETWORK + NO_FILESYSTEM", "raw-exec",
    KIND_START, UNIT_USEC, 0, START_SPAWN_SANDBOXED, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "start-server", "child start+join µs, fork server (new_for_target)", "raw-fork",
    KIND_START, UNIT_USEC, 0, START_SERVER, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "start-server-sandboxed", "child start+join µs, fork server, sandbox NO_NETWORK + NO_FILESYSTEM", "raw-fork",
    KIND_START, UNIT_USEC, 0, START_SERVER_SANDBOXED, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "start-busy-server", "child start+join µs, fork server, 4 SCHED_IDLE threads churning malloc/GObjects/idles", "raw-fork",
    KIND_START, UNIT_USEC, 0, START_SERVER_BUSY, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  /* Last: they age the program for every later measure. */
  { "start-aged-fork", "child start+join µs, fork mode, after 10^7 sources", "raw-fork",
    KIND_START, UNIT_USEC, 0, START_FORK_AGED, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "start-aged-spawn", "child start+join µs, spawn /bin/true, after 10^7 sources", "raw-exec",
    KIND_START, UNIT_USEC, 0, START_SPAWN_AGED, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
  { "start-aged-server", "child start+join µs, fork server, after 10^7 sources", "raw-fork",
    KIND_START, UNIT_USEC, 0, START_SERVER_AGED, 0, NULL, { GOAL_NONE, GOAL_NONE }, { 0, 0 } },
};

static const Row raw_rows[] = {
  { "raw-oneway-8", "raw pipe, 8 B one-way", NULL, KIND_RAW_ONEWAY, UNIT_RATE, 8, 0, 0, NULL, { 0, 0 }, { 0, 0 } },
  { "raw-oneway-64", "raw pipe, 64 B one-way", NULL, KIND_RAW_ONEWAY, UNIT_RATE, 64, 0, 0, NULL, { 0, 0 }, { 0, 0 } },
  { "raw-oneway-1024", "raw pipe, 1024 B one-way", NULL, KIND_RAW_ONEWAY, UNIT_RATE, 1024, 0, 0, NULL, { 0, 0 }, { 0, 0 } },
  { "raw-mbps", "raw pipe, 1 MiB one-way", NULL, KIND_RAW_ONEWAY, UNIT_MBPS, LARGE_SIZE, 0, 0, NULL, { 0, 0 }, { 0, 0 } },
  { "raw-rtt", "raw pipes, 8 B round trip", NULL, KIND_RAW_RTT, UNIT_USEC, 8, 0, 0, NULL, { 0, 0 }, { 0, 0 } },
  { "raw-echo-256m", "raw pipes, 256 MiB written, read back, echoed", NULL, KIND_RAW_ECHO_LARGE, UNIT_USEC, 0, 0, 0, NULL, { 0, 0 }, { 0, 0 } },
  { "raw-fork", "fork + _exit + waitpid", NULL, KIND_RAW_START, UNIT_USEC, 0, START_FORK, 0, NULL, { 0, 0 }, { 0, 0 } },
  { "raw-exec", "fork + exec /bin/true + waitpid", NULL, KIND_RAW_START, UNIT_USEC, 0, START_SPAWN, 0, NULL, { 0, 0 }, { 0, 0 } },
};

typedef struct
{
  gdouble  value;     /* best of the runs; NAN if not run */
  gboolean failed;
  gchar   *note;
} Outcome;

static Outcome outcomes[2][G_N_ELEMENTS (rows)];
static Outcome raw_outcomes[2][G_N_ELEMENTS (raw_rows)];
static guint place_index;
static gboolean any_failed;

static gboolean
row_selected (const gchar *key)
{
  gchar **p;

  if (opt_only == NULL)
    return TRUE;
  for (p = opt_only; *p != NULL; p++)
    {
      if (strchr (*p, '*') != NULL || strchr (*p, '?') != NULL)
        {
          if (g_pattern_match_simple (*p, key))
            return TRUE;
        }
      else if (strstr (key, *p) != NULL)
        {
          return TRUE;
        }
    }
  return FALSE;
}

static const Row *
find_row (const Row   *table,
          gsize        n,
          const gchar *key,
          guint       *index)
{
  gsize i;

  for (i = 0; i < n; i++)
    if (g_str_equal (table[i].key, key))
      {
        *index = (guint) i;
        return &table[i];
      }
  return NULL;
}

static gboolean
better (Unit    unit,
        gdouble a,
        gdouble b)
{
  if (isnan (b))
    return TRUE;
  return unit == UNIT_USEC ? a < b : a > b;
}

static guint64
naive_count (const Row *row)
{
  guint index;
  gdouble rate = 0;
  guint64 n;

  if (row->batched != NULL && find_row (rows, G_N_ELEMENTS (rows), row->batched, &index) != NULL &&
      !isnan (outcomes[place_index][index].value))
    rate = outcomes[place_index][index].value;
  if (rate <= 0)
    rate = 1e6;
  n = (guint64) (rate * rep_duration);
  n = MIN (n, NAIVE_MAX);
  n = MIN (n, NAIVE_MAX_BYTES / (row->size + 4));
  if (opt_quick)
    n = MIN (n, 5000);
  return MAX (n, 100);
}


/* ------------------------------------------------------------------ */
/* A 256 MiB message echoed: through a pipe channel (copied into and out
 * of the pipe, both ways) and as shared memory on a UNIX_FDS channel
 * (sealed in place, mapped by the child, sent back as the same memfd).
 * The data are checked after each echo, outside the timing. */

#define ECHO_SIZE (256 * 1024 * 1024)

static void
fill_echo (guint8  *data,
           gsize    size,
           guint64  seed)
{
  guint64 *words = (guint64 *) data;

  for (gsize i = 0; i < size / 8; i++)
    words[i] = (i + seed) * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
}

static gboolean
check_echo (GBytes   *bytes,
            guint64   seed,
            GError  **error)
{
  gsize size = 0;
  const guint64 *words = g_bytes_get_data (bytes, &size);

  if (size != ECHO_SIZE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "the echo has %" G_GSIZE_FORMAT " bytes", size);
      return FALSE;
    }
  for (gsize i = 0; i < size / 8; i++)
    if (words[i] != (i + seed) * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15))
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "the echo differs at byte %" G_GSIZE_FORMAT, i * 8);
        return FALSE;
      }
  return TRUE;
}

/* The child: sends every message back as it came, until an empty one. */
static gint
echo_large_main (PeerArgs *a)
{
  PeerResult result;

  memset (&result, 0, sizeof result);
  peer_ready (a);
  for (;;)
    {
      GError *error = NULL;
      GBytes *message = gipc_channel_receive (a->chan, NULL, &error);
      gsize len;

      if (message == NULL || !gipc_channel_send (a->chan, message, NULL, &error))
        {
          result.failed = 1;
          g_snprintf (result.msg, sizeof result.msg, "echo: %s", error->message);
          g_error_free (error);
          g_clear_pointer (&message, g_bytes_unref);
          break;
        }
      len = g_bytes_get_size (message);
      g_bytes_unref (message);
      if (len == 0)
        break;
      result.count++;
      result.bytes += len;
    }
  peer_send_result (a, &result);
  gipc_channel_close (a->chan, NULL);
  return result.failed ? 1 : 0;
}

static gboolean
gipc_echo_large (gboolean   shared,
                 gdouble    duration,
                 gdouble   *value,
                 GError   **error)
{
  PeerArgs a;
  Peer peer;
  PeerResult result;
  GipcChannel *chan = NULL;
  gdouble total = 0, deadline;
  guint64 n = 0;
  gboolean ok = TRUE;

  memset (&a, 0, sizeof a);
  a.func = echo_large_main;
  a.size = ECHO_SIZE;
  bench_shm_threshold = shared ? GIPC_CHANNEL_DEFAULT_SHARED_MEMORY_THRESHOLD : 0;
  ok = peer_launch (&peer, &a, TRUE, &chan, error);
  bench_shm_threshold = 0;
  if (!ok)
    return FALSE;

  deadline = now_s () + duration;
  do
    {
      g_autoptr(GBytes) message = NULL;
      g_autoptr(GBytes) echo = NULL;
      gdouble t0;

      if (shared)
        {
          gpointer data = NULL;

          message = gipc_shared_bytes_new (ECHO_SIZE, &data, error);
          if (message == NULL)
            {
              ok = FALSE;
              break;
            }
          fill_echo (data, ECHO_SIZE, n);
        }
      else
        {
          guint8 *data = g_malloc (ECHO_SIZE);

          fill_echo (data, ECHO_SIZE, n);
          message = g_bytes_new_take (data, ECHO_SIZE);
        }

      t0 = now_s ();
      if (!gipc_channel_send (chan, message, NULL, error) ||
          (echo = gipc_channel_receive (chan, NULL, error)) == NULL)
        {
          ok = FALSE;
          break;
        }
      total += now_s () - t0;
      g_clear_pointer (&message, g_bytes_unref);
      if (!check_echo (echo, n, error))
        {
          ok = FALSE;
          break;
        }
      n++;
    }
  while (now_s () < deadline);

  if (ok)
    {
      g_autoptr(GBytes) end = g_bytes_new (NULL, 0);
      g_autoptr(GBytes) back = NULL;

      ok = gipc_channel_send (chan, end, NULL, error) &&
           (back = gipc_channel_receive (chan, NULL, error)) != NULL;
    }
  if (ok)
    ok = peer_read_result (&peer, &result, error);
  gipc_channel_close (chan, NULL);
  g_object_unref (chan);
  if (!ok)
    {
      peer_explain (&peer, error);
      peer_abort (&peer);
      return FALSE;
    }
  if (!peer_join (&peer, error))
    return FALSE;
  if (result.count != n)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the peer echoed %" G_GUINT64_FORMAT
                   " messages, not %" G_GUINT64_FORMAT, (guint64) result.count, n);
      return FALSE;
    }
  *value = total / (gdouble) n * 1e6;
  return TRUE;
}

/* The same over raw pipes: write 256 MiB, the child reads them all and
 * writes them back. */
static gboolean
raw_echo_large (gdouble    duration,
                gdouble   *value,
                GError   **error)
{
  int down[2], up[2], ctl[2];
  guint8 *out = g_malloc (ECHO_SIZE);
  guint8 *in = g_malloc (ECHO_SIZE);
  gdouble total = 0, deadline;
  guint64 n = 0;
  gboolean ok = TRUE;
  pid_t pid;

  if (pipe2 (down, O_CLOEXEC) < 0 || pipe2 (up, O_CLOEXEC) < 0 || pipe2 (ctl, O_CLOEXEC) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "pipe: %s", g_strerror (errno));
      g_free (out);
      g_free (in);
      return FALSE;
    }
  (void) fcntl (down[1], F_SETPIPE_SZ, 512 * 1024);
  (void) fcntl (up[1], F_SETPIPE_SZ, 512 * 1024);
  pid = raw_fork (ctl);
  if (pid == 0)
    {
      close (down[1]);
      close (up[0]);
      close (ctl[1]);
      while (read_full (down[0], in, ECHO_SIZE) == ECHO_SIZE)
        if (!write_full (up[1], in, ECHO_SIZE))
          _exit (1);
      _exit (0);
    }
  close (down[0]);
  close (up[1]);
  close (ctl[0]);

  deadline = now_s () + duration;
  do
    {
      gdouble t0;

      fill_echo (out, ECHO_SIZE, n);
      t0 = now_s ();
      if (!write_full (down[1], out, ECHO_SIZE) || read_full (up[0], in, ECHO_SIZE) != ECHO_SIZE)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "raw echo: %s", g_strerror (errno));
          ok = FALSE;
          break;
        }
      total += now_s () - t0;
      if (memcmp (in, out, ECHO_SIZE) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "raw echo %" G_GUINT64_FORMAT " differs", n);
          ok = FALSE;
          break;
        }
      n++;
    }
  while (now_s () < deadline);

  close (down[1]);
  close (up[0]);
  g_free (out);
  g_free (in);
  if (!raw_wait (pid, ok ? error : NULL))
    ok = FALSE;
  if (ok)
    *value = total / (gdouble) n * 1e6;
  return ok;
}

static gboolean
run_once (const Row  *row,
          gdouble    *value,
          gchar     **note,
          GError    **error)
{
  gboolean ok = FALSE;

  watchdog_arm ();
  bench_transport = row->transport;
  switch (row->kind)
    {
    case KIND_ONEWAY:
      ok = gipc_oneway (row->size, (RecvMode) row->mode, row->send,
                        row->send == SEND_NAIVE ? naive_count (row) : 0,
                        rep_duration, value, note, error);
      break;
    case KIND_RTT:
      ok = gipc_rtt ((RttMode) row->mode, rep_duration, value, error);
      break;
    case KIND_START:
      ok = gipc_start ((StartMode) row->mode, rep_duration, value, note, error);
      break;
    case KIND_RAW_ONEWAY:
      ok = raw_oneway (row->size, rep_duration, value, error);
      break;
    case KIND_RAW_RTT:
      ok = raw_rtt (rep_duration, value, error);
      break;
    case KIND_RAW_START:
      ok = raw_start ((StartMode) row->mode, rep_duration, value, error);
      break;
    case KIND_ECHO_LARGE:
      ok = gipc_echo_large (row->mode != 0, rep_duration, value, error);
      break;
    case KIND_RAW_ECHO_LARGE:
      ok = raw_echo_large (rep_duration, value, error);
      break;
    default:
      g_assert_not_reached ();
    }
  alarm (0);
  if (ok && row->unit == UNIT_MBPS)
    *value = *value * (gdouble) row->size / 1e6;
  return ok;
}

static gchar *
format_value (Unit    unit,
              gdouble v)
{
  if (isnan (v))
    return g_strdup ("n/a");
  switch (unit)
    {
    case UNIT_RATE:
      if (v >= 1e6)
        return g_strdup_printf ("%.2f M/s", v / 1e6);
      return g_strdup_printf ("%.0f k/s", v / 1e3);
    case UNIT_MBPS:
      return g_strdup_printf ("%.0f MB/s", v);
    case UNIT_USEC:
      return g_strdup_printf ("%.1f µs", v);
    default:
      break;
    }
  return g_strdup ("?");
}

static void
run_row (const Row *row,
         Outcome   *out)
{
  gint rep;

  if (out->failed || !isnan (out->value))
    return;
  fprintf (stderr, "  %-22s", row->key);
  for (rep = 0; rep < opt_repeat; rep++)
    {
      GError *error = NULL;
      gdouble v = NAN;
      gchar *note = NULL;
      gchar *text;

      if (!run_once (row, &v, &note, &error))
        {
          fprintf (stderr, " FAILED: %s\n", error->message);
          g_error_free (error);
          g_free (note);
          out->failed = TRUE;
          out->value = NAN;
          any_failed = TRUE;
          return;
        }
      text = format_value (row->unit, v);
      fprintf (stderr, " %s", text);
      g_free (text);
      if (better (row->unit, v, out->value))
        {
          out->value = v;
          g_free (out->note);
          out->note = g_steal_pointer (&note);
        }
      g_free (note);
    }
  fprintf (stderr, "\n");
}

static void
run_placement (void)
{
  gsize i;
  cpu_set_t set;

  for (i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const Row *row = &rows[i];
      const Row *raw;
      guint raw_index = 0;

      if (!row_selected (row->key))
        continue;
      /* Start latency across CPUs: the parent may run on both, the child
       * goes where the scheduler puts it. */
      if (row->kind == KIND_START && cur_place->peer_cpu != cur_place->self_cpu)
        cpu_set_of (cur_place->self_cpu, cur_place->peer_cpu, &set);
      else
        cpu_set_of (cur_place->self_cpu, -1, &set);
      pin_process (&set);
      if (bench_server_pid > 0)
        (void) sched_setaffinity (bench_server_pid, sizeof set, &set);

      /* fork() copies the page tables: give back what the throughput
       * rows left in the heap, so this process forks like a small one. */
      if (row->kind == KIND_START)
        malloc_trim (0);

      raw = find_row (raw_rows, G_N_ELEMENTS (raw_rows), row->raw_key, &raw_index);
      g_assert_nonnull (raw);
      run_row (raw, &raw_outcomes[place_index][raw_index]);
      run_row (row, &outcomes[place_index][i]);
    }
  cpu_set_of (cur_place->self_cpu, -1, &set);
  pin_process (&set);
}

static const gchar *
goal_status (const Row *row,
             guint      place,
             gdouble    ratio,
             gchar    **text)
{
  GoalKind kind = row->goal[place];
  gdouble val = row->goal_val[place];
  gboolean pass;

  if (kind == GOAL_NONE)
    {
      *text = g_strdup ("");
      return NULL;
    }
  pass = !isnan (ratio) && (kind == GOAL_AT_LEAST ? ratio >= val : ratio <= val);
  *text = g_strdup_printf ("%s %.1fx", kind == GOAL_AT_LEAST ? "≥" : "≤", val);
  return isnan (ratio) ? "n/a" : pass ? "PASS" : "MISS";
}

/* Goals are given for "one CPU" (0) and "two CPUs" (1). */
static guint
goal_index (guint place)
{
  return g_str_equal (placements[place].key, "one") ? 0 : 1;
}

static void
print_table (guint place)
{
  gsize i;

  printf ("\n### %s\n\n", placements[place].title);
  printf ("| measure | raw | gipc-glib | ratio | goal |\n");
  printf ("| --- | ---: | ---: | ---: | --- |\n");
  for (i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const Row *row = &rows[i];
      const Outcome *o = &outcomes[place][i];
      const Outcome *ro;
      guint raw_index = 0;
      gdouble ratio = NAN;
      gchar *raw_text, *lib_text, *goal_text, *label;
      const gchar *status;

      if (!row_selected (row->key))
        continue;
      find_row (raw_rows, G_N_ELEMENTS (raw_rows), row->raw_key, &raw_index);
      ro = &raw_outcomes[place][raw_index];
      if (!isnan (o->value) && !isnan (ro->value) && ro->value > 0)
        ratio = o->value / ro->value;
      raw_text = ro->failed ? g_strdup ("FAILED") : format_value (row->unit, ro->value);
      lib_text = o->failed ? g_strdup ("FAILED") : format_value (row->unit, o->value);
      status = goal_status (row, goal_index (place), ratio, &goal_text);
      if (status != NULL)
        {
          gchar *t = g_strdup_printf ("%s: %s", goal_text, status);

          g_free (goal_text);
          goal_text = t;
        }
      label = o->note != NULL ? g_strdup_printf ("%s (%s)", row->label, o->note) : g_strdup (row->label);
      if (isnan (ratio))
        printf ("| %s | %s | %s | n/a | %s |\n", label, raw_text, lib_text, goal_text);
      else
        printf ("| %s | %s | %s | %.2fx | %s |\n", label, raw_text, lib_text, ratio, goal_text);
      g_free (raw_text);
      g_free (lib_text);
      g_free (goal_text);
      g_free (label);
    }
  fflush (stdout);
}

static void
print_goals (void)
{
  guint place;
  gsize i;
  gboolean any = FALSE;

  for (place = 0; place < n_placements; place++)
    for (i = 0; i < G_N_ELEMENTS (rows); i++)
      {
        const Row *row = &rows[i];
        guint p = goal_index (place);
        guint raw_index = 0;
        gdouble ratio = NAN;
        gchar *text;
        const gchar *status;

        if (!row_selected (row->key) || row->goal[p] == GOAL_NONE)
          continue;
        find_row (raw_rows, G_N_ELEMENTS (raw_rows), row->raw_key, &raw_index);
        if (!isnan (outcomes[place][i].value) && !isnan (raw_outcomes[place][raw_index].value))
          ratio = outcomes[place][i].value / raw_outcomes[place][raw_index].value;
        status = goal_status (row, p, ratio, &text);
        if (!any)
          printf ("\nGoals (library / raw):\n\n");
        any = TRUE;
        printf ("- %s %s (%s): %.2fx, goal %s\n", status, row->key,
                p == 0 ? "one CPU" : "two CPUs", ratio, text);
        g_free (text);
      }
}

static void
print_machine (void)
{
  guint place;
  gsize i;

  for (place = 0; place < n_placements; place++)
    for (i = 0; i < G_N_ELEMENTS (rows); i++)
      {
        guint raw_index = 0;

        if (!row_selected (rows[i].key))
          continue;
        find_row (raw_rows, G_N_ELEMENTS (raw_rows), rows[i].raw_key, &raw_index);
        printf ("RESULT %s %s %g %g\n", placements[place].key, rows[i].key,
                raw_outcomes[place][raw_index].value, outcomes[place][i].value);
      }
}

static void
print_header (void)
{
  struct utsname u;
  gchar *model = NULL;
  gchar *cpuinfo = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      gchar **lines = g_strsplit (cpuinfo, "\n", -1);
      gchar **l;

      for (l = lines; *l != NULL; l++)
        if (g_str_has_prefix (*l, "model name"))
          {
            const gchar *colon = strchr (*l, ':');

            model = g_strdup (colon != NULL ? g_strstrip ((gchar *) colon + 1) : *l);
            break;
          }
      g_strfreev (lines);
      g_free (cpuinfo);
    }
  uname (&u);
  printf ("## gipc-glib %s benchmark\n\n", GIPC_VERSION_S);
  printf ("%s, %ld CPUs, Linux %s, GLib %u.%u.%u, build %s; peer: %s; "
          "%.2f s per measure (best of %d run%s)%s.\n",
          model != NULL ? model : "unknown CPU", sysconf (_SC_NPROCESSORS_ONLN), u.release,
          glib_major_version, glib_minor_version, glib_micro_version, GIPC_BENCH_BUILDTYPE,
          peer_is_process ? "GipcProcess (fork mode)" : "plain fork()",
          opt_duration, opt_repeat, opt_repeat == 1 ? "" : "s",
          opt_quick ? ", --quick (numbers not meaningful)" : "");
  printf ("Raw baseline: blocking write()/read() on a pipe, one whole frame (4-byte length + payload) per "
          "system call; round trip over two pipes; ratio = gipc-glib / raw (for µs, lower is better).\n");
  g_free (model);
  fflush (stdout);
}

int
main (int    argc,
      char **argv)
{
  GOptionEntry entries[] = {
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick, "Small counts, for a smoke run", NULL },
    { "only", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &opt_only, "Run only the measures whose key contains NAME or matches a glob (repeatable, comma-separated)", "NAME" },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &opt_duration, "Seconds per measure, split over the runs (default 0.9)", "SECONDS" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat, "Runs per measure, the best is kept (default 3)", "N" },
    { "placement", 'p', 0, G_OPTION_ARG_STRING, &opt_placement, "one, split or both (default both)", "WHERE" },
    { "peer", 0, 0, G_OPTION_ARG_STRING, &opt_peer, "process (GipcProcess, default) or fork (plain fork + gipc_channel_new_from_fds)", "KIND" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "Messages per send_async batch (default 256)", "N" },
    { "window", 0, 0, G_OPTION_ARG_INT, &opt_window, "Batches in flight (default 2)", "N" },
    { "verify", 0, 0, G_OPTION_ARG_NONE, &opt_verify, "Check the whole content of every message", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "More output", NULL },
    { "list", 'l', 0, G_OPTION_ARG_NONE, &opt_list, "List the measures and exit", NULL },
    { "machine", 0, 0, G_OPTION_ARG_NONE, &opt_machine, "Also print RESULT <placement> <key> <raw> <gipc> lines (for scripts)", NULL },
    { NULL }
  };
  GOptionContext *context;
  GError *error = NULL;
  struct sigaction sa;
  gsize i;
  guint place;

  context = g_option_context_new ("- gipc-glib benchmark");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "gipc-bench: %s\n", error->message);
      return 2;
    }
  g_option_context_free (context);

  /* Before anything can start a thread (the busy rows start some). */
  start_bench_server ();

  if (opt_list)
    {
      for (i = 0; i < G_N_ELEMENTS (rows); i++)
        printf ("%-22s %s\n", rows[i].key, rows[i].label);
      return 0;
    }
  if (opt_only != NULL)
    {
      gchar *joined = g_strjoinv (",", opt_only);

      g_strfreev (opt_only);
      opt_only = g_strsplit (joined, ",", -1);
      g_free (joined);
    }
  if (opt_peer != NULL && g_str_equal (opt_peer, "fork"))
    peer_is_process = FALSE;
  else if (opt_peer != NULL && !g_str_equal (opt_peer, "process"))
    {
      fprintf (stderr, "gipc-bench: --peer must be process or fork\n");
      return 2;
    }
  if (opt_quick)
    {
      opt_duration = 0.02;
      opt_repeat = 1;
      opt_verify = TRUE;
    }
  if (opt_repeat < 1 || opt_duration <= 0 || opt_batch < 1 || opt_window < 1)
    {
      fprintf (stderr, "gipc-bench: --repeat, --duration, --batch and --window must be positive\n");
      return 2;
    }
  rep_duration = opt_duration / opt_repeat;
  watchdog_s = (guint) ceil (rep_duration * 20) + 30;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = watchdog_handler;
  sigaction (SIGALRM, &sa, NULL);

  pattern = g_malloc (LARGE_SIZE);
  for (i = 0; i < LARGE_SIZE; i++)
    pattern[i] = (guint8) (i * 131 + 7);

  find_cpus ();
  placements[0].key = "one";
  placements[0].title = g_strdup_printf ("Both processes on CPU %d", cpu_first);
  placements[0].self_cpu = cpu_first;
  placements[0].peer_cpu = cpu_first;
  n_placements = 0;
  if (opt_placement == NULL || g_str_equal (opt_placement, "both") || g_str_equal (opt_placement, "one"))
    n_placements = 1;
  if (opt_placement == NULL || g_str_equal (opt_placement, "both") || g_str_equal (opt_placement, "split"))
    {
      if (cpu_second < 0)
        fprintf (stderr, "gipc-bench: only one CPU available: no split placement\n");
      else
        {
          Placement *pl = &placements[n_placements++];

          pl->key = "split";
          pl->title = g_strdup_printf ("Parent on CPU %d, peer on CPU %d (start rows: parent on both)",
                                       cpu_first, cpu_second);
          pl->self_cpu = cpu_first;
          pl->peer_cpu = cpu_second;
        }
    }
  if (n_placements == 0)
    {
      fprintf (stderr, "gipc-bench: --placement must be one, split or both\n");
      return 2;
    }

  for (place = 0; place < 2; place++)
    {
      for (i = 0; i < G_N_ELEMENTS (rows); i++)
        outcomes[place][i].value = NAN;
      for (i = 0; i < G_N_ELEMENTS (raw_rows); i++)
        raw_outcomes[place][i].value = NAN;
    }

  print_header ();
  for (place = 0; place < n_placements; place++)
    {
      gdouble t0 = now_s ();

      place_index = place;
      cur_place = &placements[place];
      fprintf (stderr, "%s:\n", cur_place->title);
      run_placement ();
      if (opt_verbose)
        fprintf (stderr, "  (%.1f s)\n", now_s () - t0);
      print_table (place);
    }
  print_goals ();
  if (opt_machine)
    print_machine ();

  for (place = 0; place < 2; place++)
    {
      for (i = 0; i < G_N_ELEMENTS (rows); i++)
        g_free (outcomes[place][i].note);
      for (i = 0; i < G_N_ELEMENTS (raw_rows); i++)
        g_free (raw_outcomes[place][i].note);
      g_free (placements[place].title);
    }
  g_free (pattern);
  g_strfreev (opt_only);
  g_clear_object (&bench_server);
  g_free (bench_server_error);
  g_free (opt_placement);
  g_free (opt_peer);

  if (any_failed)
    {
      fprintf (stderr, "gipc-bench: some measures FAILED (see above)\n");
      return 1;
    }
  return 0;
}
