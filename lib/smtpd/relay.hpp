// relay.hpp - PureProxy: a before-queue proxy to an upstream server.
//
// smtpd.py's PureProxy took each whole message, answered 250, and handed
// it to smtplib.  Ours is a proxy in the manner of Postfix's
// smtpd_proxy_filter: the client's transaction is the upstream's, reply
// for reply.  MAIL opens the upstream transaction (with the SIZE, BODY and
// SMTPUTF8 parameters the upstream offers); each RCPT the relay policy
// allows goes upstream and the client gets the upstream's answer; DATA
// goes upstream, and the client gets 354 once the upstream's came; the
// message then streams upstream as it arrives (Handler::streams_data),
// dot-stuffed, with the X-Peer: line smtpd.py adds, and is never held
// whole; after the final dot the client gets the upstream's reply to it,
// its queue ID included.  So a recipient refused upstream is refused to the
// client alone, and nothing is answered 250 that the upstream did not
// answer 250.  Only a 421 is passed on as 451 (ours does not close).
//
// The upstream is asked on the session's HookWorker (hook_worker.hpp), and
// the hooks answer later (Answer::later): neither loop waits for the upstream,
// and a slow upstream holds only its own session.  While the message streams,
// at most limits::relay_stream_queue bytes wait for that thread; past it
// the piece hook answers later, and the client is read no further until
// the upstream took them.  A message cut short (too big, the client gone)
// never gets its final dot: the upstream connection is dropped, and the
// upstream discards the message.  An upstream gone or too slow in the
// middle of a message: the rest is read and dropped, and the final dot
// gets 451.  An upstream answer that comes when the client is gone is
// logged (the upstream may hold a message the client will send again).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "smtpd/export.hpp"
#include "smtpd/handler.hpp"
#include "smtpd/relay_policy.hpp"
#include "smtpd/upstream.hpp"

namespace smtpd {

class SMTPD_API PureProxy : public Handler {
 public:
  // log receives one line per relay failure and per refusal, in SMTP's
  // words (the upstream's reply, or why there was none).
  using Log = std::function<void(std::string_view)>;

  // Recipients are relayed as policy says (loopback clients only, by
  // default).
  PureProxy(UpstreamSettings settings, Log log,
            RelayPolicy policy = RelayPolicy());
  // Waits for an upstream exchange under way (bounded by the relay
  // timeout), then drops the upstream connection: a transaction it had
  // not finished is lost to it, never delivered.
  ~PureProxy() override;
  PureProxy(PureProxy&&) noexcept;
  PureProxy& operator=(PureProxy&&) noexcept;

  Answer handle_mail(Context& context, const std::string& address) override;
  Answer handle_rcpt(Context& context, const std::string& address) override;
  Answer handle_data(Context& context, const Envelope& message) override;
  Answer handle_rset(Context& context) override;
  Answer handle_quit(Context& context) override;
  bool streams_data() const override { return true; }
  Answer handle_data_command(Context& context) override;
  Answer handle_data_piece(Context& context, std::string_view piece) override;
  void data_abandoned(Context& context) override;

  // The relay policy alone (MailmanProxy's non-list recipients).
  Reply check_policy(const Peer& peer, const std::string& address) const;
  // The upstream's part of a hook, for a handler that relays some
  // recipients (MailmanProxy): each answers what the hook of the same
  // name answers, on the calling thread, blocking.
  Answer relay_mail(const std::string& address, const Envelope& transaction);
  Answer relay_rcpt(const std::string& address);
  Answer relay_data(const Envelope& message);
  void relay_rset();
  // From another thread, when the session is over: cuts the upstream
  // exchange under way, if any (UpstreamSession::interrupt), so that the
  // thread running it ends at once and nothing waits for the upstream.
  void interrupt_upstream();

 private:
  // The settings, the upstream session, the session's HookWorker and the
  // state of a message streaming (relay.cpp).
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtpd
