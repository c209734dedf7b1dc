// channel_test.cpp - the SMTP state machine (channel.hpp), from transcripts.
//
// Each transcript is the bytes a client sends, the exact bytes the channel
// must answer (after its greeting), the envelopes it must hand to the hook
// and whether the session must end.  Every transcript is replayed fed
// whole, fed one byte at a time, and split in two at every byte boundary:
// the replies must not depend on the chunking.  Reply texts of the
// reference are spelt out literally (they are smtpd.py's, byte for byte);
// the texts that are ours come from replies.hpp.
#include "smtpd/channel.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chunkings.hpp"
#include "smtpd/replies.hpp"

namespace smtpd {
namespace {

using namespace std::string_literals;

// --- envelopes
// ----------------------------------------------------------------

// Control bytes and 8-bit bytes made visible, for failure messages.
std::string visible(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (b == '\r') {
      out += "\\r";
    } else if (b == '\n') {
      out += "\\n";
    } else if (b == '"' || b == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20 || b >= 0x7F) {
      out += "\\x";
      out += digits[b >> 4];
      out += digits[b & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string visible(const std::vector<std::string>& words) {
  std::string out = "[";
  for (std::size_t i = 0; i < words.size(); ++i)
    out += (i ? ", " : "") + visible(words[i]);
  return out + "]";
}

std::string describe(const Envelope& e) {
  return "{peer " + e.peer.address + ":" + std::to_string(e.peer.port) +
         ", helo " + visible(e.helo) + ", from " + visible(e.mail_from) +
         ", to " + visible(e.rcpt_tos) + ", mail_options " +
         visible(e.mail_options) + ", rcpt_options " + visible(e.rcpt_options) +
         ", smtputf8 " + (e.smtputf8 ? "true" : "false") + ", data " +
         visible(e.data) + "}";
}

std::string describe(const std::vector<Envelope>& envelopes) {
  std::string out;
  for (const Envelope& e : envelopes) out += describe(e) + "\n";
  return out.empty() ? "(none)\n" : out;
}

// An expected envelope.
class Message {
 public:
  Message(std::string helo, std::string from, std::vector<std::string> to,
          std::string data) {
    e_.helo = std::move(helo);
    e_.mail_from = std::move(from);
    e_.rcpt_tos = std::move(to);
    e_.data = std::move(data);
  }
  Message& mail_options(std::vector<std::string> words) {
    e_.mail_options = std::move(words);
    return *this;
  }
  Message& rcpt_options(std::vector<std::string> words) {
    e_.rcpt_options = std::move(words);
    return *this;
  }
  Message& smtputf8() {
    e_.smtputf8 = true;
    return *this;
  }
  Message& peer(Peer p) {
    e_.peer = std::move(p);
    return *this;
  }
  operator Envelope() const { return e_; }

 private:
  Envelope e_;
};

// The usual message of these transcripts.
Message message(std::string data) {
  return Message("client.example", "a@b.example", {"c@d.example"},
                 std::move(data));
}

// --- transcripts
// ----------------------------------------------------------------

struct Transcript {
  std::string name;
  ChannelConfig config;
  Peer peer;
  std::string input;
  bool end_of_input = false;
  std::vector<Reply> answers;  // the hook's, in order; past the end: nothing
  std::string output;          // after the greeting
  std::vector<Envelope> delivered;
  bool closed = false;
  std::function<void(Channel&)> setup;  // before any input: extensions
  // The hooks, when a transcript has some; each message still waits for
  // the answers above (its DATA hook answers later).
  std::shared_ptr<Handler> handler;
};

// A RCPT hook from a function; DATA left to the transcript's answers.
class RecipientCheck : public Handler {
 public:
  explicit RecipientCheck(
      std::function<Reply(const Peer&, const std::string&)> check)
      : check_(std::move(check)) {}
  Answer handle_rcpt(Context& context, const std::string& address) override {
    return Answer::from(check_(context.session().peer, address));
  }
  Answer handle_data(Context& context, const Envelope&) override {
    context.later();
    return Answer::later();
  }

 private:
  std::function<Reply(const Peer&, const std::string&)> check_;
};

// Builds a transcript: say() sends bytes and expects the given reply lines.
class T {
 public:
  explicit T(std::string name) { t_.name = std::move(name); }

  T& say(std::string_view input,
         std::initializer_list<std::string_view> replies = {}) {
    t_.input.append(input);
    for (const std::string_view reply : replies) {
      t_.output.append(reply);
      t_.output.append("\r\n");
    }
    return *this;
  }
  T& expect(std::string_view reply) { return say("", {reply}); }
  T& delivers(Envelope envelope) {
    t_.delivered.push_back(std::move(envelope));
    return *this;
  }
  T& answers(std::vector<Reply> answers) {
    t_.answers = std::move(answers);
    return *this;
  }
  T& eof() {
    t_.end_of_input = true;
    return *this;
  }
  T& closes() {
    t_.closed = true;
    return *this;
  }
  T& size_limit(std::uint64_t limit) {
    t_.config.data_size_limit = limit;
    return *this;
  }
  T& smtputf8() {
    t_.config.enable_smtputf8 = true;
    return *this;
  }
  T& decode_data() {
    t_.config.decode_data = true;
    return *this;
  }
  T& max_recipients(std::size_t n) {
    t_.config.max_recipients = n;
    return *this;
  }
  T& max_errors(unsigned n) {
    t_.config.max_errors = n;
    return *this;
  }
  T& hostname(std::string name) {
    t_.config.hostname = std::move(name);
    return *this;
  }
  T& peer(Peer p) {
    t_.peer = std::move(p);
    return *this;
  }
  T& setup(std::function<void(Channel&)> f) {
    t_.setup = std::move(f);
    return *this;
  }
  T& check_recipient(
      std::function<Reply(const Peer&, const std::string&)> check) {
    t_.handler = std::make_shared<RecipientCheck>(std::move(check));
    return *this;
  }
  operator Transcript() const { return t_; }

 private:
  Transcript t_;
};

// Client lines and the channel's answers that most transcripts share.
const std::string helo_line = "HELO client.example\r\n";
const std::string ehlo_line = "EHLO client.example\r\n";
const std::string from_line = "MAIL FROM:<a@b.example>\r\n";
const std::string to_line = "RCPT TO:<c@d.example>\r\n";
const std::string data_line = "DATA\r\n";
const std::string quit_line = "QUIT\r\n";
constexpr std::string_view helo_ok = "250 localhost";
constexpr std::string_view ok = "250 OK";
constexpr std::string_view go_ahead = "354 End data with <CR><LF>.<CR><LF>";
constexpr std::string_view bye = "221 Bye";

// EHLO's answer with the default configuration.
T& ehlo(T& t) {
  return t.say(ehlo_line, {"250-localhost", "250-SIZE 33554432", "250-8BITMIME",
                           "250-PIPELINING", "250 HELP"});
}
// HELO, MAIL, RCPT, DATA: ready for the message.
T& helo_to_data(T& t) {
  return t.say(helo_line, {helo_ok})
      .say(from_line, {ok})
      .say(to_line, {ok})
      .say(data_line, {go_ahead});
}

// "VERB" padded with spaces to a line of exactly length bytes, then CRLF.
// The reference strips the argument, so the padding changes only the length.
std::string line_of(std::string_view command, std::size_t length) {
  std::string line(command);
  if (line.size() < length) line.append(length - line.size(), ' ');
  return line + "\r\n";
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.append(s);
  return out;
}

std::vector<Transcript> session_transcripts() {
  std::vector<Transcript> all;
  {
    T t("SimpleSession");
    helo_to_data(t)
        .say("Subject: hi\r\n\r\nHello.\r\n.\r\n", {ok})
        .say(quit_line, {bye})
        .delivers(message("Subject: hi\n\nHello."))
        .closes();
    all.push_back(t);
  }
  {
    T t("EhloSessionWithOptionsAndTwoRecipients");
    ehlo(t)
        .say("MAIL FROM:<a@b.example> body=8bitmime SIZE=100\r\n", {ok})
        .say(to_line, {ok})
        .say("RCPT TO:<e@f.example>\r\n", {ok})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .delivers(Message("client.example", "a@b.example",
                          {"c@d.example", "e@f.example"}, "x")
                      .mail_options({"BODY=8BITMIME", "SIZE=100"}));
    all.push_back(t);
  }
  {
    T t("TwoMessagesInOneSession");
    helo_to_data(t)
        .say("first\r\n.\r\n", {ok})
        .say("MAIL FROM:<g@h.example>\r\n", {ok})
        .say("RCPT TO:<i@j.example>\r\n", {ok})
        .say(data_line, {go_ahead})
        .say("second\r\n.\r\n", {ok})
        .say(quit_line, {bye})
        .delivers(message("first"))
        .delivers(
            Message("client.example", "g@h.example", {"i@j.example"}, "second"))
        .closes();
    all.push_back(t);
  }
  all.push_back(T("LowerCaseVerbsAndKeywords")
                    .say("helo client.example\r\n", {helo_ok})
                    .say("mail from:<a@b.example>\r\n", {ok})
                    .say("rcpt to:<c@d.example>\r\n", {ok})
                    .say("data\r\n", {go_ahead})
                    .say("x\r\n.\r\n", {ok})
                    .say("quit\r\n", {bye})
                    .delivers(message("x"))
                    .closes());
  all.push_back(T("SpaceAfterKeywordColon")
                    .say(helo_line, {helo_ok})
                    .say("MAIL FROM: <a@b.example>\r\n", {ok})
                    .say("RCPT TO:   <c@d.example>\r\n", {ok})
                    .say(data_line, {go_ahead})
                    .say("x\r\n.\r\n", {ok})
                    .delivers(message("x")));
  all.push_back(T("ArgumentsAreStripped")
                    .say("HELO   client.example \t \r\n", {helo_ok})
                    .say(from_line, {ok})
                    .say(to_line, {ok})
                    .say(data_line, {go_ahead})
                    .say("x\r\n.\r\n", {ok})
                    .delivers(message("x")));
  all.push_back(T("NullReversePath")
                    .say(helo_line, {helo_ok})
                    .say("MAIL FROM:<>\r\n", {ok})
                    .say(to_line, {ok})
                    .say(data_line, {go_ahead})
                    .say("bounce\r\n.\r\n", {ok})
                    .delivers(Message("client.example", "<>", {"c@d.example"},
                                      "bounce")));
  {
    T t("PeerIsInTheEnvelope");
    t.peer(Peer{"192.0.2.7", 2525});
    helo_to_data(t)
        .say("x\r\n.\r\n", {ok})
        .delivers(message("x").peer(Peer{"192.0.2.7", 2525}));
    all.push_back(t);
  }
  all.push_back(
      T("HostnameInReplies")
          .hostname("mx.example")
          .say(ehlo_line, {"250-mx.example", "250-SIZE 33554432",
                           "250-8BITMIME", "250-PIPELINING", "250 HELP"})
          .say(quit_line, {bye})
          .closes());
  all.push_back(T("HostnameInHeloReply")
                    .hostname("mx.example")
                    .say(helo_line, {"250 mx.example"}));
  return all;
}

std::vector<Transcript> greeting_transcripts() {
  std::vector<Transcript> all;
  all.push_back(T("HeloWithoutHostname")
                    .say("HELO\r\n", {"501 Syntax: HELO hostname"})
                    .say("HELO \r\n", {"501 Syntax: HELO hostname"})
                    .say("helo  \t \r\n", {"501 Syntax: HELO hostname"})
                    .say(from_line, {"503 Error: send HELO first"})
                    .say(helo_line, {helo_ok}));
  all.push_back(T("EhloWithoutHostname")
                    .say("EHLO\r\n", {"501 Syntax: EHLO hostname"})
                    .say("EHLO \r\n", {"501 Syntax: EHLO hostname"})
                    .say(from_line, {"503 Error: send HELO first"}));
  {
    T t("DuplicateGreetingKeepsTheFirst");
    t.say("HELO first.example\r\n", {helo_ok})
        .say("HELO second.example\r\n", {"503 Duplicate HELO/EHLO"})
        .say("EHLO third.example\r\n", {"503 Duplicate HELO/EHLO"})
        .say("HELO\r\n", {"501 Syntax: HELO hostname"})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .delivers(
            Message("first.example", "a@b.example", {"c@d.example"}, "x"));
    all.push_back(t);
  }
  {
    T t("DuplicateGreetingAfterEhlo");
    ehlo(t).say("HELO client.example\r\n", {"503 Duplicate HELO/EHLO"});
    all.push_back(t);
  }
  all.push_back(T("EhloWithoutSizeLimit")
                    .size_limit(0)
                    .say(ehlo_line, {"250-localhost", "250-8BITMIME",
                                     "250-PIPELINING", "250 HELP"}));
  all.push_back(
      T("EhloShowsTheConfiguredSize")
          .size_limit(10)
          .say(ehlo_line, {"250-localhost", "250-SIZE 10", "250-8BITMIME",
                           "250-PIPELINING", "250 HELP"}));
  all.push_back(
      T("EhloWithSmtputf8")
          .smtputf8()
          .say(ehlo_line, {"250-localhost", "250-SIZE 33554432", "250-8BITMIME",
                           "250-SMTPUTF8", "250-PIPELINING", "250 HELP"}));
  all.push_back(T("EhloWithDecodeDataHasNo8BitMime")
                    .decode_data()
                    .say(ehlo_line, {"250-localhost", "250-SIZE 33554432",
                                     "250-PIPELINING", "250 HELP"}));
  all.push_back(T("HeloGivesNoParameters")
                    .say(helo_line, {helo_ok})
                    .say("MAIL FROM:<a@b.example> SIZE=10\r\n",
                         {"501 Syntax: MAIL FROM: <address>"})
                    .say(from_line, {ok})
                    .say("RCPT TO:<c@d.example> FOO=1\r\n",
                         {"501 Syntax: RCPT TO: <address>"}));
  return all;
}

std::vector<Transcript> simple_command_transcripts() {
  std::vector<Transcript> all;
  all.push_back(T("Noop")
                    .say("NOOP\r\n", {ok})
                    .say("noop\r\n", {ok})
                    .say("NOOP \r\n", {ok})
                    .say("NOOP x\r\n", {"501 Syntax: NOOP"})
                    .say(helo_line, {helo_ok})
                    .say("NOOP\r\n", {ok}));
  all.push_back(T("RsetEndsTheTransactionButKeepsTheGreeting")
                    .say("RSET\r\n", {ok})
                    .say(helo_line, {helo_ok})
                    .say(from_line, {ok})
                    .say(to_line, {ok})
                    .say("RSET\r\n", {ok})
                    .say(to_line, {"503 Error: need MAIL command"})
                    .say(data_line, {"503 Error: need RCPT command"})
                    .say(from_line, {ok})
                    .say(data_line, {"503 Error: need RCPT command"})
                    .say(to_line, {ok})
                    .say(data_line, {go_ahead})
                    .say("x\r\n.\r\n", {ok})
                    .delivers(message("x")));
  {
    T t("RsetWithArgumentChangesNothing");
    t.say(helo_line, {helo_ok})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say("RSET x\r\n", {"501 Syntax: RSET"})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .delivers(message("x"));
    all.push_back(t);
  }
  all.push_back(T("QuitEndsTheSessionAndIgnoresWhatFollows")
                    .say(quit_line, {bye})
                    .say("NOOP\r\nHELO client.example\r\n")
                    .closes());
  all.push_back(
      T("QuitIgnoresItsArgument").say("quit now\r\n", {bye}).closes());
  {
    T t("QuitInTheMiddleOfATransactionDeliversNothing");
    t.say(helo_line, {helo_ok})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say(quit_line, {bye});
    all.push_back(t.closes());
  }
  all.push_back(
      T("Help")
          .say("HELP\r\n",
               {"250 Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP "
                "QUIT VRFY"})
          .say("HELP ehlo\r\n", {"250 Syntax: EHLO hostname"})
          .say("HELP HELO\r\n", {"250 Syntax: HELO hostname"})
          .say("HELP mail\r\n", {"250 Syntax: MAIL FROM: <address>"})
          .say("HELP RCPT\r\n", {"250 Syntax: RCPT TO: <address>"})
          .say("HELP DATA\r\n", {"250 Syntax: DATA"})
          .say("HELP RSET\r\n", {"250 Syntax: RSET"})
          .say("HELP NOOP\r\n", {"250 Syntax: NOOP"})
          .say("HELP QUIT\r\n", {"250 Syntax: QUIT"})
          .say("HELP VRFY\r\n", {"250 Syntax: VRFY <address>"})
          .say("HELP EXPN\r\n",
               {"501 Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP "
                "QUIT VRFY"})
          .say("HELP mail from\r\n",
               {"501 Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP "
                "QUIT VRFY"}));
  {
    T t("HelpAfterEhloShowsParameters");
    ehlo(t)
        .say("HELP MAIL\r\n",
             {"250 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"})
        .say("HELP rcpt\r\n",
             {"250 Syntax: RCPT TO: <address> [SP <mail-parameters>]"})
        .say("HELP DATA\r\n", {"250 Syntax: DATA"});
    all.push_back(t);
  }
  all.push_back(
      T("Vrfy")
          .say("VRFY\r\n", {"501 Syntax: VRFY <address>"})
          .say("VRFY  \r\n", {"501 Syntax: VRFY <address>"})
          .say("VRFY <a@b.example>\r\n",
               {"252 Cannot VRFY user, but will accept message and attempt "
                "delivery"})
          .say("vrfy a@b.example\r\n",
               {"252 Cannot VRFY user, but will accept message and attempt "
                "delivery"})
          .say("VRFY ,\r\n", {"502 Could not VRFY ,"}));
  all.push_back(T("VrfyDoesNotEchoWhatItCannotSend")
                    .say("VRFY ,\xc3\xa9\r\n", {replies::cannot_vrfy_that})
                    .say("VRFY ,\x01\r\n", {replies::cannot_vrfy_that})
                    .say("VRFY ,\x7f\r\n", {replies::cannot_vrfy_that}));
  all.push_back(T("Expn")
                    .say("EXPN\r\n", {"502 EXPN not implemented"})
                    .say("EXPN staff\r\n", {"502 EXPN not implemented"}));
  all.push_back(
      T("UnknownCommands")
          .say("FOO\r\n", {"500 Error: command \"FOO\" not recognized"})
          .say("foo bar\r\n", {"500 Error: command \"FOO\" not recognized"})
          .say("MAIL\tFROM:<a@b.example>\r\n",
               {"500 Error: command \"MAIL\tFROM:<A@B.EXAMPLE>\" not "
                "recognized"})
          .say(" NOOP\r\n", {"500 Error: command \"\" not recognized"})
          .say("NOOP\r\n", {ok}));
  all.push_back(T("EmptyLine")
                    .say("\r\n", {"500 Error: bad syntax"})
                    .say("NOOP\r\n", {ok}));
  // Deviation: the reference echoes these bytes and breaks the framing of
  // its own reply; we answer without the verb.
  all.push_back(T("BareCrInACommandIsNoLineEnd")
                    .say("NOOP\rNOOP\r\n", {replies::unknown_command})
                    .say("NOOP\r\r\n", {replies::unknown_command})
                    .say("NOOP\r\n", {ok}));
  // Deviation: a bare LF ends a command line (as aiosmtpd and Postfix
  // take it); the reference waits for CRLF and reads on into the next line.
  all.push_back(T("BareLfEndsACommandLine")
                    .say("NOOP\n", {ok})
                    .say("NOOP\nNOOP x\r\n", {ok, "501 Syntax: NOOP"})
                    .say("NOOP \n\r\n", {ok, "500 Error: bad syntax"})
                    .say("NOOP\r\n", {ok}));
  all.push_back(T("ControlBytesInAVerbAreNotEchoed")
                    .say("NO\x1bOP\r\n", {replies::unknown_command})
                    .say("\x7f\r\n", {replies::unknown_command}));
  return all;
}

std::vector<Transcript> mail_transcripts() {
  std::vector<Transcript> all;
  all.push_back(T("MailRcptDataBeforeHelo")
                    .say(from_line, {"503 Error: send HELO first"})
                    .say(to_line, {"503 Error: send HELO first"})
                    .say(data_line, {"503 Error: send HELO first"})
                    .say("MAIL\r\n", {"503 Error: send HELO first"}));
  all.push_back(T("MailSyntaxAfterHelo")
                    .say(helo_line, {helo_ok})
                    .say("MAIL\r\n", {"501 Syntax: MAIL FROM: <address>"})
                    .say("MAIL FROM:\r\n", {"501 Syntax: MAIL FROM: <address>"})
                    .say("MAIL TO:<a@b.example>\r\n",
                         {"501 Syntax: MAIL FROM: <address>"})
                    .say("MAIL FROM<a@b.example>\r\n",
                         {"501 Syntax: MAIL FROM: <address>"})
                    .say("MAIL FRO\r\n", {"501 Syntax: MAIL FROM: <address>"})
                    .say(from_line, {ok}));
  {
    T t("MailSyntaxAfterEhlo");
    ehlo(t)
        .say("MAIL\r\n",
             {"501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"})
        .say("MAIL FROM:\r\n",
             {"501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"})
        .say("MAIL TO:<a@b.example>\r\n",
             {"501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"});
    all.push_back(t);
  }
  all.push_back(T("NestedMail")
                    .say(helo_line, {helo_ok})
                    .say(from_line, {ok})
                    .say("MAIL FROM:<x@y.example>\r\n",
                         {"503 Error: nested MAIL command"})
                    // The syntax is checked before the nesting.
                    .say("MAIL FROM:\r\n", {"501 Syntax: MAIL FROM: <address>"})
                    .say(to_line, {ok})
                    .say(data_line, {go_ahead})
                    .say("x\r\n.\r\n", {ok})
                    .delivers(message("x")));
  {
    T t("MailBody");
    ehlo(t)
        .say("MAIL FROM:<a@b.example> BODY=7BIT\r\n", {ok})
        .say("RSET\r\n", {ok})
        .say("MAIL FROM:<a@b.example> body=8bitmime\r\n", {ok})
        .say("RSET\r\n", {ok})
        .say("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n",
             {"501 Error: BODY can only be one of 7BIT, 8BITMIME"})
        .say("MAIL FROM:<a@b.example> BODY\r\n",
             {"501 Error: BODY can only be one of 7BIT, 8BITMIME"})
        // BODY is checked before SIZE and before unknown parameters.
        .say("MAIL FROM:<a@b.example> SIZE=x BODY=X FOO=1\r\n",
             {"501 Error: BODY can only be one of 7BIT, 8BITMIME"});
    all.push_back(t);
  }
  {
    T t("MailSizeAgainstTheDefaultLimit");
    ehlo(t)
        .say("MAIL FROM:<a@b.example> SIZE=33554432\r\n", {ok})
        .say("RSET\r\n", {ok})
        .say("MAIL FROM:<a@b.example> SIZE=33554433\r\n",
             {"552 Error: message size exceeds fixed maximum message size"})
        .say("MAIL FROM:<a@b.example> SIZE=99999999999999999999999999\r\n",
             {"552 Error: message size exceeds fixed maximum message size"})
        .say("MAIL FROM:<a@b.example> SIZE=000000000000033554432\r\n", {ok})
        .say("RSET\r\n", {ok})
        .say("MAIL FROM:<a@b.example> SIZE=0\r\n", {ok});
    all.push_back(t);
  }
  {
    T t("MailSizeSyntax");
    const std::string_view syntax =
        "501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]";
    ehlo(t)
        .say("MAIL FROM:<a@b.example> SIZE=\r\n", {syntax})
        .say("MAIL FROM:<a@b.example> SIZE=abc\r\n", {syntax})
        .say("MAIL FROM:<a@b.example> SIZE=-1\r\n", {syntax})
        .say("MAIL FROM:<a@b.example> SIZE=1.5\r\n", {syntax})
        // Deviation: the reference drops the connection on these two.
        .say("MAIL FROM:<a@b.example> SIZE\r\n", {syntax})
        .say("MAIL FROM:<a@b.example> SIZE=\xc2\xb2\r\n", {syntax})
        // SIZE is checked before unknown parameters.
        .say("MAIL FROM:<a@b.example> FOO=1 SIZE=x\r\n", {syntax})
        .say("MAIL FROM:<a@b.example> FOO=1 SIZE=33554433\r\n",
             {"552 Error: message size exceeds fixed maximum message size"});
    all.push_back(t);
  }
  {
    T t("MailSizeAtAndAboveASmallLimit");
    t.size_limit(10).say(ehlo_line,
                         {"250-localhost", "250-SIZE 10", "250-8BITMIME",
                          "250-PIPELINING", "250 HELP"});
    t.say("MAIL FROM:<a@b.example> SIZE=11\r\n",
          {"552 Error: message size exceeds fixed maximum message size"})
        .say("MAIL FROM:<a@b.example> SIZE=10\r\n", {ok});
    all.push_back(t);
  }
  all.push_back(
      T("MailSizeWithoutALimit")
          .size_limit(0)
          .say(ehlo_line,
               {"250-localhost", "250-8BITMIME", "250-PIPELINING", "250 HELP"})
          .say("MAIL FROM:<a@b.example> SIZE=999999999999999999999\r\n", {ok}));
  {
    T t("MailUnknownParameters");
    const std::string_view unknown =
        "555 MAIL FROM parameters not recognized or not implemented";
    const std::string_view syntax =
        "501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]";
    ehlo(t)
        .say("MAIL FROM:<a@b.example> FOO=BAR\r\n", {unknown})
        .say("MAIL FROM:<a@b.example> FOO\r\n", {unknown})
        .say("MAIL FROM:<a@b.example> SMTPUTF8\r\n", {unknown})
        .say("MAIL FROM:<a@b.example> BODY=7BIT FOO=1\r\n", {unknown})
        .say("MAIL FROM:<a@b.example> -X\r\n", {syntax})
        .say("MAIL FROM:<a@b.example> =X\r\n", {syntax})
        .say("MAIL FROM:<a@b.example> X=\r\n", {syntax})
        .say("MAIL FROM:<a@b.example> A_B=1\r\n", {syntax})
        .say(from_line, {ok});
    all.push_back(t);
  }
  {
    T t("MailOptionsAsTheReferenceSplitsThem");
    ehlo(t)
        // Tabs and Unicode white space (U+00A0, U+3000) separate words, as
        // str.split() has it; a repeated keyword is passed on twice.
        .say(
            "MAIL FROM:<a@b.example> size=1\tBODY=7bit\xc2\xa0SIZE=2"
            "\xe3\x80\x80\r\n",
            {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .delivers(message("x").mail_options({"SIZE=1", "BODY=7BIT", "SIZE=2"}));
    all.push_back(t);
  }
  return all;
}

std::vector<Transcript> rcpt_transcripts() {
  std::vector<Transcript> all;
  all.push_back(T("RcptBeforeMail")
                    .say(helo_line, {helo_ok})
                    .say(to_line, {"503 Error: need MAIL command"})
                    .say("RCPT\r\n", {"503 Error: need MAIL command"}));
  all.push_back(
      T("RcptSyntaxAfterHelo")
          .say(helo_line, {helo_ok})
          .say(from_line, {ok})
          .say("RCPT\r\n", {"501 Syntax: RCPT TO: <address>"})
          .say("RCPT TO:\r\n", {"501 Syntax: RCPT TO: <address>"})
          .say("RCPT FROM:<c@d.example>\r\n",
               {"501 Syntax: RCPT TO: <address>"})
          .say("RCPT TO<c@d.example>\r\n", {"501 Syntax: RCPT TO: <address>"})
          .say(to_line, {ok}));
  {
    T t("RcptSyntaxAndParametersAfterEhlo");
    const std::string_view syntax =
        "501 Syntax: RCPT TO: <address> [SP <mail-parameters>]";
    const std::string_view unknown =
        "555 RCPT TO parameters not recognized or not implemented";
    ehlo(t)
        .say(from_line, {ok})
        .say("RCPT\r\n", {syntax})
        .say("RCPT TO:\r\n", {syntax})
        .say("RCPT TO:<c@d.example> FOO=1\r\n", {unknown})
        .say("RCPT TO:<c@d.example> NOTIFY=NEVER\r\n", {unknown})
        .say("RCPT TO:<c@d.example> =x\r\n", {syntax})
        .say("RCPT TO:<c@d.example> x=\r\n", {syntax})
        .say(data_line, {"503 Error: need RCPT command"})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .delivers(message("x"));
    all.push_back(t);
  }
  {
    // Deviation: the reference takes any number of recipients.
    T t("MaxRecipients");
    t.max_recipients(3)
        .say(helo_line, {helo_ok})
        .say(from_line, {ok})
        .say("RCPT TO:<r1@d.example>\r\n", {ok})
        .say("RCPT TO:<r2@d.example>\r\n", {ok})
        .say("RCPT TO:<r3@d.example>\r\n", {ok})
        .say("RCPT TO:<r4@d.example>\r\n", {replies::too_many_recipients})
        .say("RCPT TO:<r5@d.example>\r\n", {replies::too_many_recipients})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        // A new transaction takes as many again.
        .say(from_line, {ok})
        .say("RCPT TO:<s1@d.example>\r\n", {ok})
        .say("RCPT TO:<s2@d.example>\r\n", {ok})
        .say("RCPT TO:<s3@d.example>\r\n", {ok})
        .say("RCPT TO:<s4@d.example>\r\n", {replies::too_many_recipients})
        .say("RSET\r\n", {ok})
        .say(from_line, {ok})
        .say("RCPT TO:<t1@d.example>\r\n", {ok})
        .delivers(Message("client.example", "a@b.example",
                          {"r1@d.example", "r2@d.example", "r3@d.example"},
                          "x"));
    all.push_back(t);
  }
  {
    // 452 is a temporary refusal, not a client error.
    T t("TooManyRecipientsIsNotAnError");
    t.max_recipients(1)
        .max_errors(2)
        .say(helo_line, {helo_ok})
        .say(from_line, {ok});
    t.say(to_line, {ok});
    for (int i = 0; i < 4; ++i) t.say(to_line, {replies::too_many_recipients});
    t.say("NOOP\r\n", {ok});
    all.push_back(t);
  }
  return all;
}

// A relay policy: recipients in d.example only; the refusal names the
// peer, to show which peer the check was given.
Reply only_d_example(const Peer& peer, const std::string& recipient) {
  const std::string domain = "@d.example";
  if (recipient.size() >= domain.size() &&
      recipient.compare(recipient.size() - domain.size(), domain.size(),
                        domain) == 0)
    return std::nullopt;
  return "554 Error: relay access denied for " + peer.address;
}

std::vector<Transcript> recipient_check_transcripts() {
  std::vector<Transcript> all;
  {
    T t("RecipientCheckRefusesAndAccepts");
    t.check_recipient(only_d_example)
        .peer(Peer{"192.0.2.7", 2525})
        .say(helo_line, {helo_ok})
        .say(from_line, {ok})
        .say("RCPT TO:<x@elsewhere.example>\r\n",
             {"554 Error: relay access denied for 192.0.2.7"})
        .say(to_line, {ok})
        .say("RCPT TO:<e@d.example>\r\n", {ok})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .delivers(Message("client.example", "a@b.example",
                          {"c@d.example", "e@d.example"}, "x")
                      .peer(Peer{"192.0.2.7", 2525}));
    all.push_back(t);
  }
  {
    // The syntax is checked first; a refusal is an error like any other.
    T t("RecipientCheckAfterSyntaxAndCountedAsError");
    t.check_recipient(only_d_example)
        .max_errors(3)
        .say(ehlo_line)
        .say(from_line)
        .say("RCPT TO:<x@elsewhere.example> FOO=1\r\n")
        .say("RCPT TO:<x@elsewhere.example>\r\n")
        .say("RCPT TO:<y@elsewhere.example>\r\n");
    for (const std::string_view line :
         {"250-localhost", "250-SIZE 33554432", "250-8BITMIME",
          "250-PIPELINING", "250 HELP", "250 OK",
          "555 RCPT TO parameters not recognized or not implemented",
          "554 Error: relay access denied for 127.0.0.1",
          "554 Error: relay access denied for 127.0.0.1",
          "421 localhost Error: too many errors"})
      t.expect(line);
    all.push_back(t.closes());
  }
  return all;
}

std::vector<Transcript> data_transcripts() {
  std::vector<Transcript> all;
  all.push_back(T("DataBeforeRcpt")
                    .say(helo_line, {helo_ok})
                    .say(data_line, {"503 Error: need RCPT command"})
                    .say(from_line, {ok})
                    .say(data_line, {"503 Error: need RCPT command"})
                    .say("DATA x\r\n", {"503 Error: need RCPT command"}));
  {
    T t("DataWithArgument");
    t.say(helo_line, {helo_ok})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say("DATA x\r\n", {"501 Syntax: DATA"})
        .say("data\r\n", {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .delivers(message("x"));
    all.push_back(t);
  }
  {
    T t("DotUnstuffing");
    helo_to_data(t)
        .say(".first\r\n..x\r\n...\r\n..\r\nmid.dle.\r\n.\r\n", {ok})
        .delivers(message("first\n.x\n..\n.\nmid.dle."));
    all.push_back(t);
  }
  {
    T t("LineEndsBecomeLfAndTheLastIsDropped");
    helo_to_data(t)
        .say("a\r\n\r\nb\r\n\r\n.\r\n", {ok})
        .delivers(message("a\n\nb\n"));
    all.push_back(t);
  }
  {
    // Deviation: the reference never ends this message.
    T t("EmptyMessage");
    helo_to_data(t).say(".\r\n", {ok}).delivers(message(""));
    all.push_back(t);
  }
  {
    T t("MessageOfOneEmptyLine");
    helo_to_data(t).say("\r\n.\r\n", {ok}).delivers(message(""));
    all.push_back(t);
  }
  {
    // No SMTP smuggling: only CRLF.CRLF ends the message; the commands
    // after a bare-LF or bare-CR "end" are message text.
    T t("BareLfDotBareLfDoesNotEndData");
    helo_to_data(t)
        .say("a\n.\nQUIT\r\n.\r\n", {ok})
        .delivers(message("a\n.\nQUIT"));
    all.push_back(t);
  }
  {
    // Commands may end with a bare LF; the message still ends only at
    // CRLF.CRLF.
    T t("DataAfterBareLfCommandsEndsOnlyAtCrlfDotCrlf");
    t.say(
         "HELO client.example\nMAIL FROM:<a@b.example>\n"
         "RCPT TO:<c@d.example>\nDATA\n",
         {helo_ok, ok, ok, go_ahead})
        .say("a\n.\nQUIT\n.\r\nRSET\n\r\n.\r\n", {ok})
        .delivers(message("a\n.\nQUIT\n.\nRSET\n"));
    all.push_back(t);
  }
  {
    // "DATA" CRLF "." CRLF is an empty message; after "DATA" LF the dot
    // line has no CRLF before it: it is text.
    T t("BareLfDataLineIsNoCrlfBeforeTheDot");
    t.say(
         "HELO client.example\nMAIL FROM:<a@b.example>\n"
         "RCPT TO:<c@d.example>\nDATA\n",
         {helo_ok, ok, ok, go_ahead})
        .say(".\r\nx\r\n.\r\n", {ok})
        .delivers(message("\nx"));
    all.push_back(t);
  }
  {
    T t("BareCrDotBareCrDoesNotEndData");
    helo_to_data(t)
        .say("a\r.\rQUIT\r\n.\r\n", {ok})
        .delivers(message("a\r.\rQUIT"));
    all.push_back(t);
  }
  {
    T t("BareLfDotCrlfDoesNotEndData");
    helo_to_data(t)
        .say("a\n.\r\nMAIL FROM:<evil@x.example>\r\n.\r\n", {ok})
        .delivers(message("a\n.\nMAIL FROM:<evil@x.example>"));
    all.push_back(t);
  }
  {
    T t("CrlfDotBareLfDoesNotEndData");
    helo_to_data(t)
        .say("a\r\n.\nQUIT\r\n.\r\n", {ok})
        .delivers(message("a\n\nQUIT"));
    all.push_back(t);
  }
  {
    T t("CommandsInsideDataAreText");
    helo_to_data(t)
        .say("QUIT\r\nRSET\r\nMAIL FROM:<x@y.example>\r\n.\r\n", {ok})
        .say("NOOP\r\n", {ok})
        .delivers(message("QUIT\nRSET\nMAIL FROM:<x@y.example>"));
    all.push_back(t);
  }
  {
    T t("BinaryDataPassesThrough");
    helo_to_data(t)
        .say("a\0b\xff\xfe\x80\r\n\x1b[0m\r\n.\r\n"s, {ok})
        .delivers(message("a\0b\xff\xfe\x80\n\x1b[0m"s));
    all.push_back(t);
  }
  {
    // The command line limit does not apply to message lines.
    const std::string long_line(2000, 'x');
    T t("LongMessageLines");
    helo_to_data(t)
        .say(long_line + "\r\n" + long_line + "\r\n.\r\n", {ok})
        .delivers(message(long_line + "\n" + long_line));
    all.push_back(t);
  }
  {
    T t("DataExactlyAtTheLimit");
    t.size_limit(10);
    helo_to_data(t)
        .say("0123456789\r\n.\r\n", {ok})
        .delivers(message("0123456789"));
    all.push_back(t);
  }
  {
    // Deviation: the reference stays in DATA state after 552; we end the
    // transaction and read commands again.
    T t("DataAboveTheLimit");
    t.size_limit(10);
    helo_to_data(t)
        .say("0123456789A\r\n.\r\n", {"552 Error: Too much mail data"})
        .say(to_line, {"503 Error: need MAIL command"})
        .say(data_line, {"503 Error: need RCPT command"})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("short\r\n.\r\n", {ok})
        .delivers(message("short"));
    all.push_back(t);
  }
  {
    // The limit counts the bytes as sent: line ends and stuffed dots.
    T t("DataLimitCountsLineEnds");
    t.size_limit(10);
    helo_to_data(t)
        .say("01234\r\n678\r\n.\r\n", {ok})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("01234\r\n6789\r\n.\r\n", {"552 Error: Too much mail data"})
        .delivers(message("01234\n678"));
    all.push_back(t);
  }
  {
    T t("DataLimitCountsStuffedDots");
    t.size_limit(10);
    helo_to_data(t)
        .say("..23456789\r\n.\r\n", {ok})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("..234567890\r\n.\r\n", {"552 Error: Too much mail data"})
        .delivers(message(".23456789"));
    all.push_back(t);
  }
  {
    // What follows a message that is far too big is still read as
    // message text up to CRLF.CRLF, never as commands.
    T t("DataFarAboveTheLimitIsSwallowedWhole");
    t.size_limit(10);
    helo_to_data(t)
        .say(repeat("QUIT\r\n", 300) + ".\r\n",
             {"552 Error: Too much mail data"})
        .say("NOOP\r\n", {ok});
    all.push_back(t);
  }
  {
    const std::string big = repeat("0123456789abcdef", 256);  // 4 KiB
    T t("DataWithoutALimit");
    t.size_limit(0);
    helo_to_data(t).say(big + "\r\n.\r\n", {ok}).delivers(message(big));
    all.push_back(t);
  }
  return all;
}

std::vector<Transcript> line_limit_transcripts() {
  std::vector<Transcript> all;
  const std::string_view too_long = "500 Error: line too long";
  const std::string mail = "MAIL FROM:<a@b.example>";
  all.push_back(T("HeloLineAtTheLimit")
                    .say("HELO " + std::string(507, 'h') + "\r\n", {helo_ok}));
  all.push_back(T("HeloLineAboveTheLimit")
                    .say("HELO " + std::string(508, 'h') + "\r\n", {too_long})
                    // The long line set no greeting.
                    .say(helo_line, {helo_ok}));
  all.push_back(
      T("LimitCountsBytesNotCharacters")
          // 5 + 2 * 253 = 511 bytes, then one more byte, then two more.
          .say("HELO " + repeat("\xc3\xa9", 253) + "x\r\n", {helo_ok})
          .say("NOOP" + std::string(507, ' ') + "\xc3\xa9\r\n", {too_long}));
  all.push_back(T("QuitTooLongIsNotAQuit")
                    .say(line_of("QUIT", 513), {too_long})
                    .say(line_of("NOOP", 512), {ok}));
  all.push_back(T("VeryLongLine")
                    .say(std::string(10000, 'X') + "\r\n", {too_long})
                    .say("NOOP\r\n", {ok}));
  all.push_back(T("MailLineAfterHeloKeeps512")
                    .say(helo_line, {helo_ok})
                    .say(line_of(mail, 513), {too_long})
                    .say(line_of(mail, 512), {ok}));
  {
    T t("MailLineAfterEhloGrowsBy26ForSize");
    ehlo(t)
        .say(line_of(mail, 539), {too_long})
        .say(line_of(mail, 538), {ok})
        .say(line_of("RCPT TO:<c@d.example>", 513), {too_long})
        .say(line_of("RCPT TO:<c@d.example>", 512), {ok})
        .say(line_of("NOOP", 513), {too_long})
        .say(line_of("NOOP", 512), {ok});
    all.push_back(t);
  }
  all.push_back(T("MailLineWithoutSizeKeeps512")
                    .size_limit(0)
                    .say(ehlo_line, {"250-localhost", "250-8BITMIME",
                                     "250-PIPELINING", "250 HELP"})
                    .say(line_of(mail, 513), {too_long})
                    .say(line_of(mail, 512), {ok}));
  all.push_back(
      T("MailLineGrowsBy10MoreForSmtputf8")
          .smtputf8()
          .say(ehlo_line, {"250-localhost", "250-SIZE 33554432", "250-8BITMIME",
                           "250-SMTPUTF8", "250-PIPELINING", "250 HELP"})
          .say(line_of(mail, 549), {too_long})
          .say(line_of(mail + " SMTPUTF8", 548), {ok})
          .say(line_of("RCPT TO:<c@d.example>", 513), {too_long}));
  all.push_back(
      T("MailLineForSmtputf8WithoutSize")
          .smtputf8()
          .size_limit(0)
          .say(ehlo_line, {"250-localhost", "250-8BITMIME", "250-SMTPUTF8",
                           "250-PIPELINING", "250 HELP"})
          .say(line_of(mail, 523), {too_long})
          .say(line_of(mail, 522), {ok}));
  all.push_back(T("MailLineForSmtputf8AfterHeloKeeps512")
                    .smtputf8()
                    .say(helo_line, {helo_ok})
                    .say(line_of(mail, 513), {too_long})
                    .say(line_of(mail, 512), {ok}));
  return all;
}

std::vector<Transcript> error_limit_transcripts() {
  std::vector<Transcript> all;
  const std::string too_many = "421 localhost Error: too many errors";
  all.push_back(
      T("MaxErrorsReached")
          .max_errors(3)
          .say("FOO\r\n", {"500 Error: command \"FOO\" not recognized"})
          .say("BAR\r\n", {"500 Error: command \"BAR\" not recognized"})
          .say("BAZ\r\n", {"500 Error: command \"BAZ\" not recognized"})
          .expect(too_many)
          .say("NOOP\r\nQUIT\r\n")
          .closes());
  all.push_back(
      T("MaxErrorsNotReached")
          .max_errors(3)
          .say("FOO\r\n", {"500 Error: command \"FOO\" not recognized"})
          .say("BAR\r\n", {"500 Error: command \"BAR\" not recognized"})
          .say("NOOP\r\n", {ok}));
  all.push_back(T("EveryFiveHundredCounts")
                    .max_errors(4)
                    .say(from_line, {"503 Error: send HELO first"})
                    .say("NOOP x\r\n", {"501 Syntax: NOOP"})
                    .say("\r\n", {"500 Error: bad syntax"})
                    .say("EXPN\r\n", {"502 EXPN not implemented"})
                    .expect(too_many)
                    .closes());
  all.push_back(
      T("ErrorsAreCountedForTheWholeSession")
          .max_errors(2)
          .say("FOO\r\n", {"500 Error: command \"FOO\" not recognized"})
          .say("RSET\r\n", {ok})
          .say(helo_line, {helo_ok})
          .say("FOO\r\n", {"500 Error: command \"FOO\" not recognized"})
          .expect(too_many)
          .closes());
  {
    T t("TooMuchDataCounts");
    t.max_errors(2).size_limit(10);
    helo_to_data(t)
        .say("0123456789A\r\n.\r\n", {"552 Error: Too much mail data"})
        .say("FOO\r\n", {"500 Error: command \"FOO\" not recognized"})
        .expect(too_many)
        .closes();
    all.push_back(t);
  }
  {
    T t("DefaultMaxErrorsIs20");
    for (int i = 0; i < 19; ++i)
      t.say("FOO\r\n", {"500 Error: command \"FOO\" not recognized"});
    t.say("NOOP\r\n", {ok});
    t.say("FOO\r\n", {"500 Error: command \"FOO\" not recognized"});
    t.expect(too_many).say("NOOP\r\n").closes();
    all.push_back(t);
  }
  {
    T t("MaxErrorsZeroIsNoLimit");
    t.max_errors(0);
    for (int i = 0; i < 100; ++i)
      t.say("FOO\r\n", {"500 Error: command \"FOO\" not recognized"});
    t.say("NOOP\r\n", {ok});
    all.push_back(t);
  }
  all.push_back(T("TooManyErrorsNamesTheHost")
                    .hostname("mx.example")
                    .max_errors(1)
                    .say("\r\n", {"500 Error: bad syntax",
                                  "421 mx.example Error: too many errors"})
                    .closes());
  return all;
}

std::vector<Transcript> end_of_input_transcripts() {
  std::vector<Transcript> all;
  all.push_back(T("EndOfInputAfterCompleteCommands")
                    .say("NOOP\r\n", {ok})
                    .eof()
                    .closes());
  all.push_back(T("EndOfInputMidLine")
                    .say(helo_line, {helo_ok})
                    .say("NOOP")
                    .eof()
                    .closes());
  all.push_back(T("EndOfInputAfterCr").say("NOOP\r").eof().closes());
  {
    T t("EndOfInputRightAfterData");
    helo_to_data(t).eof().closes();
    all.push_back(t);
  }
  {
    T t("EndOfInputMidData");
    helo_to_data(t).say("Subject: x\r\n\r\nbody\r\n").eof().closes();
    all.push_back(t);
  }
  {
    T t("EndOfInputAfterCrlfDot");
    helo_to_data(t).say("body\r\n.").eof().closes();
    all.push_back(t);
  }
  {
    T t("EndOfInputAfterCrlfDotCr");
    helo_to_data(t).say("body\r\n.\r").eof().closes();
    all.push_back(t);
  }
  {
    T t("EndOfInputAfterBareLfDotBareLf");
    helo_to_data(t).say("body\n.\n").eof().closes();
    all.push_back(t);
  }
  {
    T t("EndOfInputAfterACompleteMessage");
    helo_to_data(t)
        .say("body\r\n.\r\n", {ok})
        .say("NOOP\r\n", {ok})
        .say("RSET")
        .eof()
        .delivers(message("body"))
        .closes();
    all.push_back(t);
  }
  return all;
}

std::vector<Transcript> hook_transcripts() {
  std::vector<Transcript> all;
  {
    T t("HookReplyIsSent");
    helo_to_data(t)
        .answers({"550 No such user here"})
        .say("x\r\n.\r\n", {"550 No such user here"})
        // The transaction is over whatever the hook said.
        .say(to_line, {"503 Error: need MAIL command"})
        .delivers(message("x"));
    all.push_back(t);
  }
  {
    // RFC 5321 3.8: a 421 from the hook closes the session; what the
    // client sent after the message is not answered.
    T t("HookReply421Closes");
    helo_to_data(t)
        .answers({"421 Shutting down"})
        .say("x\r\n.\r\nNOOP\r\n", {"421 Shutting down"})
        .delivers(message("x"))
        .closes();
    all.push_back(t);
  }
  {
    T t("HookReplyOfACodeAlone");
    helo_to_data(t)
        .answers({"250"})
        .say("x\r\n.\r\n", {"250"})
        .delivers(message("x"));
    all.push_back(t);
  }
  {
    T t("HookRepliesInOrderForPipelinedMessages");
    t.answers({"451 Try again later", Reply{}, "554 Rejected"})
        .say(helo_line + from_line + to_line + data_line + "one\r\n.\r\n" +
                 from_line + to_line + data_line + "two\r\n.\r\n" + from_line +
                 to_line + data_line + "three\r\n.\r\n" + quit_line,
             {helo_ok, ok, ok, go_ahead, "451 Try again later", ok, ok,
              go_ahead, ok, ok, ok, go_ahead, "554 Rejected", bye})
        .delivers(message("one"))
        .delivers(message("two"))
        .delivers(message("three"))
        .closes();
    all.push_back(t);
  }
  // A reply that is not one well-formed final reply line would break the
  // client's reading of the stream: 451 instead.
  const std::vector<std::pair<std::string, std::string>> invalid = {
      {"Empty", ""},
      {"NoCode", "hello"},
      {"ShortCode", "25"},
      {"CodeAbove5xx", "600 Nope"},
      {"CodeBelow2xx", "199 Nope"},
      {"LetterInCode", "2x0 Nope"},
      {"NoSpaceAfterCode", "250x"},
      {"CrLfInside", "550 a\r\n250 b"},
      {"BareLfInside", "550 a\nb"},
      {"BareCrInside", "550 a\rb"},
      {"NulInside", "550 a\0b"s},
      // A continuation line alone: the client would wait for the rest.
      {"ContinuationLine", "250-More lines follow"},
      // Beyond printable ASCII: the client did not ask for UTF-8, and a
      // control byte could drive its terminal.
      {"EightBit", "250 caf\xc3\xa9"},
      {"ControlByte", "250 escape \x1b[2J"},
  };
  for (const auto& [name, reply] : invalid) {
    T t("HookInvalidReply" + name);
    helo_to_data(t)
        .answers({reply})
        .say("x\r\n.\r\n", {replies::bad_hook_reply})
        .say("NOOP\r\n", {ok})
        .delivers(message("x"));
    all.push_back(t);
  }
  return all;
}

std::vector<Transcript> bad_byte_transcripts() {
  std::vector<Transcript> all;
  all.push_back(
      T("NulInCommandLines")
          .say("NO\0OP\r\n"s, {replies::nul_in_command})
          .say("HELO a\0b\r\n"s, {replies::nul_in_command})
          .say("\0\r\n"s, {replies::nul_in_command})
          .say(from_line, {"503 Error: send HELO first"})
          .say(helo_line, {helo_ok})
          .say("MAIL FROM:<a@b.example>\0\r\n"s, {replies::nul_in_command})
          .say(from_line, {ok}));
  all.push_back(T("InvalidUtf8InCommandLines")
                    .say("HELO \xff\r\n", {replies::not_utf8})
                    .say("HELO \xc3\r\n", {replies::not_utf8})
                    .say("HELO \xc0\xaf\r\n", {replies::not_utf8})
                    .say("HELO \xe0\x80\xaf\r\n", {replies::not_utf8})
                    .say("HELO \xed\xa0\x80\r\n", {replies::not_utf8})
                    .say("HELO \xf4\x90\x80\x80\r\n", {replies::not_utf8})
                    .say("\x80NOOP\r\n", {replies::not_utf8})
                    // None of them greeted.
                    .say(from_line, {"503 Error: send HELO first"})
                    .say(helo_line, {helo_ok}));
  {
    T t("ValidUtf8Greeting");
    t.say(
         "HELO \xc3\xbcn\xc3\xaf"
         "c\xc3\xb6"
         "de.example\r\n",
         {helo_ok})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .delivers(Message("\xc3\xbcn\xc3\xaf"
                          "c\xc3\xb6"
                          "de.example",
                          "a@b.example", {"c@d.example"}, "x"));
    all.push_back(t);
  }
  // Deviation: the reference drops the connection when it cannot encode
  // its reply in ASCII.
  all.push_back(T("NonAsciiVerbIsNotEchoedWithoutSmtputf8")
                    .say("\xc3\x9c"
                         "BER\r\n",
                         {replies::unknown_command})
                    .say("NOOP\r\n", {ok}));
  return all;
}

std::vector<Transcript> smtputf8_transcripts() {
  std::vector<Transcript> all;
  const std::vector<std::string_view> ehlo_utf8 = {
      "250-localhost", "250-SIZE 33554432", "250-8BITMIME",
      "250-SMTPUTF8",  "250-PIPELINING",    "250 HELP"};
  const auto start = [&](T& t) -> T& {
    t.smtputf8().say(ehlo_line);
    for (const std::string_view line : ehlo_utf8) t.expect(line);
    return t;
  };
  {
    T t("Smtputf8Message");
    start(t)
        .say("MAIL FROM:<a@b.example> SMTPUTF8 BODY=8BITMIME size=10\r\n", {ok})
        .say("RCPT TO:<\xc3\xbc@d.example>\r\n", {ok})
        .say(data_line, {go_ahead})
        .say(
            "Gr\xc3\xbc\xc3\x9f"
            "e\r\n.\r\n",
            {ok})
        .delivers(Message("client.example", "a@b.example",
                          {"\xc3\xbc@d.example"},
                          "Gr\xc3\xbc\xc3\x9f"
                          "e")
                      .mail_options({"SMTPUTF8", "BODY=8BITMIME", "SIZE=10"})
                      .smtputf8());
    all.push_back(t);
  }
  {
    T t("Smtputf8TakesNoArgument");
    start(t)
        .say("MAIL FROM:<a@b.example> SMTPUTF8=YES\r\n",
             {"501 Error: SMTPUTF8 takes no arguments"})
        .say(from_line, {ok});
    all.push_back(t);
  }
  {
    T t("Smtputf8EndsWithTheTransaction");
    start(t)
        .say("MAIL FROM:<a@b.example> SMTPUTF8\r\n", {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("one\r\n.\r\n", {ok})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("two\r\n.\r\n", {ok})
        .delivers(message("one").mail_options({"SMTPUTF8"}).smtputf8())
        .delivers(message("two"));
    all.push_back(t);
  }
  {
    // With SMTPUTF8 the replies may echo UTF-8, as the reference's do;
    // never control bytes.
    T t("Smtputf8RepliesEchoUtf8");
    start(t)
        .say("x\xe2\x82\xac\r\n", {replies::unknown_command})
        .say("VRFY ,\xc3\xa9\r\n", {replies::cannot_vrfy_that})
        .say("MAIL FROM:<a@b.example> SMTPUTF8\r\n", {ok})
        .say("x\xe2\x82\xac\r\n",
             {"500 Error: command \"X\xe2\x82\xac\" not recognized"})
        .say("VRFY ,\xc3\xa9\r\n", {"502 Could not VRFY ,\xc3\xa9"})
        .say("x\xe2\x82\xac\x01\r\n", {replies::unknown_command})
        .say("VRFY ,\xc3\xa9\x01\r\n", {replies::cannot_vrfy_that})
        .say("RSET\r\n", {ok})
        .say("x\xe2\x82\xac\r\n", {replies::unknown_command})
        .say("VRFY ,\xc3\xa9\r\n", {replies::cannot_vrfy_that});
    all.push_back(t);
  }
  return all;
}

std::vector<Transcript> decode_data_transcripts() {
  std::vector<Transcript> all;
  const std::vector<std::string_view> ehlo_decode = {
      "250-localhost", "250-SIZE 33554432", "250-PIPELINING", "250 HELP"};
  const std::string_view unknown =
      "555 MAIL FROM parameters not recognized or not implemented";
  {
    // No 8BITMIME, so BODY is an unknown parameter; SMTPUTF8 cannot be on.
    T t("DecodeDataRefusesBodyAndSmtputf8");
    t.decode_data().say(ehlo_line);
    for (const std::string_view line : ehlo_decode) t.expect(line);
    t.say("MAIL FROM:<a@b.example> BODY=8BITMIME\r\n", {unknown})
        .say("MAIL FROM:<a@b.example> BODY=7BIT\r\n", {unknown})
        .say("MAIL FROM:<a@b.example> SMTPUTF8\r\n", {unknown})
        .say(from_line, {ok});
    all.push_back(t);
  }
  {
    // With decode_data the reference passes no options to the hook.
    T t("DecodeDataPassesNoOptions");
    t.decode_data().say(ehlo_line);
    for (const std::string_view line : ehlo_decode) t.expect(line);
    t.say("MAIL FROM:<a@b.example> SIZE=100\r\n", {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("..x\r\n.\r\n", {ok})
        .delivers(message(".x"));
    all.push_back(t);
  }
  return all;
}

// Extensions, as smtpd.py's users added smtp_<VERB> methods.
std::vector<Transcript> extension_transcripts() {
  std::vector<Transcript> all;
  const auto hello = [](Channel& c, const Channel::Argument& argument) {
    if (!argument || argument->empty())
      c.send_reply("501 Syntax: XHELLO name");
    else
      c.send_reply("250 Hello " + *argument);
  };
  all.push_back(
      T("ExtensionAddsACommand")
          .setup([=](Channel& c) { c.set_command("XHELLO", hello); })
          .say("XHELLO world\r\n", {"250 Hello world"})
          .say("xhello  there \r\n", {"250 Hello there"})
          .say("XHELLO\r\n", {"501 Syntax: XHELLO name"})
          .say("XHELLO \r\n", {"501 Syntax: XHELLO name"})
          .say("XHELL\r\n", {"500 Error: command \"XHELL\" not recognized"})
          .say("NOOP\r\n", {ok}));
  all.push_back(T("ExtensionVerbIsUpperCased")
                    .setup([=](Channel& c) { c.set_command("xhello", hello); })
                    .say("XHello you\r\n", {"250 Hello you"}));
  all.push_back(T("ExtensionReplacesABuiltin")
                    .setup([](Channel& c) {
                      c.set_command("NOOP",
                                    [](Channel& c, const Channel::Argument&) {
                                      c.send_reply("250 Nothing done, nicely");
                                    });
                    })
                    .say("NOOP\r\n", {"250 Nothing done, nicely"})
                    .say("NOOP x\r\n", {"250 Nothing done, nicely"}));
  {
    // A handler that adds to a built-in: it sees the command, then lets
    // the channel do what it would have done.
    T t("ExtensionRunsTheBuiltin");
    t.setup([](Channel& c) {
       c.set_command("HELO", [](Channel& c, const Channel::Argument& argument) {
         if (argument && *argument == "bad.example")
           return c.send_reply("550 Not you");
         c.run_builtin("HELO", argument);
       });
       c.set_command("XOTHER",
                     [](Channel& c, const Channel::Argument& argument) {
                       c.run_builtin("XOTHER", argument);
                     });
     })
        .say("HELO bad.example\r\n", {"550 Not you"})
        .say("HELO\r\n", {"501 Syntax: HELO hostname"})
        .say(helo_line, {helo_ok})
        .say("XOTHER\r\n", {"500 Error: command \"XOTHER\" not recognized"})
        .say(from_line, {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .delivers(message("x"));
    all.push_back(t);
  }
  all.push_back(T("EmptyExtensionRemovesACommand")
                    .setup([](Channel& c) { c.set_command("VRFY", {}); })
                    .say("VRFY <a@b.example>\r\n",
                         {"500 Error: command \"VRFY\" not recognized"})
                    .say("EXPN x\r\n", {"502 EXPN not implemented"}));
  all.push_back(T("ExtensionsComeAfterTheLineChecks")
                    .setup([=](Channel& c) { c.set_command("XHELLO", hello); })
                    .say(line_of("XHELLO x", 513), {"500 Error: line too long"})
                    .say(line_of("XHELLO x", 512), {"250 Hello x"})
                    .say("XHELLO a\0b\r\n"s, {replies::nul_in_command})
                    .say("XHELLO \xff\r\n", {replies::not_utf8}));
  all.push_back(T("ExtensionErrorsCount")
                    .max_errors(2)
                    .setup([](Channel& c) {
                      c.set_command("XFAIL",
                                    [](Channel& c, const Channel::Argument&) {
                                      c.send_reply("550 Refused");
                                    });
                    })
                    .say("XFAIL\r\nXFAIL\r\nNOOP\r\n",
                         {"550 Refused", "550 Refused",
                          "421 localhost Error: too many errors"})
                    .closes());
  all.push_back(T("ExtensionClosesTheSession")
                    .setup([](Channel& c) {
                      c.set_command("XBYE",
                                    [](Channel& c, const Channel::Argument&) {
                                      c.send_reply("221 So long");
                                      c.close();
                                    });
                    })
                    .say("XBYE\r\nNOOP\r\n", {"221 So long"})
                    .closes());
  {
    // XCLIENT-like: the peer the message is delivered with is the new one.
    T t("ExtensionSetsThePeer");
    t.peer(Peer{"192.0.2.1", 1})
        .setup([](Channel& c) {
          c.set_command("XPEER",
                        [](Channel& c, const Channel::Argument& argument) {
                          c.set_peer(Peer{argument ? *argument : "", 2525});
                          c.send_reply("250 Peer is " + c.peer().address);
                        });
        })
        .say("XPEER 198.51.100.9\r\n", {"250 Peer is 198.51.100.9"});
    helo_to_data(t)
        .say("x\r\n.\r\n", {ok})
        .say("XPEER 203.0.113.5\r\n", {"250 Peer is 203.0.113.5"})
        .say(from_line + to_line + data_line + "y\r\n.\r\n",
             {ok, ok, go_ahead, ok})
        .delivers(message("x").peer(Peer{"198.51.100.9", 2525}))
        .delivers(message("y").peer(Peer{"203.0.113.5", 2525}));
    all.push_back(t);
  }
  return all;
}

// The reference upper-cases with str.upper(): Unicode's full case mapping.
std::vector<Transcript> unicode_case_transcripts() {
  std::vector<Transcript> all;
  {
    T t("VerbsAndParametersUpperCasedAsPythonDoes");
    t.say("HELP ma\xc4\xb1l\r\n", {"250 Syntax: MAIL FROM: <address>"})
        // "STRASSE" is ASCII: echoed even without SMTPUTF8.
        .say(
            "stra\xc3\x9f"
            "e\r\n",
            {"500 Error: command \"STRASSE\" not recognized"});
    ehlo(t)
        .say("MAIL FROM:<a@b.example> \xe2\x82\xac=1\r\n",
             {"501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"})
        .say("MAIL FROM:<a@b.example> \xc3\x89=1\r\n",
             {"555 MAIL FROM parameters not recognized or not implemented"})
        .say(
            "MAIL FROM:<a@b.example> \xc5\xbfize=10 "
            "body=8b\xc4\xb1tm\xc4\xb1me\r\n",
            {ok})
        .say(to_line, {ok})
        .say(data_line, {go_ahead})
        .say("x\r\n.\r\n", {ok})
        .say("qu\xc4\xb1t\r\n", {bye})
        .delivers(message("x").mail_options({"SIZE=10", "BODY=8BITMIME"}))
        .closes();
    all.push_back(t);
  }
  return all;
}

std::vector<Transcript> all_transcripts() {
  std::vector<Transcript> all;
  for (auto table :
       {session_transcripts, greeting_transcripts, simple_command_transcripts,
        mail_transcripts, rcpt_transcripts, recipient_check_transcripts,
        data_transcripts, line_limit_transcripts, error_limit_transcripts,
        end_of_input_transcripts, hook_transcripts, bad_byte_transcripts,
        smtputf8_transcripts, decode_data_transcripts, extension_transcripts,
        unicode_case_transcripts}) {
    for (Transcript& t : table()) all.push_back(std::move(t));
  }
  return all;
}

// --- replaying
// ------------------------------------------------------------------

struct Outcome {
  std::string output;
  std::vector<Envelope> delivered;
  bool closed = false;
};

// Feeds the chunks as a driver would: after each, the pending message (if
// any) goes to the hook and the output is taken.
Outcome replay(const Transcript& t,
               const std::vector<std::string_view>& chunks) {
  Channel channel(t.config, t.peer, t.handler.get());
  if (t.setup) t.setup(channel);
  Outcome outcome;
  std::size_t next_answer = 0;
  const auto settle = [&] {
    while (const Envelope* message = channel.pending_message()) {
      outcome.delivered.push_back(*message);
      channel.reply(next_answer < t.answers.size() ? t.answers[next_answer++]
                                                   : Reply{});
    }
    outcome.output.append(channel.output());
    channel.consume_output(channel.output().size());
  };
  for (const std::string_view chunk : chunks) {
    channel.feed(chunk);
    settle();
  }
  if (t.end_of_input) {
    channel.end_of_input();
    settle();
  }
  outcome.closed = channel.closed();
  return outcome;
}

std::string expected_output(const Transcript& t) {
  return "220 " + t.config.hostname + " in.smtpd ESMTP\r\n" + t.output;
}

// Empty when the outcome is the transcript's, else what differs.
std::string compare(const Transcript& t, const Outcome& o) {
  std::string problems;
  const std::string expected = expected_output(t);
  if (o.output != expected)
    problems += "output:\n  expected " + visible(expected) + "\n  actual   " +
                visible(o.output) + "\n";
  if (describe(o.delivered) != describe(t.delivered))
    problems += "delivered:\n  expected " + describe(t.delivered) +
                "  actual   " + describe(o.delivered);
  if (o.closed != t.closed)
    problems +=
        std::string("closed: expected ") + (t.closed ? "true" : "false") + "\n";
  return problems;
}

// gtest prints a failing test's parameter: its name says enough.
void PrintTo(const Transcript& t, std::ostream* out) { *out << t.name; }

class ChannelTranscript : public testing::TestWithParam<Transcript> {};

TEST_P(ChannelTranscript, FedWhole) {
  const Transcript& t = GetParam();
  EXPECT_EQ("", compare(t, replay(t, {t.input})));
}

TEST_P(ChannelTranscript, FedOneByteAtATime) {
  const Transcript& t = GetParam();
  EXPECT_EQ("", compare(t, replay(t, chunkings::one_byte_each(t.input))));
}

TEST_P(ChannelTranscript, SplitInTwoAtEveryByte) {
  const Transcript& t = GetParam();
  chunkings::expect_right_split_anywhere(
      t.input, [&](const std::vector<std::string_view>& chunks) {
        return compare(t, replay(t, chunks));
      });
}

INSTANTIATE_TEST_SUITE_P(Transcripts, ChannelTranscript,
                         testing::ValuesIn(all_transcripts()),
                         [](const testing::TestParamInfo<Transcript>& info) {
                           return info.param.name;
                         });

TEST(ChannelTranscriptTable, NamesAreUnique) {
  std::vector<std::string> names;
  for (const Transcript& t : all_transcripts()) {
    for (const std::string& seen : names) EXPECT_NE(seen, t.name);
    names.push_back(t.name);
  }
}

// --- what a table cannot show
// -------------------------------------------------

std::string take_output(Channel& channel) {
  std::string out(channel.output());
  channel.consume_output(out.size());
  return out;
}

TEST(Channel, GreetsAtOnce) {
  Channel channel(ChannelConfig{}, Peer{});
  EXPECT_EQ("220 localhost in.smtpd ESMTP\r\n", channel.output());
  EXPECT_EQ(Channel::State::command, channel.state());
  EXPECT_FALSE(channel.closed());
  EXPECT_EQ(nullptr, channel.pending_message());
}

TEST(Channel, RefusesSmtputf8WithDecodeData) {
  ChannelConfig config;
  config.enable_smtputf8 = true;
  config.decode_data = true;
  EXPECT_THROW(Channel(config, Peer{}), std::invalid_argument);
}

TEST(Channel, ConsumeOutputTakesAPrefix) {
  Channel channel(ChannelConfig{}, Peer{});
  channel.consume_output(4);
  EXPECT_EQ("localhost in.smtpd ESMTP\r\n", channel.output());
  channel.feed("NOOP\r\n");
  EXPECT_EQ("localhost in.smtpd ESMTP\r\n250 OK\r\n", channel.output());
}

TEST(Channel, ExposesWhatSmtpChannelExposes) {
  Channel channel(ChannelConfig{}, Peer{"192.0.2.1", 25});
  EXPECT_EQ("192.0.2.1", channel.peer().address);
  EXPECT_EQ(25, channel.peer().port);
  EXPECT_EQ("", channel.seen_greeting());
  EXPECT_FALSE(channel.extended_smtp());
  channel.feed("EHLO client.example\r\nMAIL FROM:<a@b.example> SIZE=5\r\n");
  EXPECT_EQ("client.example", channel.seen_greeting());
  EXPECT_TRUE(channel.extended_smtp());
  EXPECT_TRUE(channel.has_sender());
  EXPECT_EQ("a@b.example", channel.transaction().mail_from);
  EXPECT_EQ(std::vector<std::string>{"SIZE=5"},
            channel.transaction().mail_options);
  channel.feed("RCPT TO:<c@d.example>\r\n");
  EXPECT_EQ(std::vector<std::string>{"c@d.example"},
            channel.transaction().rcpt_tos);
  channel.feed("RSET\r\n");
  EXPECT_FALSE(channel.has_sender());
  EXPECT_TRUE(channel.transaction().rcpt_tos.empty());
  EXPECT_EQ("client.example", channel.seen_greeting());
}

TEST(Channel, StatesThroughAMessage) {
  Channel channel(ChannelConfig{}, Peer{});
  channel.feed(helo_line + from_line + to_line + data_line);
  EXPECT_EQ(Channel::State::data, channel.state());
  EXPECT_EQ(nullptr, channel.pending_message());
  channel.feed("x\r\n.\r\n");
  EXPECT_EQ(Channel::State::awaiting_reply, channel.state());
  ASSERT_NE(nullptr, channel.pending_message());
  channel.reply(Reply{});
  EXPECT_EQ(Channel::State::command, channel.state());
  EXPECT_EQ(nullptr, channel.pending_message());
  channel.feed(quit_line);
  EXPECT_EQ(Channel::State::closed, channel.state());
  EXPECT_TRUE(channel.closed());
}

// The hook may answer later (a relay waiting for its upstream): meanwhile
// the pipelined commands that followed the message wait, unanswered.
TEST(Channel, ReplyGivenLater) {
  Channel channel(ChannelConfig{}, Peer{});
  take_output(channel);
  channel.feed(helo_line + from_line + to_line + data_line +
               "hello\r\n.\r\nNOOP\r\n" + from_line);
  EXPECT_EQ(
      "250 localhost\r\n250 OK\r\n250 OK\r\n"
      "354 End data with <CR><LF>.<CR><LF>\r\n",
      take_output(channel));
  const Envelope* message = channel.pending_message();
  ASSERT_NE(nullptr, message);
  EXPECT_EQ("hello", message->data);
  EXPECT_EQ("a@b.example", message->mail_from);

  // More input, even a whole second message, only waits.
  channel.feed(to_line + data_line + "again\r\n.\r\n" + quit_line);
  EXPECT_EQ("", take_output(channel));
  EXPECT_EQ(Channel::State::awaiting_reply, channel.state());
  ASSERT_EQ(message, channel.pending_message());
  EXPECT_EQ("hello", channel.pending_message()->data);

  channel.reply("250 Queued as 1");
  EXPECT_EQ(
      "250 Queued as 1\r\n250 OK\r\n250 OK\r\n250 OK\r\n"
      "354 End data with <CR><LF>.<CR><LF>\r\n",
      take_output(channel));
  message = channel.pending_message();
  ASSERT_NE(nullptr, message);
  EXPECT_EQ("again", message->data);

  channel.reply(Reply{});
  EXPECT_EQ("250 OK\r\n221 Bye\r\n", take_output(channel));
  EXPECT_TRUE(channel.closed());
  EXPECT_EQ(nullptr, channel.pending_message());
}

// The client may close right after its last message: the message was
// complete, so it is delivered and answered; then the session ends.
TEST(Channel, ReplyGivenLaterAfterEndOfInput) {
  Channel channel(ChannelConfig{}, Peer{});
  take_output(channel);
  channel.feed(helo_line + from_line + to_line + data_line +
               "x\r\n.\r\nNOOP\r\nNOO");
  channel.end_of_input();
  take_output(channel);
  ASSERT_NE(nullptr, channel.pending_message());
  EXPECT_FALSE(channel.closed());
  channel.reply(Reply{});
  EXPECT_EQ("250 OK\r\n250 OK\r\n", take_output(channel));
  EXPECT_TRUE(channel.closed());
}

TEST(Channel, ReplyWithoutAMessageIsIgnored) {
  Channel channel(ChannelConfig{}, Peer{});
  take_output(channel);
  channel.reply("550 Nothing to answer");
  channel.reply(Reply{});
  EXPECT_EQ("", take_output(channel));
  channel.feed(helo_line + from_line + to_line + data_line + "x\r\n");
  take_output(channel);
  channel.reply(Reply{});
  EXPECT_EQ("", take_output(channel));
  EXPECT_EQ(Channel::State::data, channel.state());
  channel.feed(".\r\n");
  EXPECT_NE(nullptr, channel.pending_message());
}

TEST(Channel, TimedOut) {
  Channel channel(ChannelConfig{}, Peer{});
  channel.feed(helo_line);
  take_output(channel);
  channel.timed_out();
  EXPECT_EQ("421 localhost Error: timeout exceeded\r\n", take_output(channel));
  EXPECT_TRUE(channel.closed());
  // Nothing more is read or said.
  channel.feed("NOOP\r\n");
  channel.timed_out();
  channel.shut_down();
  channel.end_of_input();
  EXPECT_EQ("", take_output(channel));
  EXPECT_TRUE(channel.closed());
}

TEST(Channel, TimedOutMidDataDeliversNothing) {
  ChannelConfig config;
  config.hostname = "mx.example";
  Channel channel(config, Peer{});
  channel.feed(helo_line + from_line + to_line + data_line +
               "Subject: x\r\n\r\nbody");
  take_output(channel);
  channel.timed_out();
  EXPECT_EQ("421 mx.example Error: timeout exceeded\r\n", take_output(channel));
  channel.feed("\r\n.\r\n");
  EXPECT_EQ(nullptr, channel.pending_message());
  EXPECT_EQ("", take_output(channel));
  EXPECT_TRUE(channel.closed());
}

TEST(Channel, ShutDown) {
  Channel channel(ChannelConfig{}, Peer{});
  take_output(channel);
  channel.shut_down();
  EXPECT_EQ("421 localhost Error: shutting down\r\n", take_output(channel));
  EXPECT_TRUE(channel.closed());
  channel.shut_down();
  channel.feed("NOOP\r\n");
  EXPECT_EQ("", take_output(channel));
}

TEST(Channel, ShutDownMidDataDeliversNothing) {
  Channel channel(ChannelConfig{}, Peer{});
  channel.feed(helo_line + from_line + to_line + data_line + "body\r\n");
  take_output(channel);
  channel.shut_down();
  EXPECT_EQ("421 localhost Error: shutting down\r\n", take_output(channel));
  channel.feed(".\r\n");
  EXPECT_EQ(nullptr, channel.pending_message());
  EXPECT_TRUE(channel.closed());
}

TEST(Channel, ShutDownAfterQuitSaysNothingMore) {
  Channel channel(ChannelConfig{}, Peer{});
  channel.feed(quit_line);
  take_output(channel);
  channel.shut_down();
  channel.timed_out();
  EXPECT_EQ("", take_output(channel));
}

// Large inputs, fed as a driver would, in 64 KiB reads: the answers are
// the same as for short ones.
TEST(Channel, HugeCommandLine) {
  Channel channel(ChannelConfig{}, Peer{});
  take_output(channel);
  const std::string chunk(65536, 'X');
  for (int i = 0; i < 64; ++i) channel.feed(chunk);
  EXPECT_EQ("", take_output(channel));
  channel.feed("\r\nNOOP\r\n");
  EXPECT_EQ("500 Error: line too long\r\n250 OK\r\n", take_output(channel));
}

TEST(Channel, HugeMessageAboveTheLimit) {
  ChannelConfig config;
  config.data_size_limit = 1000;
  Channel channel(config, Peer{});
  channel.feed(helo_line + from_line + to_line + data_line);
  take_output(channel);
  const std::string chunk = repeat("0123456789abcde\r", 4096);
  for (int i = 0; i < 64; ++i) channel.feed(chunk);
  channel.feed("\n.\r\nNOOP\r\n");
  EXPECT_EQ(nullptr, channel.pending_message());
  EXPECT_EQ("552 Error: Too much mail data\r\n250 OK\r\n",
            take_output(channel));
}

// The message a channel without a size limit takes when DATA is count
// copies of chunk, fed a chunk at a time; empty if it takes none.
std::string unlimited_message(const std::string& chunk, std::size_t count) {
  ChannelConfig config;
  config.data_size_limit = 0;
  Channel channel(config, Peer{});
  channel.feed(helo_line + from_line + to_line + data_line);
  for (std::size_t i = 0; i < count; ++i) channel.feed(chunk);
  channel.feed("\r\n.\r\n");
  const Envelope* message = channel.pending_message();
  return message ? message->data : std::string();
}

TEST(Channel, HugeMessageWithoutALimit) {
  const std::string chunk = repeat("0123456789abcde\n", 4096);
  EXPECT_EQ(repeat(chunk, 64), unlimited_message(chunk, 64));
}

// Past limits::small_message the room up to the limit is reserved at
// once: a message exactly at the limit is taken whole, dot-unstuffed, in
// reads of any size; one byte more is refused.
TEST(Channel, LargeMessageAtTheLimitInOddReads) {
  std::string lines, unstuffed;
  for (int i = 0; lines.size() < 200000; ++i) {
    const std::string line = (i % 5 == 0 ? "." : "") + std::to_string(i);
    lines += (i % 5 == 0 ? "." : "") + line + "\r\n";
    unstuffed += line + "\n";
  }
  for (const std::uint64_t extra : {0, 1}) {
    ChannelConfig config;
    config.data_size_limit = lines.size() - 2 - extra;  // without the CRLF
    Channel channel(config, Peer{});
    channel.feed(helo_line + from_line + to_line + data_line);
    take_output(channel);
    const std::string input = lines + ".\r\n";
    for (std::size_t at = 0; at < input.size(); at += 7919)
      channel.feed(std::string_view(input).substr(at, 7919));
    if (extra == 0) {
      const Envelope* message = channel.pending_message();
      ASSERT_NE(nullptr, message);
      EXPECT_EQ(unstuffed.substr(0, unstuffed.size() - 1), message->data);
    } else {
      EXPECT_EQ(nullptr, channel.pending_message());
      EXPECT_EQ("552 Error: Too much mail data\r\n", take_output(channel));
    }
  }
}

// Lines are unstuffed as they arrive: a dot, a CR or a CRLF split between
// two reads, a bare CR, an empty last line and the terminator's own CRLF
// must come out as they do when the message arrives in one piece.
TEST(Channel, UnstuffingAtEveryChunkBoundary) {
  const std::string input =
      "..a\r\n.\r\r\n\r\n.b\rc\r\n..\r\n\r\r\n.\r\n.\r\nQUIT\r\n";
  const std::string expected = ".a\n\r\n\nb\rc\n.\n\r";
  for (std::size_t split = 0; split <= input.size(); ++split) {
    for (const std::size_t second : {std::size_t(1), input.size()}) {
      Channel channel(ChannelConfig{}, Peer{});
      channel.feed(helo_line + from_line + to_line + data_line);
      channel.feed(std::string_view(input).substr(0, split));
      for (std::size_t at = split; at < input.size(); at += second)
        channel.feed(std::string_view(input).substr(at, second));
      const Envelope* message = channel.pending_message();
      ASSERT_NE(nullptr, message) << "split at " << split;
      EXPECT_EQ(expected, message->data) << "split at " << split;
    }
  }
}

// Past limits::max_data_reservation, without a limit, the buffer grows.
TEST(Channel, MessageLargerThanTheReservedRoom) {
  const std::string chunk = repeat("0123456789abcde\n", 65536);
  const std::size_t chunks = limits::max_data_reservation / chunk.size() + 2;
  const std::string data = unlimited_message(chunk, chunks);
  ASSERT_EQ(chunks * chunk.size(), data.size());
  EXPECT_EQ(chunk, data.substr(data.size() - chunk.size()));
}

}  // namespace
}  // namespace smtpd
