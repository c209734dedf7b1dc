// hand_over.hpp - in.smtpd hands a session to in.smtpd-full, with the
// options it has read.
//
// in.smtpd reads the command line and the options file once; the values it
// took go to in.smtpd-full in an unnamed memory file (memfd), named on its
// command line as --options-fd=N, so that in.smtpd-full converts them
// without reading the command line and the file again.  The original
// arguments follow after "--", for ps(1) only.
#pragma once

#include <string>

#include "options.hpp"

namespace in_smtpd {

class Logs;

// Where in.smtpd-full is: $IN_SMTPD_FULL when set (a test's copy of
// in.smtpd, elsewhere), else beside in.smtpd (the build tree), else the
// path configure fixed under libexecdir.
std::string full_program_path();

// Replaces this process with in.smtpd-full, handing it values (see
// CommandLine::values).  With -d, one trace line says so and why.
// Throws ExitError, with one line that names the program's path, when it
// cannot.
[[noreturn]] void hand_over(const std::string& values, const char* reason,
                            const Options& options, char* argv[], Logs& logs);

// in.smtpd-full's options: handed over by in.smtpd, or read from its own
// command line when it was started directly.  Throws ExitError as
// parse_command_line does, or when the handed-over ones cannot be read.
CommandLine take_over(int argc, char* argv[]);

}  // namespace in_smtpd
