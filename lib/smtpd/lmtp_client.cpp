// lmtp_client.cpp - the LMTP client state machine (see lmtp_client.hpp).
#include "smtpd/lmtp_client.hpp"

#include <utility>

namespace smtpd {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// An address goes on a command line between < and >: a control byte
// (CR, LF above all) would start a command of its own, and a '>' end the
// path early.
bool is_safe_address(std::string_view address) {
  for (const char c : address) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F || c == '<' || c == '>') return false;
  }
  return true;
}

bool positive(int code) { return code / 100 == 2; }

}  // namespace

std::string LmtpReply::summary() const {
  if (code == 0) return "";
  std::string out = std::to_string(code);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += i == 0 ? " " : " / ";
    out += lines[i];
  }
  while (out.back() == ' ') out.pop_back();  // "250" alone, not "250 "
  return out;
}

std::string lmtp_data(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 32 + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r' || c == '\n') {
      // CRLF, a bare CR and a bare LF all end a line, as one CRLF.
      if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
      out += "\r\n";
      line_start = true;
      continue;
    }
    // RFC 5321 4.5.2: a line that starts with a dot gets one more.
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = false;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

LmtpClient::LmtpClient(LmtpJob job) : job_(std::move(job)) {
  results_.reserve(job_.recipients.size());
  for (const std::string& recipient : job_.recipients)
    results_.push_back(LmtpResult{recipient, {}, {}});
  answered_.assign(results_.size(), false);
  // Addresses that cannot go on a command line are refused here, with a
  // reply of our own that says so (RFC 3463 5.1.3: bad address syntax).
  const bool sender_ok = is_safe_address(job_.sender);
  for (std::size_t i = 0; i < results_.size(); ++i) {
    if (sender_ok && is_safe_address(results_[i].recipient)) continue;
    results_[i].reply.code = 553;
    results_[i].reply.lines = {
        sender_ok ? "5.1.3 recipient has control characters or <>, not sent"
                  : "5.1.7 sender has control characters or <>, not sent"};
    answered_[i] = true;
  }
  if (!sender_ok || results_.empty()) state_ = State::done;
}

std::string LmtpClient::take_output() { return std::exchange(output_, {}); }

LmtpClient::Status LmtpClient::status() const {
  bool permanent = false;
  for (const LmtpResult& result : results_) {
    const int kind = result.reply.code / 100;
    if (kind == 5)
      permanent = true;
    else if (kind != 2)
      return Status::temporary;
  }
  return permanent ? Status::permanent : Status::delivered;
}

void LmtpClient::feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (state_ == State::done) return;
    if (c != '\n') {
      if (line_.size() >= max_line) {
        protocol_error("reply line longer than " + std::to_string(max_line) +
                       " bytes");
        return;
      }
      line_ += c;
      continue;
    }
    // RFC 5321 4.2: lines end with CRLF; a bare LF is taken as well, it
    // cannot be mistaken for anything else here.
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    const std::string line = std::exchange(line_, {});
    if (!parse_line(line)) return;
  }
}

// One reply line: "NNN-text" continues the reply, "NNN text" or "NNN"
// ends it (RFC 5321 4.2.1).  False when the line is a protocol error.
bool LmtpClient::parse_line(std::string_view line) {
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) ||
      !is_digit(line[2]) || line[0] < '2' || line[0] > '5' ||
      (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    protocol_error("not a reply line");
    return false;
  }
  const int code =
      (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (!reply_.lines.empty() && code != reply_.code) {
    protocol_error("reply lines with different codes");
    return false;
  }
  if (reply_.lines.size() >= max_lines) {
    protocol_error("reply of more than " + std::to_string(max_lines) +
                   " lines");
    return false;
  }
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4)
                                            : std::string_view());
  if (line.size() > 3 && line[3] == '-') return true;
  on_reply(std::exchange(reply_, {}));
  return true;
}

void LmtpClient::on_reply(LmtpReply reply) {
  // 421: the server is closing the channel (RFC 5321 3.8); whatever was
  // not answered yet is answered by it.
  if (reply.code == 421 && state_ != State::quit && state_ != State::rset) {
    fail_open(reply, {});
    state_ = State::done;
    return;
  }
  switch (state_) {
    case State::greeting:
      if (reply.code != 220) return fail_open(reply, {}), quit();
      output_ += "LHLO " + job_.lhlo_name + "\r\n";
      state_ = State::lhlo;
      return;
    case State::lhlo:
      if (!positive(reply.code)) return fail_open(reply, {}), quit();
      output_ += "MAIL FROM:<" + job_.sender + ">\r\n";
      state_ = State::mail;
      return;
    case State::mail:
      if (!positive(reply.code)) return fail_open(reply, {}), quit();
      rcpt_index_ = 0;
      return send_rcpt();
    case State::rcpt: {
      LmtpResult& result = results_[rcpt_index_];
      const bool accepted = positive(reply.code);
      result.reply = std::move(reply);
      // Accepted, it waits for its reply after the dot (RFC 2033 4.2);
      // refused, or only checked, it is settled.
      if (accepted) accepted_.push_back(rcpt_index_);
      answered_[rcpt_index_] = !accepted || job_.check_only;
      ++rcpt_index_;
      return send_rcpt();
    }
    case State::data:
      if (reply.code != 354) return fail_open(reply, {}), quit();
      output_ += lmtp_data(job_.message);
      dot_index_ = 0;
      state_ = State::dot;
      return;
    case State::dot: {
      const std::size_t index = accepted_[dot_index_];
      results_[index].reply = std::move(reply);
      answered_[index] = true;
      if (++dot_index_ == accepted_.size()) quit();
      return;
    }
    case State::rset:
      return quit();
    case State::quit:
      state_ = State::done;
      return;
    case State::done:
      return;
  }
}

// The next recipient still to send, or what follows the last one.
void LmtpClient::send_rcpt() {
  while (rcpt_index_ < results_.size() && answered_[rcpt_index_]) ++rcpt_index_;
  if (rcpt_index_ < results_.size()) {
    output_ += "RCPT TO:<" + results_[rcpt_index_].recipient + ">\r\n";
    state_ = State::rcpt;
    return;
  }
  after_recipients();
}

void LmtpClient::after_recipients() {
  if (job_.check_only) {
    // RFC 5321 4.1.1.5: RSET drops the transaction, then QUIT.
    output_ += "RSET\r\n";
    state_ = State::rset;
  } else if (accepted_.empty()) {
    quit();
  } else {
    output_ += "DATA\r\n";
    state_ = State::data;
  }
}

// Every recipient not settled yet gets this reply (or, with code 0, the
// error).
void LmtpClient::fail_open(const LmtpReply& reply, std::string_view error) {
  for (std::size_t i = 0; i < results_.size(); ++i) {
    if (answered_[i]) continue;
    results_[i].reply = reply;
    results_[i].error = std::string(error);
    answered_[i] = true;
  }
}

void LmtpClient::quit() {
  output_ += "QUIT\r\n";
  state_ = State::quit;
}

void LmtpClient::end_of_input(std::string_view reason) {
  if (state_ == State::done) return;
  fail_open(LmtpReply{}, reason);
  state_ = State::done;
}

void LmtpClient::protocol_error(std::string_view why) {
  fail_open(LmtpReply{}, "protocol error: " + std::string(why));
  // The stream cannot be trusted any more: no QUIT, just close.
  state_ = State::done;
}

}  // namespace smtpd
