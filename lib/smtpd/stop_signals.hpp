// stop_signals.hpp - the signals that ask the process to stop.
//
// A server stops in three steps: the first stop signal asks every session
// to end (421) once the message under way, if any, is answered; Ctrl-C at
// a terminal (the interrupt signal) also ends at once the sessions that
// hold no transaction, since somebody waits for the prompt; a second stop
// signal ends the grace period.  The signals stay blocked except while the
// driver or the listener waits (ppoll(2), epoll_pwait(2)), so that a signal
// never cuts a delivery short and never goes unseen by a wait.
//
//   DriverOptions options;
//   options.stop = StopSignals::catch_signals({SIGTERM, SIGHUP, SIGINT},
//                                             SIGINT);
//   run_connection(connection, 0, 1, options);
#pragma once

#include <signal.h>

#include <initializer_list>
#include <memory>

#include "smtpd/export.hpp"

namespace smtpd {

// A handle: copies share one state, so the options that hold it can be
// copied.  A default one catches no signal; request() stops it.
class SMTPD_API StopSignals {
 public:
  StopSignals();

  // Catches each of signals for the process (sigaction(2)) and blocks them
  // in the calling thread, and so in the threads it starts from now on.
  // interrupt_signal (0 for none) is the one that also closes idle
  // sessions at once.  A signal's handler is the process's: every call
  // returns a handle to the one process-wide state, its requests cleared.
  // Throws std::system_error when a signal cannot be caught or blocked.
  static StopSignals catch_signals(std::initializer_list<int> signals,
                                   int interrupt_signal = 0);

  // Asks to stop as a signal would (interrupt: as the interrupt signal);
  // safe from any thread.
  void request(bool interrupt = false);

  // A stop was asked for.
  bool stop_requested() const;
  // It came from the interrupt signal: sessions with no transaction under
  // way end at once.
  bool close_idle() const;
  // A second one came: the grace period is over.
  bool stop_now() const;

  // The mask to wait with: the one before catch_signals, with the stop
  // signals let through; nullptr when no signal is caught (the wait then
  // keeps the thread's mask).
  const sigset_t* wait_mask() const;

 private:
  struct State;
  explicit StopSignals(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace smtpd
