/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/* The private wire protocol between a GipcPool and its workers: a pure codec
 * (no I/O, no main loop), so it can be unit-tested and fuzzed alone.
 *
 * Every protocol message is one channel message:
 *
 *   byte 0      kind (GipcPoolWireKind)
 *   byte 1      flags (GIPC_POOL_WIRE_FLAG_*)
 *   bytes 2-3   zero
 *   bytes 4-11  task id, big-endian
 *   bytes 12-15 number of fds attached to this channel message, big-endian
 *   then, by kind:
 *     REQUEST, RESULT: the payload (inline), or nothing when the flag
 *                      PAYLOAD_FOLLOWS says the payload is the next channel
 *                      message (large payloads: they then travel as sealed
 *                      shared memory without a copy)
 *     CANCEL:          nothing
 *     ERROR:           code (int32, big-endian), domain length (uint16,
 *                      big-endian), the domain's name, the message (UTF-8)
 *     BATCH:           task id 0, no fds; then one or more records, each
 *                      a length (uint32, big-endian) and a whole REQUEST
 *                      or CANCEL message with its payload inline and no
 *                      fds (the pool sends the requests it pipelines to a
 *                      worker in one channel message)
 *     RING:            task id 0, one fd: the worker's answer ring (see
 *                      gipc-pool-ring-private.h), the pool's first message;
 *                      the worker then writes there the answers that fit
 *                      (RESULT or ERROR messages without fds, smaller than
 *                      GIPC_POOL_RING_RECORD_MAX), the others still go on
 *                      the channel; the pool takes answers in its
 *                      pipeline's order from either
 *     WAKE:            task id 0, no fds: the worker wrote to the ring
 *                      while the pool waited for it
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  GIPC_POOL_WIRE_REQUEST = 'Q',
  GIPC_POOL_WIRE_CANCEL  = 'C',
  GIPC_POOL_WIRE_RESULT  = 'R',
  GIPC_POOL_WIRE_ERROR   = 'E',
  GIPC_POOL_WIRE_BATCH   = 'B',
  GIPC_POOL_WIRE_RING    = 'M',
  GIPC_POOL_WIRE_WAKE    = 'W',
} GipcPoolWireKind;

#define GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS 0x01
#define GIPC_POOL_WIRE_HEADER_SIZE 16
/* Payloads from this size on travel as a message of their own. */
#define GIPC_POOL_WIRE_INLINE_MAX (64 * 1024)
#define GIPC_POOL_WIRE_MAX_DOMAIN 255

typedef struct
{
  GipcPoolWireKind kind;
  guint8   flags;
  guint64  task_id;
  guint32  n_fds;
  GBytes  *payload;     /* REQUEST/RESULT inline, BATCH records: a slice of
                         * the message, no copy */
  gint32   code;        /* ERROR */
  gchar   *domain;      /* ERROR */
  gchar   *message;     /* ERROR: valid UTF-8 */
} GipcPoolWireMessage;

GBytes  *gipc_pool_wire_encode_payload (GipcPoolWireKind     kind,
                                        guint64              task_id,
                                        guint32              n_fds,
                                        GBytes              *payload,
                                        gboolean            *payload_follows);
GBytes  *gipc_pool_wire_encode_cancel  (guint64              task_id);
/* RING (with @n_fds 1) or WAKE: a header alone, task id 0. */
GBytes  *gipc_pool_wire_encode_control (GipcPoolWireKind     kind,
                                        guint32              n_fds);
/* The header of a RESULT with @payload_size bytes inline, into @header
 * (GIPC_POOL_WIRE_HEADER_SIZE bytes): for the answer ring. */
void     gipc_pool_wire_put_result_header (guint8           *header,
                                           guint64           task_id);
GBytes  *gipc_pool_wire_encode_error   (guint64              task_id,
                                        guint32              n_fds,
                                        const GError        *error);
gboolean gipc_pool_wire_decode         (GBytes              *bytes,
                                        GipcPoolWireMessage *out,
                                        GError             **error);
gboolean gipc_pool_wire_decode_range   (GBytes              *bytes,
                                        gsize                offset,
                                        gsize                size,
                                        GipcPoolWireMessage *out,
                                        GError             **error);
/* The message in @size bytes of memory, its payload copied out. */
gboolean gipc_pool_wire_decode_data    (const guint8        *data,
                                        gsize                size,
                                        GipcPoolWireMessage *out,
                                        GError             **error);
void     gipc_pool_wire_message_clear  (GipcPoolWireMessage *msg);

/* BATCH: start one, add whole messages (each a REQUEST or CANCEL without
 * fds and with its payload inline), end it. */
GByteArray *gipc_pool_wire_batch_new   (void);
void     gipc_pool_wire_batch_add      (GByteArray          *batch,
                                        GBytes              *record);
/* Adds a REQUEST (or RESULT) without fds whose payload is smaller than
 * GIPC_POOL_WIRE_INLINE_MAX, encoded in place. */
void     gipc_pool_wire_batch_add_payload (GByteArray       *batch,
                                           GipcPoolWireKind  kind,
                                           guint64           task_id,
                                           GBytes           *payload);
GBytes  *gipc_pool_wire_batch_end      (GByteArray          *batch);
/* The record of a decoded BATCH's payload at *offset (a slice, no copy),
 * or NULL at its end; FALSE with GIPC_ERROR_PROTOCOL on a bad length. The
 * record itself is then decoded with gipc_pool_wire_decode; its kind and
 * flags are the caller's to check. */
gboolean gipc_pool_wire_batch_next     (GBytes              *records,
                                        gsize               *offset,
                                        GBytes             **record,
                                        GError             **error);
gboolean gipc_pool_wire_batch_next_range (GBytes            *records,
                                          gsize             *offset,
                                          gsize             *record_offset,
                                          gsize             *record_size,
                                          GError           **error);
GError  *gipc_pool_wire_message_to_error (const GipcPoolWireMessage *msg);

G_END_DECLS
