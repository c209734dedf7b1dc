// upstream_options_test.cpp - a libcurl option that libcurl refuses ends
// the upstream session before it connects, with the option named
// (upstream.cpp).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "loopback.hpp"
#include "smtpd/upstream.hpp"

namespace smtpd {
namespace {

// A listening socket on loopback that nobody accepts from: whether the
// relay connected shows in its backlog.
class Listener {
 public:
  Listener() {
    sockaddr_in address;
    fd_ = listen_on_loopback(address, 4);
    EXPECT_LE(0, fd_);
    EXPECT_EQ(0, fcntl(fd_, F_SETFL, O_NONBLOCK));
    port_ = port_of(address);
  }
  ~Listener() { close(fd_); }
  const std::string& port() const { return port_; }
  bool connected_to() const {
    const int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return false;
    close(client);
    return true;
  }

 private:
  int fd_ = -1;
  std::string port_;
};

// libcurl takes a connect timeout of at most INT_MAX milliseconds.
UpstreamSettings refused_settings(const std::string& port) {
  UpstreamSettings settings;
  settings.host = "127.0.0.1";
  settings.port = port;
  settings.connect_timeout_seconds = 3000000;
  return settings;
}

const std::string refused_timeout =
    "libcurl refused the option CURLOPT_CONNECTTIMEOUT: ";

TEST(UpstreamOptions, ARefusedOptionEndsTheSessionBeforeItConnects) {
  const Listener upstream;
  UpstreamSession session(refused_settings(upstream.port()));
  const UpstreamReply reply = session.connect();
  EXPECT_EQ(0, reply.code);
  const std::string expected =
      "cannot connect to the upstream 127.0.0.1:" + upstream.port() + ": " +
      refused_timeout;
  EXPECT_EQ(expected, reply.error.substr(0, expected.size()));
  EXPECT_FALSE(session.connected());
  EXPECT_FALSE(upstream.connected_to());
}

}  // namespace
}  // namespace smtpd
