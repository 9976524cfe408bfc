/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * thumbnailer: a GTK 4 program that makes thumbnails of image files in a
 * pool of sandboxed worker processes, as an application would write it.
 *
 * - main() starts a GipcForkServer first thing, before GTK (and GLib's
 *   threads) exist; the pool's workers are children of that server.
 * - gipc_pool_new_for_target() makes the pool: two warm workers, each
 *   sandboxed (no network, no file system but what gdk-pixbuf needs and the
 *   images' directory, read-only) with a memory limit and a per-image
 *   timeout.
 * - Each image is one task: its path goes in, the thumbnail comes back as
 *   pixels in shared memory (a sealed memfd: no copy, whatever its size)
 *   and becomes a GdkTexture.
 * - A file that gdk-pixbuf cannot read gives that file an error (gdk-pixbuf's
 *   own GError, carried back); a file that crashes its worker gives that
 *   file GIPC_ERROR_WORKER_DIED, and the pool replaces the worker: the
 *   other files never notice.
 * - Progress, a Cancel button (cancels the queued and the running tasks),
 *   and a main loop that never waits: the longest stall of a 10 ms tick is
 *   printed at the end.
 *
 * Run: thumbnailer [OPTION...] DIR
 *   --headless        the same pool code without a window (no display needed)
 *   --exit-when-done  quit once every file has its outcome
 *   --cancel-after N  press Cancel after N outcomes (for tests)
 *   --screenshot FILE save a PNG of the window when done (GTK renders it)
 *   --memory-limit=MiB  each worker's address-space limit (default 512; 0:
 *                     none, e.g. under AddressSanitizer, which needs more)
 *   --check           exit 1 unless each file's outcome is what its name
 *                     says (ok-*: a thumbnail, bad-*: an error, crash-*: a
 *                     worker crash; anything after a cancel: cancelled)
 *
 * The test suite runs it under Xvfb when xvfb-run is there, headless
 * otherwise, on images made at test time by make-sample-images.
 */

#include <signal.h>
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gtk/gtk.h>

#include <gipc-glib/gipc-glib.h>

#define THUMBNAIL_SIZE 128
#define THUMBNAIL_MAGIC 0x7468756du  /* "thum" */

/* The head of a result; the pixels (RGBA, 8 bits a channel, not
 * premultiplied, as gdk-pixbuf has them) follow. */
typedef struct
{
  guint32 magic;
  guint32 width;
  guint32 height;
  guint32 stride;
} ThumbnailHeader;

/* ---- In the worker ---------------------------------------------------- */

static GBytes *
decode_thumbnail (GBytes        *request,
                  GUnixFDList   *fds,
                  GUnixFDList  **out_fds,
                  GCancellable  *cancellable,
                  gpointer       user_data,
                  GError       **error)
{
  g_autofree char *path = g_strndup (g_bytes_get_data (request, NULL), g_bytes_get_size (request));
  g_autoptr(GdkPixbuf) loaded = NULL;
  g_autoptr(GdkPixbuf) oriented = NULL;
  g_autoptr(GdkPixbuf) rgba = NULL;
  g_autofree char *head = NULL;
  ThumbnailHeader header;
  GBytes *result;
  gpointer memory;
  gsize length = 0;
  int width = 0, height = 0;
  int y;

  /* Stands in for a decoder bug. Real image loaders have crashed on crafted
   * files (gdk-pixbuf's own history has several); gdk-pixbuf reports the
   * files made here as errors, so the example crashes on purpose on the
   * one file that says so, to show what a crash costs: that file's task,
   * nothing else. */
  if (g_file_get_contents (path, &head, &length, NULL) &&
      g_strstr_len (head, (gssize) length, "gipc-thumbnailer-example: crash the decoder") != NULL)
    raise (SIGSEGV);

  /* At most THUMBNAIL_SIZE a side, never larger than the image. */
  if (gdk_pixbuf_get_file_info (path, &width, &height) != NULL &&
      width > 0 && width <= THUMBNAIL_SIZE && height > 0 && height <= THUMBNAIL_SIZE)
    loaded = gdk_pixbuf_new_from_file (path, error);
  else
    loaded = gdk_pixbuf_new_from_file_at_scale (path, THUMBNAIL_SIZE, THUMBNAIL_SIZE, TRUE, error);
  if (loaded == NULL)
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  oriented = gdk_pixbuf_apply_embedded_orientation (loaded);
  rgba = gdk_pixbuf_add_alpha (oriented, FALSE, 0, 0, 0);

  header.magic = THUMBNAIL_MAGIC;
  header.width = (guint32) gdk_pixbuf_get_width (rgba);
  header.height = (guint32) gdk_pixbuf_get_height (rgba);
  header.stride = header.width * 4;

  /* Shared memory: the result travels as a sealed memfd, not a copy. */
  result = gipc_shared_bytes_new (sizeof header + (gsize) header.stride * header.height, &memory, error);
  if (result == NULL)
    return NULL;
  memcpy (memory, &header, sizeof header);
  for (y = 0; y < (int) header.height; y++)
    memcpy ((guint8 *) memory + sizeof header + (gsize) y * header.stride,
            gdk_pixbuf_read_pixels (rgba) + (gsize) y * gdk_pixbuf_get_rowstride (rgba),
            header.stride);
  return result;
}

/* The fork server's target: one worker, serving tasks until the pool stops
 * it. */
static gint
thumbnail_worker (GipcProcess *process,
                  GVariant    *args,
                  gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);

  if (channel == NULL)
    return 1;
  return gipc_worker_serve (channel, decode_thumbnail, NULL);
}

/* ---- In the program ---------------------------------------------------- */

typedef enum
{
  OUTCOME_PENDING,
  OUTCOME_THUMBNAIL,
  OUTCOME_ERROR,
  OUTCOME_CRASH,
  OUTCOME_CANCELLED,
} Outcome;

typedef struct _Thumbnailer Thumbnailer;

typedef struct
{
  Thumbnailer *thumbnailer;
  char        *path;
  char        *name;
  Outcome      outcome;
  gboolean     after_cancel;
  GtkWidget   *picture;
  GtkWidget   *label;
} Item;

struct _Thumbnailer
{
  GipcPool     *pool;
  GCancellable *cancellable;
  GPtrArray    *items;
  guint         n_done;
  guint         counts[OUTCOME_CANCELLED + 1];
  gboolean      cancel_pressed;

  /* Options */
  gboolean      headless;
  gboolean      exit_when_done;
  gboolean      check;
  guint         cancel_after;
  char         *screenshot;

  /* The workers: how many started, and the sandbox the last one has. */
  guint         n_workers_started;
  GipcSandboxFlags sandbox_applied;

  /* Responsiveness: a 10 ms tick, and the longest gap between two. */
  guint         ticks;
  gint64        last_tick;
  gint64        longest_stall;

  GMainLoop    *loop;
  GtkWidget    *window;
  GtkWidget    *progress;
  GtkWidget    *status;
  GtkWidget    *cancel_button;
  int           exit_status;
};

static void
item_free (gpointer data)
{
  Item *item = data;

  g_free (item->path);
  g_free (item->name);
  g_free (item);
}

static gboolean
tick_cb (gpointer user_data)
{
  Thumbnailer *self = user_data;
  gint64 now = g_get_monotonic_time ();

  if (self->last_tick != 0)
    self->longest_stall = MAX (self->longest_stall, now - self->last_tick);
  self->last_tick = now;
  self->ticks++;
  return G_SOURCE_CONTINUE;
}

static void
press_cancel (Thumbnailer *self)
{
  guint i;

  if (self->cancel_pressed)
    return;
  self->cancel_pressed = TRUE;
  for (i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);
      if (item->outcome == OUTCOME_PENDING)
        item->after_cancel = TRUE;
    }
  g_cancellable_cancel (self->cancellable);
  if (self->cancel_button != NULL)
    gtk_widget_set_sensitive (self->cancel_button, FALSE);
}

static void
cancel_clicked_cb (GtkButton *button,
                   gpointer   user_data)
{
  press_cancel (user_data);
}

static const char *
outcome_name (Outcome outcome)
{
  switch (outcome)
    {
    case OUTCOME_THUMBNAIL: return "thumbnail";
    case OUTCOME_ERROR: return "error";
    case OUTCOME_CRASH: return "worker crash";
    case OUTCOME_CANCELLED: return "cancelled";
    case OUTCOME_PENDING:
    default: return "pending";
    }
}

static Outcome
expected_outcome (Item *item)
{
  if (item->after_cancel)
    return OUTCOME_CANCELLED;
  if (g_str_has_prefix (item->name, "ok-"))
    return OUTCOME_THUMBNAIL;
  if (g_str_has_prefix (item->name, "crash-"))
    return OUTCOME_CRASH;
  return OUTCOME_ERROR;
}

static gboolean
save_screenshot (Thumbnailer *self)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (self->window);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (self->window);
  int height = gtk_widget_get_height (self->window);

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    return FALSE;
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (self->window)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  return gdk_texture_save_to_png (texture, self->screenshot);
}

static gboolean
finish_cb (gpointer user_data)
{
  Thumbnailer *self = user_data;

  if (self->screenshot != NULL && self->window != NULL)
    {
      if (save_screenshot (self))
        g_print ("thumbnailer: screenshot saved to %s\n", self->screenshot);
      else
        g_printerr ("thumbnailer: could not save a screenshot\n");
    }
  if (self->exit_when_done || self->headless)
    g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

static void
all_done (Thumbnailer *self)
{
  gboolean as_expected = TRUE;
  guint i;

  for (i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);
      if (item->outcome != expected_outcome (item))
        {
          g_print ("thumbnailer: %s: expected %s, got %s\n", item->name,
                   outcome_name (expected_outcome (item)), outcome_name (item->outcome));
          as_expected = FALSE;
        }
    }
  g_print ("thumbnailer: %u workers started, sandboxed: %s%s\n", self->n_workers_started,
           (self->sandbox_applied & GIPC_SANDBOX_FLAGS_NO_NETWORK) ? "no network, " : "network, ",
           (self->sandbox_applied & GIPC_SANDBOX_FLAGS_NO_FILESYSTEM) ? "no file system" : "file system");
  if (self->n_workers_started > 0 &&
      (self->sandbox_applied & (GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_NO_FILESYSTEM)) !=
      (GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_NO_FILESYSTEM))
    as_expected = FALSE;
  g_print ("thumbnailer: %u files: %u thumbnails, %u errors, %u worker crash%s, %u cancelled; %s; "
           "the main loop ticked %u times, longest stall %" G_GINT64_FORMAT " ms\n",
           self->items->len, self->counts[OUTCOME_THUMBNAIL], self->counts[OUTCOME_ERROR],
           self->counts[OUTCOME_CRASH], self->counts[OUTCOME_CRASH] == 1 ? "" : "es",
           self->counts[OUTCOME_CANCELLED],
           as_expected ? "every outcome as expected" : "SOME OUTCOMES UNEXPECTED",
           self->ticks, self->longest_stall / 1000);
  if (self->check && !as_expected)
    self->exit_status = 1;
  if (self->status != NULL)
    gtk_label_set_text (GTK_LABEL (self->status), "Done");
  if (self->cancel_button != NULL)
    gtk_widget_set_sensitive (self->cancel_button, FALSE);
  /* Give GTK a moment to draw the last thumbnails before a screenshot. */
  g_timeout_add (self->screenshot != NULL ? 500 : 0, finish_cb, self);
}

static void
show_thumbnail (Item   *item,
                GBytes *result)
{
  const ThumbnailHeader *header;
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (result, &size);
  g_autoptr(GBytes) pixels = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  header = (const ThumbnailHeader *) data;
  pixels = g_bytes_new_from_bytes (result, sizeof *header, size - sizeof *header);
  texture = gdk_memory_texture_new ((int) header->width, (int) header->height,
                                    GDK_MEMORY_R8G8B8A8, pixels, header->stride);
  gtk_picture_set_paintable (GTK_PICTURE (item->picture), GDK_PAINTABLE (texture));
}

/* For --check: make-sample-images draws red growing left to right and
 * green top to bottom; the thumbnail's corners must show it. */
static gboolean
pixels_look_right (const ThumbnailHeader *header)
{
  const guint8 *pixels = (const guint8 *) (header + 1);
  const guint8 *first = pixels;
  const guint8 *last = pixels + (gsize) (header->height - 1) * header->stride + (header->width - 1) * 4;

  return first[0] < 48 && first[1] < 48 && last[0] > 192 && last[1] > 192;
}

static void
thumbnail_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Item *item = user_data;
  Thumbnailer *self = item->thumbnailer;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) thumbnail = gipc_pool_run_finish (GIPC_POOL (source), result, NULL, &error);
  g_autofree char *text = NULL;

  if (thumbnail != NULL)
    {
      const ThumbnailHeader *header = g_bytes_get_data (thumbnail, NULL);
      gsize size = g_bytes_get_size (thumbnail);

      if (size < sizeof *header || header->magic != THUMBNAIL_MAGIC ||
          header->width == 0 || header->width > THUMBNAIL_SIZE ||
          header->height == 0 || header->height > THUMBNAIL_SIZE ||
          header->stride != header->width * 4 ||
          size != sizeof *header + (gsize) header->stride * header->height)
        {
          item->outcome = OUTCOME_ERROR;
          text = g_strdup ("error: not a thumbnail");
        }
      else if (self->check && !pixels_look_right (header))
        {
          item->outcome = OUTCOME_ERROR;
          text = g_strdup ("error: the pixels are not the image's");
        }
      else
        {
          item->outcome = OUTCOME_THUMBNAIL;
          text = g_strdup_printf ("thumbnail %ux%u", header->width, header->height);
          if (item->picture != NULL)
            show_thumbnail (item, thumbnail);
        }
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      item->outcome = OUTCOME_CANCELLED;
      text = g_strdup ("cancelled");
    }
  else if (g_error_matches (error, GIPC_ERROR, GIPC_ERROR_WORKER_DIED))
    {
      item->outcome = OUTCOME_CRASH;
      text = g_strdup_printf ("worker crash: %s", error->message);
    }
  else
    {
      item->outcome = OUTCOME_ERROR;
      text = g_strdup_printf ("error: %s (%s %d)", error->message,
                              g_quark_to_string (error->domain), error->code);
    }

  self->counts[item->outcome]++;
  self->n_done++;
  g_print ("thumbnailer: %s: %s\n", item->name, text);
  if (item->label != NULL)
    {
      g_autofree char *label = g_strdup_printf ("%s\n%s", item->name,
                                                item->outcome == OUTCOME_THUMBNAIL ? "" : outcome_name (item->outcome));
      gtk_label_set_text (GTK_LABEL (item->label), label);
    }
  if (self->progress != NULL)
    {
      g_autofree char *progress = g_strdup_printf ("%u of %u", self->n_done, self->items->len);
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->progress),
                                     (double) self->n_done / self->items->len);
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->progress), progress);
    }

  if (self->cancel_after != 0 && self->n_done == self->cancel_after)
    press_cancel (self);
  if (self->n_done == self->items->len)
    all_done (self);
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

static gboolean
list_images (Thumbnailer *self,
             const char  *dir_path,
             GError     **error)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  guint i;

  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);  /* a stable order */
  for (i = 0; i < names->len; i++)
    {
      Item *item = g_new0 (Item, 1);

      item->thumbnailer = self;
      item->name = g_strdup (g_ptr_array_index (names, i));
      item->path = g_build_filename (dir_path, item->name, NULL);
      g_ptr_array_add (self->items, item);
    }
  return TRUE;
}

static void
build_window (Thumbnailer *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *flow = gtk_flow_box_new ();
  guint i;

  self->window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (self->window), "Thumbnails (gipc-glib pool)");
  gtk_window_set_default_size (GTK_WINDOW (self->window), 760, 560);
  g_signal_connect_swapped (self->window, "destroy", G_CALLBACK (g_main_loop_quit), self->loop);

  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);

  self->status = gtk_label_new ("Making thumbnails in sandboxed workers…");
  gtk_widget_set_hexpand (self->status, TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->status), 0);
  self->cancel_button = gtk_button_new_with_label ("Cancel");
  g_signal_connect (self->cancel_button, "clicked", G_CALLBACK (cancel_clicked_cb), self);
  gtk_box_append (GTK_BOX (bar), self->status);
  gtk_box_append (GTK_BOX (bar), self->cancel_button);

  self->progress = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (self->progress), TRUE);

  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (flow), GTK_SELECTION_NONE);
  gtk_flow_box_set_homogeneous (GTK_FLOW_BOX (flow), TRUE);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (flow), 5);
  for (i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);
      GtkWidget *cell = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);

      item->picture = gtk_picture_new ();
      gtk_picture_set_content_fit (GTK_PICTURE (item->picture), GTK_CONTENT_FIT_SCALE_DOWN);
      gtk_widget_set_size_request (item->picture, THUMBNAIL_SIZE, THUMBNAIL_SIZE);
      item->label = gtk_label_new (item->name);
      gtk_label_set_justify (GTK_LABEL (item->label), GTK_JUSTIFY_CENTER);
      gtk_box_append (GTK_BOX (cell), item->picture);
      gtk_box_append (GTK_BOX (cell), item->label);
      gtk_flow_box_append (GTK_FLOW_BOX (flow), cell);
    }
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), flow);
  gtk_widget_set_vexpand (scrolled, TRUE);

  gtk_box_append (GTK_BOX (box), bar);
  gtk_box_append (GTK_BOX (box), self->progress);
  gtk_box_append (GTK_BOX (box), scrolled);
  gtk_window_set_child (GTK_WINDOW (self->window), box);
  gtk_window_present (GTK_WINDOW (self->window));
}

static void
worker_started_cb (GipcPool    *pool,
                   GipcProcess *worker,
                   gpointer     user_data)
{
  Thumbnailer *self = user_data;

  self->n_workers_started++;
  self->sandbox_applied = gipc_process_get_sandbox_applied (worker);
}

static GipcPool *
make_pool (GipcForkServer *server,
           const char     *images_dir,
           guint           memory_limit_mib)
{
  GipcPool *pool = gipc_pool_new_for_target (server, "thumbnail", NULL);

  g_object_set (pool,
                "max-workers", 2,
                "task-timeout", 30000,                   /* ms */
                "memory-limit", (guint64) memory_limit_mib << 20,
                NULL);
  gipc_pool_set_sandbox (pool, GIPC_SANDBOX_FLAGS_NO_NETWORK | GIPC_SANDBOX_FLAGS_NO_FILESYSTEM);
  /* What gdk-pixbuf reads lazily (its loaders and their cache, the MIME
   * database, the libraries dlopen() finds through the linker's cache),
   * and the images. */
  gipc_pool_sandbox_allow_system_data (pool);
  gipc_pool_sandbox_allow_path (pool, images_dir, FALSE);
  return pool;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GipcForkServer) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) options = NULL;
  g_autofree char *images_dir = NULL;
  Thumbnailer self = { 0 };
  gint memory_limit_mib = 512;
  GOptionEntry entries[] = {
    { "headless", 0, 0, G_OPTION_ARG_NONE, &self.headless, "No window: the same pool code, headless", NULL },
    { "exit-when-done", 0, 0, G_OPTION_ARG_NONE, &self.exit_when_done, "Quit when every file has its outcome", NULL },
    { "cancel-after", 0, 0, G_OPTION_ARG_INT, &self.cancel_after, "Press Cancel after N outcomes", "N" },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &self.screenshot, "Save a PNG of the window when done", "FILE" },
    { "check", 0, 0, G_OPTION_ARG_NONE, &self.check, "Fail unless every outcome is the expected one", NULL },
    { "memory-limit", 0, 0, G_OPTION_ARG_INT, &memory_limit_mib, "Each worker's memory limit (default 512, 0: none)", "MiB" },
    { NULL }
  };
  guint tick_id;
  guint i;

  /* First thing: the fork server, a single-threaded copy of the program
   * that the pool's workers are forked from. */
  server = gipc_fork_server_new ();
  gipc_fork_server_add_target (server, "thumbnail", thumbnail_worker, NULL, NULL);
  if (!gipc_fork_server_start (server, &error))
    {
      g_printerr ("thumbnailer: %s\n", error->message);
      return 1;
    }

  options = g_option_context_new ("DIR - make thumbnails of the images in DIR");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("thumbnailer: %s\n", error != NULL ? error->message : "one DIR, please");
      return 2;
    }
  images_dir = g_canonicalize_filename (argv[1], NULL);

  /* So that gdk-pixbuf's errors come back as themselves. */
  (void) gdk_pixbuf_error_quark ();

  if (!self.headless && !gtk_init_check ())
    {
      g_printerr ("thumbnailer: no display; use --headless\n");
      return 1;
    }

  self.items = g_ptr_array_new_with_free_func (item_free);
  if (!list_images (&self, images_dir, &error))
    {
      g_printerr ("thumbnailer: %s\n", error->message);
      return 1;
    }
  self.loop = g_main_loop_new (NULL, FALSE);
  self.cancellable = g_cancellable_new ();
  self.pool = make_pool (server, images_dir, (guint) memory_limit_mib);
  g_signal_connect (self.pool, "worker-started", G_CALLBACK (worker_started_cb), &self);
  if (!self.headless)
    build_window (&self);
  tick_id = g_timeout_add (10, tick_cb, &self);

  g_print ("thumbnailer: %u files in %s, %s\n", self.items->len, images_dir,
           self.headless ? "headless" : "in a window");
  for (i = 0; i < self.items->len; i++)
    {
      Item *item = g_ptr_array_index (self.items, i);
      g_autoptr(GBytes) request = g_bytes_new (item->path, strlen (item->path));

      gipc_pool_run_async (self.pool, request, NULL, self.cancellable, thumbnail_done_cb, item);
    }
  if (self.items->len == 0)
    all_done (&self);

  g_main_loop_run (self.loop);

  g_source_remove (tick_id);
  if (self.n_done != self.items->len)
    {
      /* The window was closed early: dropping the pool cancels the rest. */
      press_cancel (&self);
      g_print ("thumbnailer: closed with %u of %u done\n", self.n_done, self.items->len);
    }
  if (self.window != NULL && gtk_widget_get_realized (self.window))
    gtk_window_destroy (GTK_WINDOW (self.window));
  g_clear_object (&self.pool);
  g_clear_object (&self.cancellable);
  g_ptr_array_unref (self.items);
  g_main_loop_unref (self.loop);
  g_free (self.screenshot);
  return self.exit_status;
}
