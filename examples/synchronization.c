/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * synchronization: time synchronization between two processes over a
 * duplex channel (gipc's synchronization.py).
 *
 * The parent sends SYN and waits for ACK; from then on both processes are in
 * step. The child then sends its clock (g_get_real_time, as a GVariant "x");
 * the parent compares it with its own clock at the moment ACK arrived. The
 * difference is the time one short message takes from one process to the
 * other: an upper bound for how far apart the two are.
 */

#include <stdio.h>
#include <string.h>

#include <gipc-glib/gipc-glib.h>

static gint
child_main (GipcProcess *process,
            gpointer     user_data)
{
  GipcChannel *channel = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) syn = NULL;
  g_autoptr(GBytes) ack = g_bytes_new_static ("ACK", 3);

  syn = gipc_channel_receive (channel, NULL, &error);
  if (syn == NULL || g_bytes_get_size (syn) != 3 || memcmp (g_bytes_get_data (syn, NULL), "SYN", 3) != 0)
    {
      g_printerr ("child: expected SYN: %s\n", error != NULL ? error->message : "wrong message");
      return 1;
    }

  if (!gipc_channel_send (channel, ack, NULL, &error) ||
      !gipc_channel_send_variant (channel, g_variant_new_int64 (g_get_real_time ()), NULL, &error))
    {
      g_printerr ("child: %s\n", error->message);
      return 1;
    }

  return 0;
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) parent_end = NULL;
  g_autoptr(GipcChannel) child_end = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GBytes) syn = g_bytes_new_static ("SYN", 3);
  g_autoptr(GBytes) ack = NULL;
  g_autoptr(GVariant) child_time = NULL;
  gint64 parent_time;
  gint64 delta;

  if (!gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX, &parent_end, &child_end, &error))
    goto fail;

  process = gipc_process_new (child_main, g_object_ref (child_end), g_object_unref);
  gipc_process_pass_channel (process, child_end);
  if (!gipc_process_start (process, &error))
    goto fail;

  /* Synchronize with the child. */
  if (!gipc_channel_send (parent_end, syn, NULL, &error))
    goto fail;
  ack = gipc_channel_receive (parent_end, NULL, &error);
  if (ack == NULL)
    goto fail;
  if (g_bytes_get_size (ack) != 3 || memcmp (g_bytes_get_data (ack, NULL), "ACK", 3) != 0)
    {
      g_printerr ("synchronization: expected ACK\n");
      return 1;
    }

  /* Now in step with the child. */
  parent_time = g_get_real_time ();
  child_time = gipc_channel_receive_variant (parent_end, NULL, &error);
  if (child_time == NULL)
    goto fail;
  if (!g_variant_is_of_type (child_time, G_VARIANT_TYPE_INT64))
    {
      g_printerr ("synchronization: expected an int64, got %s\n",
                  g_variant_get_type_string (child_time));
      return 1;
    }
  if (!gipc_process_join (process, 5000, &error))
    goto fail;

  delta = ABS (g_variant_get_int64 (child_time) - parent_time);
  g_print ("Time delta: %.6f s (child exit code %d)\n",
           delta / (gdouble) G_USEC_PER_SEC, gipc_process_get_exit_code (process));

  return gipc_process_get_exit_code (process);

fail:
  g_printerr ("synchronization: %s\n", error->message);
  return 1;
}
