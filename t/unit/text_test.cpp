// text_test.cpp - Python's str rules on UTF-8 buffers (text.hpp).
//
// The expected values are Python 3.11's: str.isspace(), str.strip(),
// str.split(), repr() of bytes and of str, bytes.decode("utf-8").
#include "smtpd/text.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <ios>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace smtpd::text {
namespace {

using namespace std::string_literals;

// The code points Python takes for white space, asked of Python itself
// (tools/deps installs python3 for the tests) rather than copied into
// this file: a copy would only repeat the table in text.cpp, right or
// wrong.  Empty if python3 could not be run; EveryCodePoint says so.
const std::vector<char32_t>& python_spaces() {
  static const std::vector<char32_t> spaces = [] {
    std::vector<char32_t> found;
    FILE* python = popen(
        "python3 -c 'print(*(c for c in range(0x110000) "
        "if chr(c).isspace()))'",
        "r");
    if (!python) return found;
    unsigned long cp = 0;
    while (std::fscanf(python, "%lu", &cp) == 1) found.push_back(char32_t(cp));
    if (pclose(python) != 0) found.clear();
    return found;
  }();
  return spaces;
}

bool python_space(char32_t cp) {
  const std::vector<char32_t>& spaces = python_spaces();
  return std::binary_search(spaces.begin(), spaces.end(), cp);
}

bool surrogate(char32_t cp) { return cp >= 0xD800 && cp <= 0xDFFF; }

std::string utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xF0 | (cp >> 18));
    s += char(0x80 | ((cp >> 12) & 0x3F));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

// --- is_valid_utf8
// ----------------------------------------------------------------

// Well-formed UTF-8 byte sequences, straight from the table in RFC 3629
// section 4 (Unicode's Table 3-7): an independent rule to check against.
bool well_formed(std::string_view s) {
  struct Range {
    unsigned char lo, hi;
  };
  struct Form {
    Range bytes[4];
    int length;
  };
  static constexpr Form forms[] = {
      {{{0x00, 0x7F}}, 1},
      {{{0xC2, 0xDF}, {0x80, 0xBF}}, 2},
      {{{0xE0, 0xE0}, {0xA0, 0xBF}, {0x80, 0xBF}}, 3},
      {{{0xE1, 0xEC}, {0x80, 0xBF}, {0x80, 0xBF}}, 3},
      {{{0xED, 0xED}, {0x80, 0x9F}, {0x80, 0xBF}}, 3},
      {{{0xEE, 0xEF}, {0x80, 0xBF}, {0x80, 0xBF}}, 3},
      {{{0xF0, 0xF0}, {0x90, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}, 4},
      {{{0xF1, 0xF3}, {0x80, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}, 4},
      {{{0xF4, 0xF4}, {0x80, 0x8F}, {0x80, 0xBF}, {0x80, 0xBF}}, 4},
  };
  std::size_t i = 0;
  while (i < s.size()) {
    bool matched = false;
    for (const Form& form : forms) {
      if (i + form.length > s.size()) continue;
      bool ok = true;
      for (int k = 0; k < form.length && ok; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        ok = b >= form.bytes[k].lo && b <= form.bytes[k].hi;
      }
      if (ok) {
        i += form.length;
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}

TEST(IsValidUtf8, Cases) {
  // Each as bytes.decode("utf-8") in Python: decodes or raises.
  const std::vector<std::pair<std::string, bool>> cases = {
      {"", true},
      {"plain ASCII", true},
      {"\0"s, true},
      {"\x7f", true},
      {"\xc3\xa9", true},          // U+00E9
      {"\xe2\x82\xac", true},      // U+20AC
      {"\xf0\x9d\x84\x9e", true},  // U+1D11E
      {"\xf4\x8f\xbf\xbf", true},  // U+10FFFF
      {"\xef\xbf\xbf", true},      // U+FFFF
      {"\xee\x80\x80", true},      // U+E000
      {"\x80", false},             // lone continuation
      {"\xbf", false},
      {"\xc3", false},  // truncated
      {"\xe2\x82", false},
      {"\xf0\x9d\x84", false},
      {"\xc3\xa9\xc3", false},
      {"\xc0\x80", false},          // overlong NUL
      {"\xc1\xbf", false},          // overlong
      {"\xe0\x80\xaf", false},      // overlong
      {"\xe0\x9f\xbf", false},      // overlong
      {"\xf0\x80\x80\xaf", false},  // overlong
      {"\xf0\x8f\xbf\xbf", false},  // overlong
      {"\xed\xa0\x80", false},      // U+D800 surrogate
      {"\xed\xbf\xbf", false},      // U+DFFF surrogate
      {"\xf4\x90\x80\x80", false},  // U+110000
      {"\xf5\x80\x80\x80", false},
      {"\xf8\x88\x80\x80\x80", false},  // 5-byte form
      {"\xfe", false},
      {"\xff", false},
      {"a\xc3(", false},  // continuation missing
      {"\xe2\x28\xa1", false},
  };
  for (const auto& [bytes, valid] : cases)
    EXPECT_EQ(valid, is_valid_utf8(bytes)) << testing::PrintToString(bytes);
}

TEST(IsValidUtf8, EveryOneTwoAndThreeByteString) {
  std::string s;
  int mismatches = 0;
  for (int a = 0; a < 256 && mismatches < 10; ++a) {
    s.assign(1, char(a));
    if (is_valid_utf8(s) != well_formed(s)) {
      ADD_FAILURE() << testing::PrintToString(s);
      ++mismatches;
    }
    for (int b = 0; b < 256 && mismatches < 10; ++b) {
      s.assign({char(a), char(b)});
      if (is_valid_utf8(s) != well_formed(s)) {
        ADD_FAILURE() << testing::PrintToString(s);
        ++mismatches;
      }
      // Three bytes: only the leads of three- and four-byte sequences
      // give cases that the shorter strings have not covered.
      for (int c = 0; c < 256 && a >= 0xE0 && mismatches < 10; ++c) {
        s.assign({char(a), char(b), char(c)});
        if (is_valid_utf8(s) != well_formed(s)) {
          ADD_FAILURE() << testing::PrintToString(s);
          ++mismatches;
        }
      }
    }
  }
}

TEST(IsValidUtf8, FourByteStringsAtTheBoundaries) {
  const unsigned char edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90,
                                 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  for (int a = 0xEE; a < 256; ++a)
    for (const unsigned char b : edges)
      for (const unsigned char c : edges)
        for (const unsigned char d : edges) {
          const std::string s = {char(a), char(b), char(c), char(d)};
          ASSERT_EQ(well_formed(s), is_valid_utf8(s))
              << testing::PrintToString(s);
        }
}

TEST(IsValidUtf8, EveryCodePointEncoded) {
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (surrogate(cp)) continue;
    ASSERT_TRUE(is_valid_utf8(utf8(cp))) << std::hex << cp;
  }
}

// --- white space
// --------------------------------------------------------------------

TEST(IsPythonSpace, EveryCodePoint) {
  // 29 in Python 3.11; fewer would mean python3 gave no proper answer.
  ASSERT_GE(python_spaces().size(), 25u) << "python3 did not list its spaces";
  for (char32_t cp = 0; cp < 0x110000; ++cp)
    ASSERT_EQ(python_space(cp), is_python_space(cp)) << std::hex << cp;
}

TEST(Strip, Cases) {
  // (input, str.lstrip(), str.rstrip(), str.strip())
  struct Case {
    std::string in, left, right, both;
  };
  const std::vector<Case> cases = {
      {"", "", "", ""},
      {"abc", "abc", "abc", "abc"},
      {"  a b  ", "a b  ", "  a b", "a b"},
      {"\t\v\f\r\n x", "x", "\t\v\f\r\n x", "x"},
      {"\x1c\x1d\x1e\x1fx\x1f", "x\x1f", "\x1c\x1d\x1e\x1fx", "x"},
      {"   ", "", "", ""},
      // U+00A0, U+3000, U+0085, U+2028 are white space to Python.
      {"\xc2\xa0x\xe3\x80\x80", "x\xe3\x80\x80", "\xc2\xa0x", "x"},
      {"\xc2\x85x\xe2\x80\xa8", "x\xe2\x80\xa8", "\xc2\x85x", "x"},
      // U+200B (zero width space) and U+FEFF are not.
      {"\xe2\x80\x8bx\xef\xbb\xbf", "\xe2\x80\x8bx\xef\xbb\xbf",
       "\xe2\x80\x8bx\xef\xbb\xbf", "\xe2\x80\x8bx\xef\xbb\xbf"},
      // Nor is NUL.
      {" \0 "s, "\0 "s, " \0"s, "\0"s},
      // Inner white space stays.
      {" a \xc2\xa0 b ", "a \xc2\xa0 b ", " a \xc2\xa0 b", "a \xc2\xa0 b"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.in));
    EXPECT_EQ(c.left, lstrip(c.in));
    EXPECT_EQ(c.right, rstrip(c.in));
    EXPECT_EQ(c.both, strip(c.in));
  }
}

TEST(Strip, BytesThatAreNotUtf8AreNeverWhiteSpace) {
  EXPECT_EQ("\xff", strip(" \xff "));
  EXPECT_EQ("\xc2", strip(" \xc2"));  // a truncated U+00A0
  EXPECT_EQ("\xa0", strip("\xa0 "));  // its second half alone
}

// All of the BMP (where every white space is), then a sample beyond.
char32_t next_code_point(char32_t cp) {
  return cp < 0x10000 ? cp + 1 : cp + 97;
}

TEST(Strip, EveryCodePoint) {
  for (char32_t cp = 0; cp < 0x110000; cp = next_code_point(cp)) {
    if (surrogate(cp)) continue;
    const std::string space = utf8(cp);
    const std::string s = space + space + "x" + space;
    const std::string expected = python_space(cp) ? "x" : s;
    ASSERT_EQ(expected, strip(s)) << std::hex << cp;
  }
}

TEST(Split, Cases) {
  using Words = std::vector<std::string>;
  // str.split() with no separator.
  const std::vector<std::pair<std::string, Words>> cases = {
      {"", {}},
      {"   ", {}},
      {"a", {"a"}},
      {"a b", {"a", "b"}},
      {"  a\tb\n c  ", {"a", "b", "c"}},
      {"SIZE=1\xc2\xa0"
       "BODY=7BIT",
       {"SIZE=1", "BODY=7BIT"}},
      {"a\xe2\x80\xa8"
       "b\xe3\x80\x80\xe3\x80\x80"
       "c",
       {"a", "b", "c"}},
      {"a\xe2\x80\x8b"
       "b",
       {"a\xe2\x80\x8b"
        "b"}},
      {"\xc3\xa9 \xe2\x82\xac", {"\xc3\xa9", "\xe2\x82\xac"}},
      {"a\0b c"s, {"a\0b"s, "c"}},
  };
  for (const auto& [in, words] : cases)
    EXPECT_EQ(words, split(in)) << testing::PrintToString(in);
}

TEST(Split, EveryCodePoint) {
  for (char32_t cp = 0; cp < 0x110000; cp = next_code_point(cp)) {
    if (surrogate(cp)) continue;
    const std::string s = "a" + utf8(cp) + "b";
    const std::vector<std::string> expected =
        python_space(cp) ? std::vector<std::string>{"a", "b"}
                         : std::vector<std::string>{s};
    ASSERT_EQ(expected, split(s)) << std::hex << cp;
  }
}

// --- ascii_upper, echoable
// ------------------------------------------------------------

TEST(AsciiCase, OnlyAsciiLettersChange) {
  struct Case {
    std::string in, upper, lower;
  };
  const std::vector<Case> cases = {
      {"", "", ""},
      {"mail From:<a@b.example> size=10", "MAIL FROM:<A@B.EXAMPLE> SIZE=10",
       "mail from:<a@b.example> size=10"},
      {"List-OWNER@Lists.Example", "LIST-OWNER@LISTS.EXAMPLE",
       "list-owner@lists.example"},
      // The bytes next to the letters, and UTF-8 ("\xc3\x89" is U+00C9,
      // "\xc3\xa9" U+00E9): only ASCII letters change.
      {"?@[`{~\x7f", "?@[`{~\x7f", "?@[`{~\x7f"},
      {"\xc3\xa9x\xc3\x89", "\xc3\xa9X\xc3\x89", "\xc3\xa9x\xc3\x89"},
      {"\xc3\x89X\xc3\xa9", "\xc3\x89X\xc3\xa9", "\xc3\x89x\xc3\xa9"},
      {"a\0B"s, "A\0B"s, "a\0b"s},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.upper, ascii_upper(c.in)) << testing::PrintToString(c.in);
    EXPECT_EQ(c.lower, ascii_lower(c.in)) << testing::PrintToString(c.in);
  }
}

TEST(AsciiIequal, LettersInAnyCaseOtherBytesExactly) {
  EXPECT_TRUE(ascii_iequal("", ""));
  EXPECT_TRUE(ascii_iequal("AUTH", "auth"));
  EXPECT_TRUE(ascii_iequal("PlAiN", "pLaIn"));
  EXPECT_FALSE(ascii_iequal("PLAIN", "PLAI"));
  EXPECT_FALSE(ascii_iequal("PLAIN", "PLAIN "));
  // '@' and '`' are 0x20 away from letters; U+00C9 and U+00E9 differ.
  EXPECT_FALSE(ascii_iequal("@", "`"));
  EXPECT_FALSE(ascii_iequal("[", "{"));
  EXPECT_FALSE(ascii_iequal("\xc3\x89", "\xc3\xa9"));
}

TEST(PrintableAscii, ReplacesOrDropsAndBounds) {
  const std::string mixed = "a\tb\r\nc\x7f\x80\xc3\xa9 ~\0z"s;
  EXPECT_EQ("a?b??c???? ~?z", printable_ascii(mixed, '?'));
  EXPECT_EQ("abc ~z", printable_ascii(mixed, '\0'));
  EXPECT_EQ("abc", printable_ascii(mixed, '\0', 3));
  EXPECT_EQ("a?b", printable_ascii(mixed, '?', 3));
  EXPECT_EQ("", printable_ascii(mixed, '?', 0));
  EXPECT_EQ("", printable_ascii("", '?'));
}

TEST(Echoable, Cases) {
  struct Case {
    std::string s;
    bool ascii, utf8;  // echoable(s, false), echoable(s, true)
  };
  const std::vector<Case> cases = {
      {"", true, true},
      {"FOO", true, true},
      {"a b\tc", true, true},
      {"~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", true, true},
      {"a\rb", false, false},
      {"a\nb", false, false},
      {"a\0b"s, false, false},
      {"\x01", false, false},
      {"\x1b[2J", false, false},
      {"\x1f", false, false},
      {"\x7f", false, false},
      {"\xc3\xa9", false, true},
      {"X\xe2\x82\xac", false, true},
      {"\xf0\x9f\x98\x80", false, true},
      {"\xff", false, false},
      {"\xc3", false, false},
      {"\xed\xa0\x80", false, false},
      {"\xc3\xa9\x01", false, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.ascii, echoable(c.s, false)) << testing::PrintToString(c.s);
    EXPECT_EQ(c.utf8, echoable(c.s, true)) << testing::PrintToString(c.s);
  }
}

// --- repr
// ---------------------------------------------------------------------------

TEST(ReprBytes, Cases) {
  // repr(bytes) in Python.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "b''"},
      {"abc", "b'abc'"},
      {"it's", "b\"it's\""},
      {"say \"hi\"", "b'say \"hi\"'"},
      {"both ' and \"", "b'both \\' and \"'"},
      {"\t\n\r\\", "b'\\t\\n\\r\\\\'"},
      {"\0\x01\x1f\x7f\x80\xff"s, "b'\\x00\\x01\\x1f\\x7f\\x80\\xff'"},
      {"caf\xc3\xa9", "b'caf\\xc3\\xa9'"},
      {"\x0b\x0c", "b'\\x0b\\x0c'"},
      {"X-Peer: 192.0.2.1", "b'X-Peer: 192.0.2.1'"},
      {" ~", "b' ~'"},
  };
  for (const auto& [in, out] : cases)
    EXPECT_EQ(out, repr_bytes(in)) << testing::PrintToString(in);
}

TEST(ReprBytes, EveryByte) {
  // repr(bytes([b])) for each b, built by Python's rules: \t \n \r \\ and
  // \' escaped, other bytes outside 0x20..0x7e as \xhh.
  static const char hex[] = "0123456789abcdef";
  for (int b = 0; b < 256; ++b) {
    std::string inner;
    if (b == '\t') {
      inner = "\\t";
    } else if (b == '\n') {
      inner = "\\n";
    } else if (b == '\r') {
      inner = "\\r";
    } else if (b == '\\') {
      inner = "\\\\";
    } else if (b < 0x20 || b >= 0x7F) {
      inner = std::string("\\x") + hex[b >> 4] + hex[b & 0xF];
    } else {
      inner = std::string(1, char(b));
    }
    // A lone ' is shown in double quotes.
    const std::string expected = b == '\'' ? "b\"'\"" : "b'" + inner + "'";
    EXPECT_EQ(expected, repr_bytes(std::string(1, char(b)))) << b;
  }
}

TEST(ReprStr, Cases) {
  // repr(str) in Python (UTF-8 in and out).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "''"},
      {"abc", "'abc'"},
      {"BODY=8BITMIME", "'BODY=8BITMIME'"},
      {"it's", "\"it's\""},
      {"\"", "'\"'"},
      {"a'\"b", "'a\\'\"b'"},
      {"\t\n\r\\", "'\\t\\n\\r\\\\'"},
      {"\0\x1f\x7f"s, "'\\x00\\x1f\\x7f'"},
      {"\xc2\x85\xc2\xa0\xc2\xad", "'\\x85\\xa0\\xad'"},
      {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
       "'\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80'"},
      {"\xe2\x80\xa8\xe2\x80\x8b\xe3\x80\x80\xef\xbb\xbf",
       "'\\u2028\\u200b\\u3000\\ufeff'"},
      {"\xe1\x9a\x80\xe2\x81\xa6", "'\\u1680\\u2066'"},
      {"\xee\x80\x80", "'\\ue000'"},
      {"caf\xc3\xa9 \xe2\x80\x8f", "'caf\xc3\xa9 \\u200f'"},
  };
  for (const auto& [in, out] : cases)
    EXPECT_EQ(out, repr_str(in)) << testing::PrintToString(in);
}

// Format characters (Cf) and private use (Co) beyond those that text.cpp
// lists are not printable either: Python escapes them.
TEST(ReprStr, OtherNonPrintablesAreEscaped) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xd8\x80", "'\\u0600'"},              // ARABIC NUMBER SIGN, Cf
      {"\xd8\x9c", "'\\u061c'"},              // ARABIC LETTER MARK, Cf
      {"\xef\xbf\xb9", "'\\ufff9'"},          // INTERLINEAR ANNOTATION, Cf
      {"\xf0\x9d\x85\xb3", "'\\U0001d173'"},  // MUSICAL SYMBOL BEGIN BEAM
      {"\xf3\xa0\x80\x81", "'\\U000e0001'"},  // LANGUAGE TAG, Cf
      {"\xf3\xb0\x80\x80", "'\\U000f0000'"},  // plane 15 private use, Co
  };
  for (const auto& [in, out] : cases)
    EXPECT_EQ(out, repr_str(in)) << testing::PrintToString(in);
}

// --- every code point against Python, block by block
// -------------------------------

// For each block of 4096 code points (surrogates left out), an FNV-1a
// hash of what Python 3.11 (Unicode 14.0.0) gives for each code point in
// turn: str.isalnum() as one byte 0/1, str.upper() and repr() as UTF-8
// each followed by a NUL.  Made with:
//   h = 0xcbf29ce484222325
//   for c in block: for b in f(chr(c)): h = ((h ^ b) * 0x100000001b3) % 2**64
//
// Most of the 272 blocks hold no letter, digit or printable character
// (unassigned, private use, tags); for those Python's answer follows a
// rule (not alphanumeric, upper() changes nothing, repr() escapes) that
// plain_block_answer writes out.  Only the other blocks are listed, and
// a block listed by mistake still has to match Python.
struct PythonBlock {
  char32_t block;
  std::uint64_t is_alnum, upper, repr;
};
constexpr PythonBlock python_blocks[] = {
    {0x00, 0xe9dae1a77734b40fu, 0x35a3924344f31b97u, 0x0d8338ce21c72b1eu},
    {0x01, 0x3841ffbeebff202fu, 0x8cf96fef9f1579beu, 0x380bf7f128334169u},
    {0x02, 0x4a384d1eda032770u, 0x245d25707e58b1b7u, 0x5b12c49377adff5fu},
    {0x03, 0x0d74d9ddc90a5247u, 0xc5810e8060a50a25u, 0xec7fecbd9c00b8b5u},
    {0x04, 0x559b32214163eae5u, 0x95751bf00cfe2c25u, 0xd68527a96cd48325u},
    {0x05, 0x13411b19e5157325u, 0x3492ad356d2bb225u, 0xc32ccfa2e7894625u},
    {0x06, 0x13411b19e5157325u, 0x5a033a7be10d5125u, 0xab6502327769b125u},
    {0x07, 0x13411b19e5157325u, 0x7e3ab064a96ec825u, 0x807b4debef673525u},
    {0x08, 0x13411b19e5157325u, 0x6f61a521feefc225u, 0x6e141e9a2048c925u},
    {0x09, 0x13411b19e5157325u, 0x36a25ca61cdc4c25u, 0x0dd3efd9b2199c25u},
    {0x0a, 0xf67e1a69124095b7u, 0x934677760ffc37a2u, 0x82ed68386a80e36cu},
    {0x0b, 0x13411b19e5157325u, 0xa0a0e38fc52db825u, 0x145e25ee93b3bf25u},
    {0x0c, 0x13411b19e5157325u, 0x2ce2a123606f1225u, 0x76660dd2f4d56525u},
    {0x0d, 0xa4bf966f44ad0141u, 0x0d7de62bf2ee15a5u, 0x6f377efec7c75d08u},
    {0x0f, 0x90b0ca955875ee06u, 0x07cce2571c31902bu, 0x412459e8e3cb5004u},
    {0x10, 0xe2cc49b040f073eeu, 0xbfaf76e8c37139ceu, 0xbc5710501af3f5c2u},
    {0x11, 0x241cb888df0bfb9au, 0x3124201d40c385c5u, 0x933a458d9966419fu},
    {0x12, 0x41ca8ec17d6a9bb1u, 0xe6cf0b73e8ba6525u, 0xb28711d8e3f27690u},
    {0x13, 0x72be45b070f00fe2u, 0xecff2c0ac23d4125u, 0xb7a8d2c76a05e66au},
    {0x14, 0xe5ec33c7d027139au, 0x90b6745f0e2f0425u, 0x3902673f384dfe36u},
    {0x16, 0xff8bb0b4176f3b70u, 0xb03cae604b1231a5u, 0x9116e538b70f5eb4u},
    {0x17, 0x13411b19e5157325u, 0x78560bbd246d7725u, 0x15fac39ead983925u},
    {0x18, 0x3af368927f952ad2u, 0xa3ef76cef91ab425u, 0x6ea8b2f617bdd401u},
    {0x1a, 0xa15855c85ac6ed52u, 0xf4c338f637014325u, 0x4857078b0df944a5u},
    {0x1b, 0xa1203b158c817348u, 0xdfe1d5c041d6e325u, 0x63a13446e40795e4u},
    {0x1c, 0xb93a0c83ce3b6325u, 0x9eb143bcd687c625u, 0x9253a5a4a3b4adb3u},
    {0x1d, 0x30a91855fb4e5677u, 0x6f35fa20a568d725u, 0x77939db3d91a3652u},
    {0x1e, 0x196ff5d81fabdd1cu, 0x4d12a053279847f1u, 0xad314c95ee7b6198u},
    {0x1f, 0xfeb60feeb2f4effeu, 0x0c41e8cc507fe525u, 0x88802fe1bccdc178u},
    {0x20, 0x13411b19e5157325u, 0x1fe280dacf8c5425u, 0xc2d9c0e466485c25u},
    {0x21, 0x13411b19e5157325u, 0x1586fa113b8c8b25u, 0xf746decb5ff2fe25u},
    {0x22, 0x13411b19e5157325u, 0x24a25c91205c3925u, 0x043b871e52419725u},
    {0x23, 0x13411b19e5157325u, 0x3e2f5e5b2766c525u, 0x974aa7e66c30f725u},
    {0x24, 0x13411b19e5157325u, 0x9a7c2a4cc3dba225u, 0x31bade57fd3d5225u},
    {0x25, 0x13411b19e5157325u, 0xcf7388da4d2a9725u, 0x393a035128729025u},
    {0x26, 0x13411b19e5157325u, 0x2edb0a21c966b725u, 0x7a2449004d6a4925u},
    {0x27, 0x13411b19e5157325u, 0x1cfadc53e40c3525u, 0x64595ee083827725u},
    {0x28, 0x13411b19e5157325u, 0xd1a4395b5d58f225u, 0xdaedffaf04f23e25u},
    {0x29, 0x13411b19e5157325u, 0x79fc754c121efd25u, 0xc06ddca4d39b7a25u},
    {0x2a, 0xbe3ac70e9f1c3705u, 0xdc871ce4dd842125u, 0x93e4fc66f6c62129u},
    {0x2b, 0x9fe8d0a3d0cf9886u, 0xf8f794521c1f0125u, 0xa9a08a8ef42eb0efu},
    {0x2c, 0xb89001278ec8378fu, 0x3cfa5131d81d5625u, 0xb0ae88bc1c842ba5u},
    {0x2d, 0x13411b19e5157325u, 0x62a3ba712b229b25u, 0xb6fc9111f651e225u},
    {0x2e, 0x9d1f7d2737d5e284u, 0x8f0017ea72c06125u, 0xb785466d4dc90edfu},
    {0x2f, 0x443749ebcd0587bbu, 0x03e75ca92bf55325u, 0x6ecdc45cafe2159du},
    {0x30, 0x13411b19e5157325u, 0x60ca5e20fe76ae25u, 0x84b7986882099425u},
    {0x31, 0x07a684907b75a02eu, 0x5183d610d81bb925u, 0x6b50dde449436d16u},
    {0xe0, 0xb93a0c83ce3b6325u, 0xded79f01c726e525u, 0x4c251b1215b9f449u},
};

constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325u;

std::uint64_t fnv(std::string_view bytes, std::uint64_t h) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3u;
  }
  return h;
}

// A block not in python_blocks: what Python gives for a code point that
// is neither alphanumeric, nor cased, nor printable.
enum class Question { is_alnum, upper, repr };

std::string plain_block_answer(Question question, char32_t cp) {
  char escaped[16];
  switch (question) {
    case Question::is_alnum:
      return std::string(1, '\0');
    case Question::upper:
      return utf8(cp) + '\0';
    case Question::repr:
      std::snprintf(escaped, sizeof escaped,
                    cp < 0x100     ? "'\\x%02x'"
                    : cp < 0x10000 ? "'\\u%04x'"
                                   : "'\\U%08x'",
                    unsigned(cp));
      return escaped + std::string(1, '\0');
  }
  return {};
}

std::uint64_t block_hash(char32_t block,
                         const std::function<std::string(char32_t)>& f) {
  std::uint64_t h = fnv_offset;
  for (char32_t cp = block * 0x1000; cp < (block + 1) * 0x1000; ++cp)
    if (!surrogate(cp)) h = fnv(f(cp), h);
  return h;
}

// Compares each block's hash of f(code point) with Python's; says which
// blocks differ.
void expect_blocks_as_python(Question question,
                             const std::function<std::string(char32_t)>& f) {
  for (char32_t block = 0; block < 0x110; ++block) {
    const auto listed = std::find_if(
        std::begin(python_blocks), std::end(python_blocks),
        [block](const PythonBlock& b) { return b.block == block; });
    std::uint64_t expected = 0;
    if (listed == std::end(python_blocks))
      expected = block_hash(block, [question](char32_t cp) {
        return plain_block_answer(question, cp);
      });
    else
      expected = question == Question::is_alnum ? listed->is_alnum
                 : question == Question::upper  ? listed->upper
                                                : listed->repr;
    EXPECT_EQ(expected, block_hash(block, f))
        << "differs from Python somewhere in U+" << std::hex << block * 0x1000
        << "..U+" << block * 0x1000 + 0xFFF;
  }
}

TEST(IsAlnum, EveryCodePoint) {
  expect_blocks_as_python(Question::is_alnum, [](char32_t cp) {
    return std::string(1, is_alnum(utf8(cp)) ? '\x01' : '\0');
  });
}

TEST(Upper, EveryCodePoint) {
  expect_blocks_as_python(Question::upper,
                          [](char32_t cp) { return upper(utf8(cp)) + '\0'; });
}

TEST(ReprStr, EveryCodePoint) {
  expect_blocks_as_python(
      Question::repr, [](char32_t cp) { return repr_str(utf8(cp)) + '\0'; });
}

TEST(IsAlnum, Cases) {
  // str.isalnum() in Python.
  const std::vector<std::pair<std::string, bool>> cases = {
      {"", false},
      {"SIZE", true},
      {"ABC123", true},
      {"0", true},
      {"A-B", false},
      {"A_B", false},
      {"A B", false},
      {"A=", false},
      {"\xc3\x89", true},       // É
      {"\xc2\xb2", true},       // superscript two, a digit
      {"\xe2\x85\xab", true},   // ROMAN NUMERAL TWELVE
      {"\xe2\x82\xac", false},  // EURO SIGN
      {"\xe2\x80\x93", false},  // EN DASH
      {"A\xc2\xa7", false},     // SECTION SIGN
      {"\xff", false},          // not UTF-8
      {"A\xc3", false},
  };
  for (const auto& [s, alnum] : cases)
    EXPECT_EQ(alnum, is_alnum(s)) << testing::PrintToString(s);
}

TEST(Upper, Cases) {
  // str.upper() in Python: full case mapping, lengths may change.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"mail from:<a@b.example>", "MAIL FROM:<A@B.EXAMPLE>"},
      {"stra\xc3\x9f"
       "e",
       "STRASSE"},                               // ß
      {"ma\xc4\xb1l", "MAIL"},                   // dotless i
      {"\xc5\xbfize=10", "SIZE=10"},             // long s
      {"\xef\xac\x81", "FI"},                    // fi ligature
      {"\xc5\x89", "\xca\xbcN"},                 // ŉ
      {"\xc3\xa9\xc3\xbf", "\xc3\x89\xc5\xb8"},  // é ÿ
      {"\xc2\xb5", "\xce\x9c"},                  // micro sign
      {"\xce\x90", "\xce\x99\xcc\x88\xcc\x81"},  // ΐ
      {"\xe2\x82\xac"
       "1",
       "\xe2\x82\xac"
       "1"},
      // Bytes that are not UTF-8 pass unchanged; the rest is upper-cased.
      {"a\xff"
       "b",
       "A\xff"
       "B"},
      {"\xc3", "\xc3"},
      {"\xed\xa0\x80x", "\xed\xa0\x80X"},
  };
  for (const auto& [in, out] : cases)
    EXPECT_EQ(out, upper(in)) << testing::PrintToString(in);
}

// The fast scan agrees with repr_bytes for every byte at every place in
// the 16-byte blocks it reads and in the bytes after the last whole one.
TEST(ReprPlainPrefix, StopsAtTheFirstByteReprWouldEscape) {
  for (int byte = 0; byte < 256; ++byte) {
    const std::string alone(1, char(byte));
    const bool plain = repr_bytes(alone) == "b'" + alone + "'";
    for (std::size_t at = 0; at < 35; ++at) {
      std::string bytes(35, 'a');
      bytes[at] = char(byte);
      EXPECT_EQ(plain ? bytes.size() : at, repr_plain_prefix(bytes))
          << "byte " << byte << " at " << at;
    }
  }
  EXPECT_EQ(0u, repr_plain_prefix(""));
}

}  // namespace
}  // namespace smtpd::text
