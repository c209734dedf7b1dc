// printout.cpp - a debug file, stderr or syslog (see printout.hpp).
#include "printout.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error_log.hpp"
#include "outlets.hpp"

namespace in_smtpd {

thread_local int Printout::printout_errno_ = 0;

bool Printout::use_file(const std::string& path) {
  file_ = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  return file_ >= 0;
}

// A pipe or a terminal takes the lock as a file does.  Where the lock
// cannot be had (a file system without locks) printouts may interleave,
// and are still written: its failure is no reason to lose them.
void Printout::lock_file() {
  if (file_ >= 0) static_cast<void>(flock(file_, LOCK_EX));
}

void Printout::unlock_file() {
  if (file_ >= 0) static_cast<void>(flock(file_, LOCK_UN));
}

void Printout::begin() {
  printing_.lock();
  printout_errno_ = 0;
  lock_file();
}

void Printout::write(std::string_view piece) {
  if (printout_errno_ != 0) return;  // the rest would not make it whole
  if (!put(piece)) printout_errno_ = errno;
}

void Printout::end() {
  flush_syslog_line();
  unlock_file();
  if (printout_errno_ != 0) {
    printout_ever_failed_ = true;
    errors_.say(std::string("cannot write the printout to ") +
                (file_ > 2    ? "the debug file"
                 : file_ == 1 ? "stdout"
                              : "stderr") +
                ": " + std::strerror(printout_errno_));
  }
  printing_.unlock();
}

bool Printout::put(std::string_view piece) {
  if (file_ >= 0) return write_all(file_, piece);
  if (stderr_usable_) return write_all(2, piece);
  // syslog takes whole lines; a piece may end inside one.
  const std::size_t whole = piece.rfind('\n') + 1;
  if (whole == 0) {
    syslog_line_.append(piece);
    return true;
  }
  syslog_lines(LOG_DEBUG, syslog_line_.append(piece.substr(0, whole)));
  syslog_line_.assign(piece.substr(whole));
  return true;
}

void Printout::flush_syslog_line() {
  if (!syslog_line_.empty()) syslog_lines(LOG_DEBUG, syslog_line_);
  syslog_line_.clear();
}

void Printout::whole(std::string_view text) {
  const std::lock_guard<std::mutex> hold(printing_);
  lock_file();
  static_cast<void>(put(text));  // lost if it fails, as printout.hpp says
  flush_syslog_line();
  unlock_file();
}

}  // namespace in_smtpd
