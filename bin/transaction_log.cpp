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

void TransactionLog::message_answered(const smtpd::Session& session,
                                      const smtpd::Envelope& envelope,
                                      std::string_view reply,
                                      std::string_view detail) {
  delivery_->message_answered(session, envelope, reply, detail);
  std::string line = "peer=" + envelope.peer.address +
                     " helo=" + loggable(envelope.helo) +
                     " from=<" + loggable(envelope.mail_from == "<>" ? "" : envelope.mail_from) +
                     "> rcpts=" + std::to_string(envelope.rcpt_tos.size()) +
                     " size=" + std::to_string(envelope.data.size()) +
                     " reply=\"" + loggable(reply) + "\"";
  if (!detail_name_.empty() && !detail.empty())
    line += " " + detail_name_ + "=\"" + loggable(detail) + "\"";
  diagnostics_.transaction(line);
}

}  // namespace in_smtpd
