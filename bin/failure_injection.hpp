// failure_injection.hpp - where the --fail rules (failures.hpp) meet a
// session: the rolls, the waits and the log lines, all on the program's
// side; the channel stays as it is.
//
// The seam is narrow on purpose, to move onto connection hooks as they
// come: FailingSession wraps the delivery (the message stage) and, once
// the session's channel exists, attach() answers the connect stage and
// puts a handler in front of HELO, EHLO, MAIL, RCPT and DATA
// (Channel::set_command) that fails the command or runs the built-in one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "failures.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/server.hpp"

namespace in_smtpd {

class Diagnostics;

// The rules and the rolls of one process, shared by its sessions (the
// standalone mode rolls for many, from the delivery threads too).
class FailureInjector {
 public:
  // wait: sleeps for a delay rule, and may return early when the process
  // is asked to stop.
  FailureInjector(std::vector<FailRule> rules, std::uint64_t seed,
                  Diagnostics& diagnostics,
                  std::function<void(unsigned seconds)> wait);

  // The rule that fires at stage, if any; its log line is written.
  const FailRule* roll(FailStage stage);
  void wait(unsigned seconds) const { wait_(seconds); }

 private:
  const std::vector<FailRule> rules_;
  std::mutex mutex_;
  FailureRolls rolls_;
  Diagnostics& diagnostics_;
  std::function<void(unsigned)> wait_;
};

class FailingSession : public smtpd::Server {
 public:
  FailingSession(FailureInjector& injector,
                 std::unique_ptr<smtpd::Server> delivery)
      : injector_(injector), delivery_(std::move(delivery)) {}

  // Call once the session's channel exists, before it is fed.
  void attach(smtpd::Channel& channel);

  // The message stage: a reply or a drop keeps nothing (the delivery is
  // not called); a delay delivers late.
  smtpd::Reply process_message(const smtpd::Envelope& envelope) override;

 private:
  // Fails the command in channel if a rule fires: true when it answered
  // (or dropped) in its place; a delay waits and returns false.
  bool fail(FailStage stage, smtpd::Channel& channel);

  FailureInjector& injector_;
  std::unique_ptr<smtpd::Server> delivery_;
  smtpd::Channel* channel_ = nullptr;
};

// attach() for a session's delivery if it is a FailingSession.
void attach_failures(smtpd::Channel& channel, smtpd::Server& delivery);

}  // namespace in_smtpd
