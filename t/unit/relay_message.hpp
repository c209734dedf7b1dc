// relay_message.hpp - the message as PureProxy relays it, whole: the tests'
// reference form of what relay_format.hpp makes piece by piece ("X-Peer:
// <client address>" before the first empty line, every line end made
// CRLF).  The library itself only ever streams it.
#pragma once

#include <string>

#include "smtpd/relay_format.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

inline std::string relay_message(const Envelope& envelope) {
  std::string out;
  RelayFormat format(envelope.peer.address);
  format.feed(envelope.data, out);
  format.finish(out);
  return out;
}

}  // namespace smtpd
