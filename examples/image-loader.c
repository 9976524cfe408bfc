/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * An image loader in the style of glycin: the parent hands an open file
 * to a child, which decodes it and answers with the pixels in shared
 * memory. The file's bytes never travel over the channel, and the pixels
 * are not copied on their way back: the parent maps the child's buffer
 * read-only.
 *
 * The "format" is binary PPM (P6), so the example needs no library; a real
 * loader would call its decoder where decode_ppm() is. The child is
 * sandboxed as far as the kernel allows (BEST_EFFORT): it cannot open
 * files or make network sockets, but it can read the file it was given.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gunixfdlist.h>
#include <gipc-glib/gipc-glib.h>

#define WIDTH  640
#define HEIGHT 480

/* The test image: a gradient, written as P6. */
static gboolean
write_test_image (const char  *path,
                  GError     **error)
{
  g_autoptr(GString) ppm = g_string_new (NULL);

  g_string_append_printf (ppm, "P6\n%d %d\n255\n", WIDTH, HEIGHT);
  for (int y = 0; y < HEIGHT; y++)
    for (int x = 0; x < WIDTH; x++)
      {
        g_string_append_c (ppm, (char) (x * 255 / WIDTH));
        g_string_append_c (ppm, (char) (y * 255 / HEIGHT));
        g_string_append_c (ppm, (char) 128);
      }

  return g_file_set_contents (path, ppm->str, ppm->len, error);
}

/* Child side: decodes the P6 file @fd into RGBA pixels, built in place in
 * shared memory. */
static GBytes *
decode_ppm (int       fd,
            guint    *width,
            guint    *height,
            GError  **error)
{
  FILE *file = fdopen (fd, "rb");
  unsigned w, h, maxval;
  g_autoptr(GBytes) pixels = NULL;
  guint8 *rgba = NULL;

  if (file == NULL)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "fdopen: %s", g_strerror (errno));
      close (fd);
      return NULL;
    }
  if (fscanf (file, "P6 %u %u %u", &w, &h, &maxval) != 3 || fgetc (file) == EOF ||
      maxval != 255 || w == 0 || h == 0 || w > 16384 || h > 16384)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a P6 image this loader reads");
      fclose (file);
      return NULL;
    }

  pixels = gipc_shared_bytes_new ((gsize) w * h * 4, (gpointer *) &rgba, error);
  if (pixels == NULL)
    {
      fclose (file);
      return NULL;
    }
  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      guint8 rgb[3];

      if (fread (rgb, 1, 3, file) != 3)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the image is truncated");
          fclose (file);
          return NULL;
        }
      memcpy (rgba + i * 4, rgb, 3);
      rgba[i * 4 + 3] = 255;
    }
  fclose (file);

  *width = w;
  *height = h;
  return g_steal_pointer (&pixels);
}

/* The child: for each request (a message with the file's fd), answers
 * with the size as a GVariant, then the pixels. */
static gint
loader (GipcProcess *process,
        gpointer     user_data)
{
  g_autoptr(GipcChannel) channel = user_data;
  g_autoptr(GError) error = NULL;

  for (;;)
    {
      g_autoptr(GUnixFDList) fds = NULL;
      g_autoptr(GBytes) request = gipc_channel_receive_with_fds (channel, &fds, NULL, &error);
      g_autoptr(GBytes) pixels = NULL;
      guint width = 0, height = 0;

      if (request == NULL)
        return g_error_matches (error, GIPC_ERROR, GIPC_ERROR_PEER_CLOSED) ? 0 : 1;
      if (fds == NULL || g_unix_fd_list_get_length (fds) != 1)
        return 2;

      /* The sandbox forbids opening the file by its name; reading the fd
       * we were handed is fine. */
      pixels = decode_ppm (g_unix_fd_list_get (fds, 0, NULL), &width, &height, &error);
      if (pixels == NULL)
        {
          g_printerr ("loader: %s\n", error->message);
          return 3;
        }
      if (!gipc_channel_send_variant (channel, g_variant_new ("(uu)", width, height), NULL, &error) ||
          !gipc_channel_send (channel, pixels, NULL, &error))
        return 4;
    }
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) mine = NULL;
  g_autoptr(GipcChannel) theirs = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GBytes) request = g_bytes_new_static ("decode", 6);
  g_autoptr(GVariant) size = NULL;
  g_autoptr(GBytes) pixels = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  const guint8 *rgba;
  guint width, height;
  int fd;

  dir = g_dir_make_tmp ("gipc-image-loader-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);
  path = g_build_filename (dir, "gradient.ppm", NULL);
  if (!write_test_image (path, &error))
    g_error ("%s", error->message);

  /* A socketpair channel: it carries fds, and large messages as shared
   * memory. */
  if (!gipc_pipe (GIPC_PIPE_FLAGS_UNIX_FDS | GIPC_PIPE_FLAGS_DUPLEX, &mine, &theirs, &error))
    g_error ("%s", error->message);

  process = gipc_process_new (loader, g_object_ref (theirs), g_object_unref);
  gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                                     GIPC_SANDBOX_FLAGS_NO_NETWORK |
                                     GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  gipc_process_pass_channel (process, theirs);
  if (!gipc_process_start (process, &error))
    g_error ("%s", error->message);

  /* The request carries the open file, not its bytes. */
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    g_error ("open: %s", g_strerror (errno));
  fds = g_unix_fd_list_new_from_array (&fd, 1);
  if (!gipc_channel_send_with_fds (mine, request, fds, NULL, &error))
    g_error ("%s", error->message);

  size = gipc_channel_receive_variant (mine, NULL, &error);
  if (size == NULL)
    g_error ("%s", error->message);
  g_variant_get (size, "(uu)", &width, &height);
  pixels = gipc_channel_receive (mine, NULL, &error);
  if (pixels == NULL)
    g_error ("%s", error->message);

  /* The pixels are the child's buffer, mapped read-only here. */
  rgba = g_bytes_get_data (pixels, NULL);
  if (g_bytes_get_size (pixels) != (gsize) width * height * 4 ||
      rgba[((HEIGHT - 1) * WIDTH + WIDTH - 1) * 4 + 1] != (HEIGHT - 1) * 255 / HEIGHT ||
      rgba[3] != 255)
    g_error ("the pixels are not the image's");

  gipc_channel_close (mine, NULL);
  if (!gipc_process_join (process, -1, &error))
    g_error ("%s", error->message);

  g_unlink (path);
  g_rmdir (dir);
  printf ("decoded a %ux%u image into %" G_GSIZE_FORMAT " bytes of shared memory; "
          "sandbox: 0x%x; child exit code %d\n",
          width, height, g_bytes_get_size (pixels),
          (guint) gipc_process_get_sandbox_applied (process),
          gipc_process_get_exit_code (process));
  return gipc_process_get_exit_code (process) == 0 ? 0 : 1;
}
