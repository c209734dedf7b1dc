// options.cpp - parsing and checking in.smtpd's options (see options.hpp).
//
// Every mistake is one line naming the option, and exit status EX_USAGE,
// before any byte goes to the client.
#include "options.hpp"

#include <sysexits.h>

#include <boost/program_options.hpp>
#include <sstream>
#include <stdexcept>

#include "config.h"

namespace po = boost::program_options;

namespace in_smtpd {
namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::uint64_t parse_number(const std::string& option, const std::string& text,
                           std::uint64_t max) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string::npos ||
      (value = std::stoull(text)) > max)
    throw UsageError("invalid value for --" + option + ": '" + text +
                     "' (a whole number from 0 to " + std::to_string(max) +
                     " expected)");
  return value;
}

ServerClass parse_class(std::string name) {
  std::string key;
  for (const char c : name) key += char(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (key.rfind("smtpd.", 0) == 0) key.erase(0, 6);
  if (key == "debuggingserver") return ServerClass::debugging;
  if (key == "pureproxy") return ServerClass::pure_proxy;
  if (key == "mailmanproxy") return ServerClass::mailman_proxy;
  throw UsageError("unknown class for --class: '" + name +
                   "' (DebuggingServer, PureProxy or MailmanProxy)");
}

// HOST:PORT, with [v6-address]:PORT for IPv6.
void parse_remote(const std::string& spec, Options& options) {
  const std::size_t colon = spec.rfind(':');
  std::string host = colon == std::string::npos ? "" : spec.substr(0, colon);
  const std::string port =
      colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    host.clear();
  if (host.empty() || port.empty() ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535)
    throw UsageError("bad remote spec: '" + spec +
                     "' (HOST:PORT expected, [ADDRESS]:PORT for IPv6)");
  options.remote_host = host;
  options.remote_port = port;
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
      max_errors;
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
      ("max-recipients", po::value(&max_recipients),
       "recipients per message (default 1000)")
      ("max-errors", po::value(&max_errors),
       "error replies before the session is ended, 0 for no limit "
       "(default 20)")
      ("debug,d", po::bool_switch(&options.debug), "trace the session")
      ("nosetuid,n", "do not switch to user nobody when started as root")
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
    po::notify(given);
    if (given.count("help")) {
      result.text = usage(visible);
      return result;
    }
    if (given.count("version")) {
      result.text = "in.smtpd " PACKAGE_VERSION "\n";
      return result;
    }
    options.setuid = given.count("nosetuid") == 0;
    if (given.count("class")) options.server_class = parse_class(class_name);
    if (given.count("size"))
      options.size = parse_number("size", size, UINT64_MAX / 2);
    if (given.count("command-timeout"))
      options.command_timeout = unsigned(
          parse_number("command-timeout", command_timeout, 86400));
    if (given.count("data-timeout"))
      options.data_timeout =
          unsigned(parse_number("data-timeout", data_timeout, 86400));
    if (given.count("max-recipients"))
      options.max_recipients =
          parse_number("max-recipients", max_recipients, 1000000);
    if (given.count("max-errors"))
      options.max_errors = parse_number("max-errors", max_errors, 1000000);
    if (options.max_recipients == 0)
      throw UsageError("invalid value for --max-recipients: '0' (at least 1)");
    if (options.command_timeout == 0 || options.data_timeout == 0)
      throw UsageError("timeouts must be at least 1 second");
    if (options.smtputf8 && options.decode_data)
      throw UsageError("--smtputf8 and --decode-data cannot be used together");
    if (given.count("remote")) {
      const auto& remote = given["remote"].as<std::vector<std::string>>();
      if (remote.size() > 1)
        throw UsageError("too many arguments: only one REMOTEHOST:REMOTEPORT");
      parse_remote(remote.front(), options);
    }
  } catch (const po::error& error) {
    result.status = EX_USAGE;
    result.text = error.what();
    return result;
  } catch (const UsageError& error) {
    result.status = EX_USAGE;
    result.text = error.what();
    return result;
  }
  result.run = true;
  return result;
}

}  // namespace in_smtpd
