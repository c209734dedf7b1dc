// in.smtpd - one SMTP session on standard input and output.
//
// Started once per connection by systemd (Accept=yes), inetd, xinetd,
// tcpserver or a shell pipe.  Reads the options, finds out who the peer
// is, builds the delivery class, drops root, and runs the channel until
// the session ends.  Nothing but SMTP is ever written to the connection
// (see diagnostics.hpp for where everything else goes).
#include <poll.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "diagnostics.hpp"
#include "listen_sockets.hpp"
#include "options.hpp"
#include "session_setup.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/debugging.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/listener.hpp"
#include "smtpd/mailman.hpp"
#include "smtpd/peer.hpp"
#include "smtpd/proxy_header.hpp"
#include "smtpd/relay.hpp"
#include "smtpd/text.hpp"
#include "transaction_log.hpp"

namespace {

using in_smtpd::Diagnostics;
using in_smtpd::Options;

volatile std::sig_atomic_t stop_requested = 0;

std::string host_name() {
  char name[256] = "";
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
    return "localhost";
  return name;
}

// With --proxy-protocol the proxy speaks first: read its header before
// the greeting (bytes after it are the client's, for the channel).  Any
// failure closes the connection without a greeting.
bool read_proxy_header(unsigned timeout_seconds, smtpd::Peer& peer,
                       std::string& rest, Diagnostics& diagnostics) {
  std::string buffer;
  for (;;) {
    const smtpd::ProxyHeader header = smtpd::parse_proxy_header(buffer);
    if (header.status == smtpd::ProxyHeader::Status::complete) {
      if (header.has_address) peer = header.source;
      rest = buffer.substr(header.length);
      return true;
    }
    if (header.status == smtpd::ProxyHeader::Status::invalid) {
      diagnostics.error("bad PROXY header: " + header.error);
      return false;
    }
    pollfd input = {0, POLLIN, 0};
    const int ready = poll(&input, 1, int(timeout_seconds) * 1000);
    if (ready < 0 && errno == EINTR) continue;
    char chunk[512];
    const ssize_t got = ready > 0 ? read(0, chunk, sizeof chunk) : -1;
    if (got <= 0) {
      diagnostics.error(ready == 0 ? "no PROXY header in time"
                                   : "connection closed before the PROXY header");
      return false;
    }
    buffer.append(chunk, std::size_t(got));
  }
}

// The delivery class, wrapped in the transaction log, and the recipient
// check that goes with it: PureProxy and MailmanProxy relay only what the
// relay policy allows.  Made once per session.
std::unique_ptr<smtpd::Server> make_delivery(
    const Options& options, const smtpd::UpstreamSettings& upstream,
    Diagnostics& diagnostics, smtpd::ChannelConfig& config) {
  const auto log = [&](std::string_view line) { diagnostics.error(line); };
  std::unique_ptr<smtpd::Server> delivery;
  const smtpd::PureProxy* relay = nullptr;
  switch (options.server_class) {
    case in_smtpd::ServerClass::debugging:
      delivery = std::make_unique<smtpd::DebuggingServer>(
          diagnostics, options.decode_data);
      break;
    case in_smtpd::ServerClass::pure_proxy: {
      auto proxy = std::make_unique<smtpd::PureProxy>(upstream, log);
      relay = proxy.get();
      config.check_recipient = [&](const smtpd::Peer& client,
                                   const std::string& recipient) {
        return options.relay_policy.check(client, recipient);
      };
      delivery = std::move(proxy);
      break;
    }
    case in_smtpd::ServerClass::mailman_proxy: {
      auto mailman = std::make_unique<smtpd::MailmanProxy>(
          options.mailman, upstream, options.relay_policy, log);
      relay = &mailman->relay();
      config.check_recipient = [server = mailman.get()](
                                   const smtpd::Peer& client,
                                   const std::string& recipient) {
        return server->check_recipient(client, recipient);
      };
      delivery = std::move(mailman);
      break;
    }
  }
  return std::make_unique<in_smtpd::TransactionLog>(std::move(delivery), relay,
                                                    diagnostics);
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

smtpd::DriverOptions driver_options(const Options& options,
                                    const sigset_t& wait_mask,
                                    Diagnostics& diagnostics) {
  smtpd::DriverOptions driver;
  driver.command_timeout_seconds = options.command_timeout;
  driver.data_timeout_seconds = options.data_timeout;
  driver.session_timeout_seconds = options.session_timeout;
  driver.stop_requested = &stop_requested;
  driver.wait_mask = &wait_mask;
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

// The standalone mode: one process, every connection (listener.hpp).
int serve_standalone(const Options& options, const std::vector<int>& listeners,
                     const smtpd::ChannelConfig& config,
                     const smtpd::UpstreamSettings& upstream,
                     Diagnostics& diagnostics) {
  const sigset_t wait_mask = in_smtpd::catch_stop_signals(&stop_requested);
  smtpd::ListenerOptions listener;
  listener.channel = config;
  listener.timeouts = driver_options(options, wait_mask, diagnostics);
  listener.max_connections = options.max_connections;
  listener.shutdown_grace_seconds = options.shutdown_grace;
  listener.proxy_protocol = options.proxy_protocol;
  // DebuggingServer answers at once; a relay or Mailman may take a while.
  listener.threaded_delivery =
      options.server_class != in_smtpd::ServerClass::debugging;
  listener.log_error = [&](std::string_view line) { diagnostics.error(line); };
  const int status = smtpd::run_listener(
      listeners, listener, [&](smtpd::ChannelConfig& config) {
        return make_delivery(options, upstream, diagnostics, config);
      });
  if (status != 0) {
    diagnostics.error(std::string("listening failed: ") + std::strerror(status));
    return EX_OSERR;
  }
  return EX_OK;
}

}  // namespace

int main(int argc, char* argv[]) {
  // A client that goes away must not kill us mid-write; EPIPE is handled
  // where it happens.
  signal(SIGPIPE, SIG_IGN);

  Diagnostics diagnostics;
  const in_smtpd::CommandLine command_line =
      in_smtpd::parse_command_line(argc, argv);
  if (!command_line.run) {
    if (command_line.status == 0)
      in_smtpd::write_all(1, command_line.text);
    else
      diagnostics.error(command_line.text);
    return command_line.status;
  }
  const Options& options = command_line.options;
  if (options.log_to_stderr) diagnostics.log_to_stderr();

  // Everything that needs root happens before privileges are dropped:
  // secrets, the debug file, listening sockets (port 25).
  smtpd::UpstreamSettings upstream = options.upstream;
  if (!options.relay_password_file.empty() &&
      !in_smtpd::read_first_line(options.relay_password_file,
                                 upstream.password)) {
    diagnostics.error("cannot read --relay-password-file " +
                      options.relay_password_file + ": " +
                      std::strerror(errno));
    return EX_NOINPUT;
  }
  if (!options.debug_file.empty() && !diagnostics.use_file(options.debug_file)) {
    diagnostics.error("cannot open --debug-file " + options.debug_file + ": " +
                      std::strerror(errno));
    return EX_CANTCREAT;
  }
  std::vector<int> listeners;
  if (!options.listen.empty()) {
    std::string error;
    listeners = in_smtpd::open_listeners(options.listen, error);
    if (listeners.empty()) {
      diagnostics.error("cannot listen on " + error);
      return EX_UNAVAILABLE;
    }
  } else {
    listeners = in_smtpd::systemd_listeners();
  }
  if (options.setuid) {
    if (const int status = in_smtpd::drop_privileges(options.user, diagnostics))
      return status;
  }
  // Once per process: the host name is looked up here only.
  smtpd::ChannelConfig config = channel_config(options);
  upstream.helo_name = config.hostname;
  if (!listeners.empty()) {
    diagnostics.standalone();
    return serve_standalone(options, listeners, config, upstream, diagnostics);
  }

  // inetd style: this process is one session on stdin and stdout.
  smtpd::Peer peer = smtpd::find_peer(0, std::getenv);
  std::string early_input;
  if (options.proxy_protocol &&
      !read_proxy_header(options.command_timeout, peer, early_input,
                         diagnostics))
    return EX_PROTOCOL;
  const std::unique_ptr<smtpd::Server> server =
      make_delivery(options, upstream, diagnostics, config);
  smtpd::Channel channel(config, peer);
  channel.feed(early_input);

  const sigset_t wait_mask = in_smtpd::catch_stop_signals(&stop_requested);
  const smtpd::DriverOptions driver =
      driver_options(options, wait_mask, diagnostics);
  const smtpd::SessionEnd end = smtpd::run_session(channel, *server, 0, 1, driver);
  return end == smtpd::SessionEnd::io_error ? EX_IOERR : EX_OK;
}
