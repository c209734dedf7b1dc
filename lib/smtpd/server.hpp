// server.hpp - what the channel hands on: the peer, the envelope and a
// message's reply.  smtpd::Server, smtpd.py's SMTPServer, is in handler.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smtpd/export.hpp"

namespace smtpd {

// Who is at the other end of the connection.  A plain pipe is a local
// peer, shown as 127.0.0.1 port 0 as the reference's stdio server does.
struct Peer {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
};

// One accepted message, as SMTPServer.process_message receives it.
struct Envelope {
  Peer peer;
  std::string helo;                   // the HELO/EHLO argument
  std::string mail_from;              // the reverse path; "<>" for null
  std::vector<std::string> rcpt_tos;  // forward paths, in RCPT order
  // The message: dot-unstuffed (RFC 5321 4.5.2), lines joined with a bare
  // LF and without the final line end, exactly as smtpd.py hands it on.
  std::string data;
  // MAIL and RCPT parameters, upper-cased, as smtpd.py passes them with
  // decode_data off (with decode_data on the reference passes none, and
  // these stay empty).
  std::vector<std::string> mail_options;
  std::vector<std::string> rcpt_options;
  bool smtputf8 = false;  // MAIL carried SMTPUTF8 (RFC 6531)
};

// The reply to an accepted message: nothing means "250 OK", otherwise a
// whole reply line without its CRLF ("550 No such user").
using Reply = std::optional<std::string>;

}  // namespace smtpd
