// listener.hpp - many sessions in one process: the standalone mode.
//
// smtpd.py's SMTPServer bound its own address and served every connection
// from one asyncore loop; `in.smtpd -l HOST:PORT` does the same.  One
// event loop accepts connections and drives a Connection for each
// (connection.hpp: the same PROXY phase, hooks, limits, timeouts and log
// lines as a per-connection process).  It waits with epoll(7) on Linux and
// ppoll(2) elsewhere (poller.hpp), keeps the deadlines in time order, and
// looks only at the connections something happened to, so connections at
// rest cost memory, not time.  A hook that may block
// (Handler::blocks: a relay waiting for its upstream, a Mailman command, a
// printout waiting for a lock) runs on a thread of its own and answers
// later, so that it never holds up the other sessions.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "smtpd/channel.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/export.hpp"
#include "smtpd/handler.hpp"
#include "smtpd/limits.hpp"
#include "smtpd/stop_signals.hpp"

namespace smtpd {

struct ListenerOptions {
  ChannelConfig channel;  // for every connection
  // Every connection's timeouts, TLS, -d trace and log lines (its stop
  // member is not used: the listener's is stop, below).
  DriverOptions connection;
  // The first stop (stop_requested()) closes the listening sockets and
  // gives the sessions under way the grace period; a stop by the interrupt
  // signal (close_idle(), Ctrl-C at a terminal) ends at once the sessions
  // with no transaction under way; a second one (stop_now()) ends the
  // grace period.
  StopSignals stop;
  unsigned max_connections = limits::default_max_connections;
  unsigned shutdown_grace_seconds = limits::default_shutdown_grace_seconds;
  bool proxy_protocol = false;  // a PROXY header precedes each session
  // Where connection.log is unset: a bad PROXY header, a hook's unusable
  // answer, each session's last line.
  std::function<void(std::string_view)> log_error;
};

// Makes the hooks for one connection.
using HandlerFactory = std::function<std::unique_ptr<Handler>()>;

// Serves connections on the listening sockets until a stop is requested
// and the sessions have ended (at most shutdown_grace_seconds later, plus
// the time to flush a 421).  Throws std::system_error when waiting
// failed (the sessions under way end with it).
SMTPD_API void run_listener(const std::vector<int>& listening_fds,
                            const ListenerOptions& options,
                            const HandlerFactory& make_handler);

}  // namespace smtpd
