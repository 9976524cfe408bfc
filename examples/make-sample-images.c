/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * make-sample-images DIR: writes the thumbnailer example's test images
 * into DIR, made with gdk-pixbuf at test time (the repository holds no
 * binary files). The name says what the thumbnailer should make of each:
 *
 *   ok-*       real PNG and JPEG files: a thumbnail
 *   bad-*      a corrupt PNG, and text that is no image: an error
 *   crash-*    a file that crashes the worker decoding it (see
 *              thumbnailer.c): that file's task fails, no other
 */

#include <gdk-pixbuf/gdk-pixbuf.h>

/* A colourful test picture: two gradients and a diagonal band, so a
 * thumbnail that lost its rows or channels shows it. */
static GdkPixbuf *
make_picture (int      width,
              int      height,
              gboolean alpha,
              guint    seed)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  guchar *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int x, y;

  for (y = 0; y < height; y++)
    for (x = 0; x < width; x++)
      {
        guchar *p = pixels + y * stride + x * n_channels;
        gboolean band = ABS ((x * height / width) - y) < height / 10;

        p[0] = (guchar) (255 * x / width);
        p[1] = (guchar) (255 * y / height);
        p[2] = band ? 255 : (guchar) ((seed * 67) & 0xff);
        if (alpha)
          p[3] = (guchar) (128 + 127 * y / height);
      }
  return pixbuf;
}

static void
save (GdkPixbuf  *pixbuf,
      const char *dir,
      const char *name,
      const char *type)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  if (!gdk_pixbuf_save (pixbuf, path, type, &error, NULL))
    g_error ("%s: %s", path, error->message);
}

static void
write_file (const char *dir,
            const char *name,
            const char *data,
            gsize       size)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  if (!g_file_set_contents (path, data, (gssize) size, &error))
    g_error ("%s", error->message);
}

int
main (int   argc,
      char *argv[])
{
  static const struct { const char *name; const char *type; int width; int height; gboolean alpha; } pictures[] = {
    { "ok-landscape.jpg", "jpeg", 3200, 2400, FALSE },
    { "ok-portrait.jpg", "jpeg", 480, 900, FALSE },
    { "ok-small.jpg", "jpeg", 96, 64, FALSE },
    { "ok-gradient.png", "png", 2400, 1800, FALSE },
    { "ok-translucent.png", "png", 640, 640, TRUE },
    { "ok-wide.png", "png", 1600, 200, TRUE },
  };
  /* A PNG signature and IHDR chunk, then garbage: libpng fails on it. */
  static const char corrupt_png[] =
    "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x02"
    "\x00\x00\x00\xde\xad\xbe\xef this is not a PNG any more";
  static const char not_an_image[] = "Shopping list: eggs, flour, milk.\n";
  /* What the thumbnailer's worker takes for a decoder bug: see
   * thumbnailer.c, decode_thumbnail(). */
  static const char crash[] = "\x89PNG\r\n\x1a\ngipc-thumbnailer-example: crash the decoder\n";
  const char *dir;
  guint i;

  if (argc != 2)
    {
      g_printerr ("usage: %s DIR\n", argv[0]);
      return 2;
    }
  dir = argv[1];

  for (i = 0; i < G_N_ELEMENTS (pictures); i++)
    {
      g_autoptr(GdkPixbuf) picture = make_picture (pictures[i].width, pictures[i].height,
                                                   pictures[i].alpha, i);
      save (picture, dir, pictures[i].name, pictures[i].type);
    }
  write_file (dir, "bad-corrupt.png", corrupt_png, sizeof corrupt_png - 1);
  write_file (dir, "bad-not-an-image.jpg", not_an_image, sizeof not_an_image - 1);
  write_file (dir, "crash-decoder.png", crash, sizeof crash - 1);
  return 0;
}
