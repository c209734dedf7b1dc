// data_reader.cpp - DATA framing (see data_reader.hpp).
#include "smtpd/data_reader.hpp"

#include <cstring>

#include "smtpd/data_buffer.hpp"

namespace smtpd {
namespace {

// The bytes of CRLF "." CRLF that the state stands for.
std::uint64_t length_of(DataReader::Matched matched) {
  using Matched = DataReader::Matched;
  switch (matched) {
    case Matched::nothing:
    case Matched::line_start_after_bare_lf:
      return 0;
    case Matched::cr:
      return 1;
    case Matched::crlf:
      return 2;
    case Matched::crlf_dot:
      return 3;
    case Matched::crlf_dot_cr:
      return 4;
    case Matched::all:
      return 5;
  }
  return 0;
}

}  // namespace

void DataReader::start(std::uint64_t size_limit, bool data_line_crlf) {
  matched_ = data_line_crlf ? Matched::crlf : Matched::line_start_after_bare_lf;
  line_break_held_ = false;  // the DATA line's is not the message's
  size_limit_ = size_limit;
  received_ = 0;
  forgotten_ = 0;
  message_.clear();
}

std::size_t DataReader::read(std::string_view bytes) {
  const char* const begin = bytes.data();
  const char* const end = begin + bytes.size();
  const char* at = begin;
  while (at < end && matched_ != Matched::all) {
    const char* run = at;
    if (matched_ == Matched::crlf && line_break_held_ && at != begin &&
        *at != '.' && *at != '\r') {
      // The usual start of a line: the line break held back is the LF
      // just read, and goes in with the line's bytes, as one run.
      run = at - 1;
      line_break_held_ = false;
      matched_ = Matched::nothing;
    }
    if (matched_ == Matched::nothing) {
      // Inside a line only a CR can begin the end of it: the bytes up to
      // the next CR are the message's as they are, and go in at once.
      const auto* cr = static_cast<const char*>(
          std::memchr(at, '\r', std::size_t(end - at)));
      const char* const run_end = cr ? cr : end;
      keep(std::string_view(run, std::size_t(run_end - run)));
      at = run_end;
      if (!cr) break;
    }
    step(*at++);
  }
  const auto taken = std::size_t(at - begin);
  received_ += taken;
  return taken;
}

void DataReader::step(char byte) {
  switch (matched_) {
    case Matched::nothing:
      return line_byte(byte);
    case Matched::cr:
      if (byte == '\n') {
        // RFC 5321 2.3.8: CRLF, and only CRLF, ends a line.
        line_break_held_ = true;
        matched_ = Matched::crlf;
        return;
      }
      keep('\r');  // a bare CR is part of the line
      return line_byte(byte);
    case Matched::crlf:
      if (byte == '.') {
        // RFC 5321 4.5.2: the first character of a line is a period, so
        // it is deleted, whether the line is the terminator or data.
        matched_ = Matched::crlf_dot;
        return;
      }
      release_line_break();
      return line_byte(byte);
    case Matched::crlf_dot:
      if (byte == '\r') {
        matched_ = Matched::crlf_dot_cr;
        return;
      }
      release_line_break();  // a line that began with a dot, now without
      return line_byte(byte);
    case Matched::crlf_dot_cr:
      if (byte == '\n') {
        // RFC 5321 4.1.1.4: the end of mail data.  The CRLF before the
        // dot ended the last line: the message has no final line end.
        line_break_held_ = false;
        matched_ = Matched::all;
        return;
      }
      release_line_break();
      keep('\r');  // the line is "." CR and more: its dot is gone
      return line_byte(byte);
    case Matched::line_start_after_bare_lf:
      if (byte == '.') {
        matched_ = Matched::nothing;  // RFC 5321 4.5.2, as at any line start
        return;
      }
      return line_byte(byte);
    case Matched::all:
      return;
  }
}

void DataReader::line_byte(char byte) {
  if (byte == '\r') {
    matched_ = Matched::cr;  // perhaps the end of the line
    return;
  }
  keep(byte);
  matched_ = Matched::nothing;
}

void DataReader::release_line_break() {
  if (!line_break_held_) return;
  line_break_held_ = false;
  keep('\n');  // smtpd.py joins the lines with LF
}

void DataReader::keep(std::string_view bytes) {
  // A message within the limit is never cut: unstuffed, it is no longer
  // than the bytes that are counted against the limit.
  const std::uint64_t held = forgotten_ + message_.size();
  if (size_limit_ != 0 && held + bytes.size() > size_limit_) {
    if (held >= size_limit_) return;
    bytes = bytes.substr(0, std::size_t(size_limit_ - held));
  }
  append_message_data(message_, bytes, size_limit_);
}

bool DataReader::too_big() const {
  if (size_limit_ == 0) return false;
  // The message is what came before the terminator's first CRLF; when
  // that CRLF was the DATA line's, the message is empty.
  const std::uint64_t pending = length_of(matched_);
  const std::uint64_t size = received_ > pending ? received_ - pending : 0;
  return size > size_limit_;
}

std::string DataReader::take_message() {
  std::string message = std::move(message_);
  message_.clear();
  return message;
}

}  // namespace smtpd
