/* rsswrap.c - run a program and record what its process cost: peak RSS
 * (VmHWM) and page faults of the program's own image, read from /proc
 * just before it exits.
 *
 *   rsswrap OUTFILE PROGRAM [ARG...]
 *
 * Meant to sit between a launcher and a per-connection server
 * (systemd-socket-activate ... rsswrap out.txt in.smtpd ...): the server
 * inherits stdin, stdout and stderr; the wrapper keeps none of the
 * connection open, so the client sees the server's close as usual.
 *
 * How: the child is traced (PTRACE_TRACEME) only to stop it after exec
 * and at exit (PTRACE_O_TRACEEXIT), and at any later exec, which changes
 * the image but not the process; no system call is traced.  At
 * the exit stop /proc/PID/status still describes the program's memory,
 * so VmHWM is the program's own peak, not counting the wrapper's pages
 * that a fork copies (which wait4's ru_maxrss would include).  Faults are
 * counted from the exec stop to the exit stop.  If ptrace is refused the
 * wrapper falls back to wait4's ru_maxrss and fault counts (marked "r").
 *
 * Appends one line per run with a single write (O_APPEND, so concurrent
 * runs do not interleave):
 *   <pid> <maxrss_kB> <vmhwm_kB> <minor_faults> <major_faults> <wall_us>
 *   <pss_kB> <anonymous_kB> <method>
 * maxrss is wait4's ru_maxrss: the kernel's exact peak, which also counts
 * the few anonymous pages a fork copies from this (static, small)
 * wrapper before exec; vmhwm is /proc's VmHWM at the exit stop, the
 * program's image alone but read before the kernel syncs its per-task RSS
 * counters (off by up to 64 pages either way).  bench/run reports maxrss.
 * pss and anonymous come from /proc/PID/smaps_rollup at the exit stop:
 * what the process holds then, with the pages it shares (the program's
 * and libc's code, shared by every session) divided among their users
 * (PSS) or left out (anonymous: heap, stack, data written; what one more
 * session costs the machine).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Reads /proc/PID/NAME into buf (NUL-terminated); 0, or -1 if it cannot. */
static int read_proc(pid_t pid, const char *name, char *buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  return 0;
}

static long status_kb(pid_t pid, const char *field) {
  char buf[4096];
  if (read_proc(pid, "status", buf, sizeof buf) < 0) return -1;
  char *p = strstr(buf, field);
  return p ? strtol(p + strlen(field), NULL, 10) : -1;
}

/* Fields 10 (minflt) and 12 (majflt) of /proc/PID/stat. */
static int faults(pid_t pid, long *minor, long *major) {
  char buf[1024];
  if (read_proc(pid, "stat", buf, sizeof buf) < 0) return -1;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p) return -1;
  long v[12];
  if (sscanf(p + 2, "%*c %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", &v[0],
             &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
             &v[9]) != 10)
    return -1;
  /* after ')' : state(3) ppid(4) pgrp(5) session(6) tty(7) tpgid(8)
   * flags(9) minflt(10) cminflt(11) majflt(12) */
  *minor = v[6];
  *major = v[8];
  return 0;
}

/* Pss and Anonymous of /proc/PID/smaps_rollup. */
static void rollup(pid_t pid, long *pss, long *anon) {
  char buf[2048];
  if (read_proc(pid, "smaps_rollup", buf, sizeof buf) < 0) return;
  char *p;
  if ((p = strstr(buf, "\nPss:"))) *pss = strtol(p + 5, NULL, 10);
  if ((p = strstr(buf, "\nAnonymous:"))) *anon = strtol(p + 11, NULL, 10);
}

static long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rsswrap OUTFILE PROGRAM [ARG...]\n");
    return 64;
  }
  int pipefd[2]; /* tells the parent whether PTRACE_TRACEME worked */
  if (pipe2(pipefd, O_CLOEXEC) != 0) return 71;
  long start = now_us();
  pid_t pid = fork();
  if (pid < 0) return 71;
  if (pid == 0) {
    char traced = ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 'y' : 'n';
    if (write(pipefd[1], &traced, 1) != 1) _exit(71);
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  close(pipefd[1]);
  char traced = 'n';
  if (read(pipefd[0], &traced, 1) != 1) traced = 'n';
  close(pipefd[0]);
  /* The connection belongs to the child alone. */
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    if (devnull > 2) close(devnull);
  }

  long hwm = -1, minor0 = 0, major0 = 0, minor = -1, major = -1;
  long pss = -1, anon = -1;
  int status = 0, exit_code = 1;
  struct rusage usage;
  for (;;) {
    pid_t got = wait4(pid, &status, 0, &usage);
    if (got < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
                                    : 128 + WTERMSIG(status);
      break;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (sig == SIGTRAP && event == 0 && traced == 'y' && hwm < 0 &&
        minor < 0) {
      /* The stop after exec: from here on it is the program's image. */
      ptrace(PTRACE_SETOPTIONS, pid, NULL,
             (void *)(long)(PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
                            PTRACE_O_EXITKILL));
      faults(pid, &minor0, &major0);
      minor = 0;
      ptrace(PTRACE_CONT, pid, NULL, NULL);
    } else if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
      /* A later exec (in.smtpd handing a session over to in.smtpd-full):
       * the same process and session, counted on. */
      ptrace(PTRACE_CONT, pid, NULL, NULL);
    } else if (sig == SIGTRAP && event == PTRACE_EVENT_EXIT) {
      hwm = status_kb(pid, "VmHWM:");
      rollup(pid, &pss, &anon);
      long mi = 0, ma = 0;
      if (faults(pid, &mi, &ma) == 0) {
        minor = mi - minor0;
        major = ma - major0;
      }
      ptrace(PTRACE_CONT, pid, NULL, NULL);
    } else {
      /* Any other signal goes on to the program. */
      ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
    }
  }
  const char *method = "p";
  if (hwm < 0) {
    hwm = usage.ru_maxrss;
    minor = usage.ru_minflt;
    major = usage.ru_majflt;
    method = "r";
  }
  char line[200];
  int n = snprintf(line, sizeof line, "%d %ld %ld %ld %ld %ld %ld %ld %s\n",
                   (int)pid, usage.ru_maxrss, hwm, minor, major,
                   now_us() - start, pss, anon, method);
  int out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out >= 0) {
    if (write(out, line, (size_t)n) != n) exit_code = exit_code ? exit_code : 74;
    close(out);
  }
  return exit_code;
}
