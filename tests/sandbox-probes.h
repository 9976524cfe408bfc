/* SPDX-License-Identifier: MIT
 * SPDX-FileCopyrightText: 2026 The gipc-glib authors */

/*
 * What a sandboxed child tries, shared by test-sandbox.c (fork mode, in the
 * target) and gipc-test-helper.c (spawn mode): each probe makes one call
 * and the report says "name=ok" or "name=ERRNO-NAME", space-separated, so
 * the test asserts the same things in both modes.
 */

#pragma once

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

static inline const char *
sandbox_probe_errno_name (int errsv)
{
  switch (errsv)
    {
    case 0: return "ok";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ENOSYS: return "ENOSYS";
    case ENOMEM: return "ENOMEM";
    case EROFS: return "EROFS";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOTTY: return "ENOTTY";
    case EINVAL: return "EINVAL";
    case ECONNREFUSED: return "ECONNREFUSED";
    default: return "other";
    }
}

static inline void
sandbox_probe_add (GString    *report,
                   const char *name,
                   int         errsv)
{
  g_string_append_printf (report, "%s%s=%s", report->len > 0 ? " " : "",
                          name, sandbox_probe_errno_name (errsv));
}

static inline int
sandbox_probe_open_read (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return errno;
  close (fd);
  return 0;
}

/* Creates and removes a file in @dir. */
static inline int
sandbox_probe_create_in (const char *dir)
{
  g_autofree char *path = g_strdup_printf ("%s/probe-%d", dir, (int) getpid ());
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int errsv;

  if (fd < 0)
    return errno;
  errsv = write (fd, "x", 1) == 1 ? 0 : errno;
  close (fd);
  if (unlink (path) < 0 && errsv == 0)
    errsv = errno;
  return errsv;
}

static inline int
sandbox_probe_socket (int family)
{
  int fd = socket (family, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return errno;
  close (fd);
  return 0;
}

/* An AF_UNIX socketpair that passes a memfd with SCM_RIGHTS: what an
 * fd-passing channel does. */
static inline int
sandbox_probe_pass_fd (void)
{
  union {
    char buffer[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg;
  struct cmsghdr *cmsg;
  struct iovec iov;
  char byte = 'x';
  int pair[2];
  int memfd;
  int received = -1;
  int errsv = 0;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
    return errno;
  memfd = memfd_create ("probe", MFD_CLOEXEC);
  if (memfd < 0)
    {
      errsv = errno;
      goto out;
    }

  memset (&msg, 0, sizeof msg);
  memset (&control, 0, sizeof control);
  iov.iov_base = &byte;
  iov.iov_len = 1;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buffer;
  msg.msg_controllen = sizeof control.buffer;
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &memfd, sizeof (int));
  if (sendmsg (pair[0], &msg, 0) != 1)
    {
      errsv = errno;
      goto out;
    }

  memset (&control, 0, sizeof control);
  msg.msg_controllen = sizeof control.buffer;
  if (recvmsg (pair[1], &msg, MSG_CMSG_CLOEXEC) != 1)
    {
      errsv = errno;
      goto out;
    }
  cmsg = CMSG_FIRSTHDR (&msg);
  if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS)
    {
      errsv = EBADMSG;
      goto out;
    }
  memcpy (&received, CMSG_DATA (cmsg), sizeof (int));

out:
  if (received >= 0)
    close (received);
  if (memfd >= 0)
    close (memfd);
  close (pair[0]);
  close (pair[1]);
  return errsv;
}

static inline int
sandbox_probe_memfd (void)
{
  char back[5] = { 0 };
  int fd = memfd_create ("probe", MFD_CLOEXEC);
  int errsv = 0;

  if (fd < 0)
    return errno;
  if (write (fd, "data", 4) != 4 || pread (fd, back, 4, 0) != 4)
    errsv = errno != 0 ? errno : EIO;
  else if (strcmp (back, "data") != 0)
    errsv = EIO;
  close (fd);
  return errsv;
}

static inline int
sandbox_probe_timerfd (void)
{
  struct itimerspec spec = { { 0, 0 }, { 0, 1000000 } };
  guint64 expirations = 0;
  int fd = timerfd_create (CLOCK_MONOTONIC, TFD_CLOEXEC);
  int errsv = 0;

  if (fd < 0)
    return errno;
  if (timerfd_settime (fd, 0, &spec, NULL) < 0 ||
      read (fd, &expirations, sizeof expirations) != sizeof expirations)
    errsv = errno;
  close (fd);
  return errsv;
}

typedef struct
{
  GMainLoop *loop;
  gboolean   idle_ran;
  guint      ticks;
} SandboxProbeLoop;

/* Quits once the idle ran: under load (or valgrind) the first 5 ms tick
 * can be due before the loop ever gets idle. Gives up after 5 s. */
static inline gboolean
sandbox_probe_tick_cb (gpointer user_data)
{
  SandboxProbeLoop *probe = user_data;

  if (!probe->idle_ran && ++probe->ticks < 1000)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (probe->loop);
  return G_SOURCE_REMOVE;
}

static inline gboolean
sandbox_probe_idle_cb (gpointer user_data)
{
  SandboxProbeLoop *probe = user_data;

  probe->idle_ran = TRUE;
  return G_SOURCE_REMOVE;
}

/* A timeout and an idle on a fresh main loop of the default context. */
static inline int
sandbox_probe_main_loop (void)
{
  SandboxProbeLoop probe = { g_main_loop_new (NULL, FALSE), FALSE, 0 };

  g_idle_add (sandbox_probe_idle_cb, &probe);
  g_timeout_add (5, sandbox_probe_tick_cb, &probe);
  g_main_loop_run (probe.loop);
  g_main_loop_unref (probe.loop);

  return probe.idle_ran ? 0 : EIO;
}

static inline void *
sandbox_probe_thread_main (void *data)
{
  return data;
}

/* pthread_create(): glibc tries clone3, which the block-list answers
 * with ENOSYS, then clone without namespace flags. */
static inline int
sandbox_probe_thread (void)
{
  pthread_t thread;
  void *result = NULL;
  int errsv = pthread_create (&thread, NULL, sandbox_probe_thread_main, &errsv);

  if (errsv != 0)
    return errsv;
  errsv = pthread_join (thread, &result);
  if (errsv == 0 && result == NULL)
    errsv = EIO;
  return errsv;
}

/* A child of the child (fork(): clone without namespace flags). */
static inline int
sandbox_probe_fork (void)
{
  int status = 0;
  pid_t pid = fork ();

  if (pid < 0)
    return errno;
  if (pid == 0)
    _exit (7);
  if (waitpid (pid, &status, 0) < 0)
    return errno;
  return WIFEXITED (status) && WEXITSTATUS (status) == 7 ? 0 : EIO;
}

/* A raw clone() with @flags, as fork() would make it: the child, if any,
 * leaves at once. */
static inline int
sandbox_probe_clone (unsigned long flags)
{
  long pid = syscall (SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

  if (pid < 0)
    return errno;
  if (pid == 0)
    _exit (0);
  (void) waitpid ((pid_t) pid, NULL, 0);
  return 0;
}

/* clone3() with plain fork semantics: the block-list says ENOSYS. */
static inline int
sandbox_probe_clone3 (void)
{
  guint64 args[11] = { 0 };
  long pid;

  args[4] = SIGCHLD;   /* exit_signal */
  pid = syscall (SYS_clone3, args, sizeof args);
  if (pid < 0)
    return errno;
  if (pid == 0)
    _exit (0);
  (void) waitpid ((pid_t) pid, NULL, 0);
  return 0;
}

#if defined(__x86_64__)
/* getpid through the other routes into an x86-64 kernel: i386's int 0x80
 * and the x32 numbers. A block-list written for x86-64 does not see them:
 * the sandbox refuses every call of another architecture. */
static inline int
sandbox_probe_i386_getpid (void)
{
  long r;

  __asm__ volatile ("int $0x80" : "=a" (r) : "a" (20L) : "memory", "r8", "r9", "r10", "r11");
  return r < 0 ? (int) -r : 0;
}

static inline int
sandbox_probe_x32_getpid (void)
{
  return syscall (0x40000000L | SYS_getpid) < 0 ? errno : 0;
}
#endif

/* More of the block-list: each is EPERM in a sandboxed child, and none of
 * them kills it. Only in a child that is expected to be sandboxed (some
 * succeed for root otherwise). */
static inline void
sandbox_probe_block_list (GString *report)
{
  int query = personality (0xffffffff);

  sandbox_probe_add (report, "clone-newuser", sandbox_probe_clone (CLONE_NEWUSER));
  sandbox_probe_add (report, "clone-newns", sandbox_probe_clone (CLONE_NEWNS));
  sandbox_probe_add (report, "clone-plain", sandbox_probe_clone (0));
  sandbox_probe_add (report, "clone3", sandbox_probe_clone3 ());
  sandbox_probe_add (report, "personality-query", query < 0 ? errno : 0);
  sandbox_probe_add (report, "personality-set",
                     personality (READ_IMPLIES_EXEC) < 0 ? errno : 0);
  sandbox_probe_add (report, "personality-default",
                     personality (query >= 0 ? (unsigned long) query : PER_LINUX) < 0 ? errno : 0);
  sandbox_probe_add (report, "mount",
                     mount ("none", "/tmp", "tmpfs", 0, NULL) < 0 ? errno : 0);
  sandbox_probe_add (report, "bpf", syscall (SYS_bpf, 0, NULL, 0) < 0 ? errno : 0);
  sandbox_probe_add (report, "io_uring",
                     syscall (SYS_io_uring_setup, 1, NULL) < 0 ? errno : 0);
  sandbox_probe_add (report, "keyctl", syscall (SYS_keyctl, 0, 0, 0, 0, 0) < 0 ? errno : 0);
#if defined(__x86_64__)
  sandbox_probe_add (report, "i386-getpid", sandbox_probe_i386_getpid ());
  sandbox_probe_add (report, "x32-getpid", sandbox_probe_x32_getpid ());
#endif
  sandbox_probe_add (report, "process_vm_readv",
                     syscall (SYS_process_vm_readv, getppid (), NULL, 0, NULL, 0, 0) < 0 ? errno : 0);
}

/* ------------------------------------------------------------------ */
/* The escapes of issue 23: what a hostile child tried. The test sets up
 * what they aim at, beneath @outside_dir (sandbox_probe_setup_targets). */

/* The names the test and the child derive from @outside_dir. */
static inline char *
sandbox_probe_named_socket_path (const char *outside_dir)
{
  return g_strdup_printf ("%s/listen.sock", outside_dir);
}

static inline void
sandbox_probe_abstract_address (const char         *outside_dir,
                                struct sockaddr_un *addr,
                                socklen_t          *len)
{
  g_autofree char *name = g_strdup_printf ("gipc-probe-%08x", g_str_hash (outside_dir));

  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  memcpy (addr->sun_path + 1, name, strlen (name));
  *len = (socklen_t) (G_STRUCT_OFFSET (struct sockaddr_un, sun_path) + 1 + strlen (name));
}

static inline key_t
sandbox_probe_shm_key (const char *outside_dir)
{
  return (key_t) (g_str_hash (outside_dir) & 0x7fffffff) | 1;
}

/* In the test, before the child starts: a listening named socket and an
 * abstract one, a file to change the metadata of, and a private System V
 * segment. Returns what to pass to sandbox_probe_teardown_targets(). */
typedef struct
{
  int named_fd;
  int abstract_fd;
  int shm_id;
} SandboxProbeTargets;

static inline void
sandbox_probe_setup_targets (const char          *outside_dir,
                             SandboxProbeTargets *targets)
{
  g_autofree char *path = sandbox_probe_named_socket_path (outside_dir);
  g_autofree char *file = g_build_filename (outside_dir, "file", NULL);
  struct sockaddr_un addr;
  socklen_t len;

  memset (&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  g_assert_cmpuint (strlen (path), <, sizeof addr.sun_path);
  strcpy (addr.sun_path, path);
  targets->named_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (targets->named_fd, >=, 0);
  g_assert_no_errno (bind (targets->named_fd, (struct sockaddr *) &addr, sizeof addr));
  g_assert_no_errno (listen (targets->named_fd, 8));
  /* Anyone may connect (the unprivileged case). */
  g_assert_no_errno (chmod (path, 0777));

  sandbox_probe_abstract_address (outside_dir, &addr, &len);
  targets->abstract_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (targets->abstract_fd, >=, 0);
  g_assert_no_errno (bind (targets->abstract_fd, (struct sockaddr *) &addr, len));
  g_assert_no_errno (listen (targets->abstract_fd, 8));

  g_assert_true (g_file_set_contents (file, "file", -1, NULL));
  g_assert_no_errno (chmod (file, 0666));

  targets->shm_id = shmget (sandbox_probe_shm_key (outside_dir), 4096, IPC_CREAT | 0666);
  g_assert_cmpint (targets->shm_id, >=, 0);
}

static inline void
sandbox_probe_teardown_targets (const char          *outside_dir,
                                SandboxProbeTargets *targets)
{
  g_autofree char *path = sandbox_probe_named_socket_path (outside_dir);
  g_autofree char *file = g_build_filename (outside_dir, "file", NULL);

  close (targets->named_fd);
  close (targets->abstract_fd);
  g_unlink (path);
  g_unlink (file);
  shmctl (targets->shm_id, IPC_RMID, NULL);
}

static inline int
sandbox_probe_connect (const struct sockaddr *addr,
                       socklen_t              len)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int errsv = 0;

  if (fd < 0)
    return errno;
  if (connect (fd, addr, len) < 0)
    errsv = errno;
  /* Connected: it could send (the session bus would read it). */
  else if (send (fd, "x", 1, MSG_NOSIGNAL) != 1)
    errsv = errno;
  close (fd);
  return errsv;
}

static inline int
sandbox_probe_connect_named (const char *outside_dir)
{
  g_autofree char *path = sandbox_probe_named_socket_path (outside_dir);
  struct sockaddr_un addr;

  memset (&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strcpy (addr.sun_path, path);
  return sandbox_probe_connect ((struct sockaddr *) &addr, sizeof addr);
}

static inline int
sandbox_probe_connect_abstract (const char *outside_dir)
{
  struct sockaddr_un addr;
  socklen_t len;

  sandbox_probe_abstract_address (outside_dir, &addr, &len);
  return sandbox_probe_connect ((struct sockaddr *) &addr, len);
}

/* An ioctl on a terminal: a pty master of its own where the child can
 * open /dev/ptmx, else a memfd (seccomp sees the request, not the fd: a
 * non-terminal answers ENOTTY when the request is let through). */
static inline int
sandbox_probe_tty_ioctl (unsigned long request,
                         gboolean     *on_pty)
{
  int fd = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  char c = ' ';
  int arg = 0;
  int errsv = 0;
  int r;

  *on_pty = fd >= 0;
  if (fd < 0)
    fd = memfd_create ("not-a-tty", MFD_CLOEXEC);
  if (fd < 0)
    return errno;
  if (request == TIOCSTI)
    r = ioctl (fd, request, &c);
  else
    r = ioctl (fd, request, &arg);   /* TIOCLINUX subcommand 0 */
  if (r < 0)
    errsv = errno;
  close (fd);
  return errsv;
}

static inline int
sandbox_probe_proc_mem (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/mem", (int) pid);

  int fd = open (path, O_RDWR | O_CLOEXEC);

  if (fd < 0)
    return errno;
  close (fd);
  return 0;
}

static inline int
sandbox_probe_ptrace_attach (pid_t pid)
{
  if (ptrace (PTRACE_ATTACH, pid, NULL, NULL) < 0)
    return errno;
  /* It worked: let go at once. */
  (void) waitpid (pid, NULL, __WALL);
  (void) ptrace (PTRACE_DETACH, pid, NULL, NULL);
  return 0;
}

/* mknod of a device in @dir (writable and allowed), then an open through
 * it: the null device, harmless if the sandbox lets it through. */
static inline int
sandbox_probe_mknod (const char *dir,
                     mode_t      type,
                     gboolean    at,
                     gboolean    open_it)
{
  g_autofree char *path = g_strdup_printf ("%s/dev-%d-%o", dir, (int) getpid (), (unsigned) type);
  int errsv = 0;
  int r;

  if (at)
    r = mknodat (AT_FDCWD, path, type | 0600, makedev (1, 3));
  else
    r = mknod (path, type | 0600, makedev (1, 3));
  if (r < 0)
    return errno;
  if (open_it)
    {
      int fd = open (path, O_RDWR | O_CLOEXEC);

      if (fd < 0)
        errsv = errno;
      else
        close (fd);
    }
  unlink (path);
  return errsv;
}

static inline int
sandbox_probe_result (int r)
{
  return r < 0 ? errno : 0;
}

/* What a child that has only its Landlock domain (no seccomp: a
 * simulated kernel without it) tries: the escapes Landlock closes on its
 * own. Nothing here harms the test if it succeeds. */
#define SANDBOX_PROBE_LANDLOCK_ONLY 2

static inline void
sandbox_probe_landlock_escapes (GString    *report,
                                const char *allowed_dir,
                                const char *outside_dir)
{
  pid_t parent = getppid ();

  if (outside_dir != NULL)
    sandbox_probe_add (report, "unix-abstract", sandbox_probe_connect_abstract (outside_dir));
  if (allowed_dir != NULL)
    {
      sandbox_probe_add (report, "mknod-char", sandbox_probe_mknod (allowed_dir, S_IFCHR, FALSE, FALSE));
      sandbox_probe_add (report, "mknodat-block", sandbox_probe_mknod (allowed_dir, S_IFBLK, TRUE, FALSE));
      sandbox_probe_add (report, "mknod-open", sandbox_probe_mknod (allowed_dir, S_IFCHR, TRUE, TRUE));
      sandbox_probe_add (report, "mkfifo-allowed", sandbox_probe_mknod (allowed_dir, S_IFIFO, FALSE, FALSE));
    }
  sandbox_probe_add (report, "proc-mem", sandbox_probe_proc_mem (parent));
  sandbox_probe_add (report, "ptrace-attach", sandbox_probe_ptrace_attach (parent));
  sandbox_probe_add (report, "kill-parent", sandbox_probe_result (kill (parent, 0)));
  sandbox_probe_add (report, "kill-self", sandbox_probe_result (kill (getpid (), 0)));
}

/* Every escape of issue 23, for a child that is expected to be
 * sandboxed (some would harm the test otherwise). */
static inline void
sandbox_probe_escapes (GString    *report,
                       const char *allowed_dir,
                       const char *outside_dir)
{
  pid_t parent = getppid ();
  gboolean on_pty = FALSE;
  int pair[2];

  if (outside_dir != NULL)
    {
      g_autofree char *file = g_build_filename (outside_dir, "file", NULL);
      struct iovec local = { &on_pty, sizeof on_pty };
      struct iovec remote = { &on_pty, sizeof on_pty };
      int id;

      sandbox_probe_add (report, "unix-named", sandbox_probe_connect_named (outside_dir));
      sandbox_probe_add (report, "unix-abstract", sandbox_probe_connect_abstract (outside_dir));
      sandbox_probe_add (report, "chmod-outside", sandbox_probe_result (chmod (file, 0600)));
#if !defined(__alpha__)
      /* Newer than some libseccomp releases: blocked by its number (452
       * on every architecture but alpha). */
      sandbox_probe_add (report, "fchmodat2-outside",
                         sandbox_probe_result ((int) syscall (452, AT_FDCWD, file, 0600, 0)));
#endif
      sandbox_probe_add (report, "chown-outside",
                         sandbox_probe_result (chown (file, getuid (), (gid_t) -1)));
      sandbox_probe_add (report, "utimes-outside", sandbox_probe_result (utimes (file, NULL)));
      sandbox_probe_add (report, "setxattr-outside",
                         sandbox_probe_result (setxattr (file, "user.gipc", "x", 1, 0)));
      id = shmget (sandbox_probe_shm_key (outside_dir), 0, 0);
      sandbox_probe_add (report, "shm-find", sandbox_probe_result (id));
      {
        void *at = shmat (id >= 0 ? id : 0, NULL, 0);

        sandbox_probe_add (report, "shm-attach", at == (void *) -1 ? errno : 0);
        if (at != (void *) -1)
          shmdt (at);
      }
      /* Into the parent's memory: a zero-length write, harmless. */
      sandbox_probe_add (report, "process_vm_writev",
                         sandbox_probe_result ((int) syscall (SYS_process_vm_writev, parent,
                                                              &local, 1, &remote, 0, 0)));
    }
  if (allowed_dir != NULL)
    {
      g_autofree char *file = g_build_filename (allowed_dir, "meta", NULL);

      if (g_file_set_contents (file, "meta", -1, NULL))
        {
          sandbox_probe_add (report, "chmod-allowed", sandbox_probe_result (chmod (file, 0600)));
          g_unlink (file);
        }
      sandbox_probe_add (report, "mknod-char", sandbox_probe_mknod (allowed_dir, S_IFCHR, FALSE, FALSE));
      sandbox_probe_add (report, "mknodat-block", sandbox_probe_mknod (allowed_dir, S_IFBLK, TRUE, FALSE));
      sandbox_probe_add (report, "mknod-open", sandbox_probe_mknod (allowed_dir, S_IFCHR, TRUE, TRUE));
      sandbox_probe_add (report, "mkfifo-allowed", sandbox_probe_mknod (allowed_dir, S_IFIFO, FALSE, FALSE));
    }
  sandbox_probe_add (report, "tiocsti", sandbox_probe_tty_ioctl (TIOCSTI, &on_pty));
  sandbox_probe_add (report, "tiocsti-on-pty", on_pty ? 0 : ENOENT);
  sandbox_probe_add (report, "tioclinux", sandbox_probe_tty_ioctl (TIOCLINUX, &on_pty));
  sandbox_probe_add (report, "proc-mem", sandbox_probe_proc_mem (parent));
  sandbox_probe_add (report, "ptrace-attach", sandbox_probe_ptrace_attach (parent));
  /* Signal 0: the permission check, and no signal. */
  sandbox_probe_add (report, "kill-parent", sandbox_probe_result (kill (parent, 0)));
  sandbox_probe_add (report, "kill-self", sandbox_probe_result (kill (getpid (), 0)));
  sandbox_probe_add (report, "userfaultfd",
                     sandbox_probe_result ((int) syscall (SYS_userfaultfd, O_CLOEXEC)));
  {
    int id = shmget (IPC_PRIVATE, 4096, IPC_CREAT | 0600);

    sandbox_probe_add (report, "shm-new", sandbox_probe_result (id));
    if (id >= 0)
      shmctl (id, IPC_RMID, NULL);
  }
  sandbox_probe_add (report, "socketpair",
                     socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0 ? errno
                     : (close (pair[0]), close (pair[1]), 0));
}

/* Every probe. @allowed_dir and @outside_dir may be NULL. The probes that
 * change the calling process when they succeed (ptrace, unshare) run only
 * if @intrusive, that is in a child that is expected to be sandboxed
 * (SANDBOX_PROBE_LANDLOCK_ONLY: only the Landlock escapes). */
static inline char *
sandbox_probe_report (const char *allowed_dir,
                      const char *outside_dir,
                      gboolean    intrusive)
{
  GString *report = g_string_new (NULL);

  sandbox_probe_add (report, "read-hostname", sandbox_probe_open_read ("/etc/hostname"));
  /* The system's data (gipc_process_sandbox_allow_system_data). */
  sandbox_probe_add (report, "read-mime", sandbox_probe_open_read ("/usr/share/mime/mime.cache"));
  sandbox_probe_add (report, "read-ld-cache", sandbox_probe_open_read ("/etc/ld.so.cache"));
  if (allowed_dir != NULL)
    sandbox_probe_add (report, "write-allowed", sandbox_probe_create_in (allowed_dir));
  if (outside_dir != NULL)
    sandbox_probe_add (report, "write-outside", sandbox_probe_create_in (outside_dir));
  sandbox_probe_add (report, "inet", sandbox_probe_socket (AF_INET));
  sandbox_probe_add (report, "inet6", sandbox_probe_socket (AF_INET6));
  sandbox_probe_add (report, "unix", sandbox_probe_socket (AF_UNIX));
  sandbox_probe_add (report, "pass-fd", sandbox_probe_pass_fd ());
  if (intrusive == SANDBOX_PROBE_LANDLOCK_ONLY)
    sandbox_probe_landlock_escapes (report, allowed_dir, outside_dir);
  else if (intrusive)
    {
      sandbox_probe_add (report, "ptrace",
                         ptrace (PTRACE_TRACEME, 0, NULL, NULL) < 0 ? errno : 0);
      sandbox_probe_add (report, "unshare-user", unshare (CLONE_NEWUSER) < 0 ? errno : 0);
      sandbox_probe_add (report, "write-system", sandbox_probe_create_in ("/usr/share"));
      sandbox_probe_block_list (report);
      sandbox_probe_escapes (report, allowed_dir, outside_dir);
    }
  sandbox_probe_add (report, "memfd", sandbox_probe_memfd ());
  sandbox_probe_add (report, "timerfd", sandbox_probe_timerfd ());
  sandbox_probe_add (report, "main-loop", sandbox_probe_main_loop ());
  sandbox_probe_add (report, "thread", sandbox_probe_thread ());
  sandbox_probe_add (report, "fork", sandbox_probe_fork ());

  return g_string_free (report, FALSE);
}

/* malloc (not g_malloc, which aborts) of @small_bytes, then of
 * @large_bytes: "small=ok large=ENOMEM" under a limit between them. */
static inline char *
sandbox_probe_memory (gsize small_bytes,
                      gsize large_bytes)
{
  GString *report = g_string_new (NULL);
  void *small = malloc (small_bytes);
  void *large;

  if (small != NULL)
    memset (small, 1, small_bytes);
  sandbox_probe_add (report, "small", small != NULL ? 0 : ENOMEM);
  large = malloc (large_bytes);
  sandbox_probe_add (report, "large", large != NULL ? 0 : ENOMEM);
  free (large);
  free (small);

  return g_string_free (report, FALSE);
}
