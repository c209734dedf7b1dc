// stop_signals.hpp - SIGTERM, SIGHUP and SIGINT ask the program to stop:
// the driver (one session) or the listener (the standalone mode) ends on
// them (smtpd::StopSignals), and a --fail delay stops waiting.
#pragma once

#include "smtpd/stop_signals.hpp"

namespace in_smtpd {

// SIGTERM, SIGHUP and SIGINT ask the driver (or the listener) to stop;
// SIGINT (Ctrl-C) also ends the listener's idle sessions at once, and a
// second signal ends its grace period.  They stay blocked except while it
// waits, so that a delivery is never cut short.  Throws ExitError
// (EX_OSERR) when a signal cannot be caught or blocked.
smtpd::StopSignals catch_stop_signals();

// A --fail delay: seconds, or less when a stop signal comes.  Per
// connection, after wait_for_delays_with_mask (the mask the driver waits
// with): a stop signal ends the wait at once.  In the standalone mode a
// delay waits on a delivery thread, with the signals blocked: it looks at
// the stop request every 100 ms.
void wait_unless_stopped(unsigned seconds);
void wait_for_delays_with_mask();

}  // namespace in_smtpd
