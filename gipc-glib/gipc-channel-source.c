/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

#include "config.h"

#include "gipc-channel-source-private.h"

typedef struct
{
  GSource                source;

  /* A watched fd is in the poll set only while it is wanted: an fd kept
   * with no events still reports POLLHUP/POLLERR once its peer is gone,
   * which would make the source ready on every iteration. */
  int                    read_fd;
  int                    write_fd;
  gpointer               read_tag;     /* non-NULL while watched */
  gpointer               write_tag;
  guint64                generation;

  GipcChannelSourceFunc        func;
  GipcChannelSourceWakeupFunc  wakeup_func;
  gpointer                     channel;
} GipcChannelSource;

#define WATCH_READ  (G_IO_IN | G_IO_HUP | G_IO_ERR)
#define WATCH_WRITE (G_IO_OUT | G_IO_ERR)

static gboolean
gipc_channel_source_prepare (GSource *source,
                             gint    *timeout)
{
  GipcChannelSource *self = (GipcChannelSource *) source;
  gint64 wakeup = self->wakeup_func (self->channel);

  self->generation++;

  if (wakeup == 0)
    {
      *timeout = 0;
      return TRUE;
    }

  if (wakeup > 0)
    {
      gint64 now = g_get_monotonic_time ();

      if (wakeup <= now)
        {
          *timeout = 0;
          return TRUE;
        }
      *timeout = (gint) MIN ((wakeup - now + 999) / 1000, G_MAXINT);
    }
  else
    *timeout = -1;

  return FALSE;
}

static gboolean
gipc_channel_source_check (GSource *source)
{
  GipcChannelSource *self = (GipcChannelSource *) source;
  gint64 wakeup = self->wakeup_func (self->channel);

  return wakeup == 0 || (wakeup > 0 && wakeup <= g_get_monotonic_time ());
}

static gboolean
gipc_channel_source_dispatch (GSource     *source,
                              GSourceFunc  callback,
                              gpointer     user_data)
{
  GipcChannelSource *self = (GipcChannelSource *) source;
  GIOCondition read_revents = 0;
  GIOCondition write_revents = 0;

  if (self->read_tag != NULL)
    read_revents = g_source_query_unix_fd (source, self->read_tag);
  if (self->write_tag != NULL)
    write_revents = g_source_query_unix_fd (source, self->write_tag);

  self->func (self->channel, read_revents, write_revents);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs gipc_channel_source_funcs = {
  gipc_channel_source_prepare,
  gipc_channel_source_check,
  gipc_channel_source_dispatch,
  NULL,
  NULL,
  NULL,
};

GSource *
gipc_channel_source_new (int                          read_fd,
                         int                          write_fd,
                         GipcChannelSourceFunc        func,
                         GipcChannelSourceWakeupFunc  wakeup_func,
                         gpointer                     channel)
{
  GipcChannelSource *self;
  GSource *source;

  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (wakeup_func != NULL, NULL);

  source = g_source_new (&gipc_channel_source_funcs, sizeof (GipcChannelSource));
  self = (GipcChannelSource *) source;
  g_source_set_static_name (source, "[gipc-channel]");
  /* GLib 2.74 blocks a non-recursive source while it dispatches, which
   * removes and re-adds its fds and signals the context's wakeup fd twice
   * per dispatch. The channel's dispatch is re-entrant instead (a callback
   * may run a nested main loop that needs this channel). */
  g_source_set_can_recurse (source, TRUE);

  self->func = func;
  self->wakeup_func = wakeup_func;
  self->channel = channel;
  self->read_fd = read_fd;
  self->write_fd = write_fd;

  return source;
}

/* Adds @fd to the poll set with @events, or takes it out (events 0). */
static void
watch_fd (GSource   *source,
          int        fd,
          gpointer  *tag,
          gboolean   want,
          GIOCondition events)
{
  if (fd < 0 || (*tag != NULL) == want)
    return;

  if (want)
    *tag = g_source_add_unix_fd (source, fd, events);
  else
    {
      /* A destroyed source has dropped its fds already. */
      if (!g_source_is_destroyed (source))
        g_source_remove_unix_fd (source, *tag);
      *tag = NULL;
    }
}

void
gipc_channel_source_want_read (GSource  *source,
                               gboolean  want)
{
  GipcChannelSource *self = (GipcChannelSource *) source;

  watch_fd (source, self->read_fd, &self->read_tag, !!want, WATCH_READ);
}

void
gipc_channel_source_want_write (GSource  *source,
                                gboolean  want)
{
  GipcChannelSource *self = (GipcChannelSource *) source;

  watch_fd (source, self->write_fd, &self->write_tag, !!want, WATCH_WRITE);
}

guint64
gipc_channel_source_get_generation (GSource *source)
{
  return ((GipcChannelSource *) source)->generation;
}
