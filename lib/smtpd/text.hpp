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
// ASCII case: only the 26 letters change, every other byte stays (no
// locale).  For what RFC 5321 and RFC 5322 compare without case: verbs,
// keywords, header names, domains (2.4: "case-insensitive").
char ascii_upper(char c);
char ascii_lower(char c);
std::string ascii_upper(std::string_view s);
std::string ascii_lower(std::string_view s);
bool ascii_iequal(std::string_view a, std::string_view b);

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

// Printable ASCII only (0x20 to 0x7E), for text from elsewhere put in a
// reply or a short note: any other byte becomes instead, or is dropped
// when instead is '\0'; at most `most` bytes come out.
std::string printable_ascii(std::string_view text, char instead,
                            std::size_t most = std::string_view::npos);

}  // namespace smtpd::text
