// program_path.hpp - where the internal programs are: in.smtpd-full (the
// hand-over) and lmtp-deliver (Mailman 3).
#pragma once

#include <string>

namespace in_smtpd {

// NAME beside the running program when it is there, else installed_path.
// Beside it is the build tree, where `make` leaves every program in bin/,
// so that a program run from there (the tests, the conformance harness, a
// developer) uses its own build's helpers, never an installed older one.
// Installed, the helpers live under libexecdir and nothing of that name
// stands beside in.smtpd (make install removes what an older version put
// in sbin).
std::string beside_self_or(const char* name, const char* installed_path);

}  // namespace in_smtpd
