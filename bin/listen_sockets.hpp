// listen_sockets.hpp - the standalone mode's listening sockets: from
// -l HOST:PORT, or handed over by systemd (Accept=no, sd_listen_fds(3)).
#pragma once

#include <string>
#include <vector>

namespace in_smtpd {

// Binds and listens on every address HOST resolves to (localhost: 127.0.0.1
// and ::1).  Throws ExitError (EX_UNAVAILABLE) naming the address when
// one cannot be listened on, or none was found.
std::vector<int> open_listeners(const std::vector<std::string>& specs);

// The listening sockets systemd passed (systemd_listener_count), made
// close-on-exec and non-blocking, its variables removed from the
// environment; or none.  Throws ExitError (EX_OSERR) when one cannot be
// made so.
std::vector<int> systemd_listeners();

}  // namespace in_smtpd
