// relay.cpp - PureProxy (see relay.hpp).
#include "smtpd/relay.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "smtpd/relay_format.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
std::string relay_message(const Envelope& envelope) {
  std::string out;
  out.reserve(envelope.data.size() + envelope.data.size() / 16 +
              envelope.peer.address.size() + 16);
  RelayFormat format(envelope.peer.address);
  format.feed(envelope.data, out);
  format.finish(out);
  return out;
}

void write_relay_message(
    const Envelope& envelope,
    const std::function<bool(std::string_view piece)>& piece) {
  // In bounded runs: a message of any size is never held a second time.
  constexpr std::size_t run = 64 * 1024;
  RelayFormat format(envelope.peer.address);
  std::string out;
  std::string_view data = envelope.data;
  while (!data.empty()) {
    out.clear();
    format.feed(data.substr(0, run), out);
    data.remove_prefix(std::min(run, data.size()));
    if (!out.empty() && !piece(out)) return;
  }
  out.clear();
  format.finish(out);
  if (!out.empty()) piece(out);
}

// The upstream's code and text, but never 421: that would tell our client
// we are closing the connection.
std::string passed_on(const UpstreamReply& reply) {
  const std::string_view line = reply.line;
  const std::string text = text::printable_ascii(
      line.substr(std::min<std::size_t>(4, line.size())), '\0', 400);
  return std::to_string(reply.code == 421 ? 451 : reply.code) +
         (text.empty() ? "" : " " + text);
}

// --- PureProxy ---------------------------------------------------------------

namespace {

// "<address>", or "<>" for the null path.
std::string path(const std::string& address) {
  return address == "<>" ? address : "<" + address + ">";
}

// The value of a MAIL parameter the client gave ("SIZE=123"), if it did.
std::optional<std::string> parameter(const std::vector<std::string>& options,
                                     std::string_view keyword) {
  for (const std::string& option : options) {
    if (option.compare(0, keyword.size(), keyword) != 0) continue;
    if (option.size() == keyword.size()) return std::string();
    if (option[keyword.size()] == '=') return option.substr(keyword.size() + 1);
  }
  return std::nullopt;
}

}  // namespace

// A message on its way upstream: the channel's thread queues its pieces,
// the upstream thread sends them.
struct PureProxy::Stream {
  std::mutex mutex;
  std::condition_variable changed;
  bool open = false;       // the upstream said 354; no final dot or drop yet
  bool ended = false;      // the client's final dot came (final is set)
  bool abandoned = false;  // no final dot: the upstream connection is dropped
  bool failed = false;     // the upstream is gone: pieces are dropped
  std::string queued;      // message bytes for the upstream thread
  std::optional<Later> resume;  // a piece hook waiting for room
  std::optional<Later> final;   // the final dot's answer
};

PureProxy::PureProxy(UpstreamSettings settings, Log log, RelayPolicy policy)
    : settings_(std::move(settings)),
      log_(std::move(log)),
      policy_(std::move(policy)),
      upstream_(std::make_unique<UpstreamSession>(settings_)),
      stream_(std::make_unique<Stream>()) {}

PureProxy::~PureProxy() {
  // The session is over.  An exchange under way is cut (no final dot went
  // upstream, so nothing is delivered), so that the loop that frees us
  // does not wait for the upstream; only the answer to a final dot already
  // sent is waited for, within --relay-timeout, so that the log says what
  // became of the message (log_if_gone).
  stop_worker(true);
  upstream_->drop();
}

void PureProxy::log(const std::string& line) const {
  if (log_)
    log_("relay to " + settings_.host + ":" + settings_.port + ": " + line);
}

void PureProxy::join_worker() { stop_worker(false); }

void PureProxy::stop_worker(bool session_over) {
  if (!worker_.joinable()) return;
  bool cut = false;
  {
    // A message that is still streaming will never end: the thread drops
    // the upstream connection instead of waiting for more, and one stuck
    // sending to a stalled upstream is cut loose at once.
    const std::lock_guard<std::mutex> lock(stream_->mutex);
    if (!stream_->ended) {
      stream_->abandoned = true;
      cut = session_over || stream_->open;
    }
  }
  stream_->changed.notify_all();
  if (cut) upstream_->interrupt();
  worker_.join();
}

void PureProxy::log_if_gone(const Later& handle, const std::string& what,
                            const Answer& answer) const {
  if (!handle.client_gone()) return;
  // The duplicate risk: an upstream that took the message while the
  // client, which never heard so, will send it again.
  std::string line = "the client was gone when the upstream answered " + what;
  if (!answer.detail().empty()) line += ": " + answer.detail();
  log(line);
}

Answer PureProxy::later(Context& context, std::string what,
                        std::function<Answer()> job) {
  join_worker();  // it answered already
  Later handle = context.later();
  worker_ =
      std::thread([this, handle, what = std::move(what), job = std::move(job)] {
        Answer answer = call_hook(Hook::data, job);
        log_if_gone(handle, what, answer);
        handle.answer(std::move(answer));
      });
  return Answer::later();
}

// No reply at all (not connected, timed out, gone): 451, and the upstream
// connection is done for; a refusal: the upstream's own words.
Answer PureProxy::failed(const std::string& what, const UpstreamReply& reply) {
  if (reply.code == 0) {
    in_transaction_ = false;
    log(what + " failed: " + reply.error);
    return Answer::reply("451 Error: relay failed, try again later",
                         reply.error);
  }
  log(what + " refused: " + reply.line);
  return Answer::reply(passed_on(reply), reply.line);
}

Answer PureProxy::relay_mail(const std::string& address,
                             const Envelope& transaction) {
  if (in_transaction_) relay_rset();  // one the client never finished
  const std::string what = "MAIL FROM:" + path(address);
  const UpstreamReply connected = upstream_->connect();
  if (connected.code == 0) return failed(what, connected);
  // RFC 6531 3.2: a message that needs SMTPUTF8 goes only to a server that
  // offers it, and is refused before any address goes upstream (3.7.4.1
  // suggests 553).
  if (transaction.smtputf8 && !upstream_->offers("SMTPUTF8")) {
    log(what + " refused here: the upstream does not offer SMTPUTF8");
    return Answer::reply(
        "553 Error: the upstream server does not support SMTPUTF8");
  }
  std::string line = what;
  const std::vector<std::string>& options = transaction.mail_options;
  // RFC 1870: the client's estimate, when the upstream takes one.
  if (const auto size = parameter(options, "SIZE");
      size && !size->empty() && upstream_->offers("SIZE"))
    line += " SIZE=" + *size;
  // RFC 6152: BODY= goes only to a server that offers 8BITMIME.
  if (const auto body = parameter(options, "BODY");
      body && !body->empty() && upstream_->offers("8BITMIME"))
    line += " BODY=" + *body;
  if (transaction.smtputf8) line += " SMTPUTF8";
  const UpstreamReply reply = upstream_->command(line);
  if (!reply.positive()) return failed(what, reply);
  in_transaction_ = true;
  return Answer::reply(passed_on(reply), reply.line);
}

Answer PureProxy::relay_rcpt(const std::string& address) {
  const std::string what = "RCPT TO:" + path(address);
  if (!upstream_ || !in_transaction_) {
    UpstreamReply none;
    none.error = "the upstream transaction is gone";
    return failed(what, none);
  }
  const UpstreamReply reply = upstream_->command(what);
  if (!reply.positive()) return failed(what, reply);
  return Answer::reply(passed_on(reply), reply.line);
}

Answer PureProxy::relay_data(const Envelope& message) {
  const std::string what = "message from " + path(message.mail_from);
  if (!upstream_ || !in_transaction_) {
    UpstreamReply none;
    none.error = "the upstream transaction is gone";
    return failed(what, none);
  }
  UpstreamReply reply = upstream_->command("DATA");
  if (reply.code == 354) {
    reply = upstream_->message([&](const UpstreamSession::Pieces& piece) {
      write_relay_message(message, piece);
    });
  }
  in_transaction_ = false;
  // Never 250 unless the upstream said 250 to the final dot.
  if (!reply.positive() || reply.code == 354) return failed(what, reply);
  return Answer::reply(passed_on(reply), reply.line);
}

void PureProxy::relay_rset() {
  if (upstream_ && in_transaction_ && upstream_->connected())
    upstream_->command("RSET");
  in_transaction_ = false;
}

Answer PureProxy::handle_mail(Context& context, const std::string& address) {
  // The parameters stay put while the hook is unanswered: the channel
  // reads nothing meanwhile.
  const Envelope* transaction = &context.transaction();
  return later(context, "MAIL FROM:" + path(address),
               [this, address, transaction] {
                 return relay_mail(address, *transaction);
               });
}

Answer PureProxy::handle_rcpt(Context& context, const std::string& address) {
  // A recipient outside the policy never goes upstream.
  const Session& session = context.session();
  if (Reply refused =
          policy_.check(session.peer, address, session.authenticated))
    return Answer::reply(*refused);
  return later(context, "RCPT TO:" + path(address),
               [this, address] { return relay_rcpt(address); });
}

Answer PureProxy::handle_data_command(Context& context) {
  join_worker();
  Stream& s = *stream_;
  {
    const std::lock_guard<std::mutex> lock(s.mutex);
    s.open = s.ended = s.abandoned = s.failed = false;
    s.queued.clear();
    s.resume.reset();
    s.final.reset();
  }
  const Envelope& transaction = context.transaction();
  Later handle = context.later();
  worker_ = std::thread([this, handle, peer = transaction.peer.address,
                         what = "message from " + path(transaction.mail_from)] {
    try {
      stream_message(handle, peer, what);
    } catch (...) {
      // Whatever was asked gets its 451 (a Later answers once).
      const Answer failed = answer_for_exception(Hook::data);
      log(what + " failed: " + failed.detail());
      if (upstream_) upstream_->drop();
      in_transaction_ = false;
      handle.answer(failed);
      const std::lock_guard<std::mutex> lock(stream_->mutex);
      stream_->open = false;
      if (stream_->resume) stream_->resume->answer(Answer::accept());
      if (stream_->final) stream_->final->answer(failed);
    }
  });
  return Answer::later();
}

void PureProxy::stream_message(Later data_command, std::string peer_address,
                               std::string what) {
  Stream& s = *stream_;
  if (!upstream_ || !in_transaction_) {
    UpstreamReply none;
    none.error = "the upstream transaction is gone";
    return data_command.answer(failed(what, none));
  }
  UpstreamReply reply = upstream_->command("DATA");
  if (reply.code != 354) {
    // Its refusal is the client's; anything else is no answer at all.
    // Never a 354 to the client without the upstream's.
    if (reply.positive()) {
      upstream_->drop();
      reply.error = "the upstream answered DATA with " + reply.line;
      reply.code = 0;
    }
    const Answer answer = failed("DATA for " + what, reply);
    log_if_gone(data_command, "DATA", answer);
    return data_command.answer(answer);
  }
  {
    const std::lock_guard<std::mutex> lock(s.mutex);
    s.open = !s.abandoned;
  }
  data_command.answer(Answer::accept(reply.line));

  // The pieces as they come, in the form the upstream gets (relay_format),
  // until the final dot or the end of the message.
  RelayFormat format(peer_address);
  std::string raw, out;
  bool sending = true;
  bool abandoned = false;
  for (;;) {
    std::optional<Later> resume;
    bool last = false;
    {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.changed.wait(
          lock, [&] { return !s.queued.empty() || s.ended || s.abandoned; });
      if (s.abandoned) {
        abandoned = true;
        s.open = false;
        break;
      }
      raw.swap(s.queued);  // the two buffers take turns
      resume.swap(s.resume);
      last = s.ended;
      if (last) s.open = false;
    }
    if (resume) resume->answer(Answer::accept());  // room again
    if (sending) {
      out.clear();
      format.feed(raw, out);
      if (last) format.finish(out);
      if (!upstream_->message_piece(out)) {
        // The rest is read and dropped; the final dot gets 451.
        sending = false;
        const std::lock_guard<std::mutex> lock(s.mutex);
        s.failed = true;
      }
    }
    raw.clear();
    if (last) break;
  }
  if (abandoned) {
    // No final dot: the upstream discards what it got (RFC 5321 4.1.1.4).
    upstream_->drop();
    in_transaction_ = false;
    log(what +
        " abandoned before its end: the upstream connection was "
        "dropped without the final dot");
    return;
  }
  reply = upstream_->end_message();
  if (reply.code == 0) upstream_->drop();  // never a late final dot
  in_transaction_ = false;
  // Never 250 unless the upstream said 250 to the final dot.
  const Answer answer = reply.positive()
                            ? Answer::reply(passed_on(reply), reply.line)
                            : failed(what, reply);
  std::optional<Later> final;
  {
    const std::lock_guard<std::mutex> lock(s.mutex);
    final.swap(s.final);
  }
  log_if_gone(*final, "the final dot", answer);
  final->answer(answer);
}

Answer PureProxy::handle_data_piece(Context& context, std::string_view piece) {
  Stream& s = *stream_;
  const std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.open || s.failed) return Answer::accept();  // dropped
  s.queued.append(piece);
  s.changed.notify_one();
  if (s.queued.size() < limits::relay_stream_queue) return Answer::accept();
  s.resume.emplace(context.later());
  return Answer::later();
}

void PureProxy::data_abandoned(Context&) {
  bool cut = false;
  {
    const std::lock_guard<std::mutex> lock(stream_->mutex);
    if (!stream_->ended) {
      stream_->abandoned = true;
      cut = stream_->open;  // the thread may be stuck sending
    }
  }
  stream_->changed.notify_all();
  if (cut) upstream_->interrupt();
}

Answer PureProxy::handle_data(Context& context, const Envelope& message) {
  {
    Stream& s = *stream_;
    const std::lock_guard<std::mutex> lock(s.mutex);
    if (s.open && !s.ended && !s.abandoned) {
      // The final dot of a message that streamed: its answer comes once
      // the upstream answered its own.
      s.final.emplace(context.later());
      s.ended = true;
      s.changed.notify_one();
      return Answer::later();
    }
  }
  const Envelope* m = &message;
  return later(context, "the final dot", [this, m] { return relay_data(*m); });
}

Answer PureProxy::handle_rset(Context& context) {
  join_worker();
  if (!in_transaction_) return Answer::accept();
  return later(context, "RSET", [this] {
    relay_rset();
    return Answer::accept();
  });
}

Answer PureProxy::handle_quit(Context& context) {
  join_worker();
  if (!upstream_ || !upstream_->connected()) return Answer::accept();
  return later(context, "QUIT", [this] {
    upstream_->quit();
    return Answer::accept();
  });
}

}  // namespace smtpd
