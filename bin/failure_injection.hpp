// failure_injection.hpp - where the --fail rules (failures.hpp) meet a
// session: the rolls, the waits and the log lines, all on the program's
// side; the channel stays as it is.
//
// FailingSession is a hook wrapper (handler.hpp) around the delivery: the
// connect, HELO/EHLO, MAIL, RCPT and message hooks answer with the
// injected reply, or drop the connection (Answer::drop), or wait and then
// ask the delivery.  A stage with a delay rule is a hook that blocks, so
// the standalone listener waits on a thread of its own and the other
// sessions go on.  The DATA command has no hook: its stage is a command
// of the session's channel (Channel::set_command), put there by the
// connect hook, and a delay there waits where the channel is driven.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "failures.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/handler.hpp"

namespace in_smtpd {

class MailLog;

// The rules and the rolls of one process, shared by its sessions (the
// standalone mode rolls for many, from the delivery threads too).
class FailureInjector {
 public:
  // wait: sleeps for a delay rule, and may return early when the process
  // is asked to stop.
  FailureInjector(std::vector<FailRule> rules, std::uint64_t seed, MailLog& log,
                  std::function<void(unsigned seconds)> wait);

  // The rule that fires at stage, if any; its log line is written.
  const FailRule* roll(FailStage stage);
  // Whether a rule may delay stage (its hook may then block).
  bool may_delay(FailStage stage) const;
  void wait(unsigned seconds) const { wait_(seconds); }

 private:
  const std::vector<FailRule> rules_;
  std::mutex mutex_;
  FailureRolls rolls_;
  MailLog& log_;
  std::function<void(unsigned)> wait_;
};

class FailingSession : public smtpd::HandlerWrapper {
 public:
  FailingSession(FailureInjector& injector,
                 std::unique_ptr<smtpd::Handler> delivery)
      : HandlerWrapper(std::move(delivery)), injector_(injector) {}

  // A refusal at connect is sent in place of the greeting, then the end.
  smtpd::Answer handle_connect(smtpd::Context& c) override;
  smtpd::Answer handle_helo(smtpd::Context& c, const std::string& name,
                            bool extended) override;
  smtpd::Answer handle_mail(smtpd::Context& c,
                            const std::string& address) override;
  smtpd::Answer handle_rcpt(smtpd::Context& c,
                            const std::string& address) override;
  // The message stage: a reply or a drop keeps nothing (the delivery is
  // not called); a delay delivers late.
  smtpd::Answer handle_data(smtpd::Context& c,
                            const smtpd::Envelope& message) override;
  // AUTH, once the credentials are complete: a reply or a drop in place
  // of the check; a delay checks late.
  smtpd::Answer handle_auth(smtpd::Context& c,
                            const smtpd::AuthCredentials& credentials) override;
  bool blocks(smtpd::Hook hook) const override;

 private:
  // The injected answer at stage, if a rule fires and answers in the
  // delivery's place; a delay waits and gives nothing.
  std::optional<smtpd::Answer> fail(FailStage stage);
  // The DATA command's stage, on the session's channel.
  void fail_data_command(smtpd::Channel& channel);

  FailureInjector& injector_;
};

}  // namespace in_smtpd
