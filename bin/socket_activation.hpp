// socket_activation.hpp - the listening sockets systemd passes a service
// with Accept=no (sd_listen_fds(3)).
#pragma once

namespace in_smtpd {

// SD_LISTEN_FDS_START: systemd passes its sockets from this descriptor on.
constexpr int first_systemd_socket = 3;

// How many listening sockets systemd passed this process: LISTEN_PID is
// us and LISTEN_FDS of them from fd 3, all listening; else 0.  With
// Accept=yes systemd passes the connection itself, which is no listener.
// Changes nothing, so in.smtpd can ask before it hands over.
int systemd_listener_count();

}  // namespace in_smtpd
