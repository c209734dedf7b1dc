// password_file.cpp - the first line of a secret file (see
// password_file.hpp).
#include "password_file.hpp"

#include <fcntl.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "exit_error.hpp"

namespace in_smtpd {

std::string read_password_file(const char* option, const std::string& path) {
  const auto refuse = [&](int error) {
    return ExitError(EX_NOINPUT, "cannot read --" + std::string(option) + " " +
                                     path + ": " + std::strerror(error));
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw refuse(errno);
  char buffer[1024];
  ssize_t n;
  do {
    n = read(fd, buffer, sizeof buffer);
  } while (n < 0 && errno == EINTR);
  const int error = errno;
  // Read-only: closing loses nothing, whatever close says.
  static_cast<void>(close(fd));
  if (n < 0) throw refuse(error);
  std::string line(buffer, std::size_t(n));
  line.erase(std::min(line.find_first_of("\r\n"), line.size()));
  return line;
}

}  // namespace in_smtpd
