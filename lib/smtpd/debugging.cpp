// debugging.cpp - DebuggingServer's printout (see debugging.hpp).
//
// A 10 MB message is 125,000 lines, so the common line (printable ASCII)
// takes a fast path: it is found a word at a time and printed as b'...'
// around the bytes as they are, without building its repr.
#include "smtpd/debugging.hpp"

#include <vector>

#include "smtpd/replies.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

constexpr std::size_t piece_size = 64 * 1024;

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
  if (rest.substr(0, 3) == "\xE2\x80\xA8" ||
      rest.substr(0, 3) == "\xE2\x80\xA9")
    return 3;
  return 0;
}

std::string repr_list(const std::vector<std::string>& words) {
  std::string out = "[";
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) out += ", ";
    out += text::repr_str(words[i]);
  }
  return out + "]";
}

// An envelope address in the printout: as it is, but a control byte as
// \xHH, so that one address stays on one line of a terminal.
std::string shown_address(std::string_view address) {
  static const char digits[] = "0123456789abcdef";
  std::string out = address == "<>" ? "" : "<";
  for (const char c : address) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) {
      out += "\\x";
      out += digits[b >> 4];
      out += digits[b & 0xF];
    } else {
      out += c;
    }
  }
  return out + (address == "<>" ? "" : ">");
}

// Gathers small pieces of text into pieces of about piece_size for emit;
// text longer than that goes to emit as it is.
class Pieces {
 public:
  explicit Pieces(const std::function<void(std::string_view)>& emit)
      : emit_(emit) {}

  void add(std::string_view text) {
    if (buffer_.size() + text.size() > piece_size) flush();
    if (text.size() > piece_size)
      emit_(text);
    else
      buffer_.append(text);
  }

  // A line between two short texts, the common case taken at once.
  void add(std::string_view before, std::string_view text,
           std::string_view after) {
    if (buffer_.size() + before.size() + text.size() + after.size() >
        piece_size) {
      add(before);
      add(text);
      add(after);
      return;
    }
    buffer_.append(before).append(text).append(after);
  }

  void flush() {
    if (!buffer_.empty()) emit_(buffer_);
    buffer_.clear();
  }

  const std::function<void(std::string_view)>& emit_;
  std::string buffer_;
};

}  // namespace

void print_debugging_message(
    const Envelope& envelope, const DebuggingSettings& settings,
    const std::function<void(std::string_view piece)>& emit) {
  const bool decode_data = settings.decode_data;
  Pieces out(emit);
  // One line of the printout: as it is with decode_data, else as the
  // reference's repr() of the bytes (plain: b'...' around them).
  const auto line = [&](std::string_view text, bool plain) {
    if (decode_data)
      out.add({}, text, "\n");
    else if (plain)
      out.add("b'", text, "'\n");
    else
      out.add({}, text::repr_bytes(text), "\n");
  };
  out.add("---------- MESSAGE FOLLOWS ----------\n");
  if (settings.show_envelope) {
    out.add("MAIL FROM: " + shown_address(envelope.mail_from) + "\n");
    for (const std::string& recipient : envelope.rcpt_tos)
      out.add("RCPT TO: " + shown_address(recipient) + "\n");
  }
  if (!decode_data) {
    if (!envelope.mail_options.empty())
      out.add("mail options: " + repr_list(envelope.mail_options) + "\n");
    if (!envelope.rcpt_options.empty())
      out.add("rcpt options: " + repr_list(envelope.rcpt_options) + "\n\n");
  }
  bool in_headers = true;
  std::string_view rest = envelope.data;
  while (!rest.empty()) {
    // The line runs to the first line break; plain bytes are skipped a
    // word at a time, and any other byte makes the line not plain.
    std::size_t end = 0, line_break = 0;
    bool plain = true;
    for (;;) {
      end += text::repr_plain_prefix(rest.substr(end));
      if (end == rest.size()) break;
      line_break = line_break_at(rest, end, decode_data);
      if (line_break != 0) break;
      plain = false;
      ++end;
    }
    if (in_headers && end == 0) {
      // Where the headers end, as the reference does (and only if they do).
      const std::string peer = "X-Peer: " + envelope.peer.address;
      line(peer, text::repr_plain_prefix(peer) == peer.size());
      in_headers = false;
    }
    line(rest.substr(0, end), plain);
    rest.remove_prefix(end + line_break);
  }
  out.add("------------ END MESSAGE ------------\n");
  out.flush();
}

std::string format_debugging_message(const Envelope& envelope,
                                     const DebuggingSettings& settings) {
  std::string printout;
  print_debugging_message(envelope, settings,
                          [&](std::string_view piece) { printout += piece; });
  return printout;
}

Reply DebuggingServer::process_message(const Envelope& envelope) {
  output_.begin();
  print_debugging_message(envelope, settings_, [&](std::string_view piece) {
    output_.write(piece);
  });
  output_.end();
  if (!output_.written()) return std::string(replies::printout_failed);
  return std::nullopt;
}

}  // namespace smtpd
