// delivery_stack.cpp - the delivery and its wrappers (see
// delivery_stack.hpp).
#include "delivery_stack.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>

#include "auth_check.hpp"
#include "failure_injection.hpp"
#include "logs.hpp"
#include "smtpd/debugging.hpp"
#include "smtpd/maildir.hpp"
#include "stop_signals.hpp"
#include "transaction_log.hpp"

namespace in_smtpd {
namespace {

// The process's --fail rules and rolls, made on first use.  Without
// --fail-seed the seed is random; where getrandom cannot give one, the
// PID and the time do (the rolls need not be secret).
FailureInjector& failure_injector(const Options& options, Logs& logs) {
  static FailureInjector* injector = nullptr;
  if (!injector) {
    std::uint64_t seed = options.fail_seed;
    if (!options.fail_seeded &&
        getrandom(&seed, sizeof seed, GRND_NONBLOCK) != ssize_t(sizeof seed))
      seed = std::uint64_t(getpid()) << 32 ^ std::uint64_t(time(nullptr));
    injector = new FailureInjector(options.fail_rules, seed, logs.transactions,
                                   wait_unless_stopped);
  }
  return *injector;
}

}  // namespace

std::unique_ptr<smtpd::Handler> finish_delivery(
    const Options& options, Logs& logs,
    std::unique_ptr<smtpd::Handler> delivery, std::string detail_name) {
  if (!options.maildir.empty())
    delivery = std::make_unique<smtpd::MaildirDelivery>(
        options.maildir, std::move(delivery),
        [&](std::string_view line) { logs.errors.say(line); });
  delivery = std::make_unique<TransactionLog>(
      std::move(delivery), std::move(detail_name), logs.transactions);
  if (!options.auth_checkpassword.empty() || options.auth_accept_any)
    delivery = std::make_unique<AuthCheck>(options, logs.transactions,
                                           std::move(delivery));
  if (!options.fail_rules.empty())
    delivery = std::make_unique<FailingSession>(failure_injector(options, logs),
                                                std::move(delivery));
  return delivery;
}

std::unique_ptr<smtpd::Handler> debugging_delivery(const Options& options,
                                                   Logs& logs) {
  return finish_delivery(
      options, logs,
      std::make_unique<smtpd::DebuggingServer>(
          logs.printout,
          smtpd::DebuggingSettings{options.decode_data, options.show_envelope}),
      std::string());
}

}  // namespace in_smtpd
