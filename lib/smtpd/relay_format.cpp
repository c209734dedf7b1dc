// relay_format.cpp - the relayed form of a message (see relay_format.hpp).
#include "smtpd/relay_format.hpp"

#include <algorithm>

#include "smtpd/text.hpp"

namespace smtpd {

RelayFormat::RelayFormat(std::string_view peer_address) {
  // The peer line gets what the message gets: each line end made CRLF.
  std::string line = "X-Peer: ";
  line.append(peer_address);
  in_headers_ = false;
  feed(line, peer_line_);
  if (pending_cr_) peer_line_ += "\r\n";
  in_headers_ = line_start_ = true;
  pending_cr_ = false;
}

void RelayFormat::feed(std::string_view message, std::string& out) {
  const char* at = message.data();
  const char* const end = at + message.size();
  while (at < end) {
    if (pending_cr_) {
      // A CR ends a line for the upstream either way: with the LF after
      // it, or alone.  Only an LF ends one for the headers' end.
      pending_cr_ = false;
      out += "\r\n";
      if (*at == '\n') {
        ++at;
        line_start_ = true;
        continue;
      }
    }
    if (line_start_ && in_headers_ && *at == '\n') {
      // The first empty line: the headers end here, with ours last.
      out += peer_line_;
      out += "\r\n";
      in_headers_ = false;
    }
    // The bytes up to the next line end go as they are.
    const char* run = at;
    while (run < end && *run != '\r' && *run != '\n') ++run;
    if (run != at) {
      out.append(at, std::size_t(run - at));
      line_start_ = false;
      at = run;
      if (at == end) break;
    }
    if (*at == '\n') {
      out += "\r\n";
      line_start_ = true;
    } else {
      pending_cr_ = true;
      line_start_ = false;
    }
    ++at;
  }
}

void RelayFormat::finish(std::string& out) {
  if (in_headers_ && line_start_) {
    // The message is empty or ends with an LF: an empty line at its end.
    out += peer_line_;
    out += "\r\n";
  } else if (in_headers_) {
    // No empty line at all: the X-Peer line comes after the message, and
    // a CR that ends it makes one CRLF with the line end put before ours.
    out += "\r\n";
    out += peer_line_;
  } else if (pending_cr_) {
    out += "\r\n";
  }
  pending_cr_ = false;
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

}  // namespace smtpd
