// session.cpp - options, debug file and one session on stdin and stdout
// (see session.hpp).
#include "session.hpp"

#include <poll.h>
#include <sys/random.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "auth_check.hpp"
#include "diagnostics.hpp"
#include "failure_injection.hpp"
#include "smtpd/connection.hpp"
#include "smtpd/debugging.hpp"
#include "smtpd/maildir.hpp"
#include "smtpd/peer.hpp"
#include "smtpd/text.hpp"
#include "transaction_log.hpp"

namespace in_smtpd {
namespace {

// SIGTERM, SIGHUP or SIGINT (Ctrl-C at a terminal, where someone waits
// for the prompt); the driver and the listener end on them.
smtpd::StopSignals stop_signals;

// While a --fail delay waits: the mask the driver waits with, in the
// per-connection mode (a stop signal ends the wait at once).  In the
// standalone mode a delay waits on a delivery thread, with the signals
// blocked: it looks at the stop flag every 100 ms.
const sigset_t* delay_wait_mask = nullptr;

void wait_for_delay(unsigned seconds) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + std::chrono::seconds(seconds);
  while (!stop_signals.stop_requested()) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        end - Clock::now());
    if (left.count() <= 0) return;
    if (!delay_wait_mask)
      left = std::min<std::chrono::nanoseconds>(left,
                                                std::chrono::milliseconds(100));
    const timespec wait = {time_t(left.count() / 1000000000),
                           long(left.count() % 1000000000)};
    ppoll(nullptr, 0, &wait, delay_wait_mask);
  }
}

// The process's --fail rules and rolls, made on first use.
FailureInjector& failure_injector(const Options& options,
                                  Diagnostics& diagnostics) {
  static FailureInjector* injector = nullptr;
  if (!injector) {
    std::uint64_t seed = options.fail_seed;
    if (!options.fail_seeded &&
        getrandom(&seed, sizeof seed, GRND_NONBLOCK) != ssize_t(sizeof seed))
      seed = std::uint64_t(getpid()) << 32 ^ std::uint64_t(time(nullptr));
    injector = new FailureInjector(options.fail_rules, seed, diagnostics,
                                   wait_for_delay);
  }
  return *injector;
}

std::string host_name() {
  char name[256] = "";
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
    return "localhost";
  return name;
}

}  // namespace

bool start_program(CommandLine command_line, Diagnostics& diagnostics,
                   Options& options, int* status) {
  // A client that goes away must not kill us mid-write; EPIPE is handled
  // where it happens.
  signal(SIGPIPE, SIG_IGN);
  if (!command_line.run) {
    if (command_line.status == 0)
      write_all(1, command_line.text);
    else
      diagnostics.error(command_line.text);
    *status = command_line.status;
    return false;
  }
  options = std::move(command_line.options);
  if (options.log_to_stderr) diagnostics.log_to_stderr();
  return true;
}

int open_debug_file(const Options& options, Diagnostics& diagnostics) {
  if (options.debug_file.empty() || diagnostics.use_file(options.debug_file))
    return 0;
  diagnostics.error("cannot open --debug-file " + options.debug_file + ": " +
                    std::strerror(errno));
  return EX_CANTCREAT;
}

smtpd::ChannelConfig channel_config(const Options& options) {
  smtpd::ChannelConfig config;
  config.hostname = options.hostname.empty() ? host_name() : options.hostname;
  config.data_size_limit = options.size;
  config.enable_smtputf8 = options.smtputf8;
  config.decode_data = options.decode_data;
  config.max_recipients = std::size_t(options.max_recipients);
  config.max_errors = unsigned(options.max_errors);
  config.auth = !options.auth_checkpassword.empty() || options.auth_accept_any;
  config.auth_insecure = options.auth_insecure;
  config.require_tls = options.require_tls;
  return config;
}

smtpd::StopSignals catch_stop_signals() {
  stop_signals =
      smtpd::StopSignals::catch_signals({SIGTERM, SIGHUP, SIGINT}, SIGINT);
  return stop_signals;
}

smtpd::DriverOptions driver_options(const Options& options,
                                    const smtpd::StopSignals& stop,
                                    Diagnostics& diagnostics) {
  smtpd::DriverOptions driver;
  driver.command_timeout_seconds = options.command_timeout;
  driver.data_timeout_seconds = options.data_timeout;
  driver.session_timeout_seconds = options.session_timeout;
  driver.stop = stop;
  driver.log = [&](std::string_view line) {
    // The end of a session goes where the transaction log goes.
    if (line.rfind("session ", 0) == 0)
      diagnostics.transaction(line);
    else
      diagnostics.error(line);
  };
  if (options.debug) {
    driver.trace = [&](std::string_view direction, std::string_view bytes) {
      constexpr std::size_t shown = 512;
      std::string line(direction);
      line += ' ';
      line += smtpd::text::repr_bytes(bytes.substr(0, shown));
      if (bytes.size() > shown) line += "...";
      diagnostics.printout(line + "\n");
    };
  }
  return driver;
}

std::unique_ptr<smtpd::Handler> finish_delivery(
    const Options& options, Diagnostics& diagnostics,
    std::unique_ptr<smtpd::Handler> delivery, std::string detail_name) {
  if (!options.maildir.empty())
    delivery = std::make_unique<smtpd::MaildirDelivery>(
        options.maildir, std::move(delivery),
        [&](std::string_view line) { diagnostics.error(line); });
  delivery = std::make_unique<TransactionLog>(
      std::move(delivery), std::move(detail_name), diagnostics);
  if (!options.auth_checkpassword.empty() || options.auth_accept_any)
    delivery =
        std::make_unique<AuthCheck>(options, diagnostics, std::move(delivery));
  if (!options.fail_rules.empty())
    delivery = std::make_unique<FailingSession>(
        failure_injector(options, diagnostics), std::move(delivery));
  return delivery;
}

std::unique_ptr<smtpd::Handler> debugging_delivery(const Options& options,
                                                   Diagnostics& diagnostics) {
  return finish_delivery(
      options, diagnostics,
      std::make_unique<smtpd::DebuggingServer>(diagnostics, options.decode_data,
                                               options.show_envelope),
      std::string());
}

int serve_one_session(const Options& options, smtpd::ChannelConfig config,
                      const MakeDelivery& make_delivery,
                      Diagnostics& diagnostics, smtpd::TlsFactory tls) {
  // smtpd.py listened; we serve stdin.  Someone who typed the command at a
  // terminal may have meant to listen: say once what this is.
  if (isatty(0))
    diagnostics.error(
        "one SMTP session on this terminal (to listen on a port instead: "
        "-l HOST:PORT, e.g. -l 127.0.0.1:8025)");
  const smtpd::Peer peer = smtpd::find_peer(0, std::getenv);
  diagnostics.serving();
  const smtpd::StopSignals stop = catch_stop_signals();
  delay_wait_mask = stop.wait_mask();
  const std::unique_ptr<smtpd::Handler> handler = make_delivery();
  smtpd::DriverOptions driver = driver_options(options, stop, diagnostics);
  driver.tls = std::move(tls);
  driver.tls_on_connect = options.tls_on_connect;
  // With --proxy-protocol the proxy speaks first: its header, then the
  // greeting; a bad one or none in time closes without a greeting.
  smtpd::Connection connection(driver, std::move(config), *handler, peer,
                               options.proxy_protocol,
                               std::chrono::steady_clock::now());
  const smtpd::SessionEnd end = smtpd::run_connection(connection, 0, 1, driver);
  if (!connection.channel()) return EX_PROTOCOL;
  if (end == smtpd::SessionEnd::io_error) {
    diagnostics.error(std::string("connection failed: ") +
                      std::strerror(errno));
    return EX_IOERR;
  }
  // A printout that could not be written was answered with 451 and said
  // on stderr; the exit status says it too, for a shell pipe.
  if (diagnostics.printout_ever_failed()) return EX_IOERR;
  return EX_OK;
}

}  // namespace in_smtpd
