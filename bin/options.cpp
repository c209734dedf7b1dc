// options.cpp - reading and checking in.smtpd's options (see options.hpp).
//
// One table, option_table, holds every option: its long name, its letter, the
// name of its value (none for a switch), how often it may be given, its
// help (with its default, taken from a default-made Options), and the
// setter that checks a value and sets it.  An
// options_description made from it lets Boost.Program_options read the
// command line (a long name may be shortened to any unambiguous prefix;
// --name=VALUE and --name VALUE are the same) and the options file (full
// names only).  Three steps:
//   1. collect: the command line, then from the file every option the
//      command line left unset (lists add up from both).  An unknown
//      option, a missing value, an option given twice stop here, before
//      --help and --version are looked at;
//   2. unless --help or --version, each setter checks and sets its
//      option's values, in table order, then the checks between options;
//   3. the values taken are kept as NAME NUL VALUE NUL, so that
//      in.smtpd-full, when it is handed the session, sets them without
//      reading the command line and the file again.
// Every mistake is an ExitError: one line naming the option and exit
// status EX_USAGE, or EX_CONFIG and the file's name and line when the
// file gave the value; all before any byte goes to the client.
//
// Start-up cost (every connection starts a process): every value is held
// as a string and converted by the setters below, so that Boost's
// lexical_cast never builds a stream; the options_description holds no
// help (usage() prints the table's); Boost's store() and variables_map
// are not used, the parsed options are read directly; no stream is made
// unless --config is given.
#include "options.hpp"

#include <fcntl.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options/cmdline.hpp>
#include <boost/program_options/errors.hpp>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/value_semantic.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config.h"
#include "exit_error.hpp"
#include "host_port.hpp"
#include "smtpd/text.hpp"

namespace in_smtpd {
namespace {

// Why the options are refused: the one line to say, and the exit status.
// A setter says a bad value in full as a usage error; apply() makes it
// the options file's when the file gave the value.
ExitError usage_error(const std::string& text) {
  return ExitError(EX_USAGE, text);
}

ExitError file_error(const std::string& path, unsigned line,
                     const std::string& text) {
  return ExitError(
      EX_CONFIG, path + (line ? ":" + std::to_string(line) : "") + ": " + text);
}

std::uint64_t parse_number(const char* option, const std::string& text,
                           std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string::npos ||
      (value = std::stoull(text)) > max || value < min)
    throw usage_error("invalid value for --" + std::string(option) + ": '" +
                      text + "' (a whole number from " + std::to_string(min) +
                      " to " + std::to_string(max) + " expected)");
  return value;
}

// The names an option's value takes: one table each, for parsing the
// value and for showing the default in --help.
template <typename Value>
struct Named {
  Value value;
  const char* name;
};

constexpr Named<ServerClass> class_names[] = {
    {ServerClass::debugging, "DebuggingServer"},
    {ServerClass::pure_proxy, "PureProxy"},
    {ServerClass::mailman_proxy, "MailmanProxy"},
};

using UpstreamTls = smtpd::UpstreamSettings::Tls;
constexpr Named<UpstreamTls> relay_tls_names[] = {
    {UpstreamTls::none, "none"},
    {UpstreamTls::try_starttls, "try"},
    {UpstreamTls::starttls, "starttls"},
    {UpstreamTls::smtps, "smtps"},
};

template <typename Value, std::size_t count>
const char* name_of(const Named<Value> (&names)[count], Value value) {
  for (const Named<Value>& named : names)
    if (named.value == value) return named.name;
  return "?";
}

ServerClass parse_class(const std::string& name) {
  std::string_view key = name;
  if (smtpd::text::ascii_iequal(key.substr(0, 6), "smtpd."))
    key.remove_prefix(6);
  for (const Named<ServerClass>& named : class_names)
    if (smtpd::text::ascii_iequal(key, named.name)) return named.value;
  throw usage_error("unknown class for --class: '" + name +
                    "' (DebuggingServer, PureProxy or MailmanProxy)");
}

// HOST:PORT as the options take it: an IPv6 address in brackets.
std::string host_port_text(const smtpd::UpstreamSettings& upstream) {
  const bool ipv6 = upstream.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + upstream.host + "]" : upstream.host) + ":" +
         upstream.port;
}

void set_remote(Options& options, const char*, const std::string& spec) {
  const std::optional<HostPort> remote = split_host_port(spec);
  if (!remote)
    throw usage_error("bad remote spec: '" + spec +
                      "' (HOST:PORT expected, [ADDRESS]:PORT for IPv6)");
  options.upstream.host = remote->host;
  options.upstream.port = remote->port;
}

void add_listen(Options& options, const char* option, const std::string& spec) {
  // ":PORT", as in Postfix's master.cf, is "*:PORT": every address, IPv4
  // and IPv6.
  const std::string full =
      !spec.empty() && spec.front() == ':' ? "*" + spec : spec;
  if (!split_host_port(full))
    throw usage_error("invalid value for --" + std::string(option) + ": '" +
                      spec +
                      "' (HOST:PORT expected, [ADDRESS]:PORT for IPv6, *:PORT "
                      "for every address)");
  options.listen.push_back(full);
}

// The name goes into replies: printable ASCII without spaces, so that it
// cannot break the framing of the SMTP stream.
void set_hostname(Options& options, const char* option,
                  const std::string& name) {
  for (const char c : name)
    if (c <= 0x20 || c >= 0x7F)
      throw usage_error("invalid value for --" + std::string(option) +
                        " (printable ASCII without spaces expected)");
  options.hostname = name;
}

void set_class(Options& options, const char*, const std::string& name) {
  options.server_class = parse_class(name);
}

void set_relay_tls(Options& options, const char* option,
                   const std::string& mode) {
  for (const Named<UpstreamTls>& named : relay_tls_names)
    if (mode == named.name) {
      options.upstream.tls = named.value;
      return;
    }
  throw usage_error("unknown value for --" + std::string(option) + ": '" +
                    mode + "' (none, try, starttls or smtps)");
}

void set_log(Options& options, const char* option, const std::string& where) {
  if (where != "syslog" && where != "stderr")
    throw usage_error("unknown value for --" + std::string(option) + ": '" +
                      where + "' (syslog or stderr)");
  options.log_to_stderr = where == "stderr";
}

// RelayPolicy says what is wrong with a domain or a network.
void add_relay_domain(Options& options, const char* option,
                      const std::string& domain) {
  try {
    options.relay_policy.allow_domain(domain);
  } catch (const std::invalid_argument& error) {
    throw usage_error("invalid value for --" + std::string(option) + ": " +
                      error.what());
  }
}

void add_relay_network(Options& options, const char* option,
                       const std::string& network) {
  try {
    options.relay_policy.allow_network(network);
  } catch (const std::invalid_argument& error) {
    throw usage_error("invalid value for --" + std::string(option) + ": " +
                      error.what());
  }
}

// "PATH ARG...": split on blanks (no shell, no quoting), PATH absolute.
std::vector<std::string> parse_command_template(const char* option,
                                                const std::string& text) {
  constexpr const char* blanks = " \t\n\v\f\r";
  std::vector<std::string> argv;
  for (std::size_t start = text.find_first_not_of(blanks);
       start != std::string::npos;
       start = text.find_first_not_of(blanks, start)) {
    const std::size_t end =
        std::min(text.find_first_of(blanks, start), text.size());
    argv.push_back(text.substr(start, end - start));
    start = end;
  }
  if (argv.empty() || argv.front().front() != '/')
    throw usage_error("invalid value for --" + std::string(option) +
                      ": an absolute path to a program expected first");
  return argv;
}

void add_fail_rule(Options& options, const char* option,
                   const std::string& text) {
  std::string error;
  const std::optional<FailRule> rule = parse_fail_rule(text, &error);
  if (!rule)
    throw usage_error("invalid value for --" + std::string(option) + ": '" +
                      text + "': " + error);
  options.fail_rules.push_back(*rule);
}

void set_fail_seed(Options& options, const char* option,
                   const std::string& value) {
  options.fail_seed = parse_number(option, value, 0, UINT64_MAX / 2);
  options.fail_seeded = true;
}

void set_mailman_version(Options& options, const char* option,
                         const std::string& value) {
  if (value != "2" && value != "3")
    throw usage_error("invalid value for --" + std::string(option) + ": '" +
                      value + "' (2 or 3)");
  options.mailman.version = value == "3" ? 3 : 2;
  if (options.mailman.version == 3) options.mailman.command.clear();
}

void set_mailman_lmtp(Options& options, const char* option,
                      const std::string& server) {
  if (server.find('/') == std::string::npos && !split_host_port(server))
    throw usage_error("invalid value for --" + std::string(option) + ": '" +
                      server +
                      "' (HOST:PORT, [ADDRESS]:PORT or a socket path)");
  options.mailman.lmtp_server = server;
}

void add_mailman_domain(Options& options, const char* option,
                        const std::string& domain) {
  if (domain.empty() || domain.find_first_of(" \t@/") != std::string::npos)
    throw usage_error("invalid value for --" + std::string(option) + ": '" +
                      domain + "'");
  options.mailman.domains.push_back(domain);
}

// A switch's value is "true" or "false" once collected.
bool switched_on(const std::string& value) { return value == "true"; }

// Where a value goes in Options: a member, or a member of a member
// (&Options::upstream, &smtpd::UpstreamSettings::timeout_seconds).
template <auto... path, typename Settings>
auto& member_of(Settings& options) {
  return (options.*....*path);
}

// The setters most options need: a whole number from min to max, a text
// taken as given, a switch, a switch that turns something off, a command
// template.
template <std::uint64_t min, std::uint64_t max, auto... path>
void set_number(Options& options, const char* option,
                const std::string& value) {
  auto& member = member_of<path...>(options);
  member = static_cast<std::remove_reference_t<decltype(member)>>(
      parse_number(option, value, min, max));
}

template <auto... path>
void set_text(Options& options, const char*, const std::string& value) {
  member_of<path...>(options) = value;
}

template <auto... path>
void set_switch(Options& options, const char*, const std::string& value) {
  member_of<path...>(options) = switched_on(value);
}

template <auto... path>
void clear_switch(Options& options, const char*, const std::string& value) {
  member_of<path...>(options) = !switched_on(value);
}

template <auto... path>
void set_command(Options& options, const char* option,
                 const std::string& value) {
  member_of<path...>(options) = parse_command_template(option, value);
}

// How --help shows a default: from a default-made Options, whose
// members start from lib/smtpd/limits.hpp and the library's settings, so
// that the help says what a session does.
template <auto... path>
std::string shown_number(const Options& defaults) {
  return std::to_string(member_of<path...>(defaults));
}

template <auto... path>
std::string shown_text(const Options& defaults) {
  return member_of<path...>(defaults);
}

std::string shown_class(const Options& defaults) {
  return name_of(class_names, defaults.server_class);
}

std::string shown_relay_tls(const Options& defaults) {
  return name_of(relay_tls_names, defaults.upstream.tls);
}

std::string shown_log(const Options& defaults) {
  return defaults.log_to_stderr ? "stderr" : "syslog";
}

std::string shown_remote(const Options& defaults) {
  return host_port_text(defaults.upstream);
}

std::string shown_fail_percent(const Options&) {
  return std::to_string(FailRule().percent);
}

// How often an option may be given.
enum class Occurs {
  once,  // once on the command line, once in the file; the command line wins
  list,  // any number of times; the file's values add to the command line's
  // REMOTEHOST:REMOTEPORT, the positional argument: collected as given,
  // so that more than one is reported as too many arguments.
  positional,
};

// Checks a value of the option (its long name) and sets it in Options;
// throws usage_error, said in full, when the value is bad.
using Setter = void (*)(Options& options, const char* option,
                        const std::string& value);
// The default, as --help shows it in place of "{default}".
using ShownDefault = std::string (*)(const Options& defaults);

struct OptionSpec {
  const char* name;        // the long option, and the name in the file
  char letter;             // the short option; 0: none
  const char* value_name;  // nullptr: a switch, which takes no value
  Occurs occurs;
  const char* help;  // nullptr: not in --help
  Setter set;        // nullptr: acted on when read (help, version, config)
  ShownDefault shown_default = nullptr;  // for "{default}" in help
};

using Upstream = smtpd::UpstreamSettings;
using Mailman = smtpd::MailmanSettings;

// In the order of --help; values are checked in this order too.
constexpr OptionSpec option_table[] = {
    {"class", 'c', "CLASS", Occurs::once,
     "delivery class: DebuggingServer, PureProxy or MailmanProxy (default "
     "{default})",
     set_class, shown_class},
    {"size", 's', "BYTES", Occurs::once,
     "largest message accepted, in bytes; 0 for no limit (default {default})",
     set_number<0, UINT64_MAX / 2, &Options::size>,
     shown_number<&Options::size>},
    {"smtputf8", 'u', nullptr, Occurs::once, "enable SMTPUTF8 (RFC 6531)",
     set_switch<&Options::smtputf8>},
    {"decode-data", 0, nullptr, Occurs::once,
     "smtpd.py's decode_data: no 8BITMIME, data taken as UTF-8 text",
     set_switch<&Options::decode_data>},
    {"hostname", 0, "NAME", Occurs::once,
     "name in the greeting and HELO reply (default: this host's name)",
     set_hostname},
    {"debug-file", 0, "FILE", Occurs::once,
     "append DebuggingServer's printout and -d traces to this file",
     set_text<&Options::debug_file>},
    {"command-timeout", 0, "SECONDS", Occurs::once,
     "seconds to wait for a command (default {default})",
     set_number<1, 86400, &Options::command_timeout>,
     shown_number<&Options::command_timeout>},
    {"data-timeout", 0, "SECONDS", Occurs::once,
     "seconds DATA may make no progress (default {default})",
     set_number<1, 86400, &Options::data_timeout>,
     shown_number<&Options::data_timeout>},
    {"session-timeout", 0, "SECONDS", Occurs::once,
     "seconds a whole session may last, 0 for no limit (default {default})",
     set_number<0, 864000, &Options::session_timeout>,
     shown_number<&Options::session_timeout>},
    {"max-recipients", 0, "N", Occurs::once,
     "recipients per message (default {default})",
     set_number<1, 1000000, &Options::max_recipients>,
     shown_number<&Options::max_recipients>},
    {"max-errors", 0, "N", Occurs::once,
     "error replies before the session is ended, 0 for no limit "
     "(default {default})",
     set_number<0, 1000000, &Options::max_errors>,
     shown_number<&Options::max_errors>},
    {"relay-domain", 0, "DOMAIN", Occurs::list,
     "PureProxy: relay to this domain (.DOMAIN: every domain below it); "
     "repeatable",
     add_relay_domain},
    {"relay-network", 0, "NETWORK", Occurs::list,
     "PureProxy: relay anything from clients in this network "
     "(ADDRESS[/PREFIX]); repeatable; default 127.0.0.0/8 and ::1",
     add_relay_network},
    {"relay-tls", 0, "MODE", Occurs::once,
     "PureProxy: TLS to the upstream: none, try, starttls or smtps (default "
     "{default})",
     set_relay_tls, shown_relay_tls},
    {"relay-ca-file", 0, "FILE", Occurs::once,
     "PureProxy: CA certificates for the upstream's (default: the system's)",
     set_text<&Options::upstream, &Upstream::ca_file>},
    {"relay-no-verify", 0, nullptr, Occurs::once,
     "PureProxy: do not verify the upstream's certificate",
     clear_switch<&Options::upstream, &Upstream::verify_certificate>},
    {"relay-user", 0, "USER", Occurs::once,
     "PureProxy: AUTH to the upstream as this user",
     set_text<&Options::upstream, &Upstream::username>},
    {"relay-password-file", 0, "FILE", Occurs::once,
     "PureProxy: the AUTH password is the first line of this file",
     set_text<&Options::relay_password_file>},
    {"relay-connect-timeout", 0, "SECONDS", Occurs::once,
     "PureProxy: seconds to connect to the upstream (default {default})",
     set_number<1, 86400, &Options::upstream,
                &Upstream::connect_timeout_seconds>,
     shown_number<&Options::upstream, &Upstream::connect_timeout_seconds>},
    {"relay-timeout", 0, "SECONDS", Occurs::once,
     "PureProxy: seconds to wait for each upstream reply (default {default})",
     set_number<1, 86400, &Options::upstream, &Upstream::timeout_seconds>,
     shown_number<&Options::upstream, &Upstream::timeout_seconds>},
    {"listen", 'l', "HOST:PORT", Occurs::list,
     "standalone mode: listen on HOST:PORT ([ADDRESS]:PORT for IPv6) and "
     "serve every connection from this process; repeatable",
     add_listen},
    {"max-connections", 0, "N", Occurs::once,
     "standalone mode: sessions at once (default {default})",
     set_number<1, 100000, &Options::max_connections>,
     shown_number<&Options::max_connections>},
    {"shutdown-grace", 0, "SECONDS", Occurs::once,
     "standalone mode: seconds sessions may go on after SIGTERM, then 421 "
     "(default {default})",
     set_number<0, 86400, &Options::shutdown_grace>,
     shown_number<&Options::shutdown_grace>},
    {"mailman-version", 0, "2|3", Occurs::once,
     "MailmanProxy: the Mailman it feeds (default {default}); 3 delivers "
     "over LMTP with lmtp-deliver unless --mailman-command says otherwise",
     set_mailman_version, shown_number<&Options::mailman, &Mailman::version>},
    {"mailman-lmtp", 0, "HOST:PORT", Occurs::once,
     "MailmanProxy, Mailman 3: its LMTP runner, HOST:PORT, [ADDRESS]:PORT "
     "or a socket path (default {default})",
     set_mailman_lmtp, shown_text<&Options::mailman, &Mailman::lmtp_server>},
    {"mailman-domain", 0, "DOMAIN", Occurs::list,
     "MailmanProxy, Mailman 3: a domain of Mailman's lists; its unknown "
     "lists are refused, never relayed; repeatable",
     add_mailman_domain},
    {"mailman-data-dir", 0, "DIR", Occurs::once,
     "MailmanProxy, Mailman 3: where it writes postfix_lmtp and "
     "postfix_domains (default {default})",
     set_text<&Options::mailman, &Mailman::data_dir>,
     shown_text<&Options::mailman, &Mailman::data_dir>},
    {"mailman-command", 0, "COMMAND", Occurs::once,
     "MailmanProxy: the delivery command, run without a shell; {command} "
     "and {list} are replaced, with Mailman 3 also {domain}, {sender} and "
     "{recipient} (default: \"/var/lib/mailman/mail/mailman {command} "
     "{list}\"; Mailman 3: lmtp-deliver)",
     set_command<&Options::mailman, &Mailman::command>},
    {"mailman-lists-dir", 0, "DIR", Occurs::once,
     "MailmanProxy: a list exists when DIR/LIST/config.pck does "
     "(default {default})",
     set_text<&Options::mailman, &Mailman::lists_dir>,
     shown_text<&Options::mailman, &Mailman::lists_dir>},
    {"mailman-check", 0, "COMMAND", Occurs::once,
     "MailmanProxy: instead, a list exists when this command exits 0 "
     "({list} replaced)",
     set_command<&Options::mailman, &Mailman::check_command>},
    {"mailman-timeout", 0, "SECONDS", Occurs::once,
     "MailmanProxy: seconds a command may run (default {default})",
     set_number<1, 86400, &Options::mailman, &Mailman::timeout_seconds>,
     shown_number<&Options::mailman, &Mailman::timeout_seconds>},
    {"auth-checkpassword", 0, "COMMAND", Occurs::once,
     "offer AUTH PLAIN and LOGIN, checked by this checkpassword program "
     "(\"PROGRAM ARGS\", run without a shell; exit 0 good, 1 bad, "
     "111 try later)",
     set_command<&Options::auth_checkpassword>},
    {"auth-accept-any", 0, nullptr, Occurs::once,
     "test rigs: offer AUTH and take every user name and password (logged)",
     set_switch<&Options::auth_accept_any>},
    {"auth-insecure", 0, nullptr, Occurs::once,
     "offer AUTH without TLS too (the password crosses the network in "
     "the clear)",
     set_switch<&Options::auth_insecure>},
    {"auth-timeout", 0, "SECONDS", Occurs::once,
     "seconds the checkpassword program may take, then 454 (default "
     "{default})",
     set_number<1, 3600, &Options::auth_timeout>,
     shown_number<&Options::auth_timeout>},
    {"auth-no-relay", 0, nullptr, Occurs::once,
     "PureProxy, MailmanProxy: an authenticated client relays no more "
     "than any other (default: it relays to any domain)",
     [](Options& options, const char*, const std::string& value) {
       options.relay_policy.relay_authenticated(!switched_on(value));
     }},
    {"maildir", 0, "DIR", Occurs::once,
     "keep every accepted message as a file in the Maildir DIR (DIR/tmp "
     "and DIR/new must exist); any class",
     set_text<&Options::maildir>},
    {"show-envelope", 0, nullptr, Occurs::once,
     "DebuggingServer: print MAIL FROM and RCPT TO before each message",
     set_switch<&Options::show_envelope>},
    {"fail", 0, "STAGE:REPLY[:PERCENT]", Occurs::list,
     "fail on purpose: STAGE connect, helo, mail, rcpt, data, message or "
     "auth; REPLY a 4xx/5xx reply line, drop or delay=SECONDS; PERCENT of "
     "the time (default {default}); repeatable",
     add_fail_rule, shown_fail_percent},
    {"fail-seed", 0, "N", Occurs::once,
     "seed the --fail choices, to replay the same run (default: random)",
     set_fail_seed},
    {"proxy-protocol", 0, nullptr, Occurs::once,
     "read a HAProxy PROXY header (v1 or v2) before the greeting; the "
     "client's address is the one it names",
     set_switch<&Options::proxy_protocol>},
    {"tls-cert", 0, "FILE", Occurs::once,
     "offer STARTTLS with this PEM certificate (its chain after it)",
     set_text<&Options::tls_cert>},
    {"tls-key", 0, "FILE", Occurs::once,
     "the PEM private key of --tls-cert (read before dropping root)",
     set_text<&Options::tls_key>},
    {"tls-self-signed", 0, nullptr, Occurs::once,
     "test rigs: offer STARTTLS with a certificate for --hostname made at "
     "start, no file needed (no client can verify it)",
     set_switch<&Options::tls_self_signed>},
    {"tls-on-connect", 0, nullptr, Occurs::once,
     "implicit TLS from the first byte (RFC 8314, port 465), not STARTTLS",
     set_switch<&Options::tls_on_connect>},
    {"require-tls", 0, nullptr, Occurs::once,
     "before STARTTLS, serve only EHLO, HELO, STARTTLS, NOOP, RSET, QUIT",
     set_switch<&Options::require_tls>},
    {"log", 0, "WHERE", Occurs::once,
     "transaction log: syslog (facility mail) or stderr (default {default})",
     set_log, shown_log},
    {"debug", 'd', nullptr, Occurs::once, "trace the session",
     set_switch<&Options::debug>},
    {"user", 0, "USER", Occurs::once,
     "user to become when started as root (default {default})",
     set_text<&Options::user>, shown_text<&Options::user>},
    {"nosetuid", 'n', nullptr, Occurs::once,
     "keep the user in.smtpd was started as", clear_switch<&Options::setuid>},
    {"config", 0, "FILE", Occurs::once,
     "read options from this file (NAME = VALUE lines, as the long "
     "options); the command line wins, lists add up",
     nullptr},
    {"version", 'V', nullptr, Occurs::once, "print the version and exit",
     nullptr},
    {"help", 'h', nullptr, Occurs::once, "print this help and exit", nullptr},
    // The positional argument, checked after every other option.
    {"remote", 0, "HOST:PORT", Occurs::positional,
     "PureProxy, MailmanProxy: relay to HOST:PORT ([ADDRESS]:PORT for IPv6); "
     "the same as the REMOTEHOST:REMOTEPORT argument (default {default})",
     set_remote, shown_remote},
};
constexpr std::size_t option_count =
    sizeof option_table / sizeof option_table[0];

constexpr std::size_t index_of(std::string_view name) {
  for (std::size_t i = 0; i < option_count; ++i)
    if (name == option_table[i].name) return i;
  return option_count;
}
constexpr std::size_t config_option = index_of("config");
constexpr std::size_t version_option = index_of("version");
constexpr std::size_t help_option = index_of("help");
constexpr std::size_t remote_option = index_of("remote");
constexpr std::size_t class_option = index_of("class");
static_assert(config_option < option_count && version_option < option_count &&
              help_option < option_count && remote_option < option_count &&
              class_option < option_count);

// A value as read.
struct Value {
  std::string text;         // a switch's: "true" or "false"
  unsigned line;            // of the options file; 0: from the command line
  bool positional = false;  // an argument, not --remote
};
using Collected = std::vector<std::vector<Value>>;  // by option_table index

bool from_command_line(const std::vector<Value>& values) {
  return !values.empty() && values.front().line == 0;
}

namespace po = boost::program_options;

// Whether an argument may name the option: "--NAME[=VALUE]" where the
// long name begins with NAME (Boost takes any unambiguous prefix, and
// says which options an ambiguous one matches), or "-LETTERS[VALUE]"
// holding its letter.  Arguments that are values may match too: more
// options than needed, never fewer.
bool may_name(std::string_view argument, const OptionSpec& spec) {
  if (argument.size() < 2 || argument[0] != '-') return false;
  if (argument[1] == '-') {
    const std::string_view name = argument.substr(2, argument.find('=') - 2);
    return std::string_view(spec.name).substr(0, name.size()) == name;
  }
  return spec.letter && argument.find(spec.letter, 1) != std::string_view::npos;
}

// What Boost's parsers need to know of the options: their names, and
// whether they take a value.  Values are strings: the setters convert.
// Each option costs Boost a string stream to split its names, so a
// command line's description holds only the options its arguments may
// name.
po::options_description describe_options(int argc, const char* const argv[]) {
  po::options_description description;
  for (const OptionSpec& spec : option_table) {
    if (std::none_of(argv + 1, argv + argc,
                     [&spec](const char* arg) { return may_name(arg, spec); }))
      continue;
    std::string names = spec.name;
    if (spec.letter) names.append(",").push_back(spec.letter);
    po::typed_value<std::string>* value = po::value<std::string>();
    if (!spec.value_name) value->zero_tokens();
    description.add_options()(names.c_str(), value);
  }
  return description;
}

void collect_command_line(int argc, const char* const argv[],
                          const po::options_description& description,
                          Collected& given) {
  if (argc < 1) return;
  po::command_line_parser parser(argc, argv);
  parser.options(description);
  for (const po::option& option : parser.run().options) {
    // A positional argument (anywhere, or after "--") has no name.
    const std::size_t i =
        option.string_key.empty() ? remote_option : index_of(option.string_key);
    if (i == option_count) throw po::unknown_option(option.string_key);
    const OptionSpec& spec = option_table[i];
    if (spec.occurs == Occurs::once && !given[i].empty())
      throw usage_error("option '--" + std::string(spec.name) +
                        "' cannot be specified more than once");
    given[i].push_back(
        {option.value.empty() ? std::string("true") : option.value.front(), 0,
         option.string_key.empty()});
  }
}

// A switch in the options file: NAME = yes, or no (any case; NAME = alone
// is yes).
std::string parse_switch(const std::string& name, const std::string& value) {
  const std::string word = smtpd::text::ascii_lower(value);
  if (word.empty() || word == "yes" || word == "on" || word == "true" ||
      word == "1")
    return "true";
  if (word == "no" || word == "off" || word == "false" || word == "0")
    return "false";
  throw std::invalid_argument(
      "the argument ('" + value + "') for option '" + name +
      "' is invalid (yes or no, on or off, true or false, 1 or 0 expected)");
}

// The whole options file; throws file_error when it cannot be read.
std::string read_options_file(const std::string& path) {
  const auto refuse = [&path](int error) {
    return file_error(
        path, 0,
        std::string("cannot read the options file: ") + std::strerror(error));
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw refuse(errno);
  std::string contents;
  char buffer[4096];
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int error = errno;
      // Read-only: closing loses nothing, whatever close says.
      static_cast<void>(close(fd));
      if (got < 0) throw refuse(error);
      return contents;
    }
    contents.append(buffer, std::size_t(got));
  }
}

// Whether Boost's config-file parser takes nothing from a line: blanks,
// or a comment from "#".
bool blank_line(std::string_view line) {
  return line.substr(0, line.find('#')).find_first_not_of(" \t\r") ==
         std::string_view::npos;
}

// An option of the options file, with its line.
struct FileOption {
  po::option option;
  unsigned line;          // from 1
  std::string_view text;  // the line
};

// The options of the file, each with its line.  Boost's parser is given
// no description: it splits NAME = VALUE lines, and the names are looked
// up in option_table here (a description would cost a string stream per
// option).  It says what is wrong but not where, so every line that is
// not blank gives one option, or the file is read again a line at a time
// to find the first that does not: a syntax error, or an INI section,
// which would put a prefix before every name below it.
std::vector<FileOption> read_config_file(const std::string& path,
                                         std::string_view text) {
  // A UTF-8 byte order mark, as some editors write, is no part of a name.
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (text.substr(0, bom.size()) == bom) text.remove_prefix(bom.size());
  std::vector<FileOption> options;
  for (unsigned number = 1; !text.empty(); ++number) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    if (!blank_line(line)) options.push_back({{}, number, line});
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  if (options.empty()) return options;
  const po::options_description none;
  std::istringstream stream;
  // The lines again, without the blank ones.
  std::string lines;
  for (const FileOption& option : options)
    lines.append(option.text).push_back('\n');
  stream.str(lines);
  try {
    std::vector<po::option> parsed =
        po::parse_config_file(stream, none, true).options;
    if (parsed.size() == options.size()) {
      for (std::size_t i = 0; i < parsed.size(); ++i)
        options[i].option = std::move(parsed[i]);
      return options;
    }
  } catch (const po::error&) {
  }
  for (const FileOption& option : options) {
    stream.clear();
    stream.str(std::string(option.text));
    try {
      if (po::parse_config_file(stream, none, true).options.empty())
        throw file_error(
            path, option.line,
            "sections are not used in this file: '" +
                std::string(option.text.substr(0, option.text.find('#'))) +
                "'");
    } catch (const po::error& error) {
      throw file_error(path, option.line, error.what());
    }
  }
  throw file_error(path, 0, "cannot be read as an options file");
}

// The whole file is checked, also where the command line wins: a mistake
// in it is not left to be found when the command line changes.
void collect_file(const std::string& path, Collected& given) {
  const std::string text = read_options_file(path);
  std::vector<bool> seen(option_count);
  for (const FileOption& entry : read_config_file(path, text)) {
    const std::string& name = entry.option.string_key;
    const unsigned line = entry.line;
    if (name.empty())
      throw file_error(path, line,
                       "no option name before '=': '" +
                           std::string(entry.text.substr(
                               0, entry.text.find_last_not_of(" \t\r") + 1)) +
                           "'");
    const std::size_t i = index_of(name);
    if (i == option_count)
      throw file_error(path, line, "unrecognised option '" + name + "'");
    const OptionSpec& spec = option_table[i];
    if (i == help_option || i == version_option || i == config_option)
      throw file_error(
          path, line,
          "option '" + name + "' is for the command line, not an options file");
    if (spec.occurs != Occurs::list && seen[i])
      throw file_error(
          path, line,
          "option '" + name + "' cannot be specified more than once");
    seen[i] = true;
    const std::string& text = entry.option.value.front();
    Value value{text, line};
    if (!spec.value_name) try {
        value.text = parse_switch(name, text);
      } catch (const std::invalid_argument& error) {
        throw file_error(path, line, error.what());
      }
    if (spec.occurs == Occurs::list || !from_command_line(given[i]))
      given[i].push_back(std::move(value));
  }
}

// WORDS folded into lines of at most WIDTH characters, each but the first
// indented by INDENT.
std::string fold(std::string_view words, std::size_t width,
                 std::size_t indent) {
  std::string text;
  while (words.size() > width) {
    std::size_t cut = words.rfind(' ', width);
    if (cut == std::string_view::npos) cut = words.find(' ');
    if (cut == std::string_view::npos) break;
    text.append(words.substr(0, cut)).append("\n").append(indent, ' ');
    words.remove_prefix(cut + 1);
  }
  return text.append(words).append("\n");
}

std::string usage() {
  const Options defaults;
  std::string text =
      "Usage: in.smtpd [OPTIONS] [REMOTEHOST:REMOTEPORT]\n"
      "Serve one SMTP session on standard input and output (inetd style),\n"
      "or with -l HOST:PORT listen and serve every connection.\n"
      "PureProxy and MailmanProxy relay to REMOTEHOST:REMOTEPORT\n"
      "(default " +
      shown_remote(defaults) + "); the default class is " +
      shown_class(defaults) + ".\n\nOptions:\n";
  // "  -c, --class=CLASS   help...": the help from this column on, on the
  // next line after a longer option.
  constexpr std::size_t column = 34;
  for (const OptionSpec& spec : option_table) {
    if (!spec.help) continue;
    std::string help = spec.help;
    if (spec.shown_default) {
      constexpr std::string_view mark = "{default}";
      help.replace(help.find(mark), mark.size(), spec.shown_default(defaults));
    }
    std::string option = spec.letter ? std::string("  -") + spec.letter + ", "
                                     : std::string(6, ' ');
    option.append("--").append(spec.name);
    if (spec.value_name) option.append("=").append(spec.value_name);
    option += option.size() + 2 > column
                  ? "\n" + std::string(column, ' ')
                  : std::string(column - option.size(), ' ');
    text += option + fold(help, 79 - column, column);
  }
  return text +
         "\nA long option may be shortened to any unambiguous prefix.  An "
         "options\nfile (--config) holds NAME = VALUE lines with the long "
         "names; a switch\ntakes yes or no.\n";
}

// smtpd.py's positional arguments were [LOCALHOST:LOCALPORT
// [REMOTEHOST:REMOTEPORT]]; ours is the relay target alone, as deployed
// inetd lines and units have it.  smtpd.py's habits would serve one
// session on stdin where the user meant to listen: they are refused with
// what to type instead.  --remote (or remote in the file) names a relay
// target explicitly, and DebuggingServer ignores it.
void refuse_two_addresses(const Collected& given) {
  const std::vector<Value>& remote = given[remote_option];
  if (remote.size() > 1 && remote[0].positional && remote[1].positional)
    throw usage_error(
        "too many arguments: only one REMOTEHOST:REMOTEPORT; "
        "to listen on " +
        remote[0].text + " and relay to " + remote[1].text +
        " as smtpd.py did, use -l " + remote[0].text + " " + remote[1].text);
}

// After the address was found good: a bad one is said as such first.
void refuse_listen_address(const Collected& given, const Options& options) {
  const std::vector<Value>& remote = given[remote_option];
  if (!remote.empty() && remote[0].positional &&
      options.server_class == ServerClass::debugging)
    throw usage_error("DebuggingServer relays nowhere: to listen on " +
                      remote[0].text + " as smtpd.py did, use -l " +
                      remote[0].text);
}

// The TLS options need one another: a certificate with its key, or the
// self-signed one, for anything that uses TLS.
template <typename Refuse>
void check_tls(const Collected& given, const Refuse& refuse,
               const Options& options) {
  const auto first = [&](const char* name) {
    return given[index_of(name)].front();
  };
  if (options.tls_cert.empty() != options.tls_key.empty())
    throw refuse(first(options.tls_cert.empty() ? "tls-key" : "tls-cert"),
                 "--tls-cert and --tls-key go together");
  if (options.tls_self_signed && !options.tls_cert.empty())
    throw refuse(first("tls-cert"),
                 "--tls-cert and --tls-self-signed cannot be used together");
  for (const char* name : {"tls-on-connect", "require-tls"}) {
    const bool asked = std::string_view(name) == "tls-on-connect"
                           ? options.tls_on_connect
                           : options.require_tls;
    if (asked && !options.wants_tls())
      throw refuse(first(name), std::string("--") + name +
                                    " needs --tls-cert and --tls-key, or "
                                    "--tls-self-signed");
  }
}

// Step 2: each setter sets its option's values, then the checks between
// options.  CONFIG_PATH names the file for the values it gave.  A
// command line's positional arguments are checked against smtpd.py's
// habits; handed-over values were checked by in.smtpd already.
void apply(const Collected& given, const std::string& config_path,
           bool command_line, Options& options) {
  // A bad value is the options file's mistake when the file gave it.
  const auto refuse = [&config_path](const Value& value,
                                     const std::string& text) {
    return value.line ? file_error(config_path, value.line, text)
                      : usage_error(text);
  };
  for (std::size_t i = 0; i < option_count; ++i) {
    const OptionSpec& spec = option_table[i];
    if (!spec.set) continue;
    if (i == remote_option && command_line) refuse_two_addresses(given);
    if (spec.occurs == Occurs::positional && given[i].size() > 1)
      throw refuse(given[i][1],
                   "too many arguments: only one REMOTEHOST:REMOTEPORT");
    for (const Value& value : given[i]) {
      try {
        spec.set(options, spec.name, value.text);
      } catch (const ExitError& error) {
        throw refuse(value, error.what());
      }
    }
    if (i == remote_option && command_line)
      refuse_listen_address(given, options);
  }
  if (!options.upstream.username.empty() && options.relay_password_file.empty())
    throw refuse(given[index_of("relay-user")].front(),
                 "--relay-user needs --relay-password-file (never a "
                 "password on the command line)");
  const bool auth =
      !options.auth_checkpassword.empty() || options.auth_accept_any;
  if (!options.auth_checkpassword.empty() && options.auth_accept_any)
    throw refuse(given[index_of("auth-accept-any")].front(),
                 "--auth-checkpassword and --auth-accept-any cannot be used "
                 "together");
  for (const char* name : {"auth-insecure", "auth-timeout", "auth-no-relay"})
    if (!auth && !given[index_of(name)].empty())
      throw refuse(given[index_of(name)].front(),
                   "--" + std::string(name) +
                       " needs --auth-checkpassword or --auth-accept-any");
  check_tls(given, refuse, options);
  if (options.smtputf8 && options.decode_data) {
    // The file's mistake only if both came from it.
    const Value& smtputf8 = given[index_of("smtputf8")].front();
    const Value& decode_data = given[index_of("decode-data")].front();
    throw refuse(
        smtputf8.line && decode_data.line
            ? (smtputf8.line > decode_data.line ? smtputf8 : decode_data)
            : Value{"", 0},
        "--smtputf8 and --decode-data cannot be used together");
  }
}

// Step 3: the values taken, as in.smtpd-full is handed them.
std::string values_taken(const Collected& given) {
  std::string values;
  for (std::size_t i = 0; i < option_count; ++i) {
    if (!option_table[i].set) continue;
    for (const Value& value : given[i])
      values.append(option_table[i].name)
          .append(1, '\0')
          .append(value.text)
          .append(1, '\0');
  }
  return values;
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const argv[]) {
  CommandLine result;
  Collected given(option_count);
  std::string config_path;
  try {
    collect_command_line(argc, argv, describe_options(argc, argv), given);
  } catch (const po::error& error) {
    throw usage_error(error.what());
  }
  if (!given[config_option].empty()) {
    config_path = given[config_option].front().text;
    collect_file(config_path, given);
  }
  if (!given[help_option].empty() &&
      switched_on(given[help_option].front().text)) {
    result.text = usage();
    return result;
  }
  if (!given[version_option].empty() &&
      switched_on(given[version_option].front().text)) {
    result.text = "in.smtpd " PACKAGE_VERSION "\n";
    return result;
  }
  apply(given, config_path, true, result.options);
  result.values = values_taken(given);
  return result;
}

CommandLine parse_values(std::string_view values) {
  CommandLine result;
  Collected given(option_count);
  while (!values.empty()) {
    const std::size_t name_end = values.find('\0');
    const std::size_t value_end = values.find('\0', name_end + 1);
    if (value_end == std::string_view::npos)
      throw usage_error("the handed-over options are cut short");
    const std::size_t i = index_of(values.substr(0, name_end));
    if (i == option_count)
      throw usage_error("unrecognised handed-over option '" +
                        std::string(values.substr(0, name_end)) + "'");
    given[i].push_back(
        {std::string(values.substr(name_end + 1, value_end - name_end - 1)),
         0});
    values.remove_prefix(value_end + 1);
  }
  apply(given, "", false, result.options);
  return result;
}

}  // namespace in_smtpd
