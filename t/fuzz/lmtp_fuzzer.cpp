// lmtp_fuzzer.cpp - libFuzzer target: the LMTP client (lmtp_client.hpp)
// against whatever a server may send.  Run by t/fuzz.sh; seeds in
// t/fuzz/corpus/lmtp/.  Input: byte 0 is the job (bits 0-1: one to four
// recipients, bit 2: check only, bit 3: the server closes at the end),
// byte 1 where the split replay cuts the rest, which is what the server
// sends.
//
// Invariants (a violation aborts, and libFuzzer keeps the input):
//   - no crash, no exception;
//   - the outcome (bytes sent, each recipient's reply or error, status,
//     done) is the same fed whole, one byte at a time, and split in two;
//   - every line the client sends is a command of the job (LHLO, MAIL,
//     RCPT for one of its recipients, DATA, RSET, QUIT) or, right after
//     DATA, the job's message exactly as lmtp_data() makes it (its lines
//     are no command, so a stray piece of it is caught); never DATA in
//     check mode, never RSET outside it;
//   - one result per recipient, in order; a result is a reply with a code
//     from 200 to 599 and at least one line, or no reply and an error;
//     after the server closed, none is left without either;
//   - the status is temporary exactly when some result is neither 2xx
//     nor 5xx, permanent when some is 5xx and none temporary;
//   - once done, more bytes change nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "smtpd/lmtp_client.hpp"

namespace {

using fuzz::visible;
using smtpd::LmtpClient;
using smtpd::LmtpJob;

struct Outcome {
  std::string sent;
  std::string results;
  LmtpClient::Status status;
  bool done;
};

const char* const recipients[] = {
    "ant@lists.example", "bee-request@lists.example",
    "cow-bounces+x=y@lists.example", "dog@lists.example"};
const std::string message = "From: a@b.example\n\n.hidden\nline\r\n.\r\nend";

Outcome run(const LmtpJob& job, bool closes,
            const std::vector<std::string_view>& chunks,
            std::string_view more = {}) {
  LmtpClient client(job);
  Outcome o;
  o.sent = client.take_output();
  for (const std::string_view chunk : chunks) {
    client.feed(chunk);
    o.sent += client.take_output();
  }
  if (closes) client.end_of_input();
  o.sent += client.take_output();
  o.done = client.done();
  for (const smtpd::LmtpResult& r : client.results())
    o.results += r.recipient + "|" + r.reply.summary() + "|" + r.error + "\n";
  o.status = client.status();
  if (o.done && !more.empty()) {
    // Once done, nothing more goes out and nothing changes.
    client.feed(more);
    FUZZ_CHECK(client.take_output().empty(), "bytes sent after done",
               visible(more));
  }
  return o;
}

void check_sent(const LmtpJob& job, std::string_view sent) {
  const std::string data = smtpd::lmtp_data(job.message);
  std::vector<std::string> commands = {
      "LHLO " + job.lhlo_name, "MAIL FROM:<" + job.sender + ">", "QUIT"};
  commands.push_back(job.check_only ? "RSET" : "DATA");
  for (const std::string& r : job.recipients)
    commands.push_back("RCPT TO:<" + r + ">");
  bool after_data = false;
  while (!sent.empty()) {
    // After DATA: the message when the server said 354, else a command.
    if (after_data && sent.substr(0, data.size()) == data) {
      sent.remove_prefix(data.size());
      after_data = false;
      continue;
    }
    const std::size_t end = sent.find("\r\n");
    FUZZ_CHECK(end != std::string_view::npos, "a command without CRLF",
               visible(sent));
    const std::string_view line = sent.substr(0, end);
    bool known = false;
    for (const std::string& c : commands) known = known || line == c;
    FUZZ_CHECK(known, "a line that is no command of the job", visible(line));
    after_data = line == "DATA";
    sent.remove_prefix(end + 2);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes,
                                      std::size_t size) {
  if (size < 2) return 0;
  LmtpJob job;
  job.lhlo_name = "relay.example";
  job.sender = "sender@example.org";
  for (unsigned i = 0; i <= (bytes[0] & 3u); ++i)
    job.recipients.push_back(recipients[i]);
  job.check_only = bytes[0] & 4u;
  job.message = message;
  const bool closes = bytes[0] & 8u;
  const std::string_view server(reinterpret_cast<const char*>(bytes) + 2,
                                size - 2);
  const std::size_t cut = bytes[1] % (server.size() + 1);

  const Outcome whole = run(job, closes, {server}, "250 more\r\n");
  std::vector<std::string_view> single;
  for (std::size_t i = 0; i < server.size(); ++i)
    single.push_back(server.substr(i, 1));
  const Outcome by_byte = run(job, closes, single);
  const Outcome split =
      run(job, closes, {server.substr(0, cut), server.substr(cut)});
  for (const Outcome* other : {&by_byte, &split}) {
    FUZZ_CHECK(other->sent == whole.sent && other->results == whole.results &&
                   other->status == whole.status && other->done == whole.done,
               "the outcome depends on the chunking",
               "whole sent " + visible(whole.sent) + " results " +
                   visible(whole.results) + "\nother sent " +
                   visible(other->sent) + " results " +
                   visible(other->results));
  }
  check_sent(job, whole.sent);

  LmtpClient client(job);
  client.feed(server);
  if (closes) client.end_of_input();
  FUZZ_CHECK(client.results().size() == job.recipients.size(),
             "one result per recipient", "");
  bool temporary = false, permanent = false;
  for (std::size_t i = 0; i < client.results().size(); ++i) {
    const smtpd::LmtpResult& r = client.results()[i];
    FUZZ_CHECK(r.recipient == job.recipients[i], "results out of order",
               visible(r.recipient));
    const int code = r.reply.code;
    if (code == 0) {
      FUZZ_CHECK(!closes || !r.error.empty(),
                 "no reply and no error after the close",
                 visible(whole.results));
    } else {
      FUZZ_CHECK(code >= 200 && code <= 599 && !r.reply.lines.empty(),
                 "a reply out of range", std::to_string(code));
    }
    temporary = temporary || (code / 100 != 2 && code / 100 != 5);
    permanent = permanent || code / 100 == 5;
  }
  const LmtpClient::Status expected = temporary ? LmtpClient::Status::temporary
                                      : permanent
                                          ? LmtpClient::Status::permanent
                                          : LmtpClient::Status::delivered;
  FUZZ_CHECK(client.status() == expected, "status not the worst result",
             visible(whole.results));
  FUZZ_CHECK(!closes || client.done(), "not done after the server closed", "");
  return 0;
}
