// relay.hpp - PureProxy: relay each message to an upstream server.
//
// smtpd.py's PureProxy inserts an X-Peer: line where the headers end and
// hands the message to smtplib.  We do the same, with two differences that
// keep mail from being lost: the client gets 250 only after the upstream
// accepted the message, and every failure becomes a 4xx or 5xx reply, so
// the client keeps the message (the reference answers 250 whatever
// happened).  Recipients are checked against a RelayPolicy at RCPT time.
#pragma once

#include "smtpd/export.hpp"

#include <functional>
#include <string>
#include <string_view>

#include "smtpd/handler.hpp"
#include "smtpd/relay_policy.hpp"
#include "smtpd/upstream.hpp"

namespace smtpd {

// The message as relayed: "X-Peer: <client address>" inserted before the
// first empty line (or at the end when there is none), then every line end
// (CRLF, bare LF, bare CR) made CRLF, as smtpd.py and smtplib do.  A bare
// LF never reaches the upstream, so "\n.\r\n" cannot end the message there
// early (SMTP smuggling).
SMTPD_API std::string relay_message(const Envelope& envelope);

// The reply to the client for an upstream result: nothing (250 OK) when
// delivered; the upstream's own 4xx/5xx reply when it refused; 451 when it
// could not be reached or did not finish; 553 when it lacks SMTPUTF8.
SMTPD_API Reply reply_for(const UpstreamResult& result);

// An upstream result as a hook's answer: reply_for's reply, and the
// upstream's own last reply as its detail (for the transaction log).
SMTPD_API Answer answer_for(const UpstreamResult& result);

class SMTPD_API PureProxy : public Handler {
 public:
  // log receives one line per failed delivery (the upstream's answer).
  using Log = std::function<void(std::string_view)>;

  // Recipients are accepted as policy says (loopback clients only, by
  // default).
  PureProxy(UpstreamSettings settings, Log log,
            RelayPolicy policy = RelayPolicy())
      : settings_(std::move(settings)),
        log_(std::move(log)),
        policy_(std::move(policy)) {}

  Answer handle_rcpt(Context& context, const std::string& address) override;
  Answer handle_data(Context& context, const Envelope& message) override;
  // The message waits for the upstream; the policy is pure.
  bool blocks(Hook hook) const override { return hook == Hook::data; }

  // Relays one message; the answer's detail is the upstream's reply.
  Answer deliver(const Envelope& envelope);

 private:
  UpstreamSettings settings_;
  Log log_;
  RelayPolicy policy_;
};

}  // namespace smtpd
