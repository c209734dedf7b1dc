// mail_log.cpp - transaction log lines to syslog or stderr (see
// mail_log.hpp).
#include "mail_log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <string>

#include "outlets.hpp"

namespace in_smtpd {

void MailLog::say(std::string_view line) {
  if (to_stderr_ && write_all(2, "in.smtpd[" + std::to_string(getpid()) +
                                     "]: " + std::string(line) + "\n"))
    return;
  syslog_lines(LOG_INFO, line);
}

}  // namespace in_smtpd
