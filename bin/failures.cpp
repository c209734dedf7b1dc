// failures.cpp - the --fail rules (see failures.hpp).
#include "failures.hpp"

namespace in_smtpd {
namespace {

struct StageName {
  FailStage stage;
  std::string_view name;
};

constexpr StageName stages[] = {
    {FailStage::connect, "connect"}, {FailStage::helo, "helo"},
    {FailStage::mail, "mail"},       {FailStage::rcpt, "rcpt"},
    {FailStage::data, "data"},       {FailStage::message, "message"},
    {FailStage::auth, "auth"},
};

constexpr unsigned max_delay_seconds = 3600;

bool all_digits(std::string_view text) {
  return !text.empty() &&
         text.find_first_not_of("0123456789") == std::string_view::npos;
}

// A failure's reply as the channel checks a hook's (one line, printable
// ASCII, a real code), and a refusal: 4xx or 5xx (RFC 5321 4.2.1).
bool is_failure_reply(std::string_view reply) {
  if (reply.size() < 3 || (reply[0] != '4' && reply[0] != '5') ||
      reply[1] < '0' || reply[1] > '5' || reply[2] < '0' || reply[2] > '9')
    return false;
  if (reply.size() > 3 && (reply[3] != ' ' || reply.size() > 512)) return false;
  for (const char c : reply)
    if (c < 0x20 || c > 0x7E) return false;
  return true;
}

}  // namespace

std::string_view stage_name(FailStage stage) {
  for (const StageName& entry : stages)
    if (entry.stage == stage) return entry.name;
  return "?";
}

std::optional<FailRule> parse_fail_rule(std::string_view text,
                                        std::string* error) {
  const auto refuse = [&](std::string reason) -> std::optional<FailRule> {
    *error = std::move(reason);
    return std::nullopt;
  };
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    return refuse("STAGE:REPLY[:PERCENT] expected");
  FailRule rule;
  const std::string_view stage = text.substr(0, colon);
  bool known = false;
  for (const StageName& entry : stages)
    if (entry.name == stage) rule.stage = entry.stage, known = true;
  if (!known)
    return refuse("unknown stage '" + std::string(stage) +
                  "' (connect, helo, mail, rcpt, data, message or auth)");
  std::string_view reply = text.substr(colon + 1);
  const std::size_t last = reply.rfind(':');
  if (last != std::string_view::npos && all_digits(reply.substr(last + 1))) {
    const std::string_view percent = reply.substr(last + 1);
    if (percent.size() > 3 || std::stoul(std::string(percent)) > 100)
      return refuse("PERCENT must be a whole number from 0 to 100");
    rule.percent = unsigned(std::stoul(std::string(percent)));
    reply = reply.substr(0, last);
  }
  constexpr std::string_view delay = "delay=";
  if (reply == "drop") {
    rule.action = FailRule::Action::drop;
  } else if (reply.substr(0, delay.size()) == delay) {
    const std::string_view seconds = reply.substr(delay.size());
    if (!all_digits(seconds) || seconds.size() > 4 ||
        std::stoul(std::string(seconds)) < 1 ||
        std::stoul(std::string(seconds)) > max_delay_seconds)
      return refuse("delay=SECONDS takes a whole number from 1 to " +
                    std::to_string(max_delay_seconds));
    rule.action = FailRule::Action::delay;
    rule.delay_seconds = unsigned(std::stoul(std::string(seconds)));
  } else if (is_failure_reply(reply)) {
    rule.action = FailRule::Action::reply;
    rule.reply = std::string(reply);
  } else {
    return refuse(
        "REPLY must be drop, delay=SECONDS or one reply line with a 4xx or "
        "5xx code ('451 4.3.0 Try again later')");
  }
  return rule;
}

unsigned FailureRolls::next_percent() {
  // splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
  // generators", 2014).
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return unsigned(z % 100);
}

const FailRule* choose_failure(const std::vector<FailRule>& rules,
                               FailStage stage, FailureRolls& rolls) {
  for (const FailRule& rule : rules) {
    if (rule.stage != stage || rule.percent == 0) continue;
    if (rule.percent >= 100 || rolls.next_percent() < rule.percent)
      return &rule;
  }
  return nullptr;
}

std::string failure_log_line(const FailRule& rule) {
  std::string line =
      "injected failure at " + std::string(stage_name(rule.stage)) + ": ";
  switch (rule.action) {
    case FailRule::Action::reply:
      return line + rule.reply;
    case FailRule::Action::drop:
      return line + "connection dropped without a reply";
    case FailRule::Action::delay:
      return line + "reply delayed " + std::to_string(rule.delay_seconds) +
             " s";
  }
  return line;
}

}  // namespace in_smtpd
