// program_start.cpp - start-up and the channel's settings (see
// program_start.hpp).
#include "program_start.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <string>

#include "exit_error.hpp"
#include "logs.hpp"
#include "outlets.hpp"

namespace in_smtpd {
namespace {

std::string host_name() {
  char name[256] = "";
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
    return "localhost";
  return name;
}

}  // namespace

int run_program(int (*program)(int argc, char* argv[], Logs& logs), int argc,
                char* argv[]) {
  Logs logs;
  try {
    return program(argc, argv, logs);
  } catch (const ExitError& error) {
    logs.errors.say(error.what());
    return error.status();
  } catch (const std::exception& error) {
    // Every failure the program expects is an ExitError by now; anything
    // else (an exception the library documents that a caller forgot to
    // turn into one, std::bad_alloc) is a bug in the program.  Still one
    // line and a sysexits status, not std::terminate's abort.
    logs.errors.say(std::string("internal error: ") + error.what());
    return EX_SOFTWARE;
  }
}

bool start_program(CommandLine command_line, Logs& logs, Options& options) {
  // A client that goes away must not kill us mid-write; EPIPE is handled
  // where it happens.  SIG_IGN for SIGPIPE cannot fail.
  static_cast<void>(signal(SIGPIPE, SIG_IGN));
  if (!command_line.text.empty()) {
    if (!write_all(1, command_line.text))
      throw ExitError(EX_IOERR, std::string("cannot write to stdout: ") +
                                    std::strerror(errno));
    return false;
  }
  options = std::move(command_line.options);
  if (options.log_to_stderr) logs.transactions.use_stderr();
  return true;
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

}  // namespace in_smtpd
