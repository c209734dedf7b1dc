// data_reader.hpp - one message after the 354: where it ends, how big it
// is, and its bytes with the transparency dots taken out.  Internal to
// the library (not installed): the channel holds one and asks it only
// "complete?" and "too big?".
//
// All of DATA framing is one pass over each byte, in one place: the
// terminator CRLF "." CRLF (RFC 5321 4.1.1.4) is matched with the bytes
// of it seen so far as the state, the bytes are counted, and each line's
// leading dot is dropped (RFC 5321 4.5.2) as its bytes are copied into
// the message.  Nothing is searched twice, nothing is remembered of a
// chunk but the state, so a terminator or a dot split across chunks at any
// byte is read as if it came whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace smtpd {

class DataReader {
 public:
  // How much of CRLF "." CRLF the bytes read so far end with.  A CRLF
  // ends a line; the line break is held back until the next line shows
  // it is not the terminator's "." (the message ends before that CRLF).
  enum class Matched : unsigned char {
    nothing,      // inside a line
    cr,           // CR: held back until the next byte says whether CRLF
    crlf,         // CRLF: at the start of a line
    crlf_dot,     // CRLF ".": the dot dropped, the line may still end here
    crlf_dot_cr,  // CRLF "." CR
    all,          // CRLF "." CRLF: the message is complete
    // The start of the first line when the DATA line ended with a bare
    // LF: a leading dot is dropped, but no terminator starts here (a bare
    // LF is no CRLF, RFC 5321 2.3.8; only CRLF "." CRLF ends the data).
    line_start_after_bare_lf,
  };

  // Starts a message.  data_line_crlf: the DATA command line ended with
  // CRLF, which is the terminator's first CRLF (RFC 5321 4.1.1.4: "DATA"
  // and at once "." is an empty message).  size_limit is the most
  // message bytes accepted (0: no limit); they are counted as the client
  // sent them, dots and CRLFs included, as SIZE counts (RFC 1870 3).
  void start(std::uint64_t size_limit, bool data_line_crlf);

  // Reads the next bytes of the message, in any chunking.  Returns how
  // many it took: all of them, or those up to and with the terminator.
  std::size_t read(std::string_view bytes);

  bool complete() const { return matched_ == Matched::all; }
  // The message is over the size limit: known for certain once complete.
  bool too_big() const;

  // The message's bytes decided so far (dot-unstuffed, lines joined with
  // LF as smtpd.py joins them, no final line end); they never change once
  // here, so a consumer may take the message as it arrives.  Only the
  // first size_limit bytes are kept: a message over the limit is refused
  // whole.
  std::string_view message() const { return message_; }
  // The complete message; the reader is empty afterwards.
  std::string take_message();
  // For a message streamed as it arrives: message() was handed on, and is
  // forgotten here (it still counts against the size limit).
  void forget_message() {
    forgotten_ += message_.size();
    message_.clear();
  }

  Matched matched() const { return matched_; }

 private:
  void step(char byte);
  // A byte inside a line: a CR may begin its end, any other is the line's.
  void line_byte(char byte);
  void keep(std::string_view bytes);
  void keep(char byte) { keep(std::string_view(&byte, 1)); }
  void release_line_break();

  Matched matched_ = Matched::nothing;
  bool line_break_held_ = false;
  std::uint64_t size_limit_ = 0;
  std::uint64_t received_ = 0;   // bytes taken, the terminator's included
  std::uint64_t forgotten_ = 0;  // message bytes handed on and forgotten
  std::string message_;
};

}  // namespace smtpd
