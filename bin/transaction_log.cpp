// transaction_log.cpp - the per-message log line (see transaction_log.hpp).
#include "transaction_log.hpp"

#include "smtpd/text.hpp"

namespace in_smtpd {
using smtpd::text::loggable;

void TransactionLog::message_answered(const smtpd::Session& session,
                                      const smtpd::Envelope& envelope,
                                      std::string_view reply,
                                      std::string_view detail) {
  inner().message_answered(session, envelope, reply, detail);
  std::string line =
      "peer=" + envelope.peer.address + " helo=" + loggable(envelope.helo) +
      (session.authenticated.empty()
           ? std::string()
           : " user=" + loggable(session.authenticated)) +
      " from=<" +
      loggable(envelope.mail_from == "<>" ? "" : envelope.mail_from) +
      "> rcpts=" + std::to_string(envelope.rcpt_tos.size()) +
      " size=" + std::to_string(envelope.data.size() + streamed_) +
      " reply=\"" + loggable(reply) + "\"";
  if (!detail_name_.empty() && !detail.empty())
    line += " " + detail_name_ + "=\"" + loggable(detail) + "\"";
  streamed_ = 0;
  log_.say(line);
}

}  // namespace in_smtpd
