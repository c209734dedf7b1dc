// mailman.cpp - MailmanProxy (see mailman.hpp).
#include "smtpd/mailman.hpp"

#include <sys/stat.h>

#include <ctime>
#include <map>
#include <set>

#include "smtpd/command.hpp"
#include "smtpd/hook_worker.hpp"
#include "smtpd/mailman3.hpp"
#include "smtpd/mailman_list.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

constexpr std::string_view list_commands[] = {"admin", "owner", "request",
                                              "join", "leave"};

// "Name:" at the start of a header line, any case (RFC 5322 2.2).
bool is_header(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' &&
         text::ascii_lower(line.substr(0, name.size())) == name;
}

// RFC 5322 3.3 date-time, local time: "Sun, 22 Nov 2026 23:45:00 +0100".
std::string rfc5322_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[64];
  // %a and %b are English in the C locale, which a program starts in.
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S %z", &local);
  return text;
}

std::vector<std::string> substitute(const std::vector<std::string>& templ,
                                    const std::string& command,
                                    const std::string& list) {
  std::vector<std::string> argv;
  for (std::string arg : templ) {
    for (const auto& [key, value] :
         {std::pair<std::string_view, const std::string&>{"{command}", command},
          {"{list}", list}}) {
      for (std::size_t at; (at = arg.find(key)) != std::string::npos;)
        arg.replace(at, key.size(), value);
    }
    argv.push_back(arg);
  }
  return argv;
}

}  // namespace

bool is_list_name(std::string_view name) {
  if (name.empty() || name.front() == '-' || name.front() == '.' ||
      name.find("..") != std::string_view::npos)
    return false;
  for (const char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                         c == '-' || c == '+' || c == '_' || c == '.' ||
                         c == '=';
    if (!allowed) return false;
  }
  return true;
}

std::optional<ListRecipient> classify_recipient(
    std::string_view address,
    const std::function<bool(const std::string& list)>& list_exists) {
  // The local part is what comes before the first '@', as smtpd.py took
  // it; the domain does not matter (the lists are local).
  const std::string local =
      text::ascii_lower(address.substr(0, address.find('@')));
  for (const std::string_view command : list_commands) {
    const std::string suffix = "-" + std::string(command);
    if (local.size() > suffix.size() &&
        local.compare(local.size() - suffix.size(), suffix.size(), suffix) ==
            0) {
      const std::string list = local.substr(0, local.size() - suffix.size());
      if (is_list_name(list) && list_exists(list))
        return ListRecipient{list, std::string(command)};
    }
  }
  if (is_list_name(local) && list_exists(local))
    return ListRecipient{local, "post"};
  return std::nullopt;
}

std::string list_message(std::string_view data, std::string_view mail_from,
                         std::string_view date, std::string_view command) {
  // The header section: up to the first empty line (LF line ends, as the
  // channel hands the message on; a CR before the LF is tolerated).
  std::size_t headers_end = data.size();
  for (std::size_t start = 0; start < data.size();) {
    std::size_t end = data.find('\n', start);
    if (end == std::string_view::npos) end = data.size();
    std::string_view line = data.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      headers_end = start;
      break;
    }
    start = end + 1;
  }
  const bool subscription = command == "join" || command == "leave";
  bool has_from = false, has_date = false;
  std::string headers;
  bool dropping = false;  // inside a Subject: header being replaced
  for (std::size_t start = 0; start < headers_end;) {
    std::size_t end = data.find('\n', start);
    if (end == std::string_view::npos || end > headers_end) end = headers_end;
    const std::string_view line = data.substr(start, end - start);
    const bool continuation =
        !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!continuation) dropping = subscription && is_header(line, "subject");
    has_from = has_from || is_header(line, "from");
    has_date = has_date || is_header(line, "date");
    if (!dropping) {
      headers.append(line);
      headers += '\n';
    }
    start = end + 1;
  }
  if (!headers.empty() && headers_end == data.size() && data.back() != '\n')
    headers.pop_back();  // the message was all headers, without a final LF
  std::string added;
  if (!has_from) added += "From: " + std::string(mail_from) + "\n";
  if (!has_date) added += "Date: " + std::string(date) + "\n";
  if (subscription)
    added +=
        command == "join" ? "Subject: subscribe\n" : "Subject: unsubscribe\n";
  if (!headers.empty() && headers.back() != '\n') headers += '\n';
  std::string out = headers + added;
  out.append(data.substr(headers_end));
  return out;
}

// MailmanProxy's state and private methods: the hooks' bodies are here,
// and the public methods hand over to them.
// Not exported: no program sees it (libsmtpd(3), ABI POLICY).
struct __attribute__((visibility("hidden"))) MailmanProxy::Impl {
  Impl(MailmanSettings settings, UpstreamSettings upstream, RelayPolicy policy,
       PureProxy::Log log);
  ~Impl();

  Answer handle_rcpt(Context& context, const std::string& address);
  Answer handle_data(Context& context, const Envelope& message);
  Answer handle_rset(Context& context);
  Answer deliver(const Envelope& envelope);
  bool list_exists(const std::string& list);
  // A recipient decided here (a list: accept; refused: its reply), or
  // nothing when it goes upstream.
  std::optional<Answer> route(const Session& session,
                              const std::string& recipient);
  std::optional<Answer> route3(const Session& session,
                               const std::string& recipient);
  // Whether route may wait (a check command, Mailman 3's lookups).
  bool route_waits() const;
  bool is_list(const std::string& recipient);
  // A relayed recipient upstream, the upstream transaction opened first.
  Answer relay_rcpt(const Envelope& transaction, const std::string& address);
  // The lists' part of deliver: the first failure's reply, if any; what
  // each did is added to detail.
  Reply deliver_lists(const Envelope& envelope,
                      const std::vector<std::string>& recipients,
                      std::string& detail);
  Reply deliver_lists3(const Envelope& envelope,
                       const std::vector<std::string>& recipients,
                       std::string& detail);

  MailmanSettings settings_;
  PureProxy relay_;
  PureProxy::Log log_;
  RelayPolicy policy_;
  std::map<std::string, bool> known_lists_;
  bool check_failed_ = false;  // a check could not tell, since last asked
  // Mailman 3 (mailman3.cpp), when settings.version is 3.
  std::unique_ptr<Mailman3Lists> mailman3_;
  // The relayed part of the client's transaction: the upstream took MAIL
  // (relay_open), or refused it (relay_refused, the answer every relayed
  // recipient of the transaction then gets).
  bool relay_open_ = false;
  std::optional<Answer> relay_refused_;
  HookWorker worker_;  // last: it ends first, before what its job uses
};

MailmanProxy::Impl::Impl(MailmanSettings settings, UpstreamSettings upstream,
                         RelayPolicy policy, PureProxy::Log log)
    : settings_(std::move(settings)),
      relay_(std::move(upstream), log, policy),
      log_(std::move(log)),
      policy_(std::move(policy)) {
  if (settings_.version == 3)
    mailman3_ = std::make_unique<Mailman3Lists>(settings_, log_);
}

MailmanProxy::Impl::~Impl() {
  // The session is over: a relayed exchange under way on the worker is cut,
  // so that the loop freeing the session does not wait for the upstream
  // (the worker ends first, below, before what its job uses).
  relay_.interrupt_upstream();
}

MailmanProxy::MailmanProxy(MailmanSettings settings, UpstreamSettings upstream,
                           RelayPolicy policy, PureProxy::Log log)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(upstream),
                                   std::move(policy), std::move(log))) {}

MailmanProxy::~MailmanProxy() = default;
MailmanProxy::MailmanProxy(MailmanProxy&&) noexcept = default;
MailmanProxy& MailmanProxy::operator=(MailmanProxy&&) noexcept = default;

namespace {

// An answer the client takes as a yes.
bool positive(const Answer& answer) {
  return answer.kind() == Answer::Kind::accept ||
         (answer.kind() == Answer::Kind::reply && !answer.line().empty() &&
          answer.line()[0] == '2');
}

}  // namespace

bool MailmanProxy::Impl::route_waits() const {
  return !settings_.check_command.empty() || mailman3_;
}

Answer MailmanProxy::handle_mail(Context&, const std::string&) {
  // A new transaction: its relayed part opens with its first relayed
  // recipient (relay_mail ends one the client left unfinished upstream).
  impl_->relay_open_ = false;
  impl_->relay_refused_.reset();
  return Answer::accept();
}

Answer MailmanProxy::Impl::handle_rcpt(Context& context,
                                       const std::string& address) {
  // What the hook is given stays put until it is answered.
  const Session* session = &context.session();
  const Envelope* transaction = &context.transaction();
  const std::string* recipient = &address;
  if (!route_waits()) {
    if (std::optional<Answer> decided = route(*session, address))
      return *decided;
  }
  return worker_.later(
      context, Hook::rcpt, [this, session, transaction, recipient] {
        if (route_waits()) {
          if (std::optional<Answer> decided = route(*session, *recipient))
            return *decided;
        }
        return relay_rcpt(*transaction, *recipient);
      });
}

Answer MailmanProxy::Impl::relay_rcpt(const Envelope& transaction,
                                      const std::string& address) {
  if (!relay_open_) {
    if (relay_refused_) return *relay_refused_;
    Answer opened = relay_.relay_mail(transaction.mail_from, transaction);
    if (!positive(opened)) {
      relay_refused_ = opened;
      return opened;
    }
    relay_open_ = true;
  }
  return relay_.relay_rcpt(address);
}

Answer MailmanProxy::Impl::handle_data(Context& context,
                                       const Envelope& message) {
  const Envelope* m = &message;
  return worker_.later(context, Hook::data, [this, m] { return deliver(*m); });
}

Answer MailmanProxy::Impl::handle_rset(Context& context) {
  relay_refused_.reset();
  if (!relay_open_) return Answer::accept();
  relay_open_ = false;
  return worker_.later(context, Hook::rset, [this] {
    relay_.relay_rset();
    return Answer::accept();
  });
}

Answer MailmanProxy::handle_quit(Context& context) {
  return impl_->relay_.handle_quit(context);
}

bool MailmanProxy::Impl::list_exists(const std::string& list) {
  const auto known = known_lists_.find(list);
  if (known != known_lists_.end()) return known->second;
  bool exists;
  if (!settings_.check_command.empty()) {
    const CommandResult result =
        run_command(substitute(settings_.check_command, "", list), "",
                    settings_.timeout_seconds);
    const bool answered = result.outcome == CommandResult::Outcome::exited &&
                          (result.status == 0 || result.status == 1);
    if (!answered) {
      // Not cached: the next recipient asks again.
      check_failed_ = true;
      return false;
    }
    exists = result.status == 0;
  } else {
    struct stat info;
    exists = stat((settings_.lists_dir + "/" + list + "/config.pck").c_str(),
                  &info) == 0;
  }
  known_lists_[list] = exists;
  return exists;
}

std::optional<Answer> MailmanProxy::Impl::route(const Session& session,
                                                const std::string& recipient) {
  if (mailman3_) return route3(session, recipient);
  const auto exists = [this](const std::string& list) {
    return list_exists(list);
  };
  check_failed_ = false;
  if (classify_recipient(recipient, exists)) return Answer::accept();
  // It may be a list we could not look up: the client should try later
  // rather than have it relayed or refused for good.
  if (check_failed_)
    return Answer::reply(
        "451 Error: cannot look up mailing lists, try again later");
  if (Reply refused =
          policy_.check(session.peer, recipient, session.authenticated))
    return Answer::reply(*refused);
  return std::nullopt;
}

bool MailmanProxy::Impl::is_list(const std::string& recipient) {
  if (mailman3_)
    return mailman3_->route(recipient).route == Mailman3Lists::Route::mailman;
  return classify_recipient(
             recipient,
             [this](const std::string& list) { return list_exists(list); })
      .has_value();
}

Answer MailmanProxy::Impl::deliver(const Envelope& envelope) {
  std::vector<std::string> lists;
  bool relayed = false;
  for (const std::string& rcpt : envelope.rcpt_tos) {
    if (is_list(rcpt))
      lists.push_back(rcpt);
    else
      relayed = true;
  }
  // The relay first: it is the part that fails most, and when it does no
  // list has the message yet, so the client's retry duplicates nothing.
  std::string detail;  // what each part did, for the transaction log
  std::string reply;   // the upstream's, when it took the message
  const bool open = relay_open_;
  relay_open_ = false;
  relay_refused_.reset();
  if (relayed) {
    // A relayed recipient on the envelope was accepted upstream, in this
    // transaction: relay_data finds it gone otherwise, and says so.
    Answer answer = relay_.relay_data(envelope);
    if (!positive(answer)) return answer;
    detail = "upstream: " + answer.detail();
    reply = answer.line();
  } else if (open) {
    // Every relayed recipient was refused upstream: nothing to send there.
    relay_.relay_rset();
  }
  const Reply failed = mailman3_ ? deliver_lists3(envelope, lists, detail)
                                 : deliver_lists(envelope, lists, detail);
  if (failed) return Answer::reply(*failed, detail);
  return reply.empty() ? Answer::accept(detail) : Answer::reply(reply, detail);
}

Reply MailmanProxy::Impl::deliver_lists(
    const Envelope& envelope, const std::vector<std::string>& recipients,
    std::string& detail) {
  const auto exists = [this](const std::string& list) {
    return list_exists(list);
  };
  // Each list and command once, however many of its addresses were given.
  std::vector<ListRecipient> lists;
  std::set<std::pair<std::string, std::string>> seen;
  for (const std::string& rcpt : recipients) {
    if (const auto list = classify_recipient(rcpt, exists)) {
      if (seen.insert({list->list, list->command}).second)
        lists.push_back(*list);
    }
  }
  const std::string date = rfc5322_now();
  for (const ListRecipient& list : lists) {
    // The envelope sender as smtpd.py put it in From: ("<>" included).
    const std::string message =
        list_message(envelope.data, envelope.mail_from, date, list.command);
    const std::string wrapper_command =
        list.command == "join" || list.command == "leave" ? "request"
                                                          : list.command;
    const CommandResult result =
        run_command(substitute(settings_.command, wrapper_command, list.list),
                    message, settings_.timeout_seconds);
    const std::string done = "mailman " + wrapper_command + " " + list.list;
    if (!detail.empty()) detail += "; ";
    if (result.outcome == CommandResult::Outcome::exited &&
        result.status == 0) {
      detail += done + ": exit status 0";
      continue;
    }
    // EX_TEMPFAIL (75), a timeout, a signal or a command that could not
    // start are temporary: the client keeps the message and retries.
    const bool permanent = result.outcome == CommandResult::Outcome::exited &&
                           result.status != 75 && result.status != 127;
    if (log_) {
      std::string line =
          "mailman " + wrapper_command + " " + list.list + " failed: ";
      switch (result.outcome) {
        case CommandResult::Outcome::exited:
          line += result.error.empty()
                      ? "exit status " + std::to_string(result.status)
                      : result.error;
          break;
        case CommandResult::Outcome::signaled:
          line += "killed by signal " + std::to_string(result.status);
          break;
        case CommandResult::Outcome::timed_out:
          line += "timed out";
          break;
        case CommandResult::Outcome::not_run:
          line += result.error;
          break;
      }
      // Its lines joined with " | ", other bytes not printable dropped.
      std::string output;
      const std::string_view said = result.output;
      for (std::size_t start = 0;;) {
        const std::size_t end = said.find('\n', start);
        const std::string_view line_said = said.substr(start, end - start);
        output += text::printable_ascii(line_said, '\0');
        if (end == std::string_view::npos) break;
        output += " | ";
        start = end + 1;
      }
      if (!output.empty()) line += "; it said: " + output;
      log_(line);
    }
    detail += done + (result.outcome == CommandResult::Outcome::exited
                          ? ": exit status " + std::to_string(result.status)
                          : ": failed");
    return std::string(permanent ? "550 Error: mailing list "
                                 : "451 Error: mailing list ") +
           list.list +
           (permanent ? " refused the message" : " failed, try again later");
  }
  return std::nullopt;
}

// Mailman 3's halves (mailman3.cpp has the rest).

std::optional<Answer> MailmanProxy::Impl::route3(const Session& session,
                                                 const std::string& recipient) {
  const Mailman3Lists::Decision decision = mailman3_->route(recipient);
  if (decision.route != Mailman3Lists::Route::relay)
    return Answer::from(decision.reply);
  if (Reply refused =
          policy_.check(session.peer, recipient, session.authenticated))
    return Answer::reply(*refused);
  return std::nullopt;
}

Reply MailmanProxy::Impl::deliver_lists3(
    const Envelope& envelope, const std::vector<std::string>& recipients,
    std::string& detail) {
  const Reply delivered = mailman3_->deliver(envelope, recipients);
  if (!recipients.empty()) {
    if (!detail.empty()) detail += "; ";
    detail +=
        "mailman3: " + (delivered ? *delivered : std::string("delivered"));
  }
  return delivered;
}

// --- the interface, handed over -------------------------------------------

Answer MailmanProxy::handle_rcpt(Context& context, const std::string& address) {
  return impl_->handle_rcpt(context, address);
}
Answer MailmanProxy::handle_data(Context& context, const Envelope& message) {
  return impl_->handle_data(context, message);
}
Answer MailmanProxy::handle_rset(Context& context) {
  return impl_->handle_rset(context);
}
Answer MailmanProxy::deliver(const Envelope& envelope) {
  return impl_->deliver(envelope);
}
bool MailmanProxy::list_exists(const std::string& list) {
  return impl_->list_exists(list);
}

}  // namespace smtpd
