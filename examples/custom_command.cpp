// custom_command - add and replace SMTP commands without copying the
// channel, as smtpd.py's users added smtp_<VERB> methods.
//
//   XCLIENT ADDR=192.0.2.1   a new command: the peer becomes 192.0.2.1
//   NOOP                     replaced: answers with the session's state
//   VRFY                     removed: "command not recognized"
//   HELO name                wrapped: logged, then the built-in HELO
//
// Build: c++ -std=c++17 custom_command.cpp $(pkg-config --cflags --libs libsmtpd)
#include <smtpd/channel.hpp>
#include <smtpd/debugging.hpp>
#include <smtpd/driver.hpp>

#include <cstdio>
#include <string>
#include <unistd.h>

int main() {
  smtpd::ChannelConfig config;
  config.hostname = "custom.example";
  smtpd::Channel channel(config, smtpd::Peer{});

  channel.set_command("XCLIENT", [](smtpd::Channel& ch, const std::string* arg) {
    const std::string prefix = "ADDR=";
    if (!arg || arg->rfind(prefix, 0) != 0)
      return ch.send_reply("501 Syntax: XCLIENT ADDR=address");
    ch.set_peer(smtpd::Peer{arg->substr(prefix.size()), 0});
    ch.send_reply("250 OK peer is " + ch.peer().address);
  });
  channel.set_command("NOOP", [](smtpd::Channel& ch, const std::string*) {
    ch.send_reply(std::string("250 greeted=") +
                  (ch.seen_greeting().empty() ? "no" : ch.seen_greeting()) +
                  " sender=" + (ch.has_sender() ? ch.transaction().mail_from : "none") +
                  " recipients=" + std::to_string(ch.transaction().rcpt_tos.size()));
  });
  channel.set_command("VRFY", nullptr);
  channel.set_command("HELO", [](smtpd::Channel& ch, const std::string* arg) {
    std::fprintf(stderr, "HELO from %s\n", arg ? arg->c_str() : "(nothing)");
    ch.run_builtin("HELO", arg);
  });

  struct : smtpd::DebuggingServer::Output {
    void write(std::string_view piece) override {
      ::write(2, piece.data(), piece.size());
    }
  } to_stderr;
  smtpd::DebuggingServer server(to_stderr, false);
  smtpd::run_session(channel, server, 0, 1, smtpd::DriverOptions{});
}
