// error_log.hpp - the program's error lines: why it cannot start, a
// hook's unusable answer, a delivery that failed.
//
//   in.smtpd: cannot open --debug-file /var/log/x: Permission denied
//   in.smtpd[4242]: mailman list@example.org failed: exit status 75
//
// To stderr when it is not the connection, else to syslog (LOG_ERR).
// Before the session starts a line says "in.smtpd:"; once serving it says
// "in.smtpd[PID]:", as the transaction log's lines do, so that a log with
// many sessions tells them apart.
#pragma once

#include <atomic>
#include <string_view>

namespace in_smtpd {

class ErrorLog {
 public:
  explicit ErrorLog(bool stderr_usable) : stderr_usable_(stderr_usable) {}

  // One line; to syslog when stderr is the connection or cannot be
  // written.
  void say(std::string_view message);
  // The session (or the listener) is under way: lines carry the PID.
  void serving() { serving_ = true; }
  // The standalone mode: stderr is no connection (systemd may share one
  // journal stream for stdout and stderr).
  void standalone() { stderr_usable_ = true; }

 private:
  bool stderr_usable_;
  std::atomic<bool> serving_{false};
};

}  // namespace in_smtpd
