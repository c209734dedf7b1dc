// peer.cpp - the client's address from the socket or the launcher.
#include "smtpd/peer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string_view>

namespace smtpd {
namespace {

bool from_socket(int fd, Peer& peer) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return false;
  if (address.ss_family != AF_INET && address.ss_family != AF_INET6)
    return false;  // a UNIX socket: a local peer
  peer = peer_from_address(reinterpret_cast<const sockaddr*>(&address), length);
  return true;
}

bool valid_address(const char* text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text, buffer) == 1 ||
         inet_pton(AF_INET6, text, buffer) == 1;
}

std::uint16_t parse_port(const char* text) {
  unsigned long port = 0;
  for (const char* p = text; p && *p; ++p) {
    if (*p < '0' || *p > '9') return 0;
    port = port * 10 + static_cast<unsigned long>(*p - '0');
    if (port > 65535) return 0;
  }
  return static_cast<std::uint16_t>(port);
}

bool from_environment(const EnvironmentLookup& lookup, const char* address_name,
                      const char* port_name, Peer& peer) {
  const char* address = lookup(address_name);
  if (!address || !valid_address(address)) return false;
  peer.address = address;
  peer.port = parse_port(lookup(port_name));
  return true;
}

}  // namespace

Peer peer_from_address(const sockaddr* address, socklen_t length) {
  Peer peer;
  char text[INET6_ADDRSTRLEN] = "";
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    peer.port = ntohs(in->sin_port);
  } else if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))  // a v4 client on a v6 socket
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof text);
    else
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    peer.port = ntohs(in6->sin6_port);
  } else {
    return peer;  // a UNIX socket: a local peer
  }
  peer.address = text;
  return peer;
}

Peer find_peer(int connection_fd, const EnvironmentLookup& lookup) {
  Peer peer;
  if (from_socket(connection_fd, peer) ||
      from_environment(lookup, "REMOTE_ADDR", "REMOTE_PORT", peer) ||
      from_environment(lookup, "TCPREMOTEIP", "TCPREMOTEPORT", peer))
    return peer;
  return Peer{};
}

}  // namespace smtpd
