// base64.hpp - strict base64 (RFC 4648 section 4) for AUTH (RFC 4954).
//
// decode_base64 takes only the canonical encoding: the 64-letter alphabet,
// padding to a multiple of four, and zero bits where the padding is (RFC
// 4648 3.5).  No white space, no line breaks, no URL alphabet, nothing
// after the padding: RFC 4954 section 4 leaves the server no reason to
// guess, and a lenient decoder would let two spellings of one secret
// through.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtpd {

// The bytes `encoded` stands for, or nothing when it is not canonical
// base64.  The empty string decodes to the empty string.
std::optional<std::string> decode_base64(std::string_view encoded);

std::string encode_base64(std::string_view bytes);

}  // namespace smtpd
