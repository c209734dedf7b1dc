// session_setup.cpp - secrets, privileges and signals (see session_setup.hpp).
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
namespace {

volatile std::sig_atomic_t* stop_flag = nullptr;

void request_stop(int) {
  if (stop_flag) *stop_flag = 1;
}

constexpr int stop_signals[] = {SIGTERM, SIGHUP, SIGINT};

}  // namespace

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
    diagnostics.error("cannot become \"" + user + "\": " +
                      std::strerror(errno) + "; try -n");
    return EX_OSERR;
  }
  return 0;
}

sigset_t catch_stop_signals(volatile std::sig_atomic_t* stop_requested) {
  stop_flag = stop_requested;
  sigset_t blocked, wait_mask;
  sigemptyset(&blocked);
  for (const int signal_number : stop_signals) {
    sigaddset(&blocked, signal_number);
    struct sigaction action = {};
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, nullptr);
  }
  sigprocmask(SIG_BLOCK, &blocked, &wait_mask);
  for (const int signal_number : stop_signals)
    sigdelset(&wait_mask, signal_number);
  return wait_mask;
}

}  // namespace in_smtpd
