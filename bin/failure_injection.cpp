// failure_injection.cpp - --fail applied to sessions (see
// failure_injection.hpp).
#include "failure_injection.hpp"

#include <string>

#include "mail_log.hpp"

namespace in_smtpd {
FailureInjector::FailureInjector(std::vector<FailRule> rules,
                                 std::uint64_t seed, MailLog& log,
                                 std::function<void(unsigned)> wait)
    : rules_(std::move(rules)),
      rolls_(seed),
      log_(log),
      wait_(std::move(wait)) {}

const FailRule* FailureInjector::roll(FailStage stage) {
  const FailRule* rule = nullptr;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    rule = choose_failure(rules_, stage, rolls_);
  }
  if (rule) log_.say(failure_log_line(*rule));
  return rule;
}

bool FailureInjector::may_delay(FailStage stage) const {
  for (const FailRule& rule : rules_)
    if (rule.stage == stage && rule.action == FailRule::Action::delay)
      return true;
  return false;
}

std::optional<smtpd::Answer> FailingSession::fail(FailStage stage) {
  const FailRule* rule = injector_.roll(stage);
  if (!rule) return std::nullopt;
  switch (rule->action) {
    case FailRule::Action::reply:
      // Checked as any hook's answer: a 5xx counts towards --max-errors,
      // a 421 closes the connection (RFC 5321 3.8).
      return smtpd::Answer::reply(rule->reply);
    case FailRule::Action::drop:
      return smtpd::Answer::drop();
    case FailRule::Action::delay:
      injector_.wait(rule->delay_seconds);
      return std::nullopt;
  }
  return std::nullopt;
}

bool FailingSession::blocks(smtpd::Hook hook) const {
  if (inner().blocks(hook)) return true;
  switch (hook) {
    case smtpd::Hook::connect:
      return injector_.may_delay(FailStage::connect);
    case smtpd::Hook::helo:
      return injector_.may_delay(FailStage::helo);
    case smtpd::Hook::mail:
      return injector_.may_delay(FailStage::mail);
    case smtpd::Hook::rcpt:
      return injector_.may_delay(FailStage::rcpt);
    case smtpd::Hook::data:
      return injector_.may_delay(FailStage::message);
    case smtpd::Hook::auth:
      return injector_.may_delay(FailStage::auth);
    default:
      return false;
  }
}

smtpd::Answer FailingSession::handle_connect(smtpd::Context& c) {
  // The hooks' context is the session's channel: the DATA command's
  // stage goes there before the client's first byte is read.
  if (auto* channel = dynamic_cast<smtpd::Channel*>(&c))
    fail_data_command(*channel);
  // A client refused before the greeting has nothing more to say (RFC
  // 5321 3.1, 4.2.4): the channel ends the session after the refusal.
  if (auto failed = fail(FailStage::connect)) return *failed;
  return inner().handle_connect(c);
}

smtpd::Answer FailingSession::handle_helo(smtpd::Context& c,
                                          const std::string& name,
                                          bool extended) {
  if (auto failed = fail(FailStage::helo)) return *failed;
  return inner().handle_helo(c, name, extended);
}

smtpd::Answer FailingSession::handle_mail(smtpd::Context& c,
                                          const std::string& address) {
  if (auto failed = fail(FailStage::mail)) return *failed;
  return inner().handle_mail(c, address);
}

smtpd::Answer FailingSession::handle_rcpt(smtpd::Context& c,
                                          const std::string& address) {
  if (auto failed = fail(FailStage::rcpt)) return *failed;
  return inner().handle_rcpt(c, address);
}

smtpd::Answer FailingSession::handle_data(smtpd::Context& c,
                                          const smtpd::Envelope& message) {
  if (auto failed = fail(FailStage::message)) return *failed;
  return inner().handle_data(c, message);
}

smtpd::Answer FailingSession::handle_auth(
    smtpd::Context& c, const smtpd::AuthCredentials& credentials) {
  if (auto failed = fail(FailStage::auth)) return *failed;
  return inner().handle_auth(c, credentials);
}

void FailingSession::fail_data_command(smtpd::Channel& channel) {
  channel.set_command("DATA", [this](smtpd::Channel& channel,
                                     const smtpd::Channel::Argument& argument) {
    const FailRule* rule = injector_.roll(FailStage::data);
    if (rule && rule->action == FailRule::Action::reply)
      return channel.send_reply(rule->reply);  // a 421 closes
    if (rule && rule->action == FailRule::Action::drop) return channel.close();
    if (rule) injector_.wait(rule->delay_seconds);
    channel.run_builtin("DATA", argument);
  });
}

}  // namespace in_smtpd
