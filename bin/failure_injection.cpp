// failure_injection.cpp - --fail applied to sessions (see
// failure_injection.hpp).
#include "failure_injection.hpp"

#include <string>

#include "diagnostics.hpp"

namespace in_smtpd {
namespace {

struct StageVerb {
  FailStage stage;
  const char* verb;
};

// The commands each stage fails (RFC 5321 4.1.1).
constexpr StageVerb kStageVerbs[] = {
    {FailStage::helo, "HELO"}, {FailStage::helo, "EHLO"},
    {FailStage::mail, "MAIL"}, {FailStage::rcpt, "RCPT"},
    {FailStage::data, "DATA"},
};

}  // namespace

FailureInjector::FailureInjector(std::vector<FailRule> rules,
                                 std::uint64_t seed, Diagnostics& diagnostics,
                                 std::function<void(unsigned)> wait)
    : rules_(std::move(rules)),
      rolls_(seed),
      diagnostics_(diagnostics),
      wait_(std::move(wait)) {}

const FailRule* FailureInjector::roll(FailStage stage) {
  const FailRule* rule = nullptr;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    rule = choose_failure(rules_, stage, rolls_);
  }
  if (rule) diagnostics_.transaction(failure_log_line(*rule));
  return rule;
}

bool FailingSession::fail(FailStage stage, smtpd::Channel& channel) {
  const FailRule* rule = injector_.roll(stage);
  if (!rule) return false;
  switch (rule->action) {
    case FailRule::Action::reply:
      // Counted as the channel counts any reply (5xx towards
      // --max-errors); 421 closes the connection (RFC 5321 3.8).
      channel.send_reply(rule->reply);
      if (rule->reply.compare(0, 3, "421") == 0) channel.close();
      return true;
    case FailRule::Action::drop:
      channel.close();
      return true;
    case FailRule::Action::delay:
      injector_.wait(rule->delay_seconds);
      return false;
  }
  return false;
}

void FailingSession::attach(smtpd::Channel& channel) {
  channel_ = &channel;
  // The connect stage answers in place of the greeting, then closes: a
  // client that gets 4xx or 5xx there has nothing more to say (RFC 5321
  // 3.1, 4.2.4).
  const FailRule* rule = injector_.roll(FailStage::connect);
  if (rule && rule->action == FailRule::Action::delay) {
    injector_.wait(rule->delay_seconds);
  } else if (rule) {
    channel.consume_output(channel.output().size());
    if (rule->action == FailRule::Action::reply)
      channel.send_reply(rule->reply);
    channel.close();
    return;
  }
  for (const StageVerb& entry : kStageVerbs) {
    channel.set_command(
        entry.verb, [this, stage = entry.stage, verb = entry.verb](
                        smtpd::Channel& channel, const std::string* argument) {
          if (!fail(stage, channel)) channel.run_builtin(verb, argument);
        });
  }
}

smtpd::Reply FailingSession::process_message(const smtpd::Envelope& envelope) {
  const FailRule* rule = injector_.roll(FailStage::message);
  if (rule && rule->action == FailRule::Action::reply) return rule->reply;
  if (rule && rule->action == FailRule::Action::drop) {
    // The channel awaits this reply and takes no other call meanwhile:
    // closed now, it sends nothing for the message and ends the session.
    if (channel_) channel_->close();
    return std::nullopt;
  }
  if (rule) injector_.wait(rule->delay_seconds);
  return delivery_->process_message(envelope);
}

void attach_failures(smtpd::Channel& channel, smtpd::Server& delivery) {
  if (auto* session = dynamic_cast<FailingSession*>(&delivery))
    session->attach(channel);
}

}  // namespace in_smtpd
