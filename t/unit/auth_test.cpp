// auth_test.cpp - the AUTH exchanges (auth_exchange.hpp) and strict base64
// (base64.hpp): what each client line gets, from tables of ordinary and
// hostile cases; the credentials handed to the check; the trace redaction.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtpd/auth_exchange.hpp"
#include "smtpd/base64.hpp"
#include "smtpd/limits.hpp"

namespace smtpd {
namespace {

using namespace std::string_literals;

AuthContext tls_context() {
  AuthContext context;
  context.extended_smtp = true;
  context.encrypted = true;
  return context;
}

std::string b64(const std::string& s) { return encode_base64(s); }

// Runs an exchange: the AUTH argument, then the client's lines while the
// exchange asks for them.  The transcript: every server line, and for a
// check step "check authzid|user|password" followed by the verdict's reply.
std::vector<std::string> run(const std::string& argument,
                             const std::vector<std::string>& lines,
                             AuthContext context = tls_context(),
                             AuthVerdict verdict = AuthVerdict::good) {
  AuthExchange auth;
  std::vector<std::string> transcript;
  AuthStep step = auth.begin(argument, context);
  std::size_t next = 0;
  for (;;) {
    if (step.kind == AuthStep::Kind::check) {
      const AuthCredentials& c = auth.credentials();
      transcript.push_back("check " + c.authzid + "|" + c.user + "|" +
                           c.password);
      transcript.push_back(auth.finish(verdict));
      EXPECT_FALSE(auth.awaiting_response());
      EXPECT_TRUE(auth.credentials().password.empty());
      break;
    }
    transcript.push_back(step.reply);
    if (step.kind == AuthStep::Kind::reply) {
      EXPECT_FALSE(auth.awaiting_response());
      break;
    }
    EXPECT_TRUE(auth.awaiting_response());
    if (next == lines.size()) break;
    step = auth.respond(lines[next++]);
  }
  EXPECT_EQ(next, lines.size()) << "lines left unread after " << argument;
  return transcript;
}

const std::string invalid = "535 5.7.8 Authentication credentials invalid";
const std::string bad_base64 = "501 5.5.2 Cannot decode response";
const std::string cancelled = "501 5.7.0 Authentication cancelled";
const std::string ok = "235 2.7.0 Authentication successful";

// --- the ordinary exchanges --------------------------------------------------

TEST(Auth, PlainWithInitialResponse) {
  EXPECT_EQ(run("PLAIN " + b64("\0alice\0secret"s), {}),
            (std::vector<std::string>{"check |alice|secret", ok}));
}

TEST(Auth, PlainWithOwnAuthzid) {
  EXPECT_EQ(run("PLAIN " + b64("alice\0alice\0secret"s), {}),
            (std::vector<std::string>{"check alice|alice|secret", ok}));
}

TEST(Auth, PlainAfterEmptyChallenge) {
  EXPECT_EQ(run("PLAIN", {b64("\0bob\0pw"s)}),
            (std::vector<std::string>{"334 ", "check |bob|pw", ok}));
}

TEST(Auth, MechanismNameInAnyCase) {
  EXPECT_EQ(run("plain " + b64("\0a\0b"s), {})[0], "check |a|b");
  EXPECT_EQ(run("Login", {b64("a"), b64("b")})[2], "check |a|b");
}

TEST(Auth, LoginPromptsForUserAndPassword) {
  EXPECT_EQ(run("LOGIN", {b64("carol"), b64("hunter2")}),
            (std::vector<std::string>{"334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6",
                                      "check |carol|hunter2", ok}));
}

TEST(Auth, LoginWithTheUserAsInitialResponse) {
  EXPECT_EQ(run("LOGIN " + b64("carol"), {b64("hunter2")}),
            (std::vector<std::string>{"334 UGFzc3dvcmQ6",
                                      "check |carol|hunter2", ok}));
}

TEST(Auth, Verdicts) {
  const std::string plain = "PLAIN " + b64("\0a\0b"s);
  EXPECT_EQ(run(plain, {}, tls_context(), AuthVerdict::bad)[1], invalid);
  EXPECT_EQ(run(plain, {}, tls_context(), AuthVerdict::temporary)[1],
            "454 4.7.0 Temporary authentication failure");
}

TEST(Auth, UTF8NamesAndPasswords) {
  EXPECT_EQ(run("PLAIN " + b64("\0j\xC3\xBCrgen\0p\xC3\xA4ss"s), {})[0],
            "check |j\xC3\xBCrgen|p\xC3\xA4ss");
}

TEST(Auth, InsecureAllowedWithoutTls) {
  AuthContext context = tls_context();
  context.encrypted = false;
  context.allow_insecure = true;
  EXPECT_EQ(run("PLAIN " + b64("\0a\0b"s), {}, context)[1], ok);
}

TEST(Auth, FinishWithoutCheckIsRefused) {
  AuthExchange auth;
  EXPECT_EQ(auth.finish(AuthVerdict::good), invalid);
  auth.begin("LOGIN", tls_context());
  EXPECT_EQ(auth.finish(AuthVerdict::good), invalid);
  EXPECT_FALSE(auth.awaiting_response());
}

TEST(Auth, ExchangeCanBeReused) {
  AuthExchange auth;
  EXPECT_EQ(auth.begin("PLAIN =", tls_context()).reply, invalid);
  const AuthStep step = auth.begin("PLAIN " + b64("\0a\0b"s), tls_context());
  EXPECT_EQ(step.kind, AuthStep::Kind::check);
  EXPECT_EQ(auth.credentials().user, "a");
}

TEST(Auth, MechanismsOffered) {
  EXPECT_EQ(AuthExchange::mechanisms, "PLAIN LOGIN");
}

// --- the session's state decides first
// ----------------------------------------

struct StateCase {
  const char* name;
  AuthContext context;
  std::string argument;
  std::string reply;
};

TEST(Auth, RefusedByTheSessionState) {
  AuthContext no_ehlo = tls_context();
  no_ehlo.extended_smtp = false;
  AuthContext done = tls_context();
  done.authenticated = true;
  AuthContext mail = tls_context();
  mail.in_transaction = true;
  AuthContext clear = tls_context();
  clear.encrypted = false;
  const std::string plain = "PLAIN " + b64("\0a\0b"s);
  const StateCase cases[] = {
      {"HELO, not EHLO", no_ehlo, plain, "503 5.5.1 Error: send EHLO first"},
      {"second AUTH", done, plain, "503 5.5.1 Error: already authenticated"},
      {"during a transaction", mail, plain,
       "503 5.5.1 Error: AUTH not permitted during a mail transaction"},
      {"before TLS", clear, plain,
       "538 5.7.11 Encryption required for requested authentication mechanism"},
      {"LOGIN before TLS", clear, "LOGIN",
       "538 5.7.11 Encryption required for requested authentication mechanism"},
      {"unknown before TLS is still unknown", clear, "CRAM-MD5",
       "504 5.5.4 Unrecognized authentication mechanism"},
      {"second AUTH in a transaction",
       [&] {
         AuthContext both = done;
         both.in_transaction = true;
         return both;
       }(),
       plain, "503 5.5.1 Error: already authenticated"},
  };
  for (const StateCase& c : cases)
    EXPECT_EQ(run(c.argument, {}, c.context), std::vector<std::string>{c.reply})
        << c.name;
}

// --- hostile and malformed input: every case gets one reply
// ----------------------

struct HostileCase {
  const char* name;
  std::string argument;
  std::vector<std::string> lines;
  std::vector<std::string> transcript;
};

TEST(Auth, HostileCases) {
  const std::string syntax =
      "501 5.5.4 Syntax: AUTH mechanism [initial-response]";
  const std::string unknown = "504 5.5.4 Unrecognized authentication mechanism";
  const std::string too_long =
      "500 5.5.6 Authentication Exchange line is too long";
  const std::string user_prompt = "334 VXNlcm5hbWU6";
  const std::string password_prompt = "334 UGFzc3dvcmQ6";
  const std::string longest_field(limits::auth_field, 'x');
  const HostileCase cases[] = {
      // The command line.
      {"no mechanism", "", {}, {syntax}},
      {"two spaces", "PLAIN  " + b64("\0a\0b"s), {}, {syntax}},
      {"trailing space", "PLAIN ", {}, {syntax}},
      {"three words", "PLAIN " + b64("\0a\0b"s) + " x", {}, {syntax}},
      {"tab as separator", "PLAIN\t" + b64("\0a\0b"s), {}, {unknown}},
      {"unknown mechanism", "CRAM-MD5", {}, {unknown}},
      {"mechanism with NUL", "PLA\0IN"s, {}, {unknown}},
      {"mechanism prefix", "PLAINX", {}, {unknown}},
      {"8-bit mechanism", "PL\xC3\x84IN", {}, {unknown}},
      {"AUTH line at the limit",
       "PLAIN " + std::string(limits::auth_line - 11, 'A'),
       {},
       {bad_base64}},
      {"AUTH line over the limit",
       "PLAIN " + std::string(limits::auth_line - 10, 'A'),
       {},
       {too_long}},
      // Base64 (RFC 4648): strict.
      {"initial response not base64", "PLAIN !!!!", {}, {bad_base64}},
      {"base64 without padding", "PLAIN AGEAYg", {}, {bad_base64}},
      {"base64 with white space", "PLAIN", {"AGEA Yg=="}, {"334 ", bad_base64}},
      {"base64 with CR", "PLAIN", {"AGEAYg==\r"}, {"334 ", bad_base64}},
      {"base64 with a line break",
       "PLAIN",
       {"AGEA\nYg=="},
       {"334 ", bad_base64}},
      {"base64 URL alphabet", "LOGIN", {"-_-_"}, {user_prompt, bad_base64}},
      {"padding in the middle",
       "PLAIN",
       {"AG==AGEAYg=="},
       {"334 ", bad_base64}},
      {"data after padding", "PLAIN", {"AGEAYg==AA"}, {"334 ", bad_base64}},
      {"too much padding", "PLAIN", {"AGEAYg==="}, {"334 ", bad_base64}},
      {"non-canonical pad bits", "LOGIN", {"YR=="}, {user_prompt, bad_base64}},
      {"non-canonical pad bits, one =",
       "LOGIN",
       {"YWJ="},
       {user_prompt, bad_base64}},
      {"8-bit bytes", "LOGIN", {"\xFF\xFE\xFD\xFC"}, {user_prompt, bad_base64}},
      {"NUL in base64", "LOGIN", {"YW\0="s}, {user_prompt, bad_base64}},
      // Cancelling.
      {"PLAIN cancelled", "PLAIN", {"*"}, {"334 ", cancelled}},
      {"LOGIN cancelled at the user", "LOGIN", {"*"}, {user_prompt, cancelled}},
      {"LOGIN cancelled at the password",
       "LOGIN",
       {b64("a"), "*"},
       {user_prompt, password_prompt, cancelled}},
      {"a star as initial response is no cancel", "PLAIN *", {}, {bad_base64}},
      {"star and more", "PLAIN", {"**"}, {"334 ", bad_base64}},
      // Continuation lines over the limit.
      {"response over the limit",
       "PLAIN",
       {std::string(limits::auth_line + 1, 'A')},
       {"334 ", too_long}},
      {"response at the limit",
       "LOGIN",
       {std::string(limits::auth_line, 'A')},
       {user_prompt, invalid}},
      // PLAIN's message (RFC 4616 section 2).
      {"empty initial response", "PLAIN =", {}, {invalid}},
      {"empty response", "PLAIN", {""}, {"334 ", invalid}},
      {"no NUL", "PLAIN " + b64("alicesecret"), {}, {invalid}},
      {"one NUL", "PLAIN " + b64("alice\0secret"s), {}, {invalid}},
      {"three NULs", "PLAIN " + b64("\0alice\0sec\0ret"s), {}, {invalid}},
      {"NUL at the end", "PLAIN " + b64("\0alice\0secret\0"s), {}, {invalid}},
      {"empty authcid", "PLAIN " + b64("\0\0secret"s), {}, {invalid}},
      {"empty passwd", "PLAIN " + b64("\0alice\0"s), {}, {invalid}},
      {"only NULs", "PLAIN " + b64("\0\0"s), {}, {invalid}},
      {"someone else's authzid",
       "PLAIN " + b64("root\0alice\0secret"s),
       {},
       {invalid}},
      {"invalid UTF-8 user", "PLAIN " + b64("\0\xC3(\0secret"s), {}, {invalid}},
      {"invalid UTF-8 password", "PLAIN " + b64("\0a\0\xFF"s), {}, {invalid}},
      {"overlong UTF-8", "PLAIN " + b64("\0\xC0\xAF\0x"s), {}, {invalid}},
      {"user of 255 octets",
       "PLAIN " + b64("\0"s + longest_field + "\0x"s),
       {},
       {"check |" + longest_field + "|x", ok}},
      {"user of 256 octets",
       "PLAIN " + b64("\0"s + longest_field + "x\0x"s),
       {},
       {invalid}},
      {"password of 256 octets",
       "PLAIN " + b64("\0x\0"s + longest_field + "x"),
       {},
       {invalid}},
      // LOGIN's fields.
      {"LOGIN empty user", "LOGIN", {""}, {user_prompt, invalid}},
      {"LOGIN empty initial user", "LOGIN =", {}, {invalid}},
      {"LOGIN empty password",
       "LOGIN",
       {b64("a"), ""},
       {user_prompt, password_prompt, invalid}},
      {"LOGIN NUL in user", "LOGIN", {b64("a\0b"s)}, {user_prompt, invalid}},
      {"LOGIN NUL in password",
       "LOGIN",
       {b64("a"), b64("p\0w"s)},
       {user_prompt, password_prompt, invalid}},
      {"LOGIN PLAIN-shaped user",
       "LOGIN",
       {b64("\0a\0b"s)},
       {user_prompt, invalid}},
      // SMTP commands are not answers.
      {"a command as the answer",
       "LOGIN",
       {"RCPT TO:<a@b>"},
       {user_prompt, bad_base64}},
      // "QUIT" happens to be base64 (of "AB\x13"): a user name like another.
      {"QUIT as the user",
       "LOGIN",
       {"QUIT", "*"},
       {user_prompt, password_prompt, cancelled}},
      {"MAIL as the answer",
       "PLAIN",
       {"MAIL FROM:<a@b>"},
       {"334 ", bad_base64}},
  };
  for (const HostileCase& c : cases)
    EXPECT_EQ(run(c.argument, c.lines), c.transcript) << c.name;
}

TEST(Auth, RespondWhenNoExchangeIsUnderWay) {
  AuthExchange auth;
  EXPECT_EQ(auth.respond(b64("\0a\0b"s)).reply,
            "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
  EXPECT_FALSE(auth.awaiting_response());
}

// --- base64 ------------------------------------------------------------------

TEST(Base64, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    const std::optional<std::string> back = decode_base64(encode_base64(bytes));
    ASSERT_TRUE(back) << i;
    EXPECT_EQ(*back, bytes) << i;
    bytes += static_cast<char>(i * 37 + 11);
  }
}

TEST(Base64, RFC4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(encode_base64(plain), encoded);
    EXPECT_EQ(decode_base64(encoded), plain);
  }
}

TEST(Base64, RefusesEverythingElse) {
  for (const std::string& bad : std::vector<std::string>{
           "Zg", "Zg=", "Z===", "====", "Zh==", "Zm9=", "Zm 9v", " Zm9v",
           "Zm9v ", "Zm9v\n", "Zm9v=", "Zm9v====", "Zm=v", "Z-9v", "Z_9v",
           "Zm9v\0"s}) {
    EXPECT_FALSE(decode_base64(bad)) << bad;
  }
}

// --- traces
// --------------------------------------------------------------------

TEST(Redaction, AuthCommandLines) {
  const std::pair<std::string, std::string> cases[] = {
      {"AUTH PLAIN AGFsaWNlAHNlY3JldA==", "AUTH PLAIN [hidden]"},
      {"auth plain AGFsaWNlAHNlY3JldA==", "auth plain [hidden]"},
      {"AUTH LOGIN YWxpY2U=", "AUTH LOGIN [hidden]"},
      {"AUTH PLAIN", "AUTH PLAIN"},
      {"AUTH LOGIN", "AUTH LOGIN"},
      {"AUTH", "AUTH"},
      {"AUTH PLAIN  AGFsaWNlAHNlY3JldA==", "AUTH PLAIN [hidden]"},
      {"AUTH\tPLAIN\tAGFsaWNlAHNlY3JldA==", "AUTH\tPLAIN [hidden]"},
      {"  AUTH PLAIN AGFsaWNlAHNlY3JldA==", "  AUTH PLAIN [hidden]"},
      {"AUTH AGFsaWNlAHNlY3JldA==", "AUTH [hidden]"},
      {"AUTH PLAIN=AGFsaWNlAHNlY3JldA==", "AUTH [hidden]"},
      {"AUTH secret\0hidden"s, "AUTH [hidden]"},
      {"AUTHPLAIN AGFsaWNl", "AUTH [hidden]"},
      {"MAIL FROM:<a@example.com>", "MAIL FROM:<a@example.com>"},
      {"EHLO AUTH PLAIN x", "EHLO AUTH PLAIN x"},
      {"", ""},
  };
  for (const auto& [line, shown] : cases)
    EXPECT_EQ(redact_command_line(line), shown) << line;
}

TEST(Redaction, ContinuationLines) {
  EXPECT_EQ(redact_auth_response("AGFsaWNlAHNlY3JldA=="), "[hidden]");
  EXPECT_EQ(redact_auth_response(""), "[hidden]");
  EXPECT_EQ(redact_auth_response("*"), "*");
  EXPECT_EQ(redact_auth_response("QUIT"), "[hidden]");
}

TEST(Redaction, NoSecretSurvives) {
  // Whatever the spelling, the base64 of the secret is not in the trace.
  const std::string secret = b64("\0alice\0s3cr3t"s);
  for (const std::string& line :
       {"AUTH PLAIN " + secret, "auth  plain " + secret,
        "AUTH PLAIN\t" + secret, "AUTH " + secret, "AUTH  " + secret,
        "\tAuth Plain " + secret, "AUTH LOGIN " + secret + " " + secret}) {
    EXPECT_EQ(redact_command_line(line).find(secret), std::string::npos)
        << line;
  }
}

}  // namespace
}  // namespace smtpd
