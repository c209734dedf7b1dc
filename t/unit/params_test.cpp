// params_test.cpp - ESMTP parameters (params.hpp), as smtpd.py reads them.
//
// Expected values are Python 3.11's: rest.upper().split() for words(), and
// SMTPChannel._getparams() for parse().
#include "smtpd/params.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace smtpd {
namespace {

using Words = std::vector<std::string>;

TEST(EsmtpParamsWords, UpperCasedAndSplitOnWhiteSpace) {
  EXPECT_EQ(Words{}, EsmtpParams::words(""));
  EXPECT_EQ(Words{}, EsmtpParams::words(" \t "));
  EXPECT_EQ((Words{"SIZE=10", "BODY=8BITMIME"}),
            EsmtpParams::words("size=10 body=8bitmime"));
  EXPECT_EQ((Words{"SIZE=10", "BODY=8BITMIME", "X"}),
            EsmtpParams::words("  size=10\tbody=8bitmime\xc2\xa0x  "));
  EXPECT_EQ((Words{"SMTPUTF8", "SIZE=1", "SIZE=2"}),
            EsmtpParams::words("SMTPUTF8   Size=1 sIZE=2"));
}

// Parses words, or fails the test.
EsmtpParams parsed(const Words& words) {
  std::optional<EsmtpParams> params = EsmtpParams::parse(words);
  EXPECT_TRUE(params.has_value()) << testing::PrintToString(words);
  return params.value_or(EsmtpParams{});
}

TEST(EsmtpParamsParse, NoWordsNoParameters) { EXPECT_TRUE(parsed({}).empty()); }

TEST(EsmtpParamsParse, KeywordWithValue) {
  EsmtpParams params = parsed({"SIZE=10"});
  EXPECT_FALSE(params.empty());
  const std::optional<EsmtpParams::Value> size = params.take("SIZE");
  ASSERT_TRUE(size.has_value());
  EXPECT_TRUE(size->given);
  EXPECT_EQ("10", size->text);
  EXPECT_TRUE(params.empty());
  EXPECT_FALSE(params.take("SIZE").has_value());
}

TEST(EsmtpParamsParse, KeywordAlone) {
  EsmtpParams params = parsed({"SMTPUTF8"});
  const std::optional<EsmtpParams::Value> smtputf8 = params.take("SMTPUTF8");
  ASSERT_TRUE(smtputf8.has_value());
  EXPECT_FALSE(smtputf8->given);
  EXPECT_EQ("", smtputf8->text);
}

TEST(EsmtpParamsParse, TakeRemovesOnlyWhatItNames) {
  EsmtpParams params = parsed({"BODY=8BITMIME", "SIZE=1", "FOO"});
  EXPECT_FALSE(params.take("BAR").has_value());
  ASSERT_TRUE(params.take("SIZE").has_value());
  EXPECT_FALSE(params.empty());
  ASSERT_TRUE(params.take("BODY").has_value());
  EXPECT_FALSE(params.empty());
  const std::optional<EsmtpParams::Value> foo = params.take("FOO");
  ASSERT_TRUE(foo.has_value());
  EXPECT_FALSE(foo->given);
  EXPECT_TRUE(params.empty());
}

TEST(EsmtpParamsParse, TheLastOfARepeatedKeywordWins) {
  EsmtpParams params = parsed({"SIZE=1", "SIZE=2"});
  const std::optional<EsmtpParams::Value> size = params.take("SIZE");
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ("2", size->text);
  EXPECT_TRUE(params.empty());

  params = parsed({"SIZE=1", "SIZE"});
  const std::optional<EsmtpParams::Value> bare = params.take("SIZE");
  ASSERT_TRUE(bare.has_value());
  EXPECT_FALSE(bare->given);
}

TEST(EsmtpParamsParse, TheValueIsEverythingAfterTheFirstEquals) {
  EsmtpParams params = parsed({"A=B=C", "X=="});
  EXPECT_EQ("B=C", params.take("A").value_or(EsmtpParams::Value{}).text);
  EXPECT_EQ("=", params.take("X").value_or(EsmtpParams::Value{}).text);
}

TEST(EsmtpParamsParse, KeywordsOfLettersAndDigits) {
  // str.isalnum() is true for these, non-ASCII letters and digits too.
  for (const Words& words : std::vector<Words>{{"ABC123"},
                                               {"0"},
                                               {"X=1"},
                                               {"\xc3\x89"},
                                               {"\xc2\xb2=1"},
                                               {"\xe2\x85\xab"}}) {
    EXPECT_TRUE(EsmtpParams::parse(words).has_value())
        << testing::PrintToString(words);
  }
}

TEST(EsmtpParamsParse, InvalidWords) {
  // _getparams() returns None for each of these.
  for (const Words& words : std::vector<Words>{
           {"=X"},
           {"X="},
           {"-X"},
           {"A_B"},
           {"A.B=1"},
           {""},
           {"="},
           {"SIZE=10", "=Y"},
           {"X=1", "BODY="},
       }) {
    EXPECT_FALSE(EsmtpParams::parse(words).has_value())
        << testing::PrintToString(words);
  }
}

// Beyond ASCII, symbols and punctuation are not letters or digits either.
TEST(EsmtpParamsParse, NonAsciiSymbolsInKeywordsAreInvalid) {
  for (const Words& words : std::vector<Words>{
           {"\xe2\x82\xac"},    // EURO SIGN
           {"\xe2\x86\x92=1"},  // RIGHTWARDS ARROW
           {"A\xe2\x80\x93"
            "B=1"},       // EN DASH
           {"\xc2\xa7"},  // SECTION SIGN
       }) {
    EXPECT_FALSE(EsmtpParams::parse(words).has_value())
        << testing::PrintToString(words);
  }
}

}  // namespace
}  // namespace smtpd
