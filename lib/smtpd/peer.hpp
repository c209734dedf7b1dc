// peer.hpp - who the client is, as the launcher tells it.
//
// In order: the socket itself (getpeername on the connection), systemd's
// REMOTE_ADDR/REMOTE_PORT, UCSPI's TCPREMOTEIP/TCPREMOTEPORT (tcpserver),
// else a local peer (a shell pipe).
#pragma once

#include <sys/socket.h>

#include <functional>

#include "smtpd/export.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

using EnvironmentLookup = std::function<const char*(const char* name)>;

// Reads the environment through lookup (std::getenv in the program), so
// that tests can hand in their own.
SMTPD_API Peer find_peer(int connection_fd, const EnvironmentLookup& lookup);

// The one conversion of a socket address (IPv4, IPv6, v4-mapped shown as
// IPv4) to a Peer; anything else is a local peer.
SMTPD_API Peer peer_from_address(const sockaddr* address, socklen_t length);

}  // namespace smtpd
