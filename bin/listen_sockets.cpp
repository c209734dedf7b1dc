// listen_sockets.cpp - bind, listen, or take systemd's sockets.
#include "listen_sockets.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "exit_error.hpp"
#include "host_port.hpp"
#include "socket_activation.hpp"

namespace in_smtpd {
namespace {

// Python's smtpd listened with a backlog of 5, and collapsed under 20
// concurrent clients; the kernel caps this at net.core.somaxconn.
constexpr int backlog = 1024;

}  // namespace

std::vector<int> open_listeners(const std::vector<std::string>& specs) {
  std::vector<int> fds;
  const auto fail = [&](const std::string& why) {
    for (const int fd : fds) static_cast<void>(close(fd));  // never used
    return ExitError(EX_UNAVAILABLE, "cannot listen on " + why);
  };
  for (const std::string& spec : specs) {
    // HOST:PORT, [ADDRESS]:PORT for IPv6, *:PORT (checked by the option
    // parser already).
    std::string why;
    const std::optional<HostPort> address = split_host_port(spec, &why);
    if (!address) throw fail(spec + ": " + why);
    const std::string& port = address->port;
    // "*": every address, IPv4 and IPv6, each on its own socket.
    const std::string host = address->host == "*" ? "" : address->host;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int status = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                   port.c_str(), &hints, &found);
    if (status != 0) throw fail(spec + ": " + gai_strerror(status));
    for (const addrinfo* a = found; a; a = a->ai_next) {
      const int fd =
          socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 a->ai_protocol);
      if (fd < 0) continue;
      const int yes = 1;
      if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
          // each family on its own socket
          (a->ai_family == AF_INET6 &&
           setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof yes) != 0) ||
          bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
          listen(fd, backlog) != 0) {
        const std::string why = spec + ": " + std::strerror(errno);
        static_cast<void>(close(fd));  // never used
        freeaddrinfo(found);
        throw fail(why);
      }
      fds.push_back(fd);
    }
    freeaddrinfo(found);
  }
  if (fds.empty()) throw fail("no address to listen on");
  return fds;
}

std::vector<int> systemd_listeners() {
  const int count = systemd_listener_count();
  std::vector<int> fds;
  for (int fd = first_systemd_socket; fd < first_systemd_socket + count; ++fd) {
    const int flags = fcntl(fd, F_GETFL);
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || flags < 0 ||
        fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
      throw ExitError(EX_OSERR, "cannot use systemd's socket " +
                                    std::to_string(fd) + ": " +
                                    std::strerror(errno));
    fds.push_back(fd);
  }
  if (count > 0) {
    // unsetenv fails only for a name with '=' in it.
    for (const char* name : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"})
      static_cast<void>(unsetenv(name));
  }
  return fds;
}

}  // namespace in_smtpd
