// mailman3.cpp - MailmanProxy's Mailman 3 side (see mailman3.hpp).
#include "smtpd/mailman3.hpp"

#include <fstream>

#include "smtpd/command.hpp"
#include "smtpd/mailman.hpp"
#include "smtpd/mailman_list.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

// runners/lmtp.py's SUBADDRESS_NAMES.
constexpr std::string_view subaddresses[] = {
    "bounces", "confirm", "join",      "leave",
    "owner",   "request", "subscribe", "unsubscribe"};

// What Mailman's LMTP runner answers an address that is not one of its
// lists (3.3.6 and later), used when we decide it without asking.
constexpr char unknown_list_reply[] =
    "550 Requested action not taken: mailbox unavailable";
constexpr char check_failed_reply[] =
    "451 Error: cannot look up mailing lists, try again later";

// lmtp-deliver's exit statuses (bin/lmtp-deliver.cpp).
constexpr int refused_status = 65;
constexpr int tempfail_status = 75;

bool printable(std::string_view s) {
  for (const char c : s)
    if (c < 0x20 || c >= 0x7F) return false;
  return true;
}

// The reply lmtp-deliver reported for address ("lmtp-deliver: ADDRESS:
// 550 text"), when it is a one-line 5xx reply fit to pass on.
std::optional<std::string> reported_refusal(std::string_view output,
                                            std::string_view address) {
  const std::string prefix = "lmtp-deliver: " + std::string(address) + ": ";
  const std::size_t at = output.find(prefix);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view reply = output.substr(at + prefix.size());
  reply = reply.substr(0, reply.find('\n'));
  if (reply.size() < 4 || reply[0] != '5' || reply[1] < '0' || reply[1] > '9' ||
      reply[2] < '0' || reply[2] > '9' || reply[3] != ' ' || !printable(reply))
    return std::nullopt;
  return std::string(reply);
}

std::string describe(const CommandResult& result) {
  std::string line;
  switch (result.outcome) {
    case CommandResult::Outcome::exited:
      line = result.error.empty()
                 ? "exit status " + std::to_string(result.status)
                 : result.error;
      break;
    case CommandResult::Outcome::signaled:
      line = "killed by signal " + std::to_string(result.status);
      break;
    case CommandResult::Outcome::timed_out:
      line = "timed out";
      break;
    case CommandResult::Outcome::not_run:
      line = result.error;
      break;
  }
  std::string output;
  for (const char c : result.output)
    if (c >= 0x20 && c < 0x7F)
      output += c;
    else if (c == '\n')
      output += " | ";
  if (!output.empty()) line += "; it said: " + output;
  return line;
}

}  // namespace

std::optional<Mailman3Recipient> mailman3_recipient(std::string_view address) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos || at + 1 == address.size())
    return std::nullopt;
  std::string local = text::ascii_lower(address.substr(0, at));
  Mailman3Recipient r;
  r.domain = text::ascii_lower(address.substr(at + 1));
  // The VERP delimiter '+' ends the part Mailman reads (mta.verp_delimiter).
  local = local.substr(0, local.find('+'));
  r.subaddress = "post";
  const std::size_t dash = local.rfind('-');
  if (dash != std::string::npos) {
    const std::string_view last = std::string_view(local).substr(dash + 1);
    for (const std::string_view sub : subaddresses)
      if (last == sub) {
        r.subaddress = std::string(sub);
        local.erase(dash);
        break;
      }
  }
  r.list = local;
  if (!is_list_name(r.list) || !printable(r.domain) || r.domain.front() == '-')
    return std::nullopt;
  return r;
}

std::optional<std::set<std::string>> read_postfix_map(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::set<std::string> keys;
  for (std::string line; std::getline(file, line);) {
    const std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    keys.insert(text::ascii_lower(
        line.substr(start, line.find_first_of(" \t\r", start) - start)));
  }
  return keys;
}

std::optional<std::vector<std::string>> mailman3_argv(
    const std::vector<std::string>& templ, const Mailman3Recipient& recipient,
    std::string_view sender, std::string_view address) {
  const std::pair<std::string_view, std::string_view> values[] = {
      {"{command}", recipient.subaddress},
      {"{list}", recipient.list},
      {"{domain}", recipient.domain},
      {"{sender}", sender},
      {"{recipient}", address},
  };
  std::vector<std::string> argv;
  for (const std::string& part : templ) {
    std::string arg;
    // One pass, left to right: a value is never read again as a key.
    for (std::size_t i = 0; i < part.size();) {
      bool replaced = false;
      for (const auto& [key, value] : values) {
        if (part.compare(i, key.size(), key) == 0) {
          arg += value;
          i += key.size();
          replaced = true;
          break;
        }
      }
      if (!replaced) arg += part[i++];
    }
    if (!arg.empty() && arg.front() == '-' &&
        (part.empty() || part.front() != '-'))
      return std::nullopt;
    argv.push_back(std::move(arg));
  }
  return argv;
}

Mailman3Lists::Mailman3Lists(const MailmanSettings& settings, Log log)
    : settings_(settings), log_(std::move(log)) {}

std::vector<std::string> Mailman3Lists::command() const {
  if (!settings_.command.empty()) return settings_.command;
  return {settings_.lmtp_program,
          "--sender={sender}",
          "--timeout=" + std::to_string(settings_.timeout_seconds),
          settings_.lmtp_server,
          "--",
          "{recipient}"};
}

bool Mailman3Lists::in_mailman_domain(const std::string& domain) {
  if (!domains_) {
    domains_ = read_postfix_map(settings_.data_dir + "/postfix_domains")
                   .value_or(std::set<std::string>{});
    for (const std::string& d : settings_.domains)
      domains_->insert(text::ascii_lower(d));
  }
  return domains_->count(domain) > 0;
}

Mailman3Lists::Decision Mailman3Lists::route(const std::string& address) {
  const std::optional<Mailman3Recipient> r = mailman3_recipient(address);
  if (!r) return {Route::relay, std::nullopt};
  const bool in_domain = in_mailman_domain(r->domain);
  // Lists live in domains: when Mailman's domains are known, a recipient
  // outside them is not Mailman's, whatever its local part.
  if (!domains_->empty() && !in_domain) return {Route::relay, std::nullopt};
  const std::string key = text::ascii_lower(address);
  const auto known = known_.find(key);
  if (known != known_.end()) return known->second;
  Decision decision = check(*r, address);
  // Outside every known domain a "no such list" means "not Mailman's".
  if (decision.route == Route::refused && !in_domain)
    decision = {Route::relay, std::nullopt};
  // A check that could not tell is asked again for the next recipient.
  if (decision.route != Route::unknown) known_[key] = decision;
  return decision;
}

Mailman3Lists::Decision Mailman3Lists::check(const Mailman3Recipient& r,
                                             const std::string& address) {
  if (!settings_.check_command.empty()) {
    const auto argv = mailman3_argv(settings_.check_command, r, "", address);
    if (!argv) return {Route::refused, std::string(unknown_list_reply)};
    const CommandResult result =
        run_command(*argv, "", settings_.timeout_seconds);
    if (result.outcome == CommandResult::Outcome::exited && result.status == 0)
      return {Route::mailman, std::nullopt};
    if (result.outcome == CommandResult::Outcome::exited && result.status == 1)
      return {Route::refused, std::string(unknown_list_reply)};
    if (log_)
      log_("mailman check " + r.posting_address() +
           " failed: " + describe(result));
    return {Route::unknown, std::string(check_failed_reply)};
  }
  if (!lmtp_map_)
    lmtp_map_ = read_postfix_map(settings_.data_dir + "/postfix_lmtp");
  if (*lmtp_map_) {
    // The map names every address of every list: LIST@D, LIST-SUB@D.
    const std::string key = r.list +
                            (r.subaddress == "post" ? "" : "-" + r.subaddress) +
                            "@" + r.domain;
    if ((*lmtp_map_)->count(key)) return {Route::mailman, std::nullopt};
    return {Route::refused, std::string(unknown_list_reply)};
  }
  // Ask Mailman: its RCPT reply, as it gave it.
  const CommandResult result =
      run_command({settings_.lmtp_program, "--check",
                   "--timeout=" + std::to_string(settings_.timeout_seconds),
                   settings_.lmtp_server, "--", address},
                  "", settings_.timeout_seconds);
  if (result.outcome == CommandResult::Outcome::exited && result.status == 0)
    return {Route::mailman, std::nullopt};
  if (result.outcome == CommandResult::Outcome::exited &&
      result.status == refused_status)
    return {
        Route::refused,
        reported_refusal(result.output, address).value_or(unknown_list_reply)};
  if (log_) log_("mailman check " + address + " failed: " + describe(result));
  return {Route::unknown, std::string(check_failed_reply)};
}

Reply Mailman3Lists::deliver(const Envelope& envelope,
                             const std::vector<std::string>& recipients) {
  const std::vector<std::string> templ = command();
  std::set<std::string> done;
  for (const std::string& address : recipients) {
    const std::optional<Mailman3Recipient> r = mailman3_recipient(address);
    if (!r || !done.insert(text::ascii_lower(address)).second) continue;
    const auto argv = mailman3_argv(templ, *r, envelope.mail_from, address);
    if (!argv) {
      if (log_)
        log_("mailman " + address +
             ": refused, a value would start an argument with '-'");
      return std::string(
          "553 Error: cannot hand this address to the mailing list command");
    }
    const CommandResult result =
        run_command(*argv, envelope.data, settings_.timeout_seconds);
    if (result.outcome == CommandResult::Outcome::exited && result.status == 0)
      continue;
    // EX_TEMPFAIL, a timeout, a signal or a command that could not start
    // are temporary: the client keeps the message and retries.
    const bool permanent = result.outcome == CommandResult::Outcome::exited &&
                           result.status != tempfail_status &&
                           result.status != 127;
    if (log_) log_("mailman " + address + " failed: " + describe(result));
    return std::string(permanent ? "550 Error: mailing list "
                                 : "451 Error: mailing list ") +
           r->posting_address() +
           (permanent ? " refused the message" : " failed, try again later");
  }
  return std::nullopt;
}

}  // namespace smtpd
