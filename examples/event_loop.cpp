// event_loop - many sessions in one process, from our own event loop.
//
// The channel does no I/O, so any loop can drive it: this one is plain
// poll(2) over a listening socket and its connections.  Deliveries answer
// later, as a relay waiting for its upstream would: a message is answered
// on the next turn of the loop, after the other connections had theirs.
//
//   ./event_loop 8025 &        # serve 127.0.0.1:8025
//   curl smtp://127.0.0.1:8025 --mail-from a@b --mail-rcpt c@d -T msg.txt
//
// Build: c++ -std=c++17 event_loop.cpp $(pkg-config --cflags --libs libsmtpd)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <smtpd/channel.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

struct Connection {
  std::unique_ptr<smtpd::Channel> channel;
  bool answer_next_turn = false;  // a message waits for its reply
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
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener, 128) != 0) {
    std::perror("listen");
    return 1;
  }
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  std::map<int, Connection> connections;
  for (;;) {
    // Answer the messages that arrived on the previous turn.
    for (auto& [fd, connection] : connections) {
      if (const smtpd::Envelope* message = connection.channel->pending_message()) {
        if (!connection.answer_next_turn) {
          connection.answer_next_turn = true;
          continue;
        }
        std::fprintf(stderr, "message from %s for %zu recipient(s), %zu bytes\n",
                     message->mail_from.c_str(), message->rcpt_tos.size(),
                     message->data.size());
        connection.answer_next_turn = false;
        connection.channel->reply(std::nullopt);
      }
    }
    std::vector<pollfd> fds{{listener, POLLIN, 0}};
    bool waiting = false;
    for (auto& [fd, connection] : connections) {
      const smtpd::Channel& channel = *connection.channel;
      short events = channel.output().empty() ? 0 : POLLOUT;
      if (channel.state() == smtpd::Channel::State::command ||
          channel.state() == smtpd::Channel::State::data)
        events |= POLLIN;
      waiting = waiting || channel.pending_message();
      fds.push_back({fd, events, 0});
    }
    poll(fds.data(), fds.size(), waiting ? 0 : -1);

    if (fds[0].revents & POLLIN) {
      sockaddr_in peer{};
      socklen_t length = sizeof peer;
      const int fd = accept(listener, reinterpret_cast<sockaddr*>(&peer), &length);
      if (fd >= 0) {
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
        smtpd::ChannelConfig config;
        config.hostname = "loop.example";
        connections[fd].channel = std::make_unique<smtpd::Channel>(
            config, smtpd::Peer{text, ntohs(peer.sin_port)});
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
        const ssize_t n = send(fd, channel.output().data(), channel.output().size(),
                               MSG_NOSIGNAL);
        if (n > 0) channel.consume_output(std::size_t(n));
      }
      if (channel.closed() && channel.output().empty()) {
        close(fd);
        connections.erase(fd);
      }
    }
  }
}
