/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * fork-server-app: the shape of a GTK program that hands work to children.
 *
 * main() starts a GipcForkServer first thing, before GApplication (and
 * GLib's and GIO's threads) exist. Then a window-less GApplication runs;
 * when it activates, it starts one child per piece of work through the
 * server, sends each its text on a channel and collects the answers
 * asynchronously, as a GUI would, while its main loop keeps running.
 *
 * Run: fork-server-app
 */

#include <gipc-glib/gipc-glib.h>

static const char * const texts[] = {
  "the quick brown fox",
  "jumps over",
  "the lazy dog",
  "fork servers start children at constant cost",
  "from threaded programs",
  "one",
  "two words",
  "and the last piece of work",
};

/* In the child: counts the words of the text it receives. */
static gint
count_words (GipcProcess *process,
             GVariant    *args,
             gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);
  g_autoptr(GVariant) text = NULL;
  g_auto(GStrv) words = NULL;
  guint n = 0;
  guint i;

  if (channel == NULL)
    return 1;
  text = gipc_channel_receive_variant (channel, NULL, NULL);
  if (text == NULL || !g_variant_is_of_type (text, G_VARIANT_TYPE_STRING))
    return 2;
  words = g_strsplit (g_variant_get_string (text, NULL), " ", -1);
  for (i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      n++;
  return gipc_channel_send_variant (channel, g_variant_new ("(su)", g_get_prgname (), n),
                                    NULL, NULL) ? 0 : 3;
}

typedef struct
{
  GApplication   *app;
  GipcForkServer *server;
  guint           pending;
  guint           words;
  gint            worst_exit;
} Work;

typedef struct
{
  Work        *work;
  GipcChannel *channel;
  GipcProcess *process;
} Piece;

static void
piece_finish (Piece *piece)
{
  Work *work = piece->work;

  g_object_unref (piece->channel);
  g_object_unref (piece->process);
  g_free (piece);
  if (--work->pending == 0)
    g_application_release (work->app);
}

static void
joined_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Piece *piece = user_data;
  g_autoptr(GError) error = NULL;

  if (!gipc_process_join_finish (GIPC_PROCESS (source), result, &error))
    g_printerr ("join: %s\n", error->message);
  else
    piece->work->worst_exit = MAX (piece->work->worst_exit,
                                   ABS (gipc_process_get_exit_code (piece->process)));
  piece_finish (piece);
}

static void
answer_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Piece *piece = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) answer = NULL;
  guint32 n;

  answer = gipc_channel_receive_variant_finish (GIPC_CHANNEL (source), result, &error);
  if (answer == NULL)
    g_printerr ("receive: %s\n", error->message);
  else
    {
      g_variant_get (answer, "(&su)", NULL, &n);
      piece->work->words += n;
    }
  gipc_process_join_async (piece->process, NULL, joined_cb, piece);
}

static void
activate_cb (GApplication *app,
             gpointer      user_data)
{
  Work *work = user_data;
  guint i;

  g_application_hold (app);
  for (i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GipcChannel) theirs = NULL;
      Piece *piece = g_new0 (Piece, 1);

      piece->work = work;
      if (!gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX | GIPC_PIPE_FLAGS_UNIX_FDS,
                      &piece->channel, &theirs, &error))
        g_error ("pipe: %s", error->message);
      piece->process = gipc_process_new_for_target (work->server, "count-words", NULL);
      gipc_process_pass_channel (piece->process, theirs);
      if (!gipc_process_start (piece->process, &error))
        g_error ("start: %s", error->message);
      work->pending++;
      gipc_channel_send_variant_async (piece->channel, g_variant_new_string (texts[i]),
                                       NULL, NULL, NULL);
      gipc_channel_receive_variant_async (piece->channel, NULL, answer_cb, piece);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GipcForkServer) server = gipc_fork_server_new ();
  g_autoptr(GApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  Work work = { 0 };
  int status;

  /* First thing: the program has a single thread now. */
  gipc_fork_server_add_target (server, "count-words", count_words, NULL, NULL);
  if (!gipc_fork_server_start (server, &error))
    {
      g_printerr ("fork server: %s\n", error->message);
      return 1;
    }

  app = g_application_new ("org.gipc.ForkServerApp", G_APPLICATION_NON_UNIQUE);
  work.app = app;
  work.server = server;
  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), &work);
  status = g_application_run (app, argc, argv);

  g_print ("fork server: %u children counted %u words; worst exit code %d\n",
           (guint) G_N_ELEMENTS (texts), work.words, work.worst_exit);
  return status;
}
