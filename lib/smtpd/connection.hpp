// connection.hpp - one client connection, whatever loop drives it.
//
// Everything a connection needs besides its socket, in one place, for the
// inetd driver (driver.hpp), the standalone listener (listener.hpp) and a
// loop of your own: the PROXY header before the greeting, the channel and
// its hooks, the deadlines (idle, DATA, and the whole session's cap, which
// covers the PROXY header too), the output high-water mark, the -d trace,
// the log lines (a hook's unusable answer, the end of the session), and a
// hook's answer that comes later, and TLS (STARTTLS or from the first
// byte, when DriverOptions::tls is set): the layer goes between the bytes
// and the channel, which sees only plaintext.  The loop brings bytes and
// the time and takes output: the connection never touches a descriptor or
// a clock, and a loop needs nothing of its own for TLS.
//
//   Connection connection(options, config, handler, peer, proxy, now);
//   loop: if (connection.wants_input()) read -> connection.received(bytes, now)
//         write connection.output() -> connection.sent(n, now)
//         sleep until connection.wake_at(), then connection.tick(now)
//         until connection.finished()
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "smtpd/channel.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/export.hpp"
#include "smtpd/handler.hpp"

namespace smtpd {

class SMTPD_API Connection {
 public:
  using Clock = std::chrono::steady_clock;

  // Why the session ended, as its last log line says.
  enum class End {
    none,             // not ended
    quit,             // the client said QUIT
    reset,            // the client closed the connection first
    timeout,          // idle, DATA or session timeout (or no PROXY header)
    io_error,         // reading or writing failed
    shutdown,         // the process was asked to stop
    too_many_errors,  // ChannelConfig::max_errors
    closed,           // a hook closed it (421), or refused the connection
    bad_proxy,        // the PROXY header was not valid
    tls_failed,       // the TLS handshake or a TLS record failed
  };

  // A session that reads a PROXY header first when proxy is set (the
  // peer is then the one it names), then starts its channel with handler.
  Connection(const DriverOptions& options, ChannelConfig config,
             Handler& handler, Peer peer, bool proxy, Clock::time_point now);
  // Around a channel made by the caller (no PROXY phase).
  Connection(const DriverOptions& options, Channel& channel,
             Clock::time_point now);
  // Logs the session's end line if finish() did not.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The client's bytes; its end of input.
  void received(std::string_view bytes, Clock::time_point now);
  void input_ended(Clock::time_point now);
  // Replies to send; n of them were sent.
  std::string_view output() const;
  void sent(std::size_t n, Clock::time_point now);

  // Whether to read from the client now: not while a hook's answer is
  // awaited, nor while this much output waits for a client that does not
  // read it (what it sends next would only pile up more replies).
  static constexpr std::size_t output_high_water = 64 * 1024;
  bool wants_input() const;
  // A hook's answer is awaited: the wait is ours, so no deadline runs.
  bool waiting() const;
  // When tick() has something to do; Clock::time_point::max() for never.
  Clock::time_point wake_at() const;
  void tick(Clock::time_point now);

  // The process is asked to stop: 421 now, or once the awaited answer came.
  void stop(Clock::time_point now);
  // Reading or writing failed: the session is over.
  void failed();
  // The loop saw the client close the connection while a hook's answer
  // was awaited (the answer will reach no one): the hooks' Later handles
  // say so (Later::client_gone).
  void client_gone();
  // Nothing more to do: close the connection.
  bool finished() const;
  End end() const;

  // A hook answered later: wake is called (from the answering thread) once
  // the answer is there; then collect() applies it on the loop's thread.
  void set_wake(std::function<void()> wake);
  void collect(Clock::time_point now);

  Channel* channel();
  const Channel* channel() const;
  // The TLS layer, once started (STARTTLS or implicit TLS).
  const TlsLayer* tls() const;
  // The one line at the end: peer, HELO name, AUTH identity, messages,
  // the TLS protocol and cipher, why it ended.
  std::string end_line() const;
  // Logs end_line() once (the destructor does, if not called before).
  void finish();

 private:
  // Everything else is the connection's own (connection.cpp): the
  // installed header holds the interface only (libsmtpd(3), ABI POLICY).
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

SMTPD_API std::string_view end_name(Connection::End end);

}  // namespace smtpd
