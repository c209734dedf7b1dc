// failures_test.cpp - the --fail rules: the parser's table of good and bad
// rules, the choice between rules, and the reproducible rolls
// (failures.hpp).
#include "failures.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace in_smtpd {
namespace {

using Action = FailRule::Action;

struct Good {
  const char* text;
  FailStage stage;
  Action action;
  const char* reply;
  unsigned delay;
  unsigned percent;
};

const Good good_cases[] = {
    {"rcpt:451 4.3.0 Try again later", FailStage::rcpt, Action::reply,
     "451 4.3.0 Try again later", 0, 100},
    {"mail:550 No:30", FailStage::mail, Action::reply, "550 No", 0, 30},
    {"data:554", FailStage::data, Action::reply, "554", 0, 100},
    {"helo:421 closing: bye:100", FailStage::helo, Action::reply,
     "421 closing: bye", 0, 100},
    {"message:drop", FailStage::message, Action::drop, "", 0, 100},
    {"connect:drop:0", FailStage::connect, Action::drop, "", 0, 0},
    {"connect:delay=20", FailStage::connect, Action::delay, "", 20, 100},
    {"rcpt:delay=3600:50", FailStage::rcpt, Action::delay, "", 3600, 50},
    {"auth:535 5.7.8 Authentication failed", FailStage::auth, Action::reply,
     "535 5.7.8 Authentication failed", 0, 100},
};

TEST(FailRule, GoodRules) {
  for (const Good& good : good_cases) {
    std::string error;
    const std::optional<FailRule> rule = parse_fail_rule(good.text, &error);
    ASSERT_TRUE(rule) << good.text << ": " << error;
    EXPECT_EQ(rule->stage, good.stage) << good.text;
    EXPECT_EQ(rule->action, good.action) << good.text;
    EXPECT_EQ(rule->reply, good.reply) << good.text;
    EXPECT_EQ(rule->delay_seconds, good.delay) << good.text;
    EXPECT_EQ(rule->percent, good.percent) << good.text;
  }
}

struct Bad {
  const char* text;
  const char* error_starts;
};

const Bad bad_cases[] = {
    {"rcpt", "STAGE:REPLY[:PERCENT] expected"},
    {"quit:451 x", "unknown stage 'quit'"},
    {"RCPT:451 x", "unknown stage 'RCPT'"},
    {"rcpt:250 OK", "REPLY must be"},  // not a failure
    {"rcpt:251", "REPLY must be"},
    {"rcpt:4xx no", "REPLY must be"},
    {"rcpt:461 no", "REPLY must be"},    // no such second digit
    {"rcpt:451-more", "REPLY must be"},  // a continuation line
    {"rcpt:451 a\r\n250 OK", "REPLY must be"},
    {"rcpt:451 caf\xC3\xA9", "REPLY must be"},
    {"rcpt:", "REPLY must be"},
    {"rcpt:451 x:101", "PERCENT must be"},
    {"rcpt:451 x:1000", "PERCENT must be"},
    {"rcpt:delay=0", "delay=SECONDS"},
    {"rcpt:delay=3601", "delay=SECONDS"},
    {"rcpt:delay=x", "delay=SECONDS"},
    {"rcpt:delay=-1", "delay=SECONDS"},
    {"rcpt:dropped", "REPLY must be"},
};

TEST(FailRule, BadRulesAreRefusedWithTheReason) {
  for (const Bad& bad : bad_cases) {
    std::string error;
    EXPECT_FALSE(parse_fail_rule(bad.text, &error)) << bad.text;
    EXPECT_EQ(error.rfind(bad.error_starts, 0), 0u)
        << bad.text << ": " << error;
  }
}

TEST(FailRule, AReplyOfOver512BytesIsRefused) {
  std::string error;
  EXPECT_FALSE(parse_fail_rule("rcpt:451 " + std::string(510, 'x'), &error));
  EXPECT_TRUE(parse_fail_rule("rcpt:451 " + std::string(508, 'x'), &error));
}

TEST(FailureRolls, TheSameSeedGivesTheSameRollsEachFrom0To99) {
  FailureRolls a(42), b(42), c(43);
  std::vector<unsigned> from_a, from_b, from_c;
  for (int i = 0; i < 1000; ++i) {
    from_a.push_back(a.next_percent());
    from_b.push_back(b.next_percent());
    from_c.push_back(c.next_percent());
    EXPECT_LT(from_a.back(), 100u);
  }
  EXPECT_EQ(from_a, from_b);
  EXPECT_NE(from_a, from_c);
}

FailRule rule(const char* text) {
  std::string error;
  return *parse_fail_rule(text, &error);
}

TEST(ChooseFailure, OnlyTheStagesRulesInOrderFirstHitWins) {
  const std::vector<FailRule> rules = {rule("mail:550 a"), rule("rcpt:451 b"),
                                       rule("rcpt:452 c")};
  FailureRolls rolls(1);
  EXPECT_EQ(choose_failure(rules, FailStage::helo, rolls), nullptr);
  EXPECT_EQ(choose_failure(rules, FailStage::mail, rolls)->reply, "550 a");
  EXPECT_EQ(choose_failure(rules, FailStage::rcpt, rolls)->reply, "451 b");
}

TEST(ChooseFailure, ZeroNeverFiresAndAHundredAlwaysWithoutARoll) {
  const std::vector<FailRule> rules = {rule("rcpt:451 a:0"),
                                       rule("rcpt:452 b")};
  FailureRolls rolls(7), untouched(7);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(choose_failure(rules, FailStage::rcpt, rolls)->reply, "452 b");
  EXPECT_EQ(rolls.next_percent(), untouched.next_percent());
}

TEST(ChooseFailure, APercentFiresAboutThatOftenAndReproducibly) {
  const std::vector<FailRule> rules = {rule("message:451 x:30")};
  const auto count = [&](std::uint64_t seed) {
    FailureRolls rolls(seed);
    int fired = 0;
    for (int i = 0; i < 10000; ++i)
      fired += choose_failure(rules, FailStage::message, rolls) != nullptr;
    return fired;
  };
  EXPECT_GT(count(5), 2700);
  EXPECT_LT(count(5), 3300);
  EXPECT_EQ(count(5), count(5));
}

TEST(FailureLogLine, SaysItWasInjected) {
  EXPECT_EQ(failure_log_line(rule("rcpt:451 4.3.0 Try again later")),
            "injected failure at rcpt: 451 4.3.0 Try again later");
  EXPECT_EQ(failure_log_line(rule("message:drop")),
            "injected failure at message: connection dropped without a reply");
  EXPECT_EQ(failure_log_line(rule("connect:delay=5")),
            "injected failure at connect: reply delayed 5 s");
}

}  // namespace
}  // namespace in_smtpd
