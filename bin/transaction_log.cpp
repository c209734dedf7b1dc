// transaction_log.cpp - the per-message log line (see transaction_log.hpp).
#include "transaction_log.hpp"

namespace in_smtpd {
namespace {

// Client-supplied text in a log line: printable ASCII, bounded, with
// anything else as \xHH so that one line stays one line.
std::string loggable(std::string_view text) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : text.substr(0, 200)) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F && b != '"' && b != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += digits[b >> 4];
      out += digits[b & 0xF];
    }
  }
  if (text.size() > 200) out += "...";
  return out;
}

}  // namespace

smtpd::Reply TransactionLog::process_message(const smtpd::Envelope& envelope) {
  const smtpd::Reply reply = delivery_->process_message(envelope);
  std::string line = "peer=" + envelope.peer.address +
                     " helo=" + loggable(envelope.helo) +
                     " from=<" + loggable(envelope.mail_from == "<>" ? "" : envelope.mail_from) +
                     "> rcpts=" + std::to_string(envelope.rcpt_tos.size()) +
                     " size=" + std::to_string(envelope.data.size()) +
                     " reply=\"" + loggable(reply ? *reply : "250 OK") + "\"";
  if (relay_ && !relay_->last_result().reply.empty())
    line += " upstream=\"" + loggable(relay_->last_result().reply) + "\"";
  diagnostics_.transaction(line);
  return reply;
}

}  // namespace in_smtpd
