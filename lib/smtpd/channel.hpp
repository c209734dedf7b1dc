// channel.hpp - the SMTP protocol engine (smtpd.py's SMTPChannel), I/O-free.
//
// Bytes from the client go in with feed(); replies come out of output().
// On the way the channel asks its handler's hooks (handler.hpp): each
// answer is checked in one place and applied; a hook that answers later
// stops the channel until its answer comes (answer(), or a Later handle
// and collect_later()), and the channel then goes on with any input it
// had buffered (RFC 2920 pipelining).  The channel never touches a file
// descriptor, a clock or a global: the connection core (connection.hpp)
// and its loops, or your own event loop, do that.
//
//   smtpd::Channel channel(config, peer, &handler);
//   channel.feed(bytes);
//   write(fd, channel.output()); channel.consume_output(n);
//   if (channel.closed() && channel.output().empty()) close the connection
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpd/export.hpp"
#include "smtpd/handler.hpp"
#include "smtpd/limits.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

struct ChannelConfig {
  std::string hostname = "localhost";  // in the greeting and HELO reply
  std::uint64_t data_size_limit = limits::default_data_size;  // 0: none
  bool enable_smtputf8 = false;  // RFC 6531; not with decode_data
  bool decode_data = false;      // smtpd.py's decode_data
  std::size_t max_recipients = limits::default_max_recipients;
  unsigned max_errors = limits::default_max_errors;  // 0: no limit
  // AUTH PLAIN and LOGIN (RFC 4954), checked by Handler::handle_auth.
  // Offered, and served, only under TLS (encrypted()) unless auth_insecure
  // says to serve them in the clear too; before that AUTH gets 538.
  // Without auth, AUTH is a verb the channel does not know, as in smtpd.py.
  bool auth = false;
  bool auth_insecure = false;
  // STARTTLS (RFC 3207).  none: an unknown command, as in smtpd.py (the
  // EHLO reply is the reference's); offered: in the EHLO reply, and
  // answered 220 for the I/O layer to start TLS (tls_started());
  // unavailable: TLS was configured but this session has no certificate
  // (it could not be loaded), so STARTTLS gets 454.  The connection core
  // sets offered when it has a TLS layer to give (DriverOptions::tls).
  enum class StartTls { none, unavailable, offered };
  StartTls starttls = StartTls::none;
  // The connection is under TLS from its first byte (RFC 8314 3.3).
  bool tls_on_connect = false;
  // Before TLS, only EHLO, HELO, STARTTLS, NOOP, RSET and QUIT (530).
  bool require_tls = false;
};

// The hooks' Context is the channel itself: a hook that adds commands of
// its own (set_command) may reach it with dynamic_cast.
class SMTPD_API Channel : public Context {
 public:
  enum class State {
    command,         // reading command lines
    data,            // reading the message after 354
    awaiting_reply,  // a hook's answer (or a message's reply) is awaited
    starting_tls,    // STARTTLS was answered 220: flush the output, then
                     // put TLS under the connection and call tls_started();
                     // input until then is discarded, never answered
    closed,          // nothing more will be read; flush output, then close
  };

  // Asks the handler's connect hook, then queues the 220 greeting.  With
  // no handler every hook accepts, and each message waits for reply().
  // The handler must outlive the channel.  Throws std::invalid_argument
  // for a config the reference refuses too (SMTPUTF8 with decode_data).
  Channel(ChannelConfig config, Peer peer, Handler* handler = nullptr);
  ~Channel() override;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Client bytes, in any chunking: the replies do not depend on it.
  void feed(std::string_view bytes);
  // The client closed its side.  Complete commands already fed are still
  // answered; a partial line or an unfinished message is dropped.
  void end_of_input();

  // The hook whose answer is awaited (state() is awaiting_reply), if any.
  std::optional<Hook> waiting_for() const;
  // The answer to it, on the thread that drives the channel; checked as
  // every answer is (handler.hpp).  Resumes processing of buffered input.
  void answer(const Answer& answer);
  // A hook that answered later: the loop's function, called (from the
  // answering thread) once the Later handle has its answer; the loop then
  // calls collect_later() on its own thread.
  void set_wake(std::function<void()> wake);
  // Applies the Later handle's answer if it came; true when it did.
  bool collect_later();
  // Why answers were not used since the last call (hook problems), one
  // line each, for the log.
  std::vector<std::string> take_problems();

  // The message that waits for its reply, with no handler (or a DATA
  // hook that answers later); reply() is answer() in smtpd.py's terms:
  // nothing for "250 OK", else the reply line.
  const Envelope* pending_message() const;
  void reply(const Reply& answer);

  // The I/O layer put TLS under the connection after STARTTLS's 220: the
  // session starts over (RFC 3207 4.2: the HELO/EHLO, the transaction and
  // any authentication are forgotten), and STARTTLS is no longer offered.
  void tls_started();
  // The connection runs under TLS (STARTTLS, or from the first byte).
  bool encrypted() const;

  // The driver's clock ran out (idle or DATA): 421, then closed.
  void timed_out();
  // The process is asked to stop (SIGTERM): 421, then closed.
  void shut_down();

  std::string_view output() const;
  void consume_output(std::size_t n);

  State state() const;
  bool closed() const;
  // Why the channel closed, once it has.
  enum class Closing {
    open,             // not closed
    quit,             // QUIT
    input_ended,      // the client closed its side first
    timeout,          // timed_out()
    shutdown,         // shut_down()
    too_many_errors,  // ChannelConfig::max_errors
    by_hook,          // a hook's 421 or refusal to connect, or close()
  };
  Closing closing() const;
  // It closed while a message was being read: the message is lost to us
  // (nothing was answered 250 for it).
  bool closed_in_data() const;
  // A hook that answers later took its handle (Context::later).
  bool awaits_later() const;
  // The loop saw the client close the connection while a hook's answer
  // was awaited: the Later handles say so (Later::client_gone).
  void client_gone();

  // Extension, as smtpd.py's users added smtp_<VERB> methods: a handler
  // for VERB (upper case) that replaces the built-in one or adds a new
  // command.  It runs after the line limits and UTF-8 checks, with the
  // argument (stripped; none when the line had no space) and answers
  // with send_reply(); it may call run_builtin() to do what the channel
  // would have done.  An empty handler removes the command.  (For a verb
  // of your own, Handler::handle_verb is the simpler way.)
  using Argument = std::optional<std::string>;
  using CommandHandler =
      std::function<void(Channel& channel, const Argument& argument)>;
  void set_command(std::string verb, CommandHandler handler);
  void run_builtin(std::string_view verb, const Argument& argument);
  // One reply line (no CRLF) to the client, counted as an error if 5xx;
  // checked as a hook's answer is (a 421 closes, a malformed one is 451).
  void send_reply(std::string_view line);
  // Ends the session after the replies so far (as QUIT does).
  void close();
  // Makes the peer what a command such as XCLIENT says it is.
  void set_peer(Peer peer);

  // What SMTPChannel exposes.
  const Peer& peer() const;
  const std::string& seen_greeting() const;
  bool extended_smtp() const;
  const ChannelConfig& config() const;
  bool has_sender() const;
  // A line the client sends now is an AUTH exchange's response (RFC 4954
  // section 4), not a command: for a trace that must hide it.
  bool awaiting_auth_response() const;
  const Envelope& transaction() const override;
  const Session& session() const override;

 private:
  // Everything else is the channel's own (channel.cpp): the installed
  // header holds the interface only (libsmtpd(3), ABI POLICY).
  struct Impl;
  Later later() override;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtpd
