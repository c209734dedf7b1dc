// text.hpp - the few text rules smtpd.py takes from Python's str type.
//
// The reference decodes command lines as UTF-8 and then uses str.strip(),
// str.split() and str.upper(), whose idea of white space is Unicode's.
// These helpers give the same answers on UTF-8 buffers, so that replies
// match the reference byte for byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smtpd::text {

bool is_valid_utf8(std::string_view bytes);

// Python's str.isspace() for one code point.
bool is_python_space(char32_t code_point);

// str.isalnum(): not empty, every code point a letter or a digit.
bool is_alnum(std::string_view s);

// str.strip() / str.lstrip() / str.rstrip() on valid UTF-8.
std::string_view strip(std::string_view s);
std::string_view lstrip(std::string_view s);
std::string_view rstrip(std::string_view s);

// str.split() with no separator on valid UTF-8.
std::vector<std::string> split(std::string_view s);

// str.upper() (Unicode's full case mapping, "ß" to "SS" included); bytes
// that are not UTF-8 pass unchanged.
std::string upper(std::string_view s);
// str.upper() restricted to ASCII letters (other bytes unchanged).
std::string ascii_upper(std::string_view s);

// repr() of a bytes object (b'...') and of a str (UTF-8 in, '...').
std::string repr_bytes(std::string_view bytes);
// How many leading bytes repr_bytes() would copy as they are between
// single quotes: printable ASCII other than ' and backslash.
std::size_t repr_plain_prefix(std::string_view bytes);
std::string repr_str(std::string_view utf8);

// Safe to echo in a reply: printable ASCII and tab; with utf8, also valid
// UTF-8 beyond ASCII.  Never CR, LF or other controls (RFC 5321 2.3.8).
bool echoable(std::string_view s, bool utf8);

// Client text in a log line, cut at 200 bytes (never inside a character,
// then "..."): UTF-8 as it came (syslog and journald take UTF-8), and every
// byte of a control character (C0, DEL, C1), of '"' or '\\', of U+2028/
// U+2029, of a bidirectional override or mark, or of what is not UTF-8 as
// \xHH, so that one line stays one line and reads as the client sent it.
// Both log lines (the message's, the session's) use it.
std::string loggable(std::string_view text);

}  // namespace smtpd::text
