// relay_test.cpp - PureProxy's pure parts: the message as relayed
// (relay_message.hpp, and write_relay_message's pieces) and an upstream
// reply as passed on to the client (passed_on).
//
// The expected messages were computed with Python 3.11 from the reference
// algorithm, smtpd.py's PureProxy.process_message on bytes followed by
// smtplib's line-end normalisation:
//
//   lines = data.split(b'\n')
//   i = 0
//   for line in lines:
//       if not line: break
//       i += 1
//   lines.insert(i, b'X-Peer: ' + peer.encode())
//   data = b'\n'.join(lines)
//   relayed = re.sub(rb'(?:\r\n|\n|\r(?!\n))', b'\r\n', data)   # _fix_eols
//
// and the same algorithm, transcribed below, checks every short message
// over the alphabet {a, CR, LF}.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "every_string.hpp"
#include "relay_message.hpp"
#include "smtpd/relay_format.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

using namespace std::string_view_literals;

Envelope envelope_with(std::string_view data, std::string_view peer) {
  Envelope envelope;
  envelope.peer.address = std::string(peer);
  envelope.peer.port = 25;
  envelope.helo = "client.example";
  envelope.mail_from = "a@example.com";
  envelope.rcpt_tos = {"b@example.org"};
  envelope.data = std::string(data);
  return envelope;
}

struct RelayCase {
  std::string_view name;
  std::string_view data;
  std::string_view peer;
  std::string_view relayed;
};

void PrintTo(const RelayCase& c, std::ostream* os) {
  *os << c.name << ": " << text::repr_bytes(c.data);
}

// clang-format off
// Computed with Python 3.11.7 (see the top of this file).
constexpr RelayCase relay_cases[] = {
    {"empty data", ""sv, "127.0.0.1", "X-Peer: 127.0.0.1\r\n"sv},
    {"headers and body", "Subject: a\nTo: b@example.org\n\nbody\nmore"sv, "127.0.0.1", "Subject: a\r\nTo: b@example.org\r\nX-Peer: 127.0.0.1\r\n\r\nbody\r\nmore"sv},
    {"no empty line: at the end", "Subject: a\nTo: b"sv, "127.0.0.1", "Subject: a\r\nTo: b\r\nX-Peer: 127.0.0.1"sv},
    {"one header, no line end", "Subject: a"sv, "192.0.2.7", "Subject: a\r\nX-Peer: 192.0.2.7"sv},
    {"ends with LF", "Subject: a\n"sv, "127.0.0.1", "Subject: a\r\nX-Peer: 127.0.0.1\r\n"sv},
    {"ends with two LF", "Subject: a\n\n"sv, "127.0.0.1", "Subject: a\r\nX-Peer: 127.0.0.1\r\n\r\n"sv},
    {"only LF", "\n"sv, "127.0.0.1", "X-Peer: 127.0.0.1\r\n\r\n"sv},
    {"only LFs", "\n\n\n"sv, "127.0.0.1", "X-Peer: 127.0.0.1\r\n\r\n\r\n\r\n"sv},
    {"empty first line", "\nbody"sv, "127.0.0.1", "X-Peer: 127.0.0.1\r\n\r\nbody"sv},
    {"several empty lines", "A: 1\n\n\nbody\n\nend"sv, "127.0.0.1", "A: 1\r\nX-Peer: 127.0.0.1\r\n\r\n\r\nbody\r\n\r\nend"sv},
    {"CR-only line ends", "A: 1\rB: 2\r\rbody"sv, "127.0.0.1", "A: 1\r\nB: 2\r\n\r\nbody\r\nX-Peer: 127.0.0.1"sv},
    {"lone CR", "\r"sv, "127.0.0.1", "\r\nX-Peer: 127.0.0.1"sv},
    {"ends with CR", "A: 1\r"sv, "127.0.0.1", "A: 1\r\nX-Peer: 127.0.0.1"sv},
    {"CR before each LF: no empty line", "A: 1\r\n\r\nbody"sv, "127.0.0.1", "A: 1\r\n\r\nbody\r\nX-Peer: 127.0.0.1"sv},
    {"CR LF at the end", "A: 1\r\n"sv, "127.0.0.1", "A: 1\r\nX-Peer: 127.0.0.1\r\n"sv},
    {"mixed line ends", "a\r\nb\nc\rd\n\ne\rf"sv, "127.0.0.1", "a\r\nb\r\nc\r\nd\r\nX-Peer: 127.0.0.1\r\n\r\ne\r\nf"sv},
    {"CR CR LF", "A: 1\r\r\n\nbody"sv, "127.0.0.1", "A: 1\r\n\r\nX-Peer: 127.0.0.1\r\n\r\nbody"sv},
    {"dots are not stuffed", ".\n..\n.x\n\n.\n.."sv, "127.0.0.1", ".\r\n..\r\n.x\r\nX-Peer: 127.0.0.1\r\n\r\n.\r\n.."sv},
    {"8-bit and NUL bytes", "X: caf\xc3\xa9 \xff\x00\n\n\x80\x00" "body\xfe"sv, "127.0.0.1", "X: caf\xc3\xa9 \xff\x00\r\nX-Peer: 127.0.0.1\r\n\r\n\x80\x00" "body\xfe"sv},
    {"space-only line is not empty", "A: 1\n \nbody"sv, "127.0.0.1", "A: 1\r\n \r\nbody\r\nX-Peer: 127.0.0.1"sv},
    {"tab-only line is not empty", "A: 1\n\t\nbody"sv, "127.0.0.1", "A: 1\r\n\t\r\nbody\r\nX-Peer: 127.0.0.1"sv},
    {"IPv6 peer", "Subject: a\n\nbody"sv, "2001:db8::1", "Subject: a\r\nX-Peer: 2001:db8::1\r\n\r\nbody"sv},
    {"IPv6 peer, no empty line", "Subject: a"sv, "::1", "Subject: a\r\nX-Peer: ::1"sv},
    {"existing X-Peer is kept", "X-Peer: 10.0.0.1\n\nbody"sv, "192.0.2.7", "X-Peer: 10.0.0.1\r\nX-Peer: 192.0.2.7\r\n\r\nbody"sv},
    {"body looks like a header end", "A: 1\n\nB: 2\n\nC"sv, "127.0.0.1", "A: 1\r\nX-Peer: 127.0.0.1\r\n\r\nB: 2\r\n\r\nC"sv},
};
// clang-format on

class RelayMessage : public testing::TestWithParam<RelayCase> {};

TEST_P(RelayMessage, MatchesTheReferenceAlgorithm) {
  const RelayCase& c = GetParam();
  EXPECT_EQ(text::repr_bytes(relay_message(envelope_with(c.data, c.peer))),
            text::repr_bytes(c.relayed));
}

// The proxy sends the message in pieces, never a second copy of it whole:
// the pieces are the same bytes.
TEST_P(RelayMessage, ThePiecesAreTheWholeMessage) {
  const RelayCase& c = GetParam();
  std::string joined;
  std::size_t pieces = 0;
  write_relay_message(envelope_with(c.data, c.peer),
                      [&](std::string_view piece) {
                        EXPECT_FALSE(piece.empty());
                        joined.append(piece);
                        ++pieces;
                        return true;
                      });
  EXPECT_EQ(text::repr_bytes(joined), text::repr_bytes(c.relayed));
  EXPECT_GT(pieces, 0u);
}

// A writer that says the upstream is gone is given nothing more.
TEST(RelayMessage, NoPieceAfterTheWriterFailed) {
  std::size_t pieces = 0;
  write_relay_message(envelope_with("a\nb\nc\n\nbody\nmore\n", "192.0.2.1"),
                      [&](std::string_view) {
                        ++pieces;
                        return false;
                      });
  EXPECT_EQ(pieces, 1u);
}

INSTANTIATE_TEST_SUITE_P(Table, RelayMessage, testing::ValuesIn(relay_cases));

// The reference algorithm of the top of this file, transcribed.
std::string reference_relay(std::string_view data, std::string_view peer) {
  std::vector<std::string> lines;  // bytes.split(b'\n')
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = data.find('\n', start);
    lines.emplace_back(data.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  std::size_t i = 0;
  while (i < lines.size() && !lines[i].empty()) ++i;
  lines.insert(lines.begin() + std::ptrdiff_t(i),
               "X-Peer: " + std::string(peer));
  std::string joined;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    if (n > 0) joined += '\n';
    joined += lines[n];
  }
  std::string fixed;  // re.sub(rb'(?:\r\n|\n|\r(?!\n))', b'\r\n', joined)
  for (std::size_t n = 0; n < joined.size(); ++n) {
    if (joined.compare(n, 2, "\r\n") == 0) {
      fixed += "\r\n";
      ++n;
    } else if (joined[n] == '\n' || joined[n] == '\r') {
      fixed += "\r\n";
    } else {
      fixed += joined[n];
    }
  }
  return fixed;
}

TEST(RelayMessage, TheTranscriptionAgreesWithTheTable) {
  for (const RelayCase& c : relay_cases)
    EXPECT_EQ(text::repr_bytes(reference_relay(c.data, c.peer)),
              text::repr_bytes(c.relayed))
        << c.name;
}

TEST(RelayMessage, EveryShortMessageOverACrLfAlphabet) {
  std::size_t failed = 0;
  const std::size_t checked = every_string::each(
      every_string::crlf_alphabet, 9, [&](const std::string& data) {
        const std::string expected = reference_relay(data, "192.0.2.1");
        const std::string actual =
            relay_message(envelope_with(data, "192.0.2.1"));
        if (actual != expected && ++failed <= 5)
          ADD_FAILURE() << "data " << text::repr_bytes(data) << ": expected "
                        << text::repr_bytes(expected) << ", got "
                        << text::repr_bytes(actual);
      });
  EXPECT_EQ(checked, 29524u);
  EXPECT_EQ(failed, 0u);
}

TEST(RelayMessage, NoBareLineEndsAndNoEarlyEndOfData) {
  // Whatever the client's line ends, every CR and LF relayed is part of a
  // CRLF: a bare LF before "." cannot end the message upstream.
  const std::string relayed = relay_message(envelope_with(
      "Subject: x\n\nbefore\n.\r\nMAIL FROM:<e@example.com>\r.\rafter\r\n",
      "127.0.0.1"));
  for (std::size_t i = 0; i < relayed.size(); ++i) {
    if (relayed[i] == '\r') {
      ASSERT_LT(i + 1, relayed.size());
      EXPECT_EQ(relayed[i + 1], '\n') << "at " << i;
    } else if (relayed[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(relayed[i - 1], '\r') << "at " << i;
    }
  }
}

TEST(RelayMessage, ALongLineIsKeptWhole) {
  const std::string line(2000, 'L');
  EXPECT_EQ(relay_message(envelope_with("A: 1\n\n" + line, "127.0.0.1")),
            "A: 1\r\nX-Peer: 127.0.0.1\r\n\r\n" + line);
}

TEST(RelayMessage, OnlyThePeerAddressAndTheDataMatter) {
  Envelope a = envelope_with("A: 1\n\nb", "192.0.2.7");
  Envelope b = a;
  b.peer.port = 4321;
  b.helo = "other.example";
  b.mail_from = "<>";
  b.rcpt_tos = {"x@example.net", "y@example.net"};
  b.mail_options = {"BODY=8BITMIME", "SIZE=10"};
  b.smtputf8 = true;
  EXPECT_EQ(relay_message(a), relay_message(b));
}

// --- passed_on
// -----------------------------------------------------------------

bool printable_ascii(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 ||
        static_cast<unsigned char>(c) >= 0x7F)
      return false;
  return true;
}

UpstreamReply upstream_said(int code, std::string line) {
  UpstreamReply reply;
  reply.code = code;
  reply.line = std::move(line);
  return reply;
}

// The proxy's replies: the upstream's own code and text.
TEST(PassedOn, CodeAndTextAsTheUpstreamSentThem) {
  EXPECT_EQ(
      passed_on(upstream_said(250, "250 2.0.0 Ok: queued as 8CE79A781AC")),
      "250 2.0.0 Ok: queued as 8CE79A781AC");
  EXPECT_EQ(passed_on(upstream_said(550, "550 5.1.1 <bad@dest.test>: no")),
            "550 5.1.1 <bad@dest.test>: no");
  EXPECT_EQ(passed_on(upstream_said(554, "554 5.7.1 Spam")), "554 5.7.1 Spam");
}

TEST(PassedOn, AReplyWithoutTextIsItsCodeAlone) {
  EXPECT_EQ(passed_on(upstream_said(550, "")), "550");
  EXPECT_EQ(passed_on(upstream_said(550, "550")), "550");
  EXPECT_EQ(passed_on(upstream_said(450, "450 ")), "450");
}

TEST(PassedOn, A421Is451) {
  // 421 would tell our client that we close the connection; we do not.
  EXPECT_EQ(passed_on(upstream_said(421, "421 4.3.2 Shutting down")),
            "451 4.3.2 Shutting down");
  EXPECT_EQ(passed_on(upstream_said(421, "421")), "451");
}

TEST(PassedOn, NeverA421) {
  for (int code = 200; code < 600; ++code) {
    const std::string passed =
        passed_on(upstream_said(code, std::to_string(code) + " text"));
    EXPECT_EQ(passed, (code == 421 ? "451" : std::to_string(code)) + " text");
  }
}

TEST(PassedOn, ControlCharactersFromTheUpstreamAreStripped) {
  EXPECT_EQ(
      passed_on(upstream_said(550, "550 bad\r\n250 OK\x01\x7f\ttext\x1b[0m")),
      "550 bad250 OKtext[0m");
  const std::string eight_bit =
      passed_on(upstream_said(554, "554 caf\xc3\xa9 \xff!"));
  EXPECT_TRUE(printable_ascii(eight_bit)) << text::repr_bytes(eight_bit);
  EXPECT_EQ(eight_bit.substr(0, 7), "554 caf");
}

TEST(PassedOn, NothingButPrintableAsciiAndNotTooLong) {
  EXPECT_EQ(passed_on(upstream_said(554, std::string("554 a\tb\x01\xc3\xa9z"))),
            "554 abz");
  // RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
  const std::string passed =
      passed_on(upstream_said(550, "550 " + std::string(5000, 'x')));
  EXPECT_LE(passed.size(), 410u);
  EXPECT_EQ(passed.substr(0, 14), "550 xxxxxxxxxx");
  EXPECT_EQ(passed.find_first_not_of('x', 4), std::string::npos);
}

}  // namespace
}  // namespace smtpd
