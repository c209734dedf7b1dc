// tls.hpp - TLS under an SMTP connection (RFC 3207, RFC 8314), OpenSSL 3
// through memory BIOs: no descriptor is touched here.
//
// A TlsContext holds what every session of a server shares: the
// certificate and key, the protocol versions and ciphers.  A TlsSession
// is the server end of one connection: ciphertext read from the client
// goes in with feed(), ciphertext to send comes out of output(); the
// plaintext the client sent comes out of plaintext(), and the server's
// plaintext goes in with write().  The handshake is a state of the
// session, driven by feed(): a STARTTLS (after its 220) or an implicit-TLS
// connection (from its first byte) starts one, and the SMTP channel sees
// only plaintext, once the state is open.
//
//   auto context = smtpd::TlsContext::from_files(cert, key);  // as root
//   smtpd::TlsSession tls(context);
//   tls.feed(bytes_read);                  // ciphertext in
//   write(fd, tls.output()); tls.consume_output(n);
//   if (tls.state() == TlsSession::State::open) {
//     channel.feed(tls.plaintext()); tls.consume_plaintext(...);
//     tls.write(channel.output()); ...
//   }
//   if (tls.state() == TlsSession::State::failed) log(tls.error()), close
//
// Defaults (Mozilla's "intermediate", without DHE): TLS 1.2 and 1.3 only;
// for 1.2 only ECDHE with AES-GCM or ChaCha20-Poly1305; no renegotiation,
// no compression, no session tickets (a per-connection process could
// not resume them anyway).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "smtpd/export.hpp"
#include "smtpd/tls_layer.hpp"

// OpenSSL's own types (SSL_CTX, SSL), for those who need the handle.
struct ssl_ctx_st;
struct ssl_st;

namespace smtpd {

// A context that cannot be made: one line that names the file and what
// OpenSSL found wrong.
class SMTPD_API TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SMTPD_API TlsContext {
 public:
  // --tls-cert and --tls-key: a PEM certificate (with its chain after
  // it) and its PEM private key.  Both are read here, so a key readable
  // by root only is read before privileges are dropped.
  static std::shared_ptr<const TlsContext> from_files(
      const std::string& cert_file, const std::string& key_file);
  // --tls-self-signed: a certificate for hostname (its subject CN and its
  // subjectAltName, DNS or IP), made here with a new P-256 key, valid from
  // a day ago for a year.  For test rigs: no client can verify it.
  static std::shared_ptr<const TlsContext> self_signed(
      const std::string& hostname);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // OpenSSL's SSL_CTX, to inspect or adjust it before the first session.
  ssl_ctx_st* native() const { return context_; }

 private:
  TlsContext();
  ssl_ctx_st* context_ = nullptr;
};

// The OpenSSL implementation of TlsLayer (tls_layer.hpp).
class SMTPD_API TlsSession final : public TlsLayer {
 public:
  explicit TlsSession(std::shared_ptr<const TlsContext> context);
  ~TlsSession() override;
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext from the client, in any chunking.
  void feed(std::string_view ciphertext) override;
  // The client closed the connection: without close_notify that is the
  // end of the session (a truncation a reader must not take for data).
  void end_of_input() override;

  // Ciphertext for the client: handshake messages, records, alerts.
  std::string_view output() const override;
  void consume_output(std::size_t n) override;

  // What the client sent, decrypted.  It holds whatever was fed: stop
  // reading the connection while it holds more than the channel takes.
  std::string_view plaintext() const override;
  void consume_plaintext(std::size_t n) override;

  // Plaintext for the client, encrypted into output().  Written before
  // the handshake is done, it is held and sent once it is.
  void write(std::string_view plaintext) override;
  // Sends close_notify; nothing more is read or written.
  void close() override;

  State state() const override;
  bool open() const { return state() == State::open; }
  const std::string& error() const override;

  // For the log line, once open: "TLSv1.3", "TLS_AES_256_GCM_SHA384".
  std::string protocol() const override;
  std::string cipher() const override;

  ssl_st* native() const;

 private:
  // The OpenSSL objects and the buffers are the session's own (tls.cpp):
  // the installed header holds the interface only (libsmtpd(3), ABI
  // POLICY).
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// DriverOptions::tls (driver.hpp) for a server with this context: a
// TlsSession for each connection that starts TLS.
SMTPD_API TlsFactory tls_sessions(std::shared_ptr<const TlsContext> context);

}  // namespace smtpd
