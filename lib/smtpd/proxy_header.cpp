// proxy_header.cpp - the HAProxy PROXY protocol header, versions 1 and 2
// (see proxy_header.hpp; section numbers are doc/proxy-protocol.txt's).
#include "smtpd/proxy_header.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace smtpd {
namespace {

using Status = ProxyHeader::Status;

constexpr char not_a_header[] = "not a PROXY protocol header";

ProxyHeader incomplete() { return ProxyHeader{}; }

ProxyHeader invalid(const char* why) {
  ProxyHeader header;
  header.status = Status::invalid;
  header.error = why;
  return header;
}

std::string show(const in_addr& address) {
  char text[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &address, text, sizeof text);
  return text;
}

// An IPv4-mapped address (::ffff:a.b.c.d) is an IPv4 client that reached
// an IPv6 socket: shown as IPv4, as peer.cpp shows the socket's own peer.
std::string show(const in6_addr& address) {
  if (IN6_IS_ADDR_V4MAPPED(&address)) {
    in_addr v4;
    std::memcpy(&v4, &address.s6_addr[12], sizeof v4);
    return show(v4);
  }
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(AF_INET6, &address, text, sizeof text);
  return text;
}

// --- version 1: one line of text (2.1) ---------------------------------------

constexpr std::string_view v1_start = "PROXY ";

// The binary form of a v1 address of the family its protocol names.
struct Address {
  int family = AF_INET;
  in_addr v4{};
  in6_addr v6{};
  std::string text() const { return family == AF_INET ? show(v4) : show(v6); }
};

// inet_pton on text + suffix.  It wants a C string, and a NUL in the text
// would hide what follows it, so text holding one is refused.
bool parse_address(std::string_view text, std::string_view suffix,
                   Address& address) {
  char c_string[64];
  if (text.size() + suffix.size() >= sizeof c_string ||
      text.find('\0') != std::string_view::npos)
    return false;
  std::copy(text.begin(), text.end(), c_string);
  std::copy(suffix.begin(), suffix.end(), c_string + text.size());
  c_string[text.size() + suffix.size()] = '\0';
  void* out = address.family == AF_INET ? static_cast<void*>(&address.v4)
                                        : static_cast<void*>(&address.v6);
  return inet_pton(address.family, c_string, out) == 1;
}

// Whether the start of an address can still become a valid one.  Any
// such start becomes valid with one of these endings (a last octet or
// group, the octets still missing, or a "::" standing for the groups still
// missing), so trying each decides it exactly.
bool address_can_follow(std::string_view start, int family) {
  static constexpr std::string_view endings[] = {
      "", "0", ".0", "0.0", ".0.0", "0.0.0", ".0.0.0", "0.0.0.0", ":", "::"};
  Address scratch;
  scratch.family = family;
  for (std::string_view ending : endings)
    if (parse_address(start, ending, scratch)) return true;
  return false;
}

// 2.1: "a decimal integer in the range [0..65535] inclusive.  Heading
// zeroes are not permitted": no sign, no leading zero but "0" itself.
bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0'))
    return false;
  std::uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

// Every start of a valid port is empty or itself a valid port.
bool port_can_follow(std::string_view start) {
  std::uint16_t ignored = 0;
  return start.empty() || parse_port(start, ignored);
}

bool starts(std::string_view whole, std::string_view start) {
  return whole.substr(0, start.size()) == start;
}

// Checks the text of a v1 line, CRLF excluded.  open: more of the line may
// still come, so its last field need only be a start of a valid one.
// Returns why the line is invalid, or nullptr; a whole valid line's source
// goes to header.
const char* check_v1_line(std::string_view line, bool open,
                          ProxyHeader& header) {
  if (!starts(line, v1_start))
    return open && starts(v1_start, line) ? nullptr : not_a_header;
  line.remove_prefix(v1_start.size());

  const std::size_t space = line.find(' ');
  const std::string_view protocol = line.substr(0, space);
  if (open && space == std::string_view::npos)
    return starts("TCP4", protocol) || starts("TCP6", protocol) ||
                   starts("UNKNOWN", protocol)
               ? nullptr
               : "PROXY v1: unknown protocol";
  // 2.1: for UNKNOWN "the receiver must ignore anything presented before
  // the CRLF", and keep the connection's own addresses.
  if (protocol == "UNKNOWN") return nullptr;
  Address source, destination;
  if (protocol == "TCP4")
    source.family = destination.family = AF_INET;
  else if (protocol == "TCP6")
    source.family = destination.family = AF_INET6;
  else
    return "PROXY v1: unknown protocol";
  if (space == std::string_view::npos) return "PROXY v1: missing addresses";
  line.remove_prefix(space + 1);

  // 2.1: source address, destination address, source port, destination
  // port, separated by exactly one space; both addresses of the family the
  // protocol names.
  static constexpr const char* bad_field[] = {
      "PROXY v1: bad source address", "PROXY v1: bad destination address",
      "PROXY v1: bad source port", "PROXY v1: bad destination port"};
  std::uint16_t source_port = 0, destination_port = 0;
  for (int field = 0; field < 4; ++field) {
    const std::size_t end = line.find(' ');
    const std::string_view token = line.substr(0, end);
    const bool last = end == std::string_view::npos;
    if (last && open) {
      const bool can_follow = field < 2
                                  ? address_can_follow(token, source.family)
                                  : port_can_follow(token);
      return can_follow ? nullptr : bad_field[field];
    }
    const bool good = field == 0   ? parse_address(token, "", source)
                      : field == 1 ? parse_address(token, "", destination)
                      : field == 2 ? parse_port(token, source_port)
                                   : parse_port(token, destination_port);
    if (!good) return bad_field[field];
    if (field < 3 && last) return "PROXY v1: missing fields";
    if (field == 3 && !last) return "PROXY v1: junk after the ports";
    line.remove_prefix(end + 1);
  }
  header.has_address = true;
  header.source.address = source.text();
  header.source.port = source_port;
  return nullptr;
}

ProxyHeader parse_v1(std::string_view buffer) {
  // 2.1: the line ends with the first CRLF, which must come within 107
  // bytes, and "the receiver must not tolerate a single CR or LF character
  // to end the line".
  const std::string_view window = buffer.substr(0, proxy_v1_max_length);
  const std::size_t end = window.find_first_of("\r\n");
  const std::size_t last_cr = proxy_v1_max_length - 2;
  bool open = false;        // no line end yet
  bool lf_pending = false;  // the CR is there, its LF not yet
  if (end == std::string_view::npos) {
    if (buffer.size() > last_cr)
      return invalid("PROXY v1: no CRLF in 107 bytes");
    open = true;
  } else if (buffer[end] == '\n') {
    return invalid("PROXY v1: bare LF");
  } else if (end > last_cr) {
    return invalid("PROXY v1: no CRLF in 107 bytes");
  } else if (end + 1 == buffer.size()) {
    lf_pending = true;
  } else if (buffer[end + 1] != '\n') {
    return invalid("PROXY v1: bare CR");
  }

  ProxyHeader header;
  const std::string_view line = open ? buffer : buffer.substr(0, end);
  if (const char* why = check_v1_line(line, open, header)) return invalid(why);
  if (open || lf_pending) return incomplete();
  header.status = Status::complete;
  header.length = end + 2;
  return header;
}

// --- version 2: binary (2.2) -------------------------------------------------

constexpr unsigned char v2_signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                            0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// The 14th byte, address family (high nibble) and transport (low), as the
// combinations 2.2 lists ("In practice, the following protocol bytes are
// expected").
enum Protocol : unsigned char {
  unspec = 0x00,
  tcp4 = 0x11,
  udp4 = 0x12,
  tcp6 = 0x21,
  udp6 = 0x22,
  unix_stream = 0x31,
  unix_dgram = 0x32,
};

ProxyHeader parse_v2(std::string_view buffer) {
  const auto byte = [buffer](std::size_t i) {
    return static_cast<unsigned char>(buffer[i]);
  };
  const std::size_t signature = std::min(buffer.size(), sizeof v2_signature);
  for (std::size_t i = 0; i < signature; ++i)
    if (byte(i) != v2_signature[i]) return invalid(not_a_header);
  if (buffer.size() < 13) return incomplete();

  // 13th byte: the version "must always be sent as \x2 and the receiver
  // must only accept this value"; the command is LOCAL (0) or PROXY (1),
  // and "receivers must drop connections presenting unexpected values".
  if (byte(12) >> 4 != 2) return invalid("PROXY v2: version is not 2");
  const unsigned command = byte(12) & 0x0F;
  if (command > 1) return invalid("PROXY v2: unknown command");
  const bool local = command == 0;
  if (buffer.size() < 14) return incomplete();

  // 14th byte.  For LOCAL the receiver "must use the real connection
  // endpoints and discard the protocol block including the family which is
  // ignored".  For PROXY the length of the address block follows from it.
  const unsigned char protocol = byte(13);
  std::size_t addresses = 0;
  if (!local) switch (protocol) {
      case unspec:
        break;  // "The receiver should ignore address information."
      case tcp4:
        addresses = 2 * 4 + 2 * 2;
        break;
      case tcp6:
        addresses = 2 * 16 + 2 * 2;
        break;
      case unix_stream:
        addresses = 2 * 108;  // a path, not a client address: ignored
        break;
      case udp4:
      case udp6:
      case unix_dgram:
        return invalid("PROXY v2: datagram transport");
      default:  // "must be rejected as invalid by receivers"
        return invalid("PROXY v2: unknown family or transport");
    }
  if (buffer.size() < proxy_v2_fixed) return incomplete();

  // 15th and 16th bytes: the length of what follows, in network order;
  // "the length of the protocol header in bytes is always exactly 16 + this
  // value".  Beyond the addresses come TLVs, which a receiver "may choose to
  // skip over and ignore": we do.
  const std::size_t length = std::size_t{byte(14)} << 8 | byte(15);
  if (length < addresses) return invalid("PROXY v2: length too short");
  if (buffer.size() < proxy_v2_fixed + length) return incomplete();

  ProxyHeader header;
  header.status = Status::complete;
  header.length = proxy_v2_fixed + length;
  if (local || (protocol != tcp4 && protocol != tcp6)) return header;
  // Source address, destination address, source port, destination port,
  // each in network order (2.2, union proxy_addr).
  const char* block = buffer.data() + proxy_v2_fixed;
  const std::size_t address_size = protocol == tcp4 ? 4 : 16;
  if (protocol == tcp4) {
    in_addr v4;
    std::memcpy(&v4, block, sizeof v4);
    header.source.address = show(v4);
  } else {
    in6_addr v6;
    std::memcpy(&v6, block, sizeof v6);
    header.source.address = show(v6);
  }
  const std::size_t port = 2 * address_size;
  header.source.port = static_cast<std::uint16_t>(
      byte(proxy_v2_fixed + port) << 8 | byte(proxy_v2_fixed + port + 1));
  header.has_address = true;
  return header;
}

}  // namespace

// 2.2: a v2 header starts with "\r", a v1 header with "P"; nothing else
// is covered by the spec, "and the connection must be dropped".
ProxyHeader parse_proxy_header(std::string_view buffer) {
  if (buffer.empty()) return incomplete();
  if (buffer[0] == 'P') return parse_v1(buffer);
  if (buffer[0] == '\r') return parse_v2(buffer);
  return invalid(not_a_header);
}

}  // namespace smtpd
