/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* The answer ring between a GipcPool and one of its workers: a sealed memfd
 * both map, in which the worker writes its small answers (whole pool wire
 * messages) and the program reads them without a system call each. This
 * room holds the ring's layout and its reads and writes, nothing else: no
 * channel, no main loop, no pool state. The program treats the ring as
 * hostile memory (every length is read once, checked, and the record copied
 * out before it is decoded); the worker trusts the program, but never writes
 * outside its own mapping.
 *
 * Layout (positions are free-running 32-bit byte counts; the data area's
 * size is a power of two):
 *
 *   offset   0  magic "GPR1", data size (uint32, native order)
 *   offset  64  head: where the worker writes next (worker-owned)
 *   offset 128  tail: where the program reads next (program-owned)
 *   offset 192  armed: 1 when the program waits (poll) for a wakeup
 *   offset 256  data: records, each a length (uint32, native order, 1 to
 *               GIPC_POOL_RING_RECORD_MAX) and the message, padded to 4
 *               bytes; a record may wrap around the end of the area
 *
 * Wakeups: the program sets armed before it waits and looks at head once
 * more; the worker, after it moved head, takes armed (1 -> 0) and, when it
 * did, sends a WAKE message on the channel. Both sides use sequentially
 * consistent atomics, so one of them always sees the other's write. */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Answers from this size on go on the channel. */
#define GIPC_POOL_RING_RECORD_MAX 4096
#define GIPC_POOL_RING_DATA_SIZE  (64 * 1024)
#define GIPC_POOL_RING_HEADER     256

typedef struct _GipcPoolRing GipcPoolRing;

/* The program: a new ring in a sealed memfd (F_SEAL_SHRINK, GROW, SEAL: the
 * worker can neither shrink it under our mapping nor grow it), mapped so
 * that no child forked later inherits it (MADV_DONTFORK: a fork-mode
 * worker must not reach another worker's ring); *fd is the memfd, the
 * caller's to send to the worker and close. */
GipcPoolRing *gipc_pool_ring_new        (int           *fd,
                                         GError       **error);
/* The worker: maps the ring in @fd (not taken), after checking its size,
 * seals and magic. */
GipcPoolRing *gipc_pool_ring_map        (int            fd,
                                         GError       **error);
/* The fuzzer: a ring over @memory (GIPC_POOL_RING_HEADER plus @data_size
 * bytes, a power of two), read as the program reads it from
 * @read_position on. */
GipcPoolRing *gipc_pool_ring_new_for_memory (gpointer   memory,
                                             gsize      data_size,
                                             guint32    read_position);
void          gipc_pool_ring_free       (GipcPoolRing  *ring);

/* The worker: appends one record of @header (@header_size bytes) followed
 * by @payload; FALSE when it does not fit (or the ring's positions make no
 * sense), and nothing was written. *wake is set when the program waits
 * for a wakeup (the caller then sends one). */
gboolean      gipc_pool_ring_write      (GipcPoolRing  *ring,
                                         const guint8  *header,
                                         gsize          header_size,
                                         const guint8  *payload,
                                         gsize          payload_size,
                                         gboolean      *wake);

/* The worker: TRUE when the program waits for a wakeup, which this call
 * takes (the caller then sends its answer on the channel: one message
 * wakes the program and carries the answer). */
gboolean      gipc_pool_ring_take_wakeup (GipcPoolRing *ring);

/* The program: the next record, copied out to memory of the ring's (valid
 * until the next peek; NULL when the ring is empty), without consuming it;
 * FALSE with GIPC_ERROR_PROTOCOL when the ring is corrupt (the worker then
 * is to be killed: nothing more is read). */
gboolean      gipc_pool_ring_peek       (GipcPoolRing  *ring,
                                         const guint8 **record,
                                         gsize         *size,
                                         GError       **error);
/* Consumes the record the last peek returned. */
void          gipc_pool_ring_consume    (GipcPoolRing  *ring);
gboolean      gipc_pool_ring_is_empty   (GipcPoolRing  *ring);
/* Before a wait: arms the wakeup; TRUE when records arrived meanwhile (no
 * wait then). */
gboolean      gipc_pool_ring_arm        (GipcPoolRing  *ring);
/* After a wait: no wakeup needed while the program reads. */
void          gipc_pool_ring_disarm     (GipcPoolRing  *ring);

G_END_DECLS
