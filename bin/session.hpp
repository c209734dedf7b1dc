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
#include "smtpd/listener.hpp"
#include "smtpd/relay.hpp"
#include "smtpd/server.hpp"

namespace in_smtpd {

class Diagnostics;

// The start of either program: SIGPIPE ignored, the options read (by
// parse_command_line, or take_over in in.smtpd-full) acted on.  false
// when there is no session to run: --help or --version was printed, or a
// bad option was said in one line; *status is then the exit status.
bool start_program(CommandLine command_line, Diagnostics& diagnostics,
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

// For the listener: a stop by SIGINT (Ctrl-C) ends idle sessions at once,
// and a second stop signal ends every session at once.
void stop_signals_for_listener(smtpd::ListenerOptions& listener);

// The driver's timeouts, -d trace and stop request (catch_stop_signals).
smtpd::DriverOptions driver_options(const Options& options,
                                    const sigset_t& wait_mask,
                                    Diagnostics& diagnostics);

// The delivery class of a session, made once the peer is known; it may
// set config.check_recipient.
using MakeDelivery =
    std::function<std::unique_ptr<smtpd::Server>(smtpd::ChannelConfig& config)>;

// A delivery class with what the options put around it: the Maildir
// (--maildir, kept once the class accepted), the transaction log, and
// failures on demand (--fail, outermost: an injected refusal keeps and
// logs nothing but its own line).  relay: what relays, for the log.
std::unique_ptr<smtpd::Server> finish_delivery(
    const Options& options, Diagnostics& diagnostics,
    std::unique_ptr<smtpd::Server> delivery, const smtpd::PureProxy* relay);

// DebuggingServer, finished as above.
std::unique_ptr<smtpd::Server> debugging_delivery(const Options& options,
                                                  Diagnostics& diagnostics);

// inetd style: this process is one session on stdin and stdout.  Returns
// the exit status.
int serve_one_session(const Options& options, smtpd::ChannelConfig config,
                      const MakeDelivery& make_delivery,
                      Diagnostics& diagnostics);

}  // namespace in_smtpd
