// mailman.hpp - MailmanProxy: list mail to Mailman, the rest relayed.
//
// smtpd.py's MailmanProxy (up to Python 3.10) called Mailman 2's Python
// code in-process.  Here Mailman is an external command, run without a
// shell, so that it works with Mailman 2's mail wrapper
// (`mailman post LIST` with the message on stdin) and anything that
// speaks the same interface.
//
// A recipient is a list recipient when its local part is LIST,
// LIST-admin, LIST-owner, LIST-request, LIST-join or LIST-leave (any
// case) for a list that exists; every other recipient is relayed as
// PureProxy relays, under the relay policy: before the queue, reply for
// reply.  The upstream transaction opens with the first relayed recipient
// (a session with list recipients only never reaches the upstream), each
// relayed RCPT gets the upstream's own reply, and after the final dot the
// relayed part goes upstream first: only when the upstream took it do the
// lists get the message, so a relay failure leaves no list with a copy
// the client's retry would duplicate.  The client gets 250 only when every
// part accepted (the upstream's reply, queue ID included, when there was
// a relayed part).  The hooks that wait (the relay, list checks that run
// a command, the deliveries) run on the session's HookWorker and answer
// later.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpd/export.hpp"
#include "smtpd/handler.hpp"
#include "smtpd/relay.hpp"
#include "smtpd/relay_policy.hpp"

namespace smtpd {

struct MailmanSettings {
  // The delivery command; "{command}" and "{list}" in any argument are
  // replaced (command: post, admin, owner, request, join or leave).
  std::vector<std::string> command = {"/var/lib/mailman/mail/mailman",
                                      "{command}", "{list}"};
  // A list exists when LISTS_DIR/LIST/config.pck does (Mailman 2) ...
  std::string lists_dir = "/var/lib/mailman/lists";
  // ... or, when this is set, when it exits 0 ("{list}" replaced); 1 says
  // there is no such list, anything else that it could not tell (451).
  std::vector<std::string> check_command;
  unsigned timeout_seconds = 120;
  // Mailman 3 (mailman3.cpp): version 3 switches to it.  An empty command
  // is then lmtp-deliver's, to lmtp_server.
  int version = 2;
  std::string lmtp_server = "127.0.0.1:8024";
  std::string lmtp_program = "lmtp-deliver";  // its path, set by the program
  std::vector<std::string> domains;           // Mailman's domains
  std::string data_dir = "/var/lib/mailman3/data";  // its postfix_* maps
};

class SMTPD_API MailmanProxy : public Handler {
 public:
  MailmanProxy(MailmanSettings settings, UpstreamSettings upstream,
               RelayPolicy policy, PureProxy::Log log);
  ~MailmanProxy() override;
  MailmanProxy(MailmanProxy&&) noexcept;
  MailmanProxy& operator=(MailmanProxy&&) noexcept;

  // The upstream transaction waits for the first relayed recipient.
  Answer handle_mail(Context& context, const std::string& address) override;
  // List recipients are accepted (they are delivered here); a list check
  // that cannot tell is a 451; the others as the relay policy says, then
  // as the upstream answers.
  Answer handle_rcpt(Context& context, const std::string& address) override;
  Answer handle_data(Context& context, const Envelope& message) override;
  Answer handle_rset(Context& context) override;
  Answer handle_quit(Context& context) override;

  // Delivers the message of a transaction whose relayed recipients the
  // upstream took already (on the calling thread, blocking): the relayed
  // part first, then each list; the answer's detail says what the relay
  // and the list commands did.
  Answer deliver(const Envelope& envelope);

  bool list_exists(const std::string& list);

 private:
  // The settings, the relay (a PureProxy), the lists known, Mailman 3's
  // side, the relayed part of the transaction and the session's HookWorker
  // (mailman.cpp).
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtpd
