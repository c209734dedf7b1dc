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

#include "smtpd/upstream.hpp"

namespace smtpd {
namespace {

// A listening socket on loopback that nobody accepts from: whether the
// relay connected shows in its backlog.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(0, bind(fd_, reinterpret_cast<sockaddr*>(&address), length));
    EXPECT_EQ(0, listen(fd_, 4));
    EXPECT_EQ(0,
              getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length));
    port_ = std::to_string(ntohs(address.sin_port));
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
