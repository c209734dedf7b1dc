// session_setup.hpp - what in.smtpd-full does before the first byte of
// SMTP: secrets read while still root, privileges dropped.
#pragma once

#include <string>

namespace in_smtpd {

class Diagnostics;

// The first line of a file (an AUTH password), read before privileges are
// dropped so that the file may be readable by root alone.  false with
// errno set when it cannot be read.
bool read_first_line(const std::string& path, std::string& line);

// Started as root, become user (smtpd.py becomes nobody), before reading
// a byte from the client.  Returns 0, or a sysexits status after saying
// why.
int drop_privileges(const std::string& user, Diagnostics& diagnostics);

}  // namespace in_smtpd
