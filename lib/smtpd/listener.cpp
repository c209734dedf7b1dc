// listener.cpp - the standalone mode's event loop (see listener.hpp).
#include "smtpd/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "smtpd/connection.hpp"
#include "smtpd/peer.hpp"
#include "smtpd/poller.hpp"

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
  bool streams_data() const override { return inner_->streams_data(); }
  Answer handle_data_command(Context& c) override {
    return run(Hook::data_command, c,
               [=, &c] { return inner_->handle_data_command(c); });
  }
  Answer handle_data_piece(Context& c, std::string_view piece) override {
    // The piece is the channel's until the call returns: never off thread.
    return inner_->handle_data_piece(c, piece);
  }
  void data_abandoned(Context& c) override { inner_->data_abandoned(c); }

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
  bool writable = true;  // false from a short send until the poller says
  bool touched = false;  // in Loop::touched_
  bool gone = false;     // closed while a hook's answer was awaited
  unsigned watched = 0;  // what the poller waits for on fd
  Clock::time_point scheduled = Clock::time_point::max();  // in deadlines_
};

// The loop costs what the active connections cost: the poller reports only
// the ready descriptors, the deadlines are kept in time order, and only the
// connections something happened to (touched: read, answered, timed out,
// stopped, accepted, writable again) are written to and looked at after a
// round.  A connection at rest is a registration in the poller and an
// entry in deadlines_, and nothing is done for it until one of them fires.
class Loop {
 public:
  Loop(const std::vector<int>& listeners, const ListenerOptions& options,
       const HandlerFactory& make_handler)
      : listeners_(listeners), options_(options), make_handler_(make_handler) {
    connection_ = options_.connection;
    if (!connection_.log) connection_.log = options_.log_error;
    next_id_ = first_client_key + listeners_.size();
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

  void run();

 private:
  // The poller's keys: the wake-up pipe, the listeners, then the clients.
  static constexpr std::uint64_t wake_key = 0;
  static constexpr std::uint64_t first_listener_key = 1;
  static constexpr std::uint64_t first_client_key = 1 << 16;

  void accept_connections(int listener);
  void watch_listeners(bool accepting);
  void read_from(Client& client);
  void write_to(Client& client);
  void touch(std::uint64_t id, Client& client);
  void flush();
  void settle(std::uint64_t id, Client& client);
  void collect_answers();
  void run_deadlines(Clock::time_point now);
  void stop_sessions(Clock::time_point now);
  void stop_all(Clock::time_point now);

  std::vector<int> listeners_;
  const ListenerOptions& options_;
  DriverOptions connection_;  // options_.connection, with the log
  const HandlerFactory& make_handler_;
  std::unique_ptr<Poller> poller_;
  std::vector<Poller::Event> events_;
  std::unordered_map<std::uint64_t, Client> clients_;
  std::uint64_t next_id_;
  // When each connection's tick() has something to do, earliest first.
  std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines_;
  // The connections to write to and look at before the next wait.
  std::vector<std::uint64_t> touched_;
  std::vector<std::uint64_t> flushing_;  // touched_'s storage, swapped
  int wake_[2] = {-1, -1};               // a Later handle writes a byte here
  std::mutex answered_mutex_;
  std::vector<std::uint64_t> answered_;  // whose Later handle answered
  bool accepting_ = false;               // the listeners are watched
  bool stopping_ = false;
  bool grace_over_ = false;
  Clock::time_point grace_end_ = Clock::time_point::max();
  Clock::time_point accept_paused_until_;
};

// At the stop: after Ctrl-C, sessions with no transaction under way (and
// connections still without their PROXY header) end at once, since nobody
// waits for them; whoever pressed it is told what the others hold up.
void Loop::stop_sessions(Clock::time_point now) {
  const bool close_idle = options_.stop.close_idle();
  std::size_t waiting = 0;
  for (auto& [id, client] : clients_) {
    Connection& connection = *client.connection;
    const Channel* channel = connection.channel();
    if (connection.finished() || (channel && channel->closed())) continue;
    const bool idle =
        !connection.waiting() &&
        (!channel || (channel->state() == Channel::State::command &&
                      channel->transaction().mail_from.empty()));
    if (close_idle && idle) {
      connection.stop(now);  // 421, or closed if still without its header
      touch(id, client);
    } else {
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

// The grace period is over: every session gets its 421.
void Loop::stop_all(Clock::time_point now) {
  for (auto& [id, client] : clients_) {
    client.connection->stop(now);
    touch(id, client);
  }
}

void Loop::watch_listeners(bool accepting) {
  if (accepting == accepting_) return;
  accepting_ = accepting;
  // Not watched while not accepting: a listener with clients in its
  // backlog stays readable, and would wake the loop in a spin.
  for (std::size_t i = 0; i < listeners_.size(); ++i)
    poller_->watch(listeners_[i], first_listener_key + i,
                   accepting ? unsigned(Poller::readable) : 0u);
}

void Loop::accept_connections(int listener) {
  while (clients_.size() < options_.max_connections) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int fd = accept4(listener, reinterpret_cast<sockaddr*>(&address),
                           &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors: the listener stays readable, so stop watching
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
    // A socket that refuses it (not TCP: a Unix socket from systemd)
    // answers as well, only sometimes later.
    const int yes = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    const std::uint64_t id = next_id_++;
    Client& client = clients_[id];
    client.fd = fd;
    client.handler = std::make_unique<OffThread>(make_handler_());
    client.connection = std::make_unique<Connection>(
        connection_, options_.channel, *client.handler,
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
    touch(id, client);  // its greeting; settle() registers it
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
  // The socket took less than all: its buffer is full, wait until the
  // poller says it is writable.
  if (sent < ssize_t(output.size())) client.writable = false;
}

void Loop::touch(std::uint64_t id, Client& client) {
  if (client.touched) return;
  client.touched = true;
  touched_.push_back(id);
}

// Writes the touched connections' replies now, before the loop sleeps, not
// after a wait that would only say the socket is writable: that cost one
// system call per reply, 7 of a small session's 35.  All the input read
// so far has been fed, so a pipelined batch of commands gets its replies
// in one write (RFC 2920).  A socket that took less than all is left to
// the poller.  Connections nothing happened to are not looked at.
void Loop::flush() {
  flushing_.clear();
  flushing_.swap(touched_);
  for (const std::uint64_t id : flushing_) {
    const auto found = clients_.find(id);
    if (found == clients_.end()) continue;
    Client& client = found->second;
    client.touched = false;
    if (client.writable && !client.connection->output().empty())
      write_to(client);
    settle(id, client);
  }
}

// After something happened to a connection: close it if it is finished,
// else tell the poller what to wait for and file its next deadline.
void Loop::settle(std::uint64_t id, Client& client) {
  Connection& connection = *client.connection;
  if (!connection.finished()) {
    // Output left after a write is what the socket had no room for.
    // While a hook's answer is awaited the client is not read, but its
    // closing the connection is noticed: the answer will reach no one.
    const unsigned wanted =
        (connection.wants_input() ? Poller::readable : 0u) |
        (connection.output().empty() ? 0u : Poller::writable) |
        (connection.waiting() && !client.gone ? Poller::peer_closed : 0u);
    if (wanted != client.watched) {
      try {
        poller_->watch(client.fd, id, wanted);
        client.watched = wanted;
      } catch (const std::system_error&) {
        // Not watched, the connection could never go on: over at once
        // (the poller's table is full: epoll's max_user_watches).
        connection.failed();
      }
    }
  }
  if (connection.finished()) {
    if (client.scheduled != Clock::time_point::max())
      deadlines_.erase({client.scheduled, id});
    if (client.watched != 0) poller_->watch(client.fd, id, 0);
    client.connection.reset();  // its end line
    client.handler.reset();
    close(client.fd);
    clients_.erase(id);
    return;
  }
  const Clock::time_point wake_at = connection.wake_at();
  if (wake_at == client.scheduled) return;
  if (client.scheduled != Clock::time_point::max())
    deadlines_.erase({client.scheduled, id});
  if (wake_at != Clock::time_point::max()) deadlines_.insert({wake_at, id});
  client.scheduled = wake_at;
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
    touch(id, found->second);
  }
}

// The connections whose deadline has come: idle, DATA and session
// timeouts, and the last replies that a client never read.
void Loop::run_deadlines(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const std::uint64_t id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    Client& client = clients_.at(id);
    client.scheduled = Clock::time_point::max();
    client.connection->tick(now);
    touch(id, client);  // settle() files its next deadline
  }
}

void Loop::run() {
  poller_ = make_poller();
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  poller_->watch(wake_[0], wake_key, Poller::readable);
  for (;;) {
    Clock::time_point now = Clock::now();
    if (options_.stop.stop_requested() && !stopping_) {
      // Stop accepting; the sessions under way get the grace period.
      stopping_ = true;
      watch_listeners(false);
      for (const int fd : listeners_) close(fd);
      listeners_.clear();
      grace_end_ = now + std::chrono::seconds(options_.shutdown_grace_seconds);
      stop_sessions(now);
    }
    if (stopping_ && !grace_over_ && options_.stop.stop_now()) grace_end_ = now;
    if (stopping_ && !grace_over_ && now >= grace_end_) {
      grace_over_ = true;
      stop_all(now);
    }
    flush();
    if (stopping_ && clients_.empty()) return;

    watch_listeners(!stopping_ && clients_.size() < options_.max_connections &&
                    now >= accept_paused_until_);
    Clock::time_point wake_at =
        stopping_ && !grace_over_ ? grace_end_ : Clock::time_point::max();
    if (now < accept_paused_until_)
      wake_at = std::min(wake_at, accept_paused_until_);
    if (!deadlines_.empty())
      wake_at = std::min(wake_at, deadlines_.begin()->first);
    poller_->wait(events_, wake_at, options_.stop.wait_mask());
    for (const Poller::Event& event : events_) {
      if (event.key == wake_key) {
        collect_answers();
        continue;
      }
      if (event.key < first_client_key) {
        const std::size_t i = event.key - first_listener_key;
        if (i < listeners_.size()) accept_connections(listeners_[i]);
        continue;
      }
      const auto found = clients_.find(event.key);
      if (found == clients_.end()) continue;
      Client& client = found->second;
      // A hang-up comes even when not asked for: read only when we meant
      // to.
      if ((client.watched & Poller::readable) &&
          (event.what & (Poller::readable | Poller::hangup)))
        read_from(client);
      if ((client.watched & Poller::peer_closed) &&
          (event.what & Poller::peer_closed)) {
        client.gone = true;
        client.connection->client_gone();
      }
      // Written at the top of the next round, with the replies to what
      // was just read.
      if (event.what & (Poller::writable | Poller::hangup))
        client.writable = true;
      touch(event.key, client);
    }
    run_deadlines(Clock::now());
  }
}

}  // namespace

void run_listener(const std::vector<int>& listening_fds,
                  const ListenerOptions& options,
                  const HandlerFactory& make_handler) {
  Loop loop(listening_fds, options, make_handler);
  loop.run();
}

}  // namespace smtpd
