// program_start.hpp - the start and end of either program, and the
// channel's settings (with the host's name) from the options.
#pragma once

#include "options.hpp"
#include "smtpd/channel.hpp"

namespace in_smtpd {

class Logs;

// Either program's main: runs program with the process's logs; when it
// throws ExitError, says its line (logs.errors) and returns its status.
// Any other std::exception is a bug (a failure nobody turned into an
// ExitError): "internal error: " and its text, and EX_SOFTWARE.
int run_program(int (*program)(int argc, char* argv[], Logs& logs), int argc,
                char* argv[]);

// SIGPIPE ignored, the options read (by parse_command_line, or take_over
// in in.smtpd-full) acted on.  false when there is no session to run:
// --help or --version was printed.  Throws ExitError when that cannot be
// written.
bool start_program(CommandLine command_line, Logs& logs, Options& options);

// The channel's settings from the options; the host name is looked up
// here, once per process.
smtpd::ChannelConfig channel_config(const Options& options);

}  // namespace in_smtpd
