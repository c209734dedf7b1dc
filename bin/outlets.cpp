// outlets.cpp - descriptors, syslog, stderr (see outlets.hpp).
#include "outlets.hpp"

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace in_smtpd {
namespace {

bool same_file(int a, int b) {
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
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

void syslog_lines(int priority, std::string_view text) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string line(text.substr(0, end));
    syslog(priority, "%s", line.c_str());
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
}

bool stderr_is_connection() {
  struct stat st;
  return fstat(2, &st) == 0 && S_ISSOCK(st.st_mode) &&
         (same_file(2, 0) || same_file(2, 1));
}

}  // namespace in_smtpd
