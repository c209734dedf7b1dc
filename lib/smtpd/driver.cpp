// driver.cpp - poll loop around one channel (see driver.hpp).
#include "smtpd/driver.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>

namespace smtpd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t read_size = 64 * 1024;
// Stop reading while this much output waits for a client that does not
// read it: what it sends next would only pile up more replies.
constexpr std::size_t output_high_water = 64 * 1024;

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

}  // namespace

SessionEnd run_session(Channel& channel, Server& server, int input_fd,
                       int output_fd, const DriverOptions& options) {
  const auto timeout_for = [&] {
    return std::chrono::seconds(channel.state() == Channel::State::data
                                    ? options.data_timeout_seconds
                                    : options.command_timeout_seconds);
  };
  const Clock::time_point session_end =
      options.session_timeout_seconds == 0
          ? Clock::time_point::max()
          : Clock::now() +
                std::chrono::seconds(options.session_timeout_seconds);
  Clock::time_point deadline = Clock::now() + timeout_for();
  SessionEnd end = SessionEnd::closed;
  bool input_open = true;
  char buffer[read_size];

  // Sends what the descriptor takes now; false on an error that ends the
  // session.  A socket is written before the loop sleeps: a reply nearly
  // always fits its buffer, and a poll that only says so would cost a
  // round of system calls per command.  Anything else waits for POLLOUT.
  bool output_is_socket = true;
  const auto flush = [&](bool polled_writable) {
    const std::string_view pending = channel.output();
    const ssize_t sent = write_some(output_fd, pending, polled_writable);
    if (sent > 0) {
      if (options.trace)
        options.trace(">", pending.substr(0, std::size_t(sent)));
      channel.consume_output(std::size_t(sent));
      deadline = Clock::now() + timeout_for();
    } else if (sent < 0 && errno == ENOTSOCK) {
      output_is_socket = false;
    } else if (sent < 0 && errno != EINTR && errno != EAGAIN) {
      return false;
    }
    return true;
  };

  for (;;) {
    while (const Envelope* message = channel.pending_message())
      channel.reply(server.process_message(*message));
    if (options.stop_requested && *options.stop_requested &&
        !channel.closed()) {
      channel.shut_down();
      end = SessionEnd::stopped;
    }
    if (output_is_socket && !channel.output().empty() && !flush(false))
      return SessionEnd::io_error;

    const std::string_view output = channel.output();
    if (channel.closed() && output.empty()) return end;

    const bool want_read =
        input_open && !channel.closed() && output.size() < output_high_water;
    pollfd fds[2] = {{input_fd, short(want_read ? POLLIN : 0), 0},
                     {output_fd, short(output.empty() ? 0 : POLLOUT), 0}};
    // Once the channel is closed only the flush of its last replies is
    // waited for, within one more period, past the session's cap if need be.
    const Clock::time_point wake =
        channel.closed() ? deadline : std::min(deadline, session_end);
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        wake - Clock::now());
    int ready = 0;
    if (left.count() > 0) {
      const timespec wait = {time_t(left.count() / 1000000000),
                             long(left.count() % 1000000000)};
      ready = ppoll(fds, 2, &wait, options.wait_mask);
    }
    if (ready < 0) {
      if (errno == EINTR) continue;
      return SessionEnd::io_error;
    }
    if (ready == 0) {
      if (channel.closed()) return SessionEnd::timed_out;  // client not reading
      channel.timed_out();
      end = SessionEnd::timed_out;
      deadline = Clock::now() + timeout_for();
      continue;
    }

    // POLLHUP comes even when not asked for: read only when we meant to.
    if (want_read && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t got = read(input_fd, buffer, sizeof buffer);
      if (got > 0) {
        const std::string_view bytes(buffer, std::size_t(got));
        if (options.trace) options.trace("<", bytes);
        channel.feed(bytes);
        deadline = Clock::now() + timeout_for();
      } else if (got == 0) {
        input_open = false;
        if (!channel.closed()) end = SessionEnd::client_closed;
        channel.end_of_input();
      } else if (errno != EINTR && errno != EAGAIN) {
        return SessionEnd::io_error;
      }
    }
    if ((fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) && !flush(true))
      return SessionEnd::io_error;
  }
}

}  // namespace smtpd
