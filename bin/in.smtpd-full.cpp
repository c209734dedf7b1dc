// in.smtpd-full - in.smtpd with everything that needs shared libraries.
//
// An internal program, under libexecdir.  in.smtpd hands a process over
// to this program, with the options it has read (hand_over.hpp), when the
// session needs what a static program cannot safely load (see
// in.smtpd.cpp): libcurl for PureProxy and MailmanProxy, the name service
// for --user and for the host names of -l.  It also serves the standalone
// mode.  Launchers whose class is PureProxy or MailmanProxy, or that
// listen, start it directly (the shipped units and inetd lines do): one
// exec per session, not two.  Reads the secrets and opens the sockets that need
// root, drops root, then serves one session on stdin and stdout, or every
// connection on its listening sockets.
#include <sysexits.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "debug_file.hpp"
#include "delivery_stack.hpp"
#include "driver_settings.hpp"
#include "exit_error.hpp"
#include "failure_injection.hpp"
#include "hand_over.hpp"
#include "inetd_session.hpp"
#include "listen_sockets.hpp"
#include "logs.hpp"
#include "options.hpp"
#include "password_file.hpp"
#include "privileges.hpp"
#include "program_path.hpp"
#include "program_start.hpp"
#include "smtpd/listener.hpp"
#include "smtpd/mailman.hpp"
#include "smtpd/relay.hpp"
#include "smtpd/tls.hpp"
#include "socket_activation.hpp"
#include "stop_signals.hpp"

namespace {

using in_smtpd::Logs;
using in_smtpd::Options;

// lmtp-deliver, for Mailman 3.
std::string lmtp_deliver_path() {
  return in_smtpd::beside_self_or("lmtp-deliver",
                                  PKGLIBEXECDIR "/lmtp-deliver");
}

// The delivery class, with what the options put around it
// (finish_delivery): PureProxy and MailmanProxy relay only what the relay
// policy allows (their RCPT hook).  Made once per session.
std::unique_ptr<smtpd::Handler> make_delivery(
    const Options& options, const smtpd::UpstreamSettings& upstream,
    Logs& logs) {
  const auto log = [&](std::string_view line) { logs.errors.say(line); };
  switch (options.server_class) {
    case in_smtpd::ServerClass::debugging:
      break;
    case in_smtpd::ServerClass::pure_proxy:
      return in_smtpd::finish_delivery(options, logs,
                                       std::make_unique<smtpd::PureProxy>(
                                           upstream, log, options.relay_policy),
                                       "upstream");
    case in_smtpd::ServerClass::mailman_proxy: {
      smtpd::MailmanSettings settings = options.mailman;
      settings.lmtp_program = lmtp_deliver_path();
      return in_smtpd::finish_delivery(
          options, logs,
          std::make_unique<smtpd::MailmanProxy>(std::move(settings), upstream,
                                                options.relay_policy, log),
          "delivery");
    }
  }
  return in_smtpd::debugging_delivery(options, logs);
}

// Whether a --fail rule delays the DATA command.  The other stages are
// hooks, which the standalone listener runs on a thread of their own when
// they may wait; the DATA command waits where the channel is driven, which
// in the standalone mode would hold up every other session.
bool delays_data_command(const Options& options) {
  for (const in_smtpd::FailRule& rule : options.fail_rules)
    if (rule.action == in_smtpd::FailRule::Action::delay &&
        rule.stage == in_smtpd::FailStage::data)
      return true;
  return false;
}

// The standalone mode: one process, every connection (listener.hpp).
// Throws ExitError (EX_OSERR) when listening fails.
void serve_standalone(const Options& options, const std::vector<int>& listeners,
                      const smtpd::ChannelConfig& config,
                      const smtpd::UpstreamSettings& upstream,
                      smtpd::TlsFactory tls, Logs& logs) {
  smtpd::ListenerOptions listener;
  listener.channel = config;
  listener.stop = in_smtpd::catch_stop_signals();
  listener.connection = in_smtpd::driver_options(options, listener.stop, logs);
  listener.connection.tls = std::move(tls);
  listener.connection.tls_on_connect = options.tls_on_connect;
  listener.max_connections = options.max_connections;
  listener.shutdown_grace_seconds = options.shutdown_grace;
  listener.proxy_protocol = options.proxy_protocol;
  listener.log_error = [&](std::string_view line) { logs.errors.say(line); };
  try {
    smtpd::run_listener(listeners, listener,
                        [&] { return make_delivery(options, upstream, logs); });
  } catch (const std::system_error& failure) {
    throw in_smtpd::ExitError(
        EX_OSERR, std::string("listening failed: ") + failure.code().message());
  }
}

// The TLS context, made as root: the key may be readable by root only.
// --tls-self-signed names the certificate after the greeting's host name.
// Throws TlsError with one line that names the file.
smtpd::TlsFactory tls_from_options(const Options& options,
                                   const std::string& hostname) {
  if (!options.tls_cert.empty())
    return smtpd::tls_sessions(
        smtpd::TlsContext::from_files(options.tls_cert, options.tls_key));
  if (options.tls_self_signed)
    return smtpd::tls_sessions(smtpd::TlsContext::self_signed(hostname));
  return {};
}

// The program; run_program says what it throws.
int run(int argc, char* argv[], Logs& logs) {
  Options options;
  if (!in_smtpd::start_program(in_smtpd::take_over(argc, argv), logs, options))
    return EX_OK;

  // Everything that needs root happens before privileges are dropped:
  // secrets, the debug file, listening sockets (port 25).
  smtpd::UpstreamSettings upstream = options.upstream;
  if (!options.relay_password_file.empty())
    upstream.password = in_smtpd::read_password_file(
        "relay-password-file", options.relay_password_file);
  in_smtpd::open_debug_file(options, logs.printout);
  smtpd::ChannelConfig config = in_smtpd::channel_config(options);
  smtpd::TlsFactory tls;
  const bool standalone =
      !options.listen.empty() || in_smtpd::systemd_listener_count() > 0;
  try {
    tls = tls_from_options(options, config.hostname);
  } catch (const smtpd::TlsError& error) {
    // A server that starts once says so and stops; a session started per
    // connection still takes mail, and answers STARTTLS with 454, as
    // Postfix does (RFC 3207 4: "TLS not available due to temporary
    // reason").  Implicit TLS cannot go on without it.
    if (standalone || options.tls_on_connect)
      throw in_smtpd::ExitError(EX_CONFIG, error.what());
    logs.errors.say(error.what());
    config.starttls = smtpd::ChannelConfig::StartTls::unavailable;
  }
  const std::vector<int> listeners =
      !options.listen.empty() ? in_smtpd::open_listeners(options.listen)
                              : in_smtpd::systemd_listeners();
  if (options.setuid) in_smtpd::drop_privileges(options.user);
  upstream.helo_name = config.hostname;
  if (!listeners.empty() && delays_data_command(options))
    throw in_smtpd::ExitError(
        EX_USAGE,
        "--fail data:delay=SECONDS works only per connection: in the "
        "standalone mode it would hold up every session");
  if (!listeners.empty()) {
    logs.standalone();
    logs.errors.serving();
    serve_standalone(options, listeners, config, upstream, std::move(tls),
                     logs);
    return EX_OK;
  }
  return in_smtpd::serve_one_session(
      options, config, [&] { return make_delivery(options, upstream, logs); },
      logs, std::move(tls));
}

}  // namespace

int main(int argc, char* argv[]) {
  return in_smtpd::run_program(run, argc, argv);
}
