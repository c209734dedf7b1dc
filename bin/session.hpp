// session.hpp - what both programs do: read the options, open the debug
// file, and serve one session on standard input and output (the inetd
// style).  in.smtpd does nothing else; in.smtpd-full adds what needs
// shared libraries (see in.smtpd.cpp).
#pragma once

#include <functional>
#include <memory>

#include "options.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/handler.hpp"
#include "smtpd/listener.hpp"

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

// SIGTERM, SIGHUP and SIGINT ask the driver (or the listener) to stop;
// SIGINT (Ctrl-C) also ends the listener's idle sessions at once, and a
// second signal ends its grace period.  They stay blocked except while it
// waits, so that a delivery is never cut short.
smtpd::StopSignals catch_stop_signals();

// The driver's timeouts, -d trace, stop signals and log: a hook's
// unusable answer, a bad PROXY header, each session's end.
smtpd::DriverOptions driver_options(const Options& options,
                                    const smtpd::StopSignals& stop,
                                    Diagnostics& diagnostics);

// The hooks of a session: its delivery class.
using MakeDelivery = std::function<std::unique_ptr<smtpd::Handler>()>;

// A delivery class with what the options put around it: the Maildir
// (--maildir, kept once the class accepted), the transaction log, the
// AUTH check (--auth-checkpassword, --auth-accept-any), and
// failures on demand (--fail, outermost: an injected refusal keeps and
// logs nothing but its own line).  detail_name: what the delivery's
// detail is called in the log line ("upstream", "mailman"), or empty.
std::unique_ptr<smtpd::Handler> finish_delivery(
    const Options& options, Diagnostics& diagnostics,
    std::unique_ptr<smtpd::Handler> delivery, std::string detail_name);

// DebuggingServer, finished as above.
std::unique_ptr<smtpd::Handler> debugging_delivery(const Options& options,
                                                   Diagnostics& diagnostics);

// inetd style: this process is one session on stdin and stdout, under
// TLS when tls is set (in.smtpd-full only: it links OpenSSL).  Returns
// the exit status.
int serve_one_session(const Options& options, smtpd::ChannelConfig config,
                      const MakeDelivery& make_delivery,
                      Diagnostics& diagnostics, smtpd::TlsFactory tls = {});

}  // namespace in_smtpd
