// inetd_session.hpp - inetd style: this process is one session on stdin
// and stdout.
#pragma once

#include "delivery_stack.hpp"
#include "options.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/connection.hpp"

namespace in_smtpd {

class Logs;

// One session on descriptors 0 and 1, under TLS when tls is set
// (in.smtpd-full only: it links OpenSSL).  Returns the exit status:
// EX_OK, EX_PROTOCOL (a bad PROXY header or none: no session), or
// EX_IOERR when a printout could not be written (said when it happened).
// Throws ExitError (EX_IOERR) when the connection fails.
int serve_one_session(const Options& options, smtpd::ChannelConfig config,
                      const MakeDelivery& make_delivery, Logs& logs,
                      smtpd::TlsFactory tls = {});

}  // namespace in_smtpd
