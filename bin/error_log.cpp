// error_log.cpp - error lines to stderr or syslog (see error_log.hpp).
#include "error_log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <string>

#include "outlets.hpp"

namespace in_smtpd {

void ErrorLog::say(std::string_view message) {
  const std::string prefix =
      serving_ ? "in.smtpd[" + std::to_string(getpid()) + "]: " : "in.smtpd: ";
  if (stderr_usable_ && write_all(2, prefix + std::string(message) + "\n"))
    return;
  syslog_lines(LOG_ERR, message);
}

}  // namespace in_smtpd
