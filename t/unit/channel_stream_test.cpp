// channel_stream_test.cpp - a handler that streams the message
// (Handler::streams_data): the DATA command hook, the pieces, the final
// dot.  The channel's replies and the message the handler puts together
// from its pieces are those of a handler that takes the message whole,
// in every chunking of the input and whether the hooks answer at once or
// later (the split-at-every-byte habit of channel_test.cpp).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "chunkings.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

// What a handler saw of the messages.
struct Seen {
  std::vector<std::string> messages;  // as handle_data had them
  unsigned abandoned = 0;
  std::string problems;  // what a streaming handler must never see
};

// Takes each message whole, and accepts it.
class Whole : public Handler {
 public:
  explicit Whole(Seen& seen) : seen_(seen) {}
  Answer handle_data(Context&, const Envelope& message) override {
    seen_.messages.push_back(message.data);
    return Answer::accept();
  }

 private:
  Seen& seen_;
};

// Takes each message piece by piece; answers as told.
class Streaming : public Handler {
 public:
  enum class Mode { at_once, later };
  Streaming(Seen& seen, Mode command, Mode pieces)
      : seen_(seen), command_(command), pieces_(pieces) {}
  std::string command_answer;  // empty: accept
  std::string piece_answer;    // empty: accept
  std::string data_answer;     // empty: accept

  bool streams_data() const override { return true; }
  Answer handle_data_command(Context& context) override {
    if (streaming_) seen_.problems += "a DATA command inside a message\n";
    if (!command_answer.empty()) return Answer::reply(command_answer);
    streaming_ = true;
    current_.clear();
    return answer(context, command_);
  }
  Answer handle_data_piece(Context& context, std::string_view piece) override {
    if (!streaming_) seen_.problems += "a piece outside a message\n";
    if (piece.empty()) seen_.problems += "an empty piece\n";
    current_.append(piece);
    if (!piece_answer.empty()) return Answer::reply(piece_answer);
    return answer(context, pieces_);
  }
  Answer handle_data(Context&, const Envelope& message) override {
    if (!message.data.empty()) seen_.problems += "the message was kept\n";
    seen_.messages.push_back(current_);
    streaming_ = false;
    if (!data_answer.empty()) return Answer::reply(data_answer);
    return Answer::accept();
  }
  void data_abandoned(Context&) override {
    if (!streaming_) seen_.problems += "abandoned outside a message\n";
    ++seen_.abandoned;
    streaming_ = false;
  }
  const std::string& current() const { return current_; }

 private:
  Answer answer(Context& context, Mode mode) {
    if (mode == Mode::at_once) return Answer::accept();
    context.later();
    return Answer::later();
  }
  Seen& seen_;
  Mode command_, pieces_;
  bool streaming_ = false;
  std::string current_;
};

struct Outcome {
  std::string output;
  Seen seen;
  bool closed = false;
};

// Feeds the chunks; a hook that answers later is answered "go on" by the
// next round of the loop, as a proxy's upstream thread would.
void drive(Channel& channel, const std::vector<std::string_view>& chunks,
           Outcome& run) {
  const auto settle = [&] {
    while (channel.waiting_for()) channel.answer(Answer::accept());
    run.output.append(channel.output());
    channel.consume_output(channel.output().size());
  };
  settle();
  for (const std::string_view chunk : chunks) {
    channel.feed(chunk);
    settle();
  }
  run.closed = channel.closed();
}

Outcome whole(std::string_view input) {
  Outcome run;
  Whole handler(run.seen);
  Channel channel(ChannelConfig{}, Peer{}, &handler);
  drive(channel, {input}, run);
  return run;
}

Outcome streamed(const std::vector<std::string_view>& chunks,
                 Streaming::Mode command, Streaming::Mode pieces,
                 ChannelConfig config = {}) {
  Outcome run;
  Streaming handler(run.seen, command, pieces);
  Channel channel(config, Peer{}, &handler);
  drive(channel, chunks, run);
  return run;
}

std::string differences(const Outcome& expected, const Outcome& actual) {
  std::string found = actual.seen.problems;
  if (actual.output != expected.output)
    found += "output: expected " + text::repr_bytes(expected.output) +
             "\n        actual   " + text::repr_bytes(actual.output) + "\n";
  if (actual.seen.messages != expected.seen.messages) {
    found += "messages differ:";
    for (const std::string& m : actual.seen.messages)
      found += " " + text::repr_bytes(m);
    found += "\n";
  }
  if (actual.closed != expected.closed) found += "closed differs\n";
  return found;
}

constexpr std::string_view sessions[] = {
    // Headers, a body, dot-stuffing, then QUIT pipelined behind the dot.
    "EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
    "DATA\r\nSubject: x\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n",
    // Two messages; bare CR and LF inside lines; an empty message; a line
    // that is a dot and a CR; a line of two dots.
    "HELO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
    "DATA\r\nA: 1\rB\n2\r\n\r\na\r\n.\rb\r\n..\r\n.\r\n"
    "MAIL FROM:<>\r\nRCPT TO:<e@f.example>\r\nDATA\r\n.\r\nNOOP\r\n",
    // The DATA line ends with a bare LF: a leading dot is still dropped,
    // and no terminator starts there.
    "HELO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
    "DATA\n.x\r\n.\r\nRSET\r\n",
    // A message the client never ends.
    "HELO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
    "DATA\r\nSubject: cut\r\n\r\nhalf",
};

struct Modes {
  Streaming::Mode command, pieces;
};
constexpr Modes mode_table[] = {
    {Streaming::Mode::at_once, Streaming::Mode::at_once},
    {Streaming::Mode::later, Streaming::Mode::at_once},
    {Streaming::Mode::at_once, Streaming::Mode::later},
    {Streaming::Mode::later, Streaming::Mode::later},
};

TEST(ChannelStream, AsAWholeMessageInEveryChunking) {
  for (const std::string_view session : sessions) {
    const Outcome expected = whole(session);
    for (const Modes& modes : mode_table) {
      EXPECT_EQ("", differences(expected, streamed({session}, modes.command,
                                                   modes.pieces)))
          << text::repr_bytes(session);
      EXPECT_EQ(
          "", differences(expected, streamed(chunkings::one_byte_each(session),
                                             modes.command, modes.pieces)))
          << text::repr_bytes(session);
      chunkings::expect_right_split_anywhere(
          session, [&](const std::vector<std::string_view>& chunks) {
            return differences(expected,
                               streamed(chunks, modes.command, modes.pieces));
          });
    }
  }
}

const std::string start_session =
    "HELO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n";
const std::string start_replies =
    "220 localhost in.smtpd ESMTP\r\n250 localhost\r\n250 OK\r\n250 OK\r\n";
constexpr std::string_view go_ahead = "354 End data with <CR><LF>.<CR><LF>\r\n";

std::string take(Channel& channel) {
  std::string out(channel.output());
  channel.consume_output(out.size());
  return out;
}

// A channel with a Streaming handler and what it saw: the tests below
// each start one.
struct StreamingSession {
  StreamingSession(Streaming::Mode command, Streaming::Mode pieces,
                   ChannelConfig config = {})
      : handler(seen, command, pieces),
        channel(std::move(config), Peer{}, &handler) {}
  Seen seen;
  Streaming handler;
  Channel channel;
};

// No 354 before the hook's answer, and nothing read meanwhile.
TEST(ChannelStream, The354WaitsForTheDataCommandHook) {
  StreamingSession stream(Streaming::Mode::later, Streaming::Mode::at_once);
  stream.channel.feed(start_session + "DATA\r\nx\r\n.\r\n");
  EXPECT_EQ(start_replies, take(stream.channel));
  EXPECT_EQ(Hook::data_command, stream.channel.waiting_for());
  EXPECT_EQ("", stream.handler.current());
  stream.channel.answer(Answer::accept());
  EXPECT_EQ(std::string(go_ahead) + "250 OK\r\n", take(stream.channel));
  EXPECT_EQ(std::vector<std::string>{"x"}, stream.seen.messages);
}

// The upstream's refusal of DATA is the client's; the transaction stays.
TEST(ChannelStream, ARefusedDataCommandIsNo354) {
  StreamingSession stream(Streaming::Mode::at_once, Streaming::Mode::at_once);
  stream.handler.command_answer = "554 5.5.1 Error: no valid recipients";
  stream.channel.feed(start_session + "DATA\r\nRCPT TO:<e@f.example>\r\n");
  EXPECT_EQ(
      start_replies + "554 5.5.1 Error: no valid recipients\r\n250 OK\r\n",
      take(stream.channel));
  EXPECT_EQ(Channel::State::command, stream.channel.state());
  EXPECT_EQ(2u, stream.channel.transaction().rcpt_tos.size());
  EXPECT_TRUE(stream.seen.messages.empty());
}

// Backpressure: a piece answered later stops the reading; what comes
// meanwhile waits, and goes on once the answer came.
TEST(ChannelStream, APieceAnsweredLaterStopsTheReading) {
  StreamingSession stream(Streaming::Mode::at_once, Streaming::Mode::later);
  stream.channel.feed(start_session + "DATA\r\nfirst\r\n");
  EXPECT_EQ(Hook::data_piece, stream.channel.waiting_for());
  EXPECT_EQ("first", stream.handler.current());
  stream.channel.feed("second\r\n.\r\nNOOP\r\n");
  EXPECT_EQ("first", stream.handler.current());
  EXPECT_EQ(start_replies + std::string(go_ahead), take(stream.channel));
  stream.channel.answer(Answer::accept());
  EXPECT_EQ(Hook::data_piece, stream.channel.waiting_for());
  EXPECT_EQ("first\nsecond", stream.handler.current());
  stream.channel.answer(Answer::accept());
  EXPECT_EQ("250 OK\r\n250 OK\r\n", take(stream.channel));
  EXPECT_EQ(std::vector<std::string>{"first\nsecond"}, stream.seen.messages);
}

// A refused piece: no more pieces, the rest is read and dropped, and the
// message's reply is the DATA hook's.
TEST(ChannelStream, ARefusedPieceDropsTheRest) {
  StreamingSession stream(Streaming::Mode::at_once, Streaming::Mode::at_once);
  stream.handler.piece_answer = "451 4.3.0 upstream gone";
  stream.handler.data_answer = "451 Error: relay failed, try again later";
  stream.channel.feed(start_session + "DATA\r\nfirst\r\n");
  stream.channel.feed("second\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(start_replies + std::string(go_ahead) +
                "451 Error: relay failed, try again later\r\n250 OK\r\n",
            take(stream.channel));
  EXPECT_EQ(std::vector<std::string>{"first"}, stream.seen.messages);
  EXPECT_EQ("", stream.seen.problems);
}

// Over the size limit: 552, and the handler hears the message will not
// come (no handle_data); it never had more than the limit.
TEST(ChannelStream, TooBigIsAbandoned) {
  ChannelConfig config;
  config.data_size_limit = 10;
  StreamingSession stream(Streaming::Mode::at_once, Streaming::Mode::at_once,
                          config);
  stream.channel.feed(start_session + "DATA\r\n0123456789abcdef\r\n");
  stream.channel.feed("more\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(start_replies + std::string(go_ahead) +
                "552 Error: Too much mail data\r\n250 OK\r\n",
            take(stream.channel));
  EXPECT_EQ(1u, stream.seen.abandoned);
  EXPECT_TRUE(stream.seen.messages.empty());
  EXPECT_EQ("0123456789", stream.handler.current());
  EXPECT_EQ("", stream.seen.problems);
}

// The client gone in the middle: abandoned, nothing delivered.
TEST(ChannelStream, ClientGoneMidDataIsAbandoned) {
  StreamingSession stream(Streaming::Mode::at_once, Streaming::Mode::at_once);
  stream.channel.feed(start_session + "DATA\r\nhalf a mess");
  stream.channel.end_of_input();
  EXPECT_TRUE(stream.channel.closed());
  EXPECT_TRUE(stream.channel.closed_in_data());
  EXPECT_EQ(1u, stream.seen.abandoned);
  EXPECT_TRUE(stream.seen.messages.empty());
  // And a timeout in the middle too.
  Channel timed(ChannelConfig{}, Peer{}, &stream.handler);
  timed.feed(start_session + "DATA\r\nx");
  timed.timed_out();
  EXPECT_EQ(2u, stream.seen.abandoned);
  EXPECT_EQ("", stream.seen.problems);
}

// A Later handle says when the client went away while it was awaited,
// and the handles taken after that say so too.
TEST(ChannelStream, LaterSaysTheClientIsGone) {
  StreamingSession stream(Streaming::Mode::later, Streaming::Mode::at_once);
  stream.channel.feed(start_session + "DATA\r\n");
  const Later handle = static_cast<Context&>(stream.channel).later();
  EXPECT_FALSE(handle.client_gone());
  stream.channel.client_gone();
  EXPECT_TRUE(handle.client_gone());
  stream.channel.answer(Answer::accept());
  stream.channel.feed("x\r\n.\r\n");
  EXPECT_TRUE(static_cast<Context&>(stream.channel).later().client_gone());
}

}  // namespace
}  // namespace smtpd
