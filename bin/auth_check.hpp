// auth_check.hpp - who may log in with AUTH (RFC 4954): the program's
// answer to the channel's auth hook.
//
//   --auth-checkpassword "PROGRAM ARGS"  run the checkpassword program
//                                        (checkpassword.hpp): exit 0 good,
//                                        1 bad, else 454 (try later)
//   --auth-accept-any                    every user and password (test rigs)
//
// A Handler around the delivery: every other hook goes on to it.  Each
// verdict is one line in the transaction log, with the user name and
// never the password:
//
//   auth peer=192.0.2.7 user=alice result=good check="exit 0"
//
// The checkpassword program blocks: the standalone listener runs it on a
// thread of its own (Handler::blocks), so a slow one holds only its own
// session; in the per-connection mode it runs where the session waits.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "smtpd/handler.hpp"

namespace in_smtpd {

class MailLog;
struct Options;

class AuthCheck : public smtpd::HandlerWrapper {
 public:
  AuthCheck(const Options& options, MailLog& log,
            std::unique_ptr<smtpd::Handler> delivery);

  smtpd::Answer handle_auth(smtpd::Context& context,
                            const smtpd::AuthCredentials& credentials) override;
  bool blocks(smtpd::Hook hook) const override;

 private:
  std::vector<std::string> checkpassword_;  // empty: accept any
  unsigned timeout_seconds_;
  std::string hostname_;  // for the checkpassword timestamp
  MailLog& log_;
};

}  // namespace in_smtpd
