// stop_signals.cpp - the stop flags a signal handler sets (see
// stop_signals.hpp).
#include "smtpd/stop_signals.hpp"

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <system_error>

namespace smtpd {

namespace {

// Lock-free atomics: a signal handler may set them (C++17
// [support.signal]), and another thread (a hook's) may too.
static_assert(std::atomic<bool>::is_always_lock_free,
              "a signal handler may only touch lock-free atomics");

struct Requests {
  std::atomic<bool> requested{false};
  std::atomic<bool> interrupted{false};
  std::atomic<bool> again{false};
  int interrupt_signal = 0;

  // interrupted first: whoever sees requested sees it too.
  void request(bool interrupt) {
    if (interrupt) interrupted = true;
    if (requested.exchange(true)) again = true;
  }
};

// The process's signals have one handler, and so one state: it lives as
// long as the process, since a signal may come at any time.
Requests* process_requests = nullptr;

extern "C" void on_stop_signal(int signal_number) {
  process_requests->request(signal_number ==
                            process_requests->interrupt_signal);
}

}  // namespace

struct StopSignals::State : Requests {
  bool masked = false;
  sigset_t wait_mask{};
};

StopSignals::StopSignals() : state_(std::make_shared<State>()) {}

StopSignals::StopSignals(std::shared_ptr<State> state)
    : state_(std::move(state)) {}

StopSignals StopSignals::catch_signals(std::initializer_list<int> signals,
                                       int interrupt_signal) {
  static State state;
  state.requested = false;
  state.interrupted = false;
  state.again = false;
  state.interrupt_signal = interrupt_signal;
  process_requests = &state;

  sigset_t blocked;
  sigemptyset(&blocked);
  for (const int signal_number : signals) {
    struct sigaction action = {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    if (sigaddset(&blocked, signal_number) != 0 ||
        sigaction(signal_number, &action, nullptr) != 0)
      throw std::system_error(
          errno, std::generic_category(),
          "catching signal " + std::to_string(signal_number));
  }
  sigset_t before;
  if (const int error = pthread_sigmask(SIG_BLOCK, &blocked, &before))
    throw std::system_error(error, std::generic_category(),
                            "blocking the stop signals");
  for (const int signal_number : signals) sigdelset(&before, signal_number);
  state.wait_mask = before;
  state.masked = true;
  // Not owned: the state outlives every handle.
  return StopSignals(std::shared_ptr<State>(&state, [](State*) {}));
}

void StopSignals::request(bool interrupt) { state_->request(interrupt); }

bool StopSignals::stop_requested() const { return state_->requested; }

bool StopSignals::close_idle() const { return state_->interrupted; }

bool StopSignals::stop_now() const { return state_->again; }

const sigset_t* StopSignals::wait_mask() const {
  return state_->masked ? &state_->wait_mask : nullptr;
}

}  // namespace smtpd
