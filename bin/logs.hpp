// logs.hpp - where everything but SMTP goes, one type for each kind.
//
// stdout is the SMTP stream, and under inetd stderr is the same socket.
// So:
//   errors        ErrorLog (error_log.hpp): stderr when it is not the
//                 connection, else syslog;
//   printout      Printout (printout.hpp): DebuggingServer's printout,
//                 to --debug-file, else stderr when it is not the
//                 connection, else syslog;
//   trace         Trace (trace.hpp): the -d trace, where the printout goes;
//   transactions  MailLog (mail_log.hpp): the transaction log, to syslog
//                 (LOG_MAIL) or, when asked and possible, to stderr.
// Whether stderr is the connection is looked at once, here.
#pragma once

#include "error_log.hpp"
#include "mail_log.hpp"
#include "printout.hpp"
#include "trace.hpp"

namespace in_smtpd {

class Logs {
  // Before the members that are told it.
  const bool stderr_usable_;

 public:
  Logs();
  Logs(const Logs&) = delete;
  Logs& operator=(const Logs&) = delete;

  // In the standalone mode stdout is no connection: the printout goes
  // there, as `python -m smtpd -c DebuggingServer` printed it.  Nor is
  // stderr (systemd may share one journal stream for both).
  void standalone();

  ErrorLog errors;
  Printout printout;
  Trace trace;
  MailLog transactions;
};

}  // namespace in_smtpd
