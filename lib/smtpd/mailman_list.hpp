// mailman_list.hpp - what a Mailman list recipient is, and the message a
// list gets: MailmanProxy's pure parts (mailman.cpp), kept apart so that
// the tests can check them against hostile names.  Internal: not installed.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace smtpd {

struct ListRecipient {
  std::string list;     // lower case
  std::string command;  // post, admin, owner, request, join, leave
};

// Mailman's list-name characters (its ACCEPTABLE_LISTNAME_CHARACTERS,
// lower case), no leading '-' or '.', no "..": a list name is never a path
// or an option.
bool is_list_name(std::string_view name);

// Whether address (as the channel hands it on) is a list recipient.
std::optional<ListRecipient> classify_recipient(
    std::string_view address,
    const std::function<bool(const std::string& list)>& list_exists);

// The message as Mailman gets it: From: (the envelope sender) and Date:
// added when the headers lack them; for join and leave, Subject: set to
// "subscribe" / "unsubscribe" as smtpd.py did.  Line ends stay LF.
std::string list_message(std::string_view data, std::string_view mail_from,
                         std::string_view date, std::string_view command);

}  // namespace smtpd
