// listener.cpp - the standalone mode's event loop (see listener.hpp).
#include "smtpd/listener.hpp"

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

#include "smtpd/connection.hpp"
#include "smtpd/peer.hpp"

namespace smtpd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t read_size = 64 * 1024;

// The hooks of one connection, with those that may block run on a thread
// of their own: they answer later, through the channel's Later handle,
// and the loop goes on with the other connections meanwhile.  What they
// are given (the session, the transaction, the address asked about) stays
// put while they run: the channel reads nothing until they answer.
class OffThread : public Handler {
 public:
  explicit OffThread(std::unique_ptr<Handler> inner)
      : inner_(std::move(inner)) {}
  ~OffThread() override {
    if (worker_.joinable()) worker_.join();
  }

  Answer handle_connect(Context& c) override {
    return run(Hook::connect, c, [=, &c] { return inner_->handle_connect(c); });
  }
  Answer handle_helo(Context& c, const std::string& name,
                     bool extended) override {
    const std::string* n = &name;
    return run(Hook::helo, c,
               [=, &c] { return inner_->handle_helo(c, *n, extended); });
  }
  Answer handle_mail(Context& c, const std::string& address) override {
    const std::string* a = &address;
    return run(Hook::mail, c, [=, &c] { return inner_->handle_mail(c, *a); });
  }
  Answer handle_rcpt(Context& c, const std::string& address) override {
    const std::string* a = &address;
    return run(Hook::rcpt, c, [=, &c] { return inner_->handle_rcpt(c, *a); });
  }
  Answer handle_data(Context& c, const Envelope& message) override {
    const Envelope* m = &message;
    return run(Hook::data, c, [=, &c] { return inner_->handle_data(c, *m); });
  }
  Answer handle_rset(Context& c) override {
    return run(Hook::rset, c, [=, &c] { return inner_->handle_rset(c); });
  }
  Answer handle_quit(Context& c) override {
    return run(Hook::quit, c, [=, &c] { return inner_->handle_quit(c); });
  }
  Answer handle_verb(Context& c, const std::string& verb,
                     const std::optional<std::string>& argument) override {
    const std::string* v = &verb;
    const std::optional<std::string>* a = &argument;
    return run(Hook::verb, c,
               [=, &c] { return inner_->handle_verb(c, *v, *a); });
  }
  Answer handle_auth(Context& c, const AuthCredentials& credentials) override {
    const AuthCredentials* k = &credentials;
    return run(Hook::auth, c, [=, &c] { return inner_->handle_auth(c, *k); });
  }
  void message_answered(const Session& session, const Envelope& message,
                        std::string_view reply,
                        std::string_view detail) override {
    inner_->message_answered(session, message, reply, detail);
  }

 private:
  template <typename Call>
  Answer run(Hook hook, Context& context, Call call) {
    if (!inner_->blocks(hook)) return call();
    if (worker_.joinable()) worker_.join();  // it answered already
    Later later = context.later();
    worker_ = std::thread([later, hook, call] {
      Answer answer = call_hook(hook, call);
      if (answer.kind() != Answer::Kind::later) later.answer(std::move(answer));
    });
    return Answer::later();
  }

  std::unique_ptr<Handler> inner_;
  std::thread worker_;
};

struct Client {
  int fd = -1;
  std::unique_ptr<Handler> handler;
  std::unique_ptr<Connection> connection;
  bool writable = true;  // false from a short send until POLLOUT
};

class Loop {
 public:
  Loop(const std::vector<int>& listeners, const ListenerOptions& options,
       const HandlerFactory& make_handler)
      : listeners_(listeners), options_(options), make_handler_(make_handler) {
    timeouts_ = options_.timeouts;
    if (!timeouts_.log) timeouts_.log = options_.log_error;
  }

  ~Loop() {
    // The connections (their handlers join any thread still running)
    // before the descriptors.
    for (auto& [id, client] : clients_) {
      client.connection.reset();
      client.handler.reset();
      if (client.fd >= 0) close(client.fd);
    }
    for (const int fd : wake_)
      if (fd >= 0) close(fd);
  }

  int run();

 private:
  void accept_connections(int listener);
  void read_from(Client& client);
  void write_to(Client& client);
  void flush();
  void collect_answers();
  void drop_finished();
  void stop_sessions(Clock::time_point now);
  bool stop_requested() const {
    return timeouts_.stop_requested && *timeouts_.stop_requested;
  }

  std::vector<int> listeners_;
  const ListenerOptions& options_;
  DriverOptions timeouts_;
  const HandlerFactory& make_handler_;
  std::map<std::uint64_t, Client> clients_;
  std::uint64_t next_id_ = 0;
  int wake_[2] = {-1, -1};  // a Later handle writes a byte here
  std::mutex answered_mutex_;
  std::vector<std::uint64_t> answered_;  // whose Later handle answered
  bool stopping_ = false;
  bool grace_over_ = false;
  Clock::time_point grace_end_ = Clock::time_point::max();
  Clock::time_point accept_paused_until_;
  // The poll set, rebuilt every round in the same storage.
  std::vector<pollfd> fds_;
  std::vector<Client*> polled_;
};

// At the stop: after Ctrl-C, sessions with no transaction under way (and
// connections still without their PROXY header) end at once, since nobody
// waits for them; whoever pressed it is told what the others hold up.
void Loop::stop_sessions(Clock::time_point now) {
  const bool close_idle =
      options_.close_idle_at_stop && *options_.close_idle_at_stop;
  std::size_t waiting = 0;
  for (auto& [id, client] : clients_) {
    Connection& connection = *client.connection;
    const Channel* channel = connection.channel();
    if (connection.finished() || (channel && channel->closed())) continue;
    const bool idle =
        !connection.waiting() &&
        (!channel || (channel->state() == Channel::State::command &&
                      channel->transaction().mail_from.empty()));
    if (close_idle && idle)
      connection.stop(now);  // 421, or closed if still without its header
    else
      ++waiting;
  }
  if (waiting != 0 && options_.log_error)
    options_.log_error(
        "stopping: waiting up to " +
        std::to_string(options_.shutdown_grace_seconds) + " s for " +
        std::to_string(waiting) + (waiting == 1 ? " session" : " sessions") +
        " to end; a second signal (Ctrl-C) ends them at once with 421");
}

void Loop::accept_connections(int listener) {
  while (clients_.size() < options_.max_connections) {
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
    const std::uint64_t id = next_id_++;
    Client& client = clients_[id];
    client.fd = fd;
    client.handler = std::make_unique<OffThread>(make_handler_());
    client.connection = std::make_unique<Connection>(
        timeouts_, options_.channel, *client.handler,
        peer_from_address(reinterpret_cast<const sockaddr*>(&address), length),
        options_.proxy_protocol, Clock::now());
    client.connection->set_wake([this, id] {
      {
        const std::lock_guard<std::mutex> lock(answered_mutex_);
        answered_.push_back(id);
      }
      const char byte = 1;
      while (write(wake_[1], &byte, 1) < 0 && errno == EINTR) {
      }
    });
    if (stopping_ && grace_over_) client.connection->stop(Clock::now());
  }
}

void Loop::read_from(Client& client) {
  char buffer[read_size];
  const ssize_t got = read(client.fd, buffer, sizeof buffer);
  if (got < 0) {
    if (errno == ECONNRESET)
      client.connection->input_ended(Clock::now());
    else if (errno != EINTR && errno != EAGAIN)
      client.connection->failed();
  } else if (got == 0) {
    client.connection->input_ended(Clock::now());
  } else {
    client.connection->received(std::string_view(buffer, std::size_t(got)),
                                Clock::now());
  }
  if (stopping_ && grace_over_) client.connection->stop(Clock::now());
}

void Loop::write_to(Client& client) {
  const std::string_view output = client.connection->output();
  const ssize_t sent =
      send(client.fd, output.data(), output.size(), MSG_NOSIGNAL);
  if (sent > 0) {
    client.connection->sent(std::size_t(sent), Clock::now());
  } else if (sent < 0 && errno != EINTR && errno != EAGAIN) {
    client.connection->failed();
    return;
  }
  // The socket took less than all: its buffer is full, wait for POLLOUT.
  if (sent < ssize_t(output.size())) client.writable = false;
}

// Writes every connection's replies now, before the loop sleeps, not after
// a poll that would only say the socket is writable: that poll cost one
// system call per reply, 7 of a small session's 35.  All the input read
// so far has been fed, so a pipelined batch of commands gets its replies
// in one write (RFC 2920).  A socket that took less than all is left to
// POLLOUT.
void Loop::flush() {
  for (auto& [id, client] : clients_) {
    if (!client.writable || client.connection->output().empty()) continue;
    write_to(client);
  }
}

void Loop::collect_answers() {
  char drain[256];
  while (read(wake_[0], drain, sizeof drain) > 0) {
  }
  std::vector<std::uint64_t> answered;
  {
    const std::lock_guard<std::mutex> lock(answered_mutex_);
    answered.swap(answered_);
  }
  for (const std::uint64_t id : answered) {
    const auto found = clients_.find(id);
    if (found == clients_.end()) continue;
    found->second.connection->collect(Clock::now());
    if (stopping_ && grace_over_) found->second.connection->stop(Clock::now());
  }
}

void Loop::drop_finished() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    Client& client = it->second;
    if (client.connection->finished()) {
      client.connection.reset();  // its end line
      client.handler.reset();
      close(client.fd);
      it = clients_.erase(it);
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
      stop_sessions(now);
    }
    if (stopping_ && !grace_over_ && options_.stop_now && *options_.stop_now)
      grace_end_ = now;
    if (stopping_ && !grace_over_ && now >= grace_end_) {
      grace_over_ = true;
      for (auto& [id, client] : clients_) client.connection->stop(now);
    }
    flush();
    drop_finished();
    if (stopping_ && clients_.empty()) return 0;

    std::vector<pollfd>& fds = fds_;
    std::vector<Client*>& polled = polled_;
    fds.clear();
    polled.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    const bool accepting = clients_.size() < options_.max_connections &&
                           now >= accept_paused_until_;
    for (const int fd : listeners_)
      fds.push_back({fd, short(accepting ? POLLIN : 0), 0});
    Clock::time_point wake_at =
        stopping_ && !grace_over_ ? grace_end_ : Clock::time_point::max();
    if (now < accept_paused_until_)
      wake_at = std::min(wake_at, accept_paused_until_);
    for (auto& [id, client] : clients_) {
      const Connection& connection = *client.connection;
      short events = 0;
      if (connection.wants_input()) events |= POLLIN;
      // Output left after flush() is what the socket had no room for.
      if (!connection.output().empty()) events |= POLLOUT;
      fds.push_back({client.fd, events, 0});
      polled.push_back(&client);
      wake_at = std::min(wake_at, connection.wake_at());
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
        ppoll(fds.data(), fds.size(), timeout, timeouts_.wait_mask);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (fds[0].revents) collect_answers();
    for (std::size_t i = 0; i < listeners_.size(); ++i)
      if (fds[1 + i].revents & POLLIN) accept_connections(listeners_[i]);
    const std::size_t first = 1 + listeners_.size();
    for (std::size_t i = 0; i < polled.size(); ++i) {
      Client& client = *polled[i];
      const short revents = fds[first + i].revents;
      // POLLHUP comes even when not asked for: read only when we meant to.
      if ((fds[first + i].events & POLLIN) &&
          (revents & (POLLIN | POLLHUP | POLLERR)))
        read_from(client);
      // Written at the top of the next round, with the replies to what
      // was just read.
      if (revents & (POLLOUT | POLLERR | POLLHUP)) client.writable = true;
    }
    now = Clock::now();
    for (auto& [id, client] : clients_) client.connection->tick(now);
  }
}

}  // namespace

int run_listener(const std::vector<int>& listening_fds,
                 const ListenerOptions& options,
                 const HandlerFactory& make_handler) {
  Loop loop(listening_fds, options, make_handler);
  return loop.run();
}

}  // namespace smtpd
