// tls_client.hpp - an OpenSSL client over memory BIOs, for the tests of
// the server's TLS (tls_test.cpp, starttls_test.cpp).
#pragma once

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

namespace smtpd::testing {

// An OpenSSL client over memory BIOs.
class Client {
 public:
  // trust: a certificate to verify the server with, for `host`.
  explicit Client(SSL_CTX* context, X509* trust = nullptr,
                  const std::string& host = "") {
    if (trust) {
      X509_STORE_add_cert(SSL_CTX_get_cert_store(context), trust);
      SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    }
    ssl_ = SSL_new(context);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
    if (!host.empty()) SSL_set1_host(ssl_, host.c_str());
  }
  ~Client() { SSL_free(ssl_); }

  // Runs the handshake as far as it goes; true when done.
  bool handshake() { return SSL_do_handshake(ssl_) == 1; }
  std::string take_output() {
    std::string bytes;
    char buffer[4096];
    int n;
    while ((n = BIO_read(out_, buffer, sizeof buffer)) > 0)
      bytes.append(buffer, n);
    return bytes;
  }
  void give(std::string_view bytes) {
    BIO_write(in_, bytes.data(), int(bytes.size()));
  }
  void write(std::string_view text) {
    std::size_t n;
    ASSERT_EQ(SSL_write_ex(ssl_, text.data(), text.size(), &n), 1);
  }
  std::string read() {
    std::string text;
    char buffer[4096];
    std::size_t n;
    while (SSL_read_ex(ssl_, buffer, sizeof buffer, &n) == 1)
      text.append(buffer, n);
    return text;
  }
  SSL* ssl() { return ssl_; }

 private:
  SSL* ssl_;
  BIO* in_;
  BIO* out_;
};

inline SSL_CTX* client_context() {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  return context;
}

struct ContextFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using ClientContext = std::unique_ptr<SSL_CTX, ContextFree>;

}  // namespace smtpd::testing
