// relay.cpp - PureProxy (see relay.hpp).
#include "smtpd/relay.hpp"

#include <cstring>
#include <optional>
#include <vector>

#include "smtpd/text.hpp"

namespace smtpd {
namespace {

// Text that may go into a reply: printable ASCII, bounded.
std::string printable(std::string_view text) {
  return text::printable_ascii(text, '\0', 400);
}

// An upstream reply is passed on with its code and text, but never as 421:
// that would tell our client we are closing the connection.
std::string pass_on(std::string_view reply, int code) {
  const std::string text =
      printable(reply.substr(std::min<std::size_t>(4, reply.size())));
  return std::to_string(code == 421 ? 451 : code) +
         (text.empty() ? "" : " " + text);
}

// Appends text with every line end made CRLF: a CRLF stays, a bare CR or
// LF becomes one.  A line at a time, since most messages are long runs of
// plain bytes between LFs.
template <typename Out>
void append_with_crlf(Out& out, std::string_view text) {
  while (!text.empty()) {
    const auto* lf =
        static_cast<const char*>(std::memchr(text.data(), '\n', text.size()));
    std::string_view line = text.substr(0, lf ? lf - text.data() : text.size());
    text.remove_prefix(line.size() + (lf ? 1 : 0));
    if (lf && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (std::size_t cr; (cr = line.find('\r')) != std::string_view::npos;) {
      out.append(line.substr(0, cr));
      out.append("\r\n");
      line.remove_prefix(cr + 1);
    }
    out.append(line);
    if (lf) out.append("\r\n");
  }
}

}  // namespace

namespace {

// Pieces of the message to a function, in bounded runs: out.append as
// append_with_crlf calls it.
struct PieceWriter {
  const std::function<bool(std::string_view)>& piece;
  bool ok = true;
  void append(std::string_view text) {
    if (ok && !text.empty()) ok = piece(text);
  }
};

template <typename Out>
void build_relay_message(const Envelope& envelope, Out& out) {
  const std::string_view data = envelope.data;
  const std::string peer_line = "X-Peer: " + envelope.peer.address;
  // Where the headers end: the first empty line, splitting on LF as
  // smtpd.py does (a message that ends with LF, or is empty, has one).
  std::size_t empty_line = std::string_view::npos;
  for (std::size_t start = 0;; ++start) {
    if (start == data.size() || data[start] == '\n') {
      empty_line = start;
      break;
    }
    start = data.find('\n', start);
    if (start == std::string_view::npos) break;
  }
  if (empty_line == std::string_view::npos) {
    // The line end added before the X-Peer line makes one CRLF with a CR
    // that ends the message.
    std::string_view body = data;
    if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
    append_with_crlf(out, body);
    out.append("\r\n");
    append_with_crlf(out, peer_line);
  } else {
    append_with_crlf(out, data.substr(0, empty_line));
    append_with_crlf(out, peer_line + "\n");
    append_with_crlf(out, data.substr(empty_line));
  }
}

}  // namespace

std::string relay_message(const Envelope& envelope) {
  std::string out;
  out.reserve(envelope.data.size() + envelope.data.size() / 16 +
              envelope.peer.address.size() + 16);
  build_relay_message(envelope, out);
  return out;
}

void write_relay_message(
    const Envelope& envelope,
    const std::function<bool(std::string_view piece)>& piece) {
  PieceWriter out{piece};
  build_relay_message(envelope, out);
}

std::string passed_on(const UpstreamReply& reply) {
  return pass_on(reply.line, reply.code);
}

Reply reply_for(const UpstreamResult& result) {
  if (result.delivered) return std::nullopt;
  // RFC 6531 3.7.4.1 suggests 553 (mailbox name not allowed).
  if (result.smtputf8_unsupported)
    return std::string(
        "553 Error: the upstream server does not support SMTPUTF8");
  if (result.code >= 400 && result.code < 600)
    return pass_on(result.reply, result.code);
  // Not reached, timed out, or gone before it answered the final dot: the
  // client must try again (RFC 5321 4.2.5: no 250 without responsibility).
  return "451 Error: relay failed: " + printable(result.error);
}

Answer answer_for(const UpstreamResult& result) {
  const Reply reply = reply_for(result);
  return reply ? Answer::reply(*reply, result.reply)
               : Answer::accept(result.reply);
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

PureProxy::PureProxy(UpstreamSettings settings, Log log, RelayPolicy policy)
    : settings_(std::move(settings)),
      log_(std::move(log)),
      policy_(std::move(policy)) {}

PureProxy::~PureProxy() {
  worker_.wait();
  if (upstream_) upstream_->drop();
}

void PureProxy::log(const std::string& line) const {
  if (log_)
    log_("relay to " + settings_.host + ":" + settings_.port + ": " + line);
}

Answer PureProxy::later(Context& context, std::function<Answer()> job) {
  return worker_.later(context, Hook::data, std::move(job));
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
  if (!upstream_) upstream_ = std::make_unique<UpstreamSession>(settings_);
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
  return later(context, [this, address, transaction] {
    return relay_mail(address, *transaction);
  });
}

Answer PureProxy::handle_rcpt(Context& context, const std::string& address) {
  // A recipient outside the policy never goes upstream.
  const Session& session = context.session();
  if (Reply refused =
          policy_.check(session.peer, address, session.authenticated))
    return Answer::reply(*refused);
  return later(context, [this, address] { return relay_rcpt(address); });
}

Answer PureProxy::handle_data(Context& context, const Envelope& message) {
  const Envelope* m = &message;
  return later(context, [this, m] { return relay_data(*m); });
}

Answer PureProxy::handle_rset(Context& context) {
  if (!in_transaction_) return Answer::accept();
  return later(context, [this] {
    relay_rset();
    return Answer::accept();
  });
}

Answer PureProxy::handle_quit(Context& context) {
  if (!upstream_ || !upstream_->connected()) return Answer::accept();
  return later(context, [this] {
    upstream_->quit();
    return Answer::accept();
  });
}

Answer PureProxy::deliver(const Envelope& envelope) {
  const std::string message = relay_message(envelope);
  const UpstreamResult result =
      send_upstream(settings_, envelope.mail_from, envelope.rcpt_tos, message,
                    envelope.smtputf8);
  Answer answer = answer_for(result);
  if (answer.kind() != Answer::Kind::accept) {
    std::string line =
        "message from " + path(envelope.mail_from) + " failed: " + result.error;
    if (!result.reply.empty()) line += "; upstream said: " + result.reply;
    log(line);
  }
  return answer;
}

}  // namespace smtpd
