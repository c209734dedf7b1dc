// fuzz_common.hpp - what the libFuzzer targets in t/fuzz/ share: a way to
// report a broken invariant (which makes libFuzzer keep the input), and a
// readable form of arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace fuzz {

// Control bytes and 8-bit bytes made visible, at most `limit` input bytes.
inline std::string visible(std::string_view bytes, std::size_t limit = 300) {
  static const char digits[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b == '\r') {
      out += "\\r";
    } else if (b == '\n') {
      out += "\\n";
    } else if (b == '\t') {
      out += "\\t";
    } else if (b == '"' || b == '\\') {
      out += '\\';
      out += static_cast<char>(b);
    } else if (b < 0x20 || b >= 0x7F) {
      out += "\\x";
      out += digits[b >> 4];
      out += digits[b & 0xF];
    } else {
      out += static_cast<char>(b);
    }
  }
  out += '"';
  if (bytes.size() > limit)
    out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

// A broken invariant: say which and abort, so that libFuzzer saves the
// input as a crash.
[[noreturn]] inline void fail(std::string_view invariant,
                              std::string_view detail = {}) {
  std::fprintf(stderr, "\n*** INVARIANT VIOLATED: %.*s\n",
               static_cast<int>(invariant.size()), invariant.data());
  if (!detail.empty())
    std::fprintf(stderr, "*** %.*s\n", static_cast<int>(detail.size()),
                 detail.data());
  std::fflush(stderr);
  std::abort();
}

// FUZZ_CHECK(condition, invariant, detail): detail (a std::string
// expression) is only built when the invariant is broken.
#define FUZZ_CHECK(condition, invariant, detail)       \
  do {                                                 \
    if (!(condition)) ::fuzz::fail(invariant, detail); \
  } while (false)

// The channel targets' input: a byte of settings, a byte that seeds the
// target's choices, then the client's bytes.  An input shorter than two
// bytes sets what it has (the rest are 0) and sends nothing.
struct ClientInput {
  std::uint8_t settings = 0;
  std::uint8_t seed = 0;
  std::string_view client;
};

inline ClientInput split_client_input(const std::uint8_t* data,
                                      std::size_t size) {
  ClientInput input;
  if (size > 0) input.settings = data[0];
  if (size > 1) input.seed = data[1];
  const std::size_t head = size < 2 ? size : 2;
  input.client =
      std::string_view(reinterpret_cast<const char*>(data) + head, size - head);
  return input;
}

// Bits 2-3 of the settings byte, where a target feeds the client's
// bytes in chunks: the largest chunk (1-3, 1-16 or 1-200 bytes), or 0
// for all at once.
inline std::size_t largest_chunk(std::uint8_t settings) {
  static constexpr std::size_t sizes[] = {0, 3, 16, 200};
  return sizes[(settings >> 2) & 3];
}

// FNV-1a, to compare two runs without keeping what they produced.
struct Hash {
  unsigned long long value = 14695981039346656037ull;
  void add(std::string_view bytes) {
    for (const char c : bytes) {
      value ^= static_cast<unsigned char>(c);
      value *= 1099511628211ull;
    }
    // The length too, so that ("ab", "c") and ("a", "bc") differ.
    value ^= bytes.size() + 0x9E3779B97F4A7C15ull;
    value *= 1099511628211ull;
  }
};

// A small deterministic generator (splitmix64), seeded from the input.
struct Random {
  unsigned long long state;
  explicit Random(unsigned long long seed) : state(seed) {}
  unsigned long long next() {
    unsigned long long z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n).
  std::size_t below(std::size_t n) { return n ? next() % n : 0; }
};

}  // namespace fuzz
