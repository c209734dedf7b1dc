// debugging_test.cpp - DebuggingServer's printout (debugging.hpp).
//
// Every expected printout is what smtpd.py 3.11's DebuggingServer prints
// for the same message (process_message called with the same peer, data
// and options; with decode_data the data is a str and no options are
// passed, as SMTPChannel does).
#include "smtpd/debugging.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace smtpd {
namespace {

using namespace std::string_literals;

struct Printout {
  std::string name;
  std::string data;
  std::string expected;
  bool decode_data = false;
  std::string peer = "192.0.2.1";
  std::vector<std::string> mail_options = {}, rcpt_options = {};
};

// The reference's banner and closing line around what it prints between.
std::string printout(const std::string& between) {
  return "---------- MESSAGE FOLLOWS ----------\n" + between +
         "------------ END MESSAGE ------------\n";
}

void PrintTo(const Printout& p, std::ostream* out) { *out << p.name; }

Envelope envelope_of(const Printout& p) {
  Envelope envelope;
  envelope.peer = Peer{p.peer, 4242};
  envelope.helo = "client.example";
  envelope.mail_from = "a@b.example";
  envelope.rcpt_tos = {"c@d.example"};
  envelope.data = p.data;
  envelope.mail_options = p.mail_options;
  envelope.rcpt_options = p.rcpt_options;
  return envelope;
}

// A message with data from the client 192.0.2.1.
Envelope message(const std::string& data) {
  Envelope envelope;
  envelope.peer = Peer{"192.0.2.1", 4242};
  envelope.data = data;
  return envelope;
}

const std::vector<Printout> printout_cases = {
    {"HeadersThenBody",
     "Subject: hi\n"
     "From: a@b.example\n"
     "\n"
     "body line\n"
     "last",
     printout("b'Subject: hi'\n"
              "b'From: a@b.example'\n"
              "b'X-Peer: 192.0.2.1'\n"
              "b''\n"
              "b'body line'\n"
              "b'last'\n")},
    {"MailAndRcptOptions",
     "Subject: hi\n"
     "\n"
     "body",
     printout("mail options: ['BODY=8BITMIME', 'SIZE=100']\n"
              "rcpt options: ['NOTIFY=NEVER']\n"
              "\n"
              "b'Subject: hi'\n"
              "b'X-Peer: 192.0.2.1'\n"
              "b''\n"
              "b'body'\n"),
     false,
     "192.0.2.1",
     {"BODY=8BITMIME", "SIZE=100"},
     {"NOTIFY=NEVER"}},
    {"RcptOptionsOnly",
     "x",
     printout("rcpt options: [\"A'B\"]\n"
              "\n"
              "b'x'\n"),
     false,
     "192.0.2.1",
     {},
     {"A'B"}},
    {"NoEndOfHeaders",
     "Subject: hi\n"
     "no blank line",
     printout("b'Subject: hi'\n"
              "b'no blank line'\n")},
    {"EmptyMessage", "", printout("")},
    {"EmptyFirstLine",
     "\n"
     "body",
     printout("b'X-Peer: 192.0.2.1'\n"
              "b''\n"
              "b'body'\n")},
    {"OnlyTheFirstBlankLine",
     "H: v\n"
     "\n"
     "\n"
     "after",
     printout("b'H: v'\n"
              "b'X-Peer: 192.0.2.1'\n"
              "b''\n"
              "b''\n"
              "b'after'\n")},
    {"TrailingLineEnd",
     "H: v\n"
     "\n"
     "body\n"
     "",
     printout("b'H: v'\n"
              "b'X-Peer: 192.0.2.1'\n"
              "b''\n"
              "b'body'\n")},
    {"BlankLastLine",
     "H: v\n"
     "\n"
     "",
     printout("b'H: v'\n"
              "b'X-Peer: 192.0.2.1'\n"
              "b''\n")},
    {"BytesLineBreaks",
     "H: v\rI: w\r\n"
     "\x0bJ\x0cK\x1cL\r\rbody",
     printout("b'H: v'\n"
              "b'I: w'\n"
              "b'\\x0bJ\\x0cK\\x1cL'\n"
              "b'X-Peer: 192.0.2.1'\n"
              "b''\n"
              "b'body'\n")},
    {"BytesRepr",
     "S: caf\xc3\xa9\n"
     "\n"
     "it's \"q\"\t\\ \x00\x7f\xff"s,
     printout("b'S: caf\\xc3\\xa9'\n"
              "b'X-Peer: 192.0.2.1'\n"
              "b''\n"
              "b'it\\'s \"q\"\\t\\\\ \\x00\\x7f\\xff'\n")},
    {"Ipv6Peer",
     "Subject: x\n"
     "\n"
     "b",
     printout("b'Subject: x'\n"
              "b'X-Peer: 2001:db8::1'\n"
              "b''\n"
              "b'b'\n"),
     false, "2001:db8::1"},
    {"DecodedText",
     "Subject: caf\xc3\xa9\n"
     "\n"
     "body \"q\" it's",
     printout("Subject: caf\xc3\xa9\n"
              "X-Peer: 192.0.2.1\n"
              "\n"
              "body \"q\" it's\n"),
     true},
    {"DecodedLineBreaks",
     "H: v\x0bI: w\x0cJ\x1cK\x1dL\x1eM\xc2\x85N\xe2\x80\xa8O\xe2\x80\xa9P\r\n"
     "Q\rR\n"
     "\n"
     "body",
     printout("H: v\n"
              "I: w\n"
              "J\n"
              "K\n"
              "L\n"
              "M\n"
              "N\n"
              "O\n"
              "P\n"
              "Q\n"
              "R\n"
              "X-Peer: 192.0.2.1\n"
              "\n"
              "body\n"),
     true},
    {"DecodedNoEndOfHeaders",
     "a\n"
     "b",
     printout("a\n"
              "b\n"),
     true},
    {"DecodedEmptyFirstLine",
     "\n"
     "body",
     printout("X-Peer: 192.0.2.1\n"
              "\n"
              "body\n"),
     true},
};

class DebuggingPrintout : public testing::TestWithParam<Printout> {};

TEST_P(DebuggingPrintout, AsTheReferencePrintsIt) {
  const Printout& p = GetParam();
  EXPECT_EQ(p.expected,
            format_debugging_message(envelope_of(p), {p.decode_data}));
}

INSTANTIATE_TEST_SUITE_P(Reference, DebuggingPrintout,
                         testing::ValuesIn(printout_cases),
                         [](const testing::TestParamInfo<Printout>& info) {
                           return info.param.name;
                         });

// With decode_data the reference passes the hook no options, so none are
// printed even if the envelope has some.
TEST(DebuggingFormat, DecodeDataPrintsNoOptions) {
  Envelope envelope = message("Subject: x\n\nbody");
  envelope.mail_options = {"SIZE=10"};
  envelope.rcpt_options = {"X"};
  EXPECT_EQ(printout("Subject: x\n"
                     "X-Peer: 192.0.2.1\n"
                     "\n"
                     "body\n"),
            format_debugging_message(envelope, {true}));
}

// Collects each printout whole, checking that its pieces come between
// begin() and end().
struct Printouts : DebuggingServer::Output {
  void begin() override {
    EXPECT_FALSE(open);
    open = true;
    written.emplace_back();
  }
  void write(std::string_view piece) override {
    EXPECT_TRUE(open);
    EXPECT_FALSE(piece.empty());
    written.back() += piece;
  }
  void end() override {
    EXPECT_TRUE(open);
    open = false;
  }
  bool open = false;
  std::vector<std::string> written;
};

TEST(DebuggingServer, WritesEachPrintoutOnceAndAnswersOk) {
  Printouts printouts;
  std::vector<std::string>& written = printouts.written;
  DebuggingServer server(printouts);
  const Envelope first = message("Subject: one\n\n1");
  Envelope second = first;
  second.data = "Subject: two\n\n2";
  second.mail_options = {"BODY=8BITMIME"};

  EXPECT_EQ(Reply{}, server.process_message(first));
  ASSERT_EQ(1u, written.size());
  EXPECT_EQ(printout("b'Subject: one'\n"
                     "b'X-Peer: 192.0.2.1'\n"
                     "b''\n"
                     "b'1'\n"),
            written[0]);
  EXPECT_EQ(Reply{}, server.process_message(second));
  ASSERT_EQ(2u, written.size());
  EXPECT_EQ(printout("mail options: ['BODY=8BITMIME']\n"
                     "b'Subject: two'\n"
                     "b'X-Peer: 192.0.2.1'\n"
                     "b''\n"
                     "b'2'\n"),
            written[1]);
}

// An output that could not write the printout (a full disk, a closed
// reader): the message is not delivered, so never 250.
struct FailingOutput : Printouts {
  bool written_whole = false;
  bool written() const override { return written_whole; }
};

TEST(DebuggingServer, AnUnwrittenPrintoutIs451) {
  FailingOutput output;
  DebuggingServer server(output);
  const Envelope envelope = message("Subject: lost\n\nbody");
  EXPECT_EQ(Reply{"451 Error: the message could not be printed"},
            server.process_message(envelope));
  output.written_whole = true;
  EXPECT_EQ(Reply{}, server.process_message(envelope));
}

TEST(DebuggingServer, PrintsDecodedTextWithDecodeData) {
  Printouts printouts;
  DebuggingSettings decoded;
  decoded.decode_data = true;
  DebuggingServer server(printouts, decoded);
  EXPECT_EQ(Reply{},
            server.process_message(message("Subject: caf\xc3\xa9\n\nbody")));
  EXPECT_EQ(printout("Subject: caf\xc3\xa9\n"
                     "X-Peer: 192.0.2.1\n"
                     "\n"
                     "body\n"),
            printouts.written.at(0));
}

// A large message goes out in pieces of at most 64 KiB (nothing holds a
// second copy of it), and they add up to the printout, fast path and slow
// path lines alike.
TEST(DebuggingServer, StreamsALargeMessageInPieces) {
  Envelope envelope;
  envelope.peer = Peer{"192.0.2.1", 4242};
  std::string expected =
      "---------- MESSAGE FOLLOWS ----------\n"
      "b'Subject: big'\n"
      "b'X-Peer: 192.0.2.1'\n"
      "b''\n";
  envelope.data = "Subject: big\n\n";
  for (int i = 0; i < 20000; ++i) {
    const std::string line = i % 7 == 0 ? "it's line " + std::to_string(i)
                                        : "line " + std::to_string(i);
    envelope.data += line + (i % 3 == 0 ? "\r\n" : "\n");
    // Python's repr() of the line, written out here rather than made by
    // the repr under test: double quotes around a line with a single
    // quote in it, and the CR of a CRLF gone (bytes.splitlines()).
    expected += i % 7 == 0 ? "b\"" + line + "\"\n" : "b'" + line + "'\n";
  }
  expected += "------------ END MESSAGE ------------\n";

  std::size_t pieces = 0, largest = 0;
  struct Counting : Printouts {
    std::size_t* pieces;
    std::size_t* largest;
    void write(std::string_view piece) override {
      ++*pieces;
      *largest = std::max(*largest, piece.size());
      Printouts::write(piece);
    }
  } counting;
  counting.pieces = &pieces;
  counting.largest = &largest;
  DebuggingServer server(counting);
  EXPECT_EQ(Reply{}, server.process_message(envelope));
  ASSERT_EQ(1u, counting.written.size());
  EXPECT_EQ(expected, counting.written[0]);
  EXPECT_GT(pieces, 3u);
  EXPECT_LE(largest, 64u * 1024);
  EXPECT_EQ(expected, format_debugging_message(envelope, {false}));
}

// --show-envelope: ours, so not compared with the reference; without it
// the printout is the reference's (the tests above).
TEST(DebuggingServer, ShowEnvelopeAddsMailFromAndEachRcptToAfterTheBanner) {
  Envelope envelope;
  envelope.peer = Peer{"192.0.2.1", 4242};
  envelope.mail_from = "<>";
  envelope.rcpt_tos = {"c@d.example", "bcc@d.example", "e\x01\r@x"};
  envelope.mail_options = {"BODY=8BITMIME"};
  envelope.data = "Subject: hi\n\nbody";
  EXPECT_EQ(format_debugging_message(envelope, {false, true}),
            "---------- MESSAGE FOLLOWS ----------\n"
            "MAIL FROM: <>\n"
            "RCPT TO: <c@d.example>\n"
            "RCPT TO: <bcc@d.example>\n"
            "RCPT TO: <e\\x01\\x0d@x>\n"
            "mail options: ['BODY=8BITMIME']\n"
            "b'Subject: hi'\n"
            "b'X-Peer: 192.0.2.1'\n"
            "b''\n"
            "b'body'\n"
            "------------ END MESSAGE ------------\n");
  envelope.mail_from = "a@b.example";
  envelope.rcpt_tos.resize(1);
  EXPECT_EQ(format_debugging_message(envelope, {true, true}),
            "---------- MESSAGE FOLLOWS ----------\n"
            "MAIL FROM: <a@b.example>\n"
            "RCPT TO: <c@d.example>\n"
            "Subject: hi\n"
            "X-Peer: 192.0.2.1\n"
            "\n"
            "body\n"
            "------------ END MESSAGE ------------\n");
}

}  // namespace
}  // namespace smtpd
