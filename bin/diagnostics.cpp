// diagnostics.cpp - stderr, a debug file or syslog (see diagnostics.hpp).
#include "diagnostics.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>

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

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(std::size_t(n));
  }
}

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
  if (file_ >= 0) flock(file_, LOCK_EX);  // a pipe or a terminal: no matter
}

void Diagnostics::write(std::string_view piece) {
  if (file_ >= 0) return write_all(file_, piece);
  if (stderr_usable_) return write_all(2, piece);
  // syslog takes whole lines; a piece may end inside one.
  const std::size_t whole = piece.rfind('\n') + 1;
  if (whole == 0) {
    syslog_line_.append(piece);
    return;
  }
  syslog_lines(LOG_DEBUG, syslog_line_.append(piece.substr(0, whole)));
  syslog_line_.assign(piece.substr(whole));
}

void Diagnostics::end() {
  if (!syslog_line_.empty()) syslog_lines(LOG_DEBUG, syslog_line_);
  syslog_line_.clear();
  if (file_ >= 0) flock(file_, LOCK_UN);
  printing_.unlock();
}

void Diagnostics::printout(std::string_view text) {
  begin();
  write(text);
  end();
}

void Diagnostics::error(std::string_view message) {
  if (stderr_usable_)
    write_all(2, "in.smtpd: " + std::string(message) + "\n");
  else
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
