// driver_settings.hpp - the driver's settings from the options: the same
// for one session (inetd_session.hpp) and for each of the listener's.
#pragma once

#include <signal.h>

#include "options.hpp"
#include "smtpd/driver.hpp"

namespace in_smtpd {

class Logs;

// The driver's timeouts, -d trace, stop request (catch_stop_signals) and
// log: a hook's unusable answer, a bad PROXY header, each session's end.
smtpd::DriverOptions driver_options(const Options& options,
                                    const sigset_t& wait_mask, Logs& logs);

}  // namespace in_smtpd
