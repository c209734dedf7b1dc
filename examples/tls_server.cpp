// tls_server - minimal_server with STARTTLS: one session over stdin/stdout
// (run it from inetd, systemd-socket-activate --inetd -a, tcpserver).
//
//   systemd-socket-activate --inetd -a -l 127.0.0.1:8025 ./tls_server &
//   swaks --server 127.0.0.1:8025 --tls --to you@example.com
//
// The connection core does STARTTLS (and, with tls_on_connect, implicit
// TLS) once DriverOptions::tls says how to make a TLS layer: the channel
// sees plaintext only.  Here a self-signed certificate made at start; a
// server would load its own with TlsContext::from_files(cert, key) before
// giving up root.
//
// Build: c++ -std=c++17 tls_server.cpp $(pkg-config --cflags --libs libsmtpd)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <smtpd/connection.hpp>
#include <smtpd/driver.hpp>
#include <smtpd/peer.hpp>
#include <smtpd/tls.hpp>
#include <string>

class PrintingServer : public smtpd::Server {
 public:
  smtpd::Reply process_message(const smtpd::Envelope& message) override {
    std::fprintf(stderr, "from %s, %zu bytes\n", message.mail_from.c_str(),
                 message.data.size());
    return std::nullopt;  // "250 OK"
  }
  smtpd::Answer handle_mail(smtpd::Context& context,
                            const std::string& address) override {
    // Mail only under TLS (as --require-tls, but a hook's own decision).
    if (!context.session().tls)
      return smtpd::Answer::reply(
          "530 5.7.0 Must issue a STARTTLS command first");
    return smtpd::Server::handle_mail(context, address);
  }
};

int main() {
  smtpd::DriverOptions options;
  options.tls =
      smtpd::tls_sessions(smtpd::TlsContext::self_signed("tls.example"));
  options.log = [](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
  };
  smtpd::ChannelConfig config;
  config.hostname = "tls.example";
  PrintingServer server;
  smtpd::Connection connection(options, config, server,
                               smtpd::find_peer(0, std::getenv), false,
                               std::chrono::steady_clock::now());
  smtpd::run_connection(connection, 0, 1, options);
}
