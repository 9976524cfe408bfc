/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * What a GLib program does without gipc-glib, the D-Bus way: a peer-to-peer
 * GDBusConnection over a socketpair (no bus daemon) to a child spawned with
 * GSubprocessLauncher (D-Bus after a plain fork is unsafe). 64 B one-way as
 * D-Bus signals carrying an "ay" (every 256 signals an async method call
 * "Sync" returns how many the child has seen, which is the flow control;
 * two batches in flight), and 8 B round trip as async method calls
 * Echo(ay) -> ay. Every payload starts with its sequence number, which the
 * child checks.
 *
 * Prints one line per measure: RESULT <key> <value> <unit>.
 */

#include <gio/gio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 256

static const gchar introspection_xml[] =
  "<node>"
  "  <interface name='org.gipc.Bench'>"
  "    <method name='Echo'><arg type='ay' direction='in'/><arg type='ay' direction='out'/></method>"
  "    <method name='Sync'><arg type='t' direction='out'/></method>"
  "    <signal name='Msg'><arg type='ay'/></signal>"
  "  </interface>"
  "</node>";

static gdouble
now_s (void)
{
  return (gdouble) g_get_monotonic_time () / 1e6;
}

static GDBusConnection *
connection_for_fd (int fd, gboolean server, GError **error)
{
  GSocket *socket = g_socket_new_from_fd (fd, error);
  GSocketConnection *stream;
  GDBusConnection *conn;
  gchar *guid = server ? g_dbus_generate_guid () : NULL;

  if (socket == NULL)
    return NULL;
  stream = g_socket_connection_factory_create_connection (socket);
  conn = g_dbus_connection_new_sync (G_IO_STREAM (stream), guid,
                                     server ? (G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER |
                                               G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING)
                                            : G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                     NULL, NULL, error);
  g_free (guid);
  g_object_unref (stream);
  g_object_unref (socket);
  return conn;
}

/* --- the child ----------------------------------------------------------- */

static guint64 child_count;
static gboolean child_failed;

static void
child_method_cb (GDBusConnection       *conn,
                 const gchar           *sender,
                 const gchar           *path,
                 const gchar           *iface,
                 const gchar           *method,
                 GVariant              *params,
                 GDBusMethodInvocation *invocation,
                 gpointer               user_data)
{
  if (g_str_equal (method, "Echo"))
    g_dbus_method_invocation_return_value (invocation, params);
  else
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(t)", child_failed ? G_MAXUINT64 : child_count));
}

static void
child_signal_cb (GDBusConnection *conn,
                 const gchar     *sender,
                 const gchar     *path,
                 const gchar     *iface,
                 const gchar     *name,
                 GVariant        *params,
                 gpointer         user_data)
{
  GVariant *ay = g_variant_get_child_value (params, 0);
  gsize len = 0;
  const guint8 *data = g_variant_get_fixed_array (ay, &len, 1);
  guint64 seq = G_MAXUINT64;

  if (len >= 8)
    memcpy (&seq, data, 8);
  if (len != 64 || seq != child_count)
    child_failed = TRUE;
  child_count++;
  g_variant_unref (ay);
}

static void
child_closed_cb (GDBusConnection *conn, gboolean remote_peer_vanished, GError *error, gpointer loop)
{
  g_main_loop_quit (loop);
}

static int
child_main (int fd)
{
  static const GDBusInterfaceVTable vtable = { child_method_cb, NULL, NULL, { 0 } };
  GError *error = NULL;
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  GDBusNodeInfo *info = g_dbus_node_info_new_for_xml (introspection_xml, &error);
  GDBusConnection *conn = connection_for_fd (fd, TRUE, &error);

  if (conn == NULL || info == NULL)
    {
      fprintf (stderr, "gdbus child: %s\n", error->message);
      return 1;
    }
  g_dbus_connection_set_exit_on_close (conn, FALSE);
  g_dbus_connection_register_object (conn, "/bench", info->interfaces[0], &vtable, NULL, NULL, &error);
  g_dbus_connection_signal_subscribe (conn, NULL, "org.gipc.Bench", "Msg", "/bench", NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, child_signal_cb, NULL, NULL);
  g_signal_connect (conn, "closed", G_CALLBACK (child_closed_cb), loop);
  g_dbus_connection_start_message_processing (conn);
  g_main_loop_run (loop);
  return child_failed ? 1 : 0;
}

/* --- the parent ---------------------------------------------------------- */

typedef struct
{
  GDBusConnection *conn;
  GMainLoop       *loop;
  guint64          seq;
  gdouble          t0, t_end, deadline;
  gboolean         stopping;
  gboolean         failed;
  guint8           payload[64];
} Bench;

static void
bench_fail (Bench *b, const gchar *what, GError *error)
{
  fprintf (stderr, "gdbus: %s: %s\n", what, error != NULL ? error->message : "mismatch");
  g_clear_error (&error);
  b->failed = TRUE;
  g_main_loop_quit (b->loop);
}

static void send_batch (Bench *b);

static void
final_sync_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;
  GVariant *ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  guint64 count = 0;

  b->t_end = now_s ();
  if (ret == NULL)
    {
      bench_fail (b, "Sync", error);
      return;
    }
  g_variant_get (ret, "(t)", &count);
  g_variant_unref (ret);
  if (count != b->seq)
    {
      fprintf (stderr, "gdbus: sent %" G_GUINT64_FORMAT " signals, the child saw %" G_GUINT64_FORMAT "\n",
               b->seq, count);
      b->failed = TRUE;
    }
  g_main_loop_quit (b->loop);
}

static void
sync_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;
  GVariant *ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  if (ret == NULL)
    {
      bench_fail (b, "Sync", error);
      return;
    }
  g_variant_unref (ret);
  if (b->stopping)
    return;
  if (now_s () >= b->deadline)
    {
      b->stopping = TRUE;
      g_dbus_connection_call (b->conn, NULL, "/bench", "org.gipc.Bench", "Sync", NULL,
                              G_VARIANT_TYPE ("(t)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, final_sync_cb, b);
      return;
    }
  send_batch (b);
}

static void
send_batch (Bench *b)
{
  guint i;

  for (i = 0; i < BATCH; i++)
    {
      GError *error = NULL;

      memcpy (b->payload, &b->seq, 8);
      b->seq++;
      if (!g_dbus_connection_emit_signal (b->conn, NULL, "/bench", "org.gipc.Bench", "Msg",
                                          g_variant_new ("(@ay)",
                                                         g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, b->payload,
                                                                                    sizeof b->payload, 1)),
                                          &error))
        {
          bench_fail (b, "emit", error);
          return;
        }
    }
  g_dbus_connection_call (b->conn, NULL, "/bench", "org.gipc.Bench", "Sync", NULL,
                          G_VARIANT_TYPE ("(t)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, sync_cb, b);
}

static void ping (Bench *b);

static void
pong_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Bench *b = user_data;
  GError *error = NULL;
  GVariant *ret = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  GVariant *ay;
  gsize len = 0;
  const guint8 *data;
  guint64 seq = G_MAXUINT64;

  if (ret == NULL)
    {
      bench_fail (b, "Echo", error);
      return;
    }
  ay = g_variant_get_child_value (ret, 0);
  data = g_variant_get_fixed_array (ay, &len, 1);
  if (len == 8)
    memcpy (&seq, data, 8);
  g_variant_unref (ay);
  g_variant_unref (ret);
  if (seq != b->seq)
    {
      bench_fail (b, "Echo", NULL);
      return;
    }
  b->seq++;
  if ((b->seq & 31) == 0 && (b->t_end = now_s ()) >= b->deadline)
    {
      g_main_loop_quit (b->loop);
      return;
    }
  ping (b);
}

static void
ping (Bench *b)
{
  memcpy (b->payload, &b->seq, 8);
  g_dbus_connection_call (b->conn, NULL, "/bench", "org.gipc.Bench", "Echo",
                          g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, b->payload, 8, 1)),
                          G_VARIANT_TYPE ("(ay)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, pong_cb, b);
}

static gboolean
run (gboolean rtt, gdouble duration, gdouble *value)
{
  GError *error = NULL;
  GSubprocessLauncher *launcher;
  GSubprocess *sp;
  int sv[2];
  const gchar *argv[] = { "/proc/self/exe", "--child", "3", NULL };
  Bench b;
  gboolean ok;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return FALSE;
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_fd (launcher, sv[1], 3);
  sp = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_object_unref (launcher);
  if (sp == NULL)
    {
      fprintf (stderr, "gdbus: %s\n", error->message);
      return FALSE;
    }
  memset (&b, 0, sizeof b);
  memset (b.payload, '.', sizeof b.payload);
  b.loop = g_main_loop_new (NULL, FALSE);
  b.conn = connection_for_fd (sv[0], FALSE, &error);
  if (b.conn == NULL)
    {
      fprintf (stderr, "gdbus: %s\n", error->message);
      return FALSE;
    }
  b.t0 = now_s ();
  b.deadline = b.t0 + duration;
  if (rtt)
    {
      ping (&b);
    }
  else
    {
      send_batch (&b);
      send_batch (&b);
    }
  g_main_loop_run (b.loop);
  g_dbus_connection_close_sync (b.conn, NULL, NULL);
  ok = g_subprocess_wait_check (sp, NULL, &error) && !b.failed;
  if (!ok && error != NULL)
    fprintf (stderr, "gdbus: child: %s\n", error->message);
  if (ok && rtt)
    *value = (b.t_end - b.t0) / (gdouble) b.seq * 1e6;
  else if (ok)
    *value = (gdouble) b.seq / (b.t_end - b.t0);
  g_object_unref (b.conn);
  g_object_unref (sp);
  g_main_loop_unref (b.loop);
  return ok;
}

int
main (int argc, char **argv)
{
  gdouble duration = 0.9, best = 0, best_rtt = G_MAXDOUBLE;
  gint repeat = 3, i;

  if (argc == 3 && g_str_equal (argv[1], "--child"))
    return child_main (atoi (argv[2]));
  for (i = 1; i + 1 < argc; i++)
    {
      if (g_str_equal (argv[i], "--duration"))
        duration = g_ascii_strtod (argv[++i], NULL);
      else if (g_str_equal (argv[i], "--repeat"))
        repeat = atoi (argv[++i]);
    }
  for (i = 0; i < repeat; i++)
    {
      gdouble v = 0;

      if (!run (FALSE, duration / repeat, &v))
        return 1;
      best = MAX (best, v);
    }
  for (i = 0; i < repeat; i++)
    {
      gdouble v = 0;

      if (!run (TRUE, duration / repeat, &v))
        return 1;
      best_rtt = MIN (best_rtt, v);
    }
  printf ("RESULT oneway-64 %.0f msgs/s\n", best);
  printf ("RESULT rtt-8 %.2f us\n", best_rtt);
  return 0;
}
