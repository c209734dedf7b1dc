// command.hpp - run an external command with a message on its stdin.
//
// No shell: argv is executed as given.  The child gets a clean
// environment, the message on stdin, and a pipe for stdout and stderr
// (never our connection); it is killed when it runs out of time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smtpd/export.hpp"

namespace smtpd {

struct CommandResult {
  enum class Outcome {
    exited,     // status holds the exit status
    signaled,   // status holds the signal
    timed_out,  // killed after the timeout
    not_run,    // could not be started; error says why
  };
  Outcome outcome = Outcome::not_run;
  int status = 0;
  std::string output;  // the first KiB of its stdout and stderr
  std::string error;
};

SMTPD_API CommandResult run_command(const std::vector<std::string>& argv,
                                    std::string_view input,
                                    unsigned timeout_seconds);

// The same with the input on descriptor input_fd of the child instead:
// 0 is the above; 3 is the checkpassword interface, whose stdin is then
// /dev/null (checkpassword.hpp).
SMTPD_API CommandResult run_command(const std::vector<std::string>& argv,
                                    std::string_view input, int input_fd,
                                    unsigned timeout_seconds);

}  // namespace smtpd
