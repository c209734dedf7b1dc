// auth_check.cpp - the AUTH verdicts of the program (see auth_check.hpp).
#include "auth_check.hpp"

#include <unistd.h>

#include <ctime>

#include "mail_log.hpp"
#include "options.hpp"
#include "smtpd/checkpassword.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/text.hpp"

namespace in_smtpd {

AuthCheck::AuthCheck(const Options& options, MailLog& log,
                     std::unique_ptr<smtpd::Handler> delivery)
    : HandlerWrapper(std::move(delivery)),
      checkpassword_(options.auth_checkpassword),
      timeout_seconds_(options.auth_timeout),
      hostname_(options.hostname),
      log_(log) {
  if (hostname_.empty()) {
    char name[256] = "";
    hostname_ = gethostname(name, sizeof name - 1) == 0 && name[0] != '\0'
                    ? name
                    : "localhost";
  }
}

bool AuthCheck::blocks(smtpd::Hook hook) const {
  return (hook == smtpd::Hook::auth && !checkpassword_.empty()) ||
         inner().blocks(hook);
}

smtpd::Answer AuthCheck::handle_auth(
    smtpd::Context& context, const smtpd::AuthCredentials& credentials) {
  std::string line = "auth peer=" + context.session().peer.address +
                     " user=" + smtpd::text::loggable(credentials.user);
  if (checkpassword_.empty()) {
    log_.say(line + " result=good check=\"accept-any\"");
    return smtpd::Answer::accept();
  }
  // qmail-smtpd's timestamp, <pid.time@host>: unique per attempt, for a
  // program that wants one (APOP-style checks).
  const std::string timestamp = "<" + std::to_string(getpid()) + "." +
                                std::to_string(std::time(nullptr)) + "@" +
                                hostname_ + ">";
  const smtpd::CheckpasswordResult result = smtpd::run_checkpassword(
      checkpassword_, credentials, timestamp, timeout_seconds_);
  switch (result.verdict) {
    case smtpd::AuthVerdict::good:
      line += " result=good";
      break;
    case smtpd::AuthVerdict::bad:
      line += " result=bad";
      break;
    case smtpd::AuthVerdict::temporary:
      line += " result=temporary";
      break;
  }
  log_.say(line + " check=\"" + smtpd::text::loggable(result.detail) + "\"");
  switch (result.verdict) {
    case smtpd::AuthVerdict::good:
      return smtpd::Answer::accept(result.detail);
    case smtpd::AuthVerdict::bad:
      return smtpd::Answer::reply(std::string(smtpd::replies::auth_invalid),
                                  result.detail);
    case smtpd::AuthVerdict::temporary:
      break;
  }
  return smtpd::Answer::reply(std::string(smtpd::replies::auth_temporary),
                              result.detail);
}

}  // namespace in_smtpd
