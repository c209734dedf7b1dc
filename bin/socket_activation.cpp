// socket_activation.cpp - counting systemd's listening sockets (see
// socket_activation.hpp).
#include "socket_activation.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace in_smtpd {

int systemd_listener_count() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* count = std::getenv("LISTEN_FDS");
  if (!pid || !count || std::strtol(pid, nullptr, 10) != getpid()) return 0;
  const long n = std::strtol(count, nullptr, 10);
  if (n <= 0 || n >= 1024) return 0;
  for (int fd = first_systemd_socket; fd < first_systemd_socket + n; ++fd) {
    int listening = 0;
    socklen_t length = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 ||
        !listening)
      return 0;
  }
  return int(n);
}

}  // namespace in_smtpd
