/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * Channels inherited from a parent in spawn mode: the fds announced in
 * GIPC_CHANNEL_FDS ("R:W,R:W,...", -1 for a missing direction, the same fd
 * twice for a socket), each handed out once by
 * gipc_channel_new_inherited(). Only the public constructor
 * gipc_channel_new_from_fds() is used here. The environment is only read,
 * never changed (setenv/unsetenv are unsafe once a thread exists).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gipc-channel.h"
#include "gipc-error.h"
#include "gipc-transport-private.h"

static gboolean
parse_fd (const char  *text,
          int         *fd)
{
  guint64 value;

  if (g_strcmp0 (text, "-1") == 0)
    {
      *fd = -1;
      return TRUE;
    }

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT, &value, NULL))
    return FALSE;

  *fd = (int) value;
  return TRUE;
}

/* The channels announced in GIPC_CHANNEL_FDS, parsed once per value of
 * the variable. Each is handed out once. */
typedef struct
{
  int      read_fd;
  int      write_fd;
  gboolean valid;     /* the pair parsed */
  gboolean taken;     /* given to a channel */
} InheritedChannel;

static GMutex inherited_mutex;
static GArray *inherited;        /* InheritedChannel */
static char *inherited_env;      /* the value they were parsed from */

static void
inherited_mark_cloexec (int fd)
{
  int flags;

  if (fd < 0)
    return;
  flags = fcntl (fd, F_GETFD);
  if (flags >= 0)
    (void) fcntl (fd, F_SETFD, flags | FD_CLOEXEC);
}

/* Parses @env into the table and makes every announced fd close-on-exec,
 * so that they do not reach the programs this one spawns. The variable
 * stays: gipc's spawn mode sets or removes it for each child, and an fd
 * that is not a pipe or socket is refused below. Called with
 * inherited_mutex held. */
static void
inherited_parse (const char *env)
{
  g_auto(GStrv) pairs = g_strsplit (env, ",", -1);

  g_clear_pointer (&inherited, g_array_unref);
  g_free (inherited_env);
  inherited_env = g_strdup (env);
  inherited = g_array_new (FALSE, TRUE, sizeof (InheritedChannel));

  for (guint i = 0; pairs[i] != NULL; i++)
    {
      g_auto(GStrv) fds = g_strsplit (pairs[i], ":", -1);
      InheritedChannel entry = { -1, -1, FALSE, FALSE };

      if (g_strv_length (fds) == 2 &&
          parse_fd (fds[0], &entry.read_fd) && parse_fd (fds[1], &entry.write_fd) &&
          (entry.read_fd >= 0 || entry.write_fd >= 0))
        {
          entry.valid = TRUE;
          inherited_mark_cloexec (entry.read_fd);
          inherited_mark_cloexec (entry.write_fd);
        }
      g_array_append_val (inherited, entry);
    }
}

/* A channel fd is a pipe or a socket; anything else means the variable
 * was not meant for this process (a program started by other means than
 * gipc inherited it with fds that are closed or reused). */
static gboolean
inherited_fd_usable (int fd)
{
  struct stat st;

  if (fd < 0)
    return TRUE;
  if (fstat (fd, &st) < 0)
    return FALSE;
  if (!S_ISFIFO (st.st_mode) && !S_ISSOCK (st.st_mode))
    {
      errno = ENOTSOCK;
      return FALSE;
    }
  return TRUE;
}

/**
 * gipc_channel_new_inherited:
 * @index: which of the passed channels: 0 for the first
 * @error: return location for a #GError
 *
 * In a program started by [ctor@Gipc.Process.new_for_argv], makes the
 * @index-th channel passed to it (in pass order) from the fds announced in
 * the `GIPC_CHANNEL_FDS` environment variable: one `READFD:WRITEFD` pair
 * per channel, comma-separated, `-1` for an absent direction (for example
 * `3:-1,4:5`). A program in any language can parse it the same way.
 *
 * Each channel is handed out once: a second call for the same @index fails
 * (two channels must never own one fd). The first call makes every
 * announced fd close-on-exec, so that none reaches the programs this one
 * starts; the channels not yet made stay available to later calls. Make
 * it before starting other programs. The environment is never changed
 * (safe with threads): `GIPC_CHANNEL_FDS` stays set. Processes started by
 * [ctor@Gipc.Process.new_for_argv] get their own value (or none); a
 * program started by other means inherits it with its fds closed, and
 * its `new_inherited` fails (an announced fd that is not an open pipe or
 * socket is refused). Remove it from such a program's environment
 * (`g_environ_unsetenv()`) to be tidy.
 *
 * Returns: (transfer full): a new channel, or %NULL with
 *   %GIPC_ERROR_FAILED when there is no such channel, or it was already
 *   made
 *
 * Since: 1.0
 */
GipcChannel *
gipc_channel_new_inherited (guint    index,
                            GError **error)
{
  const char *env;
  InheritedChannel *entry;
  int read_fd, write_fd;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&inherited_mutex);

  /* Parsed again only if the value changed (a fork-server child gets its
   * own): otherwise the table, with what was taken, stays. */
  env = g_getenv ("GIPC_CHANNEL_FDS");
  if (env != NULL && g_strcmp0 (env, inherited_env) != 0)
    inherited_parse (env);

  if (inherited == NULL)
    {
      g_mutex_unlock (&inherited_mutex);
      g_set_error_literal (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                           "No inherited channels: GIPC_CHANNEL_FDS is not set "
                           "(was this program started by gipc_process_new_for_argv?)");
      return NULL;
    }

  if (index >= inherited->len)
    {
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "No inherited channel %u: GIPC_CHANNEL_FDS (\"%s\") announces %u",
                   index, inherited_env, inherited->len);
      g_mutex_unlock (&inherited_mutex);
      return NULL;
    }

  entry = &g_array_index (inherited, InheritedChannel, index);
  if (!entry->valid)
    {
      g_auto(GStrv) pairs = g_strsplit (inherited_env, ",", -1);

      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Inherited channel %u: \"%s\" in GIPC_CHANNEL_FDS is not READFD:WRITEFD",
                   index, pairs[index]);
      g_mutex_unlock (&inherited_mutex);
      return NULL;
    }

  if (entry->taken)
    {
      g_mutex_unlock (&inherited_mutex);
      g_set_error (error, GIPC_ERROR, GIPC_ERROR_FAILED,
                   "Inherited channel %u (GIPC_CHANNEL_FDS) was already made: "
                   "each inherited channel is handed out once", index);
      return NULL;
    }

  read_fd = entry->read_fd;
  write_fd = entry->write_fd;
  if (!inherited_fd_usable (read_fd) || !inherited_fd_usable (write_fd))
    {
      int errsv = errno;

      g_mutex_unlock (&inherited_mutex);
      gipc_transport_set_io_error (error, errsv,
                                   errsv == EBADF
                                   ? "Inherited channel fd (GIPC_CHANNEL_FDS) is not open"
                                   : "Inherited channel fd (GIPC_CHANNEL_FDS) is not a pipe or socket");
      return NULL;
    }

  entry->taken = TRUE;
  g_mutex_unlock (&inherited_mutex);

  return gipc_channel_new_from_fds (read_fd, write_fd, error);
}
