// checkpassword.hpp - check AUTH credentials with a checkpassword program.
//
// The interface of the inetd world (qmail's checkpassword, vpopmail's
// vchkpw, checkpassword-pam): the program is run without a shell, with a
// clean environment and stdin from /dev/null, and reads
// "user\0password\0timestamp\0" (at most 512 bytes) on descriptor 3.
// Exit 0: the password is good; 1: it is bad; anything else, a signal,
// the deadline (its process group is killed) or a program that cannot be
// run: a temporary failure, which the client gets as 454 and may retry.
// The fork and exec are command.hpp's.
//
// It blocks until the program is done: a per-connection process calls it
// as it is; an event loop calls it off the loop and answers the channel
// later (AuthExchange::finish).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smtpd/auth.hpp"
#include "smtpd/export.hpp"

namespace smtpd {

struct CheckpasswordResult {
  AuthVerdict verdict = AuthVerdict::temporary;
  // For the log line, never the credentials: "exit 1", "signal 11",
  // "timed out after 30 s", "cannot run /x: ...", "too long".
  std::string detail;
};

// argv: the program (an absolute path) and its arguments, as given to
// --auth-checkpassword (qmail's convention is a last argument that the
// program runs on success, such as /bin/true).  timestamp: any string the
// program may use (qmail-popup's APOP challenge); we pass the time.
SMTPD_API CheckpasswordResult run_checkpassword(
    const std::vector<std::string>& argv, const AuthCredentials& credentials,
    std::string_view timestamp, unsigned timeout_seconds);

}  // namespace smtpd
