// privileges.cpp - becoming --user (see privileges.hpp).
#include "privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exit_error.hpp"

namespace in_smtpd {

void drop_privileges(const std::string& user) {
  if (geteuid() != 0) return;
  const passwd* account = getpwnam(user.c_str());
  if (!account)
    throw ExitError(EX_NOUSER, "no user \"" + user + "\"; try --user or -n");
  if (setgroups(0, nullptr) != 0 || setgid(account->pw_gid) != 0 ||
      setuid(account->pw_uid) != 0)
    throw ExitError(EX_OSERR, "cannot become \"" + user +
                                  "\": " + std::strerror(errno) + "; try -n");
}

}  // namespace in_smtpd
