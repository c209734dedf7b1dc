// listener.cpp - the standalone mode's event loop (see listener.hpp).
#include "smtpd/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "smtpd/proxy_header.hpp"

namespace smtpd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t read_size = 64 * 1024;
// As in the driver: stop reading from a client that does not read its
// replies.
constexpr std::size_t output_high_water = 64 * 1024;

struct Connection {
  int fd = -1;
  Peer peer;
  std::unique_ptr<Server> server;
  std::unique_ptr<Channel> channel;  // null while a PROXY header is read
  std::string header;                // the PROXY header so far
  Clock::time_point deadline;
  Clock::time_point session_end = Clock::time_point::max();
  bool delivering = false;  // a worker thread has the pending message
  bool dead = false;        // the connection failed: drop it when we can
  bool writable = true;     // false from a short send until POLLOUT
  std::thread worker;
};

struct Delivered {
  std::uint64_t id;
  Reply reply;
};

Peer peer_of(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = "";
  Peer peer;
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    peer.port = ntohs(in.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr))
      inet_ntop(AF_INET, &in6.sin6_addr.s6_addr[12], text, sizeof text);
    else
      inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    peer.port = ntohs(in6.sin6_port);
  } else {
    return peer;
  }
  peer.address = text;
  return peer;
}

// A delivery's answer, whatever it does: a hook that throws gets the
// client a 451, never a lost connection.
Reply deliver(Server& server, const Envelope& message) {
  try {
    return server.process_message(message);
  } catch (...) {
    return std::string("451 Error: local delivery failed, try again later");
  }
}

class Loop {
 public:
  Loop(const std::vector<int>& listeners, const ListenerOptions& options,
       const ServerFactory& make_server)
      : listeners_(listeners), options_(options), make_server_(make_server) {}

  ~Loop() {
    for (auto& [id, connection] : connections_) {
      if (connection.worker.joinable()) connection.worker.join();
      if (connection.fd >= 0) close(connection.fd);
    }
    for (const int fd : wake_)
      if (fd >= 0) close(fd);
  }

  int run();

 private:
  std::chrono::seconds timeout_for(const Connection& connection) const {
    const bool in_data = connection.channel &&
                         connection.channel->state() == Channel::State::data;
    return std::chrono::seconds(
        in_data ? options_.timeouts.data_timeout_seconds
                : options_.timeouts.command_timeout_seconds);
  }
  void accept_connections(int listener);
  void start_channel(Connection& connection, std::string_view early_input);
  void read_from(Connection& connection);
  void write_to(Connection& connection);
  void flush();
  void start_deliveries();
  void collect_deliveries();
  void check_deadlines(Clock::time_point now);
  void drop_finished();
  void stop_sessions();
  bool stop_requested() const {
    return options_.timeouts.stop_requested &&
           *options_.timeouts.stop_requested;
  }

  std::vector<int> listeners_;
  const ListenerOptions& options_;
  const ServerFactory& make_server_;
  std::map<std::uint64_t, Connection> connections_;
  std::uint64_t next_id_ = 0;
  int wake_[2] = {-1, -1};  // workers write a byte here when done
  std::mutex delivered_mutex_;
  std::vector<Delivered> delivered_;
  bool stopping_ = false;
  bool grace_over_ = false;
  Clock::time_point grace_end_ = Clock::time_point::max();
  Clock::time_point accept_paused_until_;
  // The poll set, rebuilt every round in the same storage.
  std::vector<pollfd> fds_;
  std::vector<Connection*> polled_;
};

// At the stop: after Ctrl-C, sessions with no transaction under way (and
// connections still without their PROXY header) end at once, since nobody
// waits for them; whoever pressed it is told what the others hold up.
void Loop::stop_sessions() {
  const bool close_idle =
      options_.close_idle_at_stop && *options_.close_idle_at_stop;
  std::size_t waiting = 0;
  for (auto& [id, connection] : connections_) {
    const Channel* channel = connection.channel.get();
    const bool idle =
        !connection.delivering &&
        (!channel || (channel->state() == Channel::State::command &&
                      channel->transaction().mail_from.empty()));
    if (close_idle && idle) {
      if (channel)
        connection.channel->shut_down();
      else
        connection.dead = true;
    } else if (!channel || !channel->closed()) {
      ++waiting;
    }
  }
  if (waiting != 0 && options_.log_error)
    options_.log_error(
        "stopping: waiting up to " +
        std::to_string(options_.shutdown_grace_seconds) + " s for " +
        std::to_string(waiting) + (waiting == 1 ? " session" : " sessions") +
        " to end; a second signal (Ctrl-C) ends them at once with 421");
}

void Loop::accept_connections(int listener) {
  while (connections_.size() < options_.max_connections) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int fd = accept4(listener, reinterpret_cast<sockaddr*>(&address),
                           &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors: the listener stays readable, so stop polling
      // it for a while rather than spin (the clients wait in the backlog).
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM)
        accept_paused_until_ = Clock::now() + std::chrono::milliseconds(100);
      return;  // EAGAIN, or a client already gone
    }
    // The loop writes each connection's replies once per round, so Nagle
    // has nothing to coalesce; it would only hold a reply back until the
    // client acknowledges the previous one (RFC 2920's batches, split over
    // reads, would wait for the client's delayed ACK).
    const int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    Connection& connection = connections_[next_id_++];
    connection.fd = fd;
    connection.peer = peer_of(address);
    const Clock::time_point now = Clock::now();
    connection.deadline = now + timeout_for(connection);
    if (options_.timeouts.session_timeout_seconds != 0)
      connection.session_end =
          now + std::chrono::seconds(options_.timeouts.session_timeout_seconds);
    if (!options_.proxy_protocol) start_channel(connection, {});
  }
}

void Loop::start_channel(Connection& connection, std::string_view early_input) {
  ChannelConfig config = options_.channel;
  connection.server = make_server_(config);
  connection.channel = std::make_unique<Channel>(config, connection.peer);
  if (options_.on_channel)
    options_.on_channel(*connection.channel, *connection.server);
  if (stopping_ && grace_over_) connection.channel->shut_down();
  connection.channel->feed(early_input);
}

void Loop::read_from(Connection& connection) {
  char buffer[read_size];
  const ssize_t got = read(connection.fd, buffer, sizeof buffer);
  if (got < 0) {
    if (errno != EINTR && errno != EAGAIN) connection.dead = true;
    return;
  }
  const std::string_view bytes(buffer, std::size_t(got));
  connection.deadline = Clock::now() + timeout_for(connection);
  if (got > 0 && options_.timeouts.trace) options_.timeouts.trace("<", bytes);
  if (connection.channel) {
    if (got == 0)
      connection.channel->end_of_input();
    else
      connection.channel->feed(bytes);
    return;
  }
  // Reading the PROXY header: no greeting until it is complete and valid.
  if (got == 0) {
    connection.dead = true;
    return;
  }
  connection.header.append(bytes);
  const ProxyHeader header = parse_proxy_header(connection.header);
  if (header.status == ProxyHeader::Status::invalid) {
    if (options_.log_error)
      options_.log_error("bad PROXY header: " + header.error);
    connection.dead = true;
  } else if (header.status == ProxyHeader::Status::complete) {
    if (header.has_address) connection.peer = header.source;
    const std::string rest = connection.header.substr(header.length);
    connection.header.clear();
    start_channel(connection, rest);
  }
}

void Loop::write_to(Connection& connection) {
  const std::string_view output = connection.channel->output();
  const ssize_t sent =
      send(connection.fd, output.data(), output.size(), MSG_NOSIGNAL);
  if (sent > 0) {
    if (options_.timeouts.trace)
      options_.timeouts.trace(">", output.substr(0, std::size_t(sent)));
    connection.channel->consume_output(std::size_t(sent));
    connection.deadline = Clock::now() + timeout_for(connection);
  } else if (sent < 0 && errno != EINTR && errno != EAGAIN) {
    connection.dead = true;
    return;
  }
  // The socket took less than all: its buffer is full, wait for POLLOUT.
  if (sent < ssize_t(output.size())) connection.writable = false;
}

// Writes every connection's replies now, before the loop sleeps, not after
// a poll that would only say the socket is writable: that poll cost one
// system call per reply, 7 of a small session's 35.  All the input read
// so far has been fed, so a pipelined batch of commands gets its replies
// in one write (RFC 2920).  A socket that took less than all is left to
// POLLOUT.
void Loop::flush() {
  for (auto& [id, connection] : connections_) {
    if (connection.dead || connection.delivering || !connection.writable ||
        !connection.channel || connection.channel->output().empty())
      continue;
    write_to(connection);
  }
}

void Loop::start_deliveries() {
  for (auto& [id, connection] : connections_) {
    if (connection.dead || connection.delivering || !connection.channel)
      continue;
    while (const Envelope* message = connection.channel->pending_message()) {
      if (!options_.threaded_delivery) {
        connection.channel->reply(deliver(*connection.server, *message));
        continue;
      }
      // The message and the server stay put while the worker has them: the
      // channel is not fed, and the connection not dropped, until it is done.
      connection.delivering = true;
      connection.worker = std::thread(
          [this, id = id, server = connection.server.get(), message] {
            Reply reply = deliver(*server, *message);
            {
              const std::lock_guard<std::mutex> lock(delivered_mutex_);
              delivered_.push_back({id, std::move(reply)});
            }
            const char wake = 1;
            while (write(wake_[1], &wake, 1) < 0 && errno == EINTR) {
            }
          });
      break;
    }
  }
}

void Loop::collect_deliveries() {
  char drain[256];
  while (read(wake_[0], drain, sizeof drain) > 0) {
  }
  std::vector<Delivered> done;
  {
    const std::lock_guard<std::mutex> lock(delivered_mutex_);
    done.swap(delivered_);
  }
  for (Delivered& result : done) {
    Connection& connection = connections_.at(result.id);
    connection.worker.join();
    connection.delivering = false;
    connection.channel->reply(result.reply);
    if (stopping_ && grace_over_) connection.channel->shut_down();
    connection.deadline = Clock::now() + timeout_for(connection);
  }
}

void Loop::check_deadlines(Clock::time_point now) {
  for (auto& [id, connection] : connections_) {
    // A delivery in progress is our wait, not the client's.
    if (connection.dead || connection.delivering) continue;
    const bool closed = connection.channel && connection.channel->closed();
    const Clock::time_point due =
        closed ? connection.deadline
               : std::min(connection.deadline, connection.session_end);
    if (now < due) continue;
    if (!connection.channel || closed) {
      connection.dead = true;  // no header in time, or a client not reading
      continue;
    }
    connection.channel->timed_out();
    connection.deadline = now + timeout_for(connection);
  }
}

void Loop::drop_finished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection& connection = it->second;
    // A delivery thread may be closing the channel: not looked at until
    // the thread is done.
    if (connection.delivering) {
      ++it;
      continue;
    }
    const bool finished = connection.dead ||
                          (connection.channel && connection.channel->closed() &&
                           connection.channel->output().empty());
    if (finished) {
      close(connection.fd);
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

int Loop::run() {
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) return errno;
  for (;;) {
    Clock::time_point now = Clock::now();
    if (stop_requested() && !stopping_) {
      // Stop accepting; the sessions under way get the grace period.
      stopping_ = true;
      for (const int fd : listeners_) close(fd);
      listeners_.clear();
      grace_end_ = now + std::chrono::seconds(options_.shutdown_grace_seconds);
      stop_sessions();
    }
    if (stopping_ && !grace_over_ && options_.stop_now && *options_.stop_now)
      grace_end_ = now;
    if (stopping_ && !grace_over_ && now >= grace_end_) {
      grace_over_ = true;
      for (auto& [id, connection] : connections_) {
        if (!connection.channel)
          connection.dead = true;  // still no PROXY header: no session yet
        else if (!connection.delivering)
          connection.channel->shut_down();
      }
    }
    start_deliveries();
    flush();
    drop_finished();
    if (stopping_ && connections_.empty()) return 0;

    std::vector<pollfd>& fds = fds_;
    std::vector<Connection*>& polled = polled_;
    fds.clear();
    polled.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    const bool accepting = connections_.size() < options_.max_connections &&
                           now >= accept_paused_until_;
    for (const int fd : listeners_)
      fds.push_back({fd, short(accepting ? POLLIN : 0), 0});
    Clock::time_point wake_at =
        stopping_ && !grace_over_ ? grace_end_ : Clock::time_point::max();
    if (now < accept_paused_until_)
      wake_at = std::min(wake_at, accept_paused_until_);
    for (auto& [id, connection] : connections_) {
      if (connection.delivering) continue;
      short events = 0;
      const Channel* channel = connection.channel.get();
      const bool reading = !channel ||
                           channel->state() == Channel::State::command ||
                           channel->state() == Channel::State::data;
      if (reading && (!channel || channel->output().size() < output_high_water))
        events |= POLLIN;
      // Output left after flush() is what the socket had no room for.
      if (channel && !channel->output().empty()) events |= POLLOUT;
      fds.push_back({connection.fd, events, 0});
      polled.push_back(&connection);
      const bool closed = channel && channel->closed();
      wake_at = std::min(wake_at, closed ? connection.deadline
                                         : std::min(connection.deadline,
                                                    connection.session_end));
    }
    timespec wait{};
    const timespec* timeout = nullptr;
    if (wake_at != Clock::time_point::max()) {
      const auto left = std::max<std::chrono::nanoseconds::rep>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(wake_at - now)
                 .count());
      wait = {time_t(left / 1000000000), long(left % 1000000000)};
      timeout = &wait;
    }
    const int ready =
        ppoll(fds.data(), fds.size(), timeout, options_.timeouts.wait_mask);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (fds[0].revents) collect_deliveries();
    for (std::size_t i = 0; i < listeners_.size(); ++i)
      if (fds[1 + i].revents & POLLIN) accept_connections(listeners_[i]);
    const std::size_t first = 1 + listeners_.size();
    for (std::size_t i = 0; i < polled.size(); ++i) {
      Connection& connection = *polled[i];
      const short revents = fds[first + i].revents;
      // POLLHUP comes even when not asked for: read only when we meant to.
      if ((fds[first + i].events & POLLIN) &&
          (revents & (POLLIN | POLLHUP | POLLERR)))
        read_from(connection);
      // Written at the top of the next round, with the replies to what
      // was just read.
      if (revents & (POLLOUT | POLLERR | POLLHUP)) connection.writable = true;
    }
    check_deadlines(Clock::now());
  }
}

}  // namespace

int run_listener(const std::vector<int>& listening_fds,
                 const ListenerOptions& options,
                 const ServerFactory& make_server) {
  Loop loop(listening_fds, options, make_server);
  return loop.run();
}

}  // namespace smtpd
