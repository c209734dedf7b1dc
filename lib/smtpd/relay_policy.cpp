// relay_policy.cpp - relay decisions by client network and recipient
// domain (see relay_policy.hpp).
#include "smtpd/relay_policy.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "smtpd/replies.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

using Address = std::array<std::uint8_t, 16>;

// Parses an IPv4 or IPv6 address into the 128-bit form (IPv4 mapped into
// ::ffff:0:0/96, RFC 4291 2.5.5.2).  Returns the bits it has: 32 or 128,
// or 0 when text is no address.
unsigned parse_address(std::string_view text, Address& out) {
  const std::string copy(text);
  in_addr v4;
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    out = Address{};
    out[10] = out[11] = 0xFF;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&v4);
    for (int i = 0; i < 4; ++i) out[12 + i] = bytes[i];
    return 32;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) {
    for (int i = 0; i < 16; ++i) out[i] = v6.s6_addr[i];
    return 128;
  }
  return 0;
}

}  // namespace

// Not exported: no program sees it (libsmtpd(3), ABI POLICY).
struct __attribute__((visibility("hidden"))) RelayPolicy::Impl {
  struct Network {
    Address address{};    // IPv4 as v4-mapped IPv6
    unsigned prefix = 0;  // in bits of the 128
  };

  bool network_allows(std::string_view address) const;
  bool domain_allows(std::string_view recipient) const;

  // 127.0.0.0/8 (RFC 1122 3.2.1.3), as ::ffff:127.0.0.0/104, and ::1 (RFC
  // 4291 2.5.3), written out: every session builds a policy, and parsing
  // text here cost page faults in each one.
  std::vector<Network> networks_{
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 0}, 104},
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128}};
  bool default_networks_ = true;
  bool relay_authenticated_ = true;
  std::vector<std::string> domains_;  // lower case; leading '.' = below
};

RelayPolicy::RelayPolicy() : impl_(std::make_unique<Impl>()) {}

RelayPolicy::RelayPolicy(const RelayPolicy& other)
    : impl_(std::make_unique<Impl>(*other.impl_)) {}

RelayPolicy::RelayPolicy(RelayPolicy&& other) noexcept = default;

RelayPolicy& RelayPolicy::operator=(const RelayPolicy& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}

RelayPolicy& RelayPolicy::operator=(RelayPolicy&& other) noexcept = default;

RelayPolicy::~RelayPolicy() = default;

void RelayPolicy::allow_domain(std::string_view domain) {
  std::string name = text::ascii_lower(domain);
  // "example.org." is the DNS spelling of example.org.
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  const std::string_view bare = std::string_view(name).substr(
      !name.empty() && name.front() == '.' ? 1 : 0);
  if (bare.empty() ||
      bare.find_first_of("@[]<> \t/\\\"") != std::string_view::npos)
    throw std::invalid_argument("not a domain: '" + std::string(domain) + "'");
  impl_->domains_.push_back(name);
}

void RelayPolicy::allow_network(std::string_view cidr) {
  const std::size_t slash = cidr.find('/');
  Impl::Network network;
  const unsigned bits = parse_address(cidr.substr(0, slash), network.address);
  unsigned prefix = bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = cidr.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos)
      prefix = 1000;
    else
      prefix = unsigned(std::stoul(std::string(digits)));
  }
  if (bits == 0 || prefix > bits)
    throw std::invalid_argument("not a network: '" + std::string(cidr) +
                                "' (ADDRESS or ADDRESS/PREFIX expected)");
  network.prefix = prefix + (128 - bits);
  // The first network given replaces the loopback default (a refused one
  // above leaves it as it was).
  if (impl_->default_networks_) {
    impl_->networks_.clear();
    impl_->default_networks_ = false;
  }
  impl_->networks_.push_back(network);
}

void RelayPolicy::relay_authenticated(bool relay) {
  impl_->relay_authenticated_ = relay;
}

bool RelayPolicy::relays_authenticated() const {
  return impl_->relay_authenticated_;
}

bool RelayPolicy::allows(const Peer& peer, std::string_view recipient) const {
  return impl_->network_allows(peer.address) || impl_->domain_allows(recipient);
}

bool RelayPolicy::allows(const Peer& peer, std::string_view recipient,
                         std::string_view authenticated) const {
  return (impl_->relay_authenticated_ && !authenticated.empty()) ||
         allows(peer, recipient);
}

Reply RelayPolicy::check(const Peer& peer, const std::string& recipient) const {
  return check(peer, recipient, {});
}

Reply RelayPolicy::check(const Peer& peer, const std::string& recipient,
                         std::string_view authenticated) const {
  if (allows(peer, recipient, authenticated)) return std::nullopt;
  return std::string(replies::relay_denied);
}

bool RelayPolicy::Impl::network_allows(std::string_view text) const {
  Address address;
  if (parse_address(text, address) == 0) return false;
  for (const Network& network : networks_) {
    unsigned bit = 0;
    for (; bit < network.prefix; ++bit) {
      const unsigned mask = 0x80u >> (bit % 8);
      if ((address[bit / 8] & mask) != (network.address[bit / 8] & mask)) break;
    }
    if (bit == network.prefix) return true;
  }
  return false;
}

bool RelayPolicy::Impl::domain_allows(std::string_view recipient) const {
  // The recipient comes as address.hpp's normal form, LOCAL@DOMAIN with
  // the local part perhaps quoted: the domain follows the last '@' (no
  // domain and no address literal holds one).
  const std::size_t at = recipient.rfind('@');
  if (at == std::string_view::npos) return false;
  // Sender-specified routing: a local part holding '%' (the "%-hack"), '!'
  // (a UUCP bang path) or '@' (quoted, escaped or a source route) asks the
  // server of our domain to send the mail on elsewhere, and that server
  // may trust us (RFC 5321 3.6.1: relaying is the server's choice, not
  // the client's).  Such a recipient is not inside a relay domain, as
  // Postfix's reject_unauth_destination has it.
  if (recipient.substr(0, at).find_first_of("%!@") != std::string_view::npos)
    return false;
  // Domains compare without regard to case (RFC 5321 2.4), and
  // "example.org." is the DNS spelling of example.org.
  std::string domain = text::ascii_lower(recipient.substr(at + 1));
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  // An address literal (RFC 5321 4.1.3) names no domain: it never matches.
  if (domain.empty() || domain.front() == '[') return false;
  for (const std::string& allowed : domains_) {
    if (allowed.front() != '.') {
      if (domain == allowed) return true;
    } else if (domain.size() > allowed.size() &&
               domain.compare(domain.size() - allowed.size(), allowed.size(),
                              allowed) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace smtpd
