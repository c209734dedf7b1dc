// upstream_interrupt_test.cpp - UpstreamSession::interrupt: a message stuck
// on its way to an upstream that reads no more is cut loose at once from
// another thread, instead of holding its thread for the relay timeout
// (upstream.cpp; PureProxy frees a session with it).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "loopback.hpp"
#include "smtpd/upstream.hpp"

namespace smtpd {
namespace {

// An upstream that answers every command and DATA with 354, then reads
// nothing until the test is over: whatever is sent to it after the 354
// fills the sockets' buffers and then waits.
class StallingUpstream {
 public:
  StallingUpstream() {
    sockaddr_in address;
    listener_ = listen_on_loopback(address, 1);
    EXPECT_LE(0, listener_);
    port_ = port_of(address);
    thread_ = std::thread([this] { serve(); });
  }
  ~StallingUpstream() {
    shutdown(listener_, SHUT_RDWR);
    if (client_ >= 0) shutdown(client_, SHUT_RDWR);
    thread_.join();
    close(listener_);
    if (client_ >= 0) close(client_);
  }
  const std::string& port() const { return port_; }

 private:
  void serve() {
    client_ = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client_ < 0) return;
    say("220 stall ESMTP\r\n");
    std::string line;
    char byte;
    while (read(client_, &byte, 1) == 1) {
      line += byte;
      if (byte != '\n') continue;
      if (line.compare(0, 4, "DATA") == 0) return say("354 go ahead\r\n");
      say(line.compare(0, 4, "EHLO") == 0 ? "250 stall\r\n" : "250 ok\r\n");
      line.clear();
    }
  }
  void say(const std::string& reply) {
    ASSERT_EQ(ssize_t(reply.size()),
              write(client_, reply.data(), reply.size()));
  }

  int listener_ = -1;
  std::atomic<int> client_{-1};
  std::string port_;
  std::thread thread_;
};

TEST(UpstreamInterrupt, AMessageStuckSendingIsCutLooseAtOnce) {
  const StallingUpstream upstream;
  UpstreamSettings settings;
  settings.host = "127.0.0.1";
  settings.port = upstream.port();
  settings.timeout_seconds = 120;
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
