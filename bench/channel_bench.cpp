// channel_bench.cpp - the SMTP channel alone (no process, no socket, no
// delivery): Google Benchmark of the I/O-free state machine in
// lib/smtpd/channel.*.
//
//   BM_DataLargeChunks       a 10 MB message fed in 64 KiB chunks, as the
//                            driver reads them: bytes/s of DATA
//   BM_DataStreamed          the same to a handler that streams it
//                            (Handler::streams_data, as PureProxy): each
//                            piece counted and dropped, nothing kept
//   BM_DataByteByByte/N      an N-byte message fed one byte at a time
//                            (N = 10 KB, 100 KB, 1 MB): per_byte must stay
//                            flat as N grows (the _BigO and _RMS rows fit
//                            the times to O(N))
//   BM_SmallSession          EHLO, MAIL, RCPT, DATA, a 1 KB message, QUIT,
//                            one command per feed as a non-pipelining
//                            client sends them: sessions/s
//   BM_GreetingOnly          a channel made, its greeting taken, and
//                            destroyed: the fixed cost of a session, where
//                            the allocation of Channel::Impl shows most
//   BM_ConnectionGreeting    the same through the connection core
//                            (connection.hpp), as every session of the
//                            program makes one: a Connection around a
//                            new channel, its greeting sent, its end line
//                            logged to nowhere, destroyed
//   BM_DebuggingServerMade   a DebuggingServer made and destroyed as
//                            in.smtpd makes it, once per session
//                            (std::make_unique): the handler's share of
//                            a session's fixed cost
//   BM_MaildirDeliveryMade   the same for MaildirDelivery (--maildir),
//                            its host name looked up included
//   BM_RelayPolicyMade       a RelayPolicy made (loopback only), copied
//                            as in.smtpd-full gives it to PureProxy, and
//                            asked about one recipient
//   BM_PureProxyGreeting     the same with a PureProxy as the handler, made
//                            and destroyed with the channel (no upstream
//                            is reached before MAIL): what a relaying
//                            session's handler costs, PureProxy::Impl's
//                            allocation included
//   BM_MailmanProxyGreeting  the same with a MailmanProxy (Mailman 2)
//   BM_DebuggingPrintout     not the channel but what in.smtpd -c
//                            DebuggingServer does next with a 10 MB
//                            message: print_debugging_message, its
//                            pieces counted and dropped (bytes/s)
//
// Built and run by bench/run:
//   g++ -std=c++17 -O2 -I lib $(pkg-config --cflags libcurl) \
//       bench/channel_bench.cpp lib/smtpd/*.cpp -ldl -lbenchmark -lpthread
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "smtpd/channel.hpp"
#include "smtpd/connection.hpp"
#include "smtpd/debugging.hpp"
#include "smtpd/maildir.hpp"
#include "smtpd/mailman.hpp"
#include "smtpd/relay.hpp"
#include "smtpd/relay_policy.hpp"

namespace {

// A message body as smtp-source sends it: lines of 78 bytes of text and
// CRLF, size/80 of them (at least one), then the final ".\r\n".
std::string make_message(std::size_t size) {
  const std::size_t lines = size / 80 > 0 ? size / 80 : 1;
  std::string message;
  message.reserve(lines * 80 + 3);
  for (std::size_t i = 0; i < lines; ++i) {
    message.append(78, 'X');
    message += "\r\n";
  }
  message += ".\r\n";
  return message;
}

// Each iteration is one session: report them as sessions per second.
void count_sessions(benchmark::State& state) {
  state.counters["sessions_per_s"] = benchmark::Counter(
      double(state.iterations()), benchmark::Counter::kIsRate);
}

smtpd::ChannelConfig config() {
  smtpd::ChannelConfig config;
  config.hostname = "bench.example";
  config.data_size_limit = 0;  // measure the channel, not the limit check
  return config;
}

// Feeds the envelope commands and leaves the channel in DATA state.
void start_data(smtpd::Channel& channel) {
  channel.feed("EHLO client.example\r\n");
  channel.feed("MAIL FROM:<a@example.com>\r\n");
  channel.feed("RCPT TO:<b@example.com>\r\n");
  channel.feed("DATA\r\n");
  channel.consume_output(channel.output().size());
  if (channel.state() != smtpd::Channel::State::data) std::abort();
}

// Takes the message as a delivery would, then QUIT.
std::size_t finish(smtpd::Channel& channel) {
  const smtpd::Envelope* message = channel.pending_message();
  if (!message) std::abort();
  const std::size_t size = message->data.size();
  channel.reply(std::nullopt);
  channel.feed("QUIT\r\n");
  channel.consume_output(channel.output().size());
  if (!channel.closed()) std::abort();
  return size;
}

void BM_DataLargeChunks(benchmark::State& state) {
  const std::size_t chunk = 64 * 1024;
  const std::string message = make_message(10 * 1000 * 1000);
  for (auto _ : state) {
    smtpd::Channel channel(config(), smtpd::Peer{});
    start_data(channel);
    const std::string_view bytes = message;
    for (std::size_t at = 0; at < bytes.size(); at += chunk)
      channel.feed(bytes.substr(at, chunk));
    benchmark::DoNotOptimize(finish(channel));
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) *
                          std::int64_t(message.size()));
}
BENCHMARK(BM_DataLargeChunks)->Unit(benchmark::kMillisecond);

// Takes the message piece by piece, as a proxy does, and drops it.
class Streaming : public smtpd::Handler {
 public:
  std::size_t size = 0;
  bool streams_data() const override { return true; }
  smtpd::Answer handle_data_piece(smtpd::Context&,
                                  std::string_view piece) override {
    size += piece.size();
    return smtpd::Answer::accept();
  }
};

void BM_DataStreamed(benchmark::State& state) {
  const std::size_t chunk = 64 * 1024;
  const std::string message = make_message(10 * 1000 * 1000);
  for (auto _ : state) {
    Streaming handler;
    smtpd::Channel channel(config(), smtpd::Peer{}, &handler);
    start_data(channel);
    const std::string_view bytes = message;
    for (std::size_t at = 0; at < bytes.size(); at += chunk)
      channel.feed(bytes.substr(at, chunk));
    if (channel.state() != smtpd::Channel::State::command) std::abort();
    benchmark::DoNotOptimize(handler.size);
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) *
                          std::int64_t(message.size()));
}
BENCHMARK(BM_DataStreamed)->Unit(benchmark::kMillisecond);

void BM_DataByteByByte(benchmark::State& state) {
  const std::string message = make_message(std::size_t(state.range(0)));
  for (auto _ : state) {
    smtpd::Channel channel(config(), smtpd::Peer{});
    start_data(channel);
    for (const char c : message) channel.feed(std::string_view(&c, 1));
    benchmark::DoNotOptimize(finish(channel));
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) *
                          std::int64_t(message.size()));
  state.SetComplexityN(state.range(0));
  // Seconds per byte fed (shown as e.g. "85n" = 85 ns).
  state.counters["per_byte"] = benchmark::Counter(
      double(message.size()), benchmark::Counter::kIsIterationInvariantRate |
                                  benchmark::Counter::kInvert);
}
BENCHMARK(BM_DataByteByByte)
    ->Arg(10 * 1000)
    ->Arg(100 * 1000)
    ->Arg(1000 * 1000)
    ->Unit(benchmark::kMillisecond)
    ->Complexity(benchmark::oN);

void BM_SmallSession(benchmark::State& state) {
  const std::string message = make_message(1024);
  for (auto _ : state) {
    smtpd::Channel channel(config(), smtpd::Peer{"127.0.0.1", 40000});
    channel.consume_output(channel.output().size());  // the greeting
    start_data(channel);
    channel.feed(message);
    benchmark::DoNotOptimize(finish(channel));
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()));
  count_sessions(state);
}
BENCHMARK(BM_SmallSession)->Unit(benchmark::kMicrosecond);

void BM_GreetingOnly(benchmark::State& state) {
  for (auto _ : state) {
    smtpd::Channel channel(config(), smtpd::Peer{"127.0.0.1", 40000});
    benchmark::DoNotOptimize(channel.output().size());
    channel.consume_output(channel.output().size());
  }
  count_sessions(state);
}
BENCHMARK(BM_GreetingOnly)->Unit(benchmark::kNanosecond);

void BM_ConnectionGreeting(benchmark::State& state) {
  const smtpd::DriverOptions options;  // no trace, no log, no TLS
  smtpd::Handler handler;              // every hook accepts
  const auto now = smtpd::Connection::Clock::now();
  for (auto _ : state) {
    smtpd::Connection connection(options, config(), handler,
                                 smtpd::Peer{"127.0.0.1", 40000}, false, now);
    benchmark::DoNotOptimize(connection.output().size());
    connection.sent(connection.output().size(), now);
  }
  count_sessions(state);
}
BENCHMARK(BM_ConnectionGreeting)->Unit(benchmark::kNanosecond);

// Where a printout would go; nothing is printed here.
struct NoOutput : smtpd::DebuggingServer::Output {
  void write(std::string_view) override {}
};

void BM_DebuggingServerMade(benchmark::State& state) {
  NoOutput output;
  for (auto _ : state) {
    auto server = std::make_unique<smtpd::DebuggingServer>(output);
    benchmark::DoNotOptimize(server.get());
  }
  count_sessions(state);
}
BENCHMARK(BM_DebuggingServerMade)->Unit(benchmark::kNanosecond);

void BM_MaildirDeliveryMade(benchmark::State& state) {
  for (auto _ : state) {
    auto delivery = std::make_unique<smtpd::MaildirDelivery>("/var/tmp/maildir",
                                                             nullptr, nullptr);
    benchmark::DoNotOptimize(delivery.get());
  }
  count_sessions(state);
}
BENCHMARK(BM_MaildirDeliveryMade)->Unit(benchmark::kNanosecond);

void BM_RelayPolicyMade(benchmark::State& state) {
  const smtpd::Peer peer{"127.0.0.1", 40000};
  for (auto _ : state) {
    const smtpd::RelayPolicy options;
    const smtpd::RelayPolicy policy = options;
    benchmark::DoNotOptimize(policy.allows(peer, "b@example.com"));
  }
  count_sessions(state);
}
BENCHMARK(BM_RelayPolicyMade)->Unit(benchmark::kNanosecond);

smtpd::UpstreamSettings upstream() {
  smtpd::UpstreamSettings settings;
  settings.host = "127.0.0.1";
  settings.port = "25";
  return settings;
}

void BM_PureProxyGreeting(benchmark::State& state) {
  for (auto _ : state) {
    smtpd::PureProxy relay(upstream(), nullptr);
    smtpd::Channel channel(config(), smtpd::Peer{"127.0.0.1", 40000}, &relay);
    benchmark::DoNotOptimize(channel.output().size());
    channel.consume_output(channel.output().size());
  }
  count_sessions(state);
}
BENCHMARK(BM_PureProxyGreeting)->Unit(benchmark::kNanosecond);

void BM_MailmanProxyGreeting(benchmark::State& state) {
  for (auto _ : state) {
    smtpd::MailmanProxy mailman(smtpd::MailmanSettings{}, upstream(),
                                smtpd::RelayPolicy(), nullptr);
    smtpd::Channel channel(config(), smtpd::Peer{"127.0.0.1", 40000}, &mailman);
    benchmark::DoNotOptimize(channel.output().size());
    channel.consume_output(channel.output().size());
  }
  count_sessions(state);
}
BENCHMARK(BM_MailmanProxyGreeting)->Unit(benchmark::kNanosecond);

void BM_DebuggingPrintout(benchmark::State& state) {
  smtpd::Envelope envelope;
  envelope.mail_from = "a@example.com";
  envelope.rcpt_tos = {"b@example.com"};
  // As the channel hands it on: unstuffed, LF line ends, no final one.
  std::string data = "Subject: big\n\n";
  for (std::size_t i = 0; i < 125000; ++i) data += std::string(78, 'X') + "\n";
  data.pop_back();
  envelope.data = std::move(data);
  // Streamed in pieces, as DebuggingServer hands them to its output.
  std::size_t printed = 0;
  for (auto _ : state)
    smtpd::print_debugging_message(
        envelope, {}, [&](std::string_view piece) { printed += piece.size(); });
  benchmark::DoNotOptimize(printed);
  state.SetBytesProcessed(std::int64_t(state.iterations()) *
                          std::int64_t(envelope.data.size()));
}
BENCHMARK(BM_DebuggingPrintout)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
