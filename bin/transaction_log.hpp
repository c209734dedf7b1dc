// transaction_log.hpp - one log line per message, whatever the class.
//
//   peer=192.0.2.7 helo=client.example from=<a@example.com> rcpts=2
//   size=1234 reply="250 OK" upstream="250 2.0.0 Ok: queued as 4Xy"
//
// A Server that wraps the delivery class: it logs what the delivery
// answered, and for PureProxy what the upstream said.
#pragma once

#include <memory>

#include "diagnostics.hpp"
#include "smtpd/relay.hpp"
#include "smtpd/server.hpp"

namespace in_smtpd {

class TransactionLog : public smtpd::Server {
 public:
  // relay: what relays for delivery (itself for a PureProxy), or null.
  TransactionLog(std::unique_ptr<smtpd::Server> delivery,
                 const smtpd::PureProxy* relay, Diagnostics& diagnostics)
      : delivery_(std::move(delivery)), relay_(relay), diagnostics_(diagnostics) {}

  smtpd::Reply process_message(const smtpd::Envelope& envelope) override;

 private:
  std::unique_ptr<smtpd::Server> delivery_;
  const smtpd::PureProxy* relay_;
  Diagnostics& diagnostics_;
};

}  // namespace in_smtpd
