// tls.cpp - OpenSSL under a connection, through memory BIOs (see tls.hpp).
#include "smtpd/tls.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace smtpd {
namespace {

// TLS 1.2's suites: forward secrecy (ECDHE) and AEAD only; TLS 1.3's are
// all AEAD, and OpenSSL's default list of them stays.
constexpr char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// A self-signed certificate is good from a day ago (clients with a slow
// clock) for a year.
constexpr long not_before_seconds = -24L * 3600;
constexpr long not_after_seconds = 365L * 24 * 3600;

// The first error on OpenSSL's queue, as one line, and the queue emptied.
std::string openssl_error(std::string_view fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(fallback);
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  // "error:0A000086:SSL routines::certificate verify failed": the reason
  // is what a reader needs; the code helps a search.
  const char* reason = ERR_reason_error_string(code);
  return reason ? std::string(reason) + " (" + buffer + ")"
                : std::string(buffer);
}

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Certificate = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Extension = std::unique_ptr<X509_EXTENSION,
                                  Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

SSL_CTX* new_server_context() {
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (!context)
    throw TlsError("cannot make a TLS context: " +
                   openssl_error("out of memory"));
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                   SSL_OP_CIPHER_SERVER_PREFERENCE |
                                   SSL_OP_NO_TICKET);
  // TLS 1.3 sends tickets after the handshake unless told not to: work
  // and bytes for a resumption that a new process could never honour.
  SSL_CTX_set_num_tickets(context, 0);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(context, tls12_ciphers) != 1) {
    SSL_CTX_free(context);
    throw TlsError("cannot set the TLS ciphers: " + openssl_error("no cipher"));
  }
  return context;
}

bool is_ip_literal(const std::string& host) {
  unsigned char binary[16];
  return inet_pton(AF_INET, host.c_str(), binary) == 1 ||
         inet_pton(AF_INET6, host.c_str(), binary) == 1;
}

void add_extension(X509* certificate, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, certificate, certificate, nullptr, nullptr, 0);
  Extension extension(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1)
    throw TlsError("cannot make a certificate extension: " +
                   openssl_error("bad extension"));
}

}  // namespace

TlsContext::TlsContext() : context_(new_server_context()) {}

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

std::shared_ptr<const TlsContext> TlsContext::from_files(
    const std::string& cert_file, const std::string& key_file) {
  std::shared_ptr<TlsContext> tls(new TlsContext());
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(tls->context_, cert_file.c_str()) != 1)
    throw TlsError("cannot load the TLS certificate " + cert_file + ": " +
                   openssl_error("unreadable"));
  if (SSL_CTX_use_PrivateKey_file(tls->context_, key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1)
    throw TlsError("cannot load the TLS key " + key_file + ": " +
                   openssl_error("unreadable"));
  if (SSL_CTX_check_private_key(tls->context_) != 1)
    throw TlsError("the TLS key " + key_file +
                   " does not match the certificate " + cert_file + ": " +
                   openssl_error("mismatch"));
  return tls;
}

std::shared_ptr<const TlsContext> TlsContext::self_signed(
    const std::string& hostname) {
  if (hostname.empty() || hostname.size() > 253 ||
      hostname.find_first_of(",\n\r\0", 0, 4) != std::string::npos)
    throw TlsError("cannot make a certificate for the host name \"" + hostname +
                   "\"");
  std::shared_ptr<TlsContext> tls(new TlsContext());
  ERR_clear_error();
  // P-256: a key and a signature cost a fraction of a millisecond, where
  // RSA-2048 would cost tens, in every process that makes one.
  Key key(EVP_EC_gen("P-256"));
  Certificate certificate(X509_new());
  if (!key || !certificate)
    throw TlsError("cannot make a key: " + openssl_error("out of memory"));
  X509* x = certificate.get();
  X509_set_version(x, 2);  // v3: extensions
  // A random serial (RFC 5280 4.1.2.2: positive, at most 20 octets).
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1)
    throw TlsError("cannot make a serial number: " +
                   openssl_error("no randomness"));
  serial[0] &= 0x7F;
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_set =
      number && BN_to_ASN1_INTEGER(number, X509_get_serialNumber(x));
  BN_free(number);
  if (!serial_set)
    throw TlsError("cannot set a serial number: " + openssl_error("bad"));
  X509_gmtime_adj(X509_getm_notBefore(x), not_before_seconds);
  X509_gmtime_adj(X509_getm_notAfter(x), not_after_seconds);
  X509_NAME* name = X509_get_subject_name(x);
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1,
          0) != 1)
    throw TlsError("cannot name the certificate \"" + hostname +
                   "\": " + openssl_error("bad name"));
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key.get());
  // RFC 6125 6.4.4: clients look in subjectAltName first (or only).
  add_extension(x, NID_subject_alt_name,
                (is_ip_literal(hostname) ? "IP:" : "DNS:") + hostname);
  add_extension(x, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(x, NID_key_usage, "critical,digitalSignature");
  add_extension(x, NID_ext_key_usage, "serverAuth");
  if (X509_sign(x, key.get(), EVP_sha256()) <= 0)
    throw TlsError("cannot sign the certificate: " +
                   openssl_error("no signature"));
  if (SSL_CTX_use_certificate(tls->context_, x) != 1 ||
      SSL_CTX_use_PrivateKey(tls->context_, key.get()) != 1)
    throw TlsError("cannot use the certificate: " + openssl_error("refused"));
  return tls;
}

// The server end of one connection: OpenSSL's session between two memory
// BIOs, and what goes in and out of it.
struct __attribute__((visibility("hidden"))) TlsSession::Impl {
  explicit Impl(std::shared_ptr<const TlsContext> context);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void feed(std::string_view ciphertext);
  void end_of_input();
  void write(std::string_view plaintext);
  void close();
  std::string protocol() const;
  std::string cipher() const;

  void advance();  // runs the handshake and reads what can be read
  void flush_pending();
  void drain();  // OpenSSL's outgoing bytes into output_
  void fail(std::string_view what);

  std::shared_ptr<const TlsContext> context_;
  SSL* ssl_ = nullptr;
  BIO* incoming_ = nullptr;  // owned by ssl_
  BIO* outgoing_ = nullptr;  // owned by ssl_
  State state_ = State::handshaking;
  std::string output_;
  std::string plaintext_;
  std::string pending_;  // written before the handshake was done
  std::string error_;
};

TlsSession::Impl::Impl(std::shared_ptr<const TlsContext> context)
    : context_(std::move(context)) {
  ssl_ = SSL_new(context_->native());
  incoming_ = BIO_new(BIO_s_mem());
  outgoing_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !incoming_ || !outgoing_) {
    BIO_free(incoming_);
    BIO_free(outgoing_);
    SSL_free(ssl_);
    ssl_ = nullptr;
    throw TlsError("cannot start a TLS session: " +
                   openssl_error("out of memory"));
  }
  // An empty memory BIO says "retry later", not "end of file".
  BIO_set_mem_eof_return(incoming_, -1);
  SSL_set_bio(ssl_, incoming_, outgoing_);
  SSL_set_accept_state(ssl_);
}

TlsSession::Impl::~Impl() { SSL_free(ssl_); }

void TlsSession::Impl::fail(std::string_view what) {
  error_ = openssl_error(what);
  state_ = State::failed;
  drain();  // the alert that tells the client why
  plaintext_.clear();
  pending_.clear();
}

void TlsSession::Impl::drain() {
  char buffer[16384];
  int n;
  while ((n = BIO_read(outgoing_, buffer, sizeof buffer)) > 0)
    output_.append(buffer, std::size_t(n));
}

void TlsSession::Impl::feed(std::string_view ciphertext) {
  if (state_ != State::handshaking && state_ != State::open) return;
  while (!ciphertext.empty()) {
    const int n =
        BIO_write(incoming_, ciphertext.data(),
                  int(std::min<std::size_t>(ciphertext.size(), 1 << 20)));
    if (n <= 0) return fail("out of memory");
    ciphertext.remove_prefix(std::size_t(n));
  }
  advance();
}

void TlsSession::Impl::end_of_input() {
  if (state_ == State::handshaking) {
    ERR_clear_error();
    error_ = "the client closed the connection during the handshake";
    state_ = State::failed;
  } else if (state_ == State::open) {
    state_ = State::closed;
  }
}

void TlsSession::Impl::advance() {
  ERR_clear_error();
  if (state_ == State::handshaking) {
    const int result = SSL_do_handshake(ssl_);
    if (result != 1) {
      const int reason = SSL_get_error(ssl_, result);
      if (reason == SSL_ERROR_WANT_READ) return drain();
      return fail("handshake failed");
    }
    state_ = State::open;
    flush_pending();
  }
  char buffer[16384];
  for (;;) {
    std::size_t n = 0;
    const int result = SSL_read_ex(ssl_, buffer, sizeof buffer, &n);
    if (result == 1) {
      plaintext_.append(buffer, n);
      continue;
    }
    const int reason = SSL_get_error(ssl_, result);
    if (reason == SSL_ERROR_WANT_READ) break;
    if (reason == SSL_ERROR_ZERO_RETURN) {
      // close_notify: the client is done; answer with ours.
      SSL_shutdown(ssl_);
      state_ = State::closed;
      break;
    }
    return fail("TLS record error");
  }
  drain();
}

void TlsSession::Impl::flush_pending() {
  if (pending_.empty()) return;
  std::string held;
  held.swap(pending_);
  write(held);
}

void TlsSession::Impl::write(std::string_view plaintext) {
  if (plaintext.empty()) return;
  if (state_ == State::handshaking) {
    pending_.append(plaintext);
    return;
  }
  if (state_ != State::open) return;
  ERR_clear_error();
  std::size_t written = 0;
  // A memory BIO never blocks: everything is taken at once.
  if (SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written) != 1 ||
      written != plaintext.size())
    return fail("TLS write failed");
  drain();
}

void TlsSession::Impl::close() {
  if (state_ == State::open || state_ == State::closed) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    drain();
  }
  if (state_ != State::failed) state_ = State::closed;
}

std::string TlsSession::Impl::protocol() const {
  return state_ == State::handshaking ? std::string() : SSL_get_version(ssl_);
}

std::string TlsSession::Impl::cipher() const {
  const char* name = SSL_get_cipher_name(ssl_);
  return name && state_ != State::handshaking ? name : std::string();
}

TlsSession::TlsSession(std::shared_ptr<const TlsContext> context)
    : impl_(std::make_unique<Impl>(std::move(context))) {}

TlsSession::~TlsSession() = default;

void TlsSession::feed(std::string_view ciphertext) { impl_->feed(ciphertext); }
void TlsSession::end_of_input() { impl_->end_of_input(); }
std::string_view TlsSession::output() const { return impl_->output_; }
void TlsSession::consume_output(std::size_t n) { impl_->output_.erase(0, n); }
std::string_view TlsSession::plaintext() const { return impl_->plaintext_; }
void TlsSession::consume_plaintext(std::size_t n) {
  impl_->plaintext_.erase(0, n);
}
void TlsSession::write(std::string_view plaintext) { impl_->write(plaintext); }
void TlsSession::close() { impl_->close(); }
TlsLayer::State TlsSession::state() const { return impl_->state_; }
const std::string& TlsSession::error() const { return impl_->error_; }
std::string TlsSession::protocol() const { return impl_->protocol(); }
std::string TlsSession::cipher() const { return impl_->cipher(); }
ssl_st* TlsSession::native() const { return impl_->ssl_; }

TlsFactory tls_sessions(std::shared_ptr<const TlsContext> context) {
  return [context = std::move(context)]() -> std::unique_ptr<TlsLayer> {
    return std::make_unique<TlsSession>(context);
  };
}

}  // namespace smtpd
