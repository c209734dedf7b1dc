// debugging.cpp - DebuggingServer's printout (see debugging.hpp).
#include "smtpd/debugging.hpp"

#include <vector>

#include "smtpd/text.hpp"

namespace smtpd {
namespace {

// Length of the line break at s[i] (0 if none), as Python's splitlines()
// sees it: bytes break at \r, \n and \r\n; str also at \v \f \x1c-\x1e
// and U+0085, U+2028, U+2029.
std::size_t line_break_at(std::string_view s, std::size_t i, bool as_str) {
  const char c = s[i];
  if (c == '\r') return i + 1 < s.size() && s[i + 1] == '\n' ? 2 : 1;
  if (c == '\n') return 1;
  if (!as_str) return 0;
  if (c == '\v' || c == '\f' || c == '\x1c' || c == '\x1d' || c == '\x1e')
    return 1;
  const std::string_view rest = s.substr(i);
  if (rest.substr(0, 2) == "\xC2\x85") return 2;
  if (rest.substr(0, 3) == "\xE2\x80\xA8" || rest.substr(0, 3) == "\xE2\x80\xA9")
    return 3;
  return 0;
}

std::vector<std::string_view> split_lines(std::string_view s, bool as_str) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t brk = line_break_at(s, i, as_str);
    if (brk == 0) {
      ++i;
      continue;
    }
    lines.push_back(s.substr(start, i - start));
    i += brk;
    start = i;
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

std::string repr_list(const std::vector<std::string>& words) {
  std::string out = "[";
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) out += ", ";
    out += text::repr_str(words[i]);
  }
  return out + "]";
}

}  // namespace

std::string format_debugging_message(const Envelope& envelope,
                                     bool decode_data) {
  const auto line = [&](std::string_view text) {
    return decode_data ? std::string(text) : text::repr_bytes(text);
  };
  std::string out = "---------- MESSAGE FOLLOWS ----------\n";
  if (!decode_data) {
    if (!envelope.mail_options.empty())
      out += "mail options: " + repr_list(envelope.mail_options) + "\n";
    if (!envelope.rcpt_options.empty())
      out += "rcpt options: " + repr_list(envelope.rcpt_options) + "\n\n";
  }
  bool in_headers = true;
  for (const std::string_view text : split_lines(envelope.data, decode_data)) {
    if (in_headers && text.empty()) {
      // Where the headers end, as the reference does (and only if they do).
      out += line("X-Peer: " + envelope.peer.address) + "\n";
      in_headers = false;
    }
    out += line(text) + "\n";
  }
  out += "------------ END MESSAGE ------------\n";
  return out;
}

Reply DebuggingServer::process_message(const Envelope& envelope) {
  write_(format_debugging_message(envelope, decode_data_));
  return std::nullopt;
}

}  // namespace smtpd
