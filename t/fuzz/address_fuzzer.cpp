// address_fuzzer.cpp - libFuzzer target: parse_path (address.hpp), the
// parser of MAIL, RCPT and VRFY arguments, and the ESMTP parameters read
// from what it leaves (params.hpp).  Run by t/fuzz.sh; seeds in
// t/fuzz/corpus/address/.  The input is the argument, as is.
//
// Invariants (a violation aborts, and libFuzzer keeps the input):
//   - parse_path never crashes, throws, or reads out of bounds, whatever
//     the bytes (the channel only passes stripped valid UTF-8, but the
//     parser must not depend on it for its safety);
//   - it is deterministic;
//   - rest is a suffix of the argument (it may be there with an empty
//     address: '""<x' is an empty local part, rest "<x", as in the
//     reference; the channel refuses an empty address);
//   - the address is built from the argument's own bytes plus what the
//     normal form adds: quotes and backslashes around a local part, a
//     space where comments or folding white space separated words; so it
//     holds no CR, LF, NUL or '@' that the argument did not;
//   - the address is at most twice the argument plus 4 bytes (quoting);
//   - on valid UTF-8, the address and rest are valid UTF-8;
//   - the ESMTP words of rest are non-empty and hold no white space.
// And the text rules (text.hpp) that the parser and the channel use, on the
// same bytes:
//   - strip, lstrip and rstrip give a substring (a suffix, a prefix);
//   - upper keeps valid UTF-8 valid, leaves no ASCII lower-case letter and
//     adds no control byte;
//   - repr_bytes is printable ASCII; repr_str of valid UTF-8 holds no C0
//     control, DEL or line break.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "smtpd/address.hpp"
#include "smtpd/params.hpp"
#include "smtpd/text.hpp"

namespace {

using fuzz::visible;

std::string describe(std::string_view argument, const smtpd::ParsedPath& p) {
  return "argument " + visible(argument) + " gave address " +
         visible(p.address) + ", rest " + visible(p.rest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view argument(reinterpret_cast<const char*>(data), size);
  const smtpd::ParsedPath path = smtpd::parse_path(argument);
  const smtpd::ParsedPath again = smtpd::parse_path(argument);
  FUZZ_CHECK(path.address == again.address && path.rest == again.rest,
             "parse_path is deterministic", describe(argument, path));

  FUZZ_CHECK(
      path.rest.size() <= argument.size() &&
          argument.substr(argument.size() - path.rest.size()) == path.rest,
      "rest is a suffix of the argument", describe(argument, path));
  FUZZ_CHECK(path.address.size() <= 2 * argument.size() + 4,
             "the address is at most twice the argument",
             describe(argument, path));

  bool in_argument[256] = {};
  for (const char c : argument)
    in_argument[static_cast<unsigned char>(c)] = true;
  for (const char c : path.address) {
    const auto b = static_cast<unsigned char>(c);
    FUZZ_CHECK(in_argument[b] || b == '"' || b == '\\' || b == ' ',
               "the address holds only the argument's bytes and quoting",
               describe(argument, path) + ", byte " +
                   visible(std::string_view(&c, 1)));
  }

  if (smtpd::text::is_valid_utf8(argument)) {
    FUZZ_CHECK(smtpd::text::is_valid_utf8(path.address),
               "the address of a UTF-8 argument is UTF-8",
               describe(argument, path));
    FUZZ_CHECK(smtpd::text::is_valid_utf8(path.rest),
               "the rest of a UTF-8 argument is UTF-8",
               describe(argument, path));
    // What the channel does with the rest: the ESMTP parameters.
    const std::vector<std::string> words = smtpd::EsmtpParams::words(path.rest);
    for (const std::string& word : words) {
      FUZZ_CHECK(!word.empty(), "ESMTP words are not empty",
                 describe(argument, path));
      FUZZ_CHECK(word.find_first_of(" \t\r\n") == std::string::npos,
                 "ESMTP words hold no white space",
                 describe(argument, path) + ", word " + visible(word));
    }
    auto params = smtpd::EsmtpParams::parse(words);
    if (params) {
      (void)params->take("SIZE");
      (void)params->take("BODY");
    }
  }

  // The text rules.
  const std::string_view stripped = smtpd::text::strip(argument);
  const std::string_view left = smtpd::text::lstrip(argument);
  const std::string_view right = smtpd::text::rstrip(argument);
  const auto within = [&](std::string_view part) {
    return part.empty() ||
           (part.data() >= argument.data() &&
            part.data() + part.size() <= argument.data() + argument.size());
  };
  FUZZ_CHECK(within(stripped) && within(left) && within(right) &&
                 (left.empty() || left.data() + left.size() ==
                                      argument.data() + argument.size()) &&
                 (right.empty() || right.data() == argument.data()),
             "strip gives a substring, lstrip a suffix, rstrip a prefix",
             "argument " + visible(argument));
  const std::string upper = smtpd::text::upper(argument);
  if (smtpd::text::is_valid_utf8(argument))
    FUZZ_CHECK(smtpd::text::is_valid_utf8(upper), "upper keeps UTF-8 valid",
               "argument " + visible(argument) + " gave " + visible(upper));
  bool controls_before[32] = {};
  for (const char c : argument)
    if (static_cast<unsigned char>(c) < 32)
      controls_before[static_cast<unsigned char>(c)] = true;
  for (const char c : upper) {
    FUZZ_CHECK(c < 'a' || c > 'z', "upper leaves no ASCII lower case",
               "argument " + visible(argument) + " gave " + visible(upper));
    if (static_cast<unsigned char>(c) < 32)
      FUZZ_CHECK(controls_before[static_cast<unsigned char>(c)],
                 "upper adds no control byte",
                 "argument " + visible(argument) + " gave " + visible(upper));
  }
  for (const char c : smtpd::text::repr_bytes(argument))
    FUZZ_CHECK(c >= 0x20 && c < 0x7F, "repr_bytes is printable ASCII",
               "argument " + visible(argument));
  if (smtpd::text::is_valid_utf8(argument))
    for (const char c : smtpd::text::repr_str(argument))
      FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F,
                 "repr_str shows no control byte",
                 "argument " + visible(argument) + " gave " +
                     visible(smtpd::text::repr_str(argument)));
  return 0;
}
