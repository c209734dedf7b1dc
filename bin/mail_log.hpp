// mail_log.hpp - where the transaction log goes (--log): one line per
// message (transaction_log.hpp), per AUTH, per injected failure and per
// session's end.  To syslog, facility mail, level info, or, when asked
// and stderr is not the connection, to stderr as "in.smtpd[PID]: LINE".
#pragma once

#include <string_view>

namespace in_smtpd {

class MailLog {
 public:
  explicit MailLog(bool stderr_usable) : stderr_usable_(stderr_usable) {}

  // --log stderr: false (and syslog kept) when stderr is the connection.
  bool use_stderr() {
    to_stderr_ = stderr_usable_;
    return to_stderr_;
  }
  // The standalone mode: stderr is no connection.
  void standalone() { stderr_usable_ = true; }
  // One line; to syslog when stderr cannot be written.
  void say(std::string_view line);

 private:
  bool stderr_usable_;
  bool to_stderr_ = false;
};

}  // namespace in_smtpd
