// host_port.cpp - HOST:PORT split (see host_port.hpp).
#include "host_port.hpp"

namespace in_smtpd {
namespace {

std::optional<HostPort> refuse(std::string* why, const char* reason) {
  if (why) *why = reason;
  return std::nullopt;
}

}  // namespace

std::optional<HostPort> split_host_port(std::string_view spec,
                                        std::string* why) {
  const std::size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos) return refuse(why, "no :PORT");
  std::string_view host = spec.substr(0, colon);
  const std::string_view port = spec.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() <= 2 || host.back() != ']')
      return refuse(why, "an IPv6 address goes in brackets: [ADDRESS]:PORT");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return refuse(why, "an IPv6 address goes in brackets: [ADDRESS]:PORT");
  }
  if (host.empty()) return refuse(why, "no host before the port");
  if (port.empty()) return refuse(why, "no port after the colon");
  if (port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos)
    return refuse(why, "the port is not a number from 1 to 65535");
  const unsigned long number = std::stoul(std::string(port));
  if (number == 0 || number > 65535)
    return refuse(why, "the port is not a number from 1 to 65535");
  return HostPort{std::string(host), std::string(port)};
}

}  // namespace in_smtpd
