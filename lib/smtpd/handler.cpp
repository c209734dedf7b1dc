// handler.cpp - the one check of hook answers, and Later (see handler.hpp).
#include "smtpd/handler.hpp"

#include <exception>
#include <mutex>
#include <stdexcept>

#include "smtpd/later_state.hpp"
#include "smtpd/limits.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

// Why a reply line cannot go to the client, or empty when it can.
std::string_view malformed(Hook hook, std::string_view line) {
  if (line.empty()) return "an empty answer";
  for (const char c : line) {
    if (c == '\r' || c == '\n') return "more than one line";
    if (c < 0x20 || c > 0x7E) return "a byte that is not printable ASCII";
  }
  if (line.size() > limits::reply_line) return "a line longer than 512 bytes";
  // RFC 5321 4.2: three digits, the second 0-5; then a space or nothing.
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
      line[1] > '5' || line[2] < '0' || line[2] > '9')
    return "no reply code from 2xx to 5xx";
  if (line.size() > 3 && line[3] == '-')
    return "a continuation line that is never ended";
  if (line.size() > 3 && line[3] != ' ') return "no space after the code";
  // A 3xx asks the client for more: only a verb of the user's own may
  // start such an exchange.
  if (line[0] == '3' && hook != Hook::verb) return "a 3xx reply";
  return {};
}

}  // namespace

std::string_view hook_name(Hook hook) {
  switch (hook) {
    case Hook::connect:
      return "connect";
    case Hook::helo:
      return "HELO";
    case Hook::mail:
      return "MAIL";
    case Hook::rcpt:
      return "RCPT";
    case Hook::data:
      return "DATA";
    case Hook::rset:
      return "RSET";
    case Hook::quit:
      return "QUIT";
    case Hook::verb:
      return "verb";
    case Hook::auth:
      return "AUTH";
    case Hook::data_command:
      return "DATA command";
    case Hook::data_piece:
      return "message piece";
  }
  return "?";
}

Answer Handler::handle_auth(Context&, const AuthCredentials&) {
  return Answer::reply(std::string(replies::auth_invalid));
}

Answer Answer::failed(std::string why) {
  Answer answer(Kind::reply, std::string(replies::bad_hook_answer),
                std::move(why));
  answer.failed_ = true;
  return answer;
}

Answer answer_for_exception(Hook hook) {
  std::string why = "the " + std::string(hook_name(hook)) + " hook threw";
  try {
    throw;
  } catch (const std::exception& error) {
    why += ": ";
    why += error.what();
  } catch (...) {
  }
  return Answer::failed(std::move(why));
}

CheckedAnswer check_answer(Hook hook, const Answer& answer) {
  using Verdict = CheckedAnswer::Verdict;
  const std::string_view name = hook_name(hook);
  const auto refused = [&](std::string problem) {
    return CheckedAnswer{
        Verdict::refuse,
        std::string(hook == Hook::data ? replies::bad_hook_reply
                                       : replies::bad_hook_answer),
        "the " + std::string(name) +
            " hook's answer was not used: " + std::move(problem)};
  };
  switch (answer.kind()) {
    case Answer::Kind::accept:
      return {Verdict::accept, {}, {}};
    case Answer::Kind::later:
      // A "later" that reaches the check was never taken up by a loop.
      return refused("\"later\" where no answer can come later");
    case Answer::Kind::drop:
      return {Verdict::drop, {}, {}};
    case Answer::Kind::reply:
      break;
  }
  const std::string& line = answer.line();
  if (answer.is_failure()) return {Verdict::refuse, line, answer.detail()};
  const std::string_view problem = malformed(hook, line);
  if (!problem.empty()) {
    // The answer, as a log line may show it.
    const std::string shown =
        text::printable_ascii(std::string_view(line).substr(0, 80), '?');
    return refused(std::string(problem) + " (\"" + shown + "\")");
  }
  // RFC 5321 3.8: 421 means the server closes the connection.
  if (line.compare(0, 3, "421") == 0) return {Verdict::close, line, {}};
  if (line[0] == '2' || line[0] == '3') return {Verdict::accept, line, {}};
  return {Verdict::refuse, line, {}};
}

void Later::answer(Answer answer) const {
  std::function<void()> wake;
  {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->answer || state_->detached) return;  // once only
    state_->answer = std::move(answer);
    wake = state_->wake;
  }
  if (wake) wake();
}

bool Later::client_gone() const {
  const std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->client_gone;
}

}  // namespace smtpd
