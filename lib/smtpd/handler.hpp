// handler.hpp - the hooks: what a library user plugs into a session.
//
// In the spirit of aiosmtpd's handle_* methods and OpenSMTPD's
// check/proceed: the channel parses and checks a command, then asks the
// handler, which answers
//   Answer::accept()        go on as the channel would (its own reply);
//   Answer::reply("550 No") this reply instead (a 2xx still accepts);
//   Answer::later()         not yet: the answer comes through the Later
//                           handle taken from the context, from any thread;
//   Answer::drop()          no reply at all: the connection is closed (a
//                           lost connection, as a test rig makes one).
// Every answer goes through one check (check_answer) before anything
// reaches the client: one line, printable ASCII, a code from 2xx to 5xx.
// A 421 ends the session (RFC 5321 3.8).  Anything else (empty,
// two lines, a bare "250-", a hook that throws) is never sent: the client
// gets a 451 and the log says why.  So no hook can lose mail (a recipient
// answered 250 is always on the envelope) or break the reply framing.
//
//   class Lists : public smtpd::Handler {
//     smtpd::Answer handle_rcpt(smtpd::Context& c, const std::string& to)
//     override {
//       if (known(to)) return smtpd::Answer::accept();
//       return smtpd::Answer::reply("550 No such list");
//     }
//   };
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "smtpd/auth.hpp"
#include "smtpd/export.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

// The hook points, in session order; those of a handler that streams the
// message (Handler::streams_data) come last, so that the others keep
// their values.
enum class Hook {
  connect,
  helo,
  mail,
  rcpt,
  data,
  rset,
  quit,
  verb,
  auth,
  data_command,  // the DATA command, before its 354
  data_piece,    // a piece of the message, as it arrives
};

SMTPD_API std::string_view hook_name(Hook hook);  // "RCPT", "connect", ...

// What the hooks see of the connection (aiosmtpd's Session).
struct Session {
  Peer peer;
  std::string helo;            // the HELO/EHLO argument; empty before
  bool extended_smtp = false;  // greeted with EHLO
  std::string authenticated;   // the AUTH identity; empty when none
                               // (RFC 4954: set by a 2xx to handle_auth)
  bool tls = false;            // the session runs under TLS
  unsigned messages = 0;       // messages accepted so far
};

class SMTPD_API Answer {
 public:
  enum class Kind { accept, reply, later, drop };

  static Answer accept(std::string detail = {}) {
    return Answer(Kind::accept, {}, std::move(detail));
  }
  static Answer reply(std::string line, std::string detail = {}) {
    return Answer(Kind::reply, std::move(line), std::move(detail));
  }
  static Answer later() { return Answer(Kind::later, {}, {}); }
  static Answer drop(std::string detail = {}) {
    return Answer(Kind::drop, {}, std::move(detail));
  }
  // The hook could not answer (it threw): the client gets a 451, the log
  // gets why.
  static Answer failed(std::string why);
  // smtpd.py's convention: nothing is "250 OK", else the reply line.
  static Answer from(const Reply& reply) {
    return reply ? Answer::reply(*reply) : Answer::accept();
  }

  Kind kind() const { return kind_; }
  const std::string& line() const { return line_; }
  // What the hook did, for the log: an upstream's reply, a command's
  // exit status.  Never sent to the client.
  const std::string& detail() const { return detail_; }
  bool is_failure() const { return failed_; }

 private:
  Answer(Kind kind, std::string line, std::string detail)
      : kind_(kind), line_(std::move(line)), detail_(std::move(detail)) {}
  Kind kind_;
  std::string line_;
  std::string detail_;
  bool failed_ = false;
};

// Calls a hook the one way: whatever it throws becomes Answer::failed.
template <typename Call>
Answer call_hook(Hook hook, Call&& call);

// An answer as the channel may use it.
struct CheckedAnswer {
  enum class Verdict {
    accept,  // go on; line is the hook's own 2xx, or empty for the built-in
    refuse,  // line is the 4xx/5xx (or 451 for a malformed answer)
    close,   // line is a 421: send it and end the session
    drop,    // end the session with no reply
  };
  Verdict verdict = Verdict::accept;
  std::string line;
  std::string problem;  // why the hook's answer was not used; for the log
};

// The one check every answer passes.  A 3xx is only for a verb of the
// user's own (an exchange it continues itself); never "later".
SMTPD_API CheckedAnswer check_answer(Hook hook, const Answer& answer);

// A handle to answer a hook later, once, from any thread.  The loop that
// drives the connection learns of it through the wake function it set
// (Channel::set_wake), and applies it on its own thread.
class SMTPD_API Later {
 public:
  void answer(Answer answer) const;
  // The client closed the connection while this answer was awaited: it
  // will reach no one.  A proxy says so in its log when its upstream
  // answers (a message the upstream took may come again).
  bool client_gone() const;

  struct State;  // shared with the channel
  explicit Later(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
};

// What a hook is given besides its argument.
class SMTPD_API Context {
 public:
  virtual ~Context() = default;
  virtual const Session& session() const = 0;
  virtual const Envelope& transaction() const = 0;
  // For a hook that will return Answer::later(): the handle to answer
  // with.  The same handle for as long as this hook is unanswered.
  virtual Later later() = 0;
};

// The hooks.  Each default goes on as the channel would; handle_data's
// default, with no handler at all, leaves the message to whoever drives
// the channel (Channel::pending_message).
class SMTPD_API Handler {
 public:
  virtual ~Handler() = default;

  // Before the greeting: a refusal is sent instead, and the session ends.
  virtual Answer handle_connect(Context&) { return Answer::accept(); }
  // HELO or EHLO (context.session().extended_smtp tells which is asked:
  // the session's greeting is set only once the hook accepts).
  virtual Answer handle_helo(Context&, const std::string& /*name*/,
                             bool /*extended*/) {
    return Answer::accept();
  }
  virtual Answer handle_mail(Context&, const std::string& /*address*/) {
    return Answer::accept();
  }
  // A recipient accepted here (accept, or any 2xx) is on the envelope.
  virtual Answer handle_rcpt(Context&, const std::string& /*address*/) {
    return Answer::accept();
  }
  // The message, after the final dot: accept is "250 OK".  Answer 2xx
  // only once the message was handed on (RFC 5321 4.2.5).
  virtual Answer handle_data(Context&, const Envelope& /*message*/) {
    return Answer::accept();
  }
  // RSET and QUIT always reset or end; the answer may only change the text.
  virtual Answer handle_rset(Context&) { return Answer::accept(); }
  virtual Answer handle_quit(Context&) { return Answer::accept(); }
  // A verb the channel does not know: accept is "500 command not
  // recognized"; a reply answers it.
  virtual Answer handle_verb(Context&, const std::string& /*verb*/,
                             const std::optional<std::string>& /*argument*/) {
    return Answer::accept();
  }

  // AUTH (RFC 4954), once the client's credentials are complete: accept
  // (or a 2xx) logs the client in as credentials.user, which the session
  // then carries (Session::authenticated); a 4xx or 5xx refuses (535 for
  // bad credentials, 454 for a check that could not be made).  The
  // credentials stay put until the answer, a later one too, and are wiped
  // after it: copy nothing of them.  The default refuses everyone, so a
  // channel that offers AUTH (ChannelConfig::auth) needs a checker.
  virtual Answer handle_auth(Context&, const AuthCredentials& credentials);

  // After a message's answer was checked: what the client got (reply) and
  // what the delivery said (detail).  For a transaction log.
  virtual void message_answered(const Session&, const Envelope&,
                                std::string_view /*reply*/,
                                std::string_view /*detail*/) {}

  // true when the hook may block (a command, the network, a lock): the
  // standalone listener runs it on a thread of its own, so that the other
  // sessions go on.  The inetd driver, one session per process, calls it
  // where it is.
  virtual bool blocks(Hook) const { return false; }

  // Streaming (a before-queue proxy; aiosmtpd's DATA hook split in
  // three).  A handler whose streams_data() is true takes the message as
  // it arrives, and the channel does not keep it: handle_data then gets
  // the envelope with data empty.  In order:
  //   handle_data_command  at DATA: accept (or a 2xx) is the channel's
  //                        354; a refusal is the client's reply, and the
  //                        transaction stays as it was.  May answer later.
  //   handle_data_piece    each run of the message's bytes as they become
  //                        final (the form of Envelope::data: dots taken
  //                        out, lines joined with LF), valid during the
  //                        call only; pieces joined are Envelope::data.
  //                        Answer later for backpressure: the channel
  //                        reads nothing more until the answer.  A refusal
  //                        stops the pieces; the rest of the message is
  //                        read and dropped, and handle_data still comes.
  //   handle_data          after the final dot, as for any handler.
  // A message that does not come whole (over the size limit, the client
  // gone, a timeout) ends with data_abandoned instead of handle_data: the
  // client is refused (552) or gone, and nothing of it may be delivered.
  virtual bool streams_data() const { return false; }
  virtual Answer handle_data_command(Context&) { return Answer::accept(); }
  virtual Answer handle_data_piece(Context&, std::string_view /*piece*/) {
    return Answer::accept();
  }
  virtual void data_abandoned(Context&) {}
};

// A handler around another one, which it owns: every hook and every
// report goes on to the inner handler unless a subclass overrides it (a
// transaction log, failures on demand).
class SMTPD_API HandlerWrapper : public Handler {
 public:
  explicit HandlerWrapper(std::unique_ptr<Handler> inner)
      : inner_(std::move(inner)) {}

  Answer handle_connect(Context& c) override {
    return inner_->handle_connect(c);
  }
  Answer handle_helo(Context& c, const std::string& name,
                     bool extended) override {
    return inner_->handle_helo(c, name, extended);
  }
  Answer handle_mail(Context& c, const std::string& address) override {
    return inner_->handle_mail(c, address);
  }
  Answer handle_rcpt(Context& c, const std::string& address) override {
    return inner_->handle_rcpt(c, address);
  }
  Answer handle_data(Context& c, const Envelope& message) override {
    return inner_->handle_data(c, message);
  }
  Answer handle_rset(Context& c) override { return inner_->handle_rset(c); }
  Answer handle_quit(Context& c) override { return inner_->handle_quit(c); }
  Answer handle_verb(Context& c, const std::string& verb,
                     const std::optional<std::string>& argument) override {
    return inner_->handle_verb(c, verb, argument);
  }
  Answer handle_auth(Context& c, const AuthCredentials& credentials) override {
    return inner_->handle_auth(c, credentials);
  }
  void message_answered(const Session& session, const Envelope& message,
                        std::string_view reply,
                        std::string_view detail) override {
    inner_->message_answered(session, message, reply, detail);
  }
  bool blocks(Hook hook) const override { return inner_->blocks(hook); }
  bool streams_data() const override { return inner_->streams_data(); }
  Answer handle_data_command(Context& c) override {
    return inner_->handle_data_command(c);
  }
  Answer handle_data_piece(Context& c, std::string_view piece) override {
    return inner_->handle_data_piece(c, piece);
  }
  void data_abandoned(Context& c) override { inner_->data_abandoned(c); }

 protected:
  Handler& inner() const { return *inner_; }

 private:
  std::unique_ptr<Handler> inner_;
};

// SMTPServer: a handler with one hook, process_message, called once per
// message after the final dot, as smtpd.py's users overrode it.
class SMTPD_API Server : public Handler {
 public:
  virtual Reply process_message(const Envelope& envelope) = 0;
  Answer handle_data(Context&, const Envelope& message) override {
    return Answer::from(process_message(message));
  }
};

SMTPD_API Answer answer_for_exception(Hook hook);  // in a catch block

template <typename Call>
Answer call_hook(Hook hook, Call&& call) {
  try {
    return call();
  } catch (...) {
    return answer_for_exception(hook);
  }
}

}  // namespace smtpd
