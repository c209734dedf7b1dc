// trace.hpp - the -d trace: each chunk of bytes read or written, one line
// to the printout's destination (printout.hpp).
//
//   in b'EHLO client.example\r\n'
//   out b'250-mail.example\r\n250-SIZE 33554432\r\n...'
//
// The bytes as Python's repr() shows them, as smtpd.py's -d printed
// them; at most 512 of each chunk, then "...".
#pragma once

#include <string>
#include <string_view>

namespace in_smtpd {

class Printout;

// One trace line, without its newline.  Pure.
std::string trace_line(std::string_view direction, std::string_view bytes);

class Trace {
 public:
  explicit Trace(Printout& printout) : printout_(printout) {}
  // direction: "in" or "out", as the driver names it.
  void bytes(std::string_view direction, std::string_view bytes);
  // A line of the program's own (the hand-over to in.smtpd-full).
  void line(std::string_view text);

 private:
  Printout& printout_;
};

}  // namespace in_smtpd
