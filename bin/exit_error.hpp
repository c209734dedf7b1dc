// exit_error.hpp - the program's one way to report a failure.
//
// A function that cannot do its job throws ExitError: the one line that
// says why (naming the option, file or program concerned) and the exit
// status, from sysexits.h.  main catches it, says the line once (on
// stderr, else syslog: error_log.hpp) and exits with the status.  Nothing
// else is thrown for control flow; --help and --version are results of
// the command line, not failures (options.hpp).
#pragma once

#include <stdexcept>
#include <string>

namespace in_smtpd {

class ExitError : public std::runtime_error {
 public:
  ExitError(int status, const std::string& line)
      : std::runtime_error(line), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace in_smtpd
