// text_test.cpp - Python's str rules on UTF-8 buffers (text.hpp).
//
// The expected values are Python 3.11's: str.isspace(), str.strip(),
// str.split(), repr() of bytes and of str, bytes.decode("utf-8").
#include "smtpd/text.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ios>
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

TEST(AsciiUpper, OnlyAsciiLetters) {
  EXPECT_EQ("", ascii_upper(""));
  EXPECT_EQ("MAIL FROM:<A@B.EXAMPLE> SIZE=10",
            ascii_upper("mail From:<a@b.example> size=10"));
  EXPECT_EQ("@[`{~\x7f", ascii_upper("@[`{~\x7f"));
  EXPECT_EQ("\xc3\xa9X\xc3\x89", ascii_upper("\xc3\xa9x\xc3\x89"));
  EXPECT_EQ("A\0B"s, ascii_upper("a\0b"s));
}

TEST(AsciiLower, OnlyAsciiLetters) {
  EXPECT_EQ("", ascii_lower(""));
  EXPECT_EQ("list-owner@lists.example",
            ascii_lower("List-OWNER@Lists.Example"));
  // The bytes next to the letters, and UTF-8 ("\xc3\x89" is U+00C9).
  EXPECT_EQ("?@[`{~\x7f", ascii_lower("?@[`{~\x7f"));
  EXPECT_EQ("\xc3\x89x\xc3\xa9", ascii_lower("\xc3\x89X\xc3\xa9"));
  EXPECT_EQ("a\0b"s, ascii_lower("A\0B"s));
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
// kIsAlnumBlocks
constexpr std::uint64_t kIsAlnumBlocks[0x110] = {
    0xe9dae1a77734b40fu, 0x3841ffbeebff202fu, 0x4a384d1eda032770u,
    0x0d74d9ddc90a5247u, 0x559b32214163eae5u, 0x13411b19e5157325u,
    0x13411b19e5157325u, 0x13411b19e5157325u, 0x13411b19e5157325u,
    0x13411b19e5157325u, 0xf67e1a69124095b7u, 0x13411b19e5157325u,
    0x13411b19e5157325u, 0xa4bf966f44ad0141u, 0xb93a0c83ce3b6325u,
    0x90b0ca955875ee06u, 0xe2cc49b040f073eeu, 0x241cb888df0bfb9au,
    0x41ca8ec17d6a9bb1u, 0x72be45b070f00fe2u, 0xe5ec33c7d027139au,
    0xb93a0c83ce3b6325u, 0xff8bb0b4176f3b70u, 0x13411b19e5157325u,
    0x3af368927f952ad2u, 0xb93a0c83ce3b6325u, 0xa15855c85ac6ed52u,
    0xa1203b158c817348u, 0xb93a0c83ce3b6325u, 0x30a91855fb4e5677u,
    0x196ff5d81fabdd1cu, 0xfeb60feeb2f4effeu, 0x13411b19e5157325u,
    0x13411b19e5157325u, 0x13411b19e5157325u, 0x13411b19e5157325u,
    0x13411b19e5157325u, 0x13411b19e5157325u, 0x13411b19e5157325u,
    0x13411b19e5157325u, 0x13411b19e5157325u, 0x13411b19e5157325u,
    0xbe3ac70e9f1c3705u, 0x9fe8d0a3d0cf9886u, 0xb89001278ec8378fu,
    0x13411b19e5157325u, 0x9d1f7d2737d5e284u, 0x443749ebcd0587bbu,
    0x13411b19e5157325u, 0x07a684907b75a02eu, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
    0xb93a0c83ce3b6325u, 0xb93a0c83ce3b6325u,
};
// kUpperBlocks
constexpr std::uint64_t kUpperBlocks[0x110] = {
    0x35a3924344f31b97u, 0x8cf96fef9f1579beu, 0x245d25707e58b1b7u,
    0xc5810e8060a50a25u, 0x95751bf00cfe2c25u, 0x3492ad356d2bb225u,
    0x5a033a7be10d5125u, 0x7e3ab064a96ec825u, 0x6f61a521feefc225u,
    0x36a25ca61cdc4c25u, 0x934677760ffc37a2u, 0xa0a0e38fc52db825u,
    0x2ce2a123606f1225u, 0x0d7de62bf2ee15a5u, 0x56160009520a1325u,
    0x07cce2571c31902bu, 0xbfaf76e8c37139ceu, 0x3124201d40c385c5u,
    0xe6cf0b73e8ba6525u, 0xecff2c0ac23d4125u, 0x90b6745f0e2f0425u,
    0x6f6aea021ad49b25u, 0xb03cae604b1231a5u, 0x78560bbd246d7725u,
    0xa3ef76cef91ab425u, 0x9718102b766c1b25u, 0xf4c338f637014325u,
    0xdfe1d5c041d6e325u, 0x9eb143bcd687c625u, 0x6f35fa20a568d725u,
    0x4d12a053279847f1u, 0x0c41e8cc507fe525u, 0x1fe280dacf8c5425u,
    0x1586fa113b8c8b25u, 0x24a25c91205c3925u, 0x3e2f5e5b2766c525u,
    0x9a7c2a4cc3dba225u, 0xcf7388da4d2a9725u, 0x2edb0a21c966b725u,
    0x1cfadc53e40c3525u, 0xd1a4395b5d58f225u, 0x79fc754c121efd25u,
    0xdc871ce4dd842125u, 0xf8f794521c1f0125u, 0x3cfa5131d81d5625u,
    0x62a3ba712b229b25u, 0x8f0017ea72c06125u, 0x03e75ca92bf55325u,
    0x60ca5e20fe76ae25u, 0x5183d610d81bb925u, 0x812a13e286745d25u,
    0x5d998746a990e525u, 0x6929dbd1921d4a25u, 0x45c2e92f390a7125u,
    0xff524554e977d725u, 0x81d721668445e725u, 0x10feb8567c6ca025u,
    0x5c7d239d40ec9f25u, 0xacee6e84a95ce325u, 0x05bb500e710e9b25u,
    0xa04a924d71b5ec25u, 0x77b22b4f7b4ce925u, 0xda94c6725db08925u,
    0x25fb8a91fb455125u, 0xb033f9cbac3c7f25u, 0xfabcef081964f025u,
    0x826c529df2bb1c25u, 0xadb49ecadd9bbb25u, 0x8cd71670c2cba125u,
    0xee7c6d8b2750a625u, 0x513e7b6f867d6e25u, 0xee6d49ddb9561325u,
    0x4bd40688e2dba925u, 0xa7ea543d89d8fa25u, 0x58853a35f16d2025u,
    0x59ccc7c68a3df125u, 0xba6084e12217f525u, 0x1b7048f505d9b825u,
    0xeae1fb888372ac25u, 0xb911aa4093340125u, 0xa936ccc12d4f4f25u,
    0x48ca9eaf7ea0dc25u, 0x89ceb465ab37ea25u, 0x1347cb677a315325u,
    0x7b25053200e07325u, 0xa91311dc73944625u, 0xa2acdb31eb63cc25u,
    0x83bf04abc22dcd25u, 0x4a8a4fc86735a325u, 0x272dc55b3e965425u,
    0xc2c53d7504748825u, 0x0c7852a05d69b525u, 0x5e195d2475fbb725u,
    0xeb7725a1f69a5625u, 0x031104af550f2a25u, 0x9411c32d081d0125u,
    0xaa991c3b6c770925u, 0xc58a8cdbdd945e25u, 0xd8cf21cff2971425u,
    0x09fb141324fa4525u, 0x4781428461b0e325u, 0x3df07872f44ac225u,
    0xb15dddefcc369a25u, 0x5f2e1cefa26d9d25u, 0x425b3abaf19ae525u,
    0xf3a4ef849bf5c025u, 0x7d913380763e9225u, 0xf17eb1e416b64525u,
    0xedb8ee53718c6325u, 0x24ad06b9ff1af425u, 0xf020eb4726680e25u,
    0x864bdb3121690d25u, 0x0bec0bf50bc0bf25u, 0x870c22a3ef286625u,
    0x90635e377f021c25u, 0x76be7584dba05b25u, 0x3adc87d17f963925u,
    0x2573d8a104905425u, 0x7b4f36c558821a25u, 0xd06f7ff45c8ce525u,
    0xe49ffa1bb0b59325u, 0xf6da070ac602f425u, 0x941eba6cd360dc25u,
    0xd13664733fe60325u, 0xfc17527c46fa4f25u, 0xb143ea24c3bed425u,
    0xeb5f2a01561a9625u, 0xfbfa4895e2a85325u, 0xfb5b747517438c25u,
    0x7480a7d31230ab25u, 0xa34d4d4824a86c25u, 0xa87ce3a9aaa46725u,
    0xd127a90d9784b025u, 0xbedf91017b79c125u, 0xf3dffd3db2a76025u,
    0x8c4ce079d4950525u, 0x161c2937e8ff9a25u, 0x03753efa024b1d25u,
    0xc78bcc87a39fa025u, 0x7321c71151685925u, 0x2da12b7a313cee25u,
    0x2b9ee1317a8cbf25u, 0x9a838ed99f5b7625u, 0xe7a86a56f3995325u,
    0x9034c50b3559d025u, 0x7037f3cc8297e525u, 0xd9dfc41556f38225u,
    0x943491d01c565925u, 0xdb6690b9992c1e25u, 0xc0e6f8e4d6c6cb25u,
    0x91cd93c594901c25u, 0xc39de904529f3925u, 0x3ac89580b5452a25u,
    0x908632a1e25c2725u, 0x21144344e4849425u, 0xe7e8a95607b76b25u,
    0x1e1397360e3f4225u, 0x64f6061171f22125u, 0x9ff0554519a8ee25u,
    0x3704e43432887d25u, 0x9947310bdd243e25u, 0x2ec93b840c4e3325u,
    0x28f6816a2e006425u, 0xd6d91ebdcbb4d925u, 0xeccf2b242c1ade25u,
    0xa11f0c20abe34b25u, 0x0efe601fb29f5625u, 0x562b9bffde335f25u,
    0x505da6296e2e0a25u, 0xe15678a4013bf925u, 0x0c3bfa7156a14e25u,
    0xdc80c43ac58dad25u, 0xd71bc37cd1782825u, 0x33408ba4cc68e525u,
    0x1a3c99e1e6e7b025u, 0x6635ccc4d6444f25u, 0x24ecc83705176025u,
    0x1dd39c3efb54cf25u, 0xb8c5b4fd81152c25u, 0xcc332a667ca0dd25u,
    0xbda563903513a825u, 0x8310f8c15130cd25u, 0xfef6fb05d79d5e25u,
    0x449fc9ed19bfa125u, 0xd243c7b6d324bc25u, 0x5f9ca607295f8325u,
    0xda0a233d8d817425u, 0x31cb3351eab14925u, 0x81c05e4226d83825u,
    0x9ef0648123160b25u, 0x3074a202bab2b225u, 0x396ac0171e979525u,
    0x99835fcfa516db25u, 0xf2a9b4eadf343025u, 0xda06569060999925u,
    0x3878f05e4b649725u, 0x203ea739ae2bad25u, 0x32ba82e6904c1c25u,
    0x0117a9beef8be725u, 0xd2ba93ad55619525u, 0x8e202fc524800125u,
    0x9605e6bd495a6c25u, 0x25b9be12e0903725u, 0xf06b483ffada0d25u,
    0x563e7ea2606b1f25u, 0x58266582620fae25u, 0x2c4fa836ba6f9725u,
    0x7baded35b8a23f25u, 0x0c7b24e632749d25u, 0x79a47329a1d18825u,
    0xfafb33f5f8aa2b25u, 0x4a6d3dba1fccd125u, 0x07c9d18299b21525u,
    0x7ebb06712ee06625u, 0xd4b5933370e17725u, 0xa6f625fac276db25u,
    0x17e5940c70a68125u, 0xa3543c5efa0b9025u, 0x12b0900fe28c5f25u,
    0x12613ea209ae4725u, 0x756fc82e40fc0725u, 0x425fb00f3f8d8e25u,
    0x2deabeca7d16d525u, 0xd3e24861b1f15d25u, 0xded79f01c726e525u,
    0x4664c0ed22bdaa25u, 0x1a45fbe46d408525u, 0xfa125f20f39b2725u,
    0x1a08d96ba605a725u, 0xff64574a3c7ab225u, 0xa677016a208ea525u,
    0x2c3d2f99ac74f325u, 0x0f025b10b5c64725u, 0x0225610bc5921c25u,
    0xe904036febceab25u, 0x0c86e1d9b4bb3525u, 0x7811e5ef1eedcd25u,
    0x1490eaed3245f825u, 0x7a06a534fb0f3f25u, 0xadb8ed39e15e1125u,
    0x2f81394e900c8325u, 0xb284dc8a49ae7e25u, 0xd802b60c3fa88125u,
    0x3d804bdf3caf2525u, 0xd51886735838c125u, 0xf073176da919e425u,
    0x573bbedcbf98f125u, 0xd1ab40530de77525u, 0x75c39bb6c4a68925u,
    0xfbbabffe8da2ca25u, 0xedf30a1d65456125u, 0x89c3375691423325u,
    0xf755dd0071f1e125u, 0x298ddd29463cc825u, 0xc0a71acc0c557f25u,
    0x20fcb276788fa325u, 0x77830aab16a06525u, 0x63db8b1178b36025u,
    0x3f9ce66f8f7f5b25u, 0x069a543e706c7f25u, 0xa6eeb834bd654325u,
    0x376161602e2b3a25u, 0x8e61137026a4c325u, 0x77d142ad243f0b25u,
    0xa49a8aedcb666725u, 0xae3a0697aa49d625u, 0x094288e5e8590725u,
    0x20eec722f6032925u, 0xdbf9ff4f8f8e3525u, 0x5b361a17792a1025u,
    0x13a2eaf246c10f25u, 0x41ea0979b70e1f25u,
};
// kReprBlocks
constexpr std::uint64_t kReprBlocks[0x110] = {
    0x0d8338ce21c72b1eu, 0x380bf7f128334169u, 0x5b12c49377adff5fu,
    0xec7fecbd9c00b8b5u, 0xd68527a96cd48325u, 0xc32ccfa2e7894625u,
    0xab6502327769b125u, 0x807b4debef673525u, 0x6e141e9a2048c925u,
    0x0dd3efd9b2199c25u, 0x82ed68386a80e36cu, 0x145e25ee93b3bf25u,
    0x76660dd2f4d56525u, 0x6f377efec7c75d08u, 0xe6993be78aa51fadu,
    0x412459e8e3cb5004u, 0xbc5710501af3f5c2u, 0x933a458d9966419fu,
    0xb28711d8e3f27690u, 0xb7a8d2c76a05e66au, 0x3902673f384dfe36u,
    0x3451fa3c20471b3du, 0x9116e538b70f5eb4u, 0x15fac39ead983925u,
    0x6ea8b2f617bdd401u, 0x5031530b2e74b19du, 0x4857078b0df944a5u,
    0x63a13446e40795e4u, 0x9253a5a4a3b4adb3u, 0x77939db3d91a3652u,
    0xad314c95ee7b6198u, 0x88802fe1bccdc178u, 0xc2d9c0e466485c25u,
    0xf746decb5ff2fe25u, 0x043b871e52419725u, 0x974aa7e66c30f725u,
    0x31bade57fd3d5225u, 0x393a035128729025u, 0x7a2449004d6a4925u,
    0x64595ee083827725u, 0xdaedffaf04f23e25u, 0xc06ddca4d39b7a25u,
    0x93e4fc66f6c62129u, 0xa9a08a8ef42eb0efu, 0xb0ae88bc1c842ba5u,
    0xb6fc9111f651e225u, 0xb785466d4dc90edfu, 0x6ecdc45cafe2159du,
    0x84b7986882099425u, 0x6b50dde449436d16u, 0xeaf856e79c9e466du,
    0x62fee2f48a45f50du, 0x2584991e660ed1bdu, 0xe860da983a89a25du,
    0xbb226e8c382f417du, 0xb8f83526be78ea2du, 0x911992d06afe037du,
    0x96c541a102a9fe9du, 0xc44575bef5f8463du, 0x0f51fbaa2ddd964du,
    0x129157a43bf0ae0du, 0x4beb1c3dfcf62d7du, 0x4bc682b2a7cb3cfdu,
    0xe8222d17eb24df5du, 0xae28af729c9771ddu, 0xdd5e88068231935du,
    0xa71c5daf9f1e64bdu, 0x8a9596161802546du, 0x80bd4e00c8996f4du,
    0x5b28f61fb99be35du, 0x74b004ee72cd152du, 0x864c1abd6f4d9dcdu,
    0x25e1130d7edae40du, 0x57ebb859c4f228fdu, 0x856cfa53da6d48ddu,
    0x4760e1a4c528fcfdu, 0x24370a16784936cdu, 0x9a8eb40b54854e6du,
    0xf54b32e6b0b06dbdu, 0x18f0f54d34ab8a4du, 0x303dfa336d4c904du,
    0xf3533bcd5bf88bbdu, 0x0f66cae065a2a7adu, 0x7a0f25001950c10du,
    0xec33233da6e507fdu, 0x5380caa0efacdd9du, 0x0675f3521ad7b71du,
    0x932e4722d424178du, 0xf349570e015da6ddu, 0xa9fe4c49b01051bdu,
    0xddec522e9f62565du, 0xf17527512c8d2eedu, 0xa6b3c68cc098c6adu,
    0x175a9b85b20a495du, 0x83c5b85edfcebb9du, 0x0ac164020c96e99du,
    0x10d6a53a22a4693du, 0x84e45c387c19e7edu, 0x729bc8e203ebc27du,
    0x76b22f4eefc2937du, 0x4cab367a3f5492adu, 0xa01baf9e7e307dcdu,
    0xa85bc4e8696d60cdu, 0xff9cee19acba969du, 0x2cb9315da144f24du,
    0x6db32084d78191cdu, 0x7813e78e85d711edu, 0x9169ebfd3e34a8ddu,
    0x99d17d34923446ddu, 0x573f9f254360658du, 0xff3a9ad3e240cf6du,
    0xdda474c750af5fadu, 0xfeb9905aae31925du, 0xed05d089ee50d71du,
    0x844e1145e6c3a51du, 0x94b80347225a42edu, 0xcec4f0c789bc0dadu,
    0xfcd62f606cd6f25du, 0x6653c231130bc24du, 0xd87e0d7ce97a862du,
    0xce92621d2c6c89adu, 0x8a111c825b3f597du, 0x3c2aa6f3b5a8da5du,
    0x33a162595975435du, 0x85e8d32735d81d6du, 0x41e8ce95d24cdcadu,
    0x4e57f3f63afe02fdu, 0x6993d5dfafd48a4du, 0x72fa3cb38d72476du,
    0xed0dfa9f99d2272du, 0x63bfc67e6302c92du, 0x0d7c58ef40fe425du,
    0x973663db08eafdddu, 0x6c9a3da317e9e44du, 0xda91403101156bbdu,
    0x3b51b9215acf0abdu, 0x8141c3d7ed450f3du, 0x02ce457a9c804fadu,
    0x4ca29b0430439aedu, 0x1fc59f8381c28cedu, 0x95c1b1d39558ef7du,
    0x413ad86382220c5du, 0x285e4999ca4b33adu, 0x0513b82607fbee1du,
    0xc98d3f9ad6f7d59du, 0x3163546d9558d24du, 0xfc029d4eea85d1bdu,
    0x6c788c9fbb88c0fdu, 0x25465a184850816du, 0x7b867beb5212b60du,
    0xd8c170be079759edu, 0x8c59c78d5fe437fdu, 0x39f689d718d0660du,
    0xc4bec785b71bb78du, 0x7ad64291e5e9c7adu, 0xe78d844ca05183bdu,
    0xa21f1db792e160fdu, 0xec6dd3b584c0d78du, 0x21eb1c5712a5c10du,
    0x4d0e5ef46376cbadu, 0x794e730c078f65fdu, 0x7a014964ab2cedbdu,
    0x9aca9b9820168fbdu, 0x934f431982c5048du, 0xe45afa4c9e06fe2du,
    0x816e6c06d0e5a47du, 0xcf31d5d6d6bc954du, 0x91e67dad1977094du,
    0xf2ad3c9dba3d7d2du, 0x5df1b0276db048bdu, 0x9a69c64916bd483du,
    0xfafac6498335a6fdu, 0x2e52b71bf2bbff2du, 0x4adbab3ea932ec4du,
    0xfffab141cac8f81du, 0xfc052c3e42f7704du, 0xe2bf0099f40fbfddu,
    0x755ffc5cab7f7eddu, 0x6a6d926e34ada81du, 0xbb3bb468d8010badu,
    0x81404d356c75042du, 0x775ee2e10f33131du, 0xd795f346511bad6du,
    0x1f31df900e10bc4du, 0x90809dad92875a2du, 0x9a11c592beadcb3du,
    0x2bc02653ca584b7du, 0xe6b70ba9274f545du, 0x29d2648170c4968du,
    0x76d3cf004a2f7b6du, 0xbe1df5fee0fbae9du, 0xc762008d2b2f496du,
    0x909a71ee89dd712du, 0xbd210e467796f69du, 0xb893cd734a4ed34du,
    0x5d9acb885c1729edu, 0x3d2e41a1fd2ec03du, 0x9042fd5a786a8c7du,
    0x474909812b0b581du, 0x2fe9b0e7c6dabf2du, 0x613164966f16139du,
    0x570915c89550799du, 0x615f71a33137aeddu, 0xb47565044f17b52du,
    0x52e5ead34c2e666du, 0x0915c6fd23c6da7du, 0x9db708c92b96f05du,
    0x366abbc60080823du, 0x8460794cafc5443du, 0xabc79350c85b3e5du,
    0x0da4aa966886079du, 0x88256191851d344du, 0x9dbd2859299c27cdu,
    0x63ea97ccdcc2e4ddu, 0xcdbe32774de9504du, 0x379f4d042ada6a8du,
    0x60d52fc619b0d80du, 0xe8315f48436d65bdu, 0xf5ed8e7fef26171du,
    0x3490fe784428589du, 0xaa73eb964aecb0edu, 0x6222413c7990516du,
    0xce087e41c60eb23du, 0x192d78e4465feeedu, 0x4c251b1215b9f449u,
    0x945cfd1a9bb63e7du, 0xf1c94022edb8270du, 0xb7bed2346ba582adu,
    0x4e907fcc81feef7du, 0xb4872277ce965b9du, 0x7aaf7d89ea27f91du,
    0xdc19d6e9feda748du, 0xf25d4a6e38d4735du, 0x9fd5f87e137e5dddu,
    0x1a3b6acaad339e9du, 0x5d91fed40fc84f0du, 0x670b11c2542abb0du,
    0x75ed83039aa6e75du, 0x9d7eff34365b459du, 0x48fc4d0df7d6419du,
    0x992166263a9d393du, 0x50a7d3b42ce257adu, 0x9dd1735c7d47beddu,
    0xffb9056712f5acbdu, 0x7a884a6096dfac6du, 0x2c582efd007dc9adu,
    0x8c5cbe46236d9a4du, 0xb582412af40a115du, 0xc6a2dc904bddff6du,
    0x2dca812a053e1c8du, 0xde87ede8a623512du, 0x02556560d57a193du,
    0x00786e8bb3e91c9du, 0xb7880f29abeba2cdu, 0x85c516ac1096dccdu,
    0x1887969a8e3a042du, 0x2427e46b8317ae8du, 0x7876c749e5fa46bdu,
    0xf52ab64768d6143du, 0x017bcf2be8b1c23du, 0x16ffe545ea9f6d6du,
    0xac67ed3c14f6112du, 0x186d1ccd70ce1dddu, 0x995afb1a25e10f8du,
    0xb29e239af86b44edu, 0x851af0fa0401924du, 0xb015e9bc7bbb667du,
    0xd474bcb2946c9d5du, 0x47d81e956fc9319du, 0xd38a150bfe530b8du,
    0xc3c29ed7e239c84du, 0x723ebbbca78b77bdu,
};

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325u;

std::uint64_t fnv(std::string_view bytes, std::uint64_t h) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3u;
  }
  return h;
}

// Compares each block's hash of f(code point); says which blocks differ.
template <typename F>
void expect_blocks_as_python(const std::uint64_t (&expected)[0x110], F f) {
  for (char32_t block = 0; block < 0x110; ++block) {
    std::uint64_t h = kFnvOffset;
    for (char32_t cp = block * 0x1000; cp < (block + 1) * 0x1000; ++cp)
      if (!surrogate(cp)) h = fnv(f(cp), h);
    EXPECT_EQ(expected[block], h)
        << "differs from Python somewhere in U+" << std::hex << block * 0x1000
        << "..U+" << block * 0x1000 + 0xFFF;
  }
}

TEST(IsAlnum, EveryCodePoint) {
  expect_blocks_as_python(kIsAlnumBlocks, [](char32_t cp) {
    return std::string(1, is_alnum(utf8(cp)) ? '\x01' : '\0');
  });
}

TEST(Upper, EveryCodePoint) {
  expect_blocks_as_python(kUpperBlocks,
                          [](char32_t cp) { return upper(utf8(cp)) + '\0'; });
}

TEST(ReprStr, EveryCodePoint) {
  expect_blocks_as_python(
      kReprBlocks, [](char32_t cp) { return repr_str(utf8(cp)) + '\0'; });
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
