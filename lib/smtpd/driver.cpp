// driver.cpp - poll loop around one connection (see driver.hpp).
#include "smtpd/driver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>

#include "smtpd/connection.hpp"

namespace smtpd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t read_size = 64 * 1024;

// Write without blocking whatever the descriptor is: sockets take
// MSG_DONTWAIT, and a pipe that polled writable takes PIPE_BUF bytes without
// blocking (pipe(7)).  The descriptor's own flags are left alone: under a
// shell they are shared with other processes.
ssize_t write_some(int fd, std::string_view bytes, bool polled_writable) {
  const ssize_t sent =
      send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent >= 0 || errno != ENOTSOCK || !polled_writable) return sent;
  return write(fd, bytes.data(), std::min<std::size_t>(bytes.size(), PIPE_BUF));
}

SessionEnd session_end(Connection::End end) {
  switch (end) {
    case Connection::End::reset:
      return SessionEnd::client_closed;
    case Connection::End::timeout:
      return SessionEnd::timed_out;
    case Connection::End::shutdown:
      return SessionEnd::stopped;
    case Connection::End::io_error:
      return SessionEnd::io_error;
    default:
      return SessionEnd::closed;
  }
}

// A pipe that a Later handle writes to, made when a hook first answers
// later: most sessions never need it.
struct WakePipe {
  int fds[2] = {-1, -1};
  ~WakePipe() {
    for (const int fd : fds)
      if (fd >= 0) close(fd);
  }
};

}  // namespace

SessionResult run_connection(Connection& connection, int input_fd,
                             int output_fd, const DriverOptions& options) {
  char buffer[read_size];
  WakePipe wake;

  // Sends what the descriptor takes now; false on an error that ends the
  // session.  A socket is written before the loop sleeps: a reply nearly
  // always fits its buffer, and a poll that only says so would cost a
  // round of system calls per command.  Anything else waits for POLLOUT.
  bool output_is_socket = true;
  const auto flush = [&](bool polled_writable) {
    const std::string_view pending = connection.output();
    const ssize_t sent = write_some(output_fd, pending, polled_writable);
    if (sent > 0) {
      connection.sent(std::size_t(sent), Clock::now());
    } else if (sent < 0 && errno == ENOTSOCK) {
      output_is_socket = false;
    } else if (sent < 0 && errno != EINTR && errno != EAGAIN) {
      return false;
    }
    return true;
  };

  // The first failure's errno, which the session's end reports: what the
  // loop does after it (a last flush, the log line) may set errno again.
  std::error_code first_error;
  const auto fail = [&] {
    if (!first_error) first_error.assign(errno, std::system_category());
    connection.failed();
  };

  bool input_open = true;
  bool client_gone = false;
  for (;;) {
    if (options.stop.stop_requested()) connection.stop(Clock::now());
    if (output_is_socket && !connection.output().empty() && !flush(false))
      fail();
    if (connection.finished()) break;
    if (connection.waiting() && wake.fds[0] < 0) {
      if (pipe2(wake.fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        fail();
        continue;
      }
      const int to = wake.fds[1];
      connection.set_wake([to] {
        const char byte = 1;
        while (write(to, &byte, 1) < 0 && errno == EINTR) {
        }
      });
    }

    const std::string_view output = connection.output();
    const bool want_read = input_open && connection.wants_input();
    // While a hook's answer is awaited the client is not read, but a
    // client that closes the connection meanwhile is noticed (a socket's
    // POLLRDHUP; a pipe has none): the answer will reach no one.
    const bool watch_gone = input_open && !client_gone && connection.waiting();
    // A descriptor with nothing asked of it is left out: a hang-up is
    // reported whatever is asked, and would wake the loop for nothing
    // until the answer came.
    pollfd fds[3] = {{want_read || watch_gone ? input_fd : -1,
                      short(want_read ? POLLIN : POLLRDHUP), 0},
                     {output.empty() ? -1 : output_fd, POLLOUT, 0},
                     {wake.fds[0], POLLIN, 0}};
    const Clock::time_point wake_at = connection.wake_at();
    timespec wait{};
    const timespec* timeout = nullptr;
    if (wake_at != Clock::time_point::max()) {
      const auto left = std::max<std::chrono::nanoseconds::rep>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(wake_at -
                                                                  Clock::now())
                 .count());
      wait = {time_t(left / 1000000000), long(left % 1000000000)};
      timeout = &wait;
    }
    const int ready = timeout && timeout->tv_sec == 0 && timeout->tv_nsec == 0
                          ? 0
                          : ppoll(fds, wake.fds[0] < 0 ? 2 : 3, timeout,
                                  options.stop.wait_mask());
    if (ready < 0) {
      if (errno == EINTR) continue;
      fail();
      continue;
    }
    if (ready == 0) {
      connection.tick(Clock::now());
      continue;
    }
    if (fds[2].revents & POLLIN) {
      char drain[16];
      while (read(wake.fds[0], drain, sizeof drain) > 0) {
      }
      connection.collect(Clock::now());
    }
    if (watch_gone && (fds[0].revents & POLLRDHUP)) {
      client_gone = true;
      connection.client_gone();
    }
    // POLLHUP comes even when not asked for: read only when we meant to.
    if (want_read && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t got = read(input_fd, buffer, sizeof buffer);
      if (got > 0) {
        connection.received(std::string_view(buffer, std::size_t(got)),
                            Clock::now());
      } else if (got == 0) {
        input_open = false;
        connection.input_ended(Clock::now());
      } else if (errno != EINTR && errno != EAGAIN) {
        fail();
      }
    }
    if ((fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) && !flush(true))
      fail();
  }
  SessionResult result;
  result.end = session_end(connection.end());
  if (result.end == SessionEnd::io_error) result.error = first_error;
  return result;
}

SessionResult run_session(Channel& channel, int input_fd, int output_fd,
                          const DriverOptions& options) {
  Connection connection(options, channel, Clock::now());
  const SessionResult result =
      run_connection(connection, input_fd, output_fd, options);
  connection.finish();  // the end's log line
  return result;
}

}  // namespace smtpd
