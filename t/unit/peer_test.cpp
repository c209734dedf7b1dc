// peer_test.cpp - who the client is (peer.hpp): the socket, then
// systemd's REMOTE_ADDR/REMOTE_PORT, then UCSPI's TCPREMOTEIP/TCPREMOTEPORT,
// else a local peer.
#include "smtpd/peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>

namespace smtpd {
namespace {

// A fake environment.
class Environment {
 public:
  Environment(std::initializer_list<std::pair<const std::string, std::string>>
                  variables = {})
      : variables_(variables) {}
  EnvironmentLookup lookup() const {
    return [this](const char* name) -> const char* {
      const auto found = variables_.find(name);
      return found == variables_.end() ? nullptr : found->second.c_str();
    };
  }

 private:
  std::map<std::string, std::string> variables_;
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// A TCP connection over loopback: the server's end, and the client's
// port as the server sees it.
struct Connection {
  Fd server, client;
  std::uint16_t client_port = 0;
};

// Connects a client socket of client_family to a listener of
// listen_family bound to listen_address; false if the host has no such
// address (no IPv6, say).
bool connect_loopback(int listen_family, const char* listen_address,
                      int client_family, const char* client_address,
                      bool v6only, Connection& c) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (listen_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    if (inet_pton(AF_INET, listen_address, &in->sin_addr) != 1) return false;
    length = sizeof *in;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, listen_address, &in6->sin6_addr) != 1) return false;
    length = sizeof *in6;
  }
  Fd listener(socket(listen_family, SOCK_STREAM, 0));
  if (listener.get() < 0) return false;
  if (listen_family == AF_INET6) {
    const int flag = v6only ? 1 : 0;
    setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &flag, sizeof flag);
  }
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&storage), length) !=
          0 ||
      listen(listener.get(), 1) != 0 ||
      getsockname(listener.get(), reinterpret_cast<sockaddr*>(&storage),
                  &length) != 0)
    return false;
  const std::uint16_t port =
      listen_family == AF_INET
          ? ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port)
          : ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);

  sockaddr_storage target{};
  socklen_t target_length = 0;
  if (client_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&target);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    inet_pton(AF_INET, client_address, &in->sin_addr);
    target_length = sizeof *in;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&target);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    inet_pton(AF_INET6, client_address, &in6->sin6_addr);
    target_length = sizeof *in6;
  }
  c.client = Fd(socket(client_family, SOCK_STREAM, 0));
  if (c.client.get() < 0 ||
      connect(c.client.get(), reinterpret_cast<sockaddr*>(&target),
              target_length) != 0)
    return false;
  c.server = Fd(accept(listener.get(), nullptr, nullptr));
  if (c.server.get() < 0) return false;

  sockaddr_storage mine{};
  socklen_t mine_length = sizeof mine;
  getsockname(c.client.get(), reinterpret_cast<sockaddr*>(&mine), &mine_length);
  c.client_port =
      client_family == AF_INET
          ? ntohs(reinterpret_cast<sockaddr_in*>(&mine)->sin_port)
          : ntohs(reinterpret_cast<sockaddr_in6*>(&mine)->sin6_port);
  return true;
}

TEST(FindPeer, Ipv4Socket) {
  Connection c;
  ASSERT_TRUE(
      connect_loopback(AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", false, c))
      << std::strerror(errno);
  const Peer peer = find_peer(c.server.get(), Environment().lookup());
  EXPECT_EQ("127.0.0.1", peer.address);
  EXPECT_EQ(c.client_port, peer.port);
  EXPECT_NE(0, peer.port);
}

TEST(FindPeer, Ipv6Socket) {
  Connection c;
  if (!connect_loopback(AF_INET6, "::1", AF_INET6, "::1", true, c))
    GTEST_SKIP() << "no IPv6 loopback here: " << std::strerror(errno);
  const Peer peer = find_peer(c.server.get(), Environment().lookup());
  EXPECT_EQ("::1", peer.address);
  EXPECT_EQ(c.client_port, peer.port);
}

// An IPv4 client of a dual-stack listener is ::ffff:127.0.0.1 to the
// socket; it is shown as the IPv4 address it is.
TEST(FindPeer, V4MappedSocket) {
  Connection c;
  if (!connect_loopback(AF_INET6, "::", AF_INET, "127.0.0.1", false, c))
    GTEST_SKIP() << "no dual-stack IPv6 here: " << std::strerror(errno);
  const Peer peer = find_peer(c.server.get(), Environment().lookup());
  EXPECT_EQ("127.0.0.1", peer.address);
  EXPECT_EQ(c.client_port, peer.port);
}

TEST(FindPeer, TheSocketWinsOverTheEnvironment) {
  Connection c;
  ASSERT_TRUE(
      connect_loopback(AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", false, c));
  const Environment env({{"REMOTE_ADDR", "192.0.2.1"},
                         {"REMOTE_PORT", "1"},
                         {"TCPREMOTEIP", "192.0.2.2"},
                         {"TCPREMOTEPORT", "2"}});
  const Peer peer = find_peer(c.server.get(), env.lookup());
  EXPECT_EQ("127.0.0.1", peer.address);
  EXPECT_EQ(c.client_port, peer.port);
}

// Descriptors that are not TCP sockets: a pipe, a UNIX socket, none.
class NotTcp : public testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    const std::string kind = GetParam();
    int fds[2] = {-1, -1};
    if (kind == "pipe") {
      ASSERT_EQ(0, pipe(fds));
    } else if (kind == "unix") {
      ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
    } else if (kind == "file") {
      fds[0] = open("/dev/null", O_RDONLY);
      ASSERT_GE(fds[0], 0);
    }
    // "closed": -1, getpeername fails with EBADF.
    ends_[0] = Fd(fds[0]);
    ends_[1] = Fd(fds[1]);
  }
  int fd() const { return ends_[0].get(); }
  Peer find(const Environment& env) const {
    return find_peer(fd(), env.lookup());
  }

 private:
  Fd ends_[2];
};

TEST_P(NotTcp, NothingIsALocalPeer) {
  const Peer peer = find(Environment());
  EXPECT_EQ("127.0.0.1", peer.address);
  EXPECT_EQ(0, peer.port);
}

TEST_P(NotTcp, SystemdRemoteAddr) {
  const Peer peer = find(
      Environment({{"REMOTE_ADDR", "192.0.2.1"}, {"REMOTE_PORT", "4321"}}));
  EXPECT_EQ("192.0.2.1", peer.address);
  EXPECT_EQ(4321, peer.port);
}

TEST_P(NotTcp, SystemdRemoteAddrIpv6) {
  const Peer peer = find(
      Environment({{"REMOTE_ADDR", "2001:db8::1"}, {"REMOTE_PORT", "65535"}}));
  EXPECT_EQ("2001:db8::1", peer.address);
  EXPECT_EQ(65535, peer.port);
}

TEST_P(NotTcp, UcspiTcpRemoteIp) {
  const Peer peer = find(
      Environment({{"TCPREMOTEIP", "198.51.100.7"}, {"TCPREMOTEPORT", "25"}}));
  EXPECT_EQ("198.51.100.7", peer.address);
  EXPECT_EQ(25, peer.port);
}

TEST_P(NotTcp, SystemdBeforeUcspi) {
  const Peer peer = find(Environment({{"REMOTE_ADDR", "192.0.2.1"},
                                      {"REMOTE_PORT", "1"},
                                      {"TCPREMOTEIP", "198.51.100.7"},
                                      {"TCPREMOTEPORT", "2"}}));
  EXPECT_EQ("192.0.2.1", peer.address);
  EXPECT_EQ(1, peer.port);
}

TEST_P(NotTcp, AnAddressWithoutAPortHasPortZero) {
  const Peer peer =
      find(Environment({{"REMOTE_ADDR", "192.0.2.1"}, {"TCPREMOTEPORT", "2"}}));
  EXPECT_EQ("192.0.2.1", peer.address);
  EXPECT_EQ(0, peer.port);
}

TEST_P(NotTcp, APortWithoutAnAddressIsIgnored) {
  const Peer peer = find(Environment({{"REMOTE_PORT", "1"},
                                      {"TCPREMOTEIP", "198.51.100.7"},
                                      {"TCPREMOTEPORT", "2"}}));
  EXPECT_EQ("198.51.100.7", peer.address);
  EXPECT_EQ(2, peer.port);
}

TEST_P(NotTcp, GarbageAddressesAreIgnored) {
  for (const char* garbage :
       {"", "not-an-address", "192.0.2", "192.0.2.256", "192.0.2.1 ",
        " 192.0.2.1", "192.0.2.1\n", "2001:db8::g", "localhost", "192.0.2.1:25",
        "[2001:db8::1]"}) {
    SCOPED_TRACE(testing::PrintToString(garbage));
    Peer peer = find(Environment({{"REMOTE_ADDR", garbage},
                                  {"REMOTE_PORT", "1"},
                                  {"TCPREMOTEIP", "198.51.100.7"},
                                  {"TCPREMOTEPORT", "2"}}));
    EXPECT_EQ("198.51.100.7", peer.address);
    EXPECT_EQ(2, peer.port);

    peer =
        find(Environment({{"TCPREMOTEIP", garbage}, {"TCPREMOTEPORT", "2"}}));
    EXPECT_EQ("127.0.0.1", peer.address);
    EXPECT_EQ(0, peer.port);
  }
}

TEST_P(NotTcp, GarbagePortsAreIgnored) {
  for (const char* garbage :
       {"", "abc", "-1", "+25", "65536", "99999999999999999999", "25x", " 25",
        "25 ", "0x19"}) {
    SCOPED_TRACE(testing::PrintToString(garbage));
    Peer peer = find(
        Environment({{"REMOTE_ADDR", "192.0.2.1"}, {"REMOTE_PORT", garbage}}));
    EXPECT_EQ("192.0.2.1", peer.address);
    EXPECT_EQ(0, peer.port);

    peer = find(Environment(
        {{"TCPREMOTEIP", "198.51.100.7"}, {"TCPREMOTEPORT", garbage}}));
    EXPECT_EQ("198.51.100.7", peer.address);
    EXPECT_EQ(0, peer.port);
  }
}

INSTANTIATE_TEST_SUITE_P(Descriptors, NotTcp,
                         testing::Values("pipe", "unix", "file", "closed"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

}  // namespace
}  // namespace smtpd
