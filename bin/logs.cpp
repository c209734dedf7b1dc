// logs.cpp - the program's logs, set up once (see logs.hpp).
#include "logs.hpp"

#include <syslog.h>

#include "outlets.hpp"

namespace in_smtpd {

Logs::Logs()
    : stderr_usable_(!stderr_is_connection()),
      errors(stderr_usable_),
      printout(stderr_usable_, errors),
      trace(printout),
      transactions(stderr_usable_) {
  openlog("in.smtpd", LOG_PID, LOG_MAIL);
}

void Logs::standalone() {
  errors.standalone();
  printout.standalone();
  transactions.standalone();
}

}  // namespace in_smtpd
