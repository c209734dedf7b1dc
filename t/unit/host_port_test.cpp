// host_port_test.cpp - HOST:PORT as the options take it (host_port.hpp):
// a table of good addresses with their parts, and one of bad ones with
// the reason given.
#include "host_port.hpp"

#include <gtest/gtest.h>

#include <string>

namespace in_smtpd {
namespace {

struct Good {
  const char* spec;
  const char* host;
  const char* port;
};

const Good good_cases[] = {
    {"localhost:25", "localhost", "25"},
    {"127.0.0.1:8025", "127.0.0.1", "8025"},
    {"[::1]:25", "::1", "25"},
    {"[2001:db8::7]:65535", "2001:db8::7", "65535"},
    {"mail.example.org:1", "mail.example.org", "1"},
    {"*:25", "*", "25"},  // every address: the listener's to decide
    {"[::ffff:192.0.2.1]:587", "::ffff:192.0.2.1", "587"},
};

TEST(HostPort, GoodAddresses) {
  for (const Good& good : good_cases) {
    SCOPED_TRACE(good.spec);
    std::string why;
    const std::optional<HostPort> split = split_host_port(good.spec, &why);
    ASSERT_TRUE(split.has_value()) << why;
    EXPECT_EQ(split->host, good.host);
    EXPECT_EQ(split->port, good.port);
    EXPECT_EQ(why, "");
  }
}

struct Bad {
  const char* spec;
  const char* why;
};

const Bad bad_cases[] = {
    {"", "no :PORT"},
    {"localhost", "no :PORT"},
    {"localhost:", "no port after the colon"},
    {":25", "no host before the port"},
    {"[]:25", "an IPv6 address goes in brackets: [ADDRESS]:PORT"},
    {"::1:25", "an IPv6 address goes in brackets: [ADDRESS]:PORT"},
    {"[::1]", "an IPv6 address goes in brackets: [ADDRESS]:PORT"},
    {"[::1:25", "an IPv6 address goes in brackets: [ADDRESS]:PORT"},
    {"host:0", "the port is not a number from 1 to 65535"},
    {"host:65536", "the port is not a number from 1 to 65535"},
    {"host:123456", "the port is not a number from 1 to 65535"},
    {"host:smtp", "the port is not a number from 1 to 65535"},
    {"host:-25", "the port is not a number from 1 to 65535"},
    {"host:+25", "the port is not a number from 1 to 65535"},
    {"host: 25", "the port is not a number from 1 to 65535"},
    {"host:25\n", "the port is not a number from 1 to 65535"},
    {"host:99999999999999999999", "the port is not a number from 1 to 65535"},
};

TEST(HostPort, BadAddressesSayWhyInOneLine) {
  for (const Bad& bad : bad_cases) {
    SCOPED_TRACE(bad.spec);
    std::string why;
    EXPECT_FALSE(split_host_port(bad.spec, &why).has_value());
    EXPECT_EQ(why, bad.why);
    EXPECT_EQ(why.find('\n'), std::string::npos);
  }
}

// The reason is optional: the options name what they expected themselves.
TEST(HostPort, NoReasonAsked) {
  EXPECT_FALSE(split_host_port("garbage").has_value());
  EXPECT_TRUE(split_host_port("[::1]:25").has_value());
}

}  // namespace
}  // namespace in_smtpd
