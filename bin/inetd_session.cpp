// inetd_session.cpp - one session on stdin and stdout (see
// inetd_session.hpp).
#include "inetd_session.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "driver_settings.hpp"
#include "exit_error.hpp"
#include "logs.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/peer.hpp"
#include "stop_signals.hpp"

namespace in_smtpd {

int serve_one_session(const Options& options, smtpd::ChannelConfig config,
                      const MakeDelivery& make_delivery, Logs& logs,
                      smtpd::TlsFactory tls) {
  // smtpd.py listened; we serve stdin.  Someone who typed the command at a
  // terminal may have meant to listen: say once what this is.
  if (isatty(0))
    logs.errors.say(
        "one SMTP session on this terminal (to listen on a port instead: "
        "-l HOST:PORT, e.g. -l 127.0.0.1:8025)");
  const smtpd::Peer peer = smtpd::find_peer(0, std::getenv);
  logs.errors.serving();
  const smtpd::StopSignals stop = catch_stop_signals();
  wait_for_delays_with_mask();
  const std::unique_ptr<smtpd::Handler> handler = make_delivery();
  smtpd::DriverOptions driver = driver_options(options, stop, logs);
  driver.tls = std::move(tls);
  driver.tls_on_connect = options.tls_on_connect;
  // With --proxy-protocol the proxy speaks first: its header, then the
  // greeting; a bad one or none in time closes without a greeting.
  smtpd::Connection connection(driver, std::move(config), *handler, peer,
                               options.proxy_protocol,
                               std::chrono::steady_clock::now());
  const smtpd::SessionResult session =
      smtpd::run_connection(connection, 0, 1, driver);
  if (!connection.channel()) return EX_PROTOCOL;
  if (session.end == smtpd::SessionEnd::io_error)
    throw ExitError(EX_IOERR, "connection failed: " + session.error.message());
  // A printout that could not be written was answered with 451 and said
  // on stderr; the exit status says it too, for a shell pipe.
  if (logs.printout.printout_ever_failed()) return EX_IOERR;
  return EX_OK;
}

}  // namespace in_smtpd
