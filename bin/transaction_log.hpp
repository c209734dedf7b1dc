// transaction_log.hpp - one log line per message, whatever the class.
//
//   peer=192.0.2.7 helo=client.example [user=alice] from=<a@example.com>
//   rcpts=2 size=1234 reply="250 OK" upstream="250 2.0.0 Ok: queued as 4Xy"
//
// A Handler around the delivery class: every hook goes to the delivery,
// and once a message's answer was checked it logs what the client got
// and what the delivery said it did (its answer's detail: the upstream's
// reply, a command's exit status).
#pragma once

#include <cstdint>
#include <memory>

#include "mail_log.hpp"
#include "smtpd/handler.hpp"

namespace in_smtpd {

class TransactionLog : public smtpd::HandlerWrapper {
 public:
  // detail_name: what the detail is called in the line ("upstream",
  // "mailman"), or empty when the delivery gives none.
  TransactionLog(std::unique_ptr<smtpd::Handler> delivery,
                 std::string detail_name, MailLog& log)
      : HandlerWrapper(std::move(delivery)),
        detail_name_(std::move(detail_name)),
        log_(log) {}

  void message_answered(const smtpd::Session& session,
                        const smtpd::Envelope& message, std::string_view reply,
                        std::string_view detail) override;
  // A streamed message is not kept (handler.hpp): its size is counted here.
  smtpd::Answer handle_data_command(smtpd::Context& c) override {
    streamed_ = 0;
    return HandlerWrapper::handle_data_command(c);
  }
  smtpd::Answer handle_data_piece(smtpd::Context& c,
                                  std::string_view piece) override {
    streamed_ += piece.size();
    return HandlerWrapper::handle_data_piece(c, piece);
  }

 private:
  std::uint64_t streamed_ = 0;
  std::string detail_name_;
  MailLog& log_;
};

}  // namespace in_smtpd
