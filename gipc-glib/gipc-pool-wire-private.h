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
