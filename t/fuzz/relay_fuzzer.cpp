// relay_fuzzer.cpp - libFuzzer target: what the delivery classes make of
// a message and of an upstream's reply: relay_message and passed_on
// (relay.hpp, PureProxy) and format_debugging_message (debugging.hpp).
// Nothing is sent anywhere.  Run by t/fuzz.sh; seeds in
// t/fuzz/corpus/relay/.
//
// The input:
//   byte 0  bits 0-1  the peer: 127.0.0.1, 192.0.2.7, 2001:db8::25,
//                     ::ffff:198.51.100.1 (peers are numeric addresses,
//                     peer.cpp sees to it)
//           bit  2    decode_data for the printout
//           bits 3-4  unused
//           bit  5    the message's first line, if UTF-8, is also read as
//                     MAIL parameters (for the printout's options line)
//   byte 1-2  the upstream's reply code, big-endian, taken modulo 400
//             and added to 200 (an UpstreamReply's code is 200 to 599:
//             upstream.cpp reads no other)
//   byte 3    how many bytes of the message, from its start, follow the
//             code in the upstream's reply line (the fourth byte, a space
//             or a dash from a real upstream, is then any byte); byte 4
//             unused
//   rest    the message data as the channel hands it on (any bytes: the
//           channel unstuffs but keeps bare CR, bare LF, NUL, 8-bit)
//
// Invariants (a violation aborts, and libFuzzer keeps the input):
//   relay_message:
//   - every line ends in CRLF: no bare CR, no bare LF (no SMTP smuggling
//     upstream);
//   - exactly one "X-Peer: <peer>" line more than the message had;
//   - nothing of the message is lost or added: without that line, and with
//     CR and LF removed, it is the message with CR and LF removed;
//   - it is never shorter than the message;
//   passed_on:
//   - one reply line: the upstream's code (421 made 451), then nothing or
//     a space and printable ASCII, at most 512 bytes, whatever the upstream
//     said;
//   format_debugging_message:
//   - it starts with the MESSAGE FOLLOWS banner and ends with the END
//     MESSAGE banner and a newline;
//   - without decode_data every message line is a bytes literal in
//     printable ASCII, and decoding them gives back the message's lines
//     (split as Python's bytes.splitlines() does), with one X-Peer line
//     added just before the first empty line, if there is one.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../unit/relay_message.hpp"
#include "fuzz_common.hpp"
#include "smtpd/debugging.hpp"
#include "smtpd/params.hpp"
#include "smtpd/relay_format.hpp"
#include "smtpd/text.hpp"

namespace {

using fuzz::fail;
using fuzz::visible;

// The lines of s as bytes.splitlines() makes them: CRLF, CR, LF end one.
std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '\r' || s[i] == '\n') {
      lines.push_back(s.substr(start, i - start));
      i += s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n' ? 2 : 1;
      start = i;
    } else {
      ++i;
    }
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

std::string without_line_ends(std::string_view s) {
  std::string out;
  for (const char c : s)
    if (c != '\r' && c != '\n') out += c;
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A Python bytes literal (b'...' or b"...") back to its bytes.
std::optional<std::string> parse_bytes_literal(std::string_view text) {
  if (text.size() < 3 || text[0] != 'b') return std::nullopt;
  const char quote = text[1];
  if ((quote != '\'' && quote != '"') || text.back() != quote)
    return std::nullopt;
  const std::string_view body = text.substr(2, text.size() - 3);
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == quote) return std::nullopt;  // must have been escaped
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == body.size()) return std::nullopt;
    switch (body[i]) {
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'x': {
        if (i + 2 >= body.size()) return std::nullopt;
        const int high = hex_digit(body[i + 1]);
        const int low = hex_digit(body[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

void check_relay_message(const smtpd::Envelope& envelope) {
  const std::string& data = envelope.data;
  const std::string out = smtpd::relay_message(envelope);
  const std::string peer_line = "X-Peer: " + envelope.peer.address;
  const auto where = [&] {
    return "message " + visible(data) + " relayed as " + visible(out);
  };
  FUZZ_CHECK(out.size() >= data.size(), "the relayed message is never shorter",
             where());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\r')
      FUZZ_CHECK(i + 1 < out.size() && out[i + 1] == '\n',
                 "no bare CR in a relayed message", where());
    if (out[i] == '\n')
      FUZZ_CHECK(i > 0 && out[i - 1] == '\r', "no bare LF in a relayed message",
                 where());
  }
  // Lines of the output (split on CRLF only, all there is).
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= out.size();) {
    std::size_t end = out.find("\r\n", start);
    if (end == std::string::npos) end = out.size();
    lines.push_back(std::string_view(out).substr(start, end - start));
    start = end + 2;
  }
  std::size_t peer_lines = 0;
  for (const std::string_view line : lines)
    if (line == peer_line) ++peer_lines;
  std::size_t peer_lines_before = 0;
  for (const std::string_view line : split_lines(data))
    if (line == peer_line) ++peer_lines_before;
  FUZZ_CHECK(peer_lines == peer_lines_before + 1,
             "relay_message adds exactly one X-Peer line", where());
  // Taking away one of the X-Peer lines leaves the message's bytes.
  const std::string content = without_line_ends(data);
  bool found = false;
  for (std::size_t k = 0; k < lines.size() && !found; ++k) {
    if (lines[k] != peer_line) continue;
    std::string rest;
    for (std::size_t j = 0; j < lines.size(); ++j)
      if (j != k) rest.append(lines[j]);
    found = rest == content;
  }
  FUZZ_CHECK(found, "relay_message loses and adds nothing but X-Peer", where());
}

void check_passed_on(const smtpd::UpstreamReply& reply) {
  const std::string line = smtpd::passed_on(reply);
  const auto where = [&] {
    return "upstream code " + std::to_string(reply.code) + " line " +
           visible(reply.line) + " passed on as " + visible(line);
  };
  const std::string code = std::to_string(reply.code == 421 ? 451 : reply.code);
  FUZZ_CHECK(line.compare(0, 3, code) == 0,
             "the upstream's code is passed on, 421 as 451", where());
  FUZZ_CHECK(line.size() == 3 || line[3] == ' ',
             "a passed-on reply is one line: the code, then a space", where());
  FUZZ_CHECK(line.size() <= 512, "a passed-on reply is at most 512 bytes",
             where());
  for (const char c : line)
    FUZZ_CHECK(c >= 0x20 && c < 0x7F, "a passed-on reply is printable ASCII",
               where());
}

void check_debugging(const smtpd::Envelope& envelope, bool decode_data) {
  const std::string out =
      smtpd::format_debugging_message(envelope, {decode_data});
  const auto where = [&] {
    return "message " + visible(envelope.data) + " printed as " +
           visible(out, 600);
  };
  constexpr std::string_view head = "---------- MESSAGE FOLLOWS ----------\n";
  constexpr std::string_view tail = "------------ END MESSAGE ------------\n";
  FUZZ_CHECK(out.size() >= head.size() + tail.size() &&
                 out.compare(0, head.size(), head) == 0 &&
                 out.compare(out.size() - tail.size(), tail.size(), tail) == 0,
             "the printout is between its banners", where());
  if (decode_data) return;
  std::string_view body(out);
  body = body.substr(head.size(), body.size() - head.size() - tail.size());
  std::vector<std::string> decoded;
  std::size_t start = 0;
  while (start < body.size()) {
    const std::size_t end = body.find('\n', start);
    FUZZ_CHECK(end != std::string_view::npos,
               "every printed line ends in a newline", where());
    const std::string_view line = body.substr(start, end - start);
    start = end + 1;
    if (decoded.empty() &&
        (line.substr(0, 14) == "mail options: " ||
         line.substr(0, 14) == "rcpt options: " || line.empty()))
      continue;  // the options, before the message
    for (const char c : line)
      FUZZ_CHECK(c >= 0x20 && c < 0x7F,
                 "a printed message line is printable ASCII", where());
    std::optional<std::string> bytes = parse_bytes_literal(line);
    FUZZ_CHECK(bytes.has_value(), "a printed message line is a bytes literal",
               where() + ", line " + visible(line));
    decoded.push_back(std::move(*bytes));
  }
  // Take the X-Peer line back out: just before the first empty line.
  const std::string peer_line = "X-Peer: " + envelope.peer.address;
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    if (!decoded[i].empty()) continue;
    FUZZ_CHECK(i > 0 && decoded[i - 1] == peer_line,
               "X-Peer is printed where the headers end", where());
    decoded.erase(decoded.begin() + static_cast<std::ptrdiff_t>(i) - 1);
    break;
  }
  const std::vector<std::string_view> lines = split_lines(envelope.data);
  bool same = lines.size() == decoded.size();
  for (std::size_t i = 0; same && i < lines.size(); ++i)
    same = lines[i] == decoded[i];
  FUZZ_CHECK(same, "the printout shows the message's lines, and only them",
             where());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* input,
                                      std::size_t size) {
  std::uint8_t header[5] = {0, 0, 0, 0, 0};
  for (std::size_t i = 0; i < 5 && i < size; ++i) header[i] = input[i];
  const std::string_view data =
      size > 5
          ? std::string_view(reinterpret_cast<const char*>(input) + 5, size - 5)
          : std::string_view();

  static const char* const peers[] = {"127.0.0.1", "192.0.2.7", "2001:db8::25",
                                      "::ffff:198.51.100.1"};
  smtpd::Envelope envelope;
  envelope.peer.address = peers[header[0] & 3];
  envelope.peer.port = 25;
  envelope.helo = "client.example";
  envelope.mail_from = "sender@client.example";
  envelope.rcpt_tos = {"rcpt@example.com"};
  envelope.data = std::string(data);
  const bool decode_data = (header[0] & 4) != 0;
  if (header[0] & 32) {
    const std::string_view first = data.substr(0, data.find('\n'));
    if (smtpd::text::is_valid_utf8(first)) {
      envelope.mail_options = smtpd::EsmtpParams::words(first);
      envelope.rcpt_options = envelope.mail_options;
    }
  }

  check_relay_message(envelope);
  check_debugging(envelope, decode_data);

  smtpd::UpstreamReply reply;
  reply.code = 200 + (header[1] << 8 | header[2]) % 400;
  reply.line =
      std::to_string(reply.code) + std::string(data.substr(0, header[3]));
  check_passed_on(reply);
  return 0;
}
