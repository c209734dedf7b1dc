// starttls_test.cpp - STARTTLS (RFC 3207) and implicit TLS (RFC 8314):
// the channel's rules from a table of hostile transcripts, then the
// connection core with a real OpenSSL client in memory.
//
// The table plays the I/O layer's part by hand: when the channel is in
// starting_tls, the output so far is what the client saw in plaintext,
// and tls_started() is called; the second input is what the client sends
// inside TLS.  Every case is fed whole and one byte at a time.
#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "smtpd/channel.hpp"
#include "smtpd/connection.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/tls.hpp"
#include "tls_client.hpp"

namespace smtpd {
namespace {

using testing::Client;
using testing::client_context;
using testing::ClientContext;
using StartTls = ChannelConfig::StartTls;

std::string lines(std::initializer_list<std::string_view> replies) {
  std::string out;
  for (const std::string_view reply : replies) out.append(reply).append("\r\n");
  return out;
}

const std::string greeting = "220 mx.test in.smtpd ESMTP\r\n";
const std::string ehlo_plain =
    lines({"250-mx.test", "250-SIZE 33554432", "250-8BITMIME", "250-PIPELINING",
           "250 HELP"});
const std::string ehlo_offering =
    lines({"250-mx.test", "250-SIZE 33554432", "250-8BITMIME", "250-PIPELINING",
           "250-STARTTLS", "250 HELP"});
const std::string ready = lines({replies::starttls_ready});
const std::string ok = "250 OK\r\n";

struct Case {
  const char* name;
  StartTls starttls;
  bool require_tls;
  bool tls_on_connect;
  std::string before;          // the client's bytes before TLS
  std::string replies_before;  // what it is told in plaintext
  bool tls;                    // the channel asked for TLS (starting_tls)
  std::string inside;          // the client's bytes inside TLS
  std::string replies_inside;
};

const Case cases[] = {
    {"offered after EHLO", StartTls::offered, false, false, "EHLO a\r\n",
     ehlo_offering, false, "", ""},
    {"not configured: the reference's EHLO, STARTTLS unknown", StartTls::none,
     false, false, "EHLO a\r\nSTARTTLS\r\n",
     ehlo_plain + "500 Error: command \"STARTTLS\" not recognized\r\n", false,
     "", ""},
    {"no certificate: 454, not offered", StartTls::unavailable, false, false,
     "EHLO a\r\nSTARTTLS\r\n", ehlo_plain + lines({replies::tls_not_available}),
     false, "", ""},
    {"an argument: 501", StartTls::offered, false, false,
     "EHLO a\r\nSTARTTLS now\r\n",
     ehlo_offering + lines({replies::starttls_syntax}), false, "", ""},
    {"pipelined NOOP after STARTTLS: never answered", StartTls::offered, false,
     false, "EHLO a\r\nSTARTTLS\r\nNOOP\r\n", ehlo_offering + ready, true, "",
     ""},
    {"pipelined NOOP: the next command inside gets one reply",
     StartTls::offered, false, false, "STARTTLS\r\nNOOP\r\n", ready, true,
     "NOOP\r\n", ok},
    {"an injected transaction (CVE-2011-0411) is discarded", StartTls::offered,
     false, false,
     "EHLO a\r\nSTARTTLS\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\n"
     "evil\r\n.\r\n",
     ehlo_offering + ready, true, "MAIL FROM:<a@b>\r\n",
     lines({replies::need_helo})},
    {"a bare-LF line after STARTTLS is discarded too", StartTls::offered, false,
     false, "STARTTLS\nNOOP\n", ready, true, "QUIT\r\n", "221 Bye\r\n"},
    {"HELO and the transaction are forgotten (RFC 3207 4.2)", StartTls::offered,
     false, false, "EHLO a\r\nMAIL FROM:<a@b>\r\nSTARTTLS\r\n",
     ehlo_offering + ok + ready, true,
     "RCPT TO:<c@d>\r\nEHLO b\r\nRCPT TO:<c@d>\r\n",
     lines({replies::need_helo}) + ehlo_plain + lines({replies::need_mail})},
    {"a second STARTTLS: 503, STARTTLS no longer offered", StartTls::offered,
     false, false, "STARTTLS\r\n", ready, true, "EHLO a\r\nSTARTTLS\r\n",
     ehlo_plain + lines({replies::starttls_again})},
    {"STARTTLS in lower case", StartTls::offered, false, false, "starttls\r\n",
     ready, true, "", ""},
    {"STARTTLS inside a message is data", StartTls::offered, false, false,
     "HELO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSTARTTLS\r\n"
     ".\r\nNOOP\r\n",
     "250 mx.test\r\n" + ok + ok + "354 End data with <CR><LF>.<CR><LF>\r\n" +
         ok + ok,
     false, "", ""},
    {"require-tls: mail refused before TLS, served after", StartTls::offered,
     true, false,
     "EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nVRFY x\r\nHELP\r\n"
     "FOO\r\nNOOP\r\nRSET\r\nSTARTTLS\r\n",
     ehlo_offering +
         lines({replies::tls_required, replies::tls_required,
                replies::tls_required, replies::tls_required,
                replies::tls_required, replies::tls_required}) +
         ok + ok + ready,
     true, "EHLO a\r\nMAIL FROM:<a@b>\r\n", ehlo_plain + ok},
    {"require-tls lets a client leave", StartTls::offered, true, false,
     "QUIT\r\n", "221 Bye\r\n", false, "", ""},
    {"implicit TLS: no STARTTLS, 503 to one", StartTls::none, true, true,
     "EHLO a\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\n",
     ehlo_plain + lines({replies::starttls_again}) + ok, false, "", ""},
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class Transcript : public ::testing::TestWithParam<Case> {};

// Takes every message (the DebuggingServer's answer).
class Accepting : public Handler {};

// Feeds the case in chunks of `chunk` bytes (0: whole); returns the
// replies before and inside TLS, and whether TLS was asked for.
struct Outcome {
  std::string before, inside;
  bool tls = false;
  bool encrypted = false;
};

Outcome play(const Case& c, std::size_t chunk) {
  ChannelConfig config;
  config.hostname = "mx.test";
  config.starttls = c.starttls;
  config.require_tls = c.require_tls;
  config.tls_on_connect = c.tls_on_connect;
  Accepting handler;
  Channel channel(config, Peer{"192.0.2.1", 25}, &handler);
  channel.consume_output(channel.output().size());  // the greeting
  const auto feed = [&](const std::string& bytes) {
    const std::size_t step = chunk == 0 ? bytes.size() : chunk;
    for (std::size_t at = 0; at < bytes.size(); at += step)
      channel.feed(std::string_view(bytes).substr(at, step));
  };
  Outcome outcome;
  feed(c.before);
  outcome.before = std::string(channel.output());
  channel.consume_output(outcome.before.size());
  outcome.tls = channel.state() == Channel::State::starting_tls;
  if (outcome.tls) {
    channel.tls_started();
    feed(c.inside);
    outcome.inside = std::string(channel.output());
  }
  outcome.encrypted = channel.encrypted() && channel.session().tls;
  return outcome;
}

TEST_P(Transcript, WholeAndByteByByte) {
  const Case& c = GetParam();
  for (const std::size_t chunk : {std::size_t(0), std::size_t(1)}) {
    SCOPED_TRACE(chunk == 0 ? "whole" : "byte by byte");
    const Outcome outcome = play(c, chunk);
    EXPECT_EQ(outcome.before, c.replies_before);
    EXPECT_EQ(outcome.tls, c.tls);
    EXPECT_EQ(outcome.inside, c.replies_inside);
    EXPECT_EQ(outcome.encrypted, c.tls || c.tls_on_connect);
  }
}

INSTANTIATE_TEST_SUITE_P(Starttls, Transcript, ::testing::ValuesIn(cases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (const char* p = info.param.name; *p; ++p)
                             if (std::isalnum(static_cast<unsigned char>(*p)))
                               name += *p;
                           return name;
                         });

TEST(Starttls, DiscardedInputIsLoggedAndTheEndOfInputCloses) {
  ChannelConfig config;
  config.starttls = StartTls::offered;
  Channel channel(config, Peer{"192.0.2.1", 25});
  channel.feed("STARTTLS\r\nNOOP\r\n");
  const std::vector<std::string> problems = channel.take_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "discarded 6 bytes sent after STARTTLS, before TLS");
  channel.end_of_input();
  EXPECT_TRUE(channel.closed());
  EXPECT_EQ(channel.closing(), Channel::Closing::input_ended);
}

// A STARTTLS pipelined behind a message whose reply comes later: it is
// taken once the reply is out, and what followed it is discarded.
TEST(Starttls, BehindAMessageAwaitingItsReply) {
  ChannelConfig config;
  config.hostname = "mx.test";
  config.starttls = StartTls::offered;
  Channel channel(config, Peer{"192.0.2.1", 25});
  channel.consume_output(channel.output().size());
  channel.feed(
      "HELO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\n"
      "STARTTLS\r\nNOOP\r\n");
  ASSERT_NE(channel.pending_message(), nullptr);
  channel.reply(Reply{});
  EXPECT_EQ(channel.output(), "250 mx.test\r\n" + ok + ok +
                                  "354 End data with <CR><LF>.<CR><LF>\r\n" +
                                  ok + ready);
  EXPECT_EQ(channel.state(), Channel::State::starting_tls);
}

// --- the connection core, with OpenSSL on both ends --------------------------

std::shared_ptr<const TlsContext> context() {
  static const auto made = TlsContext::self_signed("mx.test");
  return made;
}

// A connection with TLS, driven by hand: client bytes in, server bytes out.
struct Rig {
  std::vector<std::string> log;
  DriverOptions options;
  Accepting handler;
  std::unique_ptr<Connection> connection;
  ClientContext client_tls{client_context()};
  Client client{client_tls.get()};
  Connection::Clock::time_point now = Connection::Clock::now();

  explicit Rig(bool on_connect, bool proxy = false) {
    options.tls = tls_sessions(context());
    options.tls_on_connect = on_connect;
    options.log = [this](std::string_view line) { log.emplace_back(line); };
    ChannelConfig config;
    config.hostname = "mx.test";
    connection = std::make_unique<Connection>(
        options, config, handler, Peer{"192.0.2.1", 25}, proxy, now);
  }
  // What the server sent, taken.
  std::string take() {
    std::string out(connection->output());
    connection->sent(out.size(), now);
    return out;
  }
  void send(std::string_view bytes) { connection->received(bytes, now); }
  // Handshake rounds, with the server's plaintext-bound output: true when
  // the client finished.
  bool handshake() {
    for (int i = 0; i < 20; ++i) {
      const bool done = client.handshake();
      const std::string to_server = client.take_output();
      if (!to_server.empty()) send(to_server);
      const std::string to_client = take();
      client.give(to_client);
      if (done && to_server.empty() && to_client.empty()) return true;
    }
    return false;
  }
  std::string inside(std::string_view text) {
    if (!text.empty()) client.write(text);
    send(client.take_output());
    client.give(take());
    return client.read();
  }
};

TEST(StarttlsConnection, PipelinedCommandNeverAnsweredEitherSide) {
  Rig rig(false);
  EXPECT_EQ(rig.take(), greeting);
  rig.send("EHLO a\r\nSTARTTLS\r\nNOOP\r\n");
  EXPECT_EQ(rig.take(), ehlo_offering + ready);  // no 250 for the NOOP
  ASSERT_TRUE(rig.handshake());
  // Nothing waits inside TLS either: the first reply is QUIT's.
  EXPECT_EQ(rig.inside(""), "");
  EXPECT_EQ(rig.inside("EHLO b\r\n"), ehlo_plain);
  EXPECT_EQ(rig.inside("QUIT\r\n"), "221 Bye\r\n");
  EXPECT_TRUE(rig.connection->finished());
  rig.connection->finish();
  ASSERT_FALSE(rig.log.empty());
  EXPECT_EQ(rig.log.front(),
            "discarded 6 bytes sent after STARTTLS, before TLS");
  EXPECT_EQ(rig.log.back(),
            "session peer=192.0.2.1 helo=b messages=0 tls=TLSv1.3 "
            "cipher=TLS_AES_256_GCM_SHA384 end=quit");
}

TEST(StarttlsConnection, NothingIsReadUntilThe220IsOut) {
  Rig rig(false);
  rig.take();
  rig.send("STARTTLS\r\n");
  EXPECT_FALSE(rig.connection->wants_input());
  EXPECT_EQ(rig.take(), ready);
  EXPECT_TRUE(rig.connection->wants_input());
  ASSERT_NE(rig.connection->tls(), nullptr);
}

TEST(StarttlsConnection, PlaintextInsteadOfAHandshakeEndsTheSession) {
  Rig rig(false);
  rig.take();
  rig.send("STARTTLS\r\n");
  rig.take();
  rig.send("NOOP\r\n");  // an attacker's second segment, after our 220
  EXPECT_EQ(rig.take().find("250"), std::string::npos);  // an alert at most
  EXPECT_TRUE(rig.connection->finished());
  EXPECT_EQ(rig.connection->end(), Connection::End::tls_failed);
  ASSERT_GE(rig.log.size(), 1u);
  EXPECT_EQ(rig.log.back().rfind("TLS handshake failed: ", 0), 0u)
      << rig.log.back();
  rig.connection->finish();
  EXPECT_EQ(rig.log.back(),
            "session peer=192.0.2.1 helo= messages=0 end=tls-failed");
}

TEST(StarttlsConnection, ClientGoneDuringTheHandshake) {
  Rig rig(false);
  rig.take();
  rig.send("STARTTLS\r\n");
  rig.take();
  rig.connection->input_ended(rig.now);
  EXPECT_TRUE(rig.connection->finished());
  EXPECT_EQ(rig.connection->end(), Connection::End::tls_failed);
  EXPECT_EQ(rig.log.back(),
            "TLS handshake failed: the client closed the connection during "
            "the handshake");
}

TEST(StarttlsConnection, StalledHandshakeTimesOut) {
  Rig rig(false);
  rig.take();
  rig.send("STARTTLS\r\n");
  rig.take();
  rig.connection->tick(rig.connection->wake_at());
  EXPECT_TRUE(rig.connection->finished());
  EXPECT_EQ(rig.connection->end(), Connection::End::timeout);
  EXPECT_EQ(rig.log.back(), "TLS handshake failed: timeout");
}

TEST(ImplicitTlsConnection, GreetingOnlyInsideTls) {
  Rig rig(true);
  EXPECT_EQ(rig.connection->output(), "");  // the client speaks first
  ASSERT_TRUE(rig.handshake());
  EXPECT_EQ(rig.client.read(), greeting);
  EXPECT_EQ(rig.inside("EHLO a\r\n"), ehlo_plain);
  EXPECT_EQ(rig.inside("STARTTLS\r\n"), lines({replies::starttls_again}));
  EXPECT_EQ(rig.inside("QUIT\r\n"), "221 Bye\r\n");
  EXPECT_TRUE(rig.connection->finished());
}

// The PROXY header is plaintext; the handshake may follow it in the same
// read.
TEST(ImplicitTlsConnection, AfterAProxyHeaderInTheSameRead) {
  Rig rig(true, true);
  rig.client.handshake();
  rig.send("PROXY TCP4 198.51.100.9 192.0.2.1 40000 465\r\n" +
           rig.client.take_output());
  rig.client.give(rig.take());
  ASSERT_TRUE(rig.handshake());
  EXPECT_EQ(rig.client.read(), greeting);
  EXPECT_EQ(rig.inside("QUIT\r\n"), "221 Bye\r\n");
  rig.connection->finish();
  EXPECT_EQ(rig.log.back().rfind("session peer=198.51.100.9 helo= messages=0 "
                                 "tls=TLSv1.3 ",
                                 0),
            0u)
      << rig.log.back();
}

TEST(ImplicitTlsConnection, PlainSmtpClientFails) {
  Rig rig(true);
  rig.send("EHLO a\r\n");
  EXPECT_TRUE(rig.connection->finished() || rig.connection->output().size());
  rig.take();
  EXPECT_TRUE(rig.connection->finished());
  EXPECT_EQ(rig.connection->end(), Connection::End::tls_failed);
}

}  // namespace
}  // namespace smtpd
