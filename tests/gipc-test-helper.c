/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The program that spawn-mode tests start, like GIO's gsubprocess-testprog:
 * argv[1] selects what it does. Reports go over inherited channel 0, never
 * to stdout (which is the test runner's TAP stream).
 *
 *   echo               send back every message of channel 0 until its end
 *   exit N             exit with status N
 *   sleep-forever      send "ready" and its pid on channel 0 if there is one,
 *                      then pause
 *   kill-self          die of SIGKILL
 *   report-env         send the value of GIPC_CHANNEL_FDS (or "(unset)")
 *   report-fds         send GIPC_CHANNEL_FDS, then the open fds (as found before
 *                      opening any channel), sorted, comma-separated
 *   report-fd-flags    for each announced fd, before opening any channel:
 *                      "FD:blocking|nonblocking:cloexec|inherit", comma-separated
 *   report-signals     send "mask=HEX ignored=HEX caught=HEX" from /proc/self/status
 *   report-stdio       send what fds 0, 1 and 2 point to, one per line
 *   bad-index N        send "DOMAIN CODE MESSAGE" of gipc_channel_new_inherited (N)
 *   fd-cat             channel 0 must pass fds: for each message, answer
 *                      "MESSAGE:CONTENT,CONTENT..." (what each received fd
 *                      reads from its start) with the same fds sent back,
 *                      until the end of the stream
 *   sandbox-report [ALLOWED [OUTSIDE [landlock-only]]]
 *                      send the probes of sandbox-probes.h (with the ones that
 *                      change the process, ptrace and unshare, unless
 *                      ALLOWED is "-"), then _exit() (a sanitizer's exit-time
 *                      checks need /proc and ptrace, which the sandbox denies)
 *   sandbox-echo       echo, then _exit() (as sandbox-report)
 *   sandbox-memory SMALL LARGE
 *                      send what malloc() of SMALL, then of LARGE bytes gave
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

#include "sandbox-probes.h"

static GipcChannel *
open_channel (guint index)
{
  g_autoptr(GError) error = NULL;
  GipcChannel *channel = gipc_channel_new_inherited (index, &error);

  if (channel == NULL)
    {
      g_printerr ("gipc-test-helper: %s\n", error->message);
      exit (100);
    }

  return channel;
}

static int
send_text (GipcChannel *channel,
           const char  *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  if (!gipc_channel_send (channel, bytes, NULL, &error))
    {
      g_printerr ("gipc-test-helper: send: %s\n", error->message);
      return 101;
    }

  return 0;
}

static int
report (const char *text)
{
  g_autoptr(GipcChannel) channel = open_channel (0);

  return send_text (channel, text);
}

static int
mode_echo (void)
{
  g_autoptr(GipcChannel) channel = open_channel (0);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) message = gipc_channel_receive (channel, NULL, &error);

      if (message == NULL)
        {
          if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED))
            return 0;
          g_printerr ("gipc-test-helper: receive: %s\n", error->message);
          return 102;
        }

      if (!gipc_channel_send (channel, message, NULL, &error))
        {
          g_printerr ("gipc-test-helper: send: %s\n", error->message);
          return 103;
        }
    }
}

static int
compare_ints (gconstpointer a,
              gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

/* Under valgrind with --trace-children=yes (tests/valgrind-run.py), this
 * program runs under its own valgrind, whose fds are not the program's:
 * its log file (a low number, in the directory valgrind-run.py made) and
 * the ones it keeps above the soft RLIMIT_NOFILE. */
static gboolean
is_valgrind_fd (int fd)
{
  struct rlimit limit;
  char path[64];
  char target[PATH_MAX];
  ssize_t len;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      (rlim_t) fd >= limit.rlim_cur)
    return TRUE;
  g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  len = readlink (path, target, sizeof target - 1);
  if (len <= 0)
    return FALSE;
  target[len] = '\0';
  return strstr (target, "/gipc-valgrind-") != NULL;
}

static char *
list_open_fds (void)
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  GString *text = g_string_new (NULL);
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;
  guint i;

  if (dir == NULL)
    return g_string_free (text, FALSE);

  while ((entry = readdir (dir)) != NULL)
    {
      int fd;

      if (entry->d_name[0] == '.')
        continue;
      fd = atoi (entry->d_name);
      if (fd == dirfd (dir) || is_valgrind_fd (fd))
        continue;
      g_array_append_val (fds, fd);
    }
  closedir (dir);

  g_array_sort (fds, compare_ints);
  for (i = 0; i < fds->len; i++)
    g_string_append_printf (text, "%s%d", i > 0 ? "," : "", g_array_index (fds, int, i));

  return g_string_free (text, FALSE);
}

static int
mode_report_fds (void)
{
  g_autofree char *fds = list_open_fds ();
  /* Read before open_channel(): new_inherited takes the variable out. */
  g_autofree char *env = g_strdup (g_getenv ("GIPC_CHANNEL_FDS"));
  g_autoptr(GipcChannel) channel = open_channel (0);

  if (send_text (channel, env != NULL ? env : "(unset)") != 0)
    return 101;
  return send_text (channel, fds);
}

static int
mode_report_fd_flags (void)
{
  const char *env = g_getenv ("GIPC_CHANNEL_FDS");
  g_auto(GStrv) pairs = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  guint i;

  if (env == NULL)
    return 104;

  /* Look before any channel is made: new_inherited changes the flags. */
  pairs = g_strsplit (env, ",", -1);
  for (i = 0; pairs[i] != NULL; i++)
    {
      g_auto(GStrv) fds = g_strsplit (pairs[i], ":", -1);
      guint k;

      for (k = 0; fds[k] != NULL; k++)
        {
          int fd = atoi (fds[k]);
          int fl, fdfl;

          if (fd < 0)
            continue;
          fl = fcntl (fd, F_GETFL);
          fdfl = fcntl (fd, F_GETFD);
          if (fl < 0 || fdfl < 0)
            {
              g_string_append_printf (text, "%s%d:closed", text->len > 0 ? "," : "", fd);
              continue;
            }
          g_string_append_printf (text, "%s%d:%s:%s", text->len > 0 ? "," : "", fd,
                                  (fl & O_NONBLOCK) ? "nonblocking" : "blocking",
                                  (fdfl & FD_CLOEXEC) ? "cloexec" : "inherit");
        }
    }

  return report (text->str);
}

static char *
status_field (const char *contents,
              const char *field)
{
  const char *line = strstr (contents, field);
  const char *end;

  if (line == NULL)
    return g_strdup ("?");
  line += strlen (field);
  while (*line == ' ' || *line == '\t')
    line++;
  end = strchr (line, '\n');

  return end != NULL ? g_strndup (line, (gsize) (end - line)) : g_strdup (line);
}

static int
mode_report_signals (void)
{
  g_autofree char *contents = NULL;
  g_autofree char *mask = NULL;
  g_autofree char *ignored = NULL;
  g_autofree char *caught = NULL;
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/self/status", &contents, NULL, NULL))
    return 105;

  mask = status_field (contents, "SigBlk:");
  ignored = status_field (contents, "SigIgn:");
  caught = status_field (contents, "SigCgt:");
  text = g_strdup_printf ("mask=%s ignored=%s caught=%s", mask, ignored, caught);

  return report (text);
}

static int
mode_bad_index (guint index)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (index, &error);
  g_autofree char *text = NULL;

  if (channel != NULL)
    return report ("unexpected success");

  text = g_strdup_printf ("%s %d %s", g_quark_to_string (error->domain),
                          error->code, error->message);
  return report (text);
}

static int
mode_fd_cat (void)
{
  g_autoptr(GipcChannel) channel = open_channel (0);

  if (!gipc_channel_get_can_pass_fds (channel))
    return send_text (channel, "cannot pass fds") == 0 ? 108 : 101;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GUnixFDList) fds = NULL;
      g_autoptr(GBytes) message = gipc_channel_receive_with_fds (channel, &fds, NULL, &error);
      g_autoptr(GString) reply = NULL;
      g_autoptr(GBytes) reply_bytes = NULL;
      int n_fds;

      if (message == NULL)
        return g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED) ? 0 : 103;

      reply = g_string_new_len (g_bytes_get_data (message, NULL), g_bytes_get_size (message));
      g_string_append_c (reply, ':');
      n_fds = fds != NULL ? g_unix_fd_list_get_length (fds) : 0;
      for (int i = 0; i < n_fds; i++)
        {
          const int *peek = g_unix_fd_list_peek_fds (fds, NULL);
          char buffer[256];
          ssize_t n = pread (peek[i], buffer, sizeof buffer, 0);

          if (n < 0 && errno == ESPIPE)
            n = read (peek[i], buffer, sizeof buffer);
          if (i > 0)
            g_string_append_c (reply, ',');
          if (n > 0)
            g_string_append_len (reply, buffer, n);
        }
      reply_bytes = g_string_free_to_bytes (g_steal_pointer (&reply));
      if (!gipc_channel_send_with_fds (channel, reply_bytes, fds, NULL, &error))
        {
          g_printerr ("gipc-test-helper: send: %s\n", error->message);
          return 101;
        }
    }
}

/* Reports, then leaves without the exit-time work of a sanitizer build. */
G_GNUC_NORETURN static void
report_and_exit (const char *text)
{
  int status = report (text);

  fflush (NULL);
  _exit (status);
}

static void
mode_sandbox_report (int   argc,
                     char *argv[])
{
  const char *allowed = argc > 2 ? argv[2] : NULL;
  const char *outside = argc > 3 ? argv[3] : NULL;
  gboolean control = g_strcmp0 (allowed, "-") == 0;
  gboolean landlock_only = argc > 4 && g_str_equal (argv[4], "landlock-only");
  g_autofree char *text = sandbox_probe_report (control ? NULL : allowed, outside,
                                                landlock_only ? SANDBOX_PROBE_LANDLOCK_ONLY
                                                : !control);

  report_and_exit (text);
}

int
main (int   argc,
      char *argv[])
{
  const char *mode;

  if (argc < 2)
    {
      g_printerr ("usage: gipc-test-helper MODE [ARG]\n");
      return 2;
    }
  mode = argv[1];

  if (g_str_equal (mode, "echo"))
    return mode_echo ();
  if (g_str_equal (mode, "exit") && argc > 2)
    return atoi (argv[2]);
  if (g_str_equal (mode, "sleep-forever"))
    {
      /* Keeps channel 0 open while it sleeps: its peer sees the end of
       * the stream only when this process dies. */
      GipcChannel *channel = NULL;

      if (g_getenv ("GIPC_CHANNEL_FDS") != NULL)
        {
          g_autofree char *pid = g_strdup_printf ("%d", (int) getpid ());

          channel = open_channel (0);
          if (send_text (channel, "ready") != 0 || send_text (channel, pid) != 0)
            return 106;
        }
      for (;;)
        pause ();
    }
  if (g_str_equal (mode, "kill-self"))
    {
      kill (getpid (), SIGKILL);
      return 107;
    }
  if (g_str_equal (mode, "report-env"))
    {
      const char *env = g_getenv ("GIPC_CHANNEL_FDS");

      return report (env != NULL ? env : "(unset)");
    }
  if (g_str_equal (mode, "report-fds"))
    return mode_report_fds ();
  if (g_str_equal (mode, "report-fd-flags"))
    return mode_report_fd_flags ();
  if (g_str_equal (mode, "report-stdio"))
    {
      g_autofree char *stdio = NULL;
      char targets[3][256];
      int fd;

      for (fd = 0; fd < 3; fd++)
        {
          char path[64];
          ssize_t len;

          g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
          len = readlink (path, targets[fd], sizeof targets[fd] - 1);
          targets[fd][len > 0 ? len : 0] = '\0';
        }
      stdio = g_strdup_printf ("%s\n%s\n%s", targets[0], targets[1], targets[2]);
      return report (stdio);
    }
  if (g_str_equal (mode, "report-signals"))
    return mode_report_signals ();
  if (g_str_equal (mode, "fd-cat"))
    return mode_fd_cat ();
  if (g_str_equal (mode, "bad-index") && argc > 2)
    return mode_bad_index ((guint) atoi (argv[2]));
  if (g_str_equal (mode, "sandbox-report"))
    mode_sandbox_report (argc, argv);
  if (g_str_equal (mode, "sandbox-echo"))
    {
      int status = mode_echo ();

      fflush (NULL);
      _exit (status);
    }
  if (g_str_equal (mode, "sandbox-memory") && argc > 3)
    {
      g_autofree char *text = sandbox_probe_memory (g_ascii_strtoull (argv[2], NULL, 10),
                                                    g_ascii_strtoull (argv[3], NULL, 10));

      report_and_exit (text);
    }

  g_printerr ("gipc-test-helper: unknown mode %s\n", mode);
  return 2;
}
