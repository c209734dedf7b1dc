// session_setup.cpp - secrets and privileges (see session_setup.hpp).
#include "session_setup.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "diagnostics.hpp"

namespace in_smtpd {

bool read_first_line(const std::string& path, std::string& line) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[1024];
  const ssize_t n = read(fd, buffer, sizeof buffer);
  const int saved = errno;
  close(fd);
  errno = saved;
  if (n < 0) return false;
  line.assign(buffer, std::size_t(n));
  line.erase(std::min(line.find_first_of("\r\n"), line.size()));
  return true;
}

int drop_privileges(const std::string& user, Diagnostics& diagnostics) {
  if (geteuid() != 0) return 0;
  const passwd* account = getpwnam(user.c_str());
  if (!account) {
    diagnostics.error("no user \"" + user + "\"; try --user or -n");
    return EX_NOUSER;
  }
  if (setgroups(0, nullptr) != 0 || setgid(account->pw_gid) != 0 ||
      setuid(account->pw_uid) != 0) {
    diagnostics.error("cannot become \"" + user +
                      "\": " + std::strerror(errno) + "; try -n");
    return EX_OSERR;
  }
  return 0;
}

}  // namespace in_smtpd
