// session.hpp - what both programs do: read the options, open the debug
// file, and serve one session on standard input and output (the inetd
// style).  in.smtpd does nothing else; in.smtpd-full adds what needs
// shared libraries (see in.smtpd.cpp).
#pragma once

#include <signal.h>

#include <functional>
#include <memory>

#include "options.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/handler.hpp"

namespace in_smtpd {

class Diagnostics;

// The start of either program: SIGPIPE ignored, the command line (and
// --config) read.  false when there is no session to run: --help or
// --version was printed, or a bad option was said in one line; *status is
// then the exit status.
bool start_program(int argc, char* argv[], Diagnostics& diagnostics,
                   Options& options, int* status);

// Opens --debug-file when one is given: 0, or a sysexits status after
// saying why not.
int open_debug_file(const Options& options, Diagnostics& diagnostics);

// The channel's settings from the options; the host name is looked up
// here, once per process.
smtpd::ChannelConfig channel_config(const Options& options);

// SIGTERM, SIGHUP and SIGINT ask the driver (or the listener) to stop.
// They stay blocked except while it waits, so that a delivery is never cut
// short; returns the mask to wait with.
sigset_t catch_stop_signals();

// The driver's timeouts, -d trace, stop request (catch_stop_signals) and
// log: a hook's unusable answer, a bad PROXY header, each session's end.
smtpd::DriverOptions driver_options(const Options& options,
                                    const sigset_t& wait_mask,
                                    Diagnostics& diagnostics);

// The hooks of a session: its delivery class.
using MakeDelivery = std::function<std::unique_ptr<smtpd::Handler>()>;

// DebuggingServer, with the transaction log around it.
std::unique_ptr<smtpd::Handler> debugging_delivery(const Options& options,
                                                   Diagnostics& diagnostics);

// inetd style: this process is one session on stdin and stdout.  Returns
// the exit status.
int serve_one_session(const Options& options, smtpd::ChannelConfig config,
                      const MakeDelivery& make_delivery,
                      Diagnostics& diagnostics);

}  // namespace in_smtpd
