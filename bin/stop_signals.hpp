// stop_signals.hpp - SIGTERM, SIGHUP and SIGINT ask the program to stop:
// the driver (one session) or the listener (the standalone mode) ends on
// the flags they set, and a --fail delay stops waiting.
#pragma once

#include <signal.h>

#include <csignal>

#include "smtpd/listener.hpp"

namespace in_smtpd {

// Set by SIGTERM, SIGHUP or SIGINT, and only by them (the handler).
extern volatile std::sig_atomic_t stop_requested;

// SIGTERM, SIGHUP and SIGINT ask the driver (or the listener) to stop.
// They stay blocked except while it waits, so that a delivery is never cut
// short; returns the mask to wait with.
sigset_t catch_stop_signals();

// For the listener: a stop by SIGINT (Ctrl-C) ends idle sessions at once,
// and a second stop signal ends every session at once.
void stop_signals_for_listener(smtpd::ListenerOptions& listener);

// A --fail delay: seconds, or less when a stop signal comes.  Per
// connection, with wait_mask (catch_stop_signals) set by
// wait_for_delays_with: a stop signal ends the wait at once.  In the
// standalone mode a delay waits on a delivery thread, with the signals
// blocked: it looks at the stop flag every 100 ms.
void wait_unless_stopped(unsigned seconds);
void wait_for_delays_with(const sigset_t* wait_mask);

}  // namespace in_smtpd
