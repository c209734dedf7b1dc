// channel_fuzzer.cpp - libFuzzer target: the SMTP channel (channel.hpp)
// fed arbitrary bytes in arbitrary chunks, with its invariants checked
// after every call.  Run by t/fuzz.sh; seeds in t/fuzz/corpus/channel/.
//
// The input:
//   byte 0  the channel's configuration
//           bits 0-1  data_size_limit: 0 (none), 64, 1000, 33554432
//           bit  2    enable_smtputf8
//           bit  3    decode_data (with bit 2 the constructor must throw;
//                     then decode_data is dropped)
//           bits 4-5  max_recipients: 1, 2, 5, 1000
//           bits 6-7  max_errors: 0 (no limit), 1, 3, 20
//   byte 1  the driver
//           bits 0-1  at the end: nothing, end_of_input(), timed_out(),
//                     shut_down()
//           bits 2-3  chunk sizes: all at once, 1-3, 1-16, 1-200 bytes
//           bit  4    a relay policy checks recipients (the peer is
//                     192.0.2.7, only example.com and *.example.net pass,
//                     and no local part with '%', '!' or '@');
//                     else the peer is a local pipe and all pass
//           bit  5    interruptions: timed_out(), shut_down() or
//                     end_of_input() now and then between chunks (and no
//                     comparison with the run fed at once, see below)
//           bits 6-7  how often a pending message is answered only after
//                     more input has been fed: never, 1/4, 1/2, 3/4
//   byte 2  bits 0-5  seed of the chunk sizes and of the deferrals
//           bit  6    data_size_limit is UINT64_MAX, the largest a library
//                     user can set (the program takes at most half)
//           bit  7    the client sends its bytes over and over, 64 KB in
//                     all (2 to 128 times): more input than -max_len, for
//                     the memory bounds
//   byte 3  seed of the answers to messages (nothing, a reply, an invalid
//           reply: see answers())
//   rest    the client's bytes
// A shorter input is padded with zero bytes.
//
// Invariants (a violation aborts, and libFuzzer keeps the input):
//   - output() is always a sequence of whole reply lines, each ending in
//     CRLF: "DDD" then ' ', '-' or the end, the code 2xx-5xx; no CR, LF or
//     NUL inside; no other control byte but tab; at most 600 bytes;
//   - every byte is printable ASCII or tab, unless SMTPUTF8 is enabled and
//     the client said SMTPUTF8 (then a line may hold UTF-8 beyond ASCII,
//     and must be valid UTF-8);
//   - the first line is the greeting; a multi-line reply is only EHLO's,
//     exactly as the configuration makes it; no call leaves one unfinished;
//   - "221 Bye" and 421 are the last lines ever, and the channel is closed
//     after them; a channel closed without end_of_input() said one of
//     them; a closed channel stays closed, and feed(), reply(),
//     timed_out() and shut_down() add nothing to its output;
//   - with max_errors, the max_errors-th 5xx reply is followed at once by
//     "421 <host> Error: too many errors";
//   - state() is awaiting_reply exactly when pending_message() is set;
//     reply() with nothing pending changes nothing;
//   - a pending message follows its own "354" (at most one message per
//     DATA); its envelope has a sender, 1 to max_recipients recipients,
//     the HELO name, our peer; its data is at most data_size_limit bytes,
//     and a subsequence of the client's bytes (unstuffing only removes);
//     with decode_data no options;
//   - a message ends only at CRLF.CRLF: when feed() makes one pending, a
//     "\r\n.\r\n" of the client's ends within the bytes just fed (with
//     chunks of 1-3 bytes, that pins it down; no bare LF or bare CR form
//     of the terminator ends a message).  Its data may hold "\r\n.\r\n"
//     all the same: "\r\r\n..\r\r\n" unstuffs to it (data is LF-joined,
//     and a CR before a line end is content, as in the reference);
//   - after reply(answer) the next line is the answer, "250 OK" for none,
//     "451 Error: local delivery gave no valid reply" for an invalid one;
//   - the transaction never holds more than max_recipients recipients;
//   - with the relay policy, every recipient of a message is a plain one
//     of a relay domain (no sender-specified routing);
//   - heap memory in use (ASan's allocator statistics) stays within a
//     bound made of the configured limits and the largest amount of input
//     fed while nothing was read (one chunk, or what was fed while a
//     message awaited its reply); and when the client repeats itself to a
//     channel with a small size limit and few recipients, it levels off:
//     no more in use in the last quarter of the input than in the second;
//   - differential: without interruptions, the replies and the messages
//     are the same when the client's bytes are fed all in one feed().
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/relay_policy.hpp"

// ASan's allocator statistics; absent without ASan (then memory is not
// checked).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes()
    __attribute__((weak));

namespace {

using fuzz::fail;
using fuzz::visible;
using smtpd::Channel;

constexpr std::string_view host = "fuzz.example";
constexpr std::string_view start_data = "354 End data with <CR><LF>.<CR><LF>";
constexpr std::string_view bad_hook_reply =
    "451 Error: local delivery gave no valid reply";
constexpr std::size_t max_line = 600;

// What the delivery answers, and the line the channel must send for it
// (empty: not checked here; the general invariants decide).
struct Answer {
  std::optional<std::string> reply;
  std::string_view expected;
};

const std::vector<Answer>& answers() {
  using namespace std::string_literals;
  static const std::vector<Answer> table = {
      {std::nullopt, "250 OK"},
      {"250 Delivered"s, "250 Delivered"},
      {"550 No such user here"s, "550 No such user here"},
      {"451 Try again later"s, "451 Try again later"},
      {"250"s, "250"},
      {""s, bad_hook_reply},
      {"hello"s, bad_hook_reply},
      {"250 two\r\n250 lines"s, bad_hook_reply},
      {"250 bare\nLF"s, bad_hook_reply},
      {"250 bare\rCR"s, bad_hook_reply},
      {"250 nul\0byte"s, bad_hook_reply},
      {"600 Too high"s, bad_hook_reply},
      {"199 Too low"s, bad_hook_reply},
      {"25"s, bad_hook_reply},
      {"2500 four digits"s, bad_hook_reply},
      {"25x letter"s, bad_hook_reply},
      // Earlier findings (corpus/channel/regress-hook-reply-*): a
      // continuation line whose reply never ends, a control byte, 8-bit
      // text (the channel sends only printable ASCII of a delivery's), and
      // a 421, which must close the session (RFC 5321 3.8).
      {"250-Dangling continuation"s, bad_hook_reply},
      {"250 escape \x1b[2J"s, bad_hook_reply},
      {"250 caf\xc3\xa9"s, bad_hook_reply},
      {"421 closing after all"s, "421 closing after all"},
  };
  return table;
}

struct Setup {
  smtpd::ChannelConfig config;
  smtpd::Peer peer;
  // Asked for each recipient when set: its refusals are the channel's.
  const smtpd::RelayPolicy* policy = nullptr;
  int end_action = 0;
  std::size_t max_chunk = 0;  // 0: all at once
  bool interruptions = false;
  unsigned defer_quarters = 0;
  unsigned char chunk_seed = 0;
  unsigned repeat = 1;
  unsigned char answer_seed = 0;
  bool utf8_allowed = false;  // replies may hold UTF-8 beyond ASCII
  std::vector<std::string> ehlo_lines;
};

bool contains_smtputf8(std::string_view bytes) {
  constexpr std::string_view word = "SMTPUTF8";
  for (std::size_t i = 0; i + word.size() <= bytes.size(); ++i) {
    std::size_t k = 0;
    while (k < word.size()) {
      char c = bytes[i + k];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != word[k]) break;
      ++k;
    }
    if (k == word.size()) return true;
  }
  return false;
}

// Well-formed UTF-8 (RFC 3629), written apart from the library's.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

class Session {
 public:
  Session(const Setup& setup, std::string_view client)
      : setup_(setup), client_(client) {}

  // Runs the session, chunked or fed at once; the hashes of what it
  // produced are left in replies() and messages().
  void run(bool chunked);

  unsigned long long replies() const { return replies_.value; }
  unsigned long long messages() const { return messages_.value; }
  // Every reply line and message, to show where two runs part (kept only
  // when asked for: a run that found a difference is repeated with it).
  std::vector<std::string> transcript;
  bool recording = false;

 private:
  // The last call made, for reports: its name and, for feed(), its bytes.
  void did(const char* call, std::string_view bytes = {}) {
    call_ = call;
    call_bytes_ = bytes;
  }
  std::string where() const {
    std::string text = "after ";
    text += call_;
    if (call_bytes_.data()) text += " " + visible(call_bytes_, 60);
    return text;
  }
  std::string where(std::string_view line) const {
    return where() + ": line " + visible(line);
  }

  void absorb(Channel& channel);
  void check_line(std::string_view line);
  void check_state(Channel& channel);
  void check_message(const smtpd::Envelope& message);
  void answer(Channel& channel, fuzz::Random& random);
  void check_memory();

  const Setup& setup_;
  std::string_view client_;
  fuzz::Hash replies_;
  fuzz::Hash messages_;
  const char* call_ = "";
  std::string_view call_bytes_;

  bool first_line_ = true;
  std::vector<std::string> multiline_;
  bool final_seen_ = false;  // 221 or 421 was sent
  bool expect_error_close_ = false;
  unsigned errors_ = 0;
  bool last_was_start_ = false;  // the last line was 354
  std::size_t starts_ = 0;       // 354 replies
  std::size_t delivered_ = 0;    // messages offered
  bool pending_known_ = false;
  bool was_closed_ = false;
  bool input_ended_ = false;
  std::string_view expected_first_;  // after reply()
  bool expect_first_ = false;

  // Memory.
  std::size_t baseline_ = 0;
  std::size_t fed_ = 0;
  std::size_t burst_ = 0;
  std::size_t burst_max_ = 0;
  // The plateau: the most memory in use in each quarter of the input.
  bool plateau_ = false;
  std::size_t position_ = 0;
  std::size_t quarter_max_[4] = {0, 0, 0, 0};
};

void Session::check_line(std::string_view line) {
  FUZZ_CHECK(!final_seen_, "nothing follows 221 or 421", where(line));
  if (first_line_) {
    FUZZ_CHECK(line.size() == 4 + host.size() + 15 &&
                   line.substr(0, 4) == "220 " &&
                   line.substr(4, host.size()) == host &&
                   line.substr(4 + host.size()) == " in.smtpd ESMTP",
               "the first line is the greeting", where(line));
    first_line_ = false;
  }
  FUZZ_CHECK(line.size() >= 3, "a reply line has a code", where(line));
  FUZZ_CHECK(line[0] >= '2' && line[0] <= '5' && line[1] >= '0' &&
                 line[1] <= '9' && line[2] >= '0' && line[2] <= '9',
             "a reply code is 2xx-5xx", where(line));
  FUZZ_CHECK(line.size() == 3 || line[3] == ' ' || line[3] == '-',
             "a reply code is followed by ' ', '-' or the end", where(line));
  FUZZ_CHECK(line.size() <= max_line, "a reply line is at most 600 bytes",
             where(line));
  bool eight_bit = false;
  for (const char c : line) {
    const auto b = static_cast<unsigned char>(c);
    FUZZ_CHECK(b != '\r' && b != '\n' && b != 0,
               "no CR, LF or NUL inside a reply line", where(line));
    FUZZ_CHECK(b == '\t' || (b >= 0x20 && b != 0x7F),
               "no control byte but tab in a reply line", where(line));
    if (b >= 0x80) eight_bit = true;
  }
  if (eight_bit) {
    FUZZ_CHECK(setup_.utf8_allowed,
               "replies are ASCII unless the client asked for SMTPUTF8",
               where(line));
    FUZZ_CHECK(valid_utf8(line), "an SMTPUTF8 reply line is valid UTF-8",
               where(line));
  }
  if (expect_first_) {
    FUZZ_CHECK(line == expected_first_,
               "after reply() the next line is the delivery's answer",
               where(line) + ", expected " + visible(expected_first_));
    expect_first_ = false;
  }
  if (expect_error_close_) {
    FUZZ_CHECK(line.size() == 4 + host.size() + 23 &&
                   line.substr(0, 4) == "421 " &&
                   line.substr(4, host.size()) == host &&
                   line.substr(4 + host.size()) == " Error: too many errors",
               "the max_errors-th 5xx reply is followed by 421", where(line));
    expect_error_close_ = false;
  }

  // Multi-line replies: EHLO's only, exactly.
  const bool continued = line.size() > 3 && line[3] == '-';
  if (continued || !multiline_.empty()) {
    multiline_.emplace_back(line);
    if (!continued) {
      if (multiline_ != setup_.ehlo_lines) {
        std::string all;
        for (const std::string& l : multiline_) all += visible(l) + " ";
        fail("a multi-line reply is EHLO's, as configured",
             where() + ": " + all);
      }
      multiline_.clear();
    }
  }

  if (line.substr(0, 3) == "421" || line == "221 Bye") final_seen_ = true;
  if (line[0] == '5' && setup_.config.max_errors != 0) {
    ++errors_;
    if (errors_ == setup_.config.max_errors) expect_error_close_ = true;
  }
  last_was_start_ = line == start_data;
  if (last_was_start_) ++starts_;
  replies_.add(line);
  if (recording) transcript.emplace_back(line);
}

void Session::absorb(Channel& channel) {
  const std::string_view output = channel.output();
  if (!output.empty()) {
    FUZZ_CHECK(output.size() >= 2 && output.substr(output.size() - 2) == "\r\n",
               "output() is whole lines, each ending in CRLF",
               where() + ": " + visible(output));
    std::size_t start = 0;
    while (start < output.size()) {
      const std::size_t end = output.find("\r\n", start);
      check_line(output.substr(start, end - start));
      start = end + 2;
    }
  }
  FUZZ_CHECK(multiline_.empty(), "no call leaves a multi-line reply unfinished",
             where());
  FUZZ_CHECK(!expect_error_close_,
             "the max_errors-th 5xx reply is followed by 421", where());
  FUZZ_CHECK(!expect_first_, "reply() sends the delivery's answer",
             where() + ", nothing was sent");
  channel.consume_output(output.size());
  FUZZ_CHECK(channel.output().empty(), "consume_output() consumes", where());
  check_state(channel);
  check_memory();
}

void Session::check_state(Channel& channel) {
  const Channel::State state = channel.state();
  const smtpd::Envelope* pending = channel.pending_message();
  FUZZ_CHECK((pending != nullptr) == (state == Channel::State::awaiting_reply),
             "pending_message() is set exactly in awaiting_reply", where());
  FUZZ_CHECK(channel.closed() == (state == Channel::State::closed),
             "closed() is state() == closed", where());
  if (was_closed_)
    FUZZ_CHECK(state == Channel::State::closed, "a closed channel stays closed",
               where());
  if (final_seen_)
    FUZZ_CHECK(state == Channel::State::closed,
               "the channel is closed after 221 or 421", where());
  if (state == Channel::State::closed && !input_ended_)
    FUZZ_CHECK(final_seen_,
               "a channel closed without end_of_input() said 221 or 421",
               where());
  was_closed_ = state == Channel::State::closed;

  const smtpd::Envelope& transaction = channel.transaction();
  FUZZ_CHECK(transaction.rcpt_tos.size() <= setup_.config.max_recipients,
             "at most max_recipients recipients", where());
  if (!channel.has_sender())
    FUZZ_CHECK(transaction.rcpt_tos.empty() && transaction.mail_from.empty(),
               "no recipients without a sender", where());

  if (pending && !pending_known_) {
    FUZZ_CHECK(last_was_start_, "a message is offered right after its 354",
               where());
    FUZZ_CHECK(delivered_ < starts_, "at most one message per DATA", where());
    ++delivered_;
    FUZZ_CHECK(pending == &channel.transaction(),
               "the pending message is the transaction", where());
    check_message(*pending);
  }
  pending_known_ = pending != nullptr;
}

// The relay policy's rule, written again here from its description: the
// recipient's domain (after the last '@', any case, one trailing dot) is
// example.com or below example.net, and its local part holds no
// sender-specified routing ('%', '!', '@').
bool inside_relay_domains(const std::string& recipient) {
  const std::size_t at = recipient.rfind('@');
  if (at == std::string::npos) return false;
  if (recipient.find_first_of("%!@") != at) return false;
  std::string domain = recipient.substr(at + 1);
  for (char& c : domain)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  const std::string below = ".example.net";
  return domain == "example.com" ||
         (domain.size() > below.size() &&
          domain.compare(domain.size() - below.size(), below.size(), below) ==
              0);
}

void Session::check_message(const smtpd::Envelope& message) {
  const auto what = [&] {
    return where() + ": message " + visible(message.data);
  };
  FUZZ_CHECK(!message.mail_from.empty(), "a message has a sender", what());
  FUZZ_CHECK(!message.rcpt_tos.empty(), "a message has a recipient", what());
  FUZZ_CHECK(message.rcpt_tos.size() <= setup_.config.max_recipients,
             "a message has at most max_recipients recipients", what());
  FUZZ_CHECK(!message.helo.empty(), "a message has the HELO name", what());
  FUZZ_CHECK(message.peer.address == setup_.peer.address &&
                 message.peer.port == setup_.peer.port,
             "a message has our peer", what());
  const std::uint64_t limit = setup_.config.data_size_limit;
  FUZZ_CHECK(limit == 0 || message.data.size() <= limit,
             "a message is at most data_size_limit bytes", what());
  if (setup_.config.decode_data)
    FUZZ_CHECK(message.mail_options.empty() && message.rcpt_options.empty(),
               "no options with decode_data", what());
  if (!setup_.config.enable_smtputf8)
    FUZZ_CHECK(!message.smtputf8, "no SMTPUTF8 message unless enabled", what());
  if (setup_.policy) {
    for (const std::string& to : message.rcpt_tos)
      FUZZ_CHECK(inside_relay_domains(to),
                 "the relay policy passes only plain recipients of "
                 "example.com and *.example.net",
                 what() + " recipient " + visible(to));
  }
  // Unstuffing only takes bytes away (dots, the CR of CRLF): the data is
  // a subsequence of what the client sent.
  const std::string_view sent = client_.substr(0, fed_);
  std::size_t at = 0;
  for (const char c : message.data) {
    at = sent.find(c, at);
    if (at == std::string_view::npos) break;
    ++at;
  }
  FUZZ_CHECK(at != std::string_view::npos,
             "a message's data is made of the client's bytes", what());
  messages_.add(message.mail_from);
  for (const std::string& to : message.rcpt_tos) messages_.add(to);
  messages_.add("--");
  for (const std::string& option : message.mail_options) messages_.add(option);
  messages_.add("--");
  for (const std::string& option : message.rcpt_options) messages_.add(option);
  messages_.add(message.smtputf8 ? "utf8" : "ascii");
  messages_.add(message.data);
  if (recording)
    transcript.push_back("message from " + visible(message.mail_from) +
                         " data " + visible(message.data));
}

void Session::answer(Channel& channel, fuzz::Random& random) {
  const std::vector<Answer>& table = answers();
  const Answer& answer = table[random.below(table.size())];
  expected_first_ = answer.expected;
  expect_first_ = !answer.expected.empty();
  pending_known_ = false;  // the next message pending is a new one
  channel.reply(answer.reply);
  did("reply()",
      answer.reply ? std::string_view(*answer.reply) : std::string_view());
  absorb(channel);
}

void Session::check_memory() {
  if (!__sanitizer_get_current_allocated_bytes) return;
  const std::size_t now = __sanitizer_get_current_allocated_bytes();
  const std::size_t used = now > baseline_ ? now - baseline_ : 0;
  const smtpd::ChannelConfig& config = setup_.config;
  // What the configured limits let the channel hold, generously: a command
  // line, the transaction (recipients and their parameters), the message,
  // and the input fed while nothing was read, with the replies to it
  // (at most about 12 bytes of reply per byte of input, twice that for
  // the string's growth).  With a small size limit and few recipients
  // this does not grow with the input (see the plateau below).
  const std::size_t data =
      config.data_size_limit == 0
          ? fed_
          : std::min<std::uint64_t>(fed_, config.data_size_limit);
  // A recipient is at most a command line; a thousand may take up as much
  // as the input that named them, and more with their vector.
  const std::size_t recipients =
      config.max_recipients <= 5 ? config.max_recipients * 1200 : 8 * fed_;
  // The fixed part: the command line being read, the greeting, two lists
  // of ESMTP parameters (a 548-byte line can hold 274 words).
  const std::size_t bound =
      48 * 1024 + 24 * burst_max_ + 3 * (data + 5) + recipients;
  if (plateau_) {
    std::size_t& most = quarter_max_[position_ * 4 / client_.size()];
    most = std::max(most, used);
  }
  FUZZ_CHECK(used <= bound, "memory stays within the configured limits",
             where() + ": " + std::to_string(used) + " bytes in use, bound " +
                 std::to_string(bound) + " (largest burst " +
                 std::to_string(burst_max_) + ", fed " + std::to_string(fed_) +
                 ")");
}

void Session::run(bool chunked) {
  fuzz::Random chunks(setup_.chunk_seed * 0x100000001ull + 1);
  fuzz::Random replies(setup_.answer_seed * 0x100000001ull + 2);
  baseline_ = __sanitizer_get_current_allocated_bytes
                  ? __sanitizer_get_current_allocated_bytes()
                  : 0;
  // Only the RCPT hook: each message still waits for the fuzzer's answer.
  struct PolicyHandler : smtpd::Handler {
    const smtpd::RelayPolicy* policy;
    smtpd::Answer handle_rcpt(smtpd::Context& context,
                              const std::string& address) override {
      return smtpd::Answer::from(
          policy->check(context.session().peer, address));
    }
    smtpd::Answer handle_data(smtpd::Context& context,
                              const smtpd::Envelope&) override {
      context.later();  // answered by the fuzzer, with reply()
      return smtpd::Answer::later();
    }
  } handler;
  handler.policy = setup_.policy;
  Channel channel(setup_.config, setup_.peer,
                  setup_.policy ? &handler : nullptr);
  did("the constructor");
  absorb(channel);

  const std::size_t max_chunk = chunked ? setup_.max_chunk : 0;
  const smtpd::ChannelConfig& config = setup_.config;
  plateau_ = max_chunk != 0 && setup_.repeat > 1 && !client_.empty() &&
             setup_.defer_quarters == 0 && !setup_.interruptions &&
             config.data_size_limit != 0 && config.data_size_limit <= 1000 &&
             config.max_recipients <= 5 &&
             __sanitizer_get_current_allocated_bytes;
  std::size_t position = 0;
  while (position < client_.size() && !input_ended_) {
    const std::size_t left = client_.size() - position;
    const std::size_t size =
        max_chunk == 0 ? left : std::min(left, 1 + chunks.below(max_chunk));
    const std::string_view chunk = client_.substr(position, size);
    position += size;
    position_ = position - 1;
    const bool awaiting = channel.state() == Channel::State::awaiting_reply;
    burst_ = awaiting ? burst_ + size : size;
    burst_max_ = std::max(burst_max_, burst_);
    fed_ += size;
    const bool closed = channel.closed();
    channel.feed(chunk);
    did("feed()", chunk);
    if (closed)
      FUZZ_CHECK(channel.output().empty(),
                 "feed() on a closed channel says nothing", where());
    absorb(channel);
    if (!awaiting && channel.pending_message()) {
      const std::size_t start = position - size;
      const std::size_t from = start >= 4 ? start - 4 : 0;
      const std::string_view around = client_.substr(from, position - from);
      bool ends_here = false;
      for (std::size_t at = around.find("\r\n.\r\n");
           at != std::string_view::npos && !ends_here;
           at = around.find("\r\n.\r\n", at + 1))
        ends_here = from + at + 5 > start;
      FUZZ_CHECK(
          ends_here, "a message ends only at CRLF.CRLF",
          where() + ": message " + visible(channel.pending_message()->data));
    }
    if (channel.pending_message()) {
      FUZZ_CHECK(channel.pending_message() == channel.pending_message(),
                 "pending_message() is stable", where());
      if (!chunked || chunks.below(4) >= setup_.defer_quarters)
        answer(channel, replies);
    } else if (chunked && chunks.below(16) == 0) {
      const Channel::State state = channel.state();
      channel.reply(std::nullopt);
      did("reply() with nothing pending");
      FUZZ_CHECK(channel.output().empty() && channel.state() == state,
                 "reply() with nothing pending changes nothing", where());
    }
    if (chunked && setup_.interruptions && chunks.below(24) == 0) {
      const bool closed_before = channel.closed();
      switch (chunks.below(3)) {
        case 0:
          channel.timed_out();
          did("timed_out()");
          break;
        case 1:
          channel.shut_down();
          did("shut_down()");
          break;
        default:
          input_ended_ = true;
          channel.end_of_input();
          did("end_of_input()");
          break;
      }
      if (closed_before)
        FUZZ_CHECK(channel.output().empty(),
                   "a closed channel says nothing more", where());
      absorb(channel);
    }
  }
  while (channel.pending_message()) answer(channel, replies);
  if (plateau_) {
    // A client saying the same thing over and over, to a channel with a
    // small size limit and few recipients: what it holds levels off.
    // The slack is for buffers that reach their largest size late (the
    // message, the replies to one chunk), not for growth with the input.
    const std::size_t slack =
        2048 + 2 * (config.data_size_limit + 5) + 48 * max_chunk;
    FUZZ_CHECK(quarter_max_[3] <= quarter_max_[1] + slack,
               "memory levels off when the client repeats itself",
               std::to_string(quarter_max_[1]) +
                   " bytes in use at most in "
                   "the second quarter of the input, " +
                   std::to_string(quarter_max_[3]) + " in the last");
  }

  const bool closed_before = channel.closed();
  switch (setup_.end_action) {
    case 1:
      input_ended_ = true;
      channel.end_of_input();
      did("end_of_input() at the end");
      break;
    case 2:
      channel.timed_out();
      did("timed_out() at the end");
      FUZZ_CHECK(channel.closed(), "timed_out() closes", where());
      break;
    case 3:
      channel.shut_down();
      did("shut_down() at the end");
      FUZZ_CHECK(channel.closed(), "shut_down() closes", where());
      break;
    default:
      break;
  }
  if (closed_before)
    FUZZ_CHECK(channel.output().empty(), "a closed channel says nothing more",
               where());
  absorb(channel);
  while (channel.pending_message()) answer(channel, replies);
  if (input_ended_)
    FUZZ_CHECK(channel.closed(), "a channel whose input ended is closed",
               where());
  if (channel.closed()) {
    // A last feed must not revive it.
    channel.feed("NOOP\r\n");
    did("feed() after the end", "NOOP\r\n");
    FUZZ_CHECK(channel.output().empty() && channel.closed(),
               "feed() on a closed channel says nothing", where());
  }
}

Setup make_setup(const std::uint8_t* header) {
  Setup setup;
  const unsigned config = header[0];
  const unsigned driver = header[1];
  static const std::uint64_t limits[] = {0, 64, 1000, 33554432};
  static const std::size_t recipients[] = {1, 2, 5, 1000};
  static const unsigned errors[] = {0, 1, 3, 20};
  smtpd::ChannelConfig& c = setup.config;
  c.hostname = std::string(host);
  c.data_size_limit = limits[config & 3];
  c.enable_smtputf8 = (config & 4) != 0;
  c.decode_data = (config & 8) != 0;
  c.max_recipients = recipients[(config >> 4) & 3];
  c.max_errors = errors[(config >> 6) & 3];
  setup.end_action = static_cast<int>(driver & 3);
  static const std::size_t chunk_sizes[] = {0, 3, 16, 200};
  setup.max_chunk = chunk_sizes[(driver >> 2) & 3];
  if (driver & 16) {
    static const smtpd::RelayPolicy policy = [] {
      smtpd::RelayPolicy p;
      p.allow_domain("example.com");
      p.allow_domain(".example.net");
      return p;
    }();
    setup.peer.address = "192.0.2.7";
    setup.peer.port = 40025;
    setup.policy = &policy;
  }
  setup.interruptions = (driver & 32) != 0;
  setup.defer_quarters = (driver >> 6) & 3;
  setup.chunk_seed = header[2] & 0x3F;
  // Such a limit overflowed in the channel's arithmetic (limit + 5): the
  // message came out cut and padded with NULs
  // (corpus/channel/regress-size-limit-uint64-max).
  if (header[2] & 0x40) c.data_size_limit = UINT64_MAX;
  setup.repeat = header[2] & 0x80 ? 2 : 1;  // how often: see below
  setup.answer_seed = header[3];
  return setup;
}

// EHLO's reply, as the configuration makes it.
std::vector<std::string> ehlo_lines(const smtpd::ChannelConfig& c) {
  std::vector<std::string> lines;
  lines.push_back("250-" + c.hostname);
  if (c.data_size_limit != 0)
    lines.push_back("250-SIZE " + std::to_string(c.data_size_limit));
  if (!c.decode_data) lines.push_back("250-8BITMIME");
  if (c.enable_smtputf8) lines.push_back("250-SMTPUTF8");
  lines.push_back("250-PIPELINING");
  lines.push_back("250 HELP");
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::uint8_t header[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < 4 && i < size; ++i) header[i] = data[i];
  const std::string_view once =
      size > 4
          ? std::string_view(reinterpret_cast<const char*>(data) + 4, size - 4)
          : std::string_view();
  Setup setup = make_setup(header);
  std::string repeated;
  std::string_view client = once;
  if (setup.repeat > 1) {
    setup.repeat = static_cast<unsigned>(
        std::clamp<std::size_t>(65536 / (once.size() + 1), 2, 128));
    for (unsigned i = 0; i < setup.repeat; ++i) repeated.append(once);
    client = repeated;
  }
  if (setup.config.enable_smtputf8 && setup.config.decode_data) {
    bool threw = false;
    try {
      Channel refused(setup.config, setup.peer);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    FUZZ_CHECK(threw, "SMTPUTF8 with decode_data is refused", std::string());
    setup.config.decode_data = false;
  }
  setup.ehlo_lines = ehlo_lines(setup.config);
  setup.utf8_allowed =
      setup.config.enable_smtputf8 && contains_smtputf8(client);

  Session chunked(setup, client);
  chunked.run(true);
  if (!setup.interruptions) {
    Session whole(setup, client);
    whole.run(false);
    if (chunked.replies() != whole.replies() ||
        chunked.messages() != whole.messages()) {
      // Again, keeping everything, to say where they part.
      Session a(setup, client), b(setup, client);
      a.recording = b.recording = true;
      a.run(true);
      b.run(false);
      std::size_t i = 0;
      while (i < a.transcript.size() && i < b.transcript.size() &&
             a.transcript[i] == b.transcript[i])
        ++i;
      const auto at = [i](const std::vector<std::string>& t) {
        return i < t.size() ? visible(t[i]) : std::string("(the end)");
      };
      fail("the replies and messages do not depend on the chunking",
           "item " + std::to_string(i) + " fed in chunks: " + at(a.transcript) +
               "; fed at once: " + at(b.transcript));
    }
  }
  return 0;
}
