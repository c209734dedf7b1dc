// upstream.hpp - one SMTP session with an upstream server, with libcurl.
//
// libcurl is loaded with dlopen(3) the first time a session connects:
// every connection starts a process, and a session that relays nothing
// (DebuggingServer, a client that only says QUIT) must not pay the 17 to
// 20 ms libcurl and the libraries it pulls in cost to load.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "smtpd/export.hpp"
#include "smtpd/limits.hpp"

namespace smtpd {

struct UpstreamSettings {
  std::string host = "localhost";
  std::string port = "25";
  // none: plain SMTP; try: STARTTLS when offered; starttls: STARTTLS or
  // fail; smtps: TLS from the first byte (RFC 8314).
  enum class Tls { none, try_starttls, starttls, smtps } tls = Tls::none;
  bool verify_certificate = true;
  std::string ca_file;   // empty: the system's CA store
  std::string username;  // AUTH when not empty
  std::string password;
  std::string helo_name = "localhost";
  unsigned connect_timeout_seconds = 30;
  // Each wait for one of the upstream's replies.  Well below what clients wait
  // for us (RFC 5321 4.5.3.2: 5 minutes for RCPT, 10 for the final dot; Postfix
  // waits as long): our 451 reaches the client before it gives up on us, so it
  // never retries a message the upstream may have taken.
  unsigned timeout_seconds = limits::default_relay_timeout;
};

// One reply of the upstream's, or why there was none.
struct UpstreamReply {
  int code = 0;       // 0: no reply (not connected, timed out, closed)
  std::string line;   // its last line, as sent (without CRLF)
  std::string error;  // when code is 0: what happened, in plain words
  bool positive() const { return code >= 200 && code < 300; }
};

// One SMTP session with an upstream, reply for reply (a before-queue
// proxy, as Postfix's smtpd_proxy_filter).  libcurl connects: TCP or TLS,
// the greeting, EHLO, STARTTLS and AUTH, and stops there
// (CURLOPT_CONNECT_ONLY); the commands of each transaction then go out with
// curl_easy_send and their replies come back with curl_easy_recv, through
// the TLS layer libcurl set up.  Every wait is bounded by
// UpstreamSettings::timeout_seconds.  Blocking: run it on a thread of the
// session's own.  Not thread-safe: one thread at a time.
class SMTPD_API UpstreamSession {
 public:
  explicit UpstreamSession(UpstreamSettings settings);
  // QUIT when the session is idle and well; else just the end of the
  // connection (the upstream then drops any transaction it had).
  ~UpstreamSession();
  UpstreamSession(const UpstreamSession&) = delete;
  UpstreamSession& operator=(const UpstreamSession&) = delete;

  // Connects unless connected; a reply with code 0 says why it failed,
  // else it is the EHLO reply's last line.
  UpstreamReply connect();
  bool connected() const;
  // What its EHLO reply offered: "SMTPUTF8", "8BITMIME", "SIZE" ...
  bool offers(std::string_view keyword) const;
  // One command line (without CRLF) and its reply.
  UpstreamReply command(std::string_view line);
  // After DATA's 354: the message from write_message, dot-stuffed here,
  // then the final dot; the reply to it.  write_message calls its argument
  // with each piece of the message (lines end in CRLF; the last one may
  // lack it); a false return means the upstream is gone.
  using Pieces = std::function<bool(std::string_view piece)>;
  UpstreamReply message(
      const std::function<void(const Pieces&)>& write_message);
  // The same as a stream, for a message that is still arriving: each piece
  // as write_message would give it (false: the upstream is gone, and the
  // pieces after it are not sent), then the final dot and its reply.
  bool message_piece(std::string_view piece);
  UpstreamReply end_message();
  // QUIT and its reply, then the end of the connection.
  void quit();
  // Ends the connection at once, with no QUIT.
  void drop();
  // From any other thread: shuts the connection down (shutdown(2)), so
  // that a send or a wait under way on the session's own thread ends at
  // once, as on a lost connection; that thread then drops it.  For a
  // session whose exchange nobody will wait for any more (the client cut
  // its message short), so that no loop waits for the upstream either.
  void interrupt();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtpd
