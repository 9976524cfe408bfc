/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * server-client: a TCP server in the parent, many clients in a child (gipc's
 * serverclient.py).
 *
 * The parent runs a GSocketService on 127.0.0.1 (port 0: the kernel picks
 * one) that echoes one line per connection. A fork-mode child connects
 * N_CLIENTS clients from its own main loop, at most N_CONCURRENT at a time,
 * checks every echo, and reports the result to the parent as a GVariant over
 * a channel. The parent's server keeps serving while the child works: both
 * are event loops, in two processes.
 */

#include <stdio.h>
#include <string.h>

#include <gipc-glib/gipc-glib.h>

#define N_CLIENTS    1000
#define N_CONCURRENT 100
#define MESSAGE      "HELLO\n"

/* ---- the child: N_CLIENTS clients ---------------------------------------- */

typedef struct
{
  GMainLoop      *loop;
  GSocketClient  *client;
  GSocketAddress *server_address;
  guint           n_started;
  guint           n_finished;
  guint           n_ok;
} Clients;

typedef struct
{
  Clients           *clients;
  GSocketConnection *connection;
  GDataInputStream  *input;
} Client;

static void client_start (Clients *clients);

static void
client_finish (Client   *client,
               gboolean  ok)
{
  Clients *clients = client->clients;

  if (client->connection != NULL)
    g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_clear_object (&client->input);
  g_clear_object (&client->connection);
  g_free (client);

  if (ok)
    clients->n_ok++;
  clients->n_finished++;

  if (clients->n_started < N_CLIENTS)
    client_start (clients);
  else if (clients->n_finished == N_CLIENTS)
    g_main_loop_quit (clients->loop);
}

static void
client_read_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Client *client = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *line = NULL;

  line = g_data_input_stream_read_line_finish (client->input, result, NULL, &error);
  if (line == NULL && error != NULL)
    g_printerr ("client: read: %s\n", error->message);

  client_finish (client, g_strcmp0 (line, "HELLO") == 0);
}

static void
client_written_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Client *client = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_printerr ("client: write: %s\n", error->message);
      client_finish (client, FALSE);
      return;
    }

  client->input = g_data_input_stream_new (
    g_io_stream_get_input_stream (G_IO_STREAM (client->connection)));
  g_data_input_stream_read_line_async (client->input, G_PRIORITY_DEFAULT, NULL,
                                       client_read_cb, client);
}

static void
client_connected_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Client *client = user_data;
  g_autoptr(GError) error = NULL;
  GOutputStream *output;

  client->connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (client->connection == NULL)
    {
      g_printerr ("client: connect: %s\n", error->message);
      client_finish (client, FALSE);
      return;
    }

  output = g_io_stream_get_output_stream (G_IO_STREAM (client->connection));
  g_output_stream_write_all_async (output, MESSAGE, strlen (MESSAGE), G_PRIORITY_DEFAULT,
                                   NULL, client_written_cb, client);
}

static void
client_start (Clients *clients)
{
  Client *client = g_new0 (Client, 1);

  client->clients = clients;
  clients->n_started++;
  g_socket_client_connect_async (clients->client,
                                 G_SOCKET_CONNECTABLE (clients->server_address),
                                 NULL, client_connected_cb, client);
}

typedef struct
{
  guint16      port;
  GipcChannel *report;
} ChildData;

static gint
child_main (GipcProcess *process,
            gpointer     user_data)
{
  ChildData *data = user_data;
  g_autoptr(GError) error = NULL;
  Clients clients = { 0, };
  gint64 start;
  gdouble seconds;

  clients.loop = g_main_loop_new (NULL, FALSE);
  clients.client = g_socket_client_new ();
  /* No proxy lookup: it would need GIO's resolver threads. */
  g_socket_client_set_enable_proxy (clients.client, FALSE);
  clients.server_address = g_inet_socket_address_new_from_string ("127.0.0.1", data->port);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < N_CONCURRENT; i++)
    client_start (&clients);
  g_main_loop_run (clients.loop);
  seconds = (g_get_monotonic_time () - start) / (gdouble) G_USEC_PER_SEC;

  g_print ("child: %u clients served within %.2f s\n", clients.n_ok, seconds);

  /* The report: a GVariant, sent with the blocking call. */
  if (!gipc_channel_send_variant (data->report, g_variant_new ("(ud)", clients.n_ok, seconds),
                                  NULL, &error))
    {
      g_printerr ("child: report: %s\n", error->message);
      return 1;
    }

  g_object_unref (clients.server_address);
  g_object_unref (clients.client);
  g_main_loop_unref (clients.loop);

  return clients.n_ok == N_CLIENTS ? 0 : 1;
}

static void
child_data_free (gpointer user_data)
{
  ChildData *data = user_data;

  g_object_unref (data->report);
  g_free (data);
}

/* ---- the parent: the echo server ----------------------------------------- */

typedef struct
{
  GMainLoop   *loop;
  GipcChannel *report;
  GipcProcess *process;
  guint        n_served;
  guint        n_reported;
  gint         status;
} Parent;

typedef struct
{
  Parent            *parent;
  GSocketConnection *connection;
  GDataInputStream  *input;
  gchar             *line;
} Session;

static void
session_free (Session *session)
{
  g_io_stream_close (G_IO_STREAM (session->connection), NULL, NULL);
  g_object_unref (session->input);
  g_object_unref (session->connection);
  g_free (session->line);
  g_free (session);
}

static void
session_written_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Session *session = user_data;

  if (g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL))
    session->parent->n_served++;
  session_free (session);
}

static void
session_read_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Session *session = user_data;
  GOutputStream *output;
  gsize length;

  session->line = g_data_input_stream_read_line_finish (session->input, result, &length, NULL);
  if (session->line == NULL)
    {
      session_free (session);
      return;
    }

  /* Echo the line, with its newline back. */
  session->line = g_realloc (session->line, length + 2);
  session->line[length] = '\n';
  session->line[length + 1] = '\0';
  output = g_io_stream_get_output_stream (G_IO_STREAM (session->connection));
  g_output_stream_write_all_async (output, session->line, length + 1, G_PRIORITY_DEFAULT,
                                   NULL, session_written_cb, session);
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  Session *session = g_new0 (Session, 1);

  session->parent = user_data;
  session->connection = g_object_ref (connection);
  session->input = g_data_input_stream_new (
    g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_read_line_async (session->input, G_PRIORITY_DEFAULT, NULL,
                                       session_read_cb, session);

  return TRUE;
}

static void
joined_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Parent *parent = user_data;
  g_autoptr(GError) error = NULL;
  gint exit_code;

  if (!gipc_process_join_finish (parent->process, result, &error))
    {
      g_printerr ("parent: join: %s\n", error->message);
      parent->status = 1;
      g_main_loop_quit (parent->loop);
      return;
    }

  exit_code = gipc_process_get_exit_code (parent->process);
  g_print ("parent: served %u connections; the child reported %u; exit code %d\n",
           parent->n_served, parent->n_reported, exit_code);
  if (exit_code != 0 || parent->n_served != N_CLIENTS || parent->n_reported != N_CLIENTS)
    parent->status = 1;
  g_main_loop_quit (parent->loop);
}

static void
report_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Parent *parent = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) report = NULL;

  report = gipc_channel_receive_variant_finish (parent->report, result, &error);
  if (report == NULL)
    {
      g_printerr ("parent: no report from the child: %s\n", error->message);
      parent->status = 1;
    }
  else if (g_variant_is_of_type (report, G_VARIANT_TYPE ("(ud)")))
    {
      g_variant_get (report, "(ud)", &parent->n_reported, NULL);
    }

  gipc_process_join_async (parent->process, NULL, joined_cb, parent);
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketService) service = NULL;
  g_autoptr(GSocketAddress) any_port = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GipcChannel) child_end = NULL;
  Parent parent = { 0, };
  ChildData *data;

  setvbuf (stdout, NULL, _IOLBF, 0);

  service = g_socket_service_new ();
  /* The default backlog (10) is shorter than the burst of connections:
   * connections beyond it would wait for a SYN retransmission (1 s). */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (service), N_CONCURRENT);
  any_port = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), any_port,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &address, &error))
    {
      g_printerr ("parent: listen: %s\n", error->message);
      return 1;
    }
  g_signal_connect (service, "incoming", G_CALLBACK (incoming_cb), &parent);

  if (!gipc_pipe (GIPC_PIPE_FLAGS_NONE, &parent.report, &child_end, &error))
    {
      g_printerr ("parent: %s\n", error->message);
      return 1;
    }

  data = g_new0 (ChildData, 1);
  data->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
  data->report = g_object_ref (child_end);
  g_print ("parent: echo server on 127.0.0.1:%u, starting %d clients in a child\n",
           data->port, N_CLIENTS);

  parent.process = gipc_process_new (child_main, data, child_data_free);
  gipc_process_pass_channel (parent.process, child_end);
  if (!gipc_process_start (parent.process, &error))
    {
      g_printerr ("parent: %s\n", error->message);
      return 1;
    }

  parent.loop = g_main_loop_new (NULL, FALSE);
  gipc_channel_receive_variant_async (parent.report, NULL, report_cb, &parent);
  g_main_loop_run (parent.loop);

  g_socket_service_stop (service);
  g_main_loop_unref (parent.loop);
  g_object_unref (parent.report);
  g_object_unref (parent.process);

  return parent.status;
}
