// proxy_header_test.cpp - the PROXY protocol header parser (proxy_header.hpp)
// against HAProxy's doc/proxy-protocol.txt: tables of valid, invalid and
// incomplete headers, every strict prefix of each valid one, and random
// bytes.
#include "smtpd/proxy_header.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "enum_names.hpp"

namespace smtpd {
namespace {

using Status = ProxyHeader::Status;
using test::name;
using namespace std::string_literals;

// Bytes from a list of numbers.
std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int value : values) out += static_cast<char>(value);
  return out;
}

const std::string signature = bytes(
    {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});

// A v2 header: signature, version and command, protocol, the length of
// body in network order, body.
std::string v2(int version_command, int protocol, const std::string& body) {
  return signature +
         bytes({version_command, protocol, static_cast<int>(body.size() >> 8),
                static_cast<int>(body.size() & 0xFF)}) +
         body;
}

// The same with a length field that says length whatever the body.
std::string v2_saying(int version_command, int protocol, int length,
                      const std::string& body) {
  return signature +
         bytes({version_command, protocol, length >> 8, length & 0xFF}) + body;
}

// Address blocks (2.2, union proxy_addr).
const std::string ipv4_block =
    bytes({192, 0, 2, 7, 198, 51, 100, 1, 0xD6, 0xD8, 0, 25});  // port 55000
const std::string ipv6_block = bytes(
    {0x20, 0x01, 0x0D, 0xB8, 0,    0,    0,    0,    0, 0, 0, 0, 0,
     0,    0,    1,    0x20, 0x01, 0x0D, 0xB8, 0,    0, 0, 0, 0, 0,
     0,    0,    0,    0,    0,    2,    0xFF, 0xFF, 0, 25});  // 2001:db8::1
                                                               // port 65535
const std::string mapped_block =
    bytes({0,    0,    0,   0, 0,   0,  0, 0, 0, 0, 0xFF, 0xFF, 203,
           0,    113,  9,   0, 0,   0,  0, 0, 0, 0, 0,    0,    0,
           0xFF, 0xFF, 203, 0, 113, 10, 0, 0, 0, 25});  // ::ffff:203.0.113.9
                                                        // port 0
// TLVs (2.2): ALPN "smtp", a NOOP of 3 bytes, a custom type (2.2.8).
const std::string tlvs =
    bytes({0x01, 0, 4}) + "smtp" + bytes({0x04, 0, 3, 0, 0, 0, 0xE0, 0, 0});

const std::string full_ipv6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

// --- valid headers
// ------------------------------------------------------------

struct Valid {
  std::string name;
  std::string header;
  bool has_address;
  std::string address;  // when has_address
  std::uint16_t port;
};

void PrintTo(const Valid& c, std::ostream* out) { *out << c.name; }

std::vector<Valid> valid_headers() {
  return {
      // 2.1, the example of the spec.
      {"V1Tcp4", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", true,
       "192.168.0.1", 56324},
      {"V1Tcp4Longest",
       "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", true,
       "255.255.255.255", 65535},
      {"V1Tcp4Zeros", "PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n", true, "0.0.0.0",
       0},
      {"V1Tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 1234 25\r\n", true,
       "2001:db8::1", 1234},
      // 104 bytes, the longest TCP6 line of 2.1.
      {"V1Tcp6Longest",
       "PROXY TCP6 " + full_ipv6 + " " + full_ipv6 + " 65535 65535\r\n", true,
       full_ipv6, 65535},
      {"V1Tcp6UpperCaseUncompressed",
       "PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 7 8\r\n", true, "2001:db8::1", 7},
      {"V1Tcp6Mapped", "PROXY TCP6 ::ffff:192.0.2.7 ::1 4000 25\r\n", true,
       "192.0.2.7", 4000},
      {"V1Tcp6Loopback", "PROXY TCP6 ::1 ::1 10 25\r\n", true, "::1", 10},
      // 2.1: UNKNOWN, short form and anything up to the CRLF.
      {"V1UnknownShort", "PROXY UNKNOWN\r\n", false, "", 0},
      {"V1UnknownWithAddresses", "PROXY UNKNOWN 192.0.2.7 192.0.2.8 1 2\r\n",
       false, "", 0},
      {"V1UnknownAnything", "PROXY UNKNOWN ?? not addresses at all\r\n", false,
       "", 0},
      {"V1UnknownEmptyRest", "PROXY UNKNOWN \r\n", false, "", 0},
      // 107 bytes, the worst case of 2.1.
      {"V1UnknownLongest",
       "PROXY UNKNOWN " + full_ipv6 + " " + full_ipv6 + " 65535 65535\r\n",
       false, "", 0},
      {"V2Tcp4", v2(0x21, 0x11, ipv4_block), true, "192.0.2.7", 55000},
      {"V2Tcp4Tlvs", v2(0x21, 0x11, ipv4_block + tlvs), true, "192.0.2.7",
       55000},
      {"V2Tcp4LongestTlv",
       v2(0x21, 0x11,
          ipv4_block + bytes({0x04, 0xFF, 0xF0}) + std::string(0xFFF0, 'x')),
       true, "192.0.2.7", 55000},
      {"V2Tcp6", v2(0x21, 0x21, ipv6_block), true, "2001:db8::1", 65535},
      {"V2Tcp6Tlvs", v2(0x21, 0x21, ipv6_block + tlvs), true, "2001:db8::1",
       65535},
      {"V2Tcp6Mapped", v2(0x21, 0x21, mapped_block), true, "203.0.113.9", 0},
      // 2.2: LOCAL ignores the family and the block, "must not assume zero
      // is presented for LOCAL connections".
      {"V2Local", v2(0x20, 0x00, ""), false, "", 0},
      {"V2LocalWithAddresses", v2(0x20, 0x11, ipv4_block), false, "", 0},
      {"V2LocalWithTlvs", v2(0x20, 0x00, tlvs), false, "", 0},
      {"V2LocalAnyFamily", v2(0x20, 0x99, "x"), false, "", 0},
      {"V2LocalDatagram", v2(0x20, 0x12, ipv4_block), false, "", 0},
      // 2.2: UNSPEC, "the receiver should ignore address information".
      {"V2Unspec", v2(0x21, 0x00, ""), false, "", 0},
      {"V2UnspecWithBytes", v2(0x21, 0x00, tlvs), false, "", 0},
      // UNIX stream: a path, not a client address.
      {"V2UnixStream", v2(0x21, 0x31, std::string(216, '\0')), false, "", 0},
      {"V2UnixStreamTlvs", v2(0x21, 0x31, std::string(216, 'p') + tlvs), false,
       "", 0},
  };
}

class ValidHeader : public testing::TestWithParam<Valid> {};

void expect_header(const Valid& c, const ProxyHeader& got) {
  EXPECT_EQ(name(Status::complete), name(got.status)) << got.error;
  EXPECT_EQ(c.header.size(), got.length);
  EXPECT_EQ(c.has_address, got.has_address);
  EXPECT_EQ("", got.error);
  if (c.has_address) {
    EXPECT_EQ(c.address, got.source.address);
    EXPECT_EQ(c.port, got.source.port);
  } else {  // untouched: the caller keeps the connection's own peer
    EXPECT_EQ(Peer{}.address, got.source.address);
    EXPECT_EQ(0, got.source.port);
  }
}

TEST_P(ValidHeader, Alone) {
  expect_header(GetParam(), parse_proxy_header(GetParam().header));
}

// What follows the header is the client's SMTP, even when it looks like
// another header or is not text.
TEST_P(ValidHeader, FollowedBySmtp) {
  const Valid& c = GetParam();
  for (const std::string& after :
       {std::string("EHLO client.example\r\n"), std::string("\r\n"),
        std::string("PROXY UNKNOWN\r\n"), v2(0x20, 0, ""),
        std::string(200, '\0'), std::string(70000, 'x')}) {
    SCOPED_TRACE(after.substr(0, 20));
    expect_header(c, parse_proxy_header(c.header + after));
  }
}

// The header may arrive one byte at a time: until its last byte, read more.
TEST_P(ValidHeader, EveryStrictPrefixIsIncomplete) {
  const Valid& c = GetParam();
  for (std::size_t size = 0; size < c.header.size(); ++size) {
    const ProxyHeader got =
        parse_proxy_header(std::string_view(c.header).substr(0, size));
    if (got.status != Status::incomplete) {
      ADD_FAILURE() << "after " << size << " bytes: " << name(got.status) << " "
                    << got.error;
      break;
    }
    EXPECT_EQ(0u, got.length);
    EXPECT_EQ("", got.error);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ValidHeader, testing::ValuesIn(valid_headers()),
                         [](const testing::TestParamInfo<Valid>& info) {
                           return info.param.name;
                         });

// --- invalid headers
// ----------------------------------------------------------

struct Invalid {
  std::string name;
  // The shortest start that shows it is not a header: one byte less is
  // still incomplete, so the connection is refused as soon as can be.
  std::string input;
};

void PrintTo(const Invalid& c, std::ostream* out) { *out << c.name; }

const std::string v1_tcp4 = "PROXY TCP4 ";
const std::string v1_tcp6 = "PROXY TCP6 ";
const std::string v1_addresses = "PROXY TCP4 192.0.2.7 192.0.2.8 ";

std::vector<Invalid> invalid_headers() {
  return {
      // Not a header at all (2.2: "the connection must be dropped").
      {"Ehlo", "E"},
      {"Helo", "H"},
      {"TlsClientHello", "\x16"},
      {"LowerCaseProxy", "p"},
      {"NulFirst", std::string(1, '\0')},
      {"Lf", "\n"},
      {"ProxyMisspelt", "PROXZ"},
      {"ProxyWithoutSpace", "PROXYT"},
      {"ProxyCrlf", "PROXY\r"},
      // v1 protocol (2.1: TCP4, TCP6 or UNKNOWN after exactly one space).
      {"V1TwoSpacesAfterProxy", "PROXY  "},
      {"V1Tcp5", "PROXY TCP5"},
      {"V1LowerCaseTcp4", "PROXY t"},
      {"V1Udp", "PROXY UD"},
      {"V1UnknownGlued", "PROXY UNKNOWNX"},
      {"V1EmptyProtocol", "PROXY \r"},
      {"V1Tcp4Alone", "PROXY TCP4\r"},
      {"V1Tcp4Space", "PROXY TCP4 \r"},
      {"V1Tcp4Tab", "PROXY TCP4\t"},
      // v1 addresses.
      {"V1Ipv4Octet256", v1_tcp4 + "1.2.3.256"},
      {"V1Ipv4Octet300", v1_tcp4 + "300"},
      {"V1Ipv4FiveOctets", v1_tcp4 + "1.2.3.4."},
      {"V1Ipv4ThreeOctets", v1_tcp4 + "1.2.3 "},
      {"V1Ipv4LeadingZero", v1_tcp4 + "01"},
      {"V1Ipv4LeadingZeroLast", v1_tcp4 + "1.2.3.04"},
      {"V1Ipv4EmptyOctet", v1_tcp4 + "1.."},
      {"V1Ipv4Name", v1_tcp4 + "l"},
      {"V1Ipv4Hex", v1_tcp4 + "0x"},
      {"V1Ipv4Nul", v1_tcp4 + "1.2.3.4" + std::string(1, '\0')},
      {"V1Tcp4WithIpv6", v1_tcp4 + "2001"},
      {"V1Tcp4WithIpv6Loopback", v1_tcp4 + ":"},
      {"V1Tcp6WithIpv4", v1_tcp6 + "192."},
      {"V1Ipv6TripleColon", v1_tcp6 + ":::"},
      {"V1Ipv6TwoDoubleColons", v1_tcp6 + "1::2::"},
      {"V1Ipv6FiveHexDigits", v1_tcp6 + "12345"},
      {"V1Ipv6NineGroups", v1_tcp6 + "1:2:3:4:5:6:7:8:"},
      {"V1Ipv6BadEmbeddedIpv4", v1_tcp6 + "::ffff:1.2.3.256"},
      {"V1Ipv6NoRoomForIpv4", v1_tcp6 + "1:2:3:4:5:6:7:1."},
      {"V1Ipv6NotHex", v1_tcp6 + "g"},
      {"V1TwoSpacesBetweenAddresses", "PROXY TCP4 192.0.2.7  "},
      {"V1DestinationBad", "PROXY TCP4 192.0.2.7 192.0.2.256"},
      {"V1DestinationOtherFamily", "PROXY TCP6 ::1 192."},
      {"V1SpaceBeforeSource", "PROXY TCP4  "},
      // v1 ports (2.1: [0..65535], no heading zeroes).
      {"V1Port65536", v1_addresses + "65536"},
      {"V1Port70000", v1_addresses + "70000"},
      {"V1PortSixDigits", v1_addresses + "100000"},
      {"V1PortMinus", v1_addresses + "-"},
      {"V1PortPlus", v1_addresses + "+"},
      {"V1PortLeadingZero", v1_addresses + "08"},
      {"V1PortDoubleZero", v1_addresses + "00"},
      {"V1PortHex", v1_addresses + "0x"},
      {"V1PortEmpty", v1_addresses + " "},
      {"V1DestinationPort65536", v1_addresses + "25 65536"},
      {"V1DestinationPortLeadingZero", v1_addresses + "25 02"},
      // v1 fields and line end.
      {"V1MissingDestinationPort", v1_addresses + "25\r"},
      {"V1MissingPorts", "PROXY TCP4 192.0.2.7 192.0.2.8\r"},
      {"V1TrailingSpace", v1_addresses + "25 25 "},
      {"V1BareLf", v1_addresses + "25 25\n"},
      {"V1BareCr", v1_addresses + "25 25\rE"},
      {"V1UnknownBareLf", "PROXY UNKNOWN junk\n"},
      {"V1UnknownBareCr", "PROXY UNKNOWN junk\r\r"},
      // 2.1: no CRLF in the first 107 bytes; once 106 bytes hold no CR,
      // the CRLF can only end past byte 107.
      {"V1NoCrlfIn107Bytes", "PROXY UNKNOWN " + std::string(92, 'x')},
      // v2 signature (2.2).
      {"V2SignatureByte2", "\r\r"},
      {"V2SignatureByte5Nul", "\r\n\r\n\x01"},
      {"V2SignatureLastByte", signature.substr(0, 11) + "\r"},
      {"V2SignatureQuitLowerCase", signature.substr(0, 7) + "q"},
      // 13th byte: version 2 only; command LOCAL or PROXY only.
      {"V2Version1", signature + bytes({0x11})},
      {"V2Version0", signature + bytes({0x01})},
      {"V2Version3", signature + bytes({0x31})},
      {"V2VersionF", signature + bytes({0xF1})},
      {"V2Command2", signature + bytes({0x22})},
      {"V2Command3", signature + bytes({0x23})},
      {"V2CommandF", signature + bytes({0x2F})},
      // 14th byte for PROXY: DGRAM is not SMTP; unlisted values refused.
      {"V2Udp4", signature + bytes({0x21, 0x12})},
      {"V2Udp6", signature + bytes({0x21, 0x22})},
      {"V2UnixDgram", signature + bytes({0x21, 0x32})},
      {"V2Family4", signature + bytes({0x21, 0x41})},
      {"V2FamilyF", signature + bytes({0x21, 0xF1})},
      {"V2Transport3", signature + bytes({0x21, 0x13})},
      {"V2InetUnspecTransport", signature + bytes({0x21, 0x10})},
      {"V2UnspecFamilyStream", signature + bytes({0x21, 0x01})},
      // Lengths shorter than the address block.
      {"V2Tcp4Length11", signature + bytes({0x21, 0x11, 0, 11})},
      {"V2Tcp4Length0", signature + bytes({0x21, 0x11, 0, 0})},
      {"V2Tcp6Length35", signature + bytes({0x21, 0x21, 0, 35})},
      {"V2Tcp6LengthOfIpv4", signature + bytes({0x21, 0x21, 0, 12})},
      {"V2UnixLength215", signature + bytes({0x21, 0x31, 0, 215})},
  };
}

class InvalidHeader : public testing::TestWithParam<Invalid> {};

TEST_P(InvalidHeader, RefusedAtOnce) {
  const Invalid& c = GetParam();
  const ProxyHeader got = parse_proxy_header(c.input);
  EXPECT_EQ(name(Status::invalid), name(got.status));
  EXPECT_NE("", got.error);
  EXPECT_EQ(std::string::npos, got.error.find('\n'));
  EXPECT_FALSE(got.has_address);
  const ProxyHeader before = parse_proxy_header(
      std::string_view(c.input).substr(0, c.input.size() - 1));
  EXPECT_EQ(name(Status::incomplete), name(before.status)) << before.error;
}

// More bytes never make an invalid start valid.
TEST_P(InvalidHeader, StaysInvalid) {
  const Invalid& c = GetParam();
  for (const std::string& after :
       {std::string("\r\n"), std::string(" 1 2\r\n"), std::string(300, 0),
        std::string(70000, 'x')}) {
    EXPECT_EQ(name(Status::invalid),
              name(parse_proxy_header(c.input + after).status));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, InvalidHeader,
                         testing::ValuesIn(invalid_headers()),
                         [](const testing::TestParamInfo<Invalid>& info) {
                           return info.param.name;
                         });

// Whole headers that are invalid for what they hold, not where they stop.
TEST(ProxyHeader, WholeInvalidHeaders) {
  for (const std::string& input : {
           "PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n"s,
           "PROXY TCP6 192.0.2.7 192.0.2.8 1 2\r\n"s,
           "PROXY TCP4 192.0.2.7 ::1 1 2\r\n"s,
           "PROXY TCP4 192.0.2.7 192.0.2.8 65536 2\r\n"s,
           "PROXY TCP4 192.0.2.7 192.0.2.8 1 65536\r\n"s,
           "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n"s,
           "PROXY TCP6 1:2:3:4:5:6:7:8:: ::1 1 2\r\n"s,
           "PROXY TCP4 192.0.2.7 192.0.2.8 1 2\r\r\n"s,
           "PROXY UNKNOWN\n\r\n"s,
           "PROXY TCP4 192.0.2.7 192.0.2.8 1 2 3\r\n"s,
           "PROXY UNKNOWN " + std::string(92, 'x') + "\r\n",  // 108 bytes
           v2_saying(0x21, 0x21, 35, std::string(35, '\0')),
           v2_saying(0x11, 0x11, 12, ipv4_block),
           v2_saying(0x23, 0x11, 12, ipv4_block),
           v2_saying(0x21, 0x12, 12, ipv4_block),
       }) {
    SCOPED_TRACE(testing::PrintToString(input));
    const ProxyHeader got = parse_proxy_header(input);
    EXPECT_EQ(name(Status::invalid), name(got.status));
    EXPECT_NE("", got.error);
  }
}

// --- incomplete headers
// -------------------------------------------------------

// Starts that are not a prefix of any header in the valid table but can
// still become one.
TEST(ProxyHeader, IncompleteStarts) {
  for (const std::string& input : {
           ""s,
           "PROXY UNK"s,
           "PROXY TCP4 1."s,
           "PROXY TCP4 25"s,
           "PROXY TCP4 0"s,
           "PROXY TCP4 1.2.3.4 0.0.0."s,
           "PROXY TCP6 "s,
           "PROXY TCP6 :"s,
           "PROXY TCP6 1:"s,
           "PROXY TCP6 1:2:3:4:5:6:"s,
           "PROXY TCP6 1:2:3:4:5:6:7:"s,
           "PROXY TCP6 ::ffff:1.2."s,
           "PROXY TCP6 1:2:3:4:5:6:255.255"s,
           "PROXY TCP6 ABCD"s,
           "PROXY TCP4 1.2.3.4 5.6.7.8 0 6553"s,
           "PROXY TCP4 1.2.3.4 5.6.7.8 0 2\r"s,
           "PROXY UNKNOWN \x01\xff\x7f"s,
           "PROXY UNKNOWN " + std::string(91, 'x'),  // room for the CRLF
           "PROXY UNKNOWN " + std::string(91, 'x') + "\r",
           signature + bytes({0x21, 0x11, 0xFF, 0xFF}) + ipv4_block,
           signature + bytes({0x20, 0x00, 0x00, 0x01}),
       }) {
    SCOPED_TRACE(testing::PrintToString(input));
    const ProxyHeader got = parse_proxy_header(input);
    EXPECT_EQ(name(Status::incomplete), name(got.status)) << got.error;
  }
}

// --- random bytes
// -------------------------------------------------------------

// The answer for the start of a buffer agrees with the answer for all of
// it: invalid stays invalid, complete stays the same header.
void expect_consistent(const std::string& input, std::size_t cut) {
  const ProxyHeader whole = parse_proxy_header(input);
  const ProxyHeader start =
      parse_proxy_header(std::string_view(input).substr(0, cut));
  if (start.status == Status::invalid) {
    EXPECT_EQ(name(Status::invalid), name(whole.status));
  } else if (start.status == Status::complete) {
    EXPECT_EQ(name(Status::complete), name(whole.status));
    EXPECT_EQ(start.length, whole.length);
    EXPECT_EQ(start.source.address, whole.source.address);
    EXPECT_EQ(start.source.port, whole.source.port);
  }
  if (whole.status == Status::complete && cut < whole.length) {
    EXPECT_EQ(name(Status::incomplete), name(start.status));
  }
}

void expect_sane(const std::string& input) {
  const ProxyHeader got = parse_proxy_header(input);
  switch (got.status) {
    case Status::incomplete:
      EXPECT_EQ(0u, got.length);
      EXPECT_EQ("", got.error);
      // Never waits beyond the longest possible header.
      EXPECT_LT(input.size(),
                input[0] == 'P' ? proxy_v1_max_length : proxy_v2_fixed + 65535);
      break;
    case Status::invalid:
      EXPECT_NE("", got.error);
      EXPECT_FALSE(got.has_address);
      break;
    case Status::complete:
      EXPECT_GT(got.length, 0u);
      EXPECT_LE(got.length, input.size());
      EXPECT_EQ("", got.error);
      if (got.has_address) {
        EXPECT_FALSE(got.source.address.empty());
      }
      break;
    default:
      ADD_FAILURE() << "status " << static_cast<int>(got.status);
  }
}

TEST(ProxyHeader, RandomBytes) {
  std::mt19937 random(20240611);
  const auto below = [&random](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
  };
  const auto random_byte = [&random]() {
    return static_cast<char>(
        std::uniform_int_distribution<int>(0, 255)(random));
  };
  // What a random input starts with: nothing, or the start of a header, so
  // that most inputs get past the first byte.
  const std::vector<Valid> valid = valid_headers();
  std::vector<std::string> seeds = {"",
                                    "PROXY ",
                                    "PROXY TCP4 ",
                                    "PROXY TCP6 ",
                                    "PROXY UNKNOWN",
                                    signature,
                                    signature + bytes({0x21, 0x11}),
                                    signature + bytes({0x21, 0x21, 0, 36})};
  for (const Valid& c : valid)
    if (c.header.size() < 300) seeds.push_back(c.header);

  for (int round = 0; round < 5000; ++round) {
    std::string input = seeds[below(seeds.size())];
    // Change a few bytes of the seed, then add random ones; sometimes only
    // from a small alphabet that v1 lines are made of.
    for (std::size_t flips = below(4); flips > 0 && !input.empty(); --flips)
      input[below(input.size())] = random_byte();
    static constexpr char alphabet[] =
        "0123456789abcdefABCDEF.: \r\nPROXYTCP46";
    const bool text = below(2) == 0;
    for (std::size_t more = below(120); more > 0; --more)
      input += text ? alphabet[below(sizeof alphabet - 1)] : random_byte();
    if (input.empty()) continue;
    SCOPED_TRACE(testing::PrintToString(input));
    expect_sane(input);
    expect_consistent(input, below(input.size() + 1));
    if (HasFailure()) break;  // one input is enough to see what went wrong
  }
}

}  // namespace
}  // namespace smtpd
