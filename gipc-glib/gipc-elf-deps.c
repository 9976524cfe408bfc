/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * The program-dependency reader of the sandbox: what exec and the dynamic
 * loader will read for a program (a script's interpreter; an ELF program's
 * PT_INTERP and DT_RUNPATH/DT_RPATH with $ORIGIN expanded), so that spawn
 * mode under NO_FILESYSTEM can keep exactly those readable.
 *
 * Runs in the parent before the child exists (it allocates). It only reads
 * files: it never decides rights and never touches Landlock or seccomp;
 * gipc-landlock.c turns what it finds into rules. Best effort: what it
 * cannot parse adds nothing (the start then fails closed, at exec).
 */

#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "gipc-elf-deps-private.h"

/* ELF: the interpreter (PT_INTERP) and the run path (DT_RUNPATH, or
 * DT_RPATH, with $ORIGIN expanded) of @path, for the native class only.
 * Both appended to @dirs as newly allocated strings. Best effort: a file
 * that is not ELF adds nothing. */
static gboolean
pread_all (int    fd,
           void  *buffer,
           gsize  size,
           off_t  offset)
{
  ssize_t n;

  do
    n = pread (fd, buffer, size, offset);
  while (n < 0 && errno == EINTR);

  return n == (ssize_t) size;
}

/* The interpreter of a script ("#!/usr/bin/python3 -u" → /usr/bin/python3),
 * or NULL. */
static char *
script_interpreter (char *line)
{
  char *start;
  char *end;

  if (line[0] != '#' || line[1] != '!')
    return NULL;

  start = line + 2;
  while (*start == ' ' || *start == '\t')
    start++;
  if (*start != '/')
    return NULL;
  end = start + strcspn (start, " \t\n");
  *end = '\0';
  return g_strdup (start);
}

/* What exec and the dynamic loader read for @path: for a script, its
 * interpreter (returned); for an ELF program, its interpreter (PT_INTERP,
 * into @files) and run path (into @dirs). One open of the file. */
char *
gipc_elf_deps_inspect (const char *path,
                 GPtrArray  *files,
                 GPtrArray  *dirs)
{
  union {
    ElfW(Ehdr) ehdr;
    char       line[256];
  } head;
  char *interpreter = NULL;
  ElfW(Ehdr) ehdr;
  g_autofree ElfW(Phdr) *phdrs = NULL;
  g_autofree ElfW(Dyn) *dyns = NULL;
  g_autofree char *origin = NULL;
  ElfW(Off) dyn_offset = 0;
  gsize dyn_size = 0;
  ElfW(Addr) strtab = 0;
  guint64 runpath = G_MAXUINT64;
  guint64 rpath = G_MAXUINT64;
  off_t strtab_offset = -1;
  char text[4096];
  guint i, n_dyns;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;

  memset (&head, 0, sizeof head);
  {
    ssize_t n;

    do
      n = pread (fd, head.line, sizeof head.line - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < (ssize_t) sizeof ehdr)
      {
        if (n > 2)
          interpreter = script_interpreter (head.line);
        goto out;
      }
  }
  interpreter = script_interpreter (head.line);
  if (interpreter != NULL)
    goto out;
  memcpy (&ehdr, &head.ehdr, sizeof ehdr);

  if (memcmp (ehdr.e_ident, ELFMAG, SELFMAG) != 0 ||
      ehdr.e_ident[EI_CLASS] != (sizeof (void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
      ehdr.e_phentsize != sizeof (ElfW(Phdr)) || ehdr.e_phnum == 0 || ehdr.e_phnum > 256)
    goto out;

  phdrs = g_new (ElfW(Phdr), ehdr.e_phnum);
  if (!pread_all (fd, phdrs, sizeof (ElfW(Phdr)) * ehdr.e_phnum, (off_t) ehdr.e_phoff))
    goto out;

  for (i = 0; i < ehdr.e_phnum; i++)
    {
      if (phdrs[i].p_type == PT_INTERP && phdrs[i].p_filesz > 1 &&
          phdrs[i].p_filesz < sizeof text)
        {
          if (pread_all (fd, text, phdrs[i].p_filesz, (off_t) phdrs[i].p_offset))
            {
              text[phdrs[i].p_filesz] = '\0';
              g_ptr_array_add (files, g_strdup (text));
            }
        }
      else if (phdrs[i].p_type == PT_DYNAMIC)
        {
          dyn_offset = phdrs[i].p_offset;
          dyn_size = MIN (phdrs[i].p_filesz, 64 * 1024);
        }
    }

  n_dyns = (guint) (dyn_size / sizeof (ElfW(Dyn)));
  if (n_dyns == 0)
    goto out;
  dyns = g_new (ElfW(Dyn), n_dyns);
  if (!pread_all (fd, dyns, sizeof (ElfW(Dyn)) * n_dyns, (off_t) dyn_offset))
    goto out;

  for (i = 0; i < n_dyns && dyns[i].d_tag != DT_NULL; i++)
    {
      if (dyns[i].d_tag == DT_STRTAB)
        strtab = dyns[i].d_un.d_ptr;
      else if (dyns[i].d_tag == DT_RUNPATH)
        runpath = dyns[i].d_un.d_val;
      else if (dyns[i].d_tag == DT_RPATH)
        rpath = dyns[i].d_un.d_val;
    }
  if (runpath == G_MAXUINT64)
    runpath = rpath;
  if (runpath == G_MAXUINT64 || strtab == 0)
    goto out;

  /* The string table's address, as a file offset through its segment. */
  for (i = 0; i < ehdr.e_phnum; i++)
    {
      if (phdrs[i].p_type == PT_LOAD && strtab >= phdrs[i].p_vaddr &&
          strtab < phdrs[i].p_vaddr + phdrs[i].p_filesz)
        {
          strtab_offset = (off_t) (strtab - phdrs[i].p_vaddr + phdrs[i].p_offset);
          break;
        }
    }
  if (strtab_offset < 0)
    goto out;

  {
    ssize_t n;
    g_auto(GStrv) entries = NULL;

    do
      n = pread (fd, text, sizeof text - 1, strtab_offset + (off_t) runpath);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
      goto out;
    text[n] = '\0';

    {
      g_autofree char *real = realpath (path, NULL);

      origin = g_path_get_dirname (real != NULL ? real : path);
    }

    entries = g_strsplit (text, ":", -1);
    for (i = 0; entries[i] != NULL; i++)
      {
        g_autoptr(GString) dir = g_string_new (entries[i]);

        if (dir->len == 0)
          continue;
        g_string_replace (dir, "${ORIGIN}", origin, 0);
        g_string_replace (dir, "$ORIGIN", origin, 0);
        g_ptr_array_add (dirs, g_string_free (g_steal_pointer (&dir), FALSE));
      }
  }

out:
  close (fd);
  return interpreter;
}
