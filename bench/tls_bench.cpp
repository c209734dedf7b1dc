// tls_bench.cpp - what TLS costs a session, without a process or a socket:
// Google Benchmark of lib/smtpd/tls.* (OpenSSL 3 through memory BIOs).
//
//   BM_SelfSignedContext     --tls-self-signed: a P-256 key, a certificate
//                            signed with it, an SSL_CTX (once per process
//                            in the per-connection model)
//   BM_Handshake/13, /12     one full handshake, TLS 1.3 and TLS 1.2, an
//                            OpenSSL client and our server session in the
//                            same thread, the context made beforehand
//   BM_SelfSignedSession     both: what a per-connection process with
//                            --tls-self-signed pays before its first
//                            encrypted byte
//   BM_Records/N             N bytes from the client through an open
//                            session, in 64 KiB writes (bytes/s; client
//                            encryption and server decryption both count)
//   BM_SmtpSession/0, /1     a whole SMTP session through the connection
//                            core (connection.hpp), EHLO to QUIT with one
//                            1 KB message, DebuggingServer's hooks without
//                            the printout: /0 plain, /1 with STARTTLS (the
//                            context made beforehand, as a process does
//                            once), an OpenSSL client in this thread
//
// Built and run by bench/run (bench/build.mk):
//   g++ -std=c++17 -O2 -I lib bench/tls_bench.cpp lib/smtpd/*.cpp \
//       -ldl -lssl -lcrypto -lbenchmark -lpthread
#include <benchmark/benchmark.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "smtpd/connection.hpp"
#include "smtpd/tls.hpp"

namespace {

using smtpd::TlsContext;
using smtpd::TlsSession;

struct Client {
  SSL* ssl;
  BIO* in;
  BIO* out;
  explicit Client(SSL_CTX* context) : ssl(SSL_new(context)) {
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
  }
  ~Client() { SSL_free(ssl); }
};

// Carries bytes between the two until neither has anything to say.
void pump(Client& client, TlsSession& server) {
  char buffer[16384];
  for (int round = 0; round < 20; ++round) {
    SSL_do_handshake(client.ssl);
    bool moved = false;
    int n;
    while ((n = BIO_read(client.out, buffer, sizeof buffer)) > 0) {
      server.feed(std::string_view(buffer, std::size_t(n)));
      moved = true;
    }
    if (!server.output().empty()) {
      BIO_write(client.in, server.output().data(), int(server.output().size()));
      server.consume_output(server.output().size());
      moved = true;
    }
    if (!moved) return;
  }
}

SSL_CTX* client_context(int version) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_max_proto_version(context, version);
  return context;
}

void handshake(SSL_CTX* client_ctx,
               const std::shared_ptr<const TlsContext>& server_ctx) {
  Client client(client_ctx);
  TlsSession server(server_ctx);
  pump(client, server);
  if (!server.open() || SSL_is_init_finished(client.ssl) != 1) std::abort();
}

void BM_SelfSignedContext(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(TlsContext::self_signed("bench.example"));
}
BENCHMARK(BM_SelfSignedContext)->Unit(benchmark::kMicrosecond);

void BM_Handshake(benchmark::State& state) {
  const int version = state.range(0) == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX* client_ctx = client_context(version);
  const auto server_ctx = TlsContext::self_signed("bench.example");
  for (auto _ : state) handshake(client_ctx, server_ctx);
  SSL_CTX_free(client_ctx);
}
BENCHMARK(BM_Handshake)->Arg(13)->Arg(12)->Unit(benchmark::kMicrosecond);

void BM_SelfSignedSession(benchmark::State& state) {
  SSL_CTX* client_ctx = client_context(TLS1_3_VERSION);
  for (auto _ : state)
    handshake(client_ctx, TlsContext::self_signed("bench.example"));
  SSL_CTX_free(client_ctx);
}
BENCHMARK(BM_SelfSignedSession)->Unit(benchmark::kMicrosecond);

void BM_Records(benchmark::State& state) {
  SSL_CTX* client_ctx = client_context(TLS1_3_VERSION);
  const auto server_ctx = TlsContext::self_signed("bench.example");
  Client client(client_ctx);
  TlsSession server(server_ctx);
  pump(client, server);
  const std::string chunk(65536, 'x');
  const auto total = std::size_t(state.range(0));
  char buffer[16384];
  for (auto _ : state) {
    for (std::size_t sent = 0; sent < total; sent += chunk.size()) {
      std::size_t n;
      SSL_write_ex(client.ssl, chunk.data(), chunk.size(), &n);
      int got;
      while ((got = BIO_read(client.out, buffer, sizeof buffer)) > 0)
        server.feed(std::string_view(buffer, std::size_t(got)));
      server.consume_plaintext(server.plaintext().size());
    }
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) *
                          std::int64_t(total));
  SSL_CTX_free(client_ctx);
}
BENCHMARK(BM_Records)->Arg(10 << 20)->Unit(benchmark::kMillisecond);

// Takes every message and keeps nothing: the session's own cost.
class Accepting : public smtpd::Handler {};

// The client's side of one session: plaintext commands, each sent once the
// previous replies came (as a client without PIPELINING does).
void smtp_session(SSL_CTX* client_ctx, bool starttls,
                  const smtpd::DriverOptions& options) {
  static const std::string message =
      "Subject: bench\r\n\r\n" + std::string(1000, 'x') + "\r\n.\r\n";
  const std::string commands[] = {"EHLO client.example\r\n",
                                  "MAIL FROM:<a@example.com>\r\n",
                                  "RCPT TO:<b@example.com>\r\n",
                                  "DATA\r\n",
                                  message,
                                  "QUIT\r\n"};
  Accepting handler;
  smtpd::ChannelConfig config;
  config.hostname = "bench.example";
  const auto now = smtpd::Connection::Clock::now();
  smtpd::Connection connection(options, config, handler,
                               smtpd::Peer{"192.0.2.1", 25}, false, now);
  const auto take = [&] {
    std::string out(connection.output());
    connection.sent(out.size(), now);
    return out;
  };
  take();  // the greeting
  std::unique_ptr<Client> client;
  if (starttls) {
    connection.received("EHLO client.example\r\n", now);
    take();
    connection.received("STARTTLS\r\n", now);
    if (take() != "220 2.0.0 Ready to start TLS\r\n") std::abort();
    client = std::make_unique<Client>(client_ctx);
    char buffer[16384];
    for (int round = 0; round < 20; ++round) {
      SSL_do_handshake(client->ssl);
      int n;
      while ((n = BIO_read(client->out, buffer, sizeof buffer)) > 0)
        connection.received(std::string_view(buffer, std::size_t(n)), now);
      const std::string back = take();
      BIO_write(client->in, back.data(), int(back.size()));
      if (SSL_is_init_finished(client->ssl) == 1 &&
          connection.tls()->state() == smtpd::TlsLayer::State::open)
        break;
    }
  }
  char buffer[16384];
  for (const std::string& command : commands) {
    if (!client) {
      connection.received(command, now);
      take();
      continue;
    }
    std::size_t n;
    SSL_write_ex(client->ssl, command.data(), command.size(), &n);
    int got;
    while ((got = BIO_read(client->out, buffer, sizeof buffer)) > 0)
      connection.received(std::string_view(buffer, std::size_t(got)), now);
    const std::string back = take();
    BIO_write(client->in, back.data(), int(back.size()));
    std::size_t read;
    while (SSL_read_ex(client->ssl, buffer, sizeof buffer, &read) == 1) {
    }
  }
  if (!connection.finished() || connection.channel()->session().messages != 1)
    std::abort();
}

void BM_SmtpSession(benchmark::State& state) {
  const bool starttls = state.range(0) == 1;
  SSL_CTX* client_ctx = client_context(TLS1_3_VERSION);
  smtpd::DriverOptions options;
  if (starttls)
    options.tls = smtpd::tls_sessions(TlsContext::self_signed("bench.example"));
  for (auto _ : state) smtp_session(client_ctx, starttls, options);
  SSL_CTX_free(client_ctx);
}
BENCHMARK(BM_SmtpSession)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
