// every_string.hpp - every string over a small alphabet, up to a length:
// for the tests that check a transformation of line ends on all short
// inputs instead of on chosen ones.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace every_string {

// Text and the two bytes that make or break a line end.
constexpr std::string_view crlf_alphabet = "a\r\n";

// Calls check(s) for every string s over alphabet of length 0 to
// max_length, shorter ones first; returns how many there were.
template <typename Check>
std::size_t each(std::string_view alphabet, std::size_t max_length,
                 Check check) {
  std::size_t count = 0;
  std::vector<std::size_t> digits;
  std::string s;
  for (std::size_t length = 0; length <= max_length; ++length) {
    digits.assign(length, 0);
    for (;;) {
      s.clear();
      for (const std::size_t d : digits) s += alphabet[d];
      check(static_cast<const std::string&>(s));
      ++count;
      std::size_t n = 0;  // the next string of this length
      while (n < length && ++digits[n] == alphabet.size()) digits[n++] = 0;
      if (n == length) break;
    }
  }
  return count;
}

}  // namespace every_string
