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
//
// Built and run by bench/run (bench/build.mk):
//   g++ -std=c++17 -O2 -I lib bench/tls_bench.cpp lib/smtpd/tls.cpp \
//       -lssl -lcrypto -lbenchmark -lpthread
#include <benchmark/benchmark.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <memory>
#include <string>

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

}  // namespace

BENCHMARK_MAIN();
