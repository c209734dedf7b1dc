// relay_policy.hpp - who may relay through us: never an open relay.
//
// A recipient is accepted when its domain is one we relay for, or when the
// client is on a network we relay for.  By default that is loopback only
// (127.0.0.0/8 and ::1), which includes a local pipe: a PureProxy reached
// from the network relays nothing until it is told what to relay.  A
// recipient with sender-specified routing in its local part ('%', '!', or
// '@', quoted or not) is inside no relay domain, as with Postfix's
// reject_unauth_destination: only a client on a relay network may route.
// A client that authenticated (RFC 4954 AUTH) relays as a client on a
// relay network does, as Postfix's permit_sasl_authenticated has it,
// unless that is switched off.
// Pure: no I/O, no DNS.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "smtpd/export.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

// A value: copies are independent.  Its rules live in RelayPolicy::Impl
// (relay_policy.cpp), so that new kinds of rule change no layout.  A
// moved-from policy may only be assigned to or destroyed.
class SMTPD_API RelayPolicy {
 public:
  // Loopback only.
  RelayPolicy();
  RelayPolicy(const RelayPolicy& other);
  RelayPolicy(RelayPolicy&& other) noexcept;
  RelayPolicy& operator=(const RelayPolicy& other);
  RelayPolicy& operator=(RelayPolicy&& other) noexcept;
  ~RelayPolicy();

  // "example.com" relays for that domain; ".example.com" for every domain
  // below it.  Case does not matter.  Throws std::invalid_argument.
  void allow_domain(std::string_view domain);
  // "192.0.2.0/24", "2001:db8::/32", or a single address.  The first call
  // replaces the loopback default.  Throws std::invalid_argument.
  void allow_network(std::string_view cidr);

  // Whether an authenticated client relays anything (default true).
  void relay_authenticated(bool relay);
  bool relays_authenticated() const;

  bool allows(const Peer& peer, std::string_view recipient) const;
  // authenticated: the session's AUTH identity (Session::authenticated),
  // empty when it has none.
  bool allows(const Peer& peer, std::string_view recipient,
              std::string_view authenticated) const;
  // For a RCPT hook (Answer::from): nothing, or the 554 refusal.
  Reply check(const Peer& peer, const std::string& recipient) const;
  Reply check(const Peer& peer, const std::string& recipient,
              std::string_view authenticated) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtpd
