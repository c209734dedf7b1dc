// loopback.hpp - a listening TCP socket on 127.0.0.1, on a port the kernel
// picks: for the tests that need a real peer (an upstream, the listener).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace smtpd {

// Listens on 127.0.0.1; address says where (its port is the kernel's
// pick).  -1 when the socket cannot be made.
inline int listen_on_loopback(sockaddr_in& address, int backlog = 8) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  address = sockaddr_in{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(fd, backlog) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return -1;
  return fd;
}

inline std::string port_of(const sockaddr_in& address) {
  return std::to_string(ntohs(address.sin_port));
}

}  // namespace smtpd
