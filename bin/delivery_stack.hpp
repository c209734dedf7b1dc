// delivery_stack.hpp - a session's hooks: its delivery class, with what
// the options put around it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "options.hpp"
#include "smtpd/handler.hpp"

namespace in_smtpd {

class Logs;

// The hooks of a session: its delivery class.
using MakeDelivery = std::function<std::unique_ptr<smtpd::Handler>()>;

// A delivery class with what the options put around it: the Maildir
// (--maildir, kept once the class accepted), the transaction log, the
// AUTH check (--auth-checkpassword, --auth-accept-any), and
// failures on demand (--fail, outermost: an injected refusal keeps and
// logs nothing but its own line).  detail_name: what the delivery's
// detail is called in the log line ("upstream", "mailman"), or empty.
std::unique_ptr<smtpd::Handler> finish_delivery(
    const Options& options, Logs& logs,
    std::unique_ptr<smtpd::Handler> delivery, std::string detail_name);

// DebuggingServer, finished as above.
std::unique_ptr<smtpd::Handler> debugging_delivery(const Options& options,
                                                   Logs& logs);

}  // namespace in_smtpd
