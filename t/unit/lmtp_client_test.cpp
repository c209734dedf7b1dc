// lmtp_client_test.cpp - the LMTP client (lmtp_client.hpp), from
// transcripts.
//
// Each transcript is a job, the bytes the server sends (and whether it
// then closes), the exact bytes the client must send, what becomes of
// each recipient and the status.  Every transcript is replayed with the
// server's bytes fed whole, one byte at a time, and split in two at every
// byte boundary: the outcome must not depend on the chunking.
#include "smtpd/lmtp_client.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "chunkings.hpp"

namespace smtpd {
namespace {

using Status = LmtpClient::Status;

std::string visible(std::string_view bytes) {
  std::string out = "\"";
  for (const char c : bytes) {
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out + "\"";
}

struct Transcript {
  const char* name;
  LmtpJob job;
  std::string server;  // what the server sends
  bool closes;         // and then it closes the connection
  std::string client;  // what the client must send
  std::vector<std::string>
      results;  // "recipient: 250 text" or "recipient: !error"
  Status status;
  bool done;
};

void PrintTo(const Transcript& t, std::ostream* out) { *out << t.name; }

LmtpJob job(std::vector<std::string> recipients,
            std::string message = "Subject: hi\n\nbody\n") {
  LmtpJob j;
  j.lhlo_name = "relay.example";
  j.sender = "sender@example.org";
  j.recipients = std::move(recipients);
  j.message = std::move(message);
  return j;
}

LmtpJob check(std::string recipient) {
  LmtpJob j = job({std::move(recipient)}, "");
  j.check_only = true;
  return j;
}

const std::string greeting =
    "220 lists.example GNU Mailman LMTP runner 2.0\r\n";
const std::string lhlo_ok =
    "250-lists.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE "
    "33554432\r\n";
const std::string client_start =
    "LHLO relay.example\r\nMAIL FROM:<sender@example.org>\r\n";
const std::string body = "Subject: hi\r\n\r\nbody\r\n.\r\n";

std::vector<Transcript> transcripts() {
  return {
      {"one recipient delivered",
       job({"ant@lists.example"}),
       greeting + lhlo_ok + "250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 End data\r\n" +
           "250 2.0.0 Ok\r\n221 Bye\r\n",
       true,
       client_start + "RCPT TO:<ant@lists.example>\r\nDATA\r\n" + body +
           "QUIT\r\n",
       {"ant@lists.example: 250 2.0.0 Ok"},
       Status::delivered,
       true},
      {"a reply per accepted recipient after the dot",
       job({"ant@lists.example", "bee@lists.example", "cow@lists.example"}),
       greeting + lhlo_ok + "250 OK\r\n250 OK\r\n" +
           "550 Requested action not taken: mailbox unavailable\r\n" +
           "250 OK\r\n354 go\r\n250 2.0.0 delivered\r\n" +
           "452-4.2.2 mailbox\r\n452 4.2.2 full\r\n221 Bye\r\n",
       false,
       client_start +
           "RCPT TO:<ant@lists.example>\r\nRCPT TO:<bee@lists.example>\r\n" +
           "RCPT TO:<cow@lists.example>\r\nDATA\r\n" + body + "QUIT\r\n",
       {"ant@lists.example: 250 2.0.0 delivered",
        "bee@lists.example: 550 Requested action not taken: mailbox "
        "unavailable",
        "cow@lists.example: 452 4.2.2 mailbox / 4.2.2 full"},
       Status::temporary,
       true},
      {"every recipient refused: no DATA",
       job({"ant@lists.example", "bee@lists.example"}),
       greeting + lhlo_ok + "250 OK\r\n550 no\r\n550 no\r\n221 Bye\r\n",
       true,
       client_start + "RCPT TO:<ant@lists.example>\r\nRCPT "
                      "TO:<bee@lists.example>\r\nQUIT\r\n",
       {"ant@lists.example: 550 no", "bee@lists.example: 550 no"},
       Status::permanent,
       true},
      {"5xx after the dot is permanent",
       job({"ant@lists.example"}),
       greeting + lhlo_ok +
           "250 OK\r\n250 OK\r\n354 go\r\n501 Message has defects\r\n",
       true,
       client_start + "RCPT TO:<ant@lists.example>\r\nDATA\r\n" + body +
           "QUIT\r\n",
       {"ant@lists.example: 501 Message has defects"},
       Status::permanent,
       true},
      {"dot-stuffing and line ends",
       job({"a@l.example"}, ".x\n..y\r\nbare\rcr\n.\nend"),
       greeting + lhlo_ok +
           "250 OK\r\n250 OK\r\n354 go\r\n250 ok\r\n221 Bye\r\n",
       true,
       client_start + "RCPT TO:<a@l.example>\r\nDATA\r\n" +
           "..x\r\n...y\r\nbare\r\ncr\r\n..\r\nend\r\n.\r\n" + "QUIT\r\n",
       {"a@l.example: 250 ok"},
       Status::delivered,
       true},
      {"an empty message",
       job({"a@l.example"}, ""),
       greeting + lhlo_ok +
           "250 OK\r\n250 OK\r\n354 go\r\n250 ok\r\n221 Bye\r\n",
       true,
       client_start + "RCPT TO:<a@l.example>\r\nDATA\r\n.\r\nQUIT\r\n",
       {"a@l.example: 250 ok"},
       Status::delivered,
       true},
      {"null sender",
       [] {
         LmtpJob j = job({"a-bounces@l.example"});
         j.sender = "";
         return j;
       }(),
       greeting + lhlo_ok +
           "250 OK\r\n250 OK\r\n354 go\r\n250 ok\r\n221 Bye\r\n",
       true,
       "LHLO relay.example\r\nMAIL FROM:<>\r\nRCPT "
       "TO:<a-bounces@l.example>\r\nDATA\r\n" +
           body + "QUIT\r\n",
       {"a-bounces@l.example: 250 ok"},
       Status::delivered,
       true},
      {"check: accepted",
       check("ant@lists.example"),
       greeting + lhlo_ok + "250 OK\r\n250 2.1.5 OK\r\n250 OK\r\n221 Bye\r\n",
       true,
       client_start + "RCPT TO:<ant@lists.example>\r\nRSET\r\nQUIT\r\n",
       {"ant@lists.example: 250 2.1.5 OK"},
       Status::delivered,
       true},
      {"check: refused",
       check("nope@lists.example"),
       greeting + lhlo_ok +
           "250 OK\r\n550 Requested action not taken: mailbox unavailable\r\n" +
           "250 OK\r\n221 Bye\r\n",
       true,
       client_start + "RCPT TO:<nope@lists.example>\r\nRSET\r\nQUIT\r\n",
       {"nope@lists.example: 550 Requested action not taken: mailbox "
        "unavailable"},
       Status::permanent,
       true},
      {"check: the server closes after RCPT",
       check("ant@lists.example"),
       greeting + lhlo_ok + "250 OK\r\n250 OK\r\n",
       true,
       client_start + "RCPT TO:<ant@lists.example>\r\nRSET\r\n",
       {"ant@lists.example: 250 OK"},
       Status::delivered,
       true},
      {"bad greeting",
       job({"a@l.example"}),
       "554 go away\r\n221 Bye\r\n",
       true,
       "QUIT\r\n",
       {"a@l.example: 554 go away"},
       Status::permanent,
       true},
      {"421 greeting: no QUIT",
       job({"a@l.example"}),
       "421 busy\r\n",
       true,
       "",
       {"a@l.example: 421 busy"},
       Status::temporary,
       true},
      {"LHLO refused",
       job({"a@l.example"}),
       greeting + "500 what\r\n221 Bye\r\n",
       true,
       "LHLO relay.example\r\nQUIT\r\n",
       {"a@l.example: 500 what"},
       Status::permanent,
       true},
      {"MAIL refused",
       job({"a@l.example", "b@l.example"}),
       greeting + lhlo_ok + "451 later\r\n221 Bye\r\n",
       true,
       client_start + "QUIT\r\n",
       {"a@l.example: 451 later", "b@l.example: 451 later"},
       Status::temporary,
       true},
      {"DATA refused",
       job({"a@l.example", "b@l.example"}),
       greeting + lhlo_ok +
           "250 OK\r\n250 OK\r\n550 no\r\n554 no data\r\n221 Bye\r\n",
       true,
       client_start +
           "RCPT TO:<a@l.example>\r\nRCPT TO:<b@l.example>\r\nDATA\r\nQUIT\r\n",
       {"a@l.example: 554 no data", "b@l.example: 550 no"},
       Status::permanent,
       true},
      {"421 after the dot settles the rest",
       job({"a@l.example", "b@l.example"}),
       greeting + lhlo_ok +
           "250 OK\r\n250 OK\r\n250 OK\r\n354 go\r\n421 shutting down\r\n",
       true,
       client_start +
           "RCPT TO:<a@l.example>\r\nRCPT TO:<b@l.example>\r\nDATA\r\n" + body,
       {"a@l.example: 421 shutting down", "b@l.example: 421 shutting down"},
       Status::temporary,
       true},
      {"closed before the replies after the dot",
       job({"a@l.example", "b@l.example"}),
       greeting + lhlo_ok +
           "250 OK\r\n250 OK\r\n250 OK\r\n354 go\r\n250 ok\r\n",
       true,
       client_start +
           "RCPT TO:<a@l.example>\r\nRCPT TO:<b@l.example>\r\nDATA\r\n" + body,
       {"a@l.example: 250 ok", "b@l.example: !connection closed by the server"},
       Status::temporary,
       true},
      {"still waiting: not done",
       job({"a@l.example"}),
       greeting + lhlo_ok + "250 OK\r\n",
       false,
       client_start + "RCPT TO:<a@l.example>\r\n",
       {"a@l.example: !"},
       Status::temporary,
       false},
      {"a bare LF ends a reply line too",
       job({"a@l.example"}),
       "220 hi\n250 hi\n250 OK\n250 OK\n354 go\n250 ok\n221 Bye\n",
       true,
       client_start + "RCPT TO:<a@l.example>\r\nDATA\r\n" + body + "QUIT\r\n",
       {"a@l.example: 250 ok"},
       Status::delivered,
       true},
      {"a bare code is a reply",
       job({"a@l.example"}),
       "220\r\n250\r\n250\r\n250\r\n354\r\n250\r\n221\r\n",
       true,
       client_start + "RCPT TO:<a@l.example>\r\nDATA\r\n" + body + "QUIT\r\n",
       {"a@l.example: 250"},
       Status::delivered,
       true},
      {"nonsense is a protocol error",
       job({"a@l.example"}),
       greeting + "hello there\r\n",
       false,
       "LHLO relay.example\r\n",
       {"a@l.example: !protocol error: not a reply line"},
       Status::temporary,
       true},
      {"1xx is not a reply",
       job({"a@l.example"}),
       "199 hm\r\n",
       false,
       "",
       {"a@l.example: !protocol error: not a reply line"},
       Status::temporary,
       true},
      {"lines of one reply with two codes",
       job({"a@l.example"}),
       "220-hi\r\n250 there\r\n",
       false,
       "",
       {"a@l.example: !protocol error: reply lines with different codes"},
       Status::temporary,
       true},
      {"no separator after the code",
       job({"a@l.example"}),
       "220x\r\n",
       false,
       "",
       {"a@l.example: !protocol error: not a reply line"},
       Status::temporary,
       true},
      {"an over-long line",
       job({"a@l.example"}),
       "220 " + std::string(5000, 'x') + "\r\n",
       false,
       "",
       {"a@l.example: !protocol error: reply line longer than 4096 bytes"},
       Status::temporary,
       true},
      {"too many lines",
       job({"a@l.example"}),
       [] {
         std::string s;
         for (int i = 0; i < 101; ++i) s += "220-x\r\n";
         return s;
       }(),
       false,
       "",
       {"a@l.example: !protocol error: reply of more than 100 lines"},
       Status::temporary,
       true},
      {"bytes after the end are ignored",
       job({"a@l.example"}),
       greeting + lhlo_ok +
           "250 OK\r\n250 OK\r\n354 go\r\n250 ok\r\n221 Bye\r\n" +
           "garbage\r\n",
       true,
       client_start + "RCPT TO:<a@l.example>\r\nDATA\r\n" + body + "QUIT\r\n",
       {"a@l.example: 250 ok"},
       Status::delivered,
       true},
      {"a recipient with CRLF is never sent",
       job({"a@l.example\r\nRSET", "b@l.example"}),
       greeting + lhlo_ok +
           "250 OK\r\n250 OK\r\n354 go\r\n250 ok\r\n221 Bye\r\n",
       true,
       client_start + "RCPT TO:<b@l.example>\r\nDATA\r\n" + body + "QUIT\r\n",
       {"a@l.example\r\nRSET: 553 5.1.3 recipient has control characters or "
        "<>, not sent",
        "b@l.example: 250 ok"},
       Status::permanent,
       true},
      {"a sender with '>' sends nothing",
       [] {
         LmtpJob j = job({"a@l.example"});
         j.sender = "x> SIZE=1";
         return j;
       }(),
       greeting,
       false,
       "",
       {"a@l.example: 553 5.1.7 sender has control characters or <>, not sent"},
       Status::permanent,
       true},
      {"unreachable or closed at once",
       job({"a@l.example"}),
       "",
       true,
       "",
       {"a@l.example: !connection closed by the server"},
       Status::temporary,
       true},
  };
}

struct Outcome {
  std::string client;
  std::vector<std::string> results;
  Status status;
  bool done;
};

Outcome replay(const Transcript& t,
               const std::vector<std::string_view>& chunks) {
  LmtpClient client(t.job);
  Outcome o;
  o.client = client.take_output();
  for (const std::string_view chunk : chunks) {
    client.feed(chunk);
    o.client += client.take_output();
  }
  if (t.closes) client.end_of_input();
  o.client += client.take_output();
  for (const LmtpResult& r : client.results())
    o.results.push_back(r.recipient + ": " +
                        (r.reply.code ? r.reply.summary() : "!" + r.error));
  o.status = client.status();
  o.done = client.done();
  return o;
}

std::string compare(const Transcript& t, const Outcome& o) {
  std::string problems;
  if (o.client != t.client)
    problems += "client sent:\n  expected " + visible(t.client) +
                "\n  actual   " + visible(o.client) + "\n";
  if (o.results != t.results) {
    problems += "results:\n";
    for (const std::string& r : t.results)
      problems += "  expected " + visible(r) + "\n";
    for (const std::string& r : o.results)
      problems += "  actual   " + visible(r) + "\n";
  }
  if (o.status != t.status)
    problems += "status: expected " + std::to_string(int(t.status)) +
                ", actual " + std::to_string(int(o.status)) + "\n";
  if (o.done != t.done)
    problems +=
        std::string("done: expected ") + (t.done ? "true\n" : "false\n");
  return problems;
}

class LmtpTranscript : public testing::TestWithParam<Transcript> {};

TEST_P(LmtpTranscript, FedWhole) {
  const Transcript& t = GetParam();
  EXPECT_EQ("", compare(t, replay(t, {t.server})));
}

TEST_P(LmtpTranscript, FedOneByteAtATime) {
  const Transcript& t = GetParam();
  EXPECT_EQ("", compare(t, replay(t, chunkings::one_byte_each(t.server))));
}

TEST_P(LmtpTranscript, SplitInTwoAtEveryByte) {
  const Transcript& t = GetParam();
  chunkings::expect_right_split_anywhere(
      t.server, [&](const std::vector<std::string_view>& chunks) {
        return compare(t, replay(t, chunks));
      });
}

INSTANTIATE_TEST_SUITE_P(Transcripts, LmtpTranscript,
                         testing::ValuesIn(transcripts()),
                         [](const testing::TestParamInfo<Transcript>& info) {
                           std::string name;
                           for (const char* p = info.param.name; *p; ++p)
                             name +=
                                 std::isalnum(static_cast<unsigned char>(*p))
                                     ? *p
                                     : '_';
                           return name;
                         });

// The data as sent: dot-stuffing and line ends, from a table.
TEST(LmtpData, Table) {
  const struct {
    std::string_view message, sent;
  } cases[] = {
      {"", ".\r\n"},
      {"a", "a\r\n.\r\n"},
      {"a\n", "a\r\n.\r\n"},
      {"a\r\n", "a\r\n.\r\n"},
      {".", "..\r\n.\r\n"},
      {".\r\n.\r\n", "..\r\n..\r\n.\r\n"},
      {"a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"},
      {"a\n\n.b", "a\r\n\r\n..b\r\n.\r\n"},
      {"x.y\n", "x.y\r\n.\r\n"},
      {"\r", "\r\n.\r\n"},
      {"a\r\r\nb", "a\r\n\r\nb\r\n.\r\n"},
      {"\n.\r\n", "\r\n..\r\n.\r\n"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(visible(c.sent), visible(lmtp_data(c.message)))
        << visible(c.message);
}

}  // namespace
}  // namespace smtpd
