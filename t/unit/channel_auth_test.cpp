// channel_auth_test.cpp - AUTH in the channel (RFC 4954): a table of
// sessions, friendly and hostile, each replayed whole, one byte at a time
// and split in two at every byte; the replies, who is logged in, and
// what the auth hook was given must not depend on the chunking.  Then the
// trace filter (AuthTraceFilter) over the same kind of input: the
// password never shows.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chunkings.hpp"
#include "smtpd/auth_exchange.hpp"
#include "smtpd/base64.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/replies.hpp"

namespace smtpd {
namespace {

// Good credentials: alice / s3cret; anything else is refused.  Records
// what it was asked; may answer later.
class Checker : public Handler {
 public:
  bool answer_later = false;
  std::vector<std::string> asked;  // "user:password" (authzid ignored)
  std::optional<Later> pending;

  Answer handle_auth(Context& context,
                     const AuthCredentials& credentials) override {
    asked.push_back(credentials.user + ":" + credentials.password);
    if (answer_later) {
      pending = context.later();
      return Answer::later();
    }
    return verdict(credentials);
  }
  static Answer verdict(const AuthCredentials& credentials) {
    if (credentials.user == "alice" && credentials.password == "s3cret")
      return Answer::accept();
    if (credentials.user == "slow")
      return Answer::reply(std::string(replies::auth_temporary));
    return Answer::reply(std::string(replies::auth_invalid));
  }
};

std::string b64(std::string_view s) { return encode_base64(s); }
const std::string plain = b64(std::string("\0alice\0s3cret", 13));
const std::string plain_bad = b64(std::string("\0alice\0guess", 12));

struct Case {
  const char* name;
  std::string input;
  std::vector<std::string> replies;  // after the greeting
  std::string user;                  // logged in at the end
  std::vector<std::string> asked;    // what the hook was given
  bool insecure = true;              // --auth-insecure
  bool auth = true;                  // AUTH offered at all
  unsigned max_errors = 20;
  bool closed = false;
};

const std::string ehlo_line = "EHLO c.example\r\n";
const std::vector<std::string> ehlo_reply = {
    "250-localhost",  "250-SIZE 33554432",    "250-8BITMIME",
    "250-PIPELINING", "250-AUTH PLAIN LOGIN", "250 HELP"};

std::vector<std::string> ehlo_then(std::vector<std::string> more,
                                   std::vector<std::string> ehlo = ehlo_reply) {
  ehlo.insert(ehlo.end(), more.begin(), more.end());
  return ehlo;
}

std::vector<Case> cases() {
  const std::string ok(replies::auth_ok), invalid(replies::auth_invalid);
  return {
      {"PlainInitialResponse",
       ehlo_line + "AUTH PLAIN " + plain + "\r\n",
       ehlo_then({ok}),
       "alice",
       {"alice:s3cret"}},
      {"PlainAfterChallenge",
       ehlo_line + "AUTH PLAIN\r\n" + plain + "\r\n",
       ehlo_then({"334 ", ok}),
       "alice",
       {"alice:s3cret"}},
      {"PlainMechanismInLowerCase",
       ehlo_line + "auth plain " + plain + "\r\n",
       ehlo_then({ok}),
       "alice",
       {"alice:s3cret"}},
      {"PlainWithOwnAuthzid",
       ehlo_line + "AUTH PLAIN " +
           b64(std::string("alice\0alice\0s3cret", 18)) + "\r\n",
       ehlo_then({ok}),
       "alice",
       {"alice:s3cret"}},
      {"PlainActingForSomeoneElse",
       ehlo_line + "AUTH PLAIN " + b64(std::string("root\0alice\0s3cret", 17)) +
           "\r\n",
       ehlo_then({invalid}),
       "",
       {}},
      {"Login",
       ehlo_line + "AUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("s3cret") +
           "\r\n",
       ehlo_then({"334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", ok}),
       "alice",
       {"alice:s3cret"}},
      {"LoginWithUserAsInitialResponse",
       ehlo_line + "AUTH LOGIN " + b64("alice") + "\r\n" + b64("s3cret") +
           "\r\n",
       ehlo_then({"334 UGFzc3dvcmQ6", ok}),
       "alice",
       {"alice:s3cret"}},
      {"BadPasswordIs535AndNoOneLoggedIn",
       ehlo_line + "AUTH PLAIN " + plain_bad +
           "\r\nMAIL FROM:<a@b.example>\r\n",
       ehlo_then({invalid, "250 OK"}),
       "",
       {"alice:guess"}},
      {"TemporaryFailureIs454",
       ehlo_line + "AUTH PLAIN " + b64(std::string("\0slow\0pw", 8)) + "\r\n",
       ehlo_then({std::string(replies::auth_temporary)}),
       "",
       {"slow:pw"}},
      {"RetryAfterFailure",
       ehlo_line + "AUTH PLAIN " + plain_bad + "\r\nAUTH PLAIN " + plain +
           "\r\n",
       ehlo_then({invalid, ok}),
       "alice",
       {"alice:guess", "alice:s3cret"}},
      {"SecondAuthIs503",
       ehlo_line + "AUTH PLAIN " + plain + "\r\nAUTH PLAIN " + plain + "\r\n",
       ehlo_then({ok, std::string(replies::auth_already)}),
       "alice",
       {"alice:s3cret"}},
      {"AuthInTransactionIs503",
       ehlo_line + "MAIL FROM:<a@b.example>\r\nAUTH PLAIN " + plain + "\r\n",
       ehlo_then({"250 OK", std::string(replies::auth_in_transaction)}),
       "",
       {}},
      {"AuthAfterRsetIsServed",
       ehlo_line + "MAIL FROM:<a@b.example>\r\nRSET\r\nAUTH PLAIN " + plain +
           "\r\n",
       ehlo_then({"250 OK", "250 OK", ok}),
       "alice",
       {"alice:s3cret"}},
      {"AuthAfterHeloIs503",
       "HELO c.example\r\nAUTH PLAIN " + plain + "\r\n",
       {"250 localhost", std::string(replies::auth_need_ehlo)},
       "",
       {}},
      {"AuthBeforeGreetingIs503",
       "AUTH PLAIN " + plain + "\r\n",
       {std::string(replies::auth_need_ehlo)},
       "",
       {}},
      {"CancelledIs501",
       ehlo_line + "AUTH LOGIN\r\n" + b64("alice") + "\r\n*\r\nNOOP\r\n",
       ehlo_then({"334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6",
                  std::string(replies::auth_cancelled), "250 OK"}),
       "",
       {}},
      {"CancelledPlainIs501",
       ehlo_line + "AUTH PLAIN\r\n*\r\n",
       ehlo_then({"334 ", std::string(replies::auth_cancelled)}),
       "",
       {}},
      {"BadBase64Is501",
       ehlo_line + "AUTH PLAIN AGFsaWNl!!\r\n",
       ehlo_then({std::string(replies::auth_bad_base64)}),
       "",
       {}},
      {"BadBase64ResponseIs501",
       ehlo_line + "AUTH LOGIN\r\nYWxpY2U\r\nNOOP\r\n",
       ehlo_then({"334 VXNlcm5hbWU6", std::string(replies::auth_bad_base64),
                  "250 OK"}),
       "",
       {}},
      {"UnknownMechanismIs504",
       ehlo_line + "AUTH CRAM-MD5\r\n",
       ehlo_then({std::string(replies::auth_unknown_mechanism)}),
       "",
       {}},
      {"NoMechanismIs501",
       ehlo_line + "AUTH\r\n",
       ehlo_then({std::string(replies::auth_syntax)}),
       "",
       {}},
      {"EmptyInitialResponseIs535",
       ehlo_line + "AUTH PLAIN =\r\n",
       ehlo_then({invalid}),
       "",
       {}},
      {"ThreeNulsIs535",
       ehlo_line + "AUTH PLAIN " + b64(std::string("\0alice\0s3\0cret", 15)) +
           "\r\n",
       ehlo_then({invalid}),
       "",
       {}},
      {"WithoutTlsIs538AndNotOffered",
       ehlo_line + "AUTH PLAIN " + plain + "\r\n",
       {"250-localhost", "250-SIZE 33554432", "250-8BITMIME", "250-PIPELINING",
        "250 HELP", std::string(replies::auth_needs_tls)},
       "",
       {},
       /*insecure=*/false},
      {"WithoutTlsLoginIs538",
       ehlo_line + "AUTH LOGIN\r\nNOOP\r\n",
       {"250-localhost", "250-SIZE 33554432", "250-8BITMIME", "250-PIPELINING",
        "250 HELP", std::string(replies::auth_needs_tls), "250 OK"},
       "",
       {},
       /*insecure=*/false},
      {"NotConfiguredIsAnUnknownCommand",
       ehlo_line + "AUTH PLAIN " + plain + "\r\n",
       {"250-localhost", "250-SIZE 33554432", "250-8BITMIME", "250-PIPELINING",
        "250 HELP", "500 Error: command \"AUTH\" not recognized"},
       "",
       {},
       true,
       /*auth=*/false},
      {"ResponseIsNeverACommand",
       ehlo_line + "AUTH LOGIN\r\nMAIL FROM:<a@b.example>\r\nNOOP\r\n",
       ehlo_then({"334 VXNlcm5hbWU6", std::string(replies::auth_bad_base64),
                  "250 OK"}),
       "",
       {}},
      {"ResponseTooLongIs500",
       ehlo_line + "AUTH PLAIN\r\n" + std::string(limits::auth_line + 4, 'A') +
           "\r\nNOOP\r\n",
       ehlo_then({"334 ", std::string(replies::auth_line_too_long), "250 OK"}),
       "",
       {}},
      {"LongInitialResponseWithinTheLimit",
       ehlo_line + "AUTH PLAIN " + std::string(2000, 'A') + "\r\n",
       ehlo_then({invalid}),
       "",
       {}},
      {"AuthLineTooLong",
       ehlo_line + "AUTH PLAIN " + std::string(limits::auth_line + 10, 'A') +
           "\r\nNOOP\r\n",
       ehlo_then({"500 Error: line too long", "250 OK"}),
       "",
       {}},
      {"NulInResponseIs501",
       ehlo_line + "AUTH PLAIN\r\n" + std::string("AG\0FsaWNl", 9) + "\r\n",
       ehlo_then({"334 ", std::string(replies::auth_bad_base64)}),
       "",
       {}},
      {"FailuresCountTowardsMaxErrors",
       ehlo_line + "AUTH PLAIN " + plain_bad + "\r\nAUTH PLAIN " + plain_bad +
           "\r\nAUTH PLAIN " + plain + "\r\n",
       ehlo_then({invalid, invalid, "421 localhost Error: too many errors"}),
       "",
       {"alice:guess", "alice:guess"},
       true,
       true,
       /*max_errors=*/2,
       /*closed=*/true},
      {"BareLfEndsAResponse",
       ehlo_line + "AUTH PLAIN\n" + plain + "\n",
       ehlo_then({"334 ", ok}),
       "alice",
       {"alice:s3cret"}},
  };
}

struct Outcome {
  std::string output;
  std::string user;
  std::vector<std::string> asked;
  bool closed;
};

Outcome run(const Case& c, const std::vector<std::string_view>& chunks,
            bool later) {
  ChannelConfig config;
  config.auth = c.auth;
  config.auth_insecure = c.insecure;
  config.max_errors = c.max_errors;
  Checker checker;
  checker.answer_later = later;
  Channel channel(config, Peer{}, &checker);
  channel.consume_output(channel.output().size());
  for (const std::string_view chunk : chunks) {
    channel.feed(chunk);
    // A later answer comes once the channel waits for it.
    while (later && checker.pending && channel.awaits_later()) {
      Later handle = *checker.pending;
      checker.pending.reset();
      AuthCredentials credentials;
      const std::string& asked = checker.asked.back();
      credentials.user = asked.substr(0, asked.find(':'));
      credentials.password = asked.substr(asked.find(':') + 1);
      handle.answer(Checker::verdict(credentials));
      channel.collect_later();
    }
  }
  return {std::string(channel.output()), channel.session().authenticated,
          checker.asked, channel.closed()};
}

std::string problems(const Case& c, const Outcome& o) {
  std::string expected;
  for (const std::string& r : c.replies) expected += r + "\r\n";
  std::string out;
  if (o.output != expected)
    out += "output:\n" + o.output + "expected:\n" + expected;
  if (o.user != c.user)
    out += "user: '" + o.user + "' expected '" + c.user + "'\n";
  if (o.asked != c.asked) out += "the hook was asked something else\n";
  if (o.closed != c.closed) out += "closed is wrong\n";
  return out;
}

class ChannelAuth : public testing::TestWithParam<Case> {};

TEST_P(ChannelAuth, FedWhole) {
  for (const bool later : {false, true})
    EXPECT_EQ(problems(GetParam(), run(GetParam(), {GetParam().input}, later)),
              "")
        << (later ? "answered later" : "answered at once");
}

TEST_P(ChannelAuth, FedOneByteAtATime) {
  EXPECT_EQ(problems(GetParam(),
                     run(GetParam(), chunkings::one_byte_each(GetParam().input),
                         true)),
            "");
}

TEST_P(ChannelAuth, SplitInTwoAtEveryByte) {
  chunkings::expect_right_split_anywhere(
      GetParam().input, [](const std::vector<std::string_view>& chunks) {
        return problems(GetParam(), run(GetParam(), chunks, false));
      });
}

INSTANTIATE_TEST_SUITE_P(Cases, ChannelAuth, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(ChannelAuth, WithoutAHandlerNoOneLogsIn) {
  ChannelConfig config;
  config.auth = config.auth_insecure = true;
  Channel channel(config, Peer{});
  channel.feed(ehlo_line + "AUTH PLAIN " + plain + "\r\n");
  EXPECT_NE(std::string(channel.output()).find(replies::auth_invalid),
            std::string::npos);
  EXPECT_EQ(channel.session().authenticated, "");
}

TEST(ChannelAuth, EncryptedStartsFalse) {
  Channel channel(ChannelConfig{}, Peer{});
  EXPECT_FALSE(channel.encrypted());
}

// --- the trace filter
// ---------------------------------------------------------

struct TraceCase {
  const char* name;
  std::string input;
  std::string shown;
};

std::vector<TraceCase> trace_cases() {
  return {
      {"CommandsPassUnchanged", "EHLO x\r\nMAIL FROM:<a@b>\r\n",
       "EHLO x\r\nMAIL FROM:<a@b>\r\n"},
      // PLAIN: the initial response or the line after 334, in any form.
      {"PlainInitialResponse", "AUTH PLAIN " + plain + "\r\nNOOP\r\n",
       "AUTH PLAIN [hidden]\r\nNOOP\r\n"},
      {"PlainResponse", "AUTH PLAIN\r\n" + plain + "\r\nNOOP\r\n",
       "AUTH PLAIN\r\n[hidden]\r\nNOOP\r\n"},
      {"BareLf", "AUTH PLAIN\n" + plain + "\nNOOP\n",
       "AUTH PLAIN\n[hidden]\nNOOP\n"},
      {"OddSpacing", "  AuTh\t PLAIN   " + plain + "\r\n",
       "  AuTh\t PLAIN [hidden]\r\n"},
      {"LongResponseHiddenWhole",
       "AUTH PLAIN\r\n" + std::string(limits::auth_line + 100, 'c') +
           "\r\nNOOP\r\n",
       "AUTH PLAIN\r\n[hidden]\r\nNOOP\r\n"},
      // LOGIN: the user name and the password, each a line of its own.
      {"Login",
       "auth login\r\n" + b64("alice") + "\r\n" + b64("s3cret") +
           "\r\nNOOP\r\n",
       "auth login\r\n[hidden]\r\n[hidden]\r\nNOOP\r\n"},
      {"LoginInitial",
       "AUTH LOGIN " + b64("alice") + "\r\n" + b64("s3cret") + "\r\nNOOP\r\n",
       "AUTH LOGIN [hidden]\r\n[hidden]\r\nNOOP\r\n"},
      {"CancelShowsAndEnds", "AUTH LOGIN\r\n*\r\nNOOP\r\n",
       "AUTH LOGIN\r\n*\r\nNOOP\r\n"},
  };
}

class TraceFilter : public testing::TestWithParam<TraceCase> {};

TEST_P(TraceFilter, HidesCredentialsInAnyChunking) {
  const TraceCase& c = GetParam();
  {
    AuthTraceFilter filter;
    EXPECT_EQ(filter.filter(c.input), c.shown);
  }
  {
    AuthTraceFilter filter;
    std::string shown;
    for (const std::string_view b : chunkings::one_byte_each(c.input))
      shown += filter.filter(b);
    EXPECT_EQ(shown, c.shown) << "one byte at a time";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, TraceFilter, testing::ValuesIn(trace_cases()),
                         [](const testing::TestParamInfo<TraceCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(TraceFilter, PartialLineWaitsForItsEnd) {
  AuthTraceFilter filter;
  EXPECT_EQ(filter.filter("AUTH PLAIN AGFs"), "");
  EXPECT_EQ(filter.filter("aWNl\r\n"), "AUTH PLAIN [hidden]\r\n");
}

}  // namespace
}  // namespace smtpd
