// relay_format_test.cpp - the relayed form made as the message arrives
// (relay_format.hpp) is relay_message's, byte for byte, however the
// message is cut: a streamed message reaches the upstream exactly as a
// whole one did.
#include "smtpd/relay_format.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "chunkings.hpp"
#include "every_string.hpp"
#include "relay_message.hpp"
#include "smtpd/text.hpp"

namespace smtpd {
namespace {

std::string whole(std::string_view data, std::string_view peer) {
  Envelope envelope;
  envelope.peer.address = std::string(peer);
  envelope.data = std::string(data);
  return relay_message(envelope);
}

std::string streamed(const std::vector<std::string_view>& chunks,
                     std::string_view peer) {
  RelayFormat format(peer);
  std::string out;
  for (const std::string_view chunk : chunks) format.feed(chunk, out);
  format.finish(out);
  return out;
}

// Empty when every chunking of data gives relay_message's bytes.
std::string problems(std::string_view data) {
  const std::string expected = whole(data, "192.0.2.1");
  const auto check = [&](const std::vector<std::string_view>& chunks) {
    const std::string actual = streamed(chunks, "192.0.2.1");
    return actual == expected ? std::string()
                              : "data " + text::repr_bytes(data) +
                                    ": expected " + text::repr_bytes(expected) +
                                    ", got " + text::repr_bytes(actual);
  };
  std::string found = check(chunkings::one_byte_each(data));
  for (std::size_t at = 0; found.empty() && at <= data.size(); ++at)
    found = check({data.substr(0, at), data.substr(at)});
  return found;
}

TEST(RelayFormat, MessagesWithHeadersDotsAndEveryLineEnd) {
  constexpr std::string_view messages_to_check[] = {
      "",
      "Subject: a\nTo: b@example.org\n\nbody\nmore",
      "Subject: a\nTo: b",
      "Subject: a\n",
      "\n\n\n",
      "\nbody",
      "A: 1\rB: 2\r\rbody",
      "\r",
      "A: 1\r",
      "A: 1\r\n\r\nbody",
      "a\r\nb\nc\rd\n\ne\rf",
      "A: 1\r\r\n\nbody",
      ".\n..\n.x\n\n.\n..",
      "X: caf\xc3\xa9 \xff\n\n\x80 body\xfe",
      "A: 1\n \nbody",
      "A: 1\n\nB: 2\n\nC\r",
  };
  for (const std::string_view data : messages_to_check)
    EXPECT_EQ("", problems(data));
}

TEST(RelayFormat, EveryShortMessageOverACrLfAlphabet) {
  std::size_t failed = 0;
  const std::size_t checked = every_string::each(
      every_string::crlf_alphabet, 7, [&](const std::string& data) {
        const std::string found = problems(data);
        if (!found.empty() && ++failed <= 5) ADD_FAILURE() << found;
      });
  EXPECT_EQ(checked, 3280u);
  EXPECT_EQ(failed, 0u);
}

TEST(RelayFormat, TheIPv6PeerLine) {
  RelayFormat format("2001:db8::1");
  std::string out;
  format.feed("Subject: a\n\nbody", out);
  format.finish(out);
  EXPECT_EQ("Subject: a\r\nX-Peer: 2001:db8::1\r\n\r\nbody", out);
}

}  // namespace
}  // namespace smtpd
