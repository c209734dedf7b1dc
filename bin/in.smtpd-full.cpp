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

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "diagnostics.hpp"
#include "failure_injection.hpp"
#include "hand_over.hpp"
#include "listen_sockets.hpp"
#include "options.hpp"
#include "session.hpp"
#include "session_setup.hpp"
#include "smtpd/listener.hpp"
#include "smtpd/mailman.hpp"
#include "smtpd/relay.hpp"

namespace {

using in_smtpd::Diagnostics;
using in_smtpd::Options;

// lmtp-deliver, for Mailman 3: beside this program when it is there (the
// build tree; the installed layout with this program under libexecdir),
// else where it is installed.
std::string lmtp_deliver_path() {
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length > 0) {
    std::string path(self, std::size_t(length));
    path.erase(path.rfind('/') + 1);
    path += "lmtp-deliver";
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return PKGLIBEXECDIR "/lmtp-deliver";
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
      return in_smtpd::debugging_delivery(options, diagnostics);
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
      smtpd::MailmanSettings settings = options.mailman;
      settings.lmtp_program = lmtp_deliver_path();
      auto mailman = std::make_unique<smtpd::MailmanProxy>(
          std::move(settings), upstream, options.relay_policy, log);
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
  return in_smtpd::finish_delivery(options, diagnostics, std::move(delivery),
                                   relay);
}

// Whether a --fail rule delays the message stage (at_message) or a
// command.  A delay at a command waits in the session's own process; in
// the standalone mode it would hold up every other session, so it is
// refused there (a delay after the final dot waits on the delivery
// thread).
bool delays(const Options& options, bool at_message) {
  for (const in_smtpd::FailRule& rule : options.fail_rules)
    if (rule.action == in_smtpd::FailRule::Action::delay &&
        (rule.stage == in_smtpd::FailStage::message) == at_message)
      return true;
  return false;
}

// The standalone mode: one process, every connection (listener.hpp).
int serve_standalone(const Options& options, const std::vector<int>& listeners,
                     const smtpd::ChannelConfig& config,
                     const smtpd::UpstreamSettings& upstream,
                     Diagnostics& diagnostics) {
  const sigset_t wait_mask = in_smtpd::catch_stop_signals();
  smtpd::ListenerOptions listener;
  listener.channel = config;
  listener.timeouts = in_smtpd::driver_options(options, wait_mask, diagnostics);
  in_smtpd::stop_signals_for_listener(listener);
  listener.max_connections = options.max_connections;
  listener.shutdown_grace_seconds = options.shutdown_grace;
  listener.proxy_protocol = options.proxy_protocol;
  // DebuggingServer answers at once; a relay, Mailman, or a --fail delay
  // may take a while.
  listener.threaded_delivery =
      options.server_class != in_smtpd::ServerClass::debugging ||
      delays(options, true);
  listener.on_channel = in_smtpd::attach_failures;
  listener.log_error = [&](std::string_view line) { diagnostics.error(line); };
  const int status = smtpd::run_listener(
      listeners, listener, [&](smtpd::ChannelConfig& config) {
        return make_delivery(options, upstream, diagnostics, config);
      });
  if (status != 0) {
    diagnostics.error(std::string("listening failed: ") +
                      std::strerror(status));
    return EX_OSERR;
  }
  return EX_OK;
}

}  // namespace

int main(int argc, char* argv[]) {
  Diagnostics diagnostics;
  Options options;
  int status = 0;
  if (!in_smtpd::start_program(in_smtpd::take_over(argc, argv), diagnostics,
                               options, &status))
    return status;

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
  if ((status = in_smtpd::open_debug_file(options, diagnostics))) return status;
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
    if ((status = in_smtpd::drop_privileges(options.user, diagnostics)))
      return status;
  }
  smtpd::ChannelConfig config = in_smtpd::channel_config(options);
  upstream.helo_name = config.hostname;
  if (!listeners.empty() && delays(options, false)) {
    diagnostics.error(
        "--fail STAGE:delay=SECONDS works only per connection, or at the "
        "message stage: in the standalone mode it would hold up every "
        "session");
    return EX_USAGE;
  }
  if (!listeners.empty()) {
    diagnostics.standalone();
    return serve_standalone(options, listeners, config, upstream, diagnostics);
  }
  return in_smtpd::serve_one_session(
      options, config,
      [&](smtpd::ChannelConfig& session_config) {
        return make_delivery(options, upstream, diagnostics, session_config);
      },
      diagnostics);
}
