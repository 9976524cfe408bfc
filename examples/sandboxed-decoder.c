/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * sandboxed-decoder: untrusted input is decoded in a sandboxed child, and
 * the parent gets only the result, over a channel.
 *
 * The parent runs this same program again in spawn mode (safe from a
 * multi-threaded program), with no network, no filesystem and a memory
 * limit. A bug in the decoder can then crash the child or make it fail,
 * but it cannot read the user's files, talk to the network, or take the
 * parent down with it. The child's answer is a GVariant: the parent
 * checks its type, never trusts its content more than the input's.
 *
 *   sandboxed-decoder [FILE]     decode FILE (default: a built-in sample)
 *
 * The format, for the example: one record per line, "name,count", where
 * count is a decimal number; anything else is rejected with its line.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gipc-glib/gipc-glib.h>

static const char sample[] =
  "apples,3\n"
  "pears,12\n"
  "plums,7\n";

/* ---------------------------------------------------------------------- */
/* The child: the decoder, and nothing else */

/* The part that handles untrusted bytes. Returns a new "(a(su)s)"
 * variant: the records and an error message ("" if none). */
static GVariant *
decode (GBytes *input)
{
  g_autoptr(GVariantBuilder) records = g_variant_builder_new (G_VARIANT_TYPE ("a(su)"));
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  gsize size;
  const char *data = g_bytes_get_data (input, &size);
  guint i;

  if (memchr (data, '\0', size) != NULL || !g_utf8_validate_len (data, size, NULL))
    return g_variant_new ("(a(su)s)", records, "the input is not UTF-8 text");

  text = g_strndup (data, size);
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      guint64 count;

      if (lines[i][0] == '\0')
        continue;
      fields = g_strsplit (lines[i], ",", 3);
      if (g_strv_length (fields) != 2 || fields[0][0] == '\0' ||
          !g_ascii_string_to_unsigned (fields[1], 10, 0, G_MAXUINT32, &count, NULL))
        {
          g_autofree char *message = g_strdup_printf ("line %u is not “name,count”", i + 1);

          return g_variant_new ("(a(su)s)", records, message);
        }
      g_variant_builder_add (records, "(su)", fields[0], (guint32) count);
    }

  return g_variant_new ("(a(su)s)", records, "");
}

static int
run_child (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GipcChannel) channel = gipc_channel_new_inherited (0, &error);
  g_autoptr(GBytes) input = NULL;
  g_autoptr(GVariant) result = NULL;
  int fd;

  if (channel == NULL)
    {
      g_printerr ("decoder: %s\n", error->message);
      return 1;
    }

  /* Only to show the sandbox at work: the child cannot open the user's
   * files. (A real decoder would not try.) */
  fd = open ("/etc/passwd", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    close (fd);
  else
    g_printerr ("decoder: open (/etc/passwd) in the sandbox: %s\n", g_strerror (errno));

  input = gipc_channel_receive (channel, NULL, &error);
  if (input == NULL)
    {
      g_printerr ("decoder: %s\n", error->message);
      return 1;
    }

  result = g_variant_ref_sink (decode (input));
  if (!gipc_channel_send_variant (channel, result, NULL, &error))
    {
      g_printerr ("decoder: %s\n", error->message);
      return 1;
    }

  return 0;
}

/* ---------------------------------------------------------------------- */
/* The parent */

static char *
flags_to_string (GipcSandboxFlags flags)
{
  GFlagsClass *klass = g_type_class_ref (GIPC_TYPE_SANDBOX_FLAGS);
  GString *text = g_string_new (NULL);
  guint i;

  for (i = 0; i < klass->n_values; i++)
    {
      const GFlagsValue *value = &klass->values[i];

      if (value->value != 0 && (flags & value->value) == value->value)
        g_string_append_printf (text, "%s%s", text->len > 0 ? "|" : "", value->value_nick);
    }
  g_type_class_unref (klass);

  return g_string_free (text, FALSE);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GipcChannel) mine = NULL;
  g_autoptr(GipcChannel) theirs = NULL;
  g_autoptr(GipcProcess) process = NULL;
  g_autoptr(GBytes) input = NULL;
  g_autoptr(GVariant) result = NULL;
  g_autoptr(GVariantIter) records = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *self_path = NULL;
  g_autofree char *applied = NULL;
  const char *problem;
  const char *name;
  guint32 count;
  guint n = 0;

  if (argc == 2 && g_str_equal (argv[1], "--decoder"))
    return run_child ();

  if (argc == 2)
    {
      char *contents;
      gsize length;

      /* Reading the file is the parent's job: the child cannot. */
      if (!g_file_get_contents (argv[1], &contents, &length, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      input = g_bytes_new_take (contents, length);
    }
  else
    {
      input = g_bytes_new_static (sample, sizeof sample - 1);
    }

  /* The same program, as the decoder. */
  self_path = g_file_read_link ("/proc/self/exe", &error);
  if (self_path == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  gipc_pipe (GIPC_PIPE_FLAGS_DUPLEX, &mine, &theirs, NULL);
  {
    const char *child_argv[] = { self_path, "--decoder", NULL };

    process = gipc_process_new_for_argv (child_argv, &error);
  }
  if (process == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  /* No network, no file but the program and its libraries, 256 MiB of
   * address space. BEST_EFFORT: on a kernel without Landlock or seccomp
   * the example still runs, and says what it got. */
  gipc_process_set_sandbox (process, GIPC_SANDBOX_FLAGS_NO_NETWORK |
                                     GIPC_SANDBOX_FLAGS_NO_FILESYSTEM |
                                     GIPC_SANDBOX_FLAGS_BEST_EFFORT);
  gipc_process_set_memory_limit (process, 256 * 1024 * 1024);
  gipc_process_pass_channel (process, theirs);

  if (!gipc_process_start (process, &error) ||
      !gipc_channel_send (mine, input, NULL, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  applied = flags_to_string (gipc_process_get_sandbox_applied (process));
  g_print ("the decoder runs with the sandbox: %s\n", applied[0] != '\0' ? applied : "none");

  result = gipc_channel_receive_variant (mine, NULL, &error);
  if (result == NULL)
    {
      /* A crashed or killed decoder ends here: the parent goes on. */
      g_printerr ("the decoder gave no result: %s\n", error->message);
      gipc_process_join (process, -1, NULL);
      return 1;
    }
  gipc_process_join (process, -1, NULL);

  /* The child is not trusted either: check the type before reading. */
  if (!g_variant_is_of_type (result, G_VARIANT_TYPE ("(a(su)s)")))
    {
      g_printerr ("the decoder answered with the type %s\n", g_variant_get_type_string (result));
      return 1;
    }

  g_variant_get (result, "(a(su)&s)", &records, &problem);
  while (g_variant_iter_next (records, "(&su)", &name, &count))
    {
      g_print ("  %s: %u\n", name, count);
      n++;
    }
  if (problem[0] != '\0')
    g_print ("the input was rejected: %s\n", problem);
  g_print ("decoded %u records in a sandboxed child; exit code %d\n",
           n, gipc_process_get_exit_code (process));

  return problem[0] != '\0' ? 2 : 0;
}
