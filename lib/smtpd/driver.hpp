// driver.hpp - run one connection over a pair of file descriptors.
//
// The inetd style's loop: poll(2) on the input and output, partial
// writes, EINTR, end of input, and the clock.  Everything else a
// connection needs (PROXY header, hooks, deadlines, log lines) is the
// Connection's (connection.hpp), shared with the standalone listener.
// Replies are written as soon as the output can take them, so a
// pipelining client gets them in batches (RFC 2920).  A hook that answers
// later is waited for here too: its Later handle wakes the loop.
#pragma once

#include <functional>
#include <string_view>
#include <system_error>

#include "smtpd/channel.hpp"
#include "smtpd/export.hpp"
#include "smtpd/limits.hpp"
#include "smtpd/stop_signals.hpp"
#include "smtpd/tls_layer.hpp"

namespace smtpd {

class Connection;

struct DriverOptions {
  // No progress for this long ends the session with 421 (RFC 5321 4.5.3.2).
  unsigned command_timeout_seconds = limits::default_command_timeout_seconds;
  unsigned data_timeout_seconds = limits::default_data_timeout_seconds;
  // The whole session, whatever progress it makes, the PROXY header
  // included; 0 for no limit.
  unsigned session_timeout_seconds = limits::default_session_timeout_seconds;
  // A stop (SIGTERM, say: stop_signals.hpp) ends the session with 421
  // once the message being delivered, if any, is answered; the driver
  // waits with its mask, so that the signal ends the wait.  run_listener
  // takes ListenerOptions::stop instead.
  StopSignals stop;
  // With -d: each chunk read and written, for a protocol trace.
  std::function<void(std::string_view direction, std::string_view bytes)> trace;
  // One line each: a hook's answer that was not used (and why), a bad
  // PROXY header, and the line that ends every session (connection.hpp).
  std::function<void(std::string_view line)> log;
  // TLS (RFC 3207, RFC 8314): set, each connection offers STARTTLS and
  // puts the layer made here under itself when the client starts it;
  // with tls_on_connect it does so from the first byte instead (implicit
  // TLS, port 465).  tls_sessions() (tls.hpp) makes OpenSSL's.
  TlsFactory tls;
  bool tls_on_connect = false;
};

enum class SessionEnd {
  closed,         // QUIT, or the channel ended the session (421)
  client_closed,  // the client closed the connection
  timed_out,      // no progress within the timeout, or the session's cap
  stopped,        // stop.stop_requested()
  io_error,       // reading or writing failed (SessionResult::error)
};

// How a session ended, as a value (libsmtpd(3), ERRORS).
struct SessionResult {
  SessionEnd end = SessionEnd::closed;
  // With io_error, why: the first failure's errno, in
  // std::system_category() (what the loop did after it, a last flush
  // and the log line, cannot change it).  Empty otherwise.
  std::error_code error;
};

// Runs connection until it is finished.
SMTPD_API SessionResult run_connection(Connection& connection, int input_fd,
                                       int output_fd,
                                       const DriverOptions& options);
// The same around a channel of your own (made with its handler).
SMTPD_API SessionResult run_session(Channel& channel, int input_fd,
                                    int output_fd,
                                    const DriverOptions& options);

}  // namespace smtpd
