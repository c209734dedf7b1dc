// auth.cpp - the AUTH PLAIN and LOGIN exchanges and the trace's redaction
// (see auth_exchange.hpp), and the credentials they yield (auth.hpp).
#include <string.h>

#include <algorithm>
#include <optional>

#include "smtpd/auth_exchange.hpp"
#include "smtpd/base64.hpp"
#include "smtpd/limits.hpp"
#include "smtpd/replies.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

constexpr std::string_view hidden = "[hidden]";

// RFC 4616 section 2: every field is UTF-8 without NUL (UTF8SAFE), at
// most 255 octets; the authcid and the passwd are not empty.  LOGIN's
// fields are held to the same rules: checkpassword takes NUL-terminated
// strings, and a name ends up in the log.
bool acceptable_field(std::string_view field, bool may_be_empty) {
  if (field.empty()) return may_be_empty;
  return field.size() <= limits::auth_field &&
         field.find('\0') == std::string_view::npos &&
         text::is_valid_utf8(field);
}

void wipe_string(std::string& s) {
  // explicit_bzero: a store the compiler may not drop as dead.
  if (!s.empty()) explicit_bzero(&s[0], s.size());
  s.clear();
  s.shrink_to_fit();
}

}  // namespace

void AuthCredentials::wipe() {
  wipe_string(authzid);
  wipe_string(user);
  wipe_string(password);
}

AuthStep AuthExchange::fail(std::string_view reply) {
  credentials_.wipe();
  state_ = State::idle;
  return AuthStep{AuthStep::Kind::reply, std::string(reply)};
}

AuthStep AuthExchange::begin(std::string_view argument,
                             const AuthContext& context) {
  credentials_.wipe();
  state_ = State::idle;
  mechanism_ = Mechanism::none;
  // The checks in the order a client can act on them: the session's
  // state first (RFC 4954 section 4), then the line, then the mechanism.
  if (!context.extended_smtp) return fail(replies::auth_need_ehlo);
  if (context.authenticated) return fail(replies::auth_already);
  if (context.in_transaction) return fail(replies::auth_in_transaction);
  if (argument.size() + 5 > limits::auth_line)
    return fail(replies::auth_line_too_long);

  // "AUTH" SP sasl-mech [SP initial-response]: exactly that.
  const std::size_t space = argument.find(' ');
  const std::string_view name = argument.substr(0, space);
  std::optional<std::string_view> initial;
  if (space != std::string_view::npos) initial = argument.substr(space + 1);
  if (name.empty() ||
      (initial &&
       (initial->empty() || initial->find(' ') != std::string_view::npos)))
    return fail(replies::auth_syntax);

  if (text::ascii_iequal(name, "PLAIN")) {
    mechanism_ = Mechanism::plain;
  } else if (text::ascii_iequal(name, "LOGIN")) {
    mechanism_ = Mechanism::login;
  } else {
    return fail(replies::auth_unknown_mechanism);
  }
  // RFC 4954 section 4 and 6: both mechanisms send the password in the
  // clear, so without TLS they are refused unless the operator said so.
  if (!context.encrypted && !context.allow_insecure)
    return fail(replies::auth_needs_tls);

  // "=" is an initial response that is empty (RFC 4954 section 4).
  if (initial && *initial == "=") initial = std::string_view();
  if (mechanism_ == Mechanism::plain) {
    if (initial) return take_plain(*initial);
    state_ = State::plain_response;
    return AuthStep{AuthStep::Kind::challenge,
                    std::string(replies::auth_challenge_empty)};
  }
  if (initial) return take_login_user(*initial);
  state_ = State::login_user;
  return AuthStep{AuthStep::Kind::challenge,
                  std::string(replies::auth_challenge_username)};
}

AuthStep AuthExchange::respond(std::string_view line) {
  if (!awaiting_response()) return fail(replies::auth_syntax);
  if (line.size() > limits::auth_line) return fail(replies::auth_line_too_long);
  // RFC 4954 section 4: "*" cancels, and the server answers 501.
  if (line == "*") return fail(replies::auth_cancelled);
  switch (state_) {
    case State::plain_response:
      return take_plain(line);
    case State::login_user:
      return take_login_user(line);
    case State::login_password:
      return take_login_password(line);
    case State::idle:
    case State::checking:
      break;
  }
  return fail(replies::auth_syntax);
}

AuthStep AuthExchange::take_plain(std::string_view encoded) {
  std::optional<std::string> message = decode_base64(encoded);
  if (!message) return fail(replies::auth_bad_base64);
  // RFC 4616 section 2: message = [authzid] NUL authcid NUL passwd, and
  // no other NUL (a third one is a malformed message, not part of the
  // password).
  const std::size_t first = message->find('\0');
  const std::size_t second =
      first == std::string::npos ? first : message->find('\0', first + 1);
  bool good = second != std::string::npos &&
              message->find('\0', second + 1) == std::string::npos;
  if (good) {
    credentials_.authzid.assign(*message, 0, first);
    credentials_.user.assign(*message, first + 1, second - first - 1);
    credentials_.password.assign(*message, second + 1, std::string::npos);
    good = acceptable_field(credentials_.authzid, true) &&
           acceptable_field(credentials_.user, false) &&
           acceptable_field(credentials_.password, false) &&
           // Acting for someone else needs an authorization we cannot
           // check (section 2): only one's own identity, or none.
           (credentials_.authzid.empty() ||
            credentials_.authzid == credentials_.user);
  }
  wipe_string(*message);
  if (!good) return fail(replies::auth_invalid);
  state_ = State::checking;
  return AuthStep{AuthStep::Kind::check, {}};
}

AuthStep AuthExchange::take_login_user(std::string_view encoded) {
  std::optional<std::string> user = decode_base64(encoded);
  if (!user) return fail(replies::auth_bad_base64);
  credentials_.user = std::move(*user);
  if (!acceptable_field(credentials_.user, false))
    return fail(replies::auth_invalid);
  state_ = State::login_password;
  return AuthStep{AuthStep::Kind::challenge,
                  std::string(replies::auth_challenge_password)};
}

AuthStep AuthExchange::take_login_password(std::string_view encoded) {
  std::optional<std::string> password = decode_base64(encoded);
  if (!password) return fail(replies::auth_bad_base64);
  credentials_.password = std::move(*password);
  if (!acceptable_field(credentials_.password, false))
    return fail(replies::auth_invalid);
  state_ = State::checking;
  return AuthStep{AuthStep::Kind::check, {}};
}

std::string AuthExchange::finish(AuthVerdict verdict) {
  const bool checking = state_ == State::checking;
  credentials_.wipe();
  state_ = State::idle;
  if (!checking) return std::string(replies::auth_invalid);
  switch (verdict) {
    case AuthVerdict::good:
      return std::string(replies::auth_ok);
    case AuthVerdict::bad:
      return std::string(replies::auth_invalid);
    case AuthVerdict::temporary:
      return std::string(replies::auth_temporary);
  }
  return std::string(replies::auth_temporary);
}

std::string redact_command_line(std::string_view line) {
  // Generous on purpose: whatever a loop or the channel would take for an
  // AUTH command (any case, leading blanks, tabs) is treated as one, and
  // only a mechanism name that is one (RFC 4422 3.1: 1 to 20 of A-Z, 0-9,
  // "-" and "_") is shown.
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  std::size_t i = 0;
  while (i < line.size() && blank(line[i])) ++i;
  if (!text::ascii_iequal(line.substr(i, 4), "AUTH")) return std::string(line);
  i += 4;
  std::string shown(line.substr(0, i));
  if (i == line.size()) return shown;
  std::size_t start = i;
  while (start < line.size() && blank(line[start])) ++start;
  std::size_t end = start;
  const auto mechanism_char = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
  };
  while (end < line.size() && mechanism_char(line[end])) ++end;
  const bool named = start > i && end > start && end - start <= 20 &&
                     (end == line.size() || blank(line[end]));
  if (!named) return shown + ' ' + std::string(hidden);
  shown += line.substr(i, end - i);
  if (end == line.size()) return shown;
  return shown + ' ' + std::string(hidden);
}

std::string redact_auth_response(std::string_view line) {
  return line == "*" ? std::string(line) : std::string(hidden);
}

std::string AuthTraceFilter::shown(std::string_view line) {
  if (responses_ > 0) {
    responses_ = line == "*" ? 0 : responses_ - 1;
    return redact_auth_response(line);
  }
  // An AUTH command ("AUTH", then a blank or the end): how many responses
  // its mechanism may still take.
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  std::size_t i = 0;
  while (i < line.size() && blank(line[i])) ++i;
  if (text::ascii_iequal(line.substr(i, 4), "AUTH") &&
      (i + 4 == line.size() || blank(line[i + 4]))) {
    i += 4;
    while (i < line.size() && blank(line[i])) ++i;
    std::size_t end = i;
    while (end < line.size() && !blank(line[end])) ++end;
    const std::string_view mechanism = line.substr(i, end - i);
    while (end < line.size() && blank(line[end])) ++end;
    const bool initial = end < line.size();
    if (text::ascii_iequal(mechanism, "PLAIN")) responses_ = initial ? 0 : 1;
    if (text::ascii_iequal(mechanism, "LOGIN")) responses_ = initial ? 1 : 2;
  }
  return redact_command_line(line);
}

std::string AuthTraceFilter::filter(std::string_view bytes) {
  std::string out;
  while (!bytes.empty()) {
    const std::size_t lf = bytes.find('\n');
    const std::string_view part = bytes.substr(0, lf);
    if (!part.empty()) last_cr_ = part.back() == '\r';
    if (long_line_) {
      if (!hide_rest_) out.append(part);
    } else {
      const std::size_t room = limits::auth_line + 1 - line_.size();
      line_.append(part.substr(0, room));
      if (lf == std::string_view::npos && line_.size() > limits::auth_line) {
        // Too long for any AUTH line: the channel refuses it whole (and
        // ends an exchange), so it is shown as far as it is safe to.
        const std::string show = shown(line_);
        hide_rest_ = show != line_;
        responses_ = 0;
        out.append(show);
        line_.clear();
        long_line_ = true;
      }
    }
    if (lf == std::string_view::npos) break;
    if (!long_line_) {
      std::string_view line = line_;
      if (last_cr_ && !line.empty() && line.back() == '\r')
        line.remove_suffix(1);
      out.append(shown(line));
      if (last_cr_) out.push_back('\r');
    } else if (hide_rest_ && last_cr_) {
      out.push_back('\r');
    }
    out.push_back('\n');
    line_.clear();
    long_line_ = hide_rest_ = last_cr_ = false;
    bytes.remove_prefix(lf + 1);
  }
  return out;
}

}  // namespace smtpd
