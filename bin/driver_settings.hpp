// driver_settings.hpp - the driver's settings from the options: the same
// for one session (inetd_session.hpp) and for each of the listener's.
#pragma once

#include "options.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/stop_signals.hpp"

namespace in_smtpd {

class Logs;

// The driver's timeouts, -d trace, stop signals (catch_stop_signals) and
// log: a hook's unusable answer, a bad PROXY header, each session's end.
smtpd::DriverOptions driver_options(const Options& options,
                                    const smtpd::StopSignals& stop, Logs& logs);

}  // namespace in_smtpd
