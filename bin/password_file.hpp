// password_file.hpp - a secret read from a file while still root (the
// upstream's AUTH password, --relay-password-file), so that the file may
// be readable by root alone.
#pragma once

#include <string>

namespace in_smtpd {

// The first line of the file at path, without its line end.  Throws
// ExitError (EX_NOINPUT) naming the option and the file when it cannot be
// read.
std::string read_password_file(const char* option, const std::string& path);

}  // namespace in_smtpd
