// auth_fuzzer.cpp - libFuzzer target: the AUTH exchanges (auth_exchange.hpp),
// strict base64 (base64.hpp) and the trace redaction.  Run by t/fuzz.sh; seeds
// in t/fuzz/corpus/auth/.  Input: one byte of session state (bit 0 EHLO, 1 in
// a transaction, 2 authenticated, 3 TLS, 4 insecure AUTH allowed, 5-6 the
// verdict of the check), then lines separated by LF: the AUTH argument,
// then the client's continuation lines.
//
// Invariants (a violation aborts, and libFuzzer keeps the input):
//   - every step is one reply line without CR, LF or NUL, with a code the
//     exchange may give; 334 exactly for a challenge; a check step only
//     with credentials RFC 4616 allows (user and password not empty, no
//     NUL, UTF-8, at most 255 octets, authzid empty or the user);
//   - no challenge and no check when the session state forbids AUTH or
//     TLS is missing and insecure AUTH is not allowed; no 235 without a
//     check; the credentials wiped once finished;
//   - base64: whatever decodes re-encodes to the same text (one spelling
//     per secret), and every byte string round-trips;
//   - the trace of "AUTH <argument>" never shows an initial response;
//   - AuthTraceFilter, fed the whole exchange as a client sends it (in
//     chunks cut by the first byte), never shows a line the exchange took
//     as a response (one without CR, and longer than the longest line it
//     shows anyway: "AUTH", a mechanism of up to 20, " [hidden]").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "smtpd/auth_exchange.hpp"
#include "smtpd/base64.hpp"
#include "smtpd/limits.hpp"
#include "smtpd/text.hpp"

namespace {

using fuzz::visible;
using smtpd::AuthContext;
using smtpd::AuthExchange;
using smtpd::AuthStep;
using smtpd::AuthVerdict;

bool valid_code(std::string_view reply) {
  for (const char* code :
       {"334 ", "235 ", "454 ", "500 ", "501 ", "503 ", "504 ", "535 ", "538 "})
    if (reply.substr(0, 4) == code) return true;
  return false;
}

void check_step(const AuthStep& step, const AuthExchange& auth,
                const AuthContext& context, std::string_view input) {
  if (step.kind == AuthStep::Kind::check) {
    const smtpd::AuthCredentials& c = auth.credentials();
    const std::string who = visible(input) + " gave user " + visible(c.user) +
                            " authzid " + visible(c.authzid);
    FUZZ_CHECK(step.reply.empty(), "a check step has no reply", who);
    FUZZ_CHECK(!c.user.empty() && !c.password.empty(),
               "user and password are not empty", who);
    for (const std::string* field : {&c.user, &c.password, &c.authzid}) {
      FUZZ_CHECK(field->find('\0') == std::string::npos, "no NUL in a field",
                 who);
      FUZZ_CHECK(field->size() <= smtpd::limits::auth_field,
                 "fields of at most 255 octets", who);
      FUZZ_CHECK(smtpd::text::is_valid_utf8(*field), "fields are UTF-8", who);
    }
    FUZZ_CHECK(c.authzid.empty() || c.authzid == c.user,
               "no authorization identity but one's own", who);
  } else {
    const std::string what = visible(input) + " gave " + visible(step.reply);
    FUZZ_CHECK(valid_code(step.reply), "a known reply code", what);
    FUZZ_CHECK(step.reply.find_first_of(std::string_view("\r\n\0", 3)) ==
                   std::string::npos,
               "one line", what);
    FUZZ_CHECK((step.kind == AuthStep::Kind::challenge) ==
                   (step.reply.substr(0, 4) == "334 "),
               "334 exactly for a challenge", what);
    FUZZ_CHECK(step.reply.substr(0, 4) != "235 ", "no 235 without a check",
               what);
    FUZZ_CHECK(
        auth.awaiting_response() == (step.kind == AuthStep::Kind::challenge),
        "a line is due exactly after a challenge", what);
  }
  const bool permitted = context.extended_smtp && !context.authenticated &&
                         !context.in_transaction &&
                         (context.encrypted || context.allow_insecure);
  FUZZ_CHECK(permitted || step.kind == AuthStep::Kind::reply,
             "nothing but a refusal when AUTH is not permitted",
             visible(input));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const unsigned flags = data[0];
  AuthContext context;
  context.extended_smtp = flags & 1;
  context.in_transaction = flags & 2;
  context.authenticated = flags & 4;
  context.encrypted = flags & 8;
  context.allow_insecure = flags & 16;
  const AuthVerdict verdict = static_cast<AuthVerdict>((flags >> 5) % 3);

  std::vector<std::string_view> lines;
  std::string_view rest = input.substr(1);
  for (;;) {
    const std::size_t end = rest.find('\n');
    lines.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }

  // base64 both ways on every line.
  for (const std::string_view line : lines) {
    if (const auto decoded = smtpd::decode_base64(line))
      FUZZ_CHECK(smtpd::encode_base64(*decoded) == line,
                 "what decodes re-encodes the same", visible(line));
    FUZZ_CHECK(
        smtpd::decode_base64(smtpd::encode_base64(line)) == std::string(line),
        "every byte string round-trips", visible(line));
  }

  // The trace of the AUTH line shows nothing after the mechanism: no
  // word after the first (words split at blanks, as a loop that strips
  // and splits the line would find them) appears in it, unless the
  // words shown anyway ("AUTH", the mechanism, "[hidden]") contain it.
  const std::string command = "AUTH " + std::string(lines[0]);
  const std::string shown = smtpd::redact_command_line(command);
  std::vector<std::string_view> words;
  for (std::size_t at = 0; at < lines[0].size();) {
    const std::size_t end = lines[0].find_first_of(" \t", at);
    const std::size_t stop =
        end == std::string_view::npos ? lines[0].size() : end;
    if (stop > at) words.push_back(lines[0].substr(at, stop - at));
    at = stop + 1;
  }
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string allowed = "AUTH " + std::string(words[0]) + " [hidden]";
    if (allowed.find(words[i]) == std::string::npos)
      FUZZ_CHECK(shown.find(words[i]) == std::string::npos,
                 "the trace hides the initial response",
                 visible(command) + " shown as " + visible(shown));
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string hidden = smtpd::redact_auth_response(lines[i]);
    FUZZ_CHECK(hidden == "[hidden]" || (hidden == "*" && lines[i] == "*"),
               "continuation lines are hidden", visible(lines[i]));
  }

  AuthExchange auth;
  AuthStep step = auth.begin(lines[0], context);
  check_step(step, auth, context, input);
  std::size_t next = 1;
  while (step.kind == AuthStep::Kind::challenge && next < lines.size()) {
    step = auth.respond(lines[next++]);
    check_step(step, auth, context, input);
  }
  {
    std::string stream = command + "\r\n";
    for (std::size_t i = 1; i < next; ++i)  // the responses taken
      stream += std::string(lines[i]) + "\r\n";
    smtpd::AuthTraceFilter filter;
    std::string traced;
    const std::size_t chunk = 1 + flags % 7;
    for (std::size_t at = 0; at < stream.size(); at += chunk)
      traced += filter.filter(std::string_view(stream).substr(at, chunk));
    for (std::size_t i = 1; i < next; ++i)
      if (lines[i].size() >= 35 && lines[i].find('\r') == std::string::npos)
        FUZZ_CHECK(traced.find(lines[i]) == std::string::npos,
                   "the trace filter hides every response",
                   visible(stream) + " traced as " + visible(traced));
  }
  if (step.kind == AuthStep::Kind::check) {
    const std::string reply = auth.finish(verdict);
    const char* expected = verdict == AuthVerdict::good  ? "235 "
                           : verdict == AuthVerdict::bad ? "535 "
                                                         : "454 ";
    FUZZ_CHECK(reply.substr(0, 4) == expected, "the verdict's reply", reply);
    FUZZ_CHECK(
        auth.credentials().user.empty() && auth.credentials().password.empty(),
        "credentials wiped once finished", visible(input));
    FUZZ_CHECK(!auth.awaiting_response(), "finished", visible(input));
  }
  return 0;
}
