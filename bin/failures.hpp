// failures.hpp - failures on demand (--fail STAGE:REPLY[:PERCENT]): the
// rules, their parser, and which rule a stage's roll picks.  Pure: no
// clock, no randomness of its own (the rolls come from FailureRolls, seeded
// by the caller), no I/O.  failure_injection.hpp applies the choice to a
// session.
//
//   --fail rcpt:'451 4.3.0 Try again later':30   30% of RCPT commands
//   --fail message:drop                          close after the final dot
//   --fail connect:delay=20                      greet 20 s late
//
// A test of an application's retry and error handling uses them as it
// would use Postfix smtp-sink's -f/-r/-q/-Q, Mailpit's chaos triggers or
// MailHog's Jim.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace in_smtpd {

// Where a failure can be injected: when the greeting would go out, at
// HELO/EHLO, MAIL, RCPT, the DATA command, after the final dot (instead
// of delivering), and at AUTH (once the credentials are in, in place of
// their check).
enum class FailStage { connect, helo, mail, rcpt, data, message, auth };

std::string_view stage_name(FailStage stage);

struct FailRule {
  enum class Action {
    reply,  // answer `reply` instead of doing the command
    drop,   // close the connection without a reply
    delay,  // answer as usual, `delay_seconds` late
  };
  FailStage stage = FailStage::connect;
  Action action = Action::reply;
  std::string reply;           // a 4xx or 5xx reply line, for Action::reply
  unsigned delay_seconds = 0;  // for Action::delay
  unsigned percent = 100;      // how often the rule applies, 0 to 100
};

// "STAGE:REPLY[:PERCENT]".  REPLY is "drop", "delay=SECONDS" (1 to 3600)
// or a whole reply line: a 4xx or 5xx code, then nothing or a space and
// printable ASCII, one line.  A reply may hold colons; a last field of
// digits is PERCENT (so a reply that ends in ":NUMBER" needs ":100" after
// it).  nullopt with the reason in *error when the text is not a rule.
std::optional<FailRule> parse_fail_rule(std::string_view text,
                                        std::string* error);

// The rolls that decide, reproducibly from a seed (splitmix64: small, and
// the same sequence on every platform).
class FailureRolls {
 public:
  explicit FailureRolls(std::uint64_t seed) : state_(seed) {}
  // A whole number from 0 to 99.
  unsigned next_percent();

 private:
  std::uint64_t state_;
};

// The rule that fires at stage: the first one for that stage whose roll
// comes under its percent.  Only rules between 1 and 99 percent take a
// roll, so the sequence of rolls depends only on those.  nullptr: none.
const FailRule* choose_failure(const std::vector<FailRule>& rules,
                               FailStage stage, FailureRolls& rolls);

// The log line for a rule that fired ("injected failure at rcpt: 451 ...").
std::string failure_log_line(const FailRule& rule);

}  // namespace in_smtpd
