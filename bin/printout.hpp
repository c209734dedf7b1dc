// printout.hpp - where DebuggingServer's printout and -d traces go:
// --debug-file if one is given, else stderr when it is not the
// connection, else syslog (LOG_DEBUG).  In the standalone mode, stdout,
// as `python -m smtpd -c DebuggingServer` printed it.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

#include "smtpd/debugging.hpp"

namespace in_smtpd {

class ErrorLog;

class Printout : public smtpd::DebuggingServer::Output {
 public:
  // errors: where a printout that could not be written is said.
  Printout(bool stderr_usable, ErrorLog& errors)
      : stderr_usable_(stderr_usable), errors_(errors) {}

  // Opens --debug-file; false with errno set when it cannot.
  bool use_file(const std::string& path);
  // The standalone mode: stdout is no connection, nor is stderr.
  void standalone() {
    if (file_ < 0) file_ = 1;
    stderr_usable_ = true;
  }

  // DebuggingServer's printouts, in pieces.  A debug file is locked from
  // begin() to end(): per-connection processes share it, and their
  // printouts must not interleave.
  // In the standalone mode printouts to a debug file run on threads of
  // their own (the lock may be held by another process): one at a time.
  void begin() override;
  void write(std::string_view piece) override;
  void end() override;
  // Whether the last printout was written whole; when it was not, one
  // error line says why (if there is anywhere left to say it).
  // Per thread: the standalone listener prints on threads of its own.
  bool written() const override { return printout_errno_ == 0; }
  // A printout failed at some time in this process: a piped session
  // exits with EX_IOERR.
  bool printout_ever_failed() const { return printout_ever_failed_; }
  bool may_block() const override { return file_ > 2; }

  // A whole text at once, under the lock like a printout (a -d trace
  // line); one that cannot be written is lost without failing anything:
  // the trace is for whoever watches, the session goes on.
  void whole(std::string_view text);

 private:
  bool put(std::string_view piece);  // false, errno set: not written
  void flush_syslog_line();
  void lock_file();
  void unlock_file();

  bool stderr_usable_;
  ErrorLog& errors_;
  int file_ = -1;
  std::string syslog_line_;  // a printout line not yet whole
  // Of the printout under way or the last one on this thread.
  static thread_local int printout_errno_;
  std::atomic<bool> printout_ever_failed_{false};
  std::mutex printing_;  // held from begin() to end()
};

}  // namespace in_smtpd
