// upstream_interrupt_test.cpp - UpstreamSession::interrupt: a message stuck
// on its way to an upstream that reads no more is cut loose at once from
// another thread, instead of holding its thread for the relay timeout
// (upstream.cpp; PureProxy frees a session with it).
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "scripted_upstream.hpp"
#include "smtpd/upstream.hpp"

namespace smtpd {
namespace {

// An upstream that answers every command and DATA with 354, then reads
// nothing until the test is over: whatever is sent to it after the 354
// fills the sockets' buffers and then waits.
ScriptedUpstream::Said stall_after_data(const std::string& line) {
  if (line.compare(0, 4, "DATA") == 0) return {"354 go ahead\r\n", true};
  return {line.compare(0, 4, "EHLO") == 0 ? "250 stall\r\n" : "250 ok\r\n"};
}

TEST(UpstreamInterrupt, AMessageStuckSendingIsCutLooseAtOnce) {
  const ScriptedUpstream upstream(stall_after_data);
  ASSERT_TRUE(upstream.listening());
  const UpstreamSettings settings = upstream.settings(120);
  UpstreamSession session(settings);
  ASSERT_EQ(250, session.connect().code);
  ASSERT_EQ(250, session.command("MAIL FROM:<a@example.com>").code);
  ASSERT_EQ(250, session.command("RCPT TO:<b@example.net>").code);
  ASSERT_EQ(354, session.command("DATA").code);

  // Far more than loopback's buffers take: the sending thread waits in
  // message_piece until the upstream reads (never) or the interrupt.
  const std::string line(998, 'x');
  bool sent = true;
  UpstreamReply reply;
  std::thread sender([&] {
    for (int i = 0; i < 64 * 1024 && sent; ++i)
      sent = session.message_piece(line + "\r\n");
    reply = session.end_message();
  });
  session.interrupt();
  sender.join();

  EXPECT_FALSE(sent);
  EXPECT_EQ(0, reply.code);
  // Cut loose, not timed out after the 120 s.
  EXPECT_EQ(std::string::npos, reply.error.find("timed out")) << reply.error;
  EXPECT_FALSE(session.connected());
}

TEST(UpstreamInterrupt, NothingToInterruptBeforeTheConnection) {
  UpstreamSession session(UpstreamSettings{});
  session.interrupt();  // no socket yet: nothing is shut down, no crash
  EXPECT_FALSE(session.connected());
}

}  // namespace
}  // namespace smtpd
