// relay_policy_test.cpp - RelayPolicy: who may relay through PureProxy.
//
// Client networks (IPv4 and IPv6, every kind of prefix), the loopback
// default and its replacement, recipient domains (exact, leading-dot
// subdomains, case, trailing dot; address literals and missing domains
// never match; a local part with sender-specified routing is inside no
// relay domain), clients that authenticated, and the inputs that must be
// refused.
#include "smtpd/relay_policy.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smtpd {
namespace {

Peer peer(std::string address) {
  Peer p;
  p.address = std::move(address);
  p.port = 1234;
  return p;
}

// A recipient no domain rule allows: only the network can.
constexpr std::string_view outside_address = "x@outside.example";

bool network_allows(const RelayPolicy& policy, const std::string& address) {
  return policy.allows(peer(address), outside_address);
}

bool domain_allows(const RelayPolicy& policy, std::string_view recipient) {
  // A client on no allowed network: only the domain can.
  return policy.allows(peer("198.51.100.99"), recipient);
}

RelayPolicy networks(const std::vector<std::string>& cidrs) {
  RelayPolicy policy;
  for (const std::string& cidr : cidrs) policy.allow_network(cidr);
  return policy;
}

RelayPolicy domains(const std::vector<std::string>& names) {
  RelayPolicy policy;
  policy.allow_network("203.0.113.1/32");  // not the test clients'
  for (const std::string& name : names) policy.allow_domain(name);
  return policy;
}

// --- networks
// ----------------------------------------------------------------------

TEST(RelayPolicyNetworks, DefaultIsLoopbackOnly) {
  const RelayPolicy policy;
  EXPECT_TRUE(network_allows(policy, "127.0.0.1"));  // a local pipe
  EXPECT_TRUE(network_allows(policy, "127.0.0.2"));
  EXPECT_TRUE(network_allows(policy, "127.255.255.255"));
  EXPECT_TRUE(network_allows(policy, "::1"));
  EXPECT_TRUE(network_allows(policy, "::ffff:127.0.0.1"));  // v4-mapped
  EXPECT_FALSE(network_allows(policy, "128.0.0.1"));
  EXPECT_FALSE(network_allows(policy, "126.255.255.255"));
  EXPECT_FALSE(network_allows(policy, "192.0.2.7"));
  EXPECT_FALSE(network_allows(policy, "10.0.0.1"));
  EXPECT_FALSE(network_allows(policy, "0.0.0.0"));
  EXPECT_FALSE(network_allows(policy, "::"));
  EXPECT_FALSE(network_allows(policy, "::2"));
  EXPECT_FALSE(network_allows(policy, "2001:db8::1"));
  EXPECT_FALSE(network_allows(policy, "fe80::1"));
}

TEST(RelayPolicyNetworks, DefaultRelaysToAnyDomainFromALocalPipe) {
  const RelayPolicy policy;
  const Peer local;  // a plain pipe: 127.0.0.1
  EXPECT_TRUE(policy.allows(local, "x@example.net"));
  EXPECT_TRUE(policy.allows(local, "postmaster"));
  EXPECT_EQ(policy.check(local, "x@example.net"), std::nullopt);
}

TEST(RelayPolicyNetworks, FirstNetworkReplacesTheDefault) {
  const RelayPolicy policy = networks({"192.0.2.0/24"});
  EXPECT_TRUE(network_allows(policy, "192.0.2.7"));
  EXPECT_FALSE(network_allows(policy, "127.0.0.1"));
  EXPECT_FALSE(network_allows(policy, "::1"));
  EXPECT_FALSE(policy.allows(Peer{}, "x@example.net"));
}

TEST(RelayPolicyNetworks, LaterNetworksAddUp) {
  const RelayPolicy policy =
      networks({"192.0.2.0/24", "198.51.100.7", "127.0.0.1", "2001:db8::/32"});
  EXPECT_TRUE(network_allows(policy, "192.0.2.200"));
  EXPECT_TRUE(network_allows(policy, "198.51.100.7"));
  EXPECT_TRUE(network_allows(policy, "127.0.0.1"));
  EXPECT_TRUE(network_allows(policy, "2001:db8:1::1"));
  EXPECT_FALSE(network_allows(policy, "198.51.100.8"));
  EXPECT_FALSE(network_allows(policy, "127.0.0.2"));  // no longer /8
  EXPECT_FALSE(network_allows(policy, "::1"));
}

TEST(RelayPolicyNetworks, ADomainKeepsTheDefaultNetworks) {
  RelayPolicy policy;
  policy.allow_domain("example.org");
  EXPECT_TRUE(network_allows(policy, "127.0.0.1"));
  EXPECT_TRUE(network_allows(policy, "::1"));
}

TEST(RelayPolicyNetworks, Ipv4Prefixes) {
  const RelayPolicy zero = networks({"0.0.0.0/0"});
  EXPECT_TRUE(network_allows(zero, "0.0.0.0"));
  EXPECT_TRUE(network_allows(zero, "192.0.2.7"));
  EXPECT_TRUE(network_allows(zero, "255.255.255.255"));
  EXPECT_FALSE(network_allows(zero, "2001:db8::1"));  // IPv4 only
  EXPECT_FALSE(network_allows(zero, "::1"));

  const RelayPolicy eight = networks({"10.0.0.0/8"});
  EXPECT_TRUE(network_allows(eight, "10.0.0.0"));
  EXPECT_TRUE(network_allows(eight, "10.255.255.255"));
  EXPECT_FALSE(network_allows(eight, "11.0.0.0"));
  EXPECT_FALSE(network_allows(eight, "9.255.255.255"));

  const RelayPolicy twenty_four = networks({"192.0.2.0/24"});
  EXPECT_TRUE(network_allows(twenty_four, "192.0.2.0"));
  EXPECT_TRUE(network_allows(twenty_four, "192.0.2.255"));
  EXPECT_FALSE(network_allows(twenty_four, "192.0.3.0"));
  EXPECT_FALSE(network_allows(twenty_four, "192.0.1.255"));

  const RelayPolicy thirty_two = networks({"192.0.2.7/32"});
  EXPECT_TRUE(network_allows(thirty_two, "192.0.2.7"));
  EXPECT_FALSE(network_allows(thirty_two, "192.0.2.6"));
  EXPECT_FALSE(network_allows(thirty_two, "192.0.2.8"));
}

TEST(RelayPolicyNetworks, PrefixesThatSplitAByte) {
  const RelayPolicy upper_half = networks({"192.0.2.128/25"});
  EXPECT_TRUE(network_allows(upper_half, "192.0.2.128"));
  EXPECT_TRUE(network_allows(upper_half, "192.0.2.255"));
  EXPECT_FALSE(network_allows(upper_half, "192.0.2.127"));
  EXPECT_FALSE(network_allows(upper_half, "192.0.2.0"));

  const RelayPolicy twenty_three = networks({"192.0.2.0/23"});
  EXPECT_TRUE(network_allows(twenty_three, "192.0.3.255"));
  EXPECT_FALSE(network_allows(twenty_three, "192.0.4.0"));
  EXPECT_FALSE(network_allows(twenty_three, "192.0.1.255"));

  const RelayPolicy one = networks({"128.0.0.0/1"});
  EXPECT_TRUE(network_allows(one, "128.0.0.0"));
  EXPECT_TRUE(network_allows(one, "255.1.2.3"));
  EXPECT_FALSE(network_allows(one, "127.255.255.255"));

  const RelayPolicy thirty_one = networks({"192.0.2.6/31"});
  EXPECT_TRUE(network_allows(thirty_one, "192.0.2.6"));
  EXPECT_TRUE(network_allows(thirty_one, "192.0.2.7"));
  EXPECT_FALSE(network_allows(thirty_one, "192.0.2.5"));
  EXPECT_FALSE(network_allows(thirty_one, "192.0.2.8"));
}

TEST(RelayPolicyNetworks, HostBitsInTheNetworkAreIgnored) {
  const RelayPolicy policy = networks({"192.0.2.77/24"});
  EXPECT_TRUE(network_allows(policy, "192.0.2.1"));
  EXPECT_FALSE(network_allows(policy, "192.0.3.77"));
}

TEST(RelayPolicyNetworks, SingleAddresses) {
  const RelayPolicy v4 = networks({"192.0.2.7"});
  EXPECT_TRUE(network_allows(v4, "192.0.2.7"));
  EXPECT_FALSE(network_allows(v4, "192.0.2.70"));
  EXPECT_FALSE(network_allows(v4, "192.0.2.8"));

  const RelayPolicy v6 = networks({"2001:db8::7"});
  EXPECT_TRUE(network_allows(v6, "2001:db8::7"));
  EXPECT_TRUE(network_allows(v6, "2001:0db8:0000:0000:0000:0000:0000:0007"));
  EXPECT_FALSE(network_allows(v6, "2001:db8::8"));
  EXPECT_FALSE(network_allows(v6, "2001:db8::7:0"));
}

TEST(RelayPolicyNetworks, Ipv6Prefixes) {
  const RelayPolicy zero = networks({"::/0"});
  EXPECT_TRUE(network_allows(zero, "::"));
  EXPECT_TRUE(network_allows(zero, "2001:db8::1"));
  EXPECT_TRUE(network_allows(zero, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));

  const RelayPolicy thirty_two = networks({"2001:db8::/32"});
  EXPECT_TRUE(network_allows(thirty_two, "2001:db8::"));
  EXPECT_TRUE(
      network_allows(thirty_two, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(network_allows(thirty_two, "2001:db9::"));
  EXPECT_FALSE(network_allows(thirty_two, "2001:db7:ffff::1"));

  const RelayPolicy sixty_four = networks({"2001:db8:1:2::/64"});
  EXPECT_TRUE(network_allows(sixty_four, "2001:db8:1:2:ffff::1"));
  EXPECT_FALSE(network_allows(sixty_four, "2001:db8:1:3::1"));

  const RelayPolicy sixty_five = networks({"2001:db8::8000:0:0:0/65"});
  EXPECT_TRUE(network_allows(sixty_five, "2001:db8::8000:0:0:1"));
  EXPECT_TRUE(network_allows(sixty_five, "2001:db8::ffff:0:0:1"));
  EXPECT_FALSE(network_allows(sixty_five, "2001:db8::7fff:0:0:1"));

  const RelayPolicy one_twenty_eight = networks({"2001:db8::7/128"});
  EXPECT_TRUE(network_allows(one_twenty_eight, "2001:db8::7"));
  EXPECT_FALSE(network_allows(one_twenty_eight, "2001:db8::6"));

  const RelayPolicy one_twenty_seven = networks({"2001:db8::6/127"});
  EXPECT_TRUE(network_allows(one_twenty_seven, "2001:db8::6"));
  EXPECT_TRUE(network_allows(one_twenty_seven, "2001:db8::7"));
  EXPECT_FALSE(network_allows(one_twenty_seven, "2001:db8::8"));
}

TEST(RelayPolicyNetworks, Ipv4PeersAndIpv6NetworksDoNotMix) {
  const RelayPolicy v6 = networks({"2001:db8::/32"});
  EXPECT_FALSE(network_allows(v6, "192.0.2.7"));
  EXPECT_FALSE(network_allows(v6, "32.1.13.184"));  // 2001:db8 as IPv4 bytes

  const RelayPolicy v4 = networks({"192.0.2.0/24"});
  EXPECT_FALSE(network_allows(v4, "2001:db8::1"));
  EXPECT_FALSE(
      network_allows(v4, "::c000:207"));  // IPv4-compatible, not mapped
  EXPECT_FALSE(network_allows(v4, "c000:207::"));  // same bits, other place
}

TEST(RelayPolicyNetworks, V4MappedAddressesAreTheirIpv4Address) {
  // RFC 4291 2.5.5.2: ::ffff:192.0.2.7 is the IPv4 client 192.0.2.7 on an
  // IPv6 socket.
  const RelayPolicy v4 = networks({"192.0.2.0/24"});
  EXPECT_TRUE(network_allows(v4, "::ffff:192.0.2.7"));
  EXPECT_FALSE(network_allows(v4, "::ffff:192.0.3.7"));

  const RelayPolicy mapped = networks({"::ffff:192.0.2.0/120"});
  EXPECT_TRUE(network_allows(mapped, "192.0.2.7"));
  EXPECT_FALSE(network_allows(mapped, "192.0.3.7"));
}

TEST(RelayPolicyNetworks, AnUnparsablePeerIsOnNoNetwork) {
  const RelayPolicy everything = networks({"0.0.0.0/0", "::/0"});
  EXPECT_FALSE(network_allows(everything, ""));
  EXPECT_FALSE(network_allows(everything, "localhost"));
  EXPECT_FALSE(network_allows(everything, "192.0.2.7:25"));
  EXPECT_FALSE(network_allows(everything, "[::1]"));
  EXPECT_FALSE(network_allows(everything, "192.0.2.7/32"));
}

// --- domains
// ------------------------------------------------------------------------

TEST(RelayPolicyDomains, ExactDomain) {
  const RelayPolicy policy = domains({"example.org"});
  EXPECT_TRUE(domain_allows(policy, "x@example.org"));
  EXPECT_TRUE(domain_allows(policy, "first.last+tag@example.org"));
  EXPECT_FALSE(domain_allows(policy, "x@sub.example.org"));
  EXPECT_FALSE(domain_allows(policy, "x@notexample.org"));
  EXPECT_FALSE(domain_allows(policy, "x@example.org.evil.example"));
  EXPECT_FALSE(domain_allows(policy, "x@example.or"));
  EXPECT_FALSE(domain_allows(policy, "x@org"));
  EXPECT_FALSE(domain_allows(policy, "x@example.net"));
  EXPECT_FALSE(domain_allows(policy, "example.org"));  // no '@': no domain
}

TEST(RelayPolicyDomains, CaseDoesNotMatter) {
  const RelayPolicy lower = domains({"example.org"});
  EXPECT_TRUE(domain_allows(lower, "x@EXAMPLE.ORG"));
  EXPECT_TRUE(domain_allows(lower, "X@Example.Org"));
  const RelayPolicy upper = domains({"EXAMPLE.Org"});
  EXPECT_TRUE(domain_allows(upper, "x@example.org"));
  EXPECT_TRUE(domain_allows(upper, "x@EXAMPLE.ORG"));
}

TEST(RelayPolicyDomains, ATrailingDotOnTheRecipientIsIgnored) {
  const RelayPolicy policy = domains({"example.org"});
  EXPECT_TRUE(domain_allows(policy, "x@example.org."));
  EXPECT_TRUE(domain_allows(policy, "x@EXAMPLE.ORG."));
  EXPECT_FALSE(domain_allows(policy, "x@example.org.."));
  EXPECT_FALSE(domain_allows(policy, "x@."));
}

TEST(RelayPolicyDomains, ATrailingDotOnTheRuleIsNoDeadRule) {
  // "example.org." (the DNS spelling) must either be refused or mean
  // example.org; accepting a rule that can never match would silently
  // relay nothing.
  RelayPolicy policy = domains({});
  try {
    policy.allow_domain("example.org.");
  } catch (const std::invalid_argument&) {
    return;  // refused: fine
  }
  EXPECT_TRUE(domain_allows(policy, "x@example.org"));
  EXPECT_TRUE(domain_allows(policy, "x@example.org."));
}

TEST(RelayPolicyDomains, LeadingDotMeansEveryDomainBelow) {
  const RelayPolicy policy = domains({".example.org"});
  EXPECT_TRUE(domain_allows(policy, "x@sub.example.org"));
  EXPECT_TRUE(domain_allows(policy, "x@a.b.c.example.org"));
  EXPECT_TRUE(domain_allows(policy, "x@SUB.Example.ORG"));
  EXPECT_TRUE(domain_allows(policy, "x@sub.example.org."));
  EXPECT_FALSE(domain_allows(policy, "x@example.org"));
  EXPECT_FALSE(domain_allows(policy, "x@badexample.org"));
  EXPECT_FALSE(domain_allows(policy, "x@sub.example.org.evil.example"));
  EXPECT_FALSE(domain_allows(policy, "x@.example.org"));
}

TEST(RelayPolicyDomains, ExactAndSubdomainsTogether) {
  const RelayPolicy policy =
      domains({"example.org", ".example.org", "Example.COM"});
  EXPECT_TRUE(domain_allows(policy, "x@example.org"));
  EXPECT_TRUE(domain_allows(policy, "x@sub.example.org"));
  EXPECT_TRUE(domain_allows(policy, "x@example.com"));
  EXPECT_FALSE(domain_allows(policy, "x@sub.example.com"));
  EXPECT_FALSE(domain_allows(policy, "x@example.net"));
}

TEST(RelayPolicyDomains, NoDomainsMeansNoDomainMatches) {
  const RelayPolicy policy = domains({});
  EXPECT_FALSE(domain_allows(policy, "x@example.org"));
  EXPECT_FALSE(domain_allows(policy, "x@localhost"));
}

TEST(RelayPolicyDomains, AddressLiteralsNeverMatch) {
  const RelayPolicy policy = domains({"192.0.2.1", "example.org"});
  EXPECT_FALSE(domain_allows(policy, "x@[192.0.2.1]"));
  EXPECT_FALSE(domain_allows(policy, "x@[IPv6:2001:db8::1]"));
  EXPECT_FALSE(domain_allows(policy, "x@[example.org]"));
}

TEST(RelayPolicyDomains, MissingDomainsNeverMatch) {
  const RelayPolicy policy = domains({"example.org", ".example.org"});
  EXPECT_FALSE(domain_allows(policy, "postmaster"));
  EXPECT_FALSE(domain_allows(policy, "x@"));
  EXPECT_FALSE(domain_allows(policy, "@"));
  EXPECT_FALSE(domain_allows(policy, ""));
  EXPECT_FALSE(domain_allows(policy, "<>"));
}

TEST(RelayPolicyDomains, TheDomainFollowsTheLastAt) {
  const RelayPolicy policy = domains({"example.org"});
  EXPECT_FALSE(domain_allows(policy, "\"x@example.org\"@evil.example"));
  EXPECT_FALSE(domain_allows(policy, "x@example.org@evil.example"));
  EXPECT_FALSE(domain_allows(policy, "@example.org:x@evil.example"));
}

// Sender-specified routing: the local part asks the server of a domain we
// relay for to send the mail on to another.  That server may trust us, so
// such a recipient is inside no relay domain (Postfix's
// reject_unauth_destination refuses the same forms).  The recipient as
// the channel hands it on: address.hpp's normal form.
TEST(RelayPolicyDomains, RoutedRecipientsAreInsideNoRelayDomain) {
  const RelayPolicy policy = domains({"local.test", ".sub.test"});
  for (const char* routed : {
           "victim%gmail.test@local.test",  // the %-hack
           "victim%gmail.test%other.test@local.test",
           "%@local.test",
           "victim%@local.test",
           "%victim@local.test",
           "gmail.test!victim@local.test",  // a bang path
           "a!b!victim@local.test",
           "!@local.test",
           "victim!@local.test",
           "\"victim@gmail.test\"@local.test",    // a quoted '@'
           "\"victim\\@gmail.test\"@local.test",  // an escaped one
           "\"@\"@local.test",
           "\"victim%gmail.test\"@local.test",  // quoted '%' and '!'
           "\"gmail.test!victim\"@local.test",
           "\"a b%gmail.test\"@local.test",
           "victim@gmail.test@local.test",   // a bare '@'
           "@gmail.test:victim@local.test",  // a source route left in
           "@local.test:victim@local.test",
           "victim%gmail.test@LOCAL.TEST",  // with the other rules
           "victim%gmail.test@local.test.",
           "victim%gmail.test@x.sub.test",
           "gmail.test!victim@x.sub.test",
           "\"victim@gmail.test\"@x.sub.test",
       }) {
    EXPECT_FALSE(domain_allows(policy, routed)) << routed;
    // A client on a relay network may still route (as with Postfix's
    // permit_mynetworks before reject_unauth_destination).
    EXPECT_TRUE(policy.allows(peer("203.0.113.1"), routed)) << routed;
  }
  for (const char* plain :
       {"victim@local.test", "first.last+tag@local.test", "x-y_z=w@local.test",
        "\"a b\"@local.test", "\"a.b\"@local.test", "victim@x.sub.test",
        "VICTIM@Local.Test", "victim@local.test."}) {
    EXPECT_TRUE(domain_allows(policy, plain)) << plain;
  }
}

TEST(RelayPolicyDomains, RoutedRecipientsAreRefusedWithThe554) {
  const RelayPolicy policy = domains({"local.test"});
  for (const char* routed :
       {"victim%gmail.test@local.test", "gmail.test!victim@local.test",
        "\"victim@gmail.test\"@local.test"}) {
    EXPECT_EQ(policy.check(peer("198.51.100.1"), routed),
              "554 Error: relay access denied")
        << routed;
  }
}

TEST(RelayPolicyDomains, EitherRuleSuffices) {
  RelayPolicy policy = networks({"192.0.2.0/24"});
  policy.allow_domain("example.org");
  EXPECT_TRUE(policy.allows(peer("192.0.2.7"), "x@example.net"));
  EXPECT_TRUE(policy.allows(peer("198.51.100.1"), "x@example.org"));
  EXPECT_FALSE(policy.allows(peer("198.51.100.1"), "x@example.net"));
}

TEST(RelayPolicyCheck, RefusalIsThe554Reply) {
  RelayPolicy policy = networks({"192.0.2.0/24"});
  policy.allow_domain("example.org");
  EXPECT_EQ(policy.check(peer("198.51.100.1"), "x@example.net"),
            "554 Error: relay access denied");
  EXPECT_EQ(policy.check(peer("198.51.100.1"), "x@example.org"), std::nullopt);
  EXPECT_EQ(policy.check(peer("192.0.2.1"), "x@example.net"), std::nullopt);
}

// --- invalid inputs
// -------------------------------------------------------------------

TEST(RelayPolicyInvalid, Domains) {
  for (const char* bad :
       {"", ".", "a@example.org", "@example.org", "[192.0.2.1]",
        "[IPv6:2001:db8::1]", "exa mple.org", "example.org ", " example.org",
        "exa\tmple.org", "<example.org>", "example.org/24", "exa\\mple.org",
        "\"example.org\""}) {
    RelayPolicy policy;
    EXPECT_THROW(policy.allow_domain(bad), std::invalid_argument)
        << "'" << bad << "'";
  }
}

TEST(RelayPolicyInvalid, Networks) {
  for (const char* bad : {"",
                          "/",
                          "/24",
                          "192.0.2.0/",
                          "192.0.2.0/33",
                          "192.0.2.0/-1",
                          "192.0.2.0/+8",
                          "192.0.2.0/2x",
                          "192.0.2.0/0024",
                          "192.0.2.0/24/8",
                          "192.0.2.0 /24",
                          "192.0.2.0/ 24",
                          " 192.0.2.0",
                          "192.0.2.0 ",
                          "192.0.2",
                          "192.0.2.256",
                          "256.0.0.0/8",
                          "example.org",
                          "localhost",
                          "::/129",
                          "2001:db8::/200",
                          "[2001:db8::]/32",
                          "2001:db8::1::2",
                          "2001:db8::/",
                          "192.0.2.0/99999999999999999999"}) {
    RelayPolicy policy;
    EXPECT_THROW(policy.allow_network(bad), std::invalid_argument)
        << "'" << bad << "'";
  }
}

TEST(RelayPolicyInvalid, TheMessageNamesTheValue) {
  RelayPolicy policy;
  try {
    policy.allow_network("192.0.2.0/33");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("192.0.2.0/33"), std::string::npos)
        << error.what();
  }
  try {
    policy.allow_domain("a@b.example");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("a@b.example"), std::string::npos)
        << error.what();
  }
}

TEST(RelayPolicyInvalid, ARefusedNetworkLeavesThePolicyAsItWas) {
  RelayPolicy policy;
  EXPECT_THROW(policy.allow_network("not-a-network"), std::invalid_argument);
  // Still the default: loopback allowed, and the next network still
  // replaces it.
  EXPECT_TRUE(network_allows(policy, "127.0.0.1"));
  EXPECT_TRUE(network_allows(policy, "::1"));
  policy.allow_network("192.0.2.0/24");
  EXPECT_FALSE(network_allows(policy, "127.0.0.1"));
  EXPECT_TRUE(network_allows(policy, "192.0.2.7"));
}

TEST(RelayPolicyInvalid, ARefusedDomainAddsNothing) {
  RelayPolicy policy = domains({});
  EXPECT_THROW(policy.allow_domain("a@example.org"), std::invalid_argument);
  EXPECT_FALSE(domain_allows(policy, "x@example.org"));
  EXPECT_FALSE(domain_allows(policy, "a@example.org"));
}

// --- authenticated clients (RFC 4954)
// ---------------------------------------------

TEST(RelayPolicyAuthenticated, AnAuthenticatedClientRelaysAnywhere) {
  const RelayPolicy policy = networks({"192.0.2.0/24"});
  const Peer outside = peer("198.51.100.99");
  EXPECT_FALSE(policy.allows(outside, outside_address, ""));
  EXPECT_TRUE(policy.allows(outside, outside_address, "alice"));
  // Even sender-specified routing: the client is trusted as a network's.
  EXPECT_TRUE(policy.allows(outside, "v%other.example@x.example", "alice"));
  EXPECT_EQ(policy.check(outside, std::string(outside_address), "alice"),
            std::nullopt);
  EXPECT_EQ(policy.check(outside, std::string(outside_address), ""),
            "554 Error: relay access denied");
  // The two-argument forms know of no identity.
  EXPECT_FALSE(policy.allows(outside, outside_address));
}

TEST(RelayPolicyAuthenticated, SwitchedOff) {
  RelayPolicy policy = networks({"192.0.2.0/24"});
  EXPECT_TRUE(policy.relays_authenticated());
  policy.relay_authenticated(false);
  EXPECT_FALSE(policy.relays_authenticated());
  EXPECT_FALSE(policy.allows(peer("198.51.100.99"), outside_address, "alice"));
  // What the network or the domain allows stays allowed.
  EXPECT_TRUE(policy.allows(peer("192.0.2.7"), outside_address, "alice"));
}

// --- a value
// ----------------------------------------------------------------------
// Its rules are behind a pointer (RelayPolicy::Impl): a copy must have
// rules of its own, never share the original's.

TEST(RelayPolicyValue, ACopyKeepsItsRulesWhenTheOriginalChanges) {
  RelayPolicy original = domains({"example.org"});
  original.relay_authenticated(false);
  const RelayPolicy copy = original;
  original.allow_domain("example.net");
  original.allow_network("198.51.100.0/24");
  original.relay_authenticated(true);
  EXPECT_TRUE(domain_allows(copy, "a@example.org"));
  EXPECT_FALSE(domain_allows(copy, "a@example.net"));
  EXPECT_FALSE(network_allows(copy, "198.51.100.99"));
  EXPECT_FALSE(copy.relays_authenticated());
  EXPECT_TRUE(domain_allows(original, "a@example.net"));
}

TEST(RelayPolicyValue, AssignmentCopiesAndMovesTheRules) {
  const RelayPolicy source = networks({"192.0.2.0/24"});
  RelayPolicy assigned;  // loopback only
  assigned = source;
  EXPECT_TRUE(network_allows(assigned, "192.0.2.7"));
  EXPECT_FALSE(network_allows(assigned, "127.0.0.1"));
  assigned.allow_network("203.0.113.0/24");
  EXPECT_FALSE(network_allows(source, "203.0.113.1"));

  RelayPolicy moved_into;
  moved_into = std::move(assigned);
  EXPECT_TRUE(network_allows(moved_into, "203.0.113.1"));
  const RelayPolicy constructed(std::move(moved_into));
  EXPECT_TRUE(network_allows(constructed, "192.0.2.7"));
  EXPECT_FALSE(network_allows(constructed, "127.0.0.1"));
}

}  // namespace
}  // namespace smtpd
