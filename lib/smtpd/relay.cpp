// relay.cpp - PureProxy (see relay.hpp).
#include "smtpd/relay.hpp"

#include <cstring>
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
std::string passed_on(std::string_view reply, int code) {
  const std::string text =
      printable(reply.substr(std::min<std::size_t>(4, reply.size())));
  return std::to_string(code == 421 ? 451 : code) +
         (text.empty() ? "" : " " + text);
}

// Appends text with every line end made CRLF: a CRLF stays, a bare CR or
// LF becomes one.  A line at a time, since most messages are long runs of
// plain bytes between LFs.
void append_with_crlf(std::string& out, std::string_view text) {
  while (!text.empty()) {
    const auto* lf =
        static_cast<const char*>(std::memchr(text.data(), '\n', text.size()));
    std::string_view line = text.substr(0, lf ? lf - text.data() : text.size());
    text.remove_prefix(line.size() + (lf ? 1 : 0));
    if (lf && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (std::size_t cr; (cr = line.find('\r')) != std::string_view::npos;) {
      out.append(line.substr(0, cr)).append("\r\n");
      line.remove_prefix(cr + 1);
    }
    out.append(line);
    if (lf) out.append("\r\n");
  }
}

}  // namespace

std::string relay_message(const Envelope& envelope) {
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
  std::string out;
  out.reserve(data.size() + data.size() / 16 + peer_line.size() + 4);
  if (empty_line == std::string_view::npos) {
    // The line end added before the X-Peer line makes one CRLF with a CR
    // that ends the message.
    std::string_view body = data;
    if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
    append_with_crlf(out, body);
    out += "\r\n";
    append_with_crlf(out, peer_line);
  } else {
    append_with_crlf(out, data.substr(0, empty_line));
    append_with_crlf(out, peer_line + "\n");
    append_with_crlf(out, data.substr(empty_line));
  }
  return out;
}

Reply reply_for(const UpstreamResult& result) {
  if (result.delivered) return std::nullopt;
  // RFC 6531 3.7.4.1 suggests 553 (mailbox name not allowed).
  if (result.smtputf8_unsupported)
    return std::string(
        "553 Error: the upstream server does not support SMTPUTF8");
  if (result.code >= 400 && result.code < 600)
    return passed_on(result.reply, result.code);
  // Not reached, timed out, or gone before it answered the final dot: the
  // client must try again (RFC 5321 4.2.5: no 250 without responsibility).
  return "451 Error: relay failed: " + printable(result.error);
}

Answer answer_for(const UpstreamResult& result) {
  const Reply reply = reply_for(result);
  return reply ? Answer::reply(*reply, result.reply)
               : Answer::accept(result.reply);
}

Answer PureProxy::handle_rcpt(Context& context, const std::string& address) {
  const Session& session = context.session();
  return Answer::from(
      policy_.check(session.peer, address, session.authenticated));
}

Answer PureProxy::handle_data(Context&, const Envelope& message) {
  return deliver(message);
}

Answer PureProxy::deliver(const Envelope& envelope) {
  const std::string message = relay_message(envelope);
  const UpstreamResult result =
      send_upstream(settings_, envelope.mail_from, envelope.rcpt_tos, message,
                    envelope.smtputf8);
  Answer answer = answer_for(result);
  if (answer.kind() != Answer::Kind::accept && log_) {
    std::string line = "relay to " + settings_.host + ":" + settings_.port +
                       " failed: " + result.error;
    if (!result.reply.empty()) line += "; upstream said: " + result.reply;
    log_(line);
  }
  return answer;
}

}  // namespace smtpd
