// scripted_upstream.hpp - an SMTP upstream on 127.0.0.1 that answers each
// line from a script: for the tests that drive a real upstream session
// (UpstreamSession, PureProxy) through a stall or a refusal.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "loopback.hpp"
#include "smtpd/upstream.hpp"

namespace smtpd {

class ScriptedUpstream {
 public:
  // What the upstream says to a line; then_stop: it reads nothing more
  // (the connection stays open, stalled, until the upstream is freed).
  struct Said {
    std::string reply;
    bool then_stop = false;
  };
  using Script = std::function<Said(const std::string& line)>;

  // Accepts one connection, greets it with 220, then follows script.
  explicit ScriptedUpstream(Script script) : script_(std::move(script)) {
    sockaddr_in address;
    listener_ = listen_on_loopback(address, 1);
    port_ = port_of(address);
    if (listener_ >= 0) thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedUpstream() {
    shutdown(listener_, SHUT_RDWR);
    if (client_ >= 0) shutdown(client_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (listener_ >= 0) close(listener_);
    if (client_ >= 0) close(client_);
  }
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  bool listening() const { return listener_ >= 0; }
  const std::string& port() const { return port_; }
  // Settings for an upstream session with it.
  UpstreamSettings settings(unsigned timeout_seconds) const {
    UpstreamSettings settings;
    settings.host = "127.0.0.1";
    settings.port = port_;
    settings.timeout_seconds = timeout_seconds;
    return settings;
  }

 private:
  void serve() {
    client_ = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client_ < 0 || !say("220 upstream ESMTP\r\n")) return;
    std::string line;
    char byte;
    while (read(client_, &byte, 1) == 1) {
      line += byte;
      if (byte != '\n') continue;
      const Said said = script_(line);
      if (!say(said.reply) || said.then_stop) return;
      line.clear();
    }
  }
  bool say(const std::string& reply) {
    return write(client_, reply.data(), reply.size()) == ssize_t(reply.size());
  }

  Script script_;
  int listener_ = -1;
  std::atomic<int> client_{-1};
  std::string port_;
  std::thread thread_;
};

}  // namespace smtpd
