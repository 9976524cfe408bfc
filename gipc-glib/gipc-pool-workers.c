/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The pool's worker processes: making and starting them (fork mode,
 * fork-server targets, programs), their channels and answer rings
 * (reading and checking what a worker sends, in its pipeline's order),
 * their death (the error it costs the task that ran, restart intensity),
 * idle timeouts and recycling. It decides nothing about which task goes
 * where (gipc-pool-tasks.c does), and uses processes through their public
 * API, channels through theirs and two private calls
 * (gipc-channel-private.h: the listener that replaces the message signals,
 * and whether the peer reset the connection).
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include <gio/gunixfdlist.h>

#include "gipc-channel-private.h"
#include "gipc-error.h"
#include "gipc-pool-private.h"

static void worker_close_channel (PoolWorker *w);


/* ---- workers ---- */

PoolWorker *
gipc_pool_worker_ref (PoolWorker *w)
{
  g_atomic_int_inc (&w->ref_count);
  return w;
}

void
gipc_pool_worker_unref (gpointer data)
{
  PoolWorker *w = data;

  if (!g_atomic_int_dec_and_test (&w->ref_count))
    return;
  while (!g_queue_is_empty (&w->sent))
    {
      SentEntry *e = sent_pop_head (&w->sent);

      if (e->pt != NULL)
        gipc_pool_task_unref (e->pt);
      g_free (e);
    }
  if (w->exited_id != 0)
    g_signal_handler_disconnect (w->process, w->exited_id);
  g_clear_object (&w->process);
  if (w->channel != NULL)
    {
      gipc_channel_set_message_func (w->channel, NULL, NULL);
      g_clear_signal_handler (&w->error_id, w->channel);
      gipc_channel_close (w->channel, NULL);
    }
  g_clear_object (&w->channel);
  g_clear_object (&w->theirs);
  g_clear_error (&w->protocol_error);
  if (w->batch != NULL)
    g_byte_array_unref (w->batch);
  gipc_pool_wire_message_clear (&w->pending);
  g_clear_object (&w->pending_fds);
  g_clear_pointer (&w->ring, gipc_pool_ring_free);
  while (w->spare_entry != NULL)
    {
      SentEntry *e = w->spare_entry;

      w->spare_entry = e->link.next;
      g_free (e);
    }
  gipc_pool_handle_unref (w->handle);
  g_main_context_unref (w->context);
  g_free (w);
}

void
gipc_pool_source_clear (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

void
gipc_pool_attach_weak (GipcPool    *self,
                       GSource     *source,
                       GSourceFunc  func,
                       const gchar *name)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  g_weak_ref_init (ref, self);
  g_source_set_static_name (source, name);
  g_source_set_callback (source, func, ref, weak_ref_free);
  g_source_attach (source, self->context);
}

GSource *
gipc_pool_worker_timeout (PoolWorker  *w,
                          guint        ms,
                          GSourceFunc  func,
                          const gchar *name)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_static_name (source, name);
  g_source_set_callback (source, func, gipc_pool_worker_ref (w), gipc_pool_worker_unref);
  g_source_attach (source, w->context);
  return source;
}

/* Workers that count: starting, idle or busy. */
/* A worker whose current task was cancelled, waiting for its answer (or
 * for cancel-grace to kill it): it no longer counts as one of the pool's
 * workers, so that a replacement can start at once. */
gboolean
gipc_pool_worker_is_draining (PoolWorker *w)
{
  SentEntry *head = g_queue_peek_head (&w->sent);

  return head != NULL && head->pt == NULL;
}

guint
gipc_pool_count_workers_locked (GipcPool *self)
{
  guint n = 0;
  GList *l;

  for (l = self->workers; l != NULL; l = l->next)
    if (!gipc_pool_worker_is_draining (l->data))
      n++;
  return n;
}

/* Empties @w's pipeline (a worker that is gone or killed): the head task,
 * the only one that may have run, gets @head_error (taken), unless
 * @head_unread; the tasks behind it never started and go back to the head
 * of the pool's queue, in order. */
void
gipc_pool_worker_take_sent_locked (GipcPool   *self,
                                   PoolWorker *w,
                                   GError     *head_error,
                                   gboolean    head_unread,
                                   GPtrArray  *done)
{
  GList *requeue = NULL, *l;
  gboolean first = TRUE;
  SentEntry *e;

  while ((e = sent_pop_head (&w->sent)) != NULL)
    {
      if (e->pt != NULL)
        {
          if (first && !head_unread && head_error != NULL)
            gipc_pool_task_finish_locked (self, e->pt, NULL, NULL, g_steal_pointer (&head_error), done);
          else if (e->pt->state == TASK_RUNNING)
            requeue = g_list_prepend (requeue, gipc_pool_task_ref (e->pt));
          gipc_pool_task_unref (e->pt);
        }
      first = FALSE;
      g_free (e);
    }
  /* requeue is in reverse order: pushing each to the head restores it. */
  for (l = requeue; l != NULL; l = l->next)
    {
      PoolTask *pt = l->data;

      self->n_running--;
      pt->worker = NULL;
      pt->state = TASK_QUEUED;
      if (pt->timeout_source != NULL)
        {
          g_source_destroy (pt->timeout_source);
          g_clear_pointer (&pt->timeout_source, g_source_unref);
        }
      task_queue_push_head (&self->queue, pt);  /* the list's reference */
    }
  g_list_free (requeue);
  g_clear_error (&head_error);
}

void
gipc_pool_worker_detach_locked (GipcPool   *self,
                                PoolWorker *w)
{
  if (!w->attached)
    return;
  w->attached = FALSE;
  self->workers = g_list_remove (self->workers, w);
  gipc_pool_source_clear (&w->idle_source);
  gipc_pool_worker_unref (w);
}

/* Kills a worker the pool no longer wants (timeout, cancel, bad message);
 * its death is expected. */
void
gipc_pool_worker_kill_locked (GipcPool   *self,
                              PoolWorker *w)
{
  g_debug ("GipcPool: killing worker %d (state %d)", w->started ? (int) gipc_process_get_pid (w->process) : 0, w->state);
  w->killed_by_pool = TRUE;
  gipc_pool_source_clear (&w->kill_source);
  if (self != NULL)
    gipc_pool_worker_detach_locked (self, w);
  if (w->started && !w->exited)
    gipc_process_kill (w->process, NULL);
}

/* Stops an idle worker: our end of the channel is closed, so
 * gipc_worker_serve() returns and the worker exits. */
void
gipc_pool_worker_retire_locked (GipcPool   *self,
                                PoolWorker *w)
{
  w->retiring = TRUE;
  gipc_pool_worker_detach_locked (self, w);
  worker_close_channel (w);
}

static gchar *
describe_death (PoolWorker *w)
{
  GPid pid = gipc_process_get_pid (w->process);

  if (w->exit_code == GIPC_PROCESS_EXIT_CODE_UNKNOWN)
    return g_strdup_printf ("Worker process %d ended while it ran the task; its exit "
                            "status is unknown (collected by someone else's waitpid)",
                            (int) pid);
  else if (w->exit_code >= 0)
    return g_strdup_printf ("Worker process %d exited with status %d while it ran the task",
                            (int) pid, w->exit_code);
  else
    {
      gint sig = -w->exit_code;

      return g_strdup_printf ("Worker process %d was killed by signal %d (%s) while it ran the task; %s",
                              (int) pid, sig, g_strsignal (sig),
                              w->core_dumped ? "core dumped" : "no core dumped");
    }
}

/* Records an unexpected death; breaks the pool when they come too fast. */
static void
pool_record_death_locked (GipcPool  *self,
                          GPtrArray *done)
{
  gint64 now = g_get_monotonic_time ();
  gint64 *t = g_new (gint64, 1);

  *t = now;
  g_queue_push_tail (&self->deaths, t);
  while (!g_queue_is_empty (&self->deaths) &&
         *(gint64 *) g_queue_peek_head (&self->deaths) < now - (gint64) self->restart_period * 1000)
    g_free (g_queue_pop_head (&self->deaths));

  if (!self->broken && self->deaths.length > self->restart_intensity)
    {
      self->broken = TRUE;
      g_debug ("GipcPool %p: %u worker deaths within %u ms: broken",
               self, self->deaths.length, self->restart_period);
    }
}

/* Once a worker has both exited and its channel has ended. */
void
gipc_pool_worker_maybe_gone_locked (PoolWorker *w,
                                    GPtrArray  *done)
{
  g_autoptr(GipcPool) self = NULL;
  gboolean unexpected;

  if (!w->exited || !w->channel_done || w->sends_pending > 0 || w->state == WORKER_GONE)
    return;

  self = gipc_pool_handle_get (w->handle);
  if (self != NULL && self->disposed)
    g_clear_object (&self);

  unexpected = !w->killed_by_pool && !w->retiring;
  /* What it wrote to its ring before it went is its answers. */
  gipc_pool_worker_read_ring_locked (self, w, done);
  w->state = WORKER_GONE;
  gipc_pool_source_clear (&w->ring_source);
  gipc_pool_source_clear (&w->kill_source);
  gipc_pool_source_clear (&w->eof_source);
  gipc_pool_source_clear (&w->idle_source);

  if (self != NULL)
    {
      SentEntry *head = g_queue_peek_head (&w->sent);

      gipc_pool_worker_detach_locked (self, w);
      self->n_alive--;
      if (head != NULL)
        {
          GError *error;
          /* It died before it read the head request (between tasks): no
           * task ran; they all go back to the queue. */
          gboolean head_unread = w->unread_id != 0 && w->unread_id == head->id;

          /* A protocol error counts when the worker died of our kill for
           * it; a worker that died on its own (a truncated frame is its
           * last words) is reported as a death. */
          if (w->protocol_error != NULL && w->exit_code == -SIGKILL)
            error = g_error_copy (w->protocol_error);
          else
            {
              g_autofree gchar *msg = describe_death (w);
              error = g_error_new_literal (GIPC_ERROR, GIPC_ERROR_WORKER_DIED, msg);
            }
          gipc_pool_worker_take_sent_locked (self, w, error, head_unread, done);
        }
      if (unexpected)
        pool_record_death_locked (self, done);
      gipc_pool_dispatch_locked (self, done);
    }
  gipc_pool_worker_unref (w);  /* the reference of the live process */
}


static gboolean
worker_eof_wait_cb (gpointer data)
{
  PoolWorker *w = data;
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();
  g_autoptr(GipcPool) self = gipc_pool_handle_get (w->handle);

  POOL_LOCK ();
  g_clear_pointer (&w->eof_source, g_source_unref);
  if (!w->channel_done)
    {
      worker_close_channel (w);
      gipc_pool_worker_maybe_gone_locked (w, done);
    }
  POOL_UNLOCK ();
  gipc_pool_completions_run (done);
  if (self != NULL)
    gipc_pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

static void
worker_exited_cb (GipcProcess *process,
                  gint         exit_code,
                  gpointer     data)
{
  PoolWorker *w = data;
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();
  g_autoptr(GipcPool) self = gipc_pool_handle_get (w->handle);

  gipc_pool_worker_ref (w);
  POOL_LOCK ();
  w->exited = TRUE;
  w->exit_code = exit_code;
  w->core_dumped = gipc_process_get_core_dumped (process);
  gipc_pool_source_clear (&w->kill_source);
  if (!w->channel_done && w->eof_source == NULL)
    w->eof_source = gipc_pool_worker_timeout (w, EOF_WAIT_MS, worker_eof_wait_cb, "[gipc] pool worker end of stream");
  gipc_pool_worker_maybe_gone_locked (w, done);
  POOL_UNLOCK ();

  gipc_pool_completions_run (done);
  if (self != NULL && !self->disposed)
    {
      gipc_pool_emit_worker_exited (self, process);
      gipc_pool_emit_notifies (self);
    }
  gipc_pool_worker_unref (w);
}

/* A protocol violation: the worker is killed, its task fails with @error. */
void
gipc_pool_worker_protocol_error_locked (GipcPool   *self,
                                        PoolWorker *w,
                                        GError     *error)
{
  g_debug ("GipcPool: worker %d: %s", (int) gipc_process_get_pid (w->process), error->message);
  if (w->protocol_error == NULL)
    w->protocol_error = error;
  else
    g_error_free (error);
  /* Not killed_by_pool: a worker that sends garbage counts as a death. */
  if (w->started && !w->exited)
    gipc_process_kill (w->process, NULL);
}

/* ---- the answer ring ---- */

static gboolean
sent_has (PoolWorker *w,
          guint64     task_id)
{
  GList *l;

  for (l = w->sent.head; l != NULL; l = l->next)
    if (((SentEntry *) l->data)->id == task_id)
      return TRUE;
  return FALSE;
}

/* @n answers came from @w's ring now, @left requests still sent. The
 * time since its last answers, shared among these @n, is the time of a
 * task if it had work all along (@left > 0), and at most that if it ran
 * dry (it may have waited for requests). Its pipeline's depth follows:
 * about PIPELINE_TARGET_US of work behind its current task; one that ran
 * dry only grows, at most twice as deep at a time. */
static void
worker_measure (PoolWorker *w,
                guint       n,
                guint       left)
{
  gint64 now = g_get_monotonic_time ();

  if (w->answered_at != 0)
    {
      gdouble us = MAX ((gdouble) (now - w->answered_at) / n, 0.01);
      gdouble want;

      if (left > 0)
        {
          w->task_us = w->task_us > 0 ? 0.75 * w->task_us + 0.25 * us : us;
          want = PIPELINE_TARGET_US / w->task_us;
        }
      else
        want = MAX ((gdouble) w->depth, MIN (PIPELINE_TARGET_US / us, 2.0 * w->depth));
      w->depth = (guint) CLAMP (want, PIPELINE_DEPTH_MIN, PIPELINE_DEPTH_MAX);
    }
  w->answered_at = now;
}

void
gipc_pool_worker_read_ring_locked (GipcPool   *self,
                                   PoolWorker *w,
                                   GPtrArray  *done)
{
  guint n = 0;
  gboolean blocked = TRUE;  /* unless the ring is read to its end */

  if (w->ring == NULL || w->state == WORKER_GONE)
    return;
  while (w->protocol_error == NULL)
    {
      const guint8 *record;
      gsize size;
      g_autoptr(GError) error = NULL;
      GipcPoolWireMessage msg;
      SentEntry *head = g_queue_peek_head (&w->sent);

      if (!gipc_pool_ring_peek (w->ring, &record, &size, &error))
        {
          gipc_pool_worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                                        "Worker process %d corrupted its answer ring: %s",
                                                                        (int) gipc_process_get_pid (w->process),
                                                                        error->message));
          break;
        }
      if (record == NULL)
        {
          blocked = FALSE;
          break;
        }
      if (!gipc_pool_wire_decode_data (record, size, &msg, &error))
        {
          gipc_pool_worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                                        "Worker process %d wrote a malformed answer: %s",
                                                                        (int) gipc_process_get_pid (w->process),
                                                                        error->message));
          break;
        }
      if ((msg.kind != GIPC_POOL_WIRE_RESULT && msg.kind != GIPC_POOL_WIRE_ERROR) ||
          msg.n_fds != 0 || (msg.flags & GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS) != 0 ||
          !sent_has (w, msg.task_id))
        {
          gipc_pool_worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                                        "Worker process %d wrote an answer of kind 0x%02x "
                                                                        "for task %" G_GUINT64_FORMAT ", which it was not sent",
                                                                        (int) gipc_process_get_pid (w->process),
                                                                        msg.kind, msg.task_id));
          gipc_pool_wire_message_clear (&msg);
          break;
        }
      if (head->id != msg.task_id || w->awaiting_payload)
        {
          /* The answers before it come on the channel: this one waits. */
          gipc_pool_wire_message_clear (&msg);
          break;
        }
      gipc_pool_ring_consume (w->ring);
      gipc_pool_worker_answer_locked (self, w, &msg, msg.payload, NULL, done);
      gipc_pool_wire_message_clear (&msg);
      n++;
    }
  if (n > 0)
    worker_measure (w, n, w->sent.length);
  /* Blocked (or dead): the ring source stops looking until the channel
   * brings something. */
  g_atomic_int_set (&w->ring_blocked, blocked);
}

typedef struct
{
  GSource     source;
  PoolWorker *worker;  /* a reference */
} RingSource;

static gboolean
ring_source_prepare (GSource *source,
                     gint    *timeout)
{
  PoolWorker *w = ((RingSource *) source)->worker;

  *timeout = -1;
  if (g_atomic_int_get (&w->ring_blocked))
    return FALSE;
  return gipc_pool_ring_arm (w->ring);
}

static gboolean
ring_source_check (GSource *source)
{
  PoolWorker *w = ((RingSource *) source)->worker;

  gipc_pool_ring_disarm (w->ring);
  return !g_atomic_int_get (&w->ring_blocked) && !gipc_pool_ring_is_empty (w->ring);
}

static gboolean
ring_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  PoolWorker *w = ((RingSource *) source)->worker;
  g_autoptr(DoneList) done = NULL;
  g_autoptr(GipcPool) self = NULL;

  /* A WAKE on the channel, dispatched first in the same iteration, read
   * it already. */
  if (gipc_pool_ring_is_empty (w->ring))
    return G_SOURCE_CONTINUE;
  done = gipc_pool_done_list_new ();
  self = gipc_pool_handle_get (w->handle);
  if (self != NULL && self->disposed)
    g_clear_object (&self);
  POOL_LOCK ();
  gipc_pool_worker_read_ring_locked (self, w, done);
  if (self != NULL)
    gipc_pool_dispatch_locked (self, done);
  POOL_UNLOCK ();
  gipc_pool_completions_run (done);
  if (self != NULL)
    gipc_pool_emit_notifies (self);
  return G_SOURCE_CONTINUE;
}

static void
ring_source_finalize (GSource *source)
{
  gipc_pool_worker_unref (((RingSource *) source)->worker);
}

static GSourceFuncs ring_source_funcs = {
  ring_source_prepare,
  ring_source_check,
  ring_source_dispatch,
  ring_source_finalize,
  NULL, NULL,
};

/* Gives @w an answer ring: its first message on @channel, before any
 * request. Without one (no memfd), its answers all come on the channel. */
static void
worker_give_ring (PoolWorker  *w,
                  GipcChannel *channel)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GBytes) message = NULL;
  int fd = -1;

  w->ring = gipc_pool_ring_new (&fd, &error);
  if (w->ring == NULL)
    {
      g_debug ("GipcPool: a worker's answers all go on its channel: %s", error->message);
      return;
    }
  fds = g_unix_fd_list_new_from_array (&fd, 1);  /* takes fd */
  message = gipc_pool_wire_encode_control (GIPC_POOL_WIRE_RING, 1);
  /* The channel is new: its socket's buffer is empty, the send cannot
   * block. */
  if (!gipc_channel_send_with_fds (channel, message, fds, NULL, &error))
    {
      g_debug ("GipcPool: could not give a worker its answer ring: %s", error->message);
      g_clear_pointer (&w->ring, gipc_pool_ring_free);
    }
}

/* Reads @w's ring in the pool's context, once @w listens on its channel. */
static void
worker_watch_ring (PoolWorker *w)
{
  RingSource *rs;

  if (w->ring == NULL)
    return;
  w->ring_source = g_source_new (&ring_source_funcs, sizeof (RingSource));
  rs = (RingSource *) w->ring_source;
  rs->worker = gipc_pool_worker_ref (w);
  g_source_set_static_name (w->ring_source, "[gipc] pool worker answers");
  /* A callback that runs a nested loop still gets the answers it waits
   * for (the dispatch takes the lock, and runs callbacks without it). */
  g_source_set_can_recurse (w->ring_source, TRUE);
  g_source_attach (w->ring_source, w->context);
}

/* One message from @w (@bytes, maybe with @fds), or the end of its
 * stream (@error). The channel listens (push mode, its fast path). */
static void
worker_input (PoolWorker   *w,
              GBytes       *bytes,
              GUnixFDList  *fds,
              const GError *stream_error)
{
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();
  g_autoptr(GError) error = stream_error != NULL ? g_error_copy (stream_error) : NULL;
  g_autoptr(GipcPool) self = gipc_pool_handle_get (w->handle);

  if (self != NULL && self->disposed)
    g_clear_object (&self);

  gipc_pool_worker_ref (w);
  POOL_LOCK ();
  if (w->channel_done || (bytes != NULL && w->protocol_error != NULL))
    ;  /* nothing more is taken from a worker that is being killed */
  else if (bytes == NULL)
    {
      g_debug ("GipcPool: worker %d: end of its channel: %s",
               w->started ? (int) gipc_process_get_pid (w->process) : 0, error->message);
      if ((g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL) ||
                g_error_matches (error, GIPC_ERROR, GIPC_ERROR_MESSAGE_TOO_LARGE)) &&
               !w->exited && !w->killed_by_pool && !w->retiring)
        {
          /* A corrupt stream, maybe from a live worker: it is killed. A
           * worker that died mid-message is reported as a death (see
           * gipc_pool_worker_maybe_gone_locked); the end of the stream
           * (also as ECONNRESET) waits for the exit. */
          gipc_pool_worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                                        "Worker process %d sent a corrupt message: %s",
                                                                        (int) gipc_process_get_pid (w->process),
                                                                        error->message));
        }
      /* The end of the stream as a connection reset (ECONNRESET): the
       * worker closed its end with our messages unread. A busy worker has
       * been sent nothing but its one request (a cancel empties the
       * head's entry, which then needs no answer). */
      if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED) &&
          w->channel != NULL && gipc_channel_get_peer_reset (w->channel) &&
          g_queue_get_length (&w->sent) == 1 && !w->awaiting_payload && w->unread_id == 0)
        w->unread_id = ((SentEntry *) g_queue_peek_head (&w->sent))->id;
      w->channel_done = TRUE;
      gipc_pool_worker_maybe_gone_locked (w, done);
    }
  else if (w->awaiting_payload)
    {
      /* (The ring was read up to this answer when its header came.) */
      w->awaiting_payload = FALSE;
      if (fds != NULL && g_unix_fd_list_get_length (fds) > 0)
        gipc_pool_worker_protocol_error_locked (self, w, g_error_new_literal (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                                              "A worker's result payload carried fds"));
      else
        gipc_pool_worker_answer_locked (self, w, &w->pending, bytes, w->pending_fds, done);
      gipc_pool_wire_message_clear (&w->pending);
      g_clear_object (&w->pending_fds);
    }
  else
    {
      GipcPoolWireMessage msg;
      guint n_fds = fds != NULL ? (guint) g_unix_fd_list_get_length (fds) : 0;

      /* The answers in the ring that came before this message first. */
      gipc_pool_worker_read_ring_locked (self, w, done);
      if (!gipc_pool_wire_decode (bytes, &msg, &error))
        gipc_pool_worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                                      "Worker process %d sent a malformed result: %s",
                                                                      (int) gipc_process_get_pid (w->process),
                                                                      error->message));
      else if (msg.kind == GIPC_POOL_WIRE_WAKE)
        ;  /* the ring was just read */
      else if (w->protocol_error != NULL)
        ;  /* the ring was corrupt */
      else if (msg.kind != GIPC_POOL_WIRE_RESULT && msg.kind != GIPC_POOL_WIRE_ERROR)
        gipc_pool_worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                                      "Worker process %d sent a message of kind 0x%02x",
                                                                      (int) gipc_process_get_pid (w->process), msg.kind));
      else if (msg.n_fds != n_fds)
        gipc_pool_worker_protocol_error_locked (self, w, g_error_new (GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                                                      "Worker process %d announced %u fds and sent %u",
                                                                      (int) gipc_process_get_pid (w->process),
                                                                      msg.n_fds, n_fds));
      else if (msg.flags & GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS)
        {
          w->pending = msg;
          memset (&msg, 0, sizeof msg);
          w->pending_fds = fds != NULL ? g_object_ref (fds) : NULL;
          w->awaiting_payload = TRUE;
        }
      else
        gipc_pool_worker_answer_locked (self, w, &msg, msg.payload, fds, done);
      gipc_pool_wire_message_clear (&msg);
    }
  /* And those that waited behind an answer on the channel. */
  if (bytes != NULL && !w->awaiting_payload)
    gipc_pool_worker_read_ring_locked (self, w, done);

  if (self != NULL)
    gipc_pool_dispatch_locked (self, done);
  POOL_UNLOCK ();

  gipc_pool_completions_run (done);
  if (self != NULL)
    gipc_pool_emit_notifies (self);
  gipc_pool_worker_unref (w);
}

static void
worker_message_cb (GipcChannel *channel,
                   GBytes      *message,
                   GUnixFDList *fds,
                   gpointer     data)
{
  worker_input (data, message, fds, NULL);
}

static void
worker_error_cb (GipcChannel  *channel,
                 const GError *error,
                 gpointer      data)
{
  worker_input (data, NULL, NULL, error);
}

static void
worker_listen (PoolWorker *w)
{
  gipc_channel_set_message_func (w->channel, worker_message_cb, w);
  w->error_id = g_signal_connect (w->channel, "error", G_CALLBACK (worker_error_cb), w);
  g_main_context_push_thread_default (w->context);
  gipc_channel_listen (w->channel);
  g_main_context_pop_thread_default (w->context);
}

/* Our end of @w's channel, closed: it stops listening, and the worker sees
 * the end of its stream. */
static void
worker_close_channel (PoolWorker *w)
{
  w->channel_done = TRUE;
  if (w->channel != NULL)
    gipc_channel_close (w->channel, NULL);
}

static gint
worker_process_main (GipcProcess *process,
                     gpointer     data)
{
  PoolWorker *w = data;

  return gipc_worker_serve (w->theirs, w->func, w->func_data);
}

static gboolean
start_backoff_cb (gpointer data)
{
  g_autoptr(GipcPool) self = g_weak_ref_get (data);

  if (self == NULL)
    return G_SOURCE_REMOVE;
  POOL_LOCK ();
  if (self->backoff_source == g_main_current_source ())
    g_clear_pointer (&self->backoff_source, g_source_unref);
  POOL_UNLOCK ();
  gipc_pool_schedule_dispatch (self);
  return G_SOURCE_REMOVE;
}

/* A start failed: no new start begins for a while (a timeout source in
 * the pool's context, never a wait), each failure in a row twice as long
 * as the one before, so a worker that cannot start is not tried again
 * and again while tasks wait. */
static void
start_backoff_locked (GipcPool *self)
{
  self->start_backoff = self->start_backoff == 0 ? START_BACKOFF_MIN_MS :
                        MIN (self->start_backoff * 2, START_BACKOFF_MAX_MS);
  gipc_pool_source_clear (&self->backoff_source);
  self->backoff_source = g_timeout_source_new (self->start_backoff);
  gipc_pool_attach_weak (self, self->backoff_source, start_backoff_cb,
                         "[gipc] pool start backoff");
}

/* Forgets the failed starts: the next start may begin at once. */
void
gipc_pool_start_backoff_clear_locked (GipcPool *self)
{
  self->start_backoff = 0;
  gipc_pool_source_clear (&self->backoff_source);
}

/* The end of a worker's start (@ok, or @error): in the pool's context,
 * without the lock. The pool may have been disposed or finalized while
 * the start was in flight: the worker holds it weakly, and a worker that
 * started for a pool that no longer wants it is killed and reaped. */
static void
worker_start_done (PoolWorker   *w,
                   gboolean      ok,
                   const GError *error)
{
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();
  g_autoptr(GipcPool) self = gipc_pool_handle_get (w->handle);
  gboolean wanted;

  if (self != NULL && self->disposed)
    g_clear_object (&self);

  POOL_LOCK ();
  wanted = self != NULL && w->attached && w->state == WORKER_STARTING;
  if (ok)
    {
      w->started = TRUE;
      if (self != NULL)
        {
          self->n_alive++;
          g_clear_error (&self->last_start_error);
          if (!self->disposed)
            gipc_pool_start_backoff_clear_locked (self);
        }
      gipc_pool_worker_ref (w);  /* the live process's reference, dropped once it is gone */
      if (wanted)
        w->state = WORKER_IDLE;
      else
        {
          /* Dropped while it started (pool disposed or closed). */
          w->killed_by_pool = TRUE;
          gipc_process_kill (w->process, NULL);
        }
      worker_listen (w);
      worker_watch_ring (w);
    }
  else
    {
      g_debug ("GipcPool %p: could not start a worker: %s", self, error->message);
      w->state = WORKER_GONE;
      if (self != NULL)
        {
          PoolTask *pt;

          gipc_pool_worker_detach_locked (self, w);
          /* The failure counts as a death (restart-intensity), so a
           * worker that can never start breaks the pool after a bounded
           * number of tries (POOL_BROKEN then names the start's error)
           * instead of starting again and again. A task that waited gets
           * the start's error when no worker could be started for it:
           * none is up or starting. Otherwise (a child killed while it was
           * set up, say) it ran nowhere and waits for another worker: a
           * worker's death costs only the task it ran. */
          pt = g_queue_peek_head (&self->queue);
          if (pt != NULL && self->workers == NULL)
            gipc_pool_task_finish_locked (self, pt, NULL, NULL, g_error_copy (error), done);
          g_clear_error (&self->last_start_error);
          self->last_start_error = g_error_copy (error);
          pool_record_death_locked (self, done);
          if (!self->broken && !self->disposed)
            start_backoff_locked (self);
        }
    }
  if (self != NULL)
    gipc_pool_dispatch_locked (self, done);
  POOL_UNLOCK ();

  if (ok && wanted && self != NULL && !self->disposed)
    gipc_pool_emit_worker_started (self, w->process);
  gipc_pool_completions_run (done);
  if (self != NULL)
    gipc_pool_emit_notifies (self);
}

static void
worker_started_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  PoolWorker *w = data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = gipc_process_start_finish (GIPC_PROCESS (source), result, &error);
  worker_start_done (w, ok, error);
  gipc_pool_worker_unref (w);  /* the start's */
}

/* Makes a worker's process and starts it without blocking the pool's
 * context (gipc_process_start_async: a fork, a spawn's fork, or a request
 * to the fork server; the child's set-up and the server's reply are
 * awaited in the pool's context). The one place that starts workers.
 * Called in the pool's context, without the lock. */
void
gipc_pool_worker_start (GipcPool   *self,
                        PoolWorker *w)
{
  g_autoptr(GError) error = NULL;
  GipcChannel *mine = NULL, *theirs = NULL;
  GipcProcess *process = NULL;
  guint i;

  if (gipc_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &mine, &theirs, &error))
    {
      w->channel = mine;
      w->theirs = theirs;
      worker_give_ring (w, mine);
      switch (self->kind)
        {
        case POOL_KIND_FORK:
          process = gipc_process_new (worker_process_main, w, NULL);
          break;
        case POOL_KIND_TARGET:
          process = gipc_process_new_for_target (self->server, self->target,
                                                 self->target_args);
          break;
        case POOL_KIND_ARGV:
          process = gipc_process_new_for_argv ((const gchar * const *) self->argv, &error);
          break;
        }
    }

  if (process == NULL)
    {
      g_clear_object (&w->theirs);
      worker_start_done (w, FALSE, error);
      return;
    }

  w->process = process;
  gipc_process_pass_channel (process, theirs);
  gipc_process_set_die_with_parent (process, TRUE);
  POOL_LOCK ();
  gipc_process_set_sandbox (process, self->sandbox);
  gipc_process_set_memory_limit (process, self->memory_limit);
  for (i = 0; i < self->allowed_paths->len; i++)
    {
      const gchar *p = g_ptr_array_index (self->allowed_paths, i);
      gipc_process_sandbox_allow_path (process, p + 2, p[0] == 'w');
    }
  if (self->allow_system_data)
    gipc_process_sandbox_allow_system_data (process);
  POOL_UNLOCK ();
  w->exited_id = g_signal_connect (process, "exited", G_CALLBACK (worker_exited_cb), w);

  /* Its report, and later the worker's exit, come in the pool's context.
   * A fork-mode child copied w->theirs in this call. */
  g_main_context_push_thread_default (self->context);
  gipc_process_start_async (process, NULL, worker_started_cb, gipc_pool_worker_ref (w));
  g_main_context_pop_thread_default (self->context);
  g_clear_object (&w->theirs);
}

/* The pool is disposed: every worker goes (killed, or not started), and
 * the tasks they ran complete with G_IO_ERROR_CANCELLED. */
void
gipc_pool_workers_stop_locked (GipcPool  *self,
                               GPtrArray *done)
{
  while (self->workers != NULL)
    {
      PoolWorker *w = self->workers->data;
      /* A worker the dispatch source was to start holds a reference
       * for that start, which will not happen now. (One whose start is
       * in flight is killed once it is up: see worker_start_done. One
       * whose start the dispatch source took, while it ran user code, is
       * detached and its start's reference left to the dispatch source.) */
      gboolean start_pending = w->state == WORKER_STARTING && w->process == NULL && !w->start_taken;
      SentEntry *e;

      while ((e = sent_pop_head (&w->sent)) != NULL)
        {
          if (e->pt != NULL)
            {
              gipc_pool_task_finish_locked (self, e->pt, NULL, NULL,
                                            g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                                 "The pool was finalized while the task ran"),
                                            done);
              gipc_pool_task_unref (e->pt);
            }
          g_free (e);
        }
      if (start_pending)
        {
          w->state = WORKER_GONE;
          gipc_pool_worker_detach_locked (self, w);
          gipc_pool_worker_unref (w);
        }
      else
        gipc_pool_worker_kill_locked (self, w);
    }
}

gboolean
gipc_pool_worker_idle_timeout_cb (gpointer data)
{
  PoolWorker *w = data;
  g_autoptr(GipcPool) self = gipc_pool_handle_get (w->handle);
  g_autoptr(DoneList) done = gipc_pool_done_list_new ();

  if (self == NULL)
    return G_SOURCE_REMOVE;
  POOL_LOCK ();
  g_clear_pointer (&w->idle_source, g_source_unref);
  if (w->attached && w->state == WORKER_IDLE && !self->disposed &&
      gipc_pool_count_workers_locked (self) > MIN (self->min_workers, gipc_pool_max_workers_locked (self)))
    gipc_pool_worker_retire_locked (self, w);
  gipc_pool_dispatch_locked (self, done);
  POOL_UNLOCK ();
  gipc_pool_completions_run (done);
  gipc_pool_emit_notifies (self);
  return G_SOURCE_REMOVE;
}

/* The next worker waiting for its start, with a reference, marked as
 * taken (its start is the caller's now: a dispose in between leaves the
 * pending start's reference to the caller), or NULL. */
PoolWorker *
gipc_pool_pending_start_take (GipcPool *self)
{
  GList *l;

  for (l = self->workers; l != NULL; l = l->next)
    {
      PoolWorker *w = l->data;

      if (w->state == WORKER_STARTING && w->process == NULL && w->channel == NULL &&
          !w->started && !w->start_taken)
        {
          w->start_taken = TRUE;
          return gipc_pool_worker_ref (w);
        }
    }
  return NULL;
}
