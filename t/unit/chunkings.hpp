// chunkings.hpp - the chunkings a transcript test feeds the same bytes in:
// whole, one byte at a time, and split in two at every byte.  A protocol
// engine's output must not depend on how its input was cut up (the
// h11/llhttp habit), and the bugs that do depend on it hide at the joints.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chunkings {

inline std::vector<std::string_view> one_byte_each(std::string_view input) {
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i)
    bytes.push_back(input.substr(i, 1));
  return bytes;
}

// problems(chunks) returns "" when the run over those chunks was right.
// Splits at 0 and at the end feed an empty chunk, which must change
// nothing either.  The first split that fails is reported.
template <typename Problems>
void expect_right_split_anywhere(std::string_view input, Problems problems) {
  for (std::size_t at = 0; at <= input.size(); ++at) {
    const std::string found = problems(
        std::vector<std::string_view>{input.substr(0, at), input.substr(at)});
    if (!found.empty()) {
      ADD_FAILURE() << "split at byte " << at << ":\n" << found;
      break;
    }
  }
}

}  // namespace chunkings
