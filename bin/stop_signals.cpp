// stop_signals.cpp - the stop flags and their handler (see
// stop_signals.hpp).
#include "stop_signals.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <ctime>

namespace in_smtpd {

volatile std::sig_atomic_t stop_requested = 0;

namespace {

// SIGINT: Ctrl-C at a terminal, where someone waits for the prompt.
volatile std::sig_atomic_t interrupted = 0;
// A second stop signal: no grace period.
volatile std::sig_atomic_t stop_now = 0;

void request_stop(int signal_number) {
  if (stop_requested) stop_now = 1;
  stop_requested = 1;
  if (signal_number == SIGINT) interrupted = 1;
}

constexpr int stop_signals[] = {SIGTERM, SIGHUP, SIGINT};

// While a --fail delay waits: the mask the driver waits with, in the
// per-connection mode; nullptr in the standalone mode.
const sigset_t* delay_wait_mask = nullptr;

}  // namespace

sigset_t catch_stop_signals() {
  sigset_t blocked, wait_mask;
  sigemptyset(&blocked);
  for (const int signal_number : stop_signals) {
    sigaddset(&blocked, signal_number);
    struct sigaction action = {};
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, nullptr);
  }
  sigprocmask(SIG_BLOCK, &blocked, &wait_mask);
  for (const int signal_number : stop_signals)
    sigdelset(&wait_mask, signal_number);
  return wait_mask;
}

void stop_signals_for_listener(smtpd::ListenerOptions& listener) {
  listener.close_idle_at_stop = &interrupted;
  listener.stop_now = &stop_now;
}

void wait_for_delays_with(const sigset_t* wait_mask) {
  delay_wait_mask = wait_mask;
}

void wait_unless_stopped(unsigned seconds) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + std::chrono::seconds(seconds);
  while (!stop_requested) {
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
