// minimal_server - the smallest useful SMTP receiver on libsmtpd.
//
// Subclass smtpd::Server, as smtpd.py's users subclassed SMTPServer, and
// run one session over stdin/stdout (an inetd-style program):
//
//   printf 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT
//   TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' |
//       ./minimal_server
//
// Build: c++ -std=c++17 minimal_server.cpp $(pkg-config --cflags --libs
// libsmtpd)
#include <cstdio>
#include <cstdlib>
#include <smtpd/channel.hpp>
#include <smtpd/driver.hpp>
#include <smtpd/peer.hpp>

class PrintingServer : public smtpd::Server {
 public:
  smtpd::Reply process_message(const smtpd::Envelope& message) override {
    std::fprintf(stderr, "from %s to %zu recipient(s), %zu bytes\n",
                 message.mail_from.c_str(), message.rcpt_tos.size(),
                 message.data.size());
    if (message.rcpt_tos.front().rfind("nobody@", 0) == 0)
      return "550 No such user";  // a reply of our own
    return std::nullopt;          // "250 OK"
  }
};

int main() {
  smtpd::ChannelConfig config;
  config.hostname = "minimal.example";
  PrintingServer server;
  smtpd::Channel channel(config, smtpd::find_peer(0, std::getenv), &server);
  smtpd::run_session(channel, 0, 1, smtpd::DriverOptions{});
}
