// session.cpp - options, debug file and one session on stdin and stdout
// (see session.hpp).
#include "session.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "diagnostics.hpp"
#include "smtpd/debugging.hpp"
#include "smtpd/peer.hpp"
#include "smtpd/connection.hpp"
#include "smtpd/text.hpp"
#include "transaction_log.hpp"

namespace in_smtpd {
namespace {

// Set by SIGTERM, SIGHUP or SIGINT; the driver and the listener end on it.
volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) { stop_requested = 1; }

constexpr int stop_signals[] = {SIGTERM, SIGHUP, SIGINT};

std::string host_name() {
  char name[256] = "";
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
    return "localhost";
  return name;
}

}  // namespace

bool start_program(int argc, char* argv[], Diagnostics& diagnostics,
                   Options& options, int* status) {
  // A client that goes away must not kill us mid-write; EPIPE is handled
  // where it happens.
  signal(SIGPIPE, SIG_IGN);
  CommandLine command_line = parse_command_line(argc, argv);
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
  return config;
}

sigset_t catch_stop_signals() {
  sigset_t blocked, wait_mask;
  sigemptyset(&blocked);
  for (const int signal_number : stop_signals) {
    sigaddset(&blocked, signal_number);
    struct sigaction action = {};
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, nullptr);
  }
  sigprocmask(SIG_BLOCK, &blocked, &wait_mask);
  for (const int signal_number : stop_signals)
    sigdelset(&wait_mask, signal_number);
  return wait_mask;
}

smtpd::DriverOptions driver_options(const Options& options,
                                    const sigset_t& wait_mask,
                                    Diagnostics& diagnostics) {
  smtpd::DriverOptions driver;
  driver.command_timeout_seconds = options.command_timeout;
  driver.data_timeout_seconds = options.data_timeout;
  driver.session_timeout_seconds = options.session_timeout;
  driver.stop_requested = &stop_requested;
  driver.wait_mask = &wait_mask;
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

std::unique_ptr<smtpd::Handler> debugging_delivery(const Options& options,
                                                   Diagnostics& diagnostics) {
  return std::make_unique<TransactionLog>(
      std::make_unique<smtpd::DebuggingServer>(diagnostics,
                                               options.decode_data),
      std::string(), diagnostics);
}

int serve_one_session(const Options& options, smtpd::ChannelConfig config,
                      const MakeDelivery& make_delivery,
                      Diagnostics& diagnostics) {
  const smtpd::Peer peer = smtpd::find_peer(0, std::getenv);
  const std::unique_ptr<smtpd::Handler> handler = make_delivery();
  const sigset_t wait_mask = catch_stop_signals();
  const smtpd::DriverOptions driver =
      driver_options(options, wait_mask, diagnostics);
  // With --proxy-protocol the proxy speaks first: its header, then the
  // greeting; a bad one or none in time closes without a greeting.
  smtpd::Connection connection(driver, std::move(config), *handler, peer,
                               options.proxy_protocol,
                               std::chrono::steady_clock::now());
  const smtpd::SessionEnd end = smtpd::run_connection(connection, 0, 1, driver);
  if (!connection.channel()) return EX_PROTOCOL;
  return end == smtpd::SessionEnd::io_error ? EX_IOERR : EX_OK;
}

}  // namespace in_smtpd
