// relay.cpp - PureProxy (see relay.hpp).
#include "smtpd/relay.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "smtpd/hook_worker.hpp"
#include "smtpd/relay_format.hpp"

namespace smtpd {
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

// A message on its way upstream: the channel's thread queues its pieces,
// the upstream thread sends them.
struct Stream {
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

}  // namespace

// PureProxy's state and private methods: the hooks' bodies are here, and
// the public methods hand over to them.
// Not exported: no program sees it (libsmtpd(3), ABI POLICY).
struct __attribute__((visibility("hidden"))) PureProxy::Impl {
  Impl(UpstreamSettings settings, Log log, RelayPolicy policy)
      : settings_(std::move(settings)),
        log_(std::move(log)),
        policy_(std::move(policy)),
        upstream_(settings_) {}
  ~Impl();

  // Runs job on the session's HookWorker in hook's name; its answer comes
  // later.  what names the exchange for the log.
  Answer later(Context& context, Hook hook, std::string what,
               std::function<Answer()> job);
  // The worker done with (a message streaming is abandoned, and cut loose
  // if stuck sending).  session_over: any exchange but the wait for a
  // final dot's answer is cut, so that freeing the session never waits
  // for the upstream.
  void join_worker();
  void stop_worker(bool session_over);
  // The worker's part of a streamed message: DATA, the pieces, the final
  // dot.
  void stream_message(const Later& data_command,
                      const std::string& peer_address, const std::string& what);
  // What to log of an upstream answer that reaches no one.
  HookWorker::Gone gone(std::string what) const;
  void log(const std::string& line) const;
  Answer failed(const std::string& what, const UpstreamReply& reply);

  Answer handle_mail(Context& context, const std::string& address);
  Answer handle_rcpt(Context& context, const std::string& address);
  Answer handle_data(Context& context, const Envelope& message);
  Answer handle_rset(Context& context);
  Answer handle_quit(Context& context);
  Answer handle_data_command(Context& context);
  Answer handle_data_piece(Context& context, std::string_view piece);
  void data_abandoned();
  Answer relay_mail(const std::string& address, const Envelope& transaction);
  Answer relay_rcpt(const std::string& address);
  Answer relay_data(const Envelope& message);
  void relay_rset();

  UpstreamSettings settings_;
  Log log_;
  RelayPolicy policy_;
  // Connected at the first MAIL; made here, so that another thread may
  // interrupt it (stop_worker) without a race on it.
  UpstreamSession upstream_;
  bool in_transaction_ = false;  // upstream took MAIL, no final reply yet
  Stream stream_;  // a message on its way upstream, shared with the worker
  // The session's upstream thread: a hook's job, or a message streaming
  // (which outlives the DATA command hook that started it).  Last: it
  // ends first, before what its job uses.
  HookWorker worker_;
  bool worker_busy_ = false;  // a job or a task was started, not waited for
};

PureProxy::PureProxy(UpstreamSettings settings, Log log, RelayPolicy policy)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(log),
                                   std::move(policy))) {}

PureProxy::~PureProxy() = default;
PureProxy::PureProxy(PureProxy&&) noexcept = default;
PureProxy& PureProxy::operator=(PureProxy&&) noexcept = default;

PureProxy::Impl::~Impl() {
  // The session is over.  An exchange under way is cut (no final dot went
  // upstream, so nothing is delivered), so that the loop that frees us
  // does not wait for the upstream; only the answer to a final dot already
  // sent is waited for, within --relay-timeout, so that the log says what
  // became of the message (gone).
  stop_worker(true);
  upstream_.drop();
}

void PureProxy::Impl::log(const std::string& line) const {
  if (log_)
    log_("relay to " + settings_.host + ":" + settings_.port + ": " + line);
}

void PureProxy::Impl::join_worker() { stop_worker(false); }

void PureProxy::Impl::stop_worker(bool session_over) {
  if (!worker_busy_) return;
  bool cut = false;
  {
    // A message that is still streaming will never end: the thread drops
    // the upstream connection instead of waiting for more, and one stuck
    // sending to a stalled upstream is cut loose at once.
    const std::lock_guard<std::mutex> lock(stream_.mutex);
    if (!stream_.ended) {
      stream_.abandoned = true;
      cut = session_over || stream_.open;
    }
  }
  stream_.changed.notify_all();
  if (cut) upstream_.interrupt();
  worker_.wait();
  worker_busy_ = false;
}

HookWorker::Gone PureProxy::Impl::gone(std::string what) const {
  return [this, what = std::move(what)](const Answer& answer) {
    // The duplicate risk: an upstream that took the message while the
    // client, which never heard so, will send it again.
    std::string line = "the client was gone when the upstream answered " + what;
    if (!answer.detail().empty()) line += ": " + answer.detail();
    log(line);
  };
}

Answer PureProxy::Impl::later(Context& context, Hook hook, std::string what,
                              std::function<Answer()> job) {
  join_worker();  // it answered already
  worker_busy_ = true;
  return worker_.later(context, hook, std::move(job), gone(std::move(what)));
}

// No reply at all (not connected, timed out, gone): 451, and the upstream
// connection is done for; a refusal: the upstream's own words.
Answer PureProxy::Impl::failed(const std::string& what,
                               const UpstreamReply& reply) {
  if (reply.code == 0) {
    in_transaction_ = false;
    log(what + " failed: " + reply.error);
    return Answer::reply("451 Error: relay failed, try again later",
                         reply.error);
  }
  log(what + " refused: " + reply.line);
  return Answer::reply(passed_on(reply), reply.line);
}

Answer PureProxy::Impl::relay_mail(const std::string& address,
                                   const Envelope& transaction) {
  if (in_transaction_) relay_rset();  // one the client never finished
  const std::string what = "MAIL FROM:" + path(address);
  const UpstreamReply connected = upstream_.connect();
  if (connected.code == 0) return failed(what, connected);
  // RFC 6531 3.2: a message that needs SMTPUTF8 goes only to a server that
  // offers it, and is refused before any address goes upstream (3.7.4.1
  // suggests 553).
  if (transaction.smtputf8 && !upstream_.offers("SMTPUTF8")) {
    log(what + " refused here: the upstream does not offer SMTPUTF8");
    return Answer::reply(
        "553 Error: the upstream server does not support SMTPUTF8");
  }
  std::string line = what;
  const std::vector<std::string>& options = transaction.mail_options;
  // RFC 1870: the client's estimate, when the upstream takes one.
  if (const auto size = parameter(options, "SIZE");
      size && !size->empty() && upstream_.offers("SIZE"))
    line += " SIZE=" + *size;
  // RFC 6152: BODY= goes only to a server that offers 8BITMIME.
  if (const auto body = parameter(options, "BODY");
      body && !body->empty() && upstream_.offers("8BITMIME"))
    line += " BODY=" + *body;
  if (transaction.smtputf8) line += " SMTPUTF8";
  const UpstreamReply reply = upstream_.command(line);
  if (!reply.positive()) return failed(what, reply);
  in_transaction_ = true;
  return Answer::reply(passed_on(reply), reply.line);
}

Answer PureProxy::Impl::relay_rcpt(const std::string& address) {
  const std::string what = "RCPT TO:" + path(address);
  if (!in_transaction_) {
    UpstreamReply none;
    none.error = "the upstream transaction is gone";
    return failed(what, none);
  }
  const UpstreamReply reply = upstream_.command(what);
  if (!reply.positive()) return failed(what, reply);
  return Answer::reply(passed_on(reply), reply.line);
}

Answer PureProxy::Impl::relay_data(const Envelope& message) {
  const std::string what = "message from " + path(message.mail_from);
  if (!in_transaction_) {
    UpstreamReply none;
    none.error = "the upstream transaction is gone";
    return failed(what, none);
  }
  UpstreamReply reply = upstream_.command("DATA");
  if (reply.code == 354) {
    reply = upstream_.message([&](const UpstreamSession::Pieces& piece) {
      write_relay_message(message, piece);
    });
  }
  in_transaction_ = false;
  // Never 250 unless the upstream said 250 to the final dot.
  if (!reply.positive() || reply.code == 354) return failed(what, reply);
  return Answer::reply(passed_on(reply), reply.line);
}

void PureProxy::Impl::relay_rset() {
  if (in_transaction_ && upstream_.connected()) upstream_.command("RSET");
  in_transaction_ = false;
}

Answer PureProxy::Impl::handle_mail(Context& context,
                                    const std::string& address) {
  // The parameters stay put while the hook is unanswered: the channel
  // reads nothing meanwhile.
  const Envelope* transaction = &context.transaction();
  return later(context, Hook::mail, "MAIL FROM:" + path(address),
               [this, address, transaction] {
                 return relay_mail(address, *transaction);
               });
}

Answer PureProxy::Impl::handle_rcpt(Context& context,
                                    const std::string& address) {
  // A recipient outside the policy never goes upstream.
  const Session& session = context.session();
  if (Reply refused =
          policy_.check(session.peer, address, session.authenticated))
    return Answer::reply(*refused);
  return later(context, Hook::rcpt, "RCPT TO:" + path(address),
               [this, address] { return relay_rcpt(address); });
}

Answer PureProxy::Impl::handle_data_command(Context& context) {
  join_worker();
  Stream& s = stream_;
  {
    const std::lock_guard<std::mutex> lock(s.mutex);
    s.open = s.ended = s.abandoned = s.failed = false;
    s.queued.clear();
    s.resume.reset();
    s.final.reset();
  }
  const Envelope& transaction = context.transaction();
  worker_busy_ = true;
  return worker_.start(
      context, Hook::data_command,
      [this, peer = transaction.peer.address,
       what = "message from " + path(transaction.mail_from)](Later handle) {
        try {
          stream_message(handle, peer, what);
        } catch (...) {
          // Whatever was asked gets its 451 (a Later answers once).
          const Answer failed = answer_for_exception(Hook::data_command);
          log(what + " failed: " + failed.detail());
          upstream_.drop();
          in_transaction_ = false;
          handle.answer(failed);
          const std::lock_guard<std::mutex> lock(stream_.mutex);
          stream_.open = false;
          if (stream_.resume) stream_.resume->answer(Answer::accept());
          if (stream_.final) stream_.final->answer(failed);
        }
      });
}

void PureProxy::Impl::stream_message(const Later& data_command,
                                     const std::string& peer_address,
                                     const std::string& what) {
  Stream& s = stream_;
  if (!in_transaction_) {
    UpstreamReply none;
    none.error = "the upstream transaction is gone";
    return data_command.answer(failed(what, none));
  }
  UpstreamReply reply = upstream_.command("DATA");
  if (reply.code != 354) {
    // Its refusal is the client's; anything else is no answer at all.
    // Never a 354 to the client without the upstream's.
    if (reply.positive()) {
      upstream_.drop();
      reply.error = "the upstream answered DATA with " + reply.line;
      reply.code = 0;
    }
    return HookWorker::answer(data_command, failed("DATA for " + what, reply),
                              gone("DATA"));
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
      if (!upstream_.message_piece(out)) {
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
    upstream_.drop();
    in_transaction_ = false;
    log(what +
        " abandoned before its end: the upstream connection was "
        "dropped without the final dot");
    return;
  }
  reply = upstream_.end_message();
  if (reply.code == 0) upstream_.drop();  // never a late final dot
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
  HookWorker::answer(*final, answer, gone("the final dot"));
}

Answer PureProxy::Impl::handle_data_piece(Context& context,
                                          std::string_view piece) {
  Stream& s = stream_;
  const std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.open || s.failed) return Answer::accept();  // dropped
  s.queued.append(piece);
  s.changed.notify_one();
  if (s.queued.size() < limits::relay_stream_queue) return Answer::accept();
  s.resume.emplace(context.later());
  return Answer::later();
}

void PureProxy::Impl::data_abandoned() {
  bool cut = false;
  {
    const std::lock_guard<std::mutex> lock(stream_.mutex);
    if (!stream_.ended) {
      stream_.abandoned = true;
      cut = stream_.open;  // the thread may be stuck sending
    }
  }
  stream_.changed.notify_all();
  if (cut) upstream_.interrupt();
}

Answer PureProxy::Impl::handle_data(Context& context, const Envelope& message) {
  {
    Stream& s = stream_;
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
  return later(context, Hook::data, "the final dot",
               [this, m] { return relay_data(*m); });
}

Answer PureProxy::Impl::handle_rset(Context& context) {
  join_worker();
  if (!in_transaction_) return Answer::accept();
  return later(context, Hook::rset, "RSET", [this] {
    relay_rset();
    return Answer::accept();
  });
}

Answer PureProxy::Impl::handle_quit(Context& context) {
  join_worker();
  if (!upstream_.connected()) return Answer::accept();
  return later(context, Hook::quit, "QUIT", [this] {
    upstream_.quit();
    return Answer::accept();
  });
}

// --- the interface, handed over -------------------------------------------

Answer PureProxy::handle_mail(Context& context, const std::string& address) {
  return impl_->handle_mail(context, address);
}
Answer PureProxy::handle_rcpt(Context& context, const std::string& address) {
  return impl_->handle_rcpt(context, address);
}
Answer PureProxy::handle_data(Context& context, const Envelope& message) {
  return impl_->handle_data(context, message);
}
Answer PureProxy::handle_rset(Context& context) {
  return impl_->handle_rset(context);
}
Answer PureProxy::handle_quit(Context& context) {
  return impl_->handle_quit(context);
}
Answer PureProxy::handle_data_command(Context& context) {
  return impl_->handle_data_command(context);
}
Answer PureProxy::handle_data_piece(Context& context, std::string_view piece) {
  return impl_->handle_data_piece(context, piece);
}
void PureProxy::data_abandoned(Context&) { impl_->data_abandoned(); }

Reply PureProxy::check_policy(const Peer& peer,
                              const std::string& address) const {
  return impl_->policy_.check(peer, address);
}
Answer PureProxy::relay_mail(const std::string& address,
                             const Envelope& transaction) {
  return impl_->relay_mail(address, transaction);
}
Answer PureProxy::relay_rcpt(const std::string& address) {
  return impl_->relay_rcpt(address);
}
Answer PureProxy::relay_data(const Envelope& message) {
  return impl_->relay_data(message);
}
void PureProxy::relay_rset() { impl_->relay_rset(); }
void PureProxy::interrupt_upstream() { impl_->upstream_.interrupt(); }

}  // namespace smtpd
