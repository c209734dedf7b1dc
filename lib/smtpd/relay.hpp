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

#include "smtpd/server.hpp"
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

class SMTPD_API PureProxy : public Server {
 public:
  // log receives one line per failed delivery (the upstream's answer).
  using Log = std::function<void(std::string_view)>;

  PureProxy(UpstreamSettings settings, Log log)
      : settings_(std::move(settings)), log_(std::move(log)) {}

  Reply process_message(const Envelope& envelope) override;

  // What the upstream did with the last message.
  const UpstreamResult& last_result() const { return last_result_; }

 private:
  UpstreamSettings settings_;
  Log log_;
  UpstreamResult last_result_;
};

}  // namespace smtpd
