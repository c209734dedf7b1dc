// relay_format.hpp - the message as PureProxy relays it, made as the
// message arrives, and an upstream reply as the client gets it.  Internal
// to the library (not installed, not exported; the unit tests and the
// fuzzers link it statically): relay.cpp uses it for a whole message and
// for a stream alike, so both give the same bytes.
//
// What goes upstream is smtpd.py's: "X-Peer: <client address>" inserted
// before the first empty line (the end of the headers, lines split at LF
// as smtpd.py splits them), or after the message when it has none; then
// every line end (CRLF, bare LF, bare CR) made CRLF, as smtplib does.  A
// bare LF never reaches the upstream, so "\n.\r\n" cannot end the message
// there early (SMTP smuggling).  Dot-stuffing is the upstream session's
// (upstream.hpp).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "smtpd/server.hpp"
#include "smtpd/upstream.hpp"

namespace smtpd {

class RelayFormat {
 public:
  explicit RelayFormat(std::string_view peer_address);

  // The next bytes of the message, in Envelope::data's form, in any
  // chunking; out gets the bytes they decide.
  void feed(std::string_view message, std::string& out);
  // The message is complete: out gets the rest (the X-Peer line if the
  // headers never ended, a CR held back).
  void finish(std::string& out);

 private:
  std::string peer_line_;    // "X-Peer: ..." with its line ends made CRLF
  bool in_headers_ = true;   // no empty line yet
  bool line_start_ = true;   // the next byte starts a line (after an LF)
  bool pending_cr_ = false;  // a CR, which the next byte may make a CRLF
};

// The whole message as relayed, in pieces of a bounded size (a message of
// any size, without a second copy of it); piece returning false stops it.
void write_relay_message(
    const Envelope& envelope,
    const std::function<bool(std::string_view piece)>& piece);

// An upstream reply passed on to the client: its code and text (printable,
// bounded), 421 made 451.
std::string passed_on(const UpstreamReply& reply);

}  // namespace smtpd
