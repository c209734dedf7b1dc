// diagnostics.cpp - stderr, a debug file or syslog (see diagnostics.hpp).
#include "diagnostics.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace in_smtpd {
namespace {

bool same_file(int a, int b) {
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// inetd hands the connection's socket as stdin, stdout and stderr.  A
// terminal or a pipe shared with stdout (2>&1) is someone watching, not a
// client.
bool stderr_is_connection() {
  struct stat st;
  return fstat(2, &st) == 0 && S_ISSOCK(st.st_mode) &&
         (same_file(2, 0) || same_file(2, 1));
}

// syslog takes one line at a time.
void syslog_lines(int priority, std::string_view text) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string line(text.substr(0, end));
    syslog(priority, "%s", line.c_str());
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
}

}  // namespace

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;
      return false;
    }
    bytes.remove_prefix(std::size_t(n));
  }
  return true;
}

thread_local int Diagnostics::printout_errno_ = 0;

Diagnostics::Diagnostics() : stderr_usable_(!stderr_is_connection()) {
  openlog("in.smtpd", LOG_PID, LOG_MAIL);
}

bool Diagnostics::use_file(const std::string& path) {
  file_ = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  return file_ >= 0;
}

bool Diagnostics::log_to_stderr() {
  log_to_stderr_ = stderr_usable_;
  return log_to_stderr_;
}

void Diagnostics::begin() {
  printing_.lock();
  printout_errno_ = 0;
  if (file_ >= 0) flock(file_, LOCK_EX);  // a pipe or a terminal: no matter
}

void Diagnostics::write(std::string_view piece) {
  if (printout_errno_ != 0) return;  // the rest would not make it whole
  if (!put(piece)) printout_errno_ = errno;
}

void Diagnostics::end() {
  flush_syslog_line();
  if (file_ >= 0) flock(file_, LOCK_UN);
  if (printout_errno_ != 0) {
    printout_ever_failed_ = true;
    error(std::string("cannot write the printout to ") +
          (file_ > 2    ? "the debug file"
           : file_ == 1 ? "stdout"
                        : "stderr") +
          ": " + std::strerror(printout_errno_));
  }
  printing_.unlock();
}

bool Diagnostics::put(std::string_view piece) {
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

void Diagnostics::flush_syslog_line() {
  if (!syslog_line_.empty()) syslog_lines(LOG_DEBUG, syslog_line_);
  syslog_line_.clear();
}

// A -d trace line: whole under the lock like a printout; one that cannot
// be written is lost without failing anything.
void Diagnostics::printout(std::string_view text) {
  const std::lock_guard<std::mutex> hold(printing_);
  if (file_ >= 0) flock(file_, LOCK_EX);
  put(text);
  flush_syslog_line();
  if (file_ >= 0) flock(file_, LOCK_UN);
}

// To stderr, else (the connection, or stderr cannot be written) syslog.
void Diagnostics::error(std::string_view message) {
  const std::string prefix =
      serving_ ? "in.smtpd[" + std::to_string(getpid()) + "]: " : "in.smtpd: ";
  if (stderr_usable_ && write_all(2, prefix + std::string(message) + "\n"))
    return;
  syslog_lines(LOG_ERR, message);
}

void Diagnostics::transaction(std::string_view line) {
  if (log_to_stderr_)
    write_all(2, "in.smtpd[" + std::to_string(getpid()) +
                     "]: " + std::string(line) + "\n");
  else
    syslog_lines(LOG_INFO, line);
}

}  // namespace in_smtpd
