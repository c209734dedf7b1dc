// custom_command - add and replace SMTP commands without copying the
// channel, as smtpd.py's users added smtp_<VERB> methods.
//
//   XCLIENT ADDR=192.0.2.1   a new command: the peer becomes 192.0.2.1,
//                            for the clients named on the command line
//   NOOP                     replaced: answers with the session's state
//   VRFY                     removed: "command not recognized"
//   HELO name                wrapped: logged, then the built-in HELO
//
//   ./custom_command 127.0.0.1 < session   # trust a local client (a pipe)
//
// XCLIENT lets a client say it is someone else, and the relay policy
// trusts that address: taken from anyone, it makes an open relay.  So it
// is honoured only from the addresses given as arguments (a filter or
// proxy in front of us, as Postfix's smtpd_authorized_xclient_hosts).
//
// Build: c++ -std=c++17 custom_command.cpp $(pkg-config --cflags --libs
// libsmtpd)
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <smtpd/channel.hpp>
#include <smtpd/debugging.hpp>
#include <smtpd/driver.hpp>
#include <string>
#include <vector>

int main(int argc, char* argv[]) {
  const std::vector<std::string> trusted(argv + 1, argv + argc);
  smtpd::ChannelConfig config;
  config.hostname = "custom.example";

  struct : smtpd::DebuggingServer::Output {
    void write(std::string_view piece) override {
      ::write(2, piece.data(), piece.size());
    }
  } to_stderr;
  smtpd::DebuggingServer server(to_stderr);
  smtpd::Channel channel(config, smtpd::Peer{}, &server);

  // Who the client was when it connected: XCLIENT changes peer().
  const std::string connected_from = channel.peer().address;
  channel.set_command("XCLIENT", [&](smtpd::Channel& ch,
                                     const smtpd::Channel::Argument& arg) {
    if (std::find(trusted.begin(), trusted.end(), connected_from) ==
        trusted.end())
      return ch.send_reply("550 XCLIENT not allowed from " + connected_from);
    const std::string prefix = "ADDR=";
    if (!arg || arg->rfind(prefix, 0) != 0)
      return ch.send_reply("501 Syntax: XCLIENT ADDR=address");
    ch.set_peer(smtpd::Peer{arg->substr(prefix.size()), 0});
    ch.send_reply("250 OK peer is " + ch.peer().address);
  });
  channel.set_command("NOOP", [](smtpd::Channel& ch,
                                 const smtpd::Channel::Argument&) {
    ch.send_reply(
        std::string("250 greeted=") +
        (ch.seen_greeting().empty() ? "no" : ch.seen_greeting()) +
        " sender=" + (ch.has_sender() ? ch.transaction().mail_from : "none") +
        " recipients=" + std::to_string(ch.transaction().rcpt_tos.size()));
  });
  channel.set_command("VRFY", nullptr);
  channel.set_command("HELO", [](smtpd::Channel& ch,
                                 const smtpd::Channel::Argument& arg) {
    std::fprintf(stderr, "HELO from %s\n", arg ? arg->c_str() : "(nothing)");
    ch.run_builtin("HELO", arg);
  });

  smtpd::run_session(channel, 0, 1, smtpd::DriverOptions{});
}
