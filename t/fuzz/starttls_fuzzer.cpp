// starttls_fuzzer.cpp - libFuzzer target: STARTTLS in the channel
// (channel.hpp, RFC 3207), arbitrary client bytes in arbitrary chunks, the
// harness playing the I/O layer: when the channel asks for TLS it feeds
// some more chunks first (what a client pipelined, or sent before it saw
// our 220), then calls tls_started().  Run by t/fuzz.sh; seeds in
// t/fuzz/corpus/starttls/.
//
// The input:
//   byte 0  bit  0    require_tls
//           bit  1    tls_on_connect (then STARTTLS is not offered)
//           bits 2-3  chunk sizes: all at once, 1-3, 1-16, 1-200 bytes
//           bits 4-7  chunks fed between STARTTLS's 220 and tls_started()
//   byte 1  seed of the chunk sizes
//   rest    the client's bytes
//
// Invariants (a violation aborts, and libFuzzer keeps the input):
//   - after "220 2.0.0 Ready to start TLS" nothing at all is answered
//     until tls_started(): the bytes fed meanwhile are discarded
//     (CVE-2011-0411), and the 220 is the last line of the output;
//   - the 220 comes at most once, and never once encrypted;
//   - no EHLO reply offers STARTTLS under TLS;
//   - after tls_started(): encrypted(), session().tls, no HELO name, not
//     extended, no sender, no recipient (RFC 3207 4.2), and nothing fed
//     before it is answered (an empty feed() adds no reply);
//   - with require_tls, before TLS: no sender is ever taken, DATA never
//     starts (no 354), and no message is pending;
//   - output is whole CRLF-ended lines; a closed channel stays closed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "smtpd/channel.hpp"

namespace {

using smtpd::Channel;
using smtpd::ChannelConfig;

constexpr std::string_view ready = "220 2.0.0 Ready to start TLS\r\n";

struct Harness {
  Channel& channel;
  bool require_tls;
  std::size_t checked = 0;  // output bytes already looked at
  bool asked = false;       // the 220 was sent
  bool closed = false;

  void check() {
    const std::string_view out = channel.output();
    if (out.size() < checked) fuzz::fail("output shrank by itself");
    std::string_view fresh = out.substr(checked);
    if (!fresh.empty() && fresh.substr(fresh.size() - 2) != "\r\n")
      fuzz::fail("output ends inside a line", fuzz::visible(fresh));
    while (!fresh.empty()) {
      const std::size_t end = fresh.find("\r\n") + 2;
      line(fresh.substr(0, end));
      fresh.remove_prefix(end);
    }
    checked = out.size();
    if (closed && !channel.closed()) fuzz::fail("a closed channel reopened");
    closed = channel.closed();
    if (require_tls && !channel.encrypted()) {
      if (channel.has_sender()) fuzz::fail("a sender taken before TLS");
      if (channel.state() == Channel::State::data || channel.pending_message())
        fuzz::fail("a message before TLS");
    }
    if (channel.state() == Channel::State::starting_tls &&
        (out.size() < ready.size() ||
         out.substr(out.size() - ready.size()) != ready))
      fuzz::fail("something answered after STARTTLS's 220", fuzz::visible(out));
  }

  void line(std::string_view text) {
    if (asked && channel.state() == Channel::State::starting_tls)
      fuzz::fail("answered before tls_started()", fuzz::visible(text));
    if (text == ready) {
      if (asked) fuzz::fail("a second 220 to STARTTLS");
      if (channel.encrypted()) fuzz::fail("220 to STARTTLS under TLS");
      asked = true;
    }
    if (text == "250-STARTTLS\r\n" && channel.encrypted())
      fuzz::fail("STARTTLS offered under TLS");
    if (require_tls && !channel.encrypted() && text.substr(0, 4) == "354 ")
      fuzz::fail("DATA before TLS");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const fuzz::ClientInput input = fuzz::split_client_input(data, size);
  const std::string_view client = input.client;

  ChannelConfig config;
  config.hostname = "mx.test";
  config.require_tls = input.settings & 1;
  config.tls_on_connect = input.settings & 2;
  config.starttls = config.tls_on_connect ? ChannelConfig::StartTls::none
                                          : ChannelConfig::StartTls::offered;
  const std::size_t chunk_limit = fuzz::largest_chunk(input.settings);
  unsigned held_chunks = input.settings >> 4;
  std::uint32_t seed = input.seed * 2654435761u + 1;

  Channel channel(config, smtpd::Peer{"192.0.2.1", 25});
  Harness harness{channel, config.require_tls};
  harness.check();
  std::size_t at = 0;
  while (at < client.size() && !channel.closed()) {
    seed = seed * 1103515245u + 12345u;
    const std::size_t n =
        chunk_limit == 0 ? client.size() : 1 + (seed >> 16) % chunk_limit;
    channel.feed(client.substr(at, n));
    at += n;
    harness.check();
    if (channel.pending_message()) {
      channel.reply(smtpd::Reply{});
      harness.check();
    }
    if (channel.state() == Channel::State::starting_tls) {
      if (held_chunks > 0) {
        --held_chunks;
        continue;
      }
      channel.tls_started();
      const smtpd::Session& session = channel.session();
      if (!channel.encrypted() || !session.tls || !session.helo.empty() ||
          session.extended_smtp || channel.has_sender() ||
          !channel.transaction().rcpt_tos.empty())
        fuzz::fail("the session was not forgotten after TLS");
      // Nothing held from before TLS is answered inside it.
      const std::size_t before = channel.output().size();
      channel.feed({});
      if (channel.output().size() != before)
        fuzz::fail("input from before TLS answered inside it",
                   fuzz::visible(channel.output().substr(before)));
      harness.check();
    }
  }
  channel.end_of_input();
  harness.check();
  return 0;
}
