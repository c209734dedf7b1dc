// host_port.hpp - HOST:PORT as the options and lmtp-deliver write an
// address: a name or an IPv4 address, or an IPv6 address in brackets
// ([::1]:25), then a port from 1 to 65535.  Pure: no resolving, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace in_smtpd {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 address
  std::string port;  // digits only, 1 to 65535
};

// The host and port of spec; nullopt when it is not HOST:PORT, with the
// reason in *why, one line (the caller names the option and what it
// expected).
std::optional<HostPort> split_host_port(std::string_view spec,
                                        std::string* why = nullptr);

}  // namespace in_smtpd
