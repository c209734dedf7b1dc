// text.cpp - Python's str rules (white space, repr) on UTF-8 buffers.
#include "smtpd/text.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace smtpd::text {
namespace {

struct CodePointRange {
  char32_t first, last;
};
struct UpperRun {  // first, first+step, ... last map to code point + delta
  char32_t first, last;
  int step, delta;
};
struct UpperExpansion {  // one code point to several (U+00DF: "SS")
  char32_t code_point;
  const char* upper;
};
#include "smtpd/unicode_tables.inc"

template <std::size_t N>
bool in_table(const CodePointRange (&table)[N], char32_t cp) {
  const auto* found = std::upper_bound(
      table, table + N, cp, [](char32_t value, const CodePointRange& range) {
        return value < range.first;
      });
  return found != table && cp <= (found - 1)->last;
}

// Decodes the code point at s[i]; returns its length in bytes, 0 if the
// bytes there are not well-formed UTF-8 (RFC 3629 section 4).
std::size_t decode(std::string_view s, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) {
    return static_cast<unsigned char>(s[i + k]);
  };
  const auto continuation = [&](std::size_t k) {
    return i + k < s.size() && (byte(k) & 0xC0) == 0x80;
  };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF && continuation(1)) {
    cp = (char32_t(b0 & 0x1F) << 6) | (byte(1) & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF && continuation(1) && continuation(2)) {
    cp = (char32_t(b0 & 0x0F) << 12) | (char32_t(byte(1) & 0x3F) << 6) |
         (byte(2) & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4 && continuation(1) && continuation(2) &&
      continuation(3)) {
    cp = (char32_t(b0 & 0x07) << 18) | (char32_t(byte(1) & 0x3F) << 12) |
         (char32_t(byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    return 4;
  }
  return 0;
}

// Length of the code point at s[i], treating a malformed byte as one
// code point of its own so that scanning always advances.
std::size_t step(std::string_view s, std::size_t i, char32_t& cp) {
  const std::size_t n = decode(s, i, cp);
  if (n == 0) {
    cp = 0xFFFD;
    return 1;
  }
  return n;
}

// Python's str.isprintable() for one code point.
bool is_printable(char32_t cp) {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7F;
  return in_table(python_printable, cp);
}

char quote_for(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  return has_single && !has_double ? '"' : '\'';
}

void append_hex_escape(std::string& out, char32_t cp) {
  static const char digits[] = "0123456789abcdef";
  int width = 2;
  if (cp > 0xFFFF) {
    out += "\\U";
    width = 8;
  } else if (cp > 0xFF) {
    out += "\\u";
    width = 4;
  } else {
    out += "\\x";
  }
  for (int shift = (width - 1) * 4; shift >= 0; shift -= 4)
    out += digits[(cp >> shift) & 0xF];
}

// The escapes both repr()s share: backslash, the quote, \t \n \r.
bool append_common_escape(std::string& out, char32_t cp, char quote) {
  switch (cp) {
    case '\\':
      out += "\\\\";
      return true;
    case '\t':
      out += "\\t";
      return true;
    case '\n':
      out += "\\n";
      return true;
    case '\r':
      out += "\\r";
      return true;
    default:
      break;
  }
  if (cp == static_cast<unsigned char>(quote)) {
    out += '\\';
    out += quote;
    return true;
  }
  return false;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// Appends str.upper() of one code point beyond ASCII; false if it has no
// upper case of its own.
bool append_upper(std::string& out, char32_t cp) {
  const auto* expansion = std::lower_bound(
      std::begin(python_upper_expansions), std::end(python_upper_expansions),
      cp, [](const UpperExpansion& e, char32_t value) {
        return e.code_point < value;
      });
  if (expansion != std::end(python_upper_expansions) &&
      expansion->code_point == cp) {
    out += expansion->upper;
    return true;
  }
  const auto* run = std::upper_bound(
      std::begin(python_upper_runs), std::end(python_upper_runs), cp,
      [](char32_t value, const UpperRun& r) { return value < r.first; });
  if (run == std::begin(python_upper_runs)) return false;
  --run;
  if (cp > run->last || (cp - run->first) % char32_t(run->step) != 0)
    return false;
  append_utf8(out, char32_t(std::int64_t(cp) + run->delta));
  return true;
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
  char32_t cp;
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t n = decode(bytes, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool is_python_space(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_alnum(std::string_view s) {
  if (s.empty()) return false;
  char32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = decode(s, i, cp);
    if (n == 0) return false;
    const bool alnum = cp < 0x80 ? (cp >= '0' && cp <= '9') ||
                                       (cp >= 'A' && cp <= 'Z') ||
                                       (cp >= 'a' && cp <= 'z')
                                 : in_table(python_alnum, cp);
    if (!alnum) return false;
    i += n;
  }
  return true;
}

std::string_view lstrip(std::string_view s) {
  std::size_t i = 0;
  char32_t cp;
  while (i < s.size()) {
    const std::size_t n = step(s, i, cp);
    if (!is_python_space(cp)) break;
    i += n;
  }
  return s.substr(i);
}

std::string_view rstrip(std::string_view s) {
  // Find the end of the last code point that is not white space.
  std::size_t end = 0;
  char32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = step(s, i, cp);
    i += n;
    if (!is_python_space(cp)) end = i;
  }
  return s.substr(0, end);
}

std::string_view strip(std::string_view s) { return rstrip(lstrip(s)); }

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> words;
  std::size_t start = std::string_view::npos;
  char32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = step(s, i, cp);
    if (is_python_space(cp)) {
      if (start != std::string_view::npos)
        words.emplace_back(s.substr(start, i - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = i;
    }
    i += n;
  }
  if (start != std::string_view::npos) words.emplace_back(s.substr(start));
  return words;
}

std::string upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = decode(s, i, cp);
    if (n == 1 && cp >= 'a' && cp <= 'z') {
      out += ascii_upper(char(cp));
    } else if (n < 2 || !append_upper(out, cp)) {
      out.append(s.substr(i, n == 0 ? 1 : n));  // unchanged (or not UTF-8)
    }
    i += n == 0 ? 1 : n;
  }
  return out;
}

char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string repr_bytes(std::string_view bytes) {
  const char quote = quote_for(bytes);
  std::string out = "b";
  out += quote;
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (append_common_escape(out, b, quote)) continue;
    if (b < 0x20 || b >= 0x7F)
      append_hex_escape(out, b);
    else
      out += c;
  }
  out += quote;
  return out;
}

std::size_t repr_plain_prefix(std::string_view bytes) {
  // Sixteen bytes at a time (a message is mostly plain lines), as a vector
  // the compiler maps to the machine's (SSE2, NEON): a lane is plain
  // unless it is below 0x20, 0x7F or above, a backslash or a quote.
  using Block = unsigned char __attribute__((vector_size(16)));
  std::size_t i = 0;
  for (; i + sizeof(Block) <= bytes.size(); i += sizeof(Block)) {
    Block b;
    std::memcpy(&b, bytes.data() + i, sizeof b);
    const auto other = (b < 0x20) | (b >= 0x7F) | (b == '\\') | (b == '\'');
    std::uint64_t halves[2];
    std::memcpy(halves, &other, sizeof halves);
    if (halves[0] | halves[1]) {
      std::size_t lane = 0;
      while (!other[lane]) ++lane;
      return i + lane;
    }
  }
  const auto plain = [](unsigned char b) {
    return b >= 0x20 && b < 0x7F && b != '\\' && b != '\'';
  };
  while (i < bytes.size() && plain(static_cast<unsigned char>(bytes[i]))) ++i;
  return i;
}

std::string repr_str(std::string_view utf8) {
  const char quote = quote_for(utf8);
  std::string out(1, quote);
  char32_t cp;
  for (std::size_t i = 0; i < utf8.size();) {
    const std::size_t n = step(utf8, i, cp);
    if (!append_common_escape(out, cp, quote)) {
      if (is_printable(cp))
        out.append(utf8.substr(i, n));
      else
        append_hex_escape(out, cp);
    }
    i += n;
  }
  out += quote;
  return out;
}

bool echoable(std::string_view s, bool utf8) {
  if (utf8 && !is_valid_utf8(s)) return false;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b == '\t') continue;
    if (b < 0x20 || b == 0x7F) return false;
    if (b >= 0x80 && !utf8) return false;
  }
  return true;
}

namespace {
// Characters that would change how a log line reads: C0 and C1 controls,
// DEL, the quote and backslash of the line's own quoting, the line and
// paragraph separators, and the bidirectional formatting characters
// (which can reorder what a reader sees).
bool escaped_in_log(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == '"' || c == '\\' ||
         c == 0x2028 || c == 0x2029 || c == 0x200E || c == 0x200F ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}
}  // namespace

std::string loggable(std::string_view text) {
  constexpr std::size_t shown = 200;
  static const char digits[] = "0123456789abcdef";
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    char32_t c = 0;
    const std::size_t length = decode(text, at, c);
    const std::size_t taken = length == 0 ? 1 : length;
    if (at + taken > shown) break;  // never half a character
    if (length != 0 && !escaped_in_log(c)) {
      out.append(text.substr(at, length));
    } else {
      for (std::size_t k = at; k < at + taken; ++k) {
        const auto b = static_cast<unsigned char>(text[k]);
        out += "\\x";
        out += digits[b >> 4];
        out += digits[b & 0xF];
      }
    }
    at += taken;
  }
  if (at < text.size()) out += "...";
  return out;
}

std::string printable_ascii(std::string_view text, char instead,
                            std::size_t most) {
  std::string out;
  for (const char c : text) {
    if (out.size() >= most) break;
    if (c >= 0x20 && c < 0x7F)
      out += c;
    else if (instead != '\0')
      out += instead;
  }
  return out;
}

}  // namespace smtpd::text
