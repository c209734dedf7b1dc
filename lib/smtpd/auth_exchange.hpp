// auth_exchange.hpp - the AUTH exchanges of RFC 4954 (PLAIN, LOGIN),
// I/O-free.  Internal: not installed, not exported (the channel, the
// connection core, their tests and fuzzers use it; a handler sees only
// auth.hpp).
//
// An AuthExchange turns the AUTH command's argument and then the client's
// continuation lines into what the server says next: a 334 challenge, a
// final error reply, or credentials to check.  It never checks a password
// itself, never touches a descriptor, and answers every input with a
// reply: nothing a client sends escapes as an exception.
//
//   smtpd::AuthExchange auth;
//   AuthStep step = auth.begin(argument, context);   // after "AUTH "
//   while (step.kind == AuthStep::Kind::challenge) {
//     send(step.reply); step = auth.respond(next_line);
//   }
//   if (step.kind == AuthStep::Kind::check)
//     step.reply = auth.finish(checker(auth.credentials()));
//   send(step.reply);
//
// PLAIN (RFC 4616): one response, authzid NUL authcid NUL passwd.  LOGIN
// (draft-murchison-sasl-login): the user name and the password, each its
// own response to a "Username:" / "Password:" prompt; an initial response
// is the user name.  Either may start with an initial response (RFC 4954
// section 4, "=" for an empty one).  A line "*" cancels (501).
#pragma once

#include <string>
#include <string_view>

#include "smtpd/auth.hpp"

namespace smtpd {

// Where the session stands when AUTH arrives (RFC 4954 section 4).
struct AuthContext {
  bool extended_smtp = false;   // the client said EHLO (AUTH is an extension)
  bool in_transaction = false;  // MAIL was accepted: 503
  bool authenticated = false;   // an AUTH succeeded already: 503
  bool encrypted = false;       // under TLS
  bool allow_insecure = false;  // AUTH without TLS all the same
};

struct AuthStep {
  enum class Kind {
    reply,      // the exchange is over: send reply (an error)
    challenge,  // send reply (334 ...), pass the client's next line to
                // respond()
    check,      // credentials() are complete: check them, then finish()
  };
  Kind kind = Kind::reply;
  std::string reply;  // one line, no CRLF; empty for check
};

class AuthExchange {
 public:
  enum class Mechanism { none, plain, login };

  // The mechanisms offered, for the EHLO line "AUTH PLAIN LOGIN".
  static constexpr std::string_view mechanisms = "PLAIN LOGIN";

  // The AUTH command: argument is what follows "AUTH " on the line
  // (CRLF removed).  Answers 503 (no EHLO, a transaction, authenticated
  // already), 501 (syntax, bad base64), 504 (unknown mechanism), 538 (no
  // TLS), 500 (line too long), 535 (malformed credentials), or goes on.
  AuthStep begin(std::string_view argument, const AuthContext& context);
  // The client's next line (CRLF removed) after a challenge.
  AuthStep respond(std::string_view line);
  // Only after a check step: the credentials to check.
  const AuthCredentials& credentials() const { return credentials_; }
  // The verdict on credentials(): 235, 535 or 454.  Wipes them, and
  // ends the exchange.
  std::string finish(AuthVerdict verdict);

  // Between begin() and the last step: true while a client line is due.
  bool awaiting_response() const {
    return state_ != State::idle && state_ != State::checking;
  }
  Mechanism mechanism() const { return mechanism_; }

 private:
  enum class State {
    idle,
    plain_response,
    login_user,
    login_password,
    checking
  };
  AuthStep fail(std::string_view reply);
  AuthStep take_plain(std::string_view encoded);
  AuthStep take_login_user(std::string_view encoded);
  AuthStep take_login_password(std::string_view encoded);

  State state_ = State::idle;
  Mechanism mechanism_ = Mechanism::none;
  AuthCredentials credentials_;
};

// What a trace (-d) may show of a client line: an AUTH command keeps its
// verb and mechanism, anything after them becomes "[hidden]"; every other
// command comes back unchanged.  A continuation line of an exchange is
// always "[hidden]", except the cancelling "*".
std::string redact_command_line(std::string_view line);
std::string redact_auth_response(std::string_view line);

// The client's bytes as a trace may show them, chunk by chunk: whole
// lines only (a partial line waits for its end, up to the AUTH line
// limit), each AUTH command through redact_command_line, and the lines
// of the exchange it starts through redact_auth_response: PLAIN's one
// response, LOGIN's user name and password, fewer for an initial
// response, none after a "*".  It reads the byte stream, not the
// channel (which may still hold pipelined lines back when the trace is
// written), so it errs towards hiding: lines after an exchange that
// failed early, or "AUTH" lines inside a message, are hidden too.
class AuthTraceFilter {
 public:
  std::string filter(std::string_view bytes);

 private:
  std::string shown(std::string_view line);
  std::string line_;        // the line so far, up to the limit
  bool long_line_ = false;  // past the limit: the rest is passed on
  bool hide_rest_ = false;  // ... or hidden
  bool last_cr_ = false;    // the last byte of the line so far was CR
  unsigned responses_ = 0;  // lines of an exchange still to hide
};

}  // namespace smtpd
