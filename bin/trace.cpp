// trace.cpp - -d trace lines (see trace.hpp).
#include "trace.hpp"

#include "printout.hpp"
#include "smtpd/text.hpp"

namespace in_smtpd {

std::string trace_line(std::string_view direction, std::string_view bytes) {
  constexpr std::size_t shown = 512;
  std::string line(direction);
  line += ' ';
  line += smtpd::text::repr_bytes(bytes.substr(0, shown));
  if (bytes.size() > shown) line += "...";
  return line;
}

void Trace::bytes(std::string_view direction, std::string_view bytes) {
  printout_.whole(trace_line(direction, bytes) + "\n");
}

void Trace::line(std::string_view text) {
  printout_.whole(std::string(text) + "\n");
}

}  // namespace in_smtpd
