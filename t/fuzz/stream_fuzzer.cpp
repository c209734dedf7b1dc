// stream_fuzzer.cpp - libFuzzer target: a handler that streams the message
// (Handler::streams_data) against one that takes it whole.  Run by
// t/fuzz.sh; seeds in t/fuzz/corpus/stream/.
//
// The input:
//   byte 0  bits 0-1  data_size_limit: 0 (none), 16, 1000, 33554432
//           bits 2-3  chunk sizes: all at once, 1-3, 1-16, 1-200 bytes
//           bits 4-5  how often the DATA command hook answers later:
//                     never, 1/4, 1/2, always
//           bits 6-7  how often a piece answers later (backpressure): the
//                     same
//   byte 1  seed of the chunk sizes and of the deferrals
//   rest    the client's bytes
//
// Invariants (a violation aborts, and libFuzzer keeps the input):
//   - the replies are those of the whole-message channel fed at once,
//     byte for byte;
//   - the pieces of each message, joined, are the message the whole-
//     message channel hands on; handle_data never gets the message kept;
//   - a piece is never empty, never outside a message, never past the
//     size limit in all;
//   - data_abandoned comes once for each message cut short (over the
//     limit, or the input ends inside it), never with handle_data;
//   - the relayed form made as the pieces come (relay_format.hpp) is
//     relay_message's of the whole message, byte for byte.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/relay_format.hpp"

namespace {

using fuzz::fail;
using fuzz::visible;

// A small generator: the same input makes the same run.
struct Rolls {
  std::uint32_t state;
  std::uint32_t next() {
    state = state * 1103515245u + 12345u;
    return state >> 16;
  }
  bool one_in_four_times(unsigned quarters) { return next() % 4 < quarters; }
};

struct Seen {
  std::vector<std::string> messages;
  std::vector<std::string> relayed;  // streamed only: as the pieces came
  unsigned abandoned = 0;
};

class Whole : public smtpd::Handler {
 public:
  explicit Whole(Seen& seen) : seen_(seen) {}
  smtpd::Answer handle_data(smtpd::Context&,
                            const smtpd::Envelope& message) override {
    seen_.messages.push_back(message.data);
    return smtpd::Answer::accept();
  }

 private:
  Seen& seen_;
};

class Streaming : public smtpd::Handler {
 public:
  Streaming(Seen& seen, Rolls& rolls, unsigned command_later,
            unsigned piece_later, std::uint64_t limit)
      : seen_(seen),
        rolls_(rolls),
        command_later_(command_later),
        piece_later_(piece_later),
        limit_(limit) {}
  bool streams_data() const override { return true; }
  smtpd::Answer handle_data_command(smtpd::Context& context) override {
    if (open_) fail("a DATA command inside a message");
    open_ = true;
    current_.clear();
    relayed_.clear();
    format_ = smtpd::RelayFormat("192.0.2.7");
    return answer(context, command_later_);
  }
  smtpd::Answer handle_data_piece(smtpd::Context& context,
                                  std::string_view piece) override {
    if (!open_) fail("a piece outside a message");
    if (piece.empty()) fail("an empty piece");
    current_.append(piece);
    format_.feed(piece, relayed_);
    if (limit_ != 0 && current_.size() > limit_)
      fail("pieces past the size limit: " + visible(current_));
    return answer(context, piece_later_);
  }
  smtpd::Answer handle_data(smtpd::Context&,
                            const smtpd::Envelope& message) override {
    if (!open_) fail("a final dot outside a message");
    if (!message.data.empty()) fail("the streamed message was kept");
    format_.finish(relayed_);
    seen_.messages.push_back(current_);
    seen_.relayed.push_back(relayed_);
    open_ = false;
    return smtpd::Answer::accept();
  }
  void data_abandoned(smtpd::Context&) override {
    if (!open_) fail("abandoned outside a message");
    ++seen_.abandoned;
    open_ = false;
  }

 private:
  smtpd::Answer answer(smtpd::Context& context, unsigned quarters) {
    if (!rolls_.one_in_four_times(quarters)) return smtpd::Answer::accept();
    context.later();
    return smtpd::Answer::later();
  }
  Seen& seen_;
  Rolls& rolls_;
  unsigned command_later_, piece_later_;
  std::uint64_t limit_;
  bool open_ = false;
  std::string current_, relayed_;
  smtpd::RelayFormat format_{"192.0.2.7"};
};

void drain(smtpd::Channel& channel, std::string& output) {
  while (channel.waiting_for()) channel.answer(smtpd::Answer::accept());
  output.append(channel.output());
  channel.consume_output(channel.output().size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static constexpr std::uint64_t size_limits[] = {0, 16, 1000, 33554432};
  const fuzz::ClientInput given = fuzz::split_client_input(data, size);
  const std::string_view input = given.client;
  smtpd::ChannelConfig config;
  config.hostname = "fuzz.example";
  config.data_size_limit = size_limits[given.settings & 3];
  const std::size_t chunk = fuzz::largest_chunk(given.settings);
  Rolls rolls{given.seed};

  Seen whole_seen;
  std::string whole_output;
  {
    Whole handler(whole_seen);
    smtpd::Channel channel(config, smtpd::Peer{}, &handler);
    channel.feed(input);
    channel.end_of_input();
    drain(channel, whole_output);
  }

  Seen seen;
  std::string output;
  {
    Streaming handler(seen, rolls, (given.settings >> 4) & 3,
                      (given.settings >> 6) & 3, config.data_size_limit);
    smtpd::Channel channel(config, smtpd::Peer{}, &handler);
    std::string_view rest = input;
    while (!rest.empty()) {
      const std::size_t n =
          chunk == 0
              ? rest.size()
              : std::min<std::size_t>(rest.size(), 1 + rolls.next() % chunk);
      channel.feed(rest.substr(0, n));
      rest.remove_prefix(n);
      // Now and then the loop answers only after more input came.
      if (!rolls.one_in_four_times(1)) drain(channel, output);
    }
    drain(channel, output);
    channel.end_of_input();
    drain(channel, output);
    if (channel.state() == smtpd::Channel::State::data)
      fail("the channel still reads a message after the end of input");
  }

  if (output != whole_output)
    fail("replies differ:\n  whole    " + visible(whole_output) +
         "\n  streamed " + visible(output));
  if (seen.messages != whole_seen.messages)
    fail("messages differ from the whole ones");
  for (std::size_t i = 0; i < seen.messages.size(); ++i) {
    smtpd::RelayFormat format("192.0.2.7");
    std::string relayed;
    format.feed(seen.messages[i], relayed);
    format.finish(relayed);
    if (relayed != seen.relayed[i])
      fail("relayed as it came " + visible(seen.relayed[i]) + ", whole " +
           visible(relayed));
  }
  return 0;
}
