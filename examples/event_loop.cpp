// event_loop - many sessions in one process, from our own event loop.
//
// The channel does no I/O, so any loop can drive it: this one is plain
// poll(2) over a listening socket and its connections.  Its hooks answer
// later, as a check against a database or a relay waiting for its
// upstream would: each recipient and each message is answered on the
// next turn of the loop, after the other connections had theirs.  A hook
// that answers later takes a Later handle from its context; answering it
// (from any thread) and then calling Channel::collect_later() on the
// loop's thread goes on with the session.  SIGTERM or Ctrl-C stops the
// loop: StopSignals keeps them blocked but while it waits, so that a
// signal ends the wait and never cuts a turn short.
//
//   ./event_loop 8025 &        # serve 127.0.0.1:8025
//   curl smtp://127.0.0.1:8025 --mail-from a@b --mail-rcpt c@d -T msg.txt
//
// Build: c++ -std=c++17 event_loop.cpp $(pkg-config --cflags --libs libsmtpd)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <smtpd/channel.hpp>
#include <smtpd/peer.hpp>
#include <smtpd/stop_signals.hpp>
#include <vector>

// Answers to give on the next turn of the loop.
struct Deferred {
  smtpd::Later later;
  smtpd::Answer answer;
};
std::vector<Deferred> next_turn;

class LaterHandler : public smtpd::Handler {
 public:
  smtpd::Answer handle_rcpt(smtpd::Context& context,
                            const std::string& address) override {
    next_turn.push_back(
        {context.later(), address.rfind("nobody@", 0) == 0
                              ? smtpd::Answer::reply("550 No such user")
                              : smtpd::Answer::accept()});
    return smtpd::Answer::later();
  }
  smtpd::Answer handle_data(smtpd::Context& context,
                            const smtpd::Envelope& message) override {
    std::fprintf(stderr, "message from %s for %zu recipient(s), %zu bytes\n",
                 message.mail_from.c_str(), message.rcpt_tos.size(),
                 message.data.size());
    next_turn.push_back({context.later(), smtpd::Answer::accept()});
    return smtpd::Answer::later();
  }
};

struct Connection {
  LaterHandler handler;
  std::unique_ptr<smtpd::Channel> channel;
};

int main(int argc, char* argv[]) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 8025;
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  const int yes = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) !=
          0 ||
      listen(listener, 128) != 0) {
    std::perror("listen");
    return 1;
  }
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  const smtpd::StopSignals stop =
      smtpd::StopSignals::catch_signals({SIGTERM, SIGINT}, SIGINT);
  std::map<int, Connection> connections;
  while (!stop.stop_requested()) {
    // Answer what the hooks deferred on the previous turn, then let each
    // channel go on with its answer.
    std::vector<Deferred> answers;
    answers.swap(next_turn);
    for (Deferred& deferred : answers) deferred.later.answer(deferred.answer);
    for (auto& [fd, connection] : connections)
      connection.channel->collect_later();

    std::vector<pollfd> fds{{listener, POLLIN, 0}};
    for (auto& [fd, connection] : connections) {
      const smtpd::Channel& channel = *connection.channel;
      short events = channel.output().empty() ? 0 : POLLOUT;
      if (channel.state() == smtpd::Channel::State::command ||
          channel.state() == smtpd::Channel::State::data)
        events |= POLLIN;
      fds.push_back({fd, events, 0});
    }
    const timespec now{0, 0};
    if (ppoll(fds.data(), fds.size(), next_turn.empty() ? nullptr : &now,
              stop.wait_mask()) < 0)
      continue;  // a stop signal (EINTR)

    if (fds[0].revents & POLLIN) {
      sockaddr_storage peer{};
      socklen_t length = sizeof peer;
      const int fd =
          accept(listener, reinterpret_cast<sockaddr*>(&peer), &length);
      if (fd >= 0) {
        smtpd::ChannelConfig config;
        config.hostname = "loop.example";
        Connection& connection = connections[fd];
        connection.channel = std::make_unique<smtpd::Channel>(
            config,
            smtpd::peer_from_address(reinterpret_cast<sockaddr*>(&peer),
                                     length),
            &connection.handler);
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      const int fd = fds[i].fd;
      smtpd::Channel& channel = *connections[fd].channel;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buffer[65536];
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n > 0)
          channel.feed(std::string_view(buffer, std::size_t(n)));
        else
          channel.end_of_input();
      }
      if (fds[i].revents & POLLOUT) {
        const ssize_t n = send(fd, channel.output().data(),
                               channel.output().size(), MSG_NOSIGNAL);
        if (n > 0) channel.consume_output(std::size_t(n));
      }
      // Not while a hook's answer is awaited: the handle would outlive it.
      if (channel.closed() && channel.output().empty() &&
          channel.state() != smtpd::Channel::State::awaiting_reply) {
        close(fd);
        connections.erase(fd);
      }
    }
  }
  std::printf("stopped, %zu connection(s) open\n", connections.size());
}
