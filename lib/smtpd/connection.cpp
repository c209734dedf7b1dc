// connection.cpp - one client connection (see connection.hpp).
#include "smtpd/connection.hpp"

#include "smtpd/proxy_header.hpp"
#include "smtpd/text.hpp"

namespace smtpd {

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
  }
  return "?";
}

Connection::Connection(const DriverOptions& options, ChannelConfig config,
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

Connection::Connection(const DriverOptions& options, Channel& channel,
                       Clock::time_point now)
    : options_(options), peer_(channel.peer()), channel_(&channel) {
  if (options_.session_timeout_seconds != 0)
    session_end_ = now + std::chrono::seconds(options_.session_timeout_seconds);
  deadline_ = now + idle_timeout();
  after_channel(now);
}

Connection::~Connection() { finish(); }

void Connection::start_channel(std::string_view early_input,
                               Clock::time_point now) {
  owned_.emplace(std::move(config_), peer_, handler_);
  channel_ = &*owned_;
  if (wake_) channel_->set_wake(wake_);
  if (!early_input.empty()) channel_->feed(early_input);
  after_channel(now);
}

void Connection::log(std::string_view line) const {
  if (options_.log) options_.log(line);
}

Connection::Clock::duration Connection::idle_timeout() const {
  const bool in_data = channel_ && channel_->state() == Channel::State::data;
  return std::chrono::seconds(in_data ? options_.data_timeout_seconds
                                      : options_.command_timeout_seconds);
}

void Connection::after_channel(Clock::time_point now) {
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
}

void Connection::received(std::string_view bytes, Clock::time_point now) {
  if (failed_) return;
  if (options_.trace) {
    const std::string shown = trace_filter_.filter(bytes);
    if (!shown.empty()) options_.trace("<", shown);
  }
  deadline_ = now + idle_timeout();
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

void Connection::input_ended(Clock::time_point now) {
  if (failed_) return;
  if (!channel_) {
    log("connection closed before the PROXY header");
    return end_with(End::reset);
  }
  channel_->end_of_input();
  after_channel(now);
}

std::string_view Connection::output() const {
  return channel_ && !failed_ ? channel_->output() : std::string_view();
}

void Connection::sent(std::size_t n, Clock::time_point now) {
  if (n == 0 || !channel_) return;
  if (options_.trace) options_.trace(">", channel_->output().substr(0, n));
  channel_->consume_output(n);
  deadline_ = now + idle_timeout();
}

bool Connection::wants_input() const {
  if (failed_) return false;
  if (!channel_) return true;
  const Channel::State state = channel_->state();
  return (state == Channel::State::command || state == Channel::State::data) &&
         channel_->output().size() < output_high_water;
}

bool Connection::waiting() const {
  return channel_ && !failed_ &&
         channel_->state() == Channel::State::awaiting_reply;
}

Connection::Clock::time_point Connection::wake_at() const {
  if (failed_ || waiting()) return Clock::time_point::max();
  // Once closed, only the flush of the last replies is waited for, for one
  // more period, past the session's cap if need be.
  if (channel_ && channel_->closed()) return deadline_;
  return std::min(deadline_, session_end_);
}

void Connection::tick(Clock::time_point now) {
  if (failed_ || waiting() || now < wake_at()) return;
  if (!channel_) {
    log("no PROXY header in time");
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

void Connection::stop(Clock::time_point now) {
  if (!channel_) return end_with(End::shutdown);
  if (failed_ || channel_->closed()) return;
  if (waiting()) {
    stop_after_answer_ = true;  // a delivery is never cut short
    return;
  }
  channel_->shut_down();
  after_channel(now);
}

void Connection::failed() {
  // Whatever ended it before, the last replies did not get through.
  end_ = End::io_error;
  failed_ = true;
}

void Connection::end_with(End why) {
  if (end_ == End::none) end_ = why;
  failed_ = true;
}

bool Connection::finished() const {
  // Never while a hook's answer is awaited: a thread may be answering.
  if (channel_ && channel_->state() == Channel::State::awaiting_reply)
    return false;
  return failed_ ||
         (channel_ && channel_->closed() && channel_->output().empty());
}

Connection::End Connection::end() const { return end_; }

void Connection::set_wake(std::function<void()> wake) {
  wake_ = std::move(wake);
  if (channel_) channel_->set_wake(wake_);
}

void Connection::collect(Clock::time_point now) {
  if (channel_ && channel_->collect_later()) after_channel(now);
}

std::string Connection::end_line() const {
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
  line += " end=";
  line += end_name(end_ == End::none ? End::closed : end_);
  // A client gone in the middle of a message: nothing was delivered.
  if (channel_ &&
      (channel_->state() == Channel::State::data || channel_->closed_in_data()))
    line += " in=DATA";
  return line;
}

void Connection::finish() {
  if (logged_) return;
  logged_ = true;
  if (options_.log) options_.log(end_line());
}

}  // namespace smtpd
