// transaction_log.cpp - the per-message log line (see transaction_log.hpp).
#include "transaction_log.hpp"

namespace in_smtpd {
namespace {

// The length of the UTF-8 sequence at the start of text and its code
// point, or 0 when it is not one (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF).
std::size_t utf8_sequence(std::string_view text, char32_t& code_point) {
  const auto byte = [&](std::size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char lead = byte(0);
  std::size_t length;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < smallest[length] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF))
    return 0;
  return length;
}

// Characters that would change how a log line reads: C0 and C1 controls,
// DEL, the line and paragraph separators, and the bidirectional
// formatting characters (which can reorder what a reader sees).
bool escaped(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == '"' || c == '\\' ||
         c == 0x2028 || c == 0x2029 || c == 0x200E || c == 0x200F ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

// Client-supplied text in a log line, bounded: UTF-8 as it came (syslog
// and journald take UTF-8), and every byte of a control character, of a
// quote or backslash, or of what is not UTF-8 as \xHH, so that one line
// stays one line and reads as what the client sent.
std::string loggable(std::string_view text) {
  constexpr std::size_t shown = 200;
  static const char digits[] = "0123456789abcdef";
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    char32_t c = 0;
    const std::size_t length = utf8_sequence(text.substr(at), c);
    const std::size_t taken = length == 0 ? 1 : length;
    if (at + taken > shown) break;  // never half a character
    if (length != 0 && !escaped(c)) {
      out.append(text.substr(at, length));
    } else {
      for (std::size_t i = at; i < at + taken; ++i) {
        const auto b = static_cast<unsigned char>(text[i]);
        out += "\\x";
        out += digits[b >> 4];
        out += digits[b & 0xF];
      }
    }
    at += taken;
  }
  if (at < text.size()) out += "...";
  return out;
}

}  // namespace

smtpd::Reply TransactionLog::process_message(const smtpd::Envelope& envelope) {
  const smtpd::Reply reply = delivery_->process_message(envelope);
  std::string line =
      "peer=" + envelope.peer.address + " helo=" + loggable(envelope.helo) +
      " from=<" +
      loggable(envelope.mail_from == "<>" ? "" : envelope.mail_from) +
      "> rcpts=" + std::to_string(envelope.rcpt_tos.size()) +
      " size=" + std::to_string(envelope.data.size()) + " reply=\"" +
      loggable(reply ? *reply : "250 OK") + "\"";
  if (relay_ && !relay_->last_result().reply.empty())
    line += " upstream=\"" + loggable(relay_->last_result().reply) + "\"";
  diagnostics_.transaction(line);
  return reply;
}

}  // namespace in_smtpd
