// options.cpp - parsing and checking in.smtpd's options (see options.hpp).
//
// Every mistake is one line naming the option, and exit status EX_USAGE,
// before any byte goes to the client.
#include "options.hpp"

#include <sysexits.h>

#include <boost/program_options.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "config.h"

namespace po = boost::program_options;

namespace in_smtpd {
namespace {

// A bad value, and the option it was given for (empty: the command line
// as a whole), so that a bad value from an options file is reported as one.
struct UsageError : std::runtime_error {
  UsageError(std::string name, const std::string& what)
      : std::runtime_error(what), option(std::move(name)) {}
  std::string option;
};

std::uint64_t parse_number(const std::string& option, const std::string& text,
                           std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string::npos ||
      (value = std::stoull(text)) > max || value < min)
    throw UsageError(option, "invalid value for --" + option + ": '" + text +
                     "' (a whole number from " + std::to_string(min) +
                     " to " + std::to_string(max) + " expected)");
  return value;
}

ServerClass parse_class(std::string name) {
  std::string key;
  for (const char c : name) key += char(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (key.rfind("smtpd.", 0) == 0) key.erase(0, 6);
  if (key == "debuggingserver") return ServerClass::debugging;
  if (key == "pureproxy") return ServerClass::pure_proxy;
  if (key == "mailmanproxy") return ServerClass::mailman_proxy;
  throw UsageError("class", "unknown class for --class: '" + name +
                   "' (DebuggingServer, PureProxy or MailmanProxy)");
}

// HOST:PORT, with [v6-address]:PORT for IPv6; false if it is not.
bool split_host_port(const std::string& spec, std::string& host,
                     std::string& port) {
  const std::size_t colon = spec.rfind(':');
  if (colon == std::string::npos) return false;
  host = spec.substr(0, colon);
  port = spec.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return false;
  return !host.empty() && !port.empty() && port.size() <= 5 &&
         port.find_first_not_of("0123456789") == std::string::npos &&
         std::stoul(port) != 0 && std::stoul(port) <= 65535;
}

void parse_remote(const std::string& spec, Options& options) {
  if (!split_host_port(spec, options.upstream.host, options.upstream.port))
    throw UsageError("remote", "bad remote spec: '" + spec +
                     "' (HOST:PORT expected, [ADDRESS]:PORT for IPv6)");
}

smtpd::UpstreamSettings::Tls parse_tls(const std::string& mode) {
  using Tls = smtpd::UpstreamSettings::Tls;
  if (mode == "none") return Tls::none;
  if (mode == "try") return Tls::try_starttls;
  if (mode == "starttls") return Tls::starttls;
  if (mode == "smtps") return Tls::smtps;
  throw UsageError("relay-tls", "unknown value for --relay-tls: '" + mode +
                   "' (none, try, starttls or smtps)");
}

// "PATH ARG...": split on spaces (no shell, no quoting), PATH absolute.
std::vector<std::string> parse_command_template(const std::string& option,
                                                const std::string& text) {
  std::vector<std::string> argv;
  std::istringstream words(text);
  for (std::string word; words >> word;) argv.push_back(word);
  if (argv.empty() || argv.front().front() != '/')
    throw UsageError(option, "invalid value for --" + option +
                     ": an absolute path to a program expected first");
  return argv;
}

std::string usage(const po::options_description& visible) {
  std::ostringstream out;
  out << "Usage: in.smtpd [OPTIONS] [REMOTEHOST:REMOTEPORT]\n"
         "Serve one SMTP session on standard input and output (inetd style).\n"
         "PureProxy, the default class, relays to REMOTEHOST:REMOTEPORT\n"
         "(default localhost:25).\n\n"
      << visible;
  return out.str();
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const argv[]) {
  CommandLine result;
  Options& options = result.options;
  std::string class_name, size, command_timeout, data_timeout, max_recipients,
      max_errors, session_timeout, relay_tls, relay_connect_timeout, relay_timeout;
  std::vector<std::string> relay_domains, relay_networks;
  std::string config_path;
  std::set<std::string> from_file_only;  // options the file alone gave
  std::string config_file, log, mailman_command, mailman_check, mailman_timeout,
      max_connections, shutdown_grace;
  bool relay_no_verify = false, nosetuid = false;
  po::options_description visible("Options");
  visible.add_options()
      ("class,c", po::value(&class_name),
       "delivery class: DebuggingServer, PureProxy (default), MailmanProxy")
      ("size,s", po::value(&size),
       "largest message accepted, in bytes; 0 for no limit "
       "(default 33554432)")
      ("smtputf8,u", po::bool_switch(&options.smtputf8),
       "enable SMTPUTF8 (RFC 6531)")
      ("decode-data", po::bool_switch(&options.decode_data),
       "smtpd.py's decode_data: no 8BITMIME, data taken as UTF-8 text")
      ("hostname", po::value(&options.hostname),
       "name in the greeting and HELO reply (default: this host's name)")
      ("debug-file", po::value(&options.debug_file),
       "append DebuggingServer's printout and -d traces to this file")
      ("command-timeout", po::value(&command_timeout),
       "seconds to wait for a command (default 300)")
      ("data-timeout", po::value(&data_timeout),
       "seconds DATA may make no progress (default 600)")
      ("session-timeout", po::value(&session_timeout),
       "seconds a whole session may last, 0 for no limit (default 3600)")
      ("max-recipients", po::value(&max_recipients),
       "recipients per message (default 1000)")
      ("max-errors", po::value(&max_errors),
       "error replies before the session is ended, 0 for no limit "
       "(default 20)")
      ("relay-domain", po::value(&relay_domains)->composing(),
       "PureProxy: relay to this domain (.DOMAIN: every domain below it); "
       "repeatable")
      ("relay-network", po::value(&relay_networks)->composing(),
       "PureProxy: relay anything from clients in this network "
       "(ADDRESS[/PREFIX]); repeatable; default 127.0.0.0/8 and ::1")
      ("relay-tls", po::value(&relay_tls),
       "PureProxy: TLS to the upstream: none (default), try, starttls, smtps")
      ("relay-ca-file", po::value(&options.upstream.ca_file),
       "PureProxy: CA certificates for the upstream's (default: the system's)")
      ("relay-no-verify", po::bool_switch(&relay_no_verify),
       "PureProxy: do not verify the upstream's certificate")
      ("relay-user", po::value(&options.upstream.username),
       "PureProxy: AUTH to the upstream as this user")
      ("relay-password-file", po::value(&options.relay_password_file),
       "PureProxy: the AUTH password is the first line of this file")
      ("relay-connect-timeout", po::value(&relay_connect_timeout),
       "PureProxy: seconds to connect to the upstream (default 30)")
      ("relay-timeout", po::value(&relay_timeout),
       "PureProxy: seconds for the whole upstream exchange (default 600)")
      ("listen,l", po::value(&options.listen)->composing(),
       "standalone mode: listen on HOST:PORT ([ADDRESS]:PORT for IPv6) and "
       "serve every connection from this process; repeatable")
      ("max-connections", po::value(&max_connections),
       "standalone mode: sessions at once (default 256)")
      ("shutdown-grace", po::value(&shutdown_grace),
       "standalone mode: seconds sessions may go on after SIGTERM, then 421 "
       "(default 30)")
      ("mailman-command", po::value(&mailman_command),
       "MailmanProxy: the delivery command, run without a shell; {command} "
       "and {list} are replaced (default: "
       "\"/var/lib/mailman/mail/mailman {command} {list}\")")
      ("mailman-lists-dir", po::value(&options.mailman.lists_dir),
       "MailmanProxy: a list exists when DIR/LIST/config.pck does "
       "(default /var/lib/mailman/lists)")
      ("mailman-check", po::value(&mailman_check),
       "MailmanProxy: instead, a list exists when this command exits 0 "
       "({list} replaced)")
      ("mailman-timeout", po::value(&mailman_timeout),
       "MailmanProxy: seconds a command may run (default 120)")
      ("proxy-protocol", po::bool_switch(&options.proxy_protocol),
       "read a HAProxy PROXY header (v1 or v2) before the greeting; the "
       "client's address is the one it names")
      ("log", po::value(&log),
       "transaction log: syslog (default, facility mail) or stderr")
      ("debug,d", po::bool_switch(&options.debug), "trace the session")
      ("user", po::value(&options.user),
       "user to become when started as root (default nobody)")
      ("nosetuid,n", po::bool_switch(&nosetuid),
       "keep the user in.smtpd was started as")
      ("config", po::value(&config_file),
       "read options from this file (NAME = VALUE lines, as the long "
       "options); the command line wins, lists add up")
      ("version,V", "print the version and exit")
      ("help,h", "print this help and exit");
  po::options_description all;
  all.add(visible).add_options()("remote", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("remote", -1);

  try {
    po::variables_map given;
    po::store(po::command_line_parser(argc, argv)
                  .options(all)
                  .positional(positional)
                  .run(),
              given);
    if (given.count("config")) {
      config_path = given["config"].as<std::string>();
      try {
        po::variables_map from_file;
        po::store(po::parse_config_file<char>(config_path.c_str(), all),
                  from_file);
        for (const auto& [name, value] : from_file)
          if (!given.count(name)) from_file_only.insert(name);
        po::store(po::parse_config_file<char>(config_path.c_str(), all), given);
      } catch (const po::error& error) {
        result.status = EX_CONFIG;
        result.text = config_path + ": " + error.what();
        return result;
      }
    }
    po::notify(given);
    if (given.count("help")) {
      result.text = usage(visible);
      return result;
    }
    if (given.count("version")) {
      result.text = "in.smtpd " PACKAGE_VERSION "\n";
      return result;
    }
    options.setuid = !nosetuid;
    if (given.count("log")) {
      if (log != "syslog" && log != "stderr")
        throw UsageError("log", "unknown value for --log: '" + log +
                         "' (syslog or stderr)");
      options.log_to_stderr = log == "stderr";
    }
    if (given.count("class")) options.server_class = parse_class(class_name);
    if (given.count("size"))
      options.size = parse_number("size", size, 0, UINT64_MAX / 2);
    if (given.count("command-timeout"))
      options.command_timeout = unsigned(
          parse_number("command-timeout", command_timeout, 1, 86400));
    if (given.count("data-timeout"))
      options.data_timeout =
          unsigned(parse_number("data-timeout", data_timeout, 1, 86400));
    if (given.count("session-timeout"))
      options.session_timeout =
          unsigned(parse_number("session-timeout", session_timeout, 0, 864000));
    if (given.count("max-recipients"))
      options.max_recipients =
          parse_number("max-recipients", max_recipients, 1, 1000000);
    if (given.count("max-errors"))
      options.max_errors = parse_number("max-errors", max_errors, 0, 1000000);
    // The name goes into replies: printable ASCII without spaces, so that
    // it cannot break the framing of the SMTP stream.
    for (const char c : options.hostname)
      if (c <= 0x20 || c >= 0x7F)
        throw UsageError(
            "hostname",
            "invalid value for --hostname (printable ASCII without spaces "
            "expected)");
    if (given.count("relay-tls")) options.upstream.tls = parse_tls(relay_tls);
    options.upstream.verify_certificate = !relay_no_verify;
    if (given.count("relay-connect-timeout"))
      options.upstream.connect_timeout_seconds = unsigned(
          parse_number("relay-connect-timeout", relay_connect_timeout, 1, 86400));
    if (given.count("relay-timeout"))
      options.upstream.timeout_seconds =
          unsigned(parse_number("relay-timeout", relay_timeout, 1, 86400));
    if (!options.upstream.username.empty() &&
        options.relay_password_file.empty())
      throw UsageError(
          "relay-user",
          "--relay-user needs --relay-password-file (never a password on "
          "the command line)");
    try {
      for (const std::string& domain : relay_domains)
        options.relay_policy.allow_domain(domain);
    } catch (const std::invalid_argument& error) {
      throw UsageError("relay-domain", std::string("invalid value for --relay-domain: ") +
                       error.what());
    }
    try {
      for (const std::string& network : relay_networks)
        options.relay_policy.allow_network(network);
    } catch (const std::invalid_argument& error) {
      throw UsageError("relay-network", std::string("invalid value for --relay-network: ") +
                       error.what());
    }
    for (const std::string& spec : options.listen) {
      std::string host, port;
      if (!split_host_port(spec, host, port))
        throw UsageError("listen", "invalid value for --listen: '" + spec +
                         "' (HOST:PORT expected, [ADDRESS]:PORT for IPv6)");
    }
    if (given.count("max-connections"))
      options.max_connections =
          unsigned(parse_number("max-connections", max_connections, 1, 100000));
    if (given.count("shutdown-grace"))
      options.shutdown_grace =
          unsigned(parse_number("shutdown-grace", shutdown_grace, 0, 86400));
    if (given.count("mailman-command"))
      options.mailman.command =
          parse_command_template("mailman-command", mailman_command);
    if (given.count("mailman-check"))
      options.mailman.check_command =
          parse_command_template("mailman-check", mailman_check);
    if (given.count("mailman-timeout"))
      options.mailman.timeout_seconds =
          unsigned(parse_number("mailman-timeout", mailman_timeout, 1, 86400));
    if (options.smtputf8 && options.decode_data)
      throw UsageError("", "--smtputf8 and --decode-data cannot be used together");
    if (given.count("remote")) {
      const auto& remote = given["remote"].as<std::vector<std::string>>();
      if (remote.size() > 1)
        throw UsageError("remote", "too many arguments: only one REMOTEHOST:REMOTEPORT");
      parse_remote(remote.front(), options);
    }
  } catch (const po::error& error) {
    result.status = EX_USAGE;
    result.text = error.what();
    return result;
  } catch (const UsageError& error) {
    // A bad value that came from the options file is the file's mistake.
    const bool in_file = from_file_only.count(error.option) != 0;
    result.status = in_file ? EX_CONFIG : EX_USAGE;
    result.text = (in_file ? config_path + ": " : "") + error.what();
    return result;
  }
  result.run = true;
  return result;
}

}  // namespace in_smtpd
