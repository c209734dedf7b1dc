// auth.hpp - what a handler sees of AUTH (RFC 4954): the credentials a
// client gave, and the verdict a password check returns.
//
// The channel runs the AUTH PLAIN and LOGIN exchanges itself (with
// ChannelConfig::auth) and hands the credentials to
// Handler::handle_auth (handler.hpp), or a checkpassword program checks
// them (checkpassword.hpp).  The exchanges and the trace's redaction are
// the library's own (auth_exchange.hpp, not installed).
#pragma once

#include <string>

#include "smtpd/export.hpp"

namespace smtpd {

// The secrets of one exchange.  Wiped when destroyed or finished.
struct SMTPD_API AuthCredentials {
  std::string authzid;  // PLAIN's authorization identity; empty if none
  std::string user;     // the authentication identity
  std::string password;

  AuthCredentials() = default;
  AuthCredentials(const AuthCredentials&) = delete;
  AuthCredentials& operator=(const AuthCredentials&) = delete;
  ~AuthCredentials() { wipe(); }
  // Overwrites every byte before forgetting them.
  void wipe();
};

// What the password check said (checkpassword.hpp gives one).
enum class AuthVerdict { good, bad, temporary };

}  // namespace smtpd
