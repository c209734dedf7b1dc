// stop_signals.cpp - the program's stop signals (see stop_signals.hpp).
#include "stop_signals.hpp"

#include <poll.h>
#include <signal.h>
#include <sysexits.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <string>
#include <system_error>

#include "exit_error.hpp"

namespace in_smtpd {
namespace {

// The process's one set of stop signals; catching nothing until
// catch_stop_signals.
smtpd::StopSignals stop_signals;

// While a --fail delay waits: the mask the driver waits with, in the
// per-connection mode; nullptr in the standalone mode.
const sigset_t* delay_wait_mask = nullptr;

}  // namespace

smtpd::StopSignals catch_stop_signals() {
  try {
    stop_signals =
        smtpd::StopSignals::catch_signals({SIGTERM, SIGHUP, SIGINT}, SIGINT);
  } catch (const std::system_error& failure) {
    // Not for these three signals on Linux; but a session that could not
    // be stopped must not start.
    throw ExitError(EX_OSERR, std::string("cannot catch the stop signals: ") +
                                  failure.what());
  }
  return stop_signals;
}

void wait_for_delays_with_mask() { delay_wait_mask = stop_signals.wait_mask(); }

void wait_unless_stopped(unsigned seconds) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + std::chrono::seconds(seconds);
  while (!stop_signals.stop_requested()) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        end - Clock::now());
    if (left.count() <= 0) return;
    if (!delay_wait_mask)
      left = std::min<std::chrono::nanoseconds>(left,
                                                std::chrono::milliseconds(100));
    const timespec wait = {time_t(left.count() / 1000000000),
                           long(left.count() % 1000000000)};
    // Woken early by a signal (EINTR) or not, the loop looks again.
    static_cast<void>(ppoll(nullptr, 0, &wait, delay_wait_mask));
  }
}

}  // namespace in_smtpd
