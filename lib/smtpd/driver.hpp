// driver.hpp - run one channel over a pair of file descriptors.
//
// The thin I/O layer around the channel: poll(2) on the input and output,
// partial writes, EINTR, end of input, and the clock for the timeouts.
// Messages are handed to the server as they complete and its answer goes
// straight back to the channel.  Replies are written as soon as the output
// can take them, so a pipelining client gets them in batches (RFC 2920).
#pragma once

#include "smtpd/export.hpp"

#include <signal.h>

#include <csignal>
#include <functional>
#include <string_view>

#include "smtpd/channel.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

struct DriverOptions {
  // No progress for this long ends the session with 421 (RFC 5321 4.5.3.2).
  unsigned command_timeout_seconds = limits::default_command_timeout_seconds;
  unsigned data_timeout_seconds = limits::default_data_timeout_seconds;
  // The whole session, whatever progress it makes; 0 for no limit.
  unsigned session_timeout_seconds = limits::default_session_timeout_seconds;
  // Set by a signal handler (SIGTERM): the session ends with 421 once the
  // message being delivered, if any, is answered.  To see the signal while
  // waiting, block it and pass here the mask to wait with (ppoll(2)).
  const volatile std::sig_atomic_t* stop_requested = nullptr;
  const sigset_t* wait_mask = nullptr;
  // With -d: each chunk read and written, for a protocol trace.
  std::function<void(std::string_view direction, std::string_view bytes)> trace;
};

enum class SessionEnd {
  closed,         // QUIT, or the channel ended the session (421)
  client_closed,  // the client closed the connection
  timed_out,      // no progress within the timeout, or the session's cap
  stopped,        // stop_requested
  io_error,       // reading or writing failed; errno says why
};

SMTPD_API SessionEnd run_session(Channel& channel, Server& server, int input_fd,
                       int output_fd, const DriverOptions& options);

}  // namespace smtpd
