// upstream.hpp - hand one message to an upstream SMTP server, with libcurl.
//
// libcurl is loaded with dlopen(3) the first time a message is relayed:
// every connection starts a process, and a session that relays nothing
// (DebuggingServer, a client that only says QUIT) must not pay the 17 to
// 20 ms libcurl and the libraries it pulls in cost to load.
#pragma once

#include "smtpd/export.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace smtpd {

struct UpstreamSettings {
  std::string host = "localhost";
  std::string port = "25";
  // none: plain SMTP; try: STARTTLS when offered; starttls: STARTTLS or
  // fail; smtps: TLS from the first byte (RFC 8314).
  enum class Tls { none, try_starttls, starttls, smtps } tls = Tls::none;
  bool verify_certificate = true;
  std::string ca_file;         // empty: the system's CA store
  std::string username;        // AUTH when not empty
  std::string password;
  std::string helo_name = "localhost";
  unsigned connect_timeout_seconds = 30;
  unsigned timeout_seconds = 600;  // the whole exchange
};

struct UpstreamResult {
  bool delivered = false;
  int code = 0;                  // the upstream's last reply code, 0 if none
  std::string reply;             // that reply's last line, as sent
  std::string error;             // why it failed, when it did
  bool smtputf8_unsupported = false;  // needed SMTPUTF8, upstream lacks it
};

// Sends message (every line end CRLF, not dot-stuffed, no final dot) from
// mail_from ("<>" for the null path) to every one of rcpt_tos.  With
// smtputf8, refuses to send unless the upstream offers SMTPUTF8.  All
// recipients must be accepted: the first refusal ends the attempt.
SMTPD_API UpstreamResult send_upstream(const UpstreamSettings& settings,
                             std::string_view mail_from,
                             const std::vector<std::string>& rcpt_tos,
                             std::string_view message, bool smtputf8);

}  // namespace smtpd
