// checkpassword.cpp - the checkpassword interface (see checkpassword.hpp).
#include "smtpd/checkpassword.hpp"

#include <string.h>

#include "smtpd/command.hpp"
#include "smtpd/limits.hpp"

namespace smtpd {
namespace {

constexpr int checkpassword_fd = 3;

// The exit statuses of the interface (cr.yp.to/checkpwd/interface.html).
constexpr int status_good = 0;
constexpr int status_bad = 1;

// The record on descriptor 3, wiped when it goes.
struct Record {
  std::string bytes;
  ~Record() {
    if (!bytes.empty()) explicit_bzero(&bytes[0], bytes.size());
  }
};

}  // namespace

CheckpasswordResult run_checkpassword(const std::vector<std::string>& argv,
                                      const AuthCredentials& credentials,
                                      std::string_view timestamp,
                                      unsigned timeout_seconds) {
  CheckpasswordResult result;
  const auto fieldless = [](std::string_view s) {
    return s.find('\0') != std::string_view::npos;
  };
  // Fields are NUL-terminated: one with a NUL would shift the others,
  // and an empty user or password is nobody's (AuthExchange refuses
  // both already; a library caller may not have used it).
  if (credentials.user.empty() || credentials.password.empty() ||
      fieldless(credentials.user) || fieldless(credentials.password) ||
      fieldless(timestamp)) {
    result.verdict = AuthVerdict::bad;
    result.detail = "malformed credentials";
    return result;
  }
  const std::size_t size = credentials.user.size() +
                           credentials.password.size() + timestamp.size() + 3;
  // The program reads at most 512 bytes: longer credentials could only
  // be cut short there.  Refused here, with the same answer as a wrong
  // password.
  if (size > limits::checkpassword_input) {
    result.verdict = AuthVerdict::bad;
    result.detail = "too long";
    return result;
  }
  Record record;
  record.bytes.reserve(size);
  record.bytes.append(credentials.user).append(1, '\0');
  record.bytes.append(credentials.password).append(1, '\0');
  record.bytes.append(timestamp).append(1, '\0');

  const CommandResult run =
      run_command(argv, record.bytes, checkpassword_fd, timeout_seconds);
  using Outcome = CommandResult::Outcome;
  switch (run.outcome) {
    case Outcome::exited:
      result.detail = "exit " + std::to_string(run.status);
      if (run.status == status_good)
        result.verdict = AuthVerdict::good;
      else if (run.status == status_bad)
        result.verdict = AuthVerdict::bad;
      // 111 is the interface's temporary failure; anything else (2 is
      // checkpassword-pam's misuse, 127 a program that cannot run) is a
      // broken set-up, which must not tell a client its password is wrong.
      if (!run.error.empty()) result.detail += ": " + run.error;
      break;
    case Outcome::signaled:
      result.detail = "signal " + std::to_string(run.status);
      break;
    case Outcome::timed_out:
      result.detail =
          "timed out after " + std::to_string(timeout_seconds) + " s";
      break;
    case Outcome::not_run:
      result.detail = "cannot run " + (argv.empty() ? std::string() : argv[0]) +
                      ": " + run.error;
      break;
  }
  return result;
}

}  // namespace smtpd
