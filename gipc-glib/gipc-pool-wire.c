/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include <string.h>

#include "gipc-error.h"
#include "gipc-pool-wire-private.h"

static void
put_header (guint8  *p,
            guint8   kind,
            guint8   flags,
            guint64  task_id,
            guint32  n_fds)
{
  guint64 id_be = GUINT64_TO_BE (task_id);
  guint32 n_be = GUINT32_TO_BE (n_fds);

  p[0] = kind;
  p[1] = flags;
  p[2] = 0;
  p[3] = 0;
  memcpy (p + 4, &id_be, 8);
  memcpy (p + 12, &n_be, 4);
}

/* The header of a REQUEST or RESULT, with the payload inline when it is
 * small; otherwise *payload_follows is set and the caller sends @payload as
 * the next channel message. */
GBytes *
gipc_pool_wire_encode_payload (GipcPoolWireKind  kind,
                               guint64           task_id,
                               guint32           n_fds,
                               GBytes           *payload,
                               gboolean         *payload_follows)
{
  gsize size = payload != NULL ? g_bytes_get_size (payload) : 0;
  gboolean follows = size >= GIPC_POOL_WIRE_INLINE_MAX;
  guint8 *buf;

  g_return_val_if_fail (kind == GIPC_POOL_WIRE_REQUEST || kind == GIPC_POOL_WIRE_RESULT, NULL);

  buf = g_malloc (GIPC_POOL_WIRE_HEADER_SIZE + (follows ? 0 : size));
  put_header (buf, kind, follows ? GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS : 0, task_id, n_fds);
  if (!follows && size > 0)
    memcpy (buf + GIPC_POOL_WIRE_HEADER_SIZE, g_bytes_get_data (payload, NULL), size);
  *payload_follows = follows;
  return g_bytes_new_take (buf, GIPC_POOL_WIRE_HEADER_SIZE + (follows ? 0 : size));
}

GBytes *
gipc_pool_wire_encode_cancel (guint64 task_id)
{
  guint8 *buf = g_malloc (GIPC_POOL_WIRE_HEADER_SIZE);

  put_header (buf, GIPC_POOL_WIRE_CANCEL, 0, task_id, 0);
  return g_bytes_new_take (buf, GIPC_POOL_WIRE_HEADER_SIZE);
}

GBytes *
gipc_pool_wire_encode_control (GipcPoolWireKind kind,
                               guint32          n_fds)
{
  guint8 *buf = g_malloc (GIPC_POOL_WIRE_HEADER_SIZE);

  g_return_val_if_fail (kind == GIPC_POOL_WIRE_RING || kind == GIPC_POOL_WIRE_WAKE, NULL);
  put_header (buf, kind, 0, 0, n_fds);
  return g_bytes_new_take (buf, GIPC_POOL_WIRE_HEADER_SIZE);
}

void
gipc_pool_wire_put_result_header (guint8  *header,
                                  guint64  task_id)
{
  put_header (header, GIPC_POOL_WIRE_RESULT, 0, task_id, 0);
}

GBytes *
gipc_pool_wire_encode_error (guint64       task_id,
                             guint32       n_fds,
                             const GError *error)
{
  const gchar *domain = g_quark_to_string (error->domain);
  const gchar *message = error->message != NULL ? error->message : "";
  gsize dlen = domain != NULL ? strlen (domain) : 0;
  gsize mlen = strlen (message);
  guint16 dlen_be;
  gint32 code_be = (gint32) GUINT32_TO_BE ((guint32) error->code);
  guint8 *buf;
  gsize size;

  if (dlen > GIPC_POOL_WIRE_MAX_DOMAIN)
    dlen = GIPC_POOL_WIRE_MAX_DOMAIN;
  dlen_be = GUINT16_TO_BE ((guint16) dlen);
  size = GIPC_POOL_WIRE_HEADER_SIZE + 4 + 2 + dlen + mlen;
  buf = g_malloc (size);
  put_header (buf, GIPC_POOL_WIRE_ERROR, 0, task_id, n_fds);
  memcpy (buf + 16, &code_be, 4);
  memcpy (buf + 20, &dlen_be, 2);
  if (dlen > 0)
    memcpy (buf + 22, domain, dlen);
  memcpy (buf + 22 + dlen, message, mlen);
  return g_bytes_new_take (buf, size);
}

static gboolean
domain_name_is_valid (const guint8 *p,
                      gsize         len)
{
  gsize i;

  if (len == 0)
    return FALSE;
  for (i = 0; i < len; i++)
    if (p[i] < 0x21 || p[i] > 0x7e)
      return FALSE;
  return TRUE;
}

/* Decodes one protocol message. Never trusts a length it did not check;
 * fails with GIPC_ERROR_PROTOCOL on anything malformed. */
gboolean
gipc_pool_wire_decode (GBytes               *bytes,
                       GipcPoolWireMessage  *out,
                       GError              **error)
{
  return gipc_pool_wire_decode_range (bytes, 0, g_bytes_get_size (bytes), out, error);
}

/* The message in the @size bytes at @p, but its payload: where that lies
 * in @p is set in *payload_offset and *payload_size (0 and 0: none). */
static gboolean
decode_fields (const guint8         *p,
               gsize                 size,
               GipcPoolWireMessage  *out,
               gsize                *payload_offset,
               gsize                *payload_size,
               GError              **error)
{
  guint64 id_be;
  guint32 n_be;

  memset (out, 0, sizeof *out);
  *payload_offset = 0;
  *payload_size = 0;
  if (size < GIPC_POOL_WIRE_HEADER_SIZE)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "Pool message of %" G_GSIZE_FORMAT " bytes is shorter than its header", size);
      return FALSE;
    }
  if (p[2] != 0 || p[3] != 0 || (p[1] & ~GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS) != 0)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                           "Pool message has unknown flags");
      return FALSE;
    }
  memcpy (&id_be, p + 4, 8);
  memcpy (&n_be, p + 12, 4);
  out->kind = p[0];
  out->flags = p[1];
  out->task_id = GUINT64_FROM_BE (id_be);
  out->n_fds = GUINT32_FROM_BE (n_be);

  switch (p[0])
    {
    case GIPC_POOL_WIRE_REQUEST:
    case GIPC_POOL_WIRE_RESULT:
      if ((out->flags & GIPC_POOL_WIRE_FLAG_PAYLOAD_FOLLOWS) != 0)
        {
          if (size != GIPC_POOL_WIRE_HEADER_SIZE)
            {
              g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                   "Pool message announces a separate payload but carries one");
              return FALSE;
            }
        }
      else
        {
          *payload_offset = GIPC_POOL_WIRE_HEADER_SIZE;
          *payload_size = size - GIPC_POOL_WIRE_HEADER_SIZE;
        }
      return TRUE;

    case GIPC_POOL_WIRE_RING:
    case GIPC_POOL_WIRE_WAKE:
      if (size != GIPC_POOL_WIRE_HEADER_SIZE || out->flags != 0 || out->task_id != 0 ||
          out->n_fds != (p[0] == GIPC_POOL_WIRE_RING ? 1u : 0u))
        {
          g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                               "Malformed pool control message");
          return FALSE;
        }
      return TRUE;

    case GIPC_POOL_WIRE_CANCEL:
      if (size != GIPC_POOL_WIRE_HEADER_SIZE || out->flags != 0 || out->n_fds != 0)
        {
          g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                               "Malformed pool cancel message");
          return FALSE;
        }
      return TRUE;

    case GIPC_POOL_WIRE_ERROR:
      {
        guint32 code_be;
        guint16 dlen_be;
        gsize dlen;

        if (out->flags != 0 || size < GIPC_POOL_WIRE_HEADER_SIZE + 6)
          {
            g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                 "Malformed pool error message");
            return FALSE;
          }
        memcpy (&code_be, p + 16, 4);
        memcpy (&dlen_be, p + 20, 2);
        dlen = GUINT16_FROM_BE (dlen_be);
        if (dlen > GIPC_POOL_WIRE_MAX_DOMAIN || size - 22 < dlen ||
            !domain_name_is_valid (p + 22, dlen))
          {
            g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                                 "Pool error message has a bad error domain");
            return FALSE;
          }
        out->code = (gint32) GUINT32_FROM_BE (code_be);
        out->domain = g_strndup ((const gchar *) p + 22, dlen);
        out->message = g_utf8_make_valid ((const gchar *) p + 22 + dlen,
                                          (gssize) (size - 22 - dlen));
        return TRUE;
      }

    case GIPC_POOL_WIRE_BATCH:
      if (size < GIPC_POOL_WIRE_HEADER_SIZE + 4 || out->flags != 0 || out->n_fds != 0 ||
          out->task_id != 0)
        {
          g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                               "Malformed pool batch message");
          return FALSE;
        }
      *payload_offset = GIPC_POOL_WIRE_HEADER_SIZE;
      *payload_size = size - GIPC_POOL_WIRE_HEADER_SIZE;
      return TRUE;

    default:
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "Unknown pool message kind 0x%02x", p[0]);
      return FALSE;
    }
}

/* The message that is the @size bytes of @bytes at @offset (a record of a
 * batch: no slice of it is made but its payload's). */
gboolean
gipc_pool_wire_decode_range (GBytes               *bytes,
                             gsize                 offset,
                             gsize                 size,
                             GipcPoolWireMessage  *out,
                             GError              **error)
{
  const guint8 *data = g_bytes_get_data (bytes, NULL);
  gsize at, len;

  g_return_val_if_fail (offset <= g_bytes_get_size (bytes) &&
                        size <= g_bytes_get_size (bytes) - offset, FALSE);
  /* (An empty GBytes has no data: no offset is added to NULL.) */
  if (!decode_fields (data != NULL ? data + offset : data, size, out, &at, &len, error))
    return FALSE;
  /* (A payload may be empty: REQUEST and RESULT always have one.) */
  if (at != 0)
    out->payload = g_bytes_new_from_bytes (bytes, offset + at, len);
  return TRUE;
}

/* The message in the @size bytes at @data, its payload copied. */
gboolean
gipc_pool_wire_decode_data (const guint8         *data,
                            gsize                 size,
                            GipcPoolWireMessage  *out,
                            GError              **error)
{
  gsize at, len;

  if (!decode_fields (data, size, out, &at, &len, error))
    return FALSE;
  if (at != 0)
    out->payload = g_bytes_new (data + at, len);
  return TRUE;
}

void
gipc_pool_wire_message_clear (GipcPoolWireMessage *msg)
{
  g_clear_pointer (&msg->payload, g_bytes_unref);
  g_clear_pointer (&msg->domain, g_free);
  g_clear_pointer (&msg->message, g_free);
}

/* The GError a worker sent, as the parent sees it: the same domain when the
 * parent knows its name, else GIPC_ERROR_FAILED naming the domain. */
GError *
gipc_pool_wire_message_to_error (const GipcPoolWireMessage *msg)
{
  GQuark domain = g_quark_try_string (msg->domain);

  if (domain != 0)
    return g_error_new_literal (domain, msg->code, msg->message);
  return g_error_new (GIPC_ERROR, GIPC_ERROR_FAILED,
                      "%s (error %d of domain %s, unknown to this process)",
                      msg->message, msg->code, msg->domain);
}

GByteArray *
gipc_pool_wire_batch_new (void)
{
  GByteArray *batch = g_byte_array_sized_new (512);

  g_byte_array_set_size (batch, GIPC_POOL_WIRE_HEADER_SIZE);
  put_header (batch->data, GIPC_POOL_WIRE_BATCH, 0, 0, 0);
  return batch;
}

void
gipc_pool_wire_batch_add (GByteArray *batch,
                          GBytes     *record)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (record, &size);
  guint32 len_be;

  g_return_if_fail (size >= GIPC_POOL_WIRE_HEADER_SIZE && size <= G_MAXUINT32);
  len_be = GUINT32_TO_BE ((guint32) size);
  g_byte_array_append (batch, (const guint8 *) &len_be, 4);
  g_byte_array_append (batch, data, (guint) size);
}

void
gipc_pool_wire_batch_add_payload (GByteArray       *batch,
                                  GipcPoolWireKind  kind,
                                  guint64           task_id,
                                  GBytes           *payload)
{
  gsize size = g_bytes_get_size (payload);
  guint at = batch->len;
  guint32 len_be;

  g_return_if_fail (kind == GIPC_POOL_WIRE_REQUEST || kind == GIPC_POOL_WIRE_RESULT);
  g_return_if_fail (size < GIPC_POOL_WIRE_INLINE_MAX);
  len_be = GUINT32_TO_BE ((guint32) (GIPC_POOL_WIRE_HEADER_SIZE + size));
  g_byte_array_set_size (batch, at + 4 + GIPC_POOL_WIRE_HEADER_SIZE + (guint) size);
  memcpy (batch->data + at, &len_be, 4);
  put_header (batch->data + at + 4, kind, 0, task_id, 0);
  if (size > 0)
    memcpy (batch->data + at + 4 + GIPC_POOL_WIRE_HEADER_SIZE, g_bytes_get_data (payload, NULL), size);
}

GBytes *
gipc_pool_wire_batch_end (GByteArray *batch)
{
  return g_byte_array_free_to_bytes (batch);
}

gboolean
gipc_pool_wire_batch_next (GBytes  *records,
                           gsize   *offset,
                           GBytes **record,
                           GError **error)
{
  gsize at, len;

  *record = NULL;
  if (!gipc_pool_wire_batch_next_range (records, offset, &at, &len, error))
    return FALSE;
  if (len != 0)
    *record = g_bytes_new_from_bytes (records, at, len);
  return TRUE;
}

/* As gipc_pool_wire_batch_next, the record's place in @records instead of
 * a slice: *record_size is 0 at the end. */
gboolean
gipc_pool_wire_batch_next_range (GBytes  *records,
                                 gsize   *offset,
                                 gsize   *record_offset,
                                 gsize   *record_size,
                                 GError **error)
{
  gsize size;
  const guint8 *p = g_bytes_get_data (records, &size);
  guint32 len_be;
  gsize len;

  *record_offset = 0;
  *record_size = 0;
  if (*offset >= size)
    return TRUE;
  if (size - *offset < 4)
    {
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                           "Pool batch ends inside a record's length");
      return FALSE;
    }
  memcpy (&len_be, p + *offset, 4);
  len = GUINT32_FROM_BE (len_be);
  if (len < GIPC_POOL_WIRE_HEADER_SIZE || len > size - *offset - 4)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_PROTOCOL,
                   "Pool batch record of %" G_GSIZE_FORMAT " bytes does not fit", len);
      return FALSE;
    }
  *record_offset = *offset + 4;
  *record_size = len;
  *offset += 4 + len;
  return TRUE;
}
