// proxy_header.hpp - the HAProxy PROXY protocol header (versions 1 and 2)
// that a proxy sends before the client's first byte, as a pure parser over
// the bytes read so far.
//
// The reference is HAProxy's doc/proxy-protocol.txt.  Section 1: the header
// comes first and whole, and the receiver "MUST NOT start processing the
// connection before it receives a complete and valid PROXY protocol header"
// (for SMTP: no greeting before it).  Section 2.1 is the text format
// ("PROXY TCP4 a b p q\r\n"), section 2.2 the binary one.
//
// Strict by default: any byte that cannot begin or continue a header makes
// the buffer invalid at once, so that the connection is closed as soon as
// possible (2.1: "recommended to abort the connection as soon as possible").
// Deliberate choices, each the stricter side of what the spec allows:
//   - v1 ports and IPv4 numbers with a leading zero ("080") are refused, as
//     2.1 says ("Heading zeroes are not permitted"); "0" itself is fine.
//   - v1 IPv6 addresses are whatever inet_pton(AF_INET6) accepts (embedded
//     IPv4 and upper-case hex included), not only the canonical form.
//   - v2 PROXY: only the protocol bytes 2.2 lists are accepted.  UNSPEC
//     (\x00) and UNIX stream (\x31) are accepted without an address (ours is
//     a TCP service: keep the connection's own peer); the DGRAM ones (\x12,
//     \x22, \x32) are refused, since SMTP does not run over datagrams and 2.2
//     lets a receiver reject what it treats as UNSPEC.  A length smaller
//     than the family's address block is refused.
//   - v2 LOCAL: the family byte and the block are ignored, as 2.2 says.
//   - v2 TLVs (2.2.1-2.2.8) are skipped unread, as 2.2 permits.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "smtpd/export.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

struct ProxyHeader {
  enum class Status {
    incomplete,  // a prefix of a possible header: read more
    invalid,     // cannot be a header: close the connection, no greeting
    complete,    // a whole, valid header of `length` bytes
  };
  Status status = Status::incomplete;
  // Bytes of the header (complete only); what follows in the buffer is the
  // client's SMTP stream.
  std::size_t length = 0;
  // False for v1 UNKNOWN, v2 LOCAL and v2 UNSPEC or UNIX: the connection's
  // own peer stands.
  bool has_address = false;
  // The original client: the address as inet_ntop shows it (an IPv4-mapped
  // IPv6 address as plain IPv4), and its port.
  Peer source;
  std::string error;  // why invalid, one short line
};

// The longest v1 header, CRLF included (2.1), and the fixed part of a v2
// header (2.2); a v2 header is proxy_v2_fixed plus its length field, so at
// most 16 + 65535 bytes.
inline constexpr std::size_t proxy_v1_max_length = 107;
inline constexpr std::size_t proxy_v2_fixed = 16;

// Looks at the start of buffer, what has been read so far.  Whatever the
// bytes, the answer is a status, never an exception.
SMTPD_API ProxyHeader parse_proxy_header(std::string_view buffer);

}  // namespace smtpd
