// driver_test.cpp - a channel over a pair of descriptors (driver.hpp).
//
// Real descriptors in one process: socketpairs (one descriptor for both
// directions, as inetd hands a connection) and pipes (as a shell does).
// The driver runs in a thread; the test is the client.  Nothing waits on
// a clock to synchronise: where it can, the client writes its whole input
// before the session starts, so that what the driver reads is known; the
// client's reads wait for the driver's writes or for the end of the
// session.  Three tests wait for a real 1-second timeout; a guard of a few
// seconds on the client's reads only keeps a broken driver from hanging
// the suite.
#include "smtpd/driver.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "smtpd/connection.hpp"

namespace smtpd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view greeting = "220 localhost in.smtpd ESMTP\r\n";
// Above it, no more input is read (the connection core's).
constexpr std::size_t output_high_water = Connection::output_high_water;
// Only a broken driver makes a client wait this long.
constexpr int guard_ms = 10000;

// The driver's options in these tests: timeouts short enough that a test
// that fails with the session still running does not hang for minutes
// (a test of one timeout sets it, and the others out of its way).
DriverOptions guarded(unsigned command_seconds = 10, unsigned data_seconds = 10,
                      unsigned session_seconds = 30) {
  DriverOptions options;
  options.command_timeout_seconds = command_seconds;
  options.data_timeout_seconds = data_seconds;
  options.session_timeout_seconds = session_seconds;
  return options;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// The hook: records each message, answers from a list (then nothing).
class RecordingServer : public Server {
 public:
  explicit RecordingServer(std::vector<Reply> answers = {},
                           std::function<void()> on_message = {})
      : answers_(std::move(answers)), on_message_(std::move(on_message)) {}
  Reply process_message(const Envelope& envelope) override {
    std::lock_guard<std::mutex> lock(mutex_);
    delivered_.push_back(envelope);
    if (on_message_) on_message_();
    return next_ < answers_.size() ? answers_[next_++] : Reply{};
  }
  std::vector<Envelope> delivered() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return delivered_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Reply> answers_;
  std::size_t next_ = 0;
  std::function<void()> on_message_;
  std::vector<Envelope> delivered_;
};

// One session in its own thread.  When run_session returns, the driver's
// descriptors are closed, as the program's exit would close them: the
// client then sees the end of its input.
class Session {
 public:
  Session(ChannelConfig config, RecordingServer& server, Fd input, Fd output,
          DriverOptions options = guarded())
      : channel_(std::move(config), Peer{}, &server),
        server_(server),
        input_(std::move(input)),
        output_(std::move(output)),
        options_(std::move(options)) {}
  ~Session() { join(); }

  // Starts the session; set trace options before this.
  void start() {
    thread_ = std::thread([this] {
      result_ = run_session(channel_, input_.get(),
                            output_.get() < 0 ? input_.get() : output_.get(),
                            options_);
      output_.reset();
      input_.reset();
    });
  }
  SessionEnd join() {
    if (thread_.joinable()) thread_.join();
    return result_.end;
  }
  // Why, after io_error.
  std::error_code error() {
    join();
    return result_.error;
  }
  Channel& channel() { return channel_; }
  DriverOptions& options() { return options_; }
  std::thread& thread() { return thread_; }

 private:
  Channel channel_;
  RecordingServer& server_;
  Fd input_, output_;  // output_ unset: input_ both ways (a socket)
  DriverOptions options_;
  std::thread thread_;
  SessionResult result_{SessionEnd::io_error, {}};
};

std::pair<Fd, Fd> socket_pair() {
  int fds[2];
  EXPECT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
      << std::strerror(errno);
  return {Fd(fds[0]), Fd(fds[1])};
}

// {read end, write end}
std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  EXPECT_EQ(0, pipe(fds)) << std::strerror(errno);
  return {Fd(fds[0]), Fd(fds[1])};
}

// How a session is connected to its client: one socket, as inetd gives
// it, or two pipes, as a shell does.  The session reads session_in and
// writes session_out (none: it writes to session_in); the client writes
// to_session and reads from_session (none: it reads to_session).
struct Wiring {
  Fd session_in, session_out, to_session, from_session;

  int client_writes() const { return to_session.get(); }
  int client_reads() const {
    return from_session.get() >= 0 ? from_session.get() : to_session.get();
  }
  // The client's end of input: it shuts its side of the socket, or closes
  // its pipe.
  void client_ends_input() {
    if (from_session.get() >= 0)
      to_session.reset();
    else
      ASSERT_EQ(0, shutdown(to_session.get(), SHUT_WR));
  }
};

Wiring over_a_socket() {
  auto [client, server_end] = socket_pair();
  return {std::move(server_end), Fd(), std::move(client), Fd()};
}

Wiring over_two_pipes() {
  auto [input_read, input_write] = make_pipe();
  auto [output_read, output_write] = make_pipe();
  return {std::move(input_read), std::move(output_write),
          std::move(input_write), std::move(output_read)};
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << std::strerror(errno);
    bytes.remove_prefix(std::size_t(n));
  }
}

// Reads until the end of input, at most chunk bytes a read.  Stops early
// (and says so) only if the guard expires.
std::string read_to_end(int fd, std::size_t chunk = 4096,
                        bool* guard_expired = nullptr) {
  std::string out;
  std::vector<char> buffer(chunk);
  for (;;) {
    pollfd p = {fd, POLLIN, 0};
    const int ready = poll(&p, 1, guard_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      ADD_FAILURE() << "no end of input after " << guard_ms << " ms";
      if (guard_expired) *guard_expired = true;
      return out;
    }
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buffer.data(), std::size_t(n));
  }
}

// Reads until what was read ends with suffix (or the input ends).
std::string read_until(int fd, std::string_view suffix) {
  std::string out;
  char buffer[4096];
  while (out.size() < suffix.size() ||
         out.compare(out.size() - suffix.size(), suffix.size(), suffix) != 0) {
    pollfd p = {fd, POLLIN, 0};
    const int ready = poll(&p, 1, guard_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      ADD_FAILURE() << "no " << testing::PrintToString(std::string(suffix))
                    << " after " << guard_ms << " ms";
      return out;
    }
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buffer, std::size_t(n));
  }
  return out;
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.append(s);
  return out;
}

// A session over a socket whose client wrote input before it started,
// then read until the session closed: what the client read, and how the
// session ended.
struct Served {
  std::string replies;
  SessionEnd end;
};

Served serve(std::string_view input, RecordingServer& server,
             ChannelConfig config = {}, DriverOptions options = guarded()) {
  auto [client, server_end] = socket_pair();
  write_all(client.get(), input);
  Session session(std::move(config), server, std::move(server_end), Fd(),
                  std::move(options));
  session.start();
  Served served{read_to_end(client.get()), SessionEnd::io_error};
  served.end = session.join();
  return served;
}

const std::string session_input =
    "HELO client.example\r\n"
    "MAIL FROM:<a@b.example>\r\n"
    "RCPT TO:<c@d.example>\r\n"
    "DATA\r\n"
    "Subject: one\r\n\r\n..first\r\n.\r\n"
    "MAIL FROM:<e@f.example>\r\n"
    "RCPT TO:<g@h.example>\r\n"
    "DATA\r\n"
    "Subject: two\r\n\r\nsecond\r\n.\r\n"
    "NOOP\r\n"
    "QUIT\r\n";
const std::string session_replies = std::string(greeting) +
                                    "250 localhost\r\n"
                                    "250 OK\r\n"
                                    "250 OK\r\n"
                                    "354 End data with <CR><LF>.<CR><LF>\r\n"
                                    "250 OK\r\n"
                                    "250 OK\r\n"
                                    "250 OK\r\n"
                                    "354 End data with <CR><LF>.<CR><LF>\r\n"
                                    "554 Rejected\r\n"
                                    "250 OK\r\n"
                                    "221 Bye\r\n";

void expect_session_messages(const RecordingServer& server) {
  const std::vector<Envelope> delivered = server.delivered();
  ASSERT_EQ(2u, delivered.size());
  EXPECT_EQ("a@b.example", delivered[0].mail_from);
  EXPECT_EQ(std::vector<std::string>{"c@d.example"}, delivered[0].rcpt_tos);
  EXPECT_EQ("Subject: one\n\n.first", delivered[0].data);
  EXPECT_EQ("e@f.example", delivered[1].mail_from);
  EXPECT_EQ(std::vector<std::string>{"g@h.example"}, delivered[1].rcpt_tos);
  EXPECT_EQ("Subject: two\n\nsecond", delivered[1].data);
}

// A pipelining client sends the whole session at once, then waits: every
// reply comes back, in order, and the session ends after QUIT without the
// client closing anything.
void expect_pipelined_session(Wiring wiring) {
  write_all(wiring.client_writes(), session_input);
  RecordingServer server({Reply{}, "554 Rejected"});
  Session session(ChannelConfig{}, server, std::move(wiring.session_in),
                  std::move(wiring.session_out));
  session.start();
  EXPECT_EQ(session_replies, read_to_end(wiring.client_reads()));
  EXPECT_EQ(SessionEnd::closed, session.join());
  EXPECT_FALSE(session.error()) << session.error().message();
  expect_session_messages(server);
}

TEST(RunSession, PipelinedSessionOverOneSocket) {
  expect_pipelined_session(over_a_socket());
}

// The same over two pipes: the output is not a socket.
TEST(RunSession, PipelinedSessionOverTwoPipes) {
  expect_pipelined_session(over_two_pipes());
}

// The same, written one byte at a time while the session runs.
TEST(RunSession, ClientWritesOneByteAtATime) {
  auto [client, server_end] = socket_pair();
  RecordingServer server({Reply{}, "554 Rejected"});
  Session session(ChannelConfig{}, server, std::move(server_end), Fd());
  session.start();
  std::string replies = read_until(client.get(), greeting);
  for (const char c : session_input)
    write_all(client.get(), std::string_view(&c, 1));
  replies += read_to_end(client.get());
  EXPECT_EQ(session_replies, replies);
  EXPECT_EQ(SessionEnd::closed, session.join());
  expect_session_messages(server);
}

TEST(RunSession, TraceShowsEveryByteReadAndWritten) {
  auto [client, server_end] = socket_pair();
  write_all(client.get(), session_input);
  RecordingServer server({Reply{}, "554 Rejected"});
  Session session(ChannelConfig{}, server, std::move(server_end), Fd());
  std::string read_bytes, written_bytes, other;
  session.options().trace = [&](std::string_view direction,
                                std::string_view bytes) {
    if (direction == "<")
      read_bytes.append(bytes);
    else if (direction == ">")
      written_bytes.append(bytes);
    else
      other.append(direction);
  };
  session.start();
  EXPECT_EQ(session_replies, read_to_end(client.get()));
  session.join();
  EXPECT_EQ(session_input, read_bytes);
  EXPECT_EQ(session_replies, written_bytes);
  EXPECT_EQ("", other);
}

const std::string up_to_data =
    "HELO client.example\r\n"
    "MAIL FROM:<a@b.example>\r\n"
    "RCPT TO:<c@d.example>\r\n"
    "DATA\r\n";
const std::string up_to_data_replies =
    std::string(greeting) +
    "250 localhost\r\n"
    "250 OK\r\n"
    "250 OK\r\n"
    "354 End data with <CR><LF>.<CR><LF>\r\n";

// The client goes away in the middle of its message, after sending
// `part` of it: the message is not delivered.
void expect_closed_mid_data(Wiring wiring, const std::string& part) {
  write_all(wiring.client_writes(), up_to_data + part);
  wiring.client_ends_input();
  RecordingServer server;
  Session session(ChannelConfig{}, server, std::move(wiring.session_in),
                  std::move(wiring.session_out));
  session.start();
  EXPECT_EQ(up_to_data_replies, read_to_end(wiring.client_reads()));
  EXPECT_EQ(SessionEnd::client_closed, session.join());
  EXPECT_TRUE(server.delivered().empty());
}

TEST(RunSession, ClientClosesMidDataOverASocket) {
  expect_closed_mid_data(over_a_socket(), "Subject: x\r\n\r\nhalf a body\r\n.");
}

TEST(RunSession, ClientClosesMidDataOverPipes) {
  expect_closed_mid_data(over_two_pipes(), "Subject: x\r\n\r\nhalf a body\r\n");
}

// Commands complete before the end of input are all answered; a partial
// last line is not.
TEST(RunSession, ClientClosesAfterItsCommands) {
  auto [client, server_end] = socket_pair();
  write_all(client.get(), "HELO client.example\r\nNOOP\r\nNOOP");
  ASSERT_EQ(0, shutdown(client.get(), SHUT_WR));
  RecordingServer server;
  Session session(ChannelConfig{}, server, std::move(server_end), Fd());
  session.start();
  EXPECT_EQ(std::string(greeting) + "250 localhost\r\n250 OK\r\n",
            read_to_end(client.get()));
  EXPECT_EQ(SessionEnd::client_closed, session.join());
}

// The client closes right after a complete message: it is delivered.
TEST(RunSession, ClientClosesRightAfterAMessage) {
  auto [client, server_end] = socket_pair();
  write_all(client.get(), up_to_data + "body\r\n.\r\n");
  ASSERT_EQ(0, shutdown(client.get(), SHUT_WR));
  RecordingServer server;
  Session session(ChannelConfig{}, server, std::move(server_end), Fd());
  session.start();
  EXPECT_EQ(up_to_data_replies + "250 OK\r\n", read_to_end(client.get()));
  session.join();
  ASSERT_EQ(1u, server.delivered().size());
  EXPECT_EQ("body", server.delivered()[0].data);
}

// The channel ends the session itself (too many errors): 421, closed.
TEST(RunSession, ChannelEndsTheSession) {
  ChannelConfig config;
  config.max_errors = 2;
  RecordingServer server;
  const Served served = serve("FOO\r\nFOO\r\nNOOP\r\n", server, config);
  EXPECT_EQ(std::string(greeting) +
                "500 Error: command \"FOO\" not recognized\r\n"
                "500 Error: command \"FOO\" not recognized\r\n"
                "421 localhost Error: too many errors\r\n",
            served.replies);
  EXPECT_EQ(SessionEnd::closed, served.end);
}

// The client has gone entirely: writing fails, and the session ends
// without a signal (the program ignores SIGPIPE; sockets need not).
TEST(RunSession, WriteToAClosedSocketIsAnIoError) {
  auto [client, server_end] = socket_pair();
  write_all(client.get(), "NOOP\r\nNOOP\r\n");
  client.reset();
  RecordingServer server;
  Session session(ChannelConfig{}, server, std::move(server_end), Fd());
  session.start();
  EXPECT_EQ(SessionEnd::io_error, session.join());
  // Why, as a value: the socket's refusal (EPIPE or ECONNRESET).
  EXPECT_TRUE(session.error());
}

TEST(RunSession, WriteToAClosedPipeIsAnIoError) {
  struct sigaction ignore {
  }, saved{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(0, sigaction(SIGPIPE, &ignore, &saved));
  auto [input_read, input_write] = make_pipe();
  auto [output_read, output_write] = make_pipe();
  write_all(input_write.get(), "NOOP\r\n");
  output_read.reset();
  RecordingServer server;
  Session session(ChannelConfig{}, server, std::move(input_read),
                  std::move(output_write));
  session.start();
  EXPECT_EQ(SessionEnd::io_error, session.join());
  // The write's own error, after the end line was logged.
  EXPECT_EQ(std::error_code(EPIPE, std::system_category()), session.error())
      << session.error().message();
  sigaction(SIGPIPE, &saved, nullptr);
}

// Many pipelined commands, far more replies than the socket buffer holds,
// and a client that reads them a few bytes at a time: the driver writes
// what the socket takes, keeps the rest, stops reading while much output
// waits, and every reply arrives, once, in order.
TEST(RunSession, PartialWritesToASlowReader) {
  auto [client, server_end] = socket_pair();
  const int small = 4096;
  ASSERT_EQ(0, setsockopt(server_end.get(), SOL_SOCKET, SO_SNDBUF, &small,
                          sizeof small));

  std::string input, expected(greeting);
  for (int i = 0; i < 30000; ++i) {
    if (i % 3 == 0) {
      input += "HELP MAIL\r\n";
      expected += "250 Syntax: MAIL FROM: <address>\r\n";
    } else {
      input += "NOOP\r\n";
      expected += "250 OK\r\n";
    }
  }
  input += "QUIT\r\n";
  expected += "221 Bye\r\n";

  // As much input as the socket takes now, so that the driver's first read
  // is a full one whose replies are more than the socket can take.
  std::size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = send(client.get(), input.data() + written,
                           input.size() - written, MSG_DONTWAIT);
    if (n <= 0) break;
    written += std::size_t(n);
  }
  ASSERT_GE(written, 2 * output_high_water)
      << "the socket buffer is too small for this test";

  RecordingServer server;
  Session session(ChannelConfig{}, server, std::move(server_end), Fd());
  std::size_t partial_writes = 0, largest_output_when_reading = 0;
  std::string written_bytes;
  Channel& channel = session.channel();
  session.options().trace = [&](std::string_view direction,
                                std::string_view bytes) {
    // Called before the channel sees the bytes read, and before it drops
    // the bytes written from its output.
    if (direction == "<") {
      largest_output_when_reading =
          std::max(largest_output_when_reading, channel.output().size());
    } else {
      if (bytes.size() < channel.output().size()) ++partial_writes;
      written_bytes.append(bytes);
    }
  };
  session.start();
  std::thread writer([&, fd = client.get()] {
    write_all(fd, std::string_view(input).substr(written));
  });
  const std::string replies = read_to_end(client.get(), 97);
  writer.join();
  EXPECT_EQ(SessionEnd::closed, session.join());

  EXPECT_EQ(expected.size(), replies.size());
  EXPECT_TRUE(expected == replies) << "the replies differ";
  EXPECT_TRUE(expected == written_bytes) << "the trace differs";
  EXPECT_GT(partial_writes, 0u);
  EXPECT_LT(largest_output_when_reading, output_high_water);
}

// A client that sends a lot and closes its side without reading: the
// driver still stops reading while much output waits for it, even though
// the input now polls as hung up; all replies still arrive.
TEST(RunSession, HighWaterHoldsAfterTheClientClosesItsSide) {
  auto [input_read, input_write] = make_pipe();
  auto [output_read, output_write] = make_pipe();
  // Room for all the input at once, so that the client can close before
  // the session starts.
  if (fcntl(input_write.get(), F_SETPIPE_SZ, 1 << 20) < (1 << 20))
    GTEST_SKIP() << "cannot make a 1 MiB pipe here";
  std::string input, expected(greeting);
  for (int i = 0; i < 100000; ++i) {
    input += "NOOP\r\n";
    expected += "250 OK\r\n";
  }
  ASSERT_LT(input.size(), std::size_t(1 << 20));
  write_all(input_write.get(), input);
  input_write.reset();

  // A page of room for the replies: each write takes at most that, far
  // less than the replies to one read (64 KiB of NOOPs, 87 KB of 250s).
  if (fcntl(output_write.get(), F_SETPIPE_SZ, 4096) < 0)
    GTEST_SKIP() << "cannot make a small pipe here";

  RecordingServer server;
  Session session(ChannelConfig{}, server, std::move(input_read),
                  std::move(output_write));
  std::size_t most_output_held = 0;
  Channel& channel = session.channel();
  session.options().trace = [&](std::string_view, std::string_view) {
    most_output_held = std::max(most_output_held, channel.output().size());
  };
  session.start();
  const std::string replies = read_to_end(output_read.get(), 97);
  EXPECT_EQ(SessionEnd::client_closed, session.join());
  EXPECT_TRUE(expected == replies) << "the replies differ";
  // What the session held for the client, not how the driver decides:
  // reading on, it would have held nearly all 800 KB of replies; holding
  // back, at most the high water and the replies to one read.
  EXPECT_LT(most_output_held, expected.size() / 2);
}

// --- timeouts: when each one falls, on a clock the test gives the connection
// -----------------------------------------------------------------------------

// A connection around a channel, driven with times the test chooses, as
// the driver drives it with steady_clock's: the deadlines are exact, and
// no test waits for them.
class Clocked {
 public:
  explicit Clocked(DriverOptions options)
      : options_(std::move(options)),
        channel_(ChannelConfig{}, Peer{}, &server_),
        connection_(options_, channel_, start) {
    take(start);
  }

  // The client's bytes at now, then every reply sent at once.
  void client_says(std::string_view bytes, Clock::time_point now) {
    connection_.received(bytes, now);
    take(now);
  }
  // The connection's clock shows now: the replies that brings.
  std::string tick(Clock::time_point now) {
    connection_.tick(now);
    return take(now);
  }
  // Everything sent so far.
  const std::string& replies() const { return replies_; }
  Connection& connection() { return connection_; }
  RecordingServer& server() { return server_; }

  static constexpr Clock::time_point start{};

 private:
  std::string take(Clock::time_point now) {
    const std::string out(connection_.output());
    connection_.sent(out.size(), now);
    replies_ += out;
    return out;
  }

  RecordingServer server_;
  DriverOptions options_;
  Channel channel_;
  Connection connection_;
  std::string replies_;
};

using std::chrono::nanoseconds;
using std::chrono::seconds;
constexpr std::string_view timeout_reply =
    "421 localhost Error: timeout exceeded\r\n";

// The command timeout counts from the client's last bytes: not a moment
// before it is over, 421 once it is.
TEST(Deadlines, TheCommandTimeoutCountsFromTheLastProgress) {
  Clocked session(guarded(10, 600, 3600));
  const Clock::time_point helo = Clocked::start + seconds(5);
  session.client_says("HELO client.example\r\n", helo);
  EXPECT_EQ(std::string(greeting) + "250 localhost\r\n", session.replies());
  EXPECT_EQ(helo + seconds(10), session.connection().wake_at());
  EXPECT_EQ("", session.tick(helo + seconds(10) - nanoseconds(1)));
  EXPECT_FALSE(session.connection().finished());
  EXPECT_EQ(timeout_reply, session.tick(helo + seconds(10)));
  EXPECT_EQ(Connection::End::timeout, session.connection().end());
}

// In DATA the data timeout applies, not the (shorter) command timeout;
// the unfinished message is not delivered.
TEST(Deadlines, InDataTheDataTimeoutApplies) {
  Clocked session(guarded(1, 10, 3600));
  session.client_says(up_to_data, Clocked::start);
  const Clock::time_point part = Clocked::start + seconds(5);
  session.client_says("Subject: x\r\n\r\nbody\r\n", part);
  EXPECT_EQ(up_to_data_replies, session.replies());
  EXPECT_EQ(part + seconds(10), session.connection().wake_at());
  EXPECT_EQ("", session.tick(part + seconds(1)));
  EXPECT_EQ("", session.tick(part + seconds(10) - nanoseconds(1)));
  EXPECT_EQ(timeout_reply, session.tick(part + seconds(10)));
  EXPECT_EQ(Connection::End::timeout, session.connection().end());
  EXPECT_TRUE(session.server().delivered().empty());
}

// A client that makes progress all the time still meets the session's
// cap, counted from the start.
TEST(Deadlines, TheSessionTimeoutCapsABusyClient) {
  Clocked session(guarded(10, 10, 30));
  Clock::time_point now = Clocked::start;
  for (int i = 0; i < 5; ++i) {
    now += seconds(5);
    EXPECT_EQ("", session.tick(now));
    session.client_says("NOOP\r\n", now);
  }
  EXPECT_EQ(std::string(greeting) + repeat("250 OK\r\n", 5), session.replies());
  EXPECT_EQ(Clocked::start + seconds(30), session.connection().wake_at());
  EXPECT_EQ("", session.tick(Clocked::start + seconds(30) - nanoseconds(1)));
  EXPECT_EQ(timeout_reply, session.tick(Clocked::start + seconds(30)));
  EXPECT_EQ(Connection::End::timeout, session.connection().end());
}

// --- timeouts in the driver: real ones, of one second
// -----------------------------------------------------------------------------
// When each timeout falls is the connection's (above); these check that
// the driver reads the clock, sleeps until the connection's deadline and
// ends the session with what it says.  Only the guards are timed: they
// keep a broken driver from hanging the test.

// An idle client gets 421 after the command timeout, and the session ends.
TEST(RunSession, CommandTimeout) {
  RecordingServer server;
  const Served served =
      serve("HELO client.example\r\n", server, ChannelConfig{}, guarded(1));
  EXPECT_EQ(
      std::string(greeting) + "250 localhost\r\n" + std::string(timeout_reply),
      served.replies);
  EXPECT_EQ(SessionEnd::timed_out, served.end);
}

// In DATA the data timeout applies, not the command timeout; the
// unfinished message is not delivered.
TEST(RunSession, DataTimeout) {
  RecordingServer server;
  const Served served = serve(up_to_data + "Subject: x\r\n\r\nbody\r\n", server,
                              ChannelConfig{}, guarded(3600, 1));
  EXPECT_EQ(up_to_data_replies + std::string(timeout_reply), served.replies);
  EXPECT_EQ(SessionEnd::timed_out, served.end);
  EXPECT_TRUE(server.delivered().empty());
}

// A client that keeps the session busy still meets the session's cap.
TEST(RunSession, SessionTimeoutCapsABusyClient) {
  auto [client, server_end] = socket_pair();
  RecordingServer server;
  Session session(ChannelConfig{}, server, std::move(server_end), Fd(),
                  guarded(3600, 10, 1));
  session.start();
  std::string replies = read_until(client.get(), greeting);
  int noops = 0;
  // One NOOP after each reply, until the 421 (or the end, or the guard).
  const Clock::time_point give_up =
      Clock::now() + std::chrono::milliseconds(guard_ms);
  while (replies.find(timeout_reply) == std::string::npos) {
    if (Clock::now() > give_up) {
      client.reset();  // ends the session, whatever its timeouts
      session.join();
      FAIL() << "no 421 after " << guard_ms << " ms of NOOPs";
    }
    if (send(client.get(), "NOOP\r\n", 6, MSG_NOSIGNAL) != 6) break;
    ++noops;
    const std::string more = read_until(client.get(), "\r\n");
    if (more.empty()) break;
    replies += more;
  }
  replies += read_to_end(client.get());
  EXPECT_EQ(SessionEnd::timed_out, session.join());
  // Every NOOP answered, but perhaps the last, which may have crossed the
  // 421 on its way.
  EXPECT_GT(noops, 1);
  const std::string head(greeting);
  ASSERT_GE(replies.size(), head.size() + timeout_reply.size());
  EXPECT_EQ(head, replies.substr(0, head.size()));
  EXPECT_EQ(timeout_reply,
            replies.substr(replies.size() - timeout_reply.size()));
  const std::string middle = replies.substr(
      head.size(), replies.size() - head.size() - timeout_reply.size());
  const std::string all_ok = repeat("250 OK\r\n", std::size_t(noops));
  const std::string all_but_one = repeat("250 OK\r\n", std::size_t(noops - 1));
  EXPECT_TRUE(middle == all_ok || middle == all_but_one)
      << noops << " NOOPs: " << testing::PrintToString(middle);
}

// --- stopping
// -----------------------------------------------------------------

TEST(RunSession, StopRequestedBeforeTheSession) {
  RecordingServer server;
  DriverOptions options = guarded();
  options.stop.request();
  const Served served = serve("NOOP\r\n", server, ChannelConfig{}, options);
  EXPECT_EQ(SessionEnd::stopped, served.end);
  // Nothing is read: the 421 follows the greeting.
  EXPECT_EQ(std::string(greeting) + "421 localhost Error: shutting down\r\n",
            served.replies);
}

// A stop that arrives while a message is being delivered waits for its
// answer; the session then ends with 421.
TEST(RunSession, StopRequestedDuringDeliveryLetsItFinish) {
  auto [client, server_end] = socket_pair();
  write_all(client.get(), up_to_data + "body\r\n.\r\nNOOP\r\n");
  StopSignals stop;
  RecordingServer server({"250 Queued"}, [&] { stop.request(); });
  DriverOptions options = guarded();
  options.stop = stop;
  Session session(ChannelConfig{}, server, std::move(server_end), Fd(),
                  options);
  session.start();
  const std::string replies = read_to_end(client.get());
  EXPECT_EQ(SessionEnd::stopped, session.join());
  ASSERT_EQ(1u, server.delivered().size());
  EXPECT_EQ(up_to_data_replies + "250 Queued\r\n",
            replies.substr(0, up_to_data_replies.size() + 12));
  const std::string_view tail = "421 localhost Error: shutting down\r\n";
  EXPECT_EQ(tail, std::string_view(replies).substr(
                      replies.size() - std::min(replies.size(), tail.size())));
  EXPECT_EQ(std::string::npos, replies.find("221"));
}

// A signal while the driver waits: caught, it is blocked but for the wait,
// which it ends at once; the session stops.
TEST(RunSession, StopSignalWakesTheWait) {
  struct sigaction saved {};
  ASSERT_EQ(0, sigaction(SIGUSR1, nullptr, &saved));
  sigset_t old;
  ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, nullptr, &old));
  // The session's thread starts with SIGUSR1 blocked, as this one now.
  const StopSignals stop = StopSignals::catch_signals({SIGUSR1});
  ASSERT_NE(nullptr, stop.wait_mask());
  EXPECT_FALSE(sigismember(stop.wait_mask(), SIGUSR1));
  EXPECT_FALSE(stop.stop_requested());

  auto [client, server_end] = socket_pair();
  RecordingServer server;
  DriverOptions options = guarded();
  options.stop = stop;
  Session session(ChannelConfig{}, server, std::move(server_end), Fd(),
                  options);
  session.start();
  ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, &old, nullptr));

  std::string replies = read_until(client.get(), greeting);
  ASSERT_EQ(0, pthread_kill(session.thread().native_handle(), SIGUSR1));
  replies += read_to_end(client.get());
  EXPECT_EQ(SessionEnd::stopped, session.join());
  EXPECT_EQ(std::string(greeting) + "421 localhost Error: shutting down\r\n",
            replies);
  EXPECT_TRUE(stop.stop_requested());
  EXPECT_FALSE(stop.close_idle());
  EXPECT_FALSE(stop.stop_now());
  sigaction(SIGUSR1, &saved, nullptr);
}

// The three steps of a stop, by hand and by signal: the first asks, the
// interrupt signal also closes idle sessions, a second one ends the grace.
TEST(StopSignals, RequestsByHand) {
  StopSignals stop;
  const StopSignals copy = stop;
  EXPECT_EQ(nullptr, stop.wait_mask());
  EXPECT_FALSE(copy.stop_requested());
  stop.request();
  EXPECT_TRUE(copy.stop_requested());
  EXPECT_FALSE(copy.close_idle());
  EXPECT_FALSE(copy.stop_now());
  stop.request(true);
  EXPECT_TRUE(copy.close_idle());
  EXPECT_TRUE(copy.stop_now());
}

TEST(StopSignals, CaughtSignalsAskInSteps) {
  struct sigaction saved_usr1 {
  }, saved_usr2{};
  ASSERT_EQ(0, sigaction(SIGUSR1, nullptr, &saved_usr1));
  ASSERT_EQ(0, sigaction(SIGUSR2, nullptr, &saved_usr2));
  sigset_t old;
  ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, nullptr, &old));
  const StopSignals stop =
      StopSignals::catch_signals({SIGUSR1, SIGUSR2}, SIGUSR2);
  // Blocked: a signal waits until the thread waits with the mask.
  ASSERT_EQ(0, pthread_kill(pthread_self(), SIGUSR2));
  EXPECT_FALSE(stop.stop_requested());
  ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, stop.wait_mask(), nullptr));
  EXPECT_TRUE(stop.stop_requested());
  EXPECT_TRUE(stop.close_idle());
  EXPECT_FALSE(stop.stop_now());
  ASSERT_EQ(0, pthread_kill(pthread_self(), SIGUSR1));
  EXPECT_TRUE(stop.stop_now());
  ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, &old, nullptr));
  // Caught again: the requests start over.
  const StopSignals again = StopSignals::catch_signals({SIGUSR1});
  EXPECT_FALSE(again.stop_requested());
  EXPECT_FALSE(stop.stop_requested());
  ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, &old, nullptr));
  sigaction(SIGUSR1, &saved_usr1, nullptr);
  sigaction(SIGUSR2, &saved_usr2, nullptr);
}

}  // namespace
}  // namespace smtpd
