// in.smtpd - one SMTP session on standard input and output.
//
// Started once per connection by systemd (Accept=yes), inetd, xinetd,
// tcpserver or a shell pipe, so its start-up is the cost of every
// session.  It is linked statically, Boost.Program_options too: a session
// loads no shared library, and its process takes a third fewer page
// faults and a quarter less CPU than the same code linked with libc
// (bench/README.md).  A static program cannot safely load shared
// libraries later, though, so a session that needs one is handed over,
// before a byte of SMTP, to in.smtpd-full: the same program linked with
// them, an internal program under libexecdir (in.smtpd-full.cpp), given
// the options as read here (hand_over.hpp).  What stays here is the
// common case: a DebuggingServer session by an unprivileged user.
// Nothing but SMTP is ever written to the connection (see logs.hpp for
// where everything else goes).
#include <sysexits.h>
#include <unistd.h>

#include "debug_file.hpp"
#include "delivery_stack.hpp"
#include "hand_over.hpp"
#include "inetd_session.hpp"
#include "logs.hpp"
#include "options.hpp"
#include "program_start.hpp"
#include "socket_activation.hpp"

namespace {

using in_smtpd::Logs;
using in_smtpd::Options;

// What only in.smtpd-full can do, and so why a session goes there (nullptr:
// it stays here).  PureProxy and MailmanProxy relay with libcurl; becoming
// --user asks the name service (NSS modules are shared libraries); -l
// resolves host names the same way; TLS needs OpenSSL.  The standalone mode (-l
// or systemd's listening sockets) lives there too: it starts once, so its
// start-up cost does not matter.
const char* needs_full_program(const Options& options) {
  switch (options.server_class) {
    case in_smtpd::ServerClass::pure_proxy:
      return "class PureProxy";
    case in_smtpd::ServerClass::mailman_proxy:
      return "class MailmanProxy";
    case in_smtpd::ServerClass::debugging:
      break;
  }
  // OpenSSL stays out of this program (bench/README.md, "TLS").
  if (options.wants_tls()) return "TLS (--tls-cert or --tls-self-signed)";
  if (options.setuid && geteuid() == 0) return "started as root, --user";
  if (!options.listen.empty()) return "--listen";
  if (in_smtpd::systemd_listener_count() > 0)
    return "systemd's listening sockets";
  return nullptr;
}

// The program; run_program says what it throws.
int run(int argc, char* argv[], Logs& logs) {
  Options options;
  in_smtpd::CommandLine command_line = in_smtpd::parse_command_line(argc, argv);
  const std::string values = std::move(command_line.values);
  if (!in_smtpd::start_program(std::move(command_line), logs, options))
    return EX_OK;
  if (const char* reason = needs_full_program(options))
    in_smtpd::hand_over(values, reason, options, argv, logs);

  in_smtpd::open_debug_file(options, logs.printout);
  return in_smtpd::serve_one_session(
      options, in_smtpd::channel_config(options),
      [&] { return in_smtpd::debugging_delivery(options, logs); }, logs);
}

}  // namespace

int main(int argc, char* argv[]) {
  return in_smtpd::run_program(run, argc, argv);
}
