// tls_layer.hpp - what the connection core needs of a TLS implementation.
//
// The core (connection.hpp) puts TLS under a connection through this
// interface only, so that it links no TLS library: the static in.smtpd,
// which never runs TLS, stays free of OpenSSL (bench/README.md).  The
// implementation is TlsSession (tls.hpp, OpenSSL), which in.smtpd-full
// and libsmtpd's users choose by setting DriverOptions::tls:
//
//   auto context = smtpd::TlsContext::from_files(cert, key);  // as root
//   options.tls = smtpd::tls_sessions(context);
//
// A layer is the server end of one TLS connection over memory buffers:
// ciphertext in with feed(), ciphertext out of output(); plaintext out of
// plaintext(), plaintext in with write().
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "smtpd/export.hpp"

namespace smtpd {

class SMTPD_API TlsLayer {
 public:
  enum class State {
    handshaking,  // feed() the client's bytes until open or failed
    open,         // plaintext flows both ways
    closed,       // the client ended TLS (close_notify) or the connection
    failed,       // the handshake or a record failed: error() says why
  };

  virtual ~TlsLayer() = default;

  // Ciphertext from the client, in any chunking; its end.
  virtual void feed(std::string_view ciphertext) = 0;
  virtual void end_of_input() = 0;
  // Ciphertext for the client.
  virtual std::string_view output() const = 0;
  virtual void consume_output(std::size_t n) = 0;
  // What the client sent, decrypted.
  virtual std::string_view plaintext() const = 0;
  virtual void consume_plaintext(std::size_t n) = 0;
  // Plaintext for the client (held until the handshake is done).
  virtual void write(std::string_view plaintext) = 0;
  // close_notify: nothing more is read or written.
  virtual void close() = 0;

  virtual State state() const = 0;
  virtual const std::string& error() const = 0;
  // For the log line, once open: "TLSv1.3", "TLS_AES_256_GCM_SHA384".
  virtual std::string protocol() const = 0;
  virtual std::string cipher() const = 0;
};

// Makes the TLS layer of one connection; may throw (the connection then
// ends with a log line).
using TlsFactory = std::function<std::unique_ptr<TlsLayer>()>;

}  // namespace smtpd
