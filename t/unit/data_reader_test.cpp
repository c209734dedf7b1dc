// data_reader_test.cpp - DATA framing on its own (data_reader.hpp): the
// terminator's states, where a read stops, the size count and the message
// as it arrives.  The channel's transcripts (channel_test.cpp) and the
// channel fuzzer cover the same through the whole protocol.
#include "smtpd/data_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace smtpd {
namespace {

using Matched = DataReader::Matched;

// The state after each byte of input, fed one at a time.
std::vector<Matched> states(std::string_view input, bool data_line_crlf) {
  DataReader reader;
  reader.start(0, data_line_crlf);
  std::vector<Matched> seen;
  for (const char byte : input) {
    EXPECT_EQ(1u, reader.read(std::string_view(&byte, 1)));
    seen.push_back(reader.matched());
  }
  return seen;
}

TEST(DataReader, EachByteOfTheTerminatorIsAState) {
  EXPECT_EQ((std::vector<Matched>{Matched::nothing, Matched::cr, Matched::crlf,
                                  Matched::crlf_dot, Matched::crlf_dot_cr,
                                  Matched::all}),
            states("a\r\n.\r\n", true));
}

TEST(DataReader, TheDataLinesCrlfBeginsTheTerminator) {
  EXPECT_EQ((std::vector<Matched>{Matched::crlf_dot, Matched::crlf_dot_cr,
                                  Matched::all}),
            states(".\r\n", true));
  // After a bare LF the first line is only a line: its dot goes, and
  // ".\r\n" is a message line.
  EXPECT_EQ(
      (std::vector<Matched>{Matched::nothing, Matched::cr, Matched::crlf}),
      states(".\r\n", false));
}

TEST(DataReader, NearMissesFallBackIntoTheLine) {
  // CR CR LF: the first CR is the line's, the second begins its end.
  EXPECT_EQ((std::vector<Matched>{Matched::cr, Matched::cr, Matched::crlf,
                                  Matched::crlf_dot, Matched::crlf_dot_cr,
                                  Matched::cr, Matched::crlf}),
            states("\r\r\n.\r\r\n", true));
  // A bare LF after the dot, and a second dot, are the line's.
  EXPECT_EQ((std::vector<Matched>{Matched::crlf_dot, Matched::nothing}),
            states(".\n", true));
  EXPECT_EQ((std::vector<Matched>{Matched::crlf_dot, Matched::nothing}),
            states("..", true));
}

TEST(DataReader, AReadStopsAtTheEndOfTheTerminator) {
  DataReader reader;
  reader.start(0, true);
  const std::string_view input = "a\r\n..b\r\n.\r\nQUIT\r\n";
  EXPECT_EQ(input.find("QUIT"), reader.read(input));
  ASSERT_TRUE(reader.complete());
  EXPECT_FALSE(reader.too_big());
  EXPECT_EQ("a\n.b", reader.take_message());
  EXPECT_EQ(0u, reader.read("more"));  // complete: nothing more is taken
}

TEST(DataReader, TheMessageGrowsOnlyByDecidedBytes) {
  // Fed one byte at a time, what message() shows is never taken back: a
  // line break shows only once the next line is not the terminator, a
  // CR only once the next byte is not LF, a dot never at a line start.
  const std::string_view input = "..a\r\n.\rb\r\n\r\r\n.\r\n";
  const std::vector<std::string> expected = {
      "",           ".",           ".a",          ".a",          ".a",
      ".a",         ".a",          ".a\n\rb",     ".a\n\rb",     ".a\n\rb",
      ".a\n\rb\n",  ".a\n\rb\n\r", ".a\n\rb\n\r", ".a\n\rb\n\r", ".a\n\rb\n\r",
      ".a\n\rb\n\r"};
  DataReader reader;
  reader.start(0, true);
  std::vector<std::string> seen;
  for (const char byte : input) {
    reader.read(std::string_view(&byte, 1));
    seen.emplace_back(reader.message());
  }
  EXPECT_EQ(expected, seen);
  EXPECT_TRUE(reader.complete());
}

TEST(DataReader, SizeCountsTheBytesAsSent) {
  // RFC 1870 3: the size is the message as transmitted, each CRLF two
  // bytes and each stuffed dot one: "a\r\nb" is 4 bytes, "a\nb" kept.
  struct Case {
    std::string_view input;
    std::uint64_t limit;
    bool too_big;
  };
  const Case cases[] = {
      {"a\r\nb\r\n.\r\n", 4, false}, {"a\r\nb\r\n.\r\n", 3, true},
      {"..ab\r\n.\r\n", 4, false},   {"..abc\r\n.\r\n", 4, true},
      {".\r\n", 1, false},           {"\r\n.\r\n", 1, false},
      {"abcd\r\n.\r\n", 0, false},
  };
  for (const Case& c : cases) {
    DataReader reader;
    reader.start(c.limit, true);
    EXPECT_EQ(c.input.size(), reader.read(c.input)) << c.input;
    ASSERT_TRUE(reader.complete()) << c.input;
    EXPECT_EQ(c.too_big, reader.too_big()) << c.input;
    if (c.limit != 0) {
      EXPECT_LE(reader.message().size(), c.limit) << c.input;
    }
  }
}

TEST(DataReader, AMessageOverTheLimitIsNotKeptPastIt) {
  DataReader reader;
  reader.start(10, true);
  reader.read(std::string(1000, 'x'));
  EXPECT_TRUE(reader.too_big());  // known before the end
  EXPECT_EQ(std::string(10, 'x'), reader.message());
  reader.read("\r\n.\r\n");
  EXPECT_TRUE(reader.complete());
  EXPECT_TRUE(reader.too_big());
}

}  // namespace
}  // namespace smtpd
