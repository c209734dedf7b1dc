// connection.cpp - one client connection (see connection.hpp).
#include "smtpd/connection.hpp"

#include <optional>
#include <stdexcept>

#include "smtpd/auth_exchange.hpp"
#include "smtpd/proxy_header.hpp"
#include "smtpd/text.hpp"

namespace smtpd {

// Everything the connection holds and does; Connection forwards to it.
struct __attribute__((visibility("hidden"))) Connection::Impl {
  Impl(const DriverOptions& options, ChannelConfig config, Handler& handler,
       Peer peer, bool proxy, Clock::time_point now);
  Impl(const DriverOptions& options, Channel& channel, Clock::time_point now);

  void received(std::string_view bytes, Clock::time_point now);
  void input_ended(Clock::time_point now);
  std::string_view output() const;
  void sent(std::size_t n, Clock::time_point now);
  bool wants_input() const;
  bool waiting() const;
  Clock::time_point wake_at() const;
  void tick(Clock::time_point now);
  void stop(Clock::time_point now);
  void failed();
  void client_gone();
  bool finished() const;
  End end() const;
  void set_wake(std::function<void()> wake);
  void collect(Clock::time_point now);
  std::string end_line() const;
  void finish();

  void start_channel(std::string_view early_input, Clock::time_point now);
  void after_channel(Clock::time_point now);  // its log lines, deadline
  void end_with(End why);
  // TLS: make the layer; pass the client's plaintext to the channel and
  // the channel's replies to the layer; end the session when it failed.
  void start_tls();
  void through_tls(Clock::time_point now);
  void to_tls();
  void tls_failure();
  Clock::duration idle_timeout() const;
  void log(std::string_view line) const;
  void trace_input(std::string_view bytes);

  const DriverOptions& options_;
  ChannelConfig config_;
  Handler* handler_ = nullptr;
  Peer peer_;
  std::optional<Channel> owned_;  // made here, in place
  Channel* channel_ = nullptr;    // null while the PROXY header is read
  std::string header_;
  // The -d trace never shows AUTH credentials (RFC 4954 section 14).
  AuthTraceFilter trace_filter_;
  std::function<void()> wake_;
  Clock::time_point deadline_;
  Clock::time_point session_end_ = Clock::time_point::max();
  End end_ = End::none;
  bool failed_ = false;
  bool stop_after_answer_ = false;
  bool logged_ = false;
  std::unique_ptr<TlsLayer> tls_;
  bool tls_established_ = false;  // the handshake completed
  bool tls_failed_ = false;       // flushing the alert, then closed
};

std::string_view end_name(Connection::End end) {
  switch (end) {
    case Connection::End::none:
      return "none";
    case Connection::End::quit:
      return "quit";
    case Connection::End::reset:
      return "reset";
    case Connection::End::timeout:
      return "timeout";
    case Connection::End::io_error:
      return "io-error";
    case Connection::End::shutdown:
      return "shutdown";
    case Connection::End::too_many_errors:
      return "too-many-errors";
    case Connection::End::closed:
      return "closed";
    case Connection::End::bad_proxy:
      return "bad-proxy-header";
    case Connection::End::tls_failed:
      return "tls-failed";
  }
  return "?";
}

Connection::Impl::Impl(const DriverOptions& options, ChannelConfig config,
                       Handler& handler, Peer peer, bool proxy,
                       Clock::time_point now)
    : options_(options),
      config_(std::move(config)),
      handler_(&handler),
      peer_(std::move(peer)) {
  // The cap runs from the first byte we wait for, the PROXY header's too:
  // a header trickled a byte at a time ends with the session's time.
  if (options_.session_timeout_seconds != 0)
    session_end_ = now + std::chrono::seconds(options_.session_timeout_seconds);
  deadline_ = now + idle_timeout();
  if (!proxy) start_channel({}, now);
}

Connection::Impl::Impl(const DriverOptions& options, Channel& channel,
                       Clock::time_point now)
    : options_(options), peer_(channel.peer()), channel_(&channel) {
  if (options_.session_timeout_seconds != 0)
    session_end_ = now + std::chrono::seconds(options_.session_timeout_seconds);
  deadline_ = now + idle_timeout();
  // The caller's channel says itself whether it offers STARTTLS, and is
  // made with tls_on_connect for implicit TLS.
  if (options_.tls && options_.tls_on_connect) start_tls();
  after_channel(now);
}

Connection::Connection(const DriverOptions& options, ChannelConfig config,
                       Handler& handler, Peer peer, bool proxy,
                       Clock::time_point now)
    : impl_(std::make_unique<Impl>(options, std::move(config), handler,
                                   std::move(peer), proxy, now)) {}

Connection::Connection(const DriverOptions& options, Channel& channel,
                       Clock::time_point now)
    : impl_(std::make_unique<Impl>(options, channel, now)) {}

Connection::~Connection() { impl_->finish(); }

void Connection::Impl::start_channel(std::string_view early_input,
                                     Clock::time_point now) {
  // What the channel says of TLS follows what this connection can do.
  using StartTls = ChannelConfig::StartTls;
  const bool implicit_tls = options_.tls && options_.tls_on_connect;
  config_.tls_on_connect = implicit_tls;
  if (options_.tls && !implicit_tls && config_.starttls == StartTls::none)
    config_.starttls = StartTls::offered;
  if (!options_.tls && config_.starttls == StartTls::offered)
    config_.starttls = StartTls::unavailable;  // never a 220 with no TLS
  owned_.emplace(std::move(config_), peer_, handler_);
  channel_ = &*owned_;
  if (wake_) channel_->set_wake(wake_);
  if (implicit_tls) {
    // RFC 8314 3.3: the handshake first; the greeting waits inside it.
    start_tls();
    if (tls_ && !early_input.empty()) {
      tls_->feed(early_input);
      return through_tls(now);
    }
  } else if (!early_input.empty()) {
    channel_->feed(early_input);
  }
  after_channel(now);
}

void Connection::Impl::start_tls() {
  try {
    if (!options_.tls) throw std::runtime_error("no TLS layer configured");
    tls_ = options_.tls();
    if (!tls_) throw std::runtime_error("no TLS layer made");
  } catch (const std::exception& error) {
    log(std::string("cannot start TLS: ") + error.what());
    tls_.reset();
    end_with(End::tls_failed);
  }
}

void Connection::Impl::through_tls(Clock::time_point now) {
  if (tls_->state() == TlsLayer::State::failed) return tls_failure();
  if (!tls_established_ && tls_->state() != TlsLayer::State::handshaking) {
    tls_established_ = true;
    channel_->tls_started();  // after STARTTLS: the session starts over
  }
  const std::string_view plaintext = tls_->plaintext();
  if (!plaintext.empty()) {
    trace_input(plaintext);
    channel_->feed(plaintext);
    tls_->consume_plaintext(plaintext.size());
  }
  // close_notify, or the connection closed: the client's end of input.
  if (tls_->state() == TlsLayer::State::closed) channel_->end_of_input();
  after_channel(now);
}

void Connection::Impl::to_tls() {
  const std::string_view replies = channel_->output();
  if (!replies.empty()) {
    if (options_.trace) options_.trace(">", replies);
    tls_->write(replies);
    channel_->consume_output(replies.size());
  }
  if (tls_->state() == TlsLayer::State::failed) return tls_failure();
  // The last reply is out: close_notify after it (RFC 8446 6.1).
  if (channel_->closed() && tls_->state() == TlsLayer::State::open)
    tls_->close();
}

void Connection::Impl::tls_failure() {
  if (tls_failed_) return;
  tls_failed_ = true;
  log(std::string(tls_established_ ? "TLS failed: "
                                   : "TLS handshake failed: ") +
      tls_->error());
  if (end_ == End::none) end_ = End::tls_failed;
}

void Connection::Impl::log(std::string_view line) const {
  if (options_.log) options_.log(line);
}

Connection::Clock::duration Connection::Impl::idle_timeout() const {
  const bool in_data = channel_ && channel_->state() == Channel::State::data;
  return std::chrono::seconds(in_data ? options_.data_timeout_seconds
                                      : options_.command_timeout_seconds);
}

void Connection::Impl::after_channel(Clock::time_point now) {
  for (const std::string& problem : channel_->take_problems()) log(problem);
  // A caller's channel without a handler: nothing would ever answer its
  // message, so it is refused rather than held for ever.
  while (channel_->state() == Channel::State::awaiting_reply &&
         !channel_->awaits_later())
    channel_->answer(Answer::failed("no hook answers the message"));
  for (const std::string& problem : channel_->take_problems()) log(problem);
  if (channel_->closed() && end_ == End::none) {
    switch (channel_->closing()) {
      case Channel::Closing::quit:
        end_ = End::quit;
        break;
      case Channel::Closing::input_ended:
        end_ = End::reset;
        break;
      case Channel::Closing::timeout:
        end_ = End::timeout;
        break;
      case Channel::Closing::shutdown:
        end_ = End::shutdown;
        break;
      case Channel::Closing::too_many_errors:
        end_ = End::too_many_errors;
        break;
      case Channel::Closing::by_hook:
      case Channel::Closing::open:
        end_ = End::closed;
        break;
    }
  }
  if (stop_after_answer_ && !waiting() && !channel_->closed()) {
    stop_after_answer_ = false;
    channel_->shut_down();
    return after_channel(now);
  }
  deadline_ = now + idle_timeout();
  if (tls_ && !tls_failed_) to_tls();
}

// The client's plaintext, as -d shows it: AUTH's credentials hidden.
void Connection::Impl::trace_input(std::string_view bytes) {
  if (!options_.trace) return;
  const std::string shown = trace_filter_.filter(bytes);
  if (!shown.empty()) options_.trace("<", shown);
}

void Connection::Impl::received(std::string_view bytes, Clock::time_point now) {
  if (failed_ || tls_failed_) return;
  deadline_ = now + idle_timeout();
  if (tls_) {
    tls_->feed(bytes);
    return through_tls(now);
  }
  trace_input(bytes);
  if (channel_) {
    channel_->feed(bytes);
    return after_channel(now);
  }
  // The PROXY header: no greeting until it is complete and valid.
  header_.append(bytes);
  const ProxyHeader header = parse_proxy_header(header_);
  if (header.status == ProxyHeader::Status::invalid) {
    log("bad PROXY header: " + header.error);
    end_with(End::bad_proxy);
  } else if (header.status == ProxyHeader::Status::complete) {
    if (header.has_address) peer_ = header.source;
    const std::string rest = header_.substr(header.length);
    header_.clear();
    header_.shrink_to_fit();
    start_channel(rest, now);
  }
}

void Connection::Impl::input_ended(Clock::time_point now) {
  if (failed_ || tls_failed_) return;
  if (!channel_) {
    log("connection closed before the PROXY header");
    return end_with(End::reset);
  }
  if (tls_) {
    tls_->end_of_input();
    return through_tls(now);
  }
  channel_->end_of_input();
  after_channel(now);
}

std::string_view Connection::Impl::output() const {
  if (!channel_ || failed_) return {};
  return tls_ ? tls_->output() : channel_->output();
}

void Connection::Impl::sent(std::size_t n, Clock::time_point now) {
  if (n == 0 || !channel_) return;
  deadline_ = now + idle_timeout();
  if (tls_) return tls_->consume_output(n);
  if (options_.trace) options_.trace(">", channel_->output().substr(0, n));
  channel_->consume_output(n);
  // STARTTLS's 220 is out: what the client sends next is its handshake.
  if (channel_->state() == Channel::State::starting_tls &&
      channel_->output().empty())
    start_tls();
}

bool Connection::Impl::wants_input() const {
  if (failed_ || tls_failed_) return false;
  if (!channel_) return true;
  const Channel::State state = channel_->state();
  // After STARTTLS, nothing is read until its 220 is out and TLS is there.
  if (state == Channel::State::starting_tls) return tls_ != nullptr;
  return (state == Channel::State::command || state == Channel::State::data) &&
         output().size() < output_high_water;
}

bool Connection::Impl::waiting() const {
  return channel_ && !failed_ &&
         channel_->state() == Channel::State::awaiting_reply;
}

Connection::Clock::time_point Connection::Impl::wake_at() const {
  if (failed_ || waiting()) return Clock::time_point::max();
  // Once closed, only the flush of the last replies is waited for, for one
  // more period, past the session's cap if need be.
  if (channel_ && channel_->closed()) return deadline_;
  return std::min(deadline_, session_end_);
}

void Connection::Impl::tick(Clock::time_point now) {
  if (failed_ || waiting() || now < wake_at()) return;
  if (!channel_) {
    log("no PROXY header in time");
    return end_with(End::timeout);
  }
  if (tls_failed_) {
    failed_ = true;  // the client does not read the alert
    return;
  }
  if (tls_ && tls_->state() == TlsLayer::State::handshaking) {
    // No reply can reach a client that stalls its handshake.
    log("TLS handshake failed: timeout");
    return end_with(End::timeout);
  }
  if (channel_->closed()) {
    // The client does not read its last replies.
    if (end_ == End::none) end_ = End::timeout;
    failed_ = true;
    return;
  }
  channel_->timed_out();
  after_channel(now);
}

void Connection::Impl::stop(Clock::time_point now) {
  if (!channel_) return end_with(End::shutdown);
  if (failed_ || channel_->closed()) return;
  if (waiting()) {
    stop_after_answer_ = true;  // a delivery is never cut short
    return;
  }
  channel_->shut_down();
  after_channel(now);
}

void Connection::Impl::failed() {
  // Whatever ended it before, the last replies did not get through; an
  // answer still awaited will reach no one.
  end_ = End::io_error;
  failed_ = true;
  client_gone();
}

void Connection::Impl::client_gone() {
  if (channel_) channel_->client_gone();
}

void Connection::Impl::end_with(End why) {
  if (end_ == End::none) end_ = why;
  failed_ = true;
}

bool Connection::Impl::finished() const {
  // Never while a hook's answer is awaited: a thread may be answering.
  if (channel_ && channel_->state() == Channel::State::awaiting_reply)
    return false;
  if (failed_) return true;
  if (tls_failed_) return tls_->output().empty();
  return channel_ && channel_->closed() && output().empty() &&
         channel_->output().empty();
}

Connection::End Connection::Impl::end() const { return end_; }

void Connection::Impl::set_wake(std::function<void()> wake) {
  wake_ = std::move(wake);
  if (channel_) channel_->set_wake(wake_);
}

void Connection::Impl::collect(Clock::time_point now) {
  if (channel_ && channel_->collect_later()) after_channel(now);
}

std::string Connection::Impl::end_line() const {
  std::string line = "session peer=";
  line += peer_.address;
  if (channel_) {
    line += " helo=";
    line += text::loggable(channel_->seen_greeting());
    const std::string& user = channel_->session().authenticated;
    if (!user.empty()) {
      line += " user=";
      line += text::loggable(user);
    }
  }
  line += " messages=";
  line += std::to_string(channel_ ? channel_->session().messages : 0);
  if (tls_established_) {
    line += " tls=";
    line += tls_->protocol();
    line += " cipher=";
    line += tls_->cipher();
  }
  line += " end=";
  line += end_name(end_ == End::none ? End::closed : end_);
  // A client gone in the middle of a message: nothing was delivered.
  if (channel_ &&
      (channel_->state() == Channel::State::data || channel_->closed_in_data()))
    line += " in=DATA";
  return line;
}

void Connection::Impl::finish() {
  if (logged_) return;
  logged_ = true;
  if (options_.log) options_.log(end_line());
}

// --- the interface ------------------------------------------------------

void Connection::received(std::string_view bytes, Clock::time_point now) {
  impl_->received(bytes, now);
}
void Connection::input_ended(Clock::time_point now) { impl_->input_ended(now); }
std::string_view Connection::output() const { return impl_->output(); }
void Connection::sent(std::size_t n, Clock::time_point now) {
  impl_->sent(n, now);
}
bool Connection::wants_input() const { return impl_->wants_input(); }
bool Connection::waiting() const { return impl_->waiting(); }
Connection::Clock::time_point Connection::wake_at() const {
  return impl_->wake_at();
}
void Connection::tick(Clock::time_point now) { impl_->tick(now); }
void Connection::stop(Clock::time_point now) { impl_->stop(now); }
void Connection::failed() { impl_->failed(); }
void Connection::client_gone() { impl_->client_gone(); }
bool Connection::finished() const { return impl_->finished(); }
Connection::End Connection::end() const { return impl_->end(); }
void Connection::set_wake(std::function<void()> wake) {
  impl_->set_wake(std::move(wake));
}
void Connection::collect(Clock::time_point now) { impl_->collect(now); }
Channel* Connection::channel() { return impl_->channel_; }
const Channel* Connection::channel() const { return impl_->channel_; }
const TlsLayer* Connection::tls() const { return impl_->tls_.get(); }
std::string Connection::end_line() const { return impl_->end_line(); }
void Connection::finish() { impl_->finish(); }

}  // namespace smtpd
