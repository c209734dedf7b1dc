// proxy_fuzzer.cpp - libFuzzer target: parse_proxy_header
// (proxy_header.hpp), the HAProxy PROXY protocol header read before the
// greeting.  Run by t/fuzz.sh; seeds in t/fuzz/corpus/proxy/.  The input
// is the bytes read from the connection so far.
//
// Invariants (a violation aborts, and libFuzzer keeps the input):
//   - no crash, no exception, deterministic;
//   - error is set exactly when the status is invalid; an address only
//     with a complete header;
//   - a complete header is 1 to `length` bytes of the buffer: a v1 one
//     starts with "PROXY ", ends with its first CRLF and is at most 107
//     bytes; a v2 one starts with the 12-byte signature and is 16 bytes
//     plus its length field;
//   - the bytes after a complete header do not matter: its first `length`
//     bytes alone, or followed by other bytes, give the same header;
//   - reading byte by byte never changes its mind: every prefix is
//     incomplete until the status settles, and from there every longer
//     prefix gives the same status (and the same header);
//   - the source address of a header is numeric (inet_pton takes it, as
//     v4 when it looks like v4): it ends up in logs and in X-Peer lines;
//     for a v1 TCP4 line it is the line's own source field, and the port
//     its source port.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../unit/enum_names.hpp"
#include "fuzz_common.hpp"
#include "smtpd/proxy_header.hpp"

namespace {

using fuzz::visible;
using smtpd::ProxyHeader;
using smtpd::test::name;
using Status = ProxyHeader::Status;

constexpr std::string_view signature("\r\n\r\n\0\r\nQUIT\n", 12);

std::string describe(std::string_view buffer, const ProxyHeader& header) {
  return "buffer " + visible(buffer, 200) + " is " + name(header.status) +
         ", length " + std::to_string(header.length) + ", source " +
         visible(header.source.address) + " port " +
         std::to_string(header.source.port) + ", error " +
         visible(header.error);
}

bool same(const ProxyHeader& a, const ProxyHeader& b) {
  return a.status == b.status && a.length == b.length &&
         a.has_address == b.has_address &&
         a.source.address == b.source.address && a.source.port == b.source.port;
}

void check_one(std::string_view buffer, const ProxyHeader& header) {
  FUZZ_CHECK((header.status == Status::invalid) == !header.error.empty(),
             "an error exactly when invalid", describe(buffer, header));
  if (header.status != Status::complete) {
    FUZZ_CHECK(!header.has_address && header.length == 0,
               "no header, no address and no length", describe(buffer, header));
    return;
  }
  FUZZ_CHECK(header.length > 0 && header.length <= buffer.size(),
             "a complete header is within the buffer",
             describe(buffer, header));
  const std::string_view bytes = buffer.substr(0, header.length);
  if (buffer[0] == 'P') {
    FUZZ_CHECK(bytes.substr(0, 6) == "PROXY ", "a v1 header starts with PROXY",
               describe(buffer, header));
    FUZZ_CHECK(header.length <= smtpd::proxy_v1_max_length,
               "a v1 header is at most 107 bytes", describe(buffer, header));
    FUZZ_CHECK(bytes.find("\r\n") == header.length - 2,
               "a v1 header ends with its first CRLF",
               describe(buffer, header));
    FUZZ_CHECK(bytes.substr(0, header.length - 2).find_first_of("\r\n") ==
                   std::string_view::npos,
               "a v1 header holds no other CR or LF", describe(buffer, header));
  } else {
    FUZZ_CHECK(bytes.substr(0, 12) == signature,
               "a v2 header starts with the signature",
               describe(buffer, header));
    FUZZ_CHECK(header.length >= smtpd::proxy_v2_fixed,
               "a v2 header has its fixed part", describe(buffer, header));
    const std::size_t length =
        std::size_t{static_cast<unsigned char>(buffer[14])} << 8 |
        static_cast<unsigned char>(buffer[15]);
    FUZZ_CHECK(header.length == smtpd::proxy_v2_fixed + length,
               "a v2 header is 16 bytes plus its length",
               describe(buffer, header));
  }
  if (header.has_address) {
    const std::string& address = header.source.address;
    unsigned char binary[sizeof(in6_addr)];
    const bool v4 = address.find(':') == std::string::npos;
    FUZZ_CHECK(inet_pton(v4 ? AF_INET : AF_INET6, address.c_str(), binary) == 1,
               "the source address is numeric", describe(buffer, header));
    if (bytes.substr(0, 11) == "PROXY TCP4 ") {
      std::string_view fields = bytes.substr(11, bytes.size() - 13);
      const std::string_view source = fields.substr(0, fields.find(' '));
      FUZZ_CHECK(source == address, "a v1 TCP4 source is the line's own",
                 describe(buffer, header));
      for (int skip = 0; skip < 2; ++skip)
        fields.remove_prefix(fields.find(' ') + 1);
      const std::string_view port = fields.substr(0, fields.find(' '));
      FUZZ_CHECK(port == std::to_string(header.source.port),
                 "a v1 source port is the line's own",
                 describe(buffer, header));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view buffer(reinterpret_cast<const char*>(data), size);
  const ProxyHeader header = smtpd::parse_proxy_header(buffer);
  check_one(buffer, header);
  FUZZ_CHECK(same(header, smtpd::parse_proxy_header(buffer)),
             "parse_proxy_header is deterministic", describe(buffer, header));

  // Byte by byte: incomplete, then settled.
  bool settled = false;
  ProxyHeader first_settled;
  std::size_t settled_at = 0;
  for (std::size_t n = 0; n <= size; ++n) {
    const std::string_view prefix = buffer.substr(0, n);
    const ProxyHeader now = smtpd::parse_proxy_header(prefix);
    check_one(prefix, now);
    if (!settled) {
      if (now.status == Status::incomplete) continue;
      settled = true;
      first_settled = now;
      settled_at = n;
      if (now.status == Status::complete)
        FUZZ_CHECK(now.length == n, "a header completes with its last byte",
                   describe(prefix, now));
    } else {
      FUZZ_CHECK(same(now, first_settled),
                 "more bytes never change a settled header",
                 describe(buffer.substr(0, settled_at), first_settled) +
                     "; then " + describe(prefix, now));
    }
  }
  if (header.status == Status::complete) {
    std::string longer(buffer.substr(0, header.length));
    FUZZ_CHECK(same(smtpd::parse_proxy_header(longer), header),
               "a complete header stands alone", describe(buffer, header));
    longer.append("EHLO x\r\n\0P", 10);
    FUZZ_CHECK(same(smtpd::parse_proxy_header(longer), header),
               "what follows a complete header does not matter",
               describe(buffer, header));
  }
  return 0;
}
