// diagnostics.hpp - where everything but SMTP goes.
//
// stdout is the SMTP stream, and under inetd stderr is the same socket.
// So DebuggingServer's printout and -d traces go to --debug-file if one
// is given, else to stderr when stderr is not the connection, else to
// syslog; errors go to stderr when it is not the connection, else to
// syslog; the transaction log goes to syslog (LOG_MAIL) or, when asked
// and possible, to stderr.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

#include "smtpd/debugging.hpp"

namespace in_smtpd {

class Diagnostics : public smtpd::DebuggingServer::Output {
 public:
  Diagnostics();

  // Opens --debug-file; false with errno set when it cannot.
  bool use_file(const std::string& path);
  // In the standalone mode stdout is no connection: the printout goes
  // there, as `python -m smtpd -c DebuggingServer` printed it.
  // Nor is stderr (systemd may share one journal stream for both).
  void standalone() {
    if (file_ < 0) file_ = 1;
    stderr_usable_ = true;
  }
  // Transaction log lines to stderr rather than syslog; false (and
  // syslog kept) when stderr is the connection.
  bool log_to_stderr();

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
  void printout(std::string_view text);  // a -d trace: begin, write, end
  // "in.smtpd: ..." / LOG_ERR; once serving, "in.smtpd[PID]: ...", as the
  // transaction log's lines: a log with many sessions tells them apart.
  void error(std::string_view message);
  void serving() { serving_ = true; }
  void transaction(std::string_view line);

 private:
  bool stderr_usable_;
  bool log_to_stderr_ = false;
  std::atomic<bool> serving_{false};
  bool put(std::string_view piece);  // false, errno set: not written
  void flush_syslog_line();

  int file_ = -1;
  std::string syslog_line_;  // a printout line not yet whole
  // Of the printout under way or the last one on this thread.
  static thread_local int printout_errno_;
  std::atomic<bool> printout_ever_failed_{false};
  std::mutex printing_;  // held from begin() to end()
};

// write(2) until done or failed, through EINTR; false (errno set) when it
// failed.
bool write_all(int fd, std::string_view bytes);

}  // namespace in_smtpd
