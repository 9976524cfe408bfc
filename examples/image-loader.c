/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * An image loader in the style of glycin: a real decoder (gdk-pixbuf)
 * decodes PNG and JPEG files in a sandboxed child. The parent hands each
 * open file to the child, which answers with the size and the pixels in
 * shared memory: the file's bytes never travel over the channel, and the
 * pixels are not copied on their way back (the parent maps the child's
 * buffer read-only).
 *
 * The child has no filesystem and no network (NO_FILESYSTEM |
 * NO_NETWORK) and a memory limit, and it is allowed the system's
 * read-only data (gipc_process_sandbox_allow_system_data): gdk-pixbuf
 * reads the MIME database and its loaders lazily, at the first image,
 * inside the sandbox. Without that call every image fails with
 * "Unrecognized image file format".
 *
 * It runs the same decoder twice: in a fork server's child (started first
 * thing in main) and in spawn mode (this program again, with --decoder),
 * and checks the pixels both times. The test images are made with
 * gdk-pixbuf itself.
 *
 *   image-loader [FILE...]      decode FILEs too (any format gdk-pixbuf reads)
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <gipc-glib/gipc-glib.h>

#define WIDTH  640
#define HEIGHT 480

/* The sandbox of a decoder, and its memory (address space) limit. */
#define DECODER_SANDBOX (GIPC_SANDBOX_FLAGS_NO_FILESYSTEM | GIPC_SANDBOX_FLAGS_NO_NETWORK)
#define DECODER_MEMORY_LIMIT ((guint64) 2 * 1024 * 1024 * 1024)

/* ---------------------------------------------------------------------- */
/* The child: gdk-pixbuf, on the files it is handed */

/* Decodes the file @fd (any format gdk-pixbuf knows, found from its
 * content) into RGBA pixels in shared memory. Takes @fd. */
static GBytes *
decode (int       fd,
        guint    *width,
        guint    *height,
        GError  **error)
{
  g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  g_autoptr(GdkPixbuf) rgba = NULL;
  g_autoptr(GBytes) pixels = NULL;
  GdkPixbuf *pixbuf;
  guint8 *out = NULL;
  const guint8 *in;
  guint8 buffer[65536];
  gssize n;
  int w, h, stride;

  while ((n = read (fd, buffer, sizeof buffer)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "read: %s", g_strerror (errno));
          close (fd);
          gdk_pixbuf_loader_close (loader, NULL);
          return NULL;
        }
      if (!gdk_pixbuf_loader_write (loader, buffer, (gsize) n, error))
        {
          close (fd);
          gdk_pixbuf_loader_close (loader, NULL);
          return NULL;
        }
    }
  close (fd);
  if (!gdk_pixbuf_loader_close (loader, error))
    return NULL;

  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  rgba = gdk_pixbuf_add_alpha (pixbuf, FALSE, 0, 0, 0);
  w = gdk_pixbuf_get_width (rgba);
  h = gdk_pixbuf_get_height (rgba);
  stride = gdk_pixbuf_get_rowstride (rgba);
  in = gdk_pixbuf_read_pixels (rgba);

  pixels = gipc_shared_bytes_new ((gsize) w * h * 4, (gpointer *) &out, error);
  if (pixels == NULL)
    return NULL;
  for (int y = 0; y < h; y++)
    memcpy (out + (gsize) y * w * 4, in + (gsize) y * stride, (gsize) w * 4);

  *width = (guint) w;
  *height = (guint) h;
  return g_steal_pointer (&pixels);
}

/* For each request (a message with the file's fd): "(uus)", the size and
 * an error message ("" if none), then the pixels if it decoded. */
static gint
serve (GipcChannel *channel)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) decode_error = NULL;
      g_autoptr(GUnixFDList) fds = NULL;
      g_autoptr(GBytes) request = gipc_channel_receive_with_fds (channel, &fds, NULL, &error);
      g_autoptr(GBytes) pixels = NULL;
      guint width = 0, height = 0;

      if (request == NULL)
        return g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED) ? 0 : 1;
      if (fds == NULL || g_unix_fd_list_get_length (fds) != 1)
        return 2;

      /* The sandbox forbids opening the file by its name; reading the fd
       * it was handed is fine. */
      pixels = decode (g_unix_fd_list_get (fds, 0, NULL), &width, &height, &decode_error);
      if (!gipc_channel_send_variant (channel,
                                      g_variant_new ("(uus)", width, height,
                                                     decode_error != NULL ? decode_error->message : ""),
                                      NULL, &error) ||
          (pixels != NULL && !gipc_channel_send (channel, pixels, NULL, &error)))
        return 4;
    }
}

/* In a fork server's child. */
static gint
decoder_target (GipcProcess *process,
                GVariant    *args,
                gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, NULL);

  return channel != NULL ? serve (channel) : 5;
}

/* ---------------------------------------------------------------------- */
/* The parent */

/* The expected pixel at (x, y): a gradient with a square in the middle. */
static void
expected_pixel (int     x,
                int     y,
                guint8 *rgb)
{
  gboolean square = x >= WIDTH / 4 && x < WIDTH * 3 / 4 && y >= HEIGHT / 4 && y < HEIGHT * 3 / 4;

  rgb[0] = (guint8) (x * 255 / (WIDTH - 1));
  rgb[1] = (guint8) (y * 255 / (HEIGHT - 1));
  rgb[2] = square ? 255 : 0;
}

/* The test images, made with gdk-pixbuf: the same picture as PNG and as
 * JPEG. */
static gboolean
write_test_images (const char  *png,
                   const char  *jpeg,
                   GError     **error)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, WIDTH, HEIGHT);
  guint8 *data = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);

  for (int y = 0; y < HEIGHT; y++)
    for (int x = 0; x < WIDTH; x++)
      expected_pixel (x, y, data + (gsize) y * stride + x * 3);

  return gdk_pixbuf_save (pixbuf, png, "png", error, NULL) &&
         gdk_pixbuf_save (pixbuf, jpeg, "jpeg", error, "quality", "95", NULL);
}

/* Whether @pixels are the test image, exactly or (JPEG) within @tolerance
 * at every 7th pixel away from the square's edges. */
static gboolean
check_pixels (GBytes *pixels,
              guint   width,
              guint   height,
              int     tolerance)
{
  const guint8 *rgba = g_bytes_get_data (pixels, NULL);

  if (width != WIDTH || height != HEIGHT || g_bytes_get_size (pixels) != (gsize) WIDTH * HEIGHT * 4)
    return FALSE;
  for (gsize i = 0; i < (gsize) WIDTH * HEIGHT; i += tolerance == 0 ? 1 : 7)
    {
      guint8 rgb[3];

      int x = (int) (i % WIDTH), y = (int) (i / WIDTH);

      /* JPEG blurs the colour at the square's edges: not there. */
      if (tolerance > 0 && (ABS (x - WIDTH / 4) < 8 || ABS (x - WIDTH * 3 / 4) < 8 ||
                            ABS (y - HEIGHT / 4) < 8 || ABS (y - HEIGHT * 3 / 4) < 8))
        continue;
      expected_pixel (x, y, rgb);
      for (int c = 0; c < 3; c++)
        if (ABS ((int) rgba[i * 4 + c] - (int) rgb[c]) > tolerance)
          return FALSE;
      if (rgba[i * 4 + 3] != 255)
        return FALSE;
    }
  return TRUE;
}

/* Decodes @path in the child behind @channel. */
static GBytes *
load (GipcChannel  *channel,
      const char   *path,
      guint        *width,
      guint        *height,
      GError      **error)
{
  g_autoptr(GBytes) request = g_bytes_new_static ("decode", 6);
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GVariant) answer = NULL;
  const char *message;
  int fd;

  /* The request carries the open file, not its bytes. */
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", path, g_strerror (errno));
      return NULL;
    }
  fds = g_unix_fd_list_new_from_array (&fd, 1);
  if (!gipc_channel_send_with_fds (channel, request, fds, NULL, error))
    return NULL;

  answer = gipc_channel_receive_variant (channel, NULL, error);
  if (answer == NULL)
    return NULL;
  if (!g_variant_is_of_type (answer, G_VARIANT_TYPE ("(uus)")))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the decoder answered nonsense");
      return NULL;
    }
  g_variant_get (answer, "(uu&s)", width, height, &message);
  if (message[0] != '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", path, message);
      return NULL;
    }
  /* The pixels are the child's buffer, mapped read-only here. */
  return gipc_channel_receive (channel, NULL, error);
}

/* Starts a sandboxed decoder (through @server, or spawned: @self_path),
 * decodes the test images and @extra with it, and stops it. */
static gboolean
run_decoder (GipcForkServer      *server,
             const char          *self_path,
             const char          *png,
             const char          *jpeg,
             char               **extra,
             gint                *exit_code,
             GError             **error)
{
  g_autoptr(GipcChannel) mine = NULL;
  g_autoptr(GipcChannel) theirs = NULL;
  g_autoptr(GipcProcess) process = NULL;
  const char *files[] = { png, jpeg };

  /* A socketpair channel: it carries fds, and large messages as shared
   * memory. */
  if (!gipc_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &mine, &theirs, error))
    return FALSE;

  if (server != NULL)
    process = gipc_process_new_for_target (server, "decoder", NULL);
  else
    {
      const char *argv[] = { self_path, "--decoder", NULL };

      process = gipc_process_new_for_argv (argv, error);
      if (process == NULL)
        return FALSE;
    }
  /* The recipe: no filesystem, no network, the system's read-only data
   * (the MIME database, gdk-pixbuf's loaders, fontconfig), a memory
   * limit. */
  gipc_process_set_sandbox (process, DECODER_SANDBOX);
  gipc_process_sandbox_allow_system_data (process);
  gipc_process_set_memory_limit (process, DECODER_MEMORY_LIMIT);
  gipc_process_pass_channel (process, theirs);
  if (!gipc_process_start (process, error))
    return FALSE;
  if (gipc_process_get_sandbox_applied (process) != DECODER_SANDBOX)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the decoder is not sandboxed");
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GBytes) pixels = NULL;
      guint width = 0, height = 0;

      pixels = load (mine, files[i], &width, &height, error);
      if (pixels == NULL)
        return FALSE;
      if (!check_pixels (pixels, width, height, i == 0 ? 0 : 24))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: the pixels are not the image's", files[i]);
          return FALSE;
        }
    }
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    {
      g_autoptr(GBytes) pixels = NULL;
      g_autoptr(GError) local_error = NULL;
      guint width = 0, height = 0;

      pixels = load (mine, extra[i], &width, &height, &local_error);
      if (pixels == NULL)
        printf ("%s\n", local_error->message);
      else
        printf ("%s: %ux%u\n", extra[i], width, height);
    }

  if (!gipc_channel_close (mine, error) || !gipc_process_join (process, -1, error))
    return FALSE;
  *exit_code = gipc_process_get_exit_code (process);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcForkServer) server = NULL;
  g_autofree char *self_path = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *png = NULL;
  g_autofree char *jpeg = NULL;
  gint server_code = -1, spawn_code = -1;

  /* Spawn mode: this program again, as the decoder. */
  if (argc == 2 && g_str_equal (argv[1], "--decoder"))
    {
      g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, &error);

      if (channel == NULL)
        {
          g_printerr ("decoder: %s\n", error->message);
          return 5;
        }
      return serve (channel);
    }

  /* The fork server: first thing, before anything can start a thread. */
  server = gipc_fork_server_new ();
  gipc_fork_server_add_target (server, "decoder", decoder_target, NULL, NULL);
  if (!gipc_fork_server_start (server, &error))
    g_error ("%s", error->message);

  self_path = g_file_read_link ("/proc/self/exe", &error);
  if (self_path == NULL)
    g_error ("%s", error->message);
  dir = g_dir_make_tmp ("gipc-image-loader-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);
  png = g_build_filename (dir, "gradient.png", NULL);
  jpeg = g_build_filename (dir, "gradient.jpg", NULL);
  if (!write_test_images (png, jpeg, &error))
    g_error ("%s", error->message);

  if (!run_decoder (server, NULL, png, jpeg, argv + 1, &server_code, &error))
    g_error ("fork-server mode: %s", error->message);
  if (!run_decoder (NULL, self_path, png, jpeg, NULL, &spawn_code, &error))
    g_error ("spawn mode: %s", error->message);

  g_unlink (png);
  g_unlink (jpeg);
  g_rmdir (dir);
  printf ("decoded a %dx%d PNG and JPEG with gdk-pixbuf in sandboxed children "
          "(fork server and spawn mode), pixels checked; exit codes %d and %d\n",
          WIDTH, HEIGHT, server_code, spawn_code);
  return server_code == 0 && spawn_code == 0 ? 0 : 1;
}
