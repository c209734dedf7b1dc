// channel.cpp - the SMTP state machine (see channel.hpp).
//
// Behaviour follows CPython 3.11's smtpd.SMTPChannel reply for reply; the
// places where we deliberately differ are marked "Deviation" and listed in
// the README.
#include "smtpd/channel.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>

#include "smtpd/address.hpp"
#include "smtpd/auth_exchange.hpp"
#include "smtpd/data_reader.hpp"
#include "smtpd/later_state.hpp"
#include "smtpd/params.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

constexpr std::string_view crlf = "\r\n";

// "FROM:" / "TO:" at the start of a MAIL / RCPT argument, in any case;
// what follows, stripped.  Empty when the keyword is not there.
std::string_view after_keyword(std::string_view argument,
                               std::string_view keyword) {
  if (argument.size() < keyword.size() ||
      text::ascii_upper(argument.substr(0, keyword.size())) != keyword)
    return {};
  return text::strip(argument.substr(keyword.size()));
}

}  // namespace

// Not exported: no program sees it (libsmtpd(3), ABI POLICY).
struct __attribute__((visibility("hidden"))) Channel::Impl {
  Impl(Channel& self, ChannelConfig config, Handler* handler);
  void start(Peer peer);  // the constructor's work, once impl_ is set

  void feed(std::string_view bytes);
  void end_of_input();
  std::optional<Hook> waiting_for() const;
  void answer(const Answer& answer);
  void set_wake(std::function<void()> wake);
  bool collect_later();
  const Envelope* pending_message() const;
  void tls_started();
  void timed_out();
  void shut_down();
  void set_command(std::string verb, CommandHandler handler);
  void run_builtin(std::string_view verb, const Argument& argument);
  void send_reply(std::string_view line);
  void set_peer(Peer peer);
  std::vector<std::string> take_problems() { return std::move(problems_); }
  void reply(const Reply& answer) { this->answer(Answer::from(answer)); }
  bool encrypted() const { return encrypted_; }
  std::string_view output() const { return output_; }
  void consume_output(std::size_t n) { output_.erase(0, n); }
  State state() const { return state_; }
  bool closed() const { return state_ == State::closed; }
  Closing closing() const { return closing_; }
  bool closed_in_data() const { return closed_in_data_; }
  bool awaits_later() const { return later_ != nullptr; }
  void client_gone();
  void close() { end(Closing::by_hook); }
  const Peer& peer() const { return session_.peer; }
  const std::string& seen_greeting() const { return session_.helo; }
  bool extended_smtp() const { return session_.extended_smtp; }
  const ChannelConfig& config() const { return config_; }
  bool has_sender() const { return has_sender_; }
  bool awaiting_auth_response() const { return auth_.awaiting_response(); }
  const Envelope& transaction() const { return transaction_; }
  const Session& session() const { return session_; }

  Channel& self_;  // what the hooks and command handlers are given

  using Builtin = void (Impl::*)(const std::string* argument);
  struct Command {
    std::string_view verb;
    Builtin handler;
  };
  static const Command commands_[];
  std::map<std::string, CommandHandler, std::less<>> extensions_;

  // Runs the commands and messages in the input held back (process) or
  // in input (consume: returns how much of it was used), then closes the
  // channel if the input ended with a command or message unfinished.
  // The hooks: ask() calls one and, unless it answers later, settle()
  // checks the answer and proceed() does what it says.
  Later later();
  void ask(Hook hook);
  Answer call(Hook hook);
  void settle(Hook hook, const Answer& answer);
  void proceed(Hook hook, const CheckedAnswer& checked,
               const std::string& detail);
  void greeting();
  void answered(std::string_view reply, const std::string& detail);

  void process();
  std::size_t consume(std::string_view input);
  void after_input();
  // Each consumes a prefix of input (used); true when it completed a
  // command or a message and the next one may follow.
  bool process_command_input(std::string_view input, std::size_t& used);
  bool process_data_input(std::string_view input, std::size_t& used);
  void handle_line(std::string_view line, std::size_t length);

  void smtp_helo(const std::string* argument);
  void smtp_ehlo(const std::string* argument);
  void smtp_noop(const std::string* argument);
  void smtp_quit(const std::string* argument);
  void smtp_mail(const std::string* argument);
  void smtp_rcpt(const std::string* argument);
  void smtp_rset(const std::string* argument);
  void smtp_data(const std::string* argument);
  void smtp_help(const std::string* argument);
  void smtp_vrfy(const std::string* argument);
  void smtp_expn(const std::string* argument);
  void smtp_auth(const std::string* argument);

  // AUTH: what the exchange's next step says.
  void auth_step(const AuthStep& step);
  bool auth_offered() const;
  // A verb with no built-in meaning here: the verb hook, or 500.
  void unknown_verb(std::string_view verb, const Argument& argument);
  void smtp_starttls(const std::string* argument);
  bool allowed_before_tls(std::string_view verb) const;

  bool greet(const std::string* argument, std::string_view syntax);
  std::string syntax_error(std::string_view verb_syntax) const;
  void reset_transaction();
  void refused_message(std::string_view reply);  // a log line for it
  void push(std::string_view reply);
  void push_unknown(std::string_view verb);
  void end(Closing why);  // closed, for this reason unless closed already
  void close_with(std::string_view reason);  // 421 <host> reason, closed
  void close_with_reply(std::string_view reply);
  std::size_t mail_line_limit() const;
  std::size_t input_line_limit() const;  // the longest line kept

  ChannelConfig config_;
  Handler* handler_;
  Session session_;
  State state_ = State::command;
  Closing closing_ = Closing::open;
  bool closed_in_data_ = false;
  // The hook asked, and what it was asked about, until it answers.
  Hook waiting_ = Hook::data;
  std::string asked_;  // HELO name, MAIL/RCPT address, verb
  std::vector<std::string> asked_options_;
  Argument asked_argument_;      // a verb's
  bool asked_extended_ = false;  // EHLO rather than HELO
  std::shared_ptr<Later::State> later_;
  std::function<void()> wake_;
  std::vector<std::string> problems_;
  std::string output_;

  // Input not yet consumed (held while a message awaits its reply).
  std::string input_;
  bool input_ended_ = false;
  // The command line being read, cut at the longest limit; its full length.
  std::string line_;
  std::size_t line_length_ = 0;
  // The line being handled ended with a bare LF, not CRLF.
  bool bare_lf_ = false;

  // DATA: the message as it arrives, its end and its size (made at the
  // first DATA, kept for the next messages).
  std::unique_ptr<DataReader> data_;
  // A handler that streams the message (Handler::streams_data) gets it
  // piece by piece, and it is not kept here.
  void start_data();        // 354, and the message is read
  void abandon_stream();    // data_abandoned, once, for a message cut short
  bool streaming_ = false;  // this message goes to the piece hook
  bool stream_refused_ = false;  // a piece was refused: the rest is dropped
  bool client_gone_ = false;     // client_gone(), for the next handles too

  bool has_sender_ = false;
  Envelope transaction_;
  // Under TLS: set by tls_started() or, from the first byte, by
  // ChannelConfig::tls_on_connect.  AUTH may be offered then.
  bool encrypted_ = false;
  // AUTH (RFC 4954): the exchange under way, if any; its credentials stay
  // here, wiped after the verdict, while the auth hook checks them.
  AuthExchange auth_;
  unsigned errors_ = 0;
};

// The command table: verb -> handler.  smtpd.py finds smtp_<VERB> methods
// by name; this is the same list, and AUTH (RFC 4954), which is served
// only when ChannelConfig::auth says so.
const Channel::Impl::Command Channel::Impl::commands_[] = {
    {"HELO", &Impl::smtp_helo},
    {"EHLO", &Impl::smtp_ehlo},
    {"NOOP", &Impl::smtp_noop},
    {"QUIT", &Impl::smtp_quit},
    {"MAIL", &Impl::smtp_mail},
    {"RCPT", &Impl::smtp_rcpt},
    {"RSET", &Impl::smtp_rset},
    {"DATA", &Impl::smtp_data},
    {"HELP", &Impl::smtp_help},
    {"VRFY", &Impl::smtp_vrfy},
    {"EXPN", &Impl::smtp_expn},
    // RFC 3207; unknown without TLS configured (smtp_starttls).
    {"STARTTLS", &Impl::smtp_starttls},
    // RFC 4954; unknown without ChannelConfig::auth (smtp_auth).
    {"AUTH", &Impl::smtp_auth},
};

Channel::Channel(ChannelConfig config, Peer peer, Handler* handler)
    : impl_(std::make_unique<Impl>(*this, std::move(config), handler)) {
  impl_->start(std::move(peer));
}

Channel::Impl::Impl(Channel& self, ChannelConfig config, Handler* handler)
    : self_(self), config_(std::move(config)), handler_(handler) {}

void Channel::Impl::start(Peer peer) {
  if (config_.enable_smtputf8 && config_.decode_data)
    throw std::invalid_argument(
        "decode_data and SMTPUTF8 cannot be enabled at the same time");
  session_.peer = std::move(peer);
  encrypted_ = session_.tls = config_.tls_on_connect;
  reset_transaction();
  if (handler_)
    ask(Hook::connect);
  else
    greeting();
}

Channel::~Channel() = default;

void Channel::Impl::greeting() {
  push("220 " + config_.hostname + " " + std::string(replies::banner));
}

// --- input ----------------------------------------------------------------

void Channel::Impl::feed(std::string_view bytes) {
  if (state_ == State::closed) return;
  if (input_.empty()) {
    // The usual case: nothing held back, so work on the caller's bytes
    // and keep only what is left (pipelined input behind a message).
    input_.assign(bytes.substr(consume(bytes)));
    after_input();
  } else {
    input_.append(bytes);
    process();
  }
}

void Channel::Impl::end_of_input() {
  input_ended_ = true;
  process();
}

void Channel::Impl::process() {
  input_.erase(0, consume(input_));
  after_input();
}

std::size_t Channel::Impl::consume(std::string_view input) {
  std::size_t consumed = 0;
  for (;;) {
    std::size_t used = 0;
    bool complete = false;
    if (state_ == State::command) {
      complete = process_command_input(input, used);
    } else if (state_ == State::data) {
      complete = process_data_input(input, used);
    } else {
      break;
    }
    input.remove_prefix(used);
    consumed += used;
    if (!complete) break;
  }
  return consumed;
}

void Channel::Impl::after_input() {
  if (state_ == State::starting_tls && !input_.empty()) {
    // Sent before the client could have seen our 220: it was not meant
    // for the TLS session and is never answered inside it (the command
    // injection of CVE-2011-0411).
    problems_.push_back("discarded " + std::to_string(input_.size()) +
                        " bytes sent after STARTTLS, before TLS");
    input_.clear();
  }
  if (input_ended_ && (state_ == State::command || state_ == State::data ||
                       state_ == State::starting_tls)) {
    // Whatever is left is a partial line or an unfinished message: the
    // client gave up on it, so nothing is delivered.
    end(Closing::input_ended);
  }
  if (state_ == State::closed) input_.clear();
}

bool Channel::Impl::process_command_input(std::string_view input,
                                          std::size_t& used) {
  // Keep no more of a line than the longest line we may accept: the rest
  // is only counted (memory stays bounded whatever the client sends).
  const std::size_t keep = input_line_limit();
  // RFC 5321 2.3.8: lines end with CRLF.  A command line ended by a bare
  // LF is taken all the same (deviation: the reference waits for a CRLF
  // and reads on into the next line), as aiosmtpd and Postfix take it:
  // nc without -C, a person at a terminal, some mailers.  A bare CR stays
  // part of the line.  This is for commands only: DATA ends at CRLF.CRLF
  // alone (process_data_input: no smuggling).
  const std::size_t lf = input.find('\n');
  if (lf == std::string_view::npos) {
    // Hold back a final CR: it may be the first half of the CRLF.
    used = input.size();
    if (used > 0 && input.back() == '\r') --used;
    const std::string_view part = input.substr(0, used);
    if (line_.size() < keep) line_.append(part.substr(0, keep - line_.size()));
    line_length_ += part.size();
    return false;
  }
  used = lf + 1;
  bare_lf_ = lf == 0 || input[lf - 1] != '\r';
  const std::size_t end = bare_lf_ ? lf : lf - 1;
  const std::string_view part = input.substr(0, end);
  const std::size_t length = line_length_ + part.size();
  // RFC 4954 section 4: while an AUTH exchange waits for the client, its
  // line is a response, never a command.
  // A response longer than the limit is kept one byte longer than it:
  // respond() says it is too long (input_line_limit).
  const auto handle = [this](std::string_view line, std::size_t length) {
    if (auth_.awaiting_response())
      auth_step(auth_.respond(line));
    else
      handle_line(line, length);
  };
  if (line_.empty()) {
    handle(part.substr(0, keep), length);
  } else {
    if (line_.size() < keep) line_.append(part.substr(0, keep - line_.size()));
    const std::string line = std::move(line_);
    handle(line, length);
  }
  line_.clear();
  line_length_ = 0;
  return true;
}

void Channel::Impl::handle_line(std::string_view line, std::size_t length) {
  if (length == 0) {
    push(replies::bad_syntax);
    return;
  }
  const std::size_t space = line.find(' ');
  // str.upper(), as the reference: "maıl" is MAIL there (U+0131).
  const std::string verb = text::upper(line.substr(0, space));
  // Only MAIL grows with SIZE and SMTPUTF8 (RFC 1870 3, RFC 6531 3.4);
  // AUTH with its initial response may be longer (RFC 4954 section 4).
  std::size_t limit = limits::command_line;
  if (session_.extended_smtp && verb == "MAIL") limit = mail_line_limit();
  if (config_.auth && verb == "AUTH") limit = limits::auth_line;
  if (length > limit) {
    push(replies::line_too_long);
    return;
  }
  // Deviation: the reference accepts NUL bytes and drops the connection
  // on bytes that are not UTF-8; we answer and go on.
  if (line.find('\0') != std::string_view::npos) {
    push(replies::nul_in_command);
    return;
  }
  if (!text::is_valid_utf8(line)) {
    push(replies::not_utf8);
    return;
  }
  Argument argument;
  if (space != std::string_view::npos)
    argument = std::string(text::strip(line.substr(space + 1)));
  if (config_.require_tls && !encrypted_ && !allowed_before_tls(verb))
    return push(replies::tls_required);
  if (!extensions_.empty()) {
    const auto extension = extensions_.find(verb);
    if (extension != extensions_.end()) {
      if (extension->second)
        extension->second(self_, argument);
      else
        push_unknown(verb);
      return;
    }
  }
  run_builtin(verb, argument);
}

void Channel::Impl::run_builtin(std::string_view verb,
                                const Argument& argument) {
  for (const Command& command : commands_) {
    if (command.verb == verb) {
      (this->*command.handler)(argument ? &*argument : nullptr);
      return;
    }
  }
  unknown_verb(verb, argument);
}

void Channel::Impl::unknown_verb(std::string_view verb,
                                 const Argument& argument) {
  if (!handler_) return push_unknown(verb);
  asked_ = std::string(verb);
  asked_argument_ = argument;
  ask(Hook::verb);
}

void Channel::Impl::send_reply(std::string_view line) {
  const CheckedAnswer checked =
      check_answer(Hook::verb, Answer::reply(std::string(line)));
  if (!checked.problem.empty()) problems_.push_back(checked.problem);
  if (checked.verdict == CheckedAnswer::Verdict::close)
    return close_with_reply(checked.line);
  push(checked.line);
}

void Channel::Impl::push_unknown(std::string_view verb) {
  // Deviation: never echo bytes that could break the reply's framing.
  if (text::echoable(verb, transaction_.smtputf8))
    push(std::string(replies::unknown_command_prefix) + std::string(verb) +
         std::string(replies::unknown_command_suffix));
  else
    push(replies::unknown_command);
}

// The reader (data_reader.hpp) frames the message: where it ends, its
// size, its dots.  The channel only asks whether it is complete and too big.
bool Channel::Impl::process_data_input(std::string_view input,
                                       std::size_t& used) {
  used = data_->read(input);
  if (streaming_ && !data_->message().empty()) {
    // The bytes decided so far go to the handler, and are forgotten.
    if (!stream_refused_) ask(Hook::data_piece);
    data_->forget_message();
    if (state_ != State::data) return false;  // later, or closed
  }
  if (!data_->complete()) return false;
  if (data_->too_big()) {
    // Deviation: the reference stays in DATA state here; we end the
    // transaction and read commands again.
    data_->take_message();
    abandon_stream();
    refused_message(replies::too_much_data);
    reset_transaction();
    state_ = State::command;
    push(replies::too_much_data);
    return true;
  }
  transaction_.data = data_->take_message();  // empty when streamed
  streaming_ = false;
  ask(Hook::data);
  return true;
}

const Envelope* Channel::Impl::pending_message() const {
  return state_ == State::awaiting_reply && waiting_ == Hook::data
             ? &transaction_
             : nullptr;
}

std::optional<Hook> Channel::Impl::waiting_for() const {
  if (state_ != State::awaiting_reply) return std::nullopt;
  return waiting_;
}

void Channel::Impl::answer(const Answer& answer) {
  if (state_ != State::awaiting_reply || answer.kind() == Answer::Kind::later)
    return;
  settle(waiting_, answer);
  process();
}

// --- hooks ------------------------------------------------------------------

Later Channel::Impl::later() {
  if (!later_) {
    later_ = std::make_shared<Later::State>();
    later_->wake = wake_;
    later_->client_gone = client_gone_;
  }
  return Later(later_);
}

void Channel::Impl::client_gone() {
  client_gone_ = true;
  if (!later_) return;
  const std::lock_guard<std::mutex> lock(later_->mutex);
  later_->client_gone = true;
}

void Channel::Impl::set_wake(std::function<void()> wake) {
  wake_ = std::move(wake);
  if (!later_) return;
  bool answered;
  {
    const std::lock_guard<std::mutex> lock(later_->mutex);
    later_->wake = wake_;
    answered = later_->answer.has_value();
  }
  if (answered && wake_) wake_();  // it came before the loop was ready
}

bool Channel::Impl::collect_later() {
  if (!later_ || state_ != State::awaiting_reply) return false;
  std::optional<Answer> answer;
  {
    const std::lock_guard<std::mutex> lock(later_->mutex);
    answer.swap(later_->answer);
  }
  if (!answer) return false;
  this->answer(*answer);
  return true;
}

void Channel::Impl::ask(Hook hook) {
  waiting_ = hook;
  if (!handler_) {
    // Nothing to ask: the built-in answer, but a message waits for
    // whoever drives the channel.
    if (hook == Hook::data)
      state_ = State::awaiting_reply;
    else if (hook == Hook::auth)  // no one to vouch for the credentials
      proceed(hook,
              CheckedAnswer{CheckedAnswer::Verdict::refuse,
                            std::string(replies::auth_invalid),
                            {}},
              {});
    else
      proceed(hook, CheckedAnswer{}, {});
    return;
  }
  const Answer answer = call_hook(hook, [&] { return call(hook); });
  if (answer.kind() == Answer::Kind::later && later_) {
    state_ = State::awaiting_reply;  // until answer() or collect_later()
    return;
  }
  settle(hook, answer);
}

Answer Channel::Impl::call(Hook hook) {
  switch (hook) {
    case Hook::connect:
      return handler_->handle_connect(self_);
    case Hook::helo:
      return handler_->handle_helo(self_, asked_, asked_extended_);
    case Hook::mail:
      return handler_->handle_mail(self_, asked_);
    case Hook::rcpt:
      return handler_->handle_rcpt(self_, asked_);
    case Hook::data:
      return handler_->handle_data(self_, transaction_);
    case Hook::rset:
      return handler_->handle_rset(self_);
    case Hook::quit:
      return handler_->handle_quit(self_);
    case Hook::verb:
      return handler_->handle_verb(self_, asked_, asked_argument_);
    case Hook::auth:
      return handler_->handle_auth(self_, auth_.credentials());
    case Hook::data_command:
      return handler_->handle_data_command(self_);
    case Hook::data_piece:
      return handler_->handle_data_piece(self_, data_->message());
  }
  return Answer::accept();
}

void Channel::Impl::settle(Hook hook, const Answer& answer) {
  if (later_) {
    // A handle still held answers nothing from now on.
    const std::lock_guard<std::mutex> lock(later_->mutex);
    later_->detached = true;
  }
  later_.reset();
  // A piece's answer returns to the message, whatever it says.
  if (state_ == State::awaiting_reply)
    state_ = hook == Hook::data_piece ? State::data : State::command;
  const CheckedAnswer checked = check_answer(hook, answer);
  if (!checked.problem.empty()) problems_.push_back(checked.problem);
  proceed(hook, checked, answer.detail());
}

void Channel::Impl::answered(std::string_view reply,
                             const std::string& detail) {
  if (!handler_) return;
  try {
    handler_->message_answered(session_, transaction_, reply, detail);
  } catch (...) {
    problems_.push_back(answer_for_exception(Hook::data).detail());
  }
}

// What each hook's answer does (OpenSMTPD's "proceed").  Whatever the
// answer, the envelope holds exactly what the client was told: a
// recipient answered 2xx is on it, one refused is not.
void Channel::Impl::proceed(Hook hook, const CheckedAnswer& checked,
                            const std::string& detail) {
  using Verdict = CheckedAnswer::Verdict;
  const bool accepted = checked.verdict == Verdict::accept;
  std::string user;  // AUTH: who logged in, if the answer says so
  if (hook == Hook::auth) {
    // The verdict is in: the credentials are wiped whatever it is.
    if (accepted) user = auth_.credentials().user;
    auth_.finish(accepted ? AuthVerdict::good : AuthVerdict::bad);
  }
  if (checked.verdict == Verdict::drop) {
    // Nothing more is said, not even for a message: the client cannot
    // tell it from a lost connection, and keeps the message (RFC 5321
    // 6.1 leaves it the sender's).
    if (hook == Hook::data) reset_transaction();
    return end(Closing::by_hook);
  }
  if (checked.verdict == Verdict::close) {
    if (hook == Hook::data) {
      answered(checked.line, detail);
      reset_transaction();
    }
    return close_with_reply(checked.line);
  }
  const std::string_view own =
      checked.line.empty() ? replies::ok : std::string_view(checked.line);
  switch (hook) {
    case Hook::connect:
      if (accepted) return greeting();
      // Refused before the greeting: the refusal, then the end.
      push(checked.line);
      return end(Closing::by_hook);
    case Hook::helo:
      if (!accepted) return push(checked.line);
      session_.helo = std::move(asked_);
      reset_transaction();
      if (!asked_extended_) return push("250 " + config_.hostname);
      session_.extended_smtp = true;
      push("250-" + config_.hostname);
      if (config_.data_size_limit != 0)  // RFC 1870
        push("250-SIZE " + std::to_string(config_.data_size_limit));
      if (!config_.decode_data) push("250-8BITMIME");     // RFC 6152
      if (config_.enable_smtputf8) push("250-SMTPUTF8");  // RFC 6531
      push("250-PIPELINING");                             // RFC 2920
      if (config_.starttls == ChannelConfig::StartTls::offered && !encrypted_)
        push("250-STARTTLS");  // RFC 3207 4
      // RFC 4954 section 3: AUTH and its mechanisms, where it is served.
      if (auth_offered())
        push("250-AUTH " + std::string(AuthExchange::mechanisms));
      return push("250 HELP");
    case Hook::mail:
      if (!accepted) {
        transaction_.mail_options.clear();
        transaction_.smtputf8 = false;
        return push(checked.line);
      }
      has_sender_ = true;
      transaction_.mail_from = std::move(asked_);
      if (!config_.decode_data)
        transaction_.mail_options = std::move(asked_options_);
      return push(own);
    case Hook::rcpt:
      if (!accepted) return push(checked.line);
      transaction_.rcpt_tos.push_back(std::move(asked_));
      if (!config_.decode_data)
        transaction_.rcpt_options = std::move(asked_options_);
      return push(own);
    case Hook::data: {
      if (accepted) ++session_.messages;
      answered(own, detail);
      reset_transaction();
      state_ = State::command;
      return push(own);
    }
    case Hook::rset:
      // RSET always resets (RFC 5321 4.1.1.5): only a 2xx text is taken.
      reset_transaction();
      return push(accepted ? own : replies::ok);
    case Hook::quit:
      push(accepted && !checked.line.empty() ? own : replies::bye);
      return end(Closing::quit);
    case Hook::verb:
      if (accepted && checked.line.empty()) return push_unknown(asked_);
      return push(checked.line);
    case Hook::auth:
      // RFC 4954 section 6: success is 235 whatever the hook's text.
      if (!accepted) return push(checked.line);
      session_.authenticated = std::move(user);
      return push(checked.line.rfind("235", 0) == 0 ? own : replies::auth_ok);
    case Hook::data_command:
      // The 354 is ours: a proxy answers accept once its upstream's came.
      if (!accepted) return push(checked.line);
      return start_data();
    case Hook::data_piece:
      // A refusal stops the pieces; the message is read to its end, and
      // its reply is the DATA hook's.
      if (!accepted) stream_refused_ = true;
      return;
  }
}

void Channel::Impl::timed_out() {
  if (state_ != State::closed) closing_ = Closing::timeout;
  close_with(replies::timeout);
}

void Channel::Impl::shut_down() {
  if (state_ != State::closed) closing_ = Closing::shutdown;
  close_with(replies::shutting_down);
}

// --- commands -------------------------------------------------------------

bool Channel::Impl::greet(const std::string* argument,
                          std::string_view syntax) {
  if (!argument || argument->empty()) {
    push(syntax);
    return false;
  }
  // A second greeting is refused, as smtpd.py does (CPython issue 21783).
  if (!session_.helo.empty()) {
    push(replies::duplicate_greeting);
    return false;
  }
  asked_ = *argument;
  return true;
}

void Channel::Impl::smtp_helo(const std::string* argument) {
  if (!greet(argument, replies::helo_syntax)) return;
  asked_extended_ = false;
  ask(Hook::helo);
}

void Channel::Impl::smtp_ehlo(const std::string* argument) {
  if (!greet(argument, replies::ehlo_syntax)) return;
  asked_extended_ = true;
  ask(Hook::helo);
}

void Channel::Impl::smtp_noop(const std::string* argument) {
  push(argument && !argument->empty() ? replies::noop_syntax : replies::ok);
}

void Channel::Impl::smtp_quit(const std::string*) { ask(Hook::quit); }

std::string Channel::Impl::syntax_error(std::string_view verb_syntax) const {
  std::string reply(verb_syntax);
  if (session_.extended_smtp) reply += replies::params_syntax;
  return reply;
}

void Channel::Impl::smtp_mail(const std::string* argument) {
  if (session_.helo.empty()) return push(replies::need_helo);
  const std::string syntax = syntax_error(replies::mail_syntax);
  if (!argument) return push(syntax);
  const ParsedPath path = parse_path(after_keyword(*argument, "FROM:"));
  if (path.address.empty()) return push(syntax);
  if (!session_.extended_smtp && !path.rest.empty()) return push(syntax);
  if (has_sender_) return push(replies::nested_mail);
  std::vector<std::string> options = EsmtpParams::words(path.rest);
  std::optional<EsmtpParams> params = EsmtpParams::parse(options);
  if (!params) return push(syntax);
  if (!config_.decode_data) {  // RFC 6152: BODY comes with 8BITMIME
    const auto body = params->take("BODY");
    if (body &&
        (!body->given || (body->text != "7BIT" && body->text != "8BITMIME")))
      return push(replies::bad_body);
  }
  if (config_.enable_smtputf8) {
    if (const auto smtputf8 = params->take("SMTPUTF8")) {
      if (smtputf8->given) return push(replies::smtputf8_argument);
      transaction_.smtputf8 = true;
    }
  }
  if (const auto size = params->take("SIZE")) {  // RFC 1870 section 6
    // Deviation: a bare SIZE or a non-ASCII digit made the reference
    // drop the connection; both are syntax errors here.
    const std::string& digits = size->text;
    if (!size->given ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      return push(syntax);
    const std::uint64_t limit = config_.data_size_limit;
    const std::string limit_text = std::to_string(limit);
    const std::string_view significant = std::string_view(digits).substr(
        std::min(digits.find_first_not_of('0'), digits.size()));
    const bool too_big =
        significant.size() > limit_text.size() ||
        (significant.size() == limit_text.size() && significant > limit_text);
    if (limit != 0 && too_big) {
      transaction_.mail_from = path.address;
      refused_message(replies::size_exceeded);
      transaction_.mail_from.clear();
      return push(replies::size_exceeded);
    }
  }
  if (!params->empty()) return push(replies::mail_params_unknown);
  asked_ = path.address;
  // The hook sees the parameters it is asked about: a proxy passes them on.
  if (!config_.decode_data) transaction_.mail_options = options;
  asked_options_ = std::move(options);
  ask(Hook::mail);
}

void Channel::Impl::smtp_rcpt(const std::string* argument) {
  if (session_.helo.empty()) return push(replies::need_helo);
  if (!has_sender_) return push(replies::need_mail);
  const std::string syntax = syntax_error(replies::rcpt_syntax);
  if (!argument) return push(syntax);
  const ParsedPath path = parse_path(after_keyword(*argument, "TO:"));
  if (path.address.empty()) return push(syntax);
  if (!session_.extended_smtp && !path.rest.empty()) return push(syntax);
  std::vector<std::string> options = EsmtpParams::words(path.rest);
  const std::optional<EsmtpParams> params = EsmtpParams::parse(options);
  if (!params) return push(syntax);
  // No RCPT parameter is implemented, as in smtpd.py.
  if (!params->empty()) return push(replies::rcpt_params_unknown);
  // Deviation: the reference takes any number of recipients.  Counted
  // before the hook: a check that may be slow is not asked in vain.
  if (transaction_.rcpt_tos.size() >= config_.max_recipients)
    return push(replies::too_many_recipients);
  asked_ = path.address;
  asked_options_ = std::move(options);
  ask(Hook::rcpt);
}

void Channel::Impl::smtp_rset(const std::string* argument) {
  if (argument && !argument->empty()) return push(replies::rset_syntax);
  ask(Hook::rset);
}

void Channel::Impl::smtp_data(const std::string* argument) {
  if (session_.helo.empty()) return push(replies::need_helo);
  if (transaction_.rcpt_tos.empty()) return push(replies::need_rcpt);
  if (argument && !argument->empty()) return push(replies::data_syntax);
  if (handler_ && handler_->streams_data()) return ask(Hook::data_command);
  start_data();
}

void Channel::Impl::start_data() {
  state_ = State::data;
  if (!data_) data_ = std::make_unique<DataReader>();
  data_->start(config_.data_size_limit, !bare_lf_);
  streaming_ = handler_ && handler_->streams_data();
  stream_refused_ = false;
  push(replies::start_data);
}

void Channel::Impl::abandon_stream() {
  if (!streaming_) return;
  streaming_ = false;
  try {
    handler_->data_abandoned(self_);
  } catch (...) {
    problems_.push_back(answer_for_exception(Hook::data_piece).detail());
  }
}

void Channel::Impl::smtp_help(const std::string* argument) {
  if (!argument || argument->empty()) return push(replies::help);
  struct Topic {
    std::string_view verb;
    std::string_view syntax;
    bool takes_parameters;
  };
  static constexpr Topic topics[] = {
      {"EHLO", "250 Syntax: EHLO hostname", false},
      {"HELO", "250 Syntax: HELO hostname", false},
      {"MAIL", "250 Syntax: MAIL FROM: <address>", true},
      {"RCPT", "250 Syntax: RCPT TO: <address>", true},
      {"DATA", "250 Syntax: DATA", false},
      {"RSET", "250 Syntax: RSET", false},
      {"NOOP", "250 Syntax: NOOP", false},
      {"QUIT", "250 Syntax: QUIT", false},
      {"VRFY", "250 Syntax: VRFY <address>", false},
  };
  const std::string wanted = text::upper(*argument);
  for (const Topic& topic : topics) {
    if (topic.verb != wanted) continue;
    std::string reply(topic.syntax);
    if (topic.takes_parameters && session_.extended_smtp)
      reply += replies::params_syntax;
    return push(reply);
  }
  push(replies::help_unknown);
}

void Channel::Impl::smtp_vrfy(const std::string* argument) {
  if (!argument || argument->empty()) return push(replies::vrfy_syntax);
  if (!parse_path(*argument).address.empty()) return push(replies::cannot_vrfy);
  if (text::echoable(*argument, transaction_.smtputf8))
    push(std::string(replies::cannot_vrfy_prefix) + *argument);
  else
    push(replies::cannot_vrfy_that);
}

void Channel::Impl::smtp_expn(const std::string*) { push(replies::expn); }

// --- AUTH (RFC 4954) --------------------------------------------------------

bool Channel::Impl::auth_offered() const {
  return config_.auth && (encrypted_ || config_.auth_insecure);
}

void Channel::Impl::smtp_auth(const std::string* argument) {
  if (!config_.auth)
    return unknown_verb("AUTH", argument ? Argument(*argument) : Argument());
  AuthContext context;
  context.extended_smtp = session_.extended_smtp;
  context.in_transaction = has_sender_;
  context.authenticated = !session_.authenticated.empty();
  context.encrypted = encrypted_;
  context.allow_insecure = config_.auth_insecure;
  auth_step(auth_.begin(argument ? *argument : std::string(), context));
}

void Channel::Impl::auth_step(const AuthStep& step) {
  switch (step.kind) {
    case AuthStep::Kind::reply:  // a 5xx counts towards max_errors
    case AuthStep::Kind::challenge:
      return push(step.reply);
    case AuthStep::Kind::check:
      return ask(Hook::auth);
  }
}

// --- STARTTLS (RFC 3207) ----------------------------------------------------

// RFC 3207 4.  Without TLS configured the command is unknown, as in the
// reference.
void Channel::Impl::smtp_starttls(const std::string* argument) {
  using StartTls = ChannelConfig::StartTls;
  if (config_.starttls == StartTls::none && !encrypted_)
    return unknown_verb("STARTTLS",
                        argument ? Argument(*argument) : Argument());
  if (argument && !argument->empty())  // 4: no parameters
    return push(replies::starttls_syntax);
  if (encrypted_) return push(replies::starttls_again);
  if (config_.starttls != StartTls::offered)
    return push(replies::tls_not_available);
  push(replies::starttls_ready);
  // Whatever follows in the input is discarded (after_input); the I/O
  // layer flushes the 220 and starts TLS.
  state_ = State::starting_tls;
}

// RFC 3207 4.1: a server that requires TLS still serves what a client
// needs to get there, or to leave.
bool Channel::Impl::allowed_before_tls(std::string_view verb) const {
  static constexpr std::string_view allowed[] = {"EHLO", "HELO", "STARTTLS",
                                                 "NOOP", "RSET", "QUIT"};
  for (const std::string_view known : allowed)
    if (verb == known) return true;
  return false;
}

void Channel::Impl::tls_started() {
  if (state_ != State::starting_tls) return;
  encrypted_ = session_.tls = true;
  // RFC 3207 4.2: nothing learnt from the client before TLS is kept.
  session_.helo.clear();
  session_.extended_smtp = false;
  session_.authenticated.clear();
  reset_transaction();
  state_ = State::command;
}

// --- extension --------------------------------------------------------------

void Channel::Impl::set_command(std::string verb, CommandHandler handler) {
  extensions_[text::upper(verb)] = std::move(handler);  // as lines are read
}

void Channel::Impl::set_peer(Peer peer) {
  session_.peer = std::move(peer);
  transaction_.peer = session_.peer;
}

// --- replies and state ----------------------------------------------------

// A message we refuse ourselves gets a log line, as one a hook answers
// does (the transaction log): the client was told, the log says so too.
void Channel::Impl::refused_message(std::string_view reply) {
  std::string line = "message refused: peer=" + session_.peer.address +
                     " from=<" + text::loggable(transaction_.mail_from) +
                     "> rcpts=" + std::to_string(transaction_.rcpt_tos.size()) +
                     " reply=\"";
  line.append(reply);
  line += '"';
  problems_.push_back(std::move(line));
}

void Channel::Impl::reset_transaction() {
  has_sender_ = false;
  transaction_ = Envelope{};
  transaction_.peer = session_.peer;
  transaction_.helo = session_.helo;
}

std::size_t Channel::Impl::input_line_limit() const {
  // One byte more than an AUTH line may have, so that a longer one is
  // seen to be too long.
  return config_.auth ? std::max(mail_line_limit(), limits::auth_line + 1)
                      : mail_line_limit();
}

std::size_t Channel::Impl::mail_line_limit() const {
  std::size_t limit = limits::command_line;
  if (config_.data_size_limit != 0) limit += limits::mail_extra_for_size;
  if (config_.enable_smtputf8) limit += limits::mail_extra_for_smtputf8;
  return limit;
}

void Channel::Impl::push(std::string_view reply) {
  output_.append(reply);
  output_.append(crlf);
  if (reply.front() == '5' && config_.max_errors != 0 &&
      ++errors_ >= config_.max_errors && state_ != State::closed) {
    closing_ = Closing::too_many_errors;
    close_with(replies::too_many_errors);
  }
}

void Channel::Impl::end(Closing why) {
  if (state_ == State::closed) return;
  closed_in_data_ = state_ == State::data;
  abandon_stream();
  state_ = State::closed;
  closing_ = why;
}

void Channel::Impl::close_with_reply(std::string_view reply) {
  output_.append(reply);
  output_.append(crlf);
  end(Closing::by_hook);
}

void Channel::Impl::close_with(std::string_view reason) {
  if (state_ == State::closed) return;
  closed_in_data_ = state_ == State::data;
  abandon_stream();
  state_ = State::closed;
  if (closing_ == Closing::open) closing_ = Closing::by_hook;
  output_ += "421 " + config_.hostname + " ";
  output_.append(reason);
  output_.append(crlf);
}

// --- the interface: each call is the Impl's -------------------------------

void Channel::feed(std::string_view bytes) { impl_->feed(bytes); }
void Channel::end_of_input() { impl_->end_of_input(); }
std::optional<Hook> Channel::waiting_for() const {
  return impl_->waiting_for();
}
void Channel::answer(const Answer& answer) { impl_->answer(answer); }
void Channel::set_wake(std::function<void()> wake) {
  impl_->set_wake(std::move(wake));
}
bool Channel::collect_later() { return impl_->collect_later(); }
const Envelope* Channel::pending_message() const {
  return impl_->pending_message();
}
void Channel::tls_started() { impl_->tls_started(); }
void Channel::timed_out() { impl_->timed_out(); }
void Channel::shut_down() { impl_->shut_down(); }
void Channel::set_command(std::string verb, CommandHandler handler) {
  impl_->set_command(std::move(verb), std::move(handler));
}
void Channel::run_builtin(std::string_view verb, const Argument& argument) {
  impl_->run_builtin(verb, argument);
}
void Channel::send_reply(std::string_view line) { impl_->send_reply(line); }
void Channel::set_peer(Peer peer) { impl_->set_peer(std::move(peer)); }
Later Channel::later() { return impl_->later(); }
std::vector<std::string> Channel::take_problems() {
  return impl_->take_problems();
}
void Channel::reply(const Reply& answer) { impl_->reply(answer); }
bool Channel::encrypted() const { return impl_->encrypted(); }
std::string_view Channel::output() const { return impl_->output(); }
void Channel::consume_output(std::size_t n) { impl_->consume_output(n); }
Channel::State Channel::state() const { return impl_->state(); }
bool Channel::closed() const { return impl_->closed(); }
Channel::Closing Channel::closing() const { return impl_->closing(); }
bool Channel::closed_in_data() const { return impl_->closed_in_data(); }
bool Channel::awaits_later() const { return impl_->awaits_later(); }
void Channel::client_gone() { impl_->client_gone(); }
void Channel::close() { impl_->close(); }
const Peer& Channel::peer() const { return impl_->peer(); }
const std::string& Channel::seen_greeting() const {
  return impl_->seen_greeting();
}
bool Channel::extended_smtp() const { return impl_->extended_smtp(); }
const ChannelConfig& Channel::config() const { return impl_->config(); }
bool Channel::has_sender() const { return impl_->has_sender(); }
bool Channel::awaiting_auth_response() const {
  return impl_->awaiting_auth_response();
}
const Envelope& Channel::transaction() const { return impl_->transaction(); }
const Session& Channel::session() const { return impl_->session(); }

}  // namespace smtpd
