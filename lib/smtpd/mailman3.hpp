// mailman3.hpp - MailmanProxy's Mailman 3 side (--mailman-version 3).
// Internal to the library (not installed, not exported): MailmanProxy
// holds it behind its Impl, and the unit tests link it statically.
//
// Mailman 3 takes mail only over LMTP (its LMTP runner, 127.0.0.1:8024 by
// default).  Here it is fed by an external command as Mailman 2 was, by
// default lmtp-deliver (bin/lmtp-deliver.cpp), one run per recipient:
//
//   LMTP_PROGRAM --sender={sender} --timeout=T LMTP_SERVER -- {recipient}
//
// What is Mailman's follows its runners/lmtp.py (3.3):
//   - a recipient is LIST@DOMAIN, or LIST-SUB@DOMAIN for SUB one of
//     bounces, confirm, join, leave, owner, request, subscribe,
//     unsubscribe (Mailman 2's -admin is gone); the local part is cut at
//     its first '+' (VERP and confirmation tokens), then split at its last
//     '-';
//   - lists live in domains: a recipient in one of Mailman's domains
//     (--mailman-domain, and the postfix_domains map Mailman writes in its
//     data directory) goes to Mailman, and an unknown list there is refused
//     at RCPT with Mailman's reply, never relayed; every other recipient is
//     relayed under the relay policy;
//   - a list exists when the check command says so (--mailman-check),
//     else when the postfix_lmtp map in Mailman's data directory names it,
//     else when Mailman's LMTP runner accepts it at RCPT (lmtp-deliver
//     --check: LHLO, MAIL, RCPT, RSET, QUIT).
// The message goes as the client sent it: Mailman 3 takes the envelope
// sender from MAIL FROM (its X-MailFrom:) and needs no From:/Date: added.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "smtpd/server.hpp"

namespace smtpd {

struct MailmanSettings;

struct Mailman3Recipient {
  std::string list;        // lower case, the part before @
  std::string subaddress;  // bounces, confirm, ..., or "post"
  std::string domain;      // lower case
  std::string posting_address() const { return list + "@" + domain; }
};

// How Mailman 3 reads a recipient; nothing when it has no '@' or its list
// name is not one (is_list_name(): never a path or an option).
std::optional<Mailman3Recipient> mailman3_recipient(std::string_view address);

// The keys (first words, lower case) of one of the Postfix maps Mailman
// writes (postfix_lmtp, postfix_domains); nothing when the file cannot be
// read.
std::optional<std::set<std::string>> read_postfix_map(const std::string& path);

// The argv of a command template with {command}, {list}, {domain},
// {sender} and {recipient} replaced; nothing when a value from the client
// would start an argument with '-' that the template did not (an option
// smuggled in).
std::optional<std::vector<std::string>> mailman3_argv(
    const std::vector<std::string>& templ, const Mailman3Recipient& recipient,
    std::string_view sender, std::string_view address);

// Where MailmanProxy sends a recipient, and remembers it for the session.
class Mailman3Lists {
 public:
  using Log = std::function<void(std::string_view)>;
  enum class Route {
    mailman,  // a list of Mailman's: delivered by the command
    refused,  // in a Mailman domain, no such list: reply says so
    relay,    // not Mailman's: the relay policy decides
    unknown,  // the check could not tell: 451
  };
  struct Decision {
    Route route;
    Reply reply;  // for refused and unknown
  };

  Mailman3Lists(const MailmanSettings& settings, Log log);

  Decision route(const std::string& address);
  // Runs the command for each of recipients (route() sent them to
  // Mailman); the first failure's reply, if any.
  Reply deliver(const Envelope& envelope,
                const std::vector<std::string>& recipients);

  // The command that delivers (the template given, else lmtp-deliver's).
  std::vector<std::string> command() const;

 private:
  bool in_mailman_domain(const std::string& domain);
  Decision check(const Mailman3Recipient& recipient,
                 const std::string& address);

  const MailmanSettings& settings_;
  Log log_;
  std::optional<std::set<std::string>> domains_;  // read once
  std::optional<std::optional<std::set<std::string>>> lmtp_map_;
  std::map<std::string, Decision> known_;
};

}  // namespace smtpd
