// command.cpp - fork, exec, feed, wait, with a deadline (see command.hpp).
#include "smtpd/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace smtpd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t output_kept = 1024;

// What the command may rely on, and nothing of ours (RFC-free: the
// environment of an SMTP server may hold secrets or a client's words).
const char* const clean_environment[] = {"PATH=/usr/local/bin:/usr/bin:/bin",
                                         "LANG=C", "LC_ALL=C", nullptr};

// In the child, between fork and exec: only async-signal-safe calls (the
// parent may have threads), so argv is built before the fork.
// The input pipe becomes descriptor `target` (0 or 3); with 3, stdin is
// null_fd (/dev/null).
[[noreturn]] void exec_child(char* const argv[], int input_fd, int target,
                             int null_fd, int output_fd) {
  // Only stdin, the output pipe and, for 3, the input survive: in
  // particular not our fds 0 and 1, the client's connection.
  // A process group of its own, so that a timeout kills what it started
  // too.
  // A step that fails would run the program on the wrong input or
  // output, or out of reach of the timeout: it is not run then (127, as
  // when execve fails).
  if (setpgid(0, 0) != 0) _exit(127);
  if (dup2(output_fd, 1) < 0 || dup2(output_fd, 2) < 0) _exit(127);
  if (target == 0) {
    if (dup2(input_fd, 0) < 0) _exit(127);
  } else {
    if (dup2(null_fd, 0) < 0) _exit(127);
    // dup2 onto itself keeps close-on-exec: clear it by hand then.
    if (input_fd == target ? fcntl(target, F_SETFD, 0) != 0
                           : dup2(input_fd, target) < 0)
      _exit(127);
  }
  // Closing what is not open (EBADF) is the usual case here.
  const int first_closed = target + 1 > 3 ? target + 1 : 3;
  if (close_range(unsigned(first_closed), ~0U, 0) != 0)
    for (int fd = first_closed; fd < 1024; ++fd) close(fd);
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0 ||
      signal(SIGPIPE, SIG_DFL) == SIG_ERR)
    _exit(127);
  execve(argv[0], argv, const_cast<char* const*>(clean_environment));
  _exit(127);
}

int milliseconds_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() <= 0 ? 0
                           : int(std::min<long long>(left.count(), 1 << 30));
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv,
                          std::string_view input, unsigned timeout_seconds) {
  return run_command(argv, input, 0, timeout_seconds);
}

CommandResult run_command(const std::vector<std::string>& argv,
                          std::string_view input, int input_fd,
                          unsigned timeout_seconds) {
  CommandResult result;
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    result.error = "the command must be an absolute path";
    return result;
  }
  if (input_fd != 0 && input_fd != 3) {
    result.error = "the input goes to descriptor 0 or 3";
    return result;
  }
  int null_fd = -1;
  if (input_fd == 3 &&
      (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
    result.error = std::strerror(errno);
    return result;
  }
  // Closed on every way out of here.
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) close(fd);
    }
  } null_closer{null_fd};
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0) {
    result.error = std::strerror(errno);
    return result;
  }
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    result.error = std::strerror(errno);
    close(to_child[0]);
    close(to_child[1]);
    return result;
  }
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0)
    exec_child(args.data(), to_child[0], input_fd, null_fd, from_child[1]);
  if (pid > 0) setpgid(pid, pid);  // also here: no race with a quick kill
  close(to_child[0]);
  close(from_child[1]);
  if (pid < 0) {
    result.error = std::strerror(errno);
    close(to_child[1]);
    close(from_child[0]);
    return result;
  }

  // Feed the input and collect the output until both ends are done or
  // time runs out; a child that does not read its input cannot block us.
  const Clock::time_point deadline =
      Clock::now() + std::chrono::seconds(timeout_seconds);
  int writer = to_child[1];
  int reader = from_child[0];
  std::size_t written = 0;
  if (input.empty()) {
    close(writer);
    writer = -1;
  }
  bool timed_out = false;
  while (writer >= 0 || reader >= 0) {
    pollfd fds[2] = {{writer, POLLOUT, 0}, {reader, POLLIN, 0}};
    const int ready = poll(fds, 2, milliseconds_until(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      timed_out = true;
      break;
    }
    if (writer >= 0 && fds[0].revents) {
      const ssize_t n =
          write(writer, input.data() + written,
                std::min<std::size_t>(input.size() - written, 65536));
      if (n > 0) written += std::size_t(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) written = input.size();
      if (written == input.size()) {
        close(writer);
        writer = -1;
      }
    }
    if (reader >= 0 && fds[1].revents) {
      char buffer[4096];
      const ssize_t n = read(reader, buffer, sizeof buffer);
      if (n > 0 && result.output.size() < output_kept)
        result.output.append(
            buffer, std::min<std::size_t>(std::size_t(n),
                                          output_kept - result.output.size()));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(reader);
        reader = -1;
      }
    }
  }
  if (writer >= 0) close(writer);
  if (reader >= 0) close(reader);

  // The output closed: the child has exited or soon will.  Wait for it
  // within its time (polling: SIGCHLD is the program's to handle).
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      result.error = std::strerror(errno);
      return result;
    }
    if (!timed_out && milliseconds_until(deadline) == 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
    }
    poll(nullptr, 0, 5);
  }
  if (timed_out) {
    result.outcome = CommandResult::Outcome::timed_out;
  } else if (WIFEXITED(status)) {
    result.outcome = CommandResult::Outcome::exited;
    result.status = WEXITSTATUS(status);
    if (result.status == 127) result.error = "could not execute " + argv[0];
  } else {
    result.outcome = CommandResult::Outcome::signaled;
    result.status = WTERMSIG(status);
  }
  return result;
}

}  // namespace smtpd
