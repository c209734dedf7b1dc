// options.hpp - in.smtpd's command line (smtpd.py's options, plus the ones
// a deployment needs) and options file, read with Boost.Program_options
// (see options.cpp for what keeps that cheap: every connection starts a
// process).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "failures.hpp"
#include "smtpd/limits.hpp"
#include "smtpd/mailman.hpp"
#include "smtpd/relay_policy.hpp"
#include "smtpd/upstream.hpp"

namespace in_smtpd {

enum class ServerClass { debugging, pure_proxy, mailman_proxy };

// Every default is here, or in what it comes from (lib/smtpd/limits.hpp,
// the library's settings): --help shows these values (options.cpp).
struct Options {
  ServerClass server_class = ServerClass::pure_proxy;     // smtpd.py's default
  std::uint64_t size = smtpd::limits::default_data_size;  // 0: none
  bool smtputf8 = false;
  bool decode_data = false;
  bool debug = false;
  bool setuid = true;
  std::string user = "nobody";
  bool proxy_protocol = false;
  // TLS (RFC 3207, RFC 8314): a certificate and key from files, or one
  // made at start; implicit TLS; no mail before STARTTLS.
  std::string tls_cert;
  std::string tls_key;
  bool tls_self_signed = false;
  bool tls_on_connect = false;
  bool require_tls = false;
  bool wants_tls() const { return !tls_cert.empty() || tls_self_signed; }
  bool log_to_stderr = false;
  std::string hostname;  // empty: the host's name
  std::string debug_file;
  unsigned command_timeout = smtpd::limits::default_command_timeout_seconds;
  unsigned data_timeout = smtpd::limits::default_data_timeout_seconds;
  unsigned session_timeout = smtpd::limits::default_session_timeout_seconds;
  std::uint64_t max_recipients = smtpd::limits::default_max_recipients;
  std::uint64_t max_errors = smtpd::limits::default_max_errors;
  // PureProxy: where to relay (host and port from REMOTEHOST:REMOTEPORT),
  // and for whom.
  smtpd::UpstreamSettings upstream;
  std::string relay_password_file;
  smtpd::RelayPolicy relay_policy;
  // Standalone mode: listen on these (HOST:PORT) and serve every
  // connection from one process.
  std::vector<std::string> listen;
  unsigned max_connections = smtpd::limits::default_max_connections;
  unsigned shutdown_grace = smtpd::limits::default_shutdown_grace_seconds;
  // MailmanProxy.
  smtpd::MailmanSettings mailman;
  // AUTH (RFC 4954): offered when a checker is given, the checkpassword
  // program (its path and arguments) or accept-any; in the clear only
  // with auth_insecure.  An authenticated client may relay unless
  // relay_policy says otherwise (--auth-no-relay).
  std::vector<std::string> auth_checkpassword;
  bool auth_accept_any = false;
  bool auth_insecure = false;
  unsigned auth_timeout = smtpd::limits::default_checkpassword_timeout_seconds;
  // For test rigs: keep every accepted message in this Maildir; show the
  // envelope in DebuggingServer's printout; fail on demand.
  std::string maildir;
  bool show_envelope = false;
  std::vector<FailRule> fail_rules;
  bool fail_seeded = false;
  std::uint64_t fail_seed = 0;
};

// What the command line asks for: run a session with options, or print
// text on stdout and exit 0 (--help, --version).
struct CommandLine {
  Options options;
  std::string text;  // --help's or --version's; empty: run a session
  // When run: every value taken, from the command line and the file, as
  // NAME NUL VALUE NUL: what in.smtpd hands to in.smtpd-full, so that the
  // options are read once per session.
  std::string values;
};

// Throws ExitError with the one line that names the option: EX_USAGE, or
// EX_CONFIG with the file's name and line when the options file gave it.
CommandLine parse_command_line(int argc, const char* const argv[]);

// The options from values as CommandLine::values holds them; throws as
// parse_command_line does.
CommandLine parse_values(std::string_view values);

}  // namespace in_smtpd
