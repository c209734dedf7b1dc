// listener.hpp - many sessions in one process: the standalone mode.
//
// smtpd.py's SMTPServer bound its own address and served every connection
// from one asyncore loop; `in.smtpd -l HOST:PORT` does the same.  One
// poll(2) loop accepts connections and drives a Channel for each, with
// the same limits and timeouts as a per-connection process.  Deliveries
// that may block (a relay waiting for its upstream, a Mailman command)
// run on a thread of their own and answer the channel when they are done,
// so a slow upstream never holds up the other sessions.
#pragma once

#include <signal.h>

#include <csignal>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "smtpd/channel.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/export.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

struct ListenerOptions {
  ChannelConfig channel;      // for every connection (check_recipient: see below)
  DriverOptions timeouts;     // command, data and session timeouts; stop flag
  unsigned max_connections = 256;   // more wait in the kernel's backlog
  unsigned shutdown_grace_seconds = 30;  // after a stop, before 421
  bool proxy_protocol = false;       // a PROXY header precedes each session
  bool threaded_delivery = false;    // deliver on a thread of its own
  std::function<void(std::string_view)> log_error;
  // When set at the stop (Ctrl-C at a terminal), sessions with no
  // transaction under way get 421 at once, not after the grace period.
  const volatile std::sig_atomic_t* close_idle_at_stop = nullptr;
  // When set after the stop (a second signal), the grace period ends now.
  const volatile std::sig_atomic_t* stop_now = nullptr;
  // Called with each connection's channel, before its first byte is read
  // and with its greeting still unsent, and the server made for it.
  std::function<void(Channel& channel, Server& server)> on_channel;
};

// Makes the delivery for one connection; it may set the connection's
// config.check_recipient (it is called with a copy of options.channel).
using ServerFactory =
    std::function<std::unique_ptr<Server>(ChannelConfig& config)>;

// Serves connections on the listening sockets until stop_requested is set
// and the sessions have ended (at most shutdown_grace_seconds later, plus
// the time to flush a 421).  Returns 0, or an errno value when polling
// failed.
SMTPD_API int run_listener(const std::vector<int>& listening_fds,
                           const ListenerOptions& options,
                           const ServerFactory& make_server);

}  // namespace smtpd
