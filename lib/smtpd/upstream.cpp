// upstream.cpp - one SMTP session with an upstream server over libcurl,
// loaded on first use (see upstream.hpp).
#include "smtpd/upstream.hpp"

#include <curl/curl.h>
#include <dlfcn.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#ifndef LIBCURL_SONAME
#define LIBCURL_SONAME "libcurl.so.4"
#endif

namespace smtpd {
namespace {

// The part of libcurl's API we use, resolved at run time.
struct Curl {
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_send) easy_send = nullptr;
  decltype(&curl_easy_recv) easy_recv = nullptr;
  // libcurl 7.73 and later: an option's name, for a refusal to name it.
  decltype(&curl_easy_option_by_id) option_by_id = nullptr;
  std::string error;  // why it could not be loaded
};

template <typename Function>
bool resolve(void* library, const char* name, Function& function) {
  function = reinterpret_cast<Function>(dlsym(library, name));
  return function != nullptr;
}

const Curl& curl() {
  static const Curl loaded = [] {
    Curl api;
    void* library = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      api.error = std::string("cannot load " LIBCURL_SONAME ": ") + dlerror();
      return api;
    }
    if (!resolve(library, "curl_easy_init", api.easy_init) ||
        !resolve(library, "curl_easy_setopt", api.easy_setopt) ||
        !resolve(library, "curl_easy_perform", api.easy_perform) ||
        !resolve(library, "curl_easy_getinfo", api.easy_getinfo) ||
        !resolve(library, "curl_easy_cleanup", api.easy_cleanup) ||
        !resolve(library, "curl_easy_strerror", api.easy_strerror) ||
        !resolve(library, "curl_global_init", api.global_init) ||
        !resolve(library, "curl_easy_send", api.easy_send) ||
        !resolve(library, "curl_easy_recv", api.easy_recv))
      api.error = LIBCURL_SONAME " lacks a function we need";
    // Once, before any transfer: curl_global_init is not thread-safe, and
    // the standalone mode relays from several threads.
    else if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      api.error = "curl_global_init failed";
    // Optional: without it, a refused option is named by its number.
    resolve(library, "curl_easy_option_by_id", api.option_by_id);
    return api;
  }();
  return loaded;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
    if (c != prefix[i]) return false;
  }
  return true;
}

// The reply lines in a piece of libcurl's trace (HEADER_IN), whole: a
// line split across two pieces waits in partial.
template <typename OnLine>
void each_reply_line(std::string& partial, const char* data, std::size_t size,
                     OnLine on_line) {
  partial.append(data, size);
  std::size_t end;
  while ((end = partial.find('\n')) != std::string::npos) {
    std::string_view line(partial.data(), end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_line(line);
    partial.erase(0, end + 1);
  }
}

// Sets one handle's options.  The first that libcurl refuses (one it does
// not know, CURLE_UNKNOWN_OPTION, or no memory for it) is kept as a named
// failure, and the handle is then not used: a relay without its timeout
// or its TLS setting is worse than none.
class HandleOptions {
 public:
  HandleOptions(const Curl& api, CURL* handle) : api_(api), handle_(handle) {}

  template <typename Value>
  void set(CURLoption option, Value value) {
    if (!failure_.empty()) return;
    const CURLcode status = api_.easy_setopt(handle_, option, value);
    if (status == CURLE_OK) return;
    const curl_easyoption* known =
        api_.option_by_id ? api_.option_by_id(option) : nullptr;
    failure_ = "libcurl refused the option " +
               (known ? "CURLOPT_" + std::string(known->name)
                      : std::to_string(int(option))) +
               ": " + api_.easy_strerror(status);
  }
  // Empty while every option was taken.
  const std::string& failure() const { return failure_; }

 private:
  const Curl& api_;
  CURL* handle_;
  std::string failure_;
};

std::string url_for(const UpstreamSettings& settings) {
  const bool ipv6 = settings.host.find(':') != std::string::npos;
  std::string url =
      settings.tls == UpstreamSettings::Tls::smtps ? "smtps://" : "smtp://";
  url += ipv6 ? "[" + settings.host + "]" : settings.host;
  url += ":" + settings.port + "/";
  url += settings.helo_name;  // libcurl's EHLO argument
  return url;
}

// The connection's options: the trace (which is how we see the upstream's
// replies while libcurl connects, and keeps libcurl's verbose text away
// from stderr, which may be the client's connection), the timeouts, TLS,
// AUTH.
void set_connection_options(HandleOptions& options,
                            const UpstreamSettings& settings) {
  const auto set = [&](CURLoption option, auto value) {
    options.set(option, value);
  };
  set(CURLOPT_VERBOSE, 1L);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_CONNECTTIMEOUT, long(settings.connect_timeout_seconds));
  set(CURLOPT_SERVER_RESPONSE_TIMEOUT, long(settings.timeout_seconds));
  switch (settings.tls) {
    case UpstreamSettings::Tls::none:
      set(CURLOPT_USE_SSL, long(CURLUSESSL_NONE));
      break;
    case UpstreamSettings::Tls::try_starttls:
      set(CURLOPT_USE_SSL, long(CURLUSESSL_TRY));
      break;
    case UpstreamSettings::Tls::starttls:
    case UpstreamSettings::Tls::smtps:
      set(CURLOPT_USE_SSL, long(CURLUSESSL_ALL));
      break;
  }
  set(CURLOPT_SSL_VERIFYPEER, settings.verify_certificate ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, settings.verify_certificate ? 2L : 0L);
  if (!settings.ca_file.empty()) set(CURLOPT_CAINFO, settings.ca_file.c_str());
  if (!settings.username.empty()) {
    set(CURLOPT_USERNAME, settings.username.c_str());
    set(CURLOPT_PASSWORD, settings.password.c_str());
  }
}

using Clock = std::chrono::steady_clock;

// A reply longer than this is not a reply (RFC 5321 4.5.3.1.5 allows 512
// octets a line; a few dozen lines of EHLO are plenty).
constexpr std::size_t max_reply = 64 * 1024;
// The message goes out in pieces of about this size, dot-stuffed.
constexpr std::size_t send_chunk = 64 * 1024;

// libcurl's trace during the connect phase: the EHLO reply's keywords,
// and the last reply line (a refusal to say in the log).
struct ConnectTrace {
  std::vector<std::string> keywords;
  std::string last_line;
  std::string partial;
};

int on_connect_trace(CURL*, curl_infotype type, char* data, std::size_t size,
                     void* user) {
  auto& trace = *static_cast<ConnectTrace*>(user);
  if (type == CURLINFO_HEADER_OUT &&
      starts_with_nocase(std::string_view(data, size), "EHLO"))
    trace.keywords.clear();  // a new EHLO (after STARTTLS)
  if (type != CURLINFO_HEADER_IN) return 0;
  each_reply_line(trace.partial, data, size, [&](std::string_view line) {
    trace.last_line = std::string(line);
    // "250-KEYWORD params" or "250 KEYWORD" (RFC 5321 4.1.1.1); the first
    // line is the server's name, which no keyword list needs to skip: it
    // is never one we ask about.
    if (line.size() > 4 && line.substr(0, 3) == "250") {
      std::string keyword;
      for (const char c : line.substr(4)) {
        if (c == ' ') break;
        keyword += c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c;
      }
      trace.keywords.push_back(std::move(keyword));
    }
  });
  return 0;
}

int reply_code(std::string_view line) {
  if (line.size() < 3) return -1;
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return -1;
    code = code * 10 + (line[i] - '0');
  }
  if (code < 200 || code > 599) return -1;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return -1;
  return code;
}

UpstreamReply no_reply(std::string error) {
  UpstreamReply reply;
  reply.error = std::move(error);
  return reply;
}

}  // namespace

struct UpstreamSession::Impl {
  UpstreamSettings settings;
  const Curl* api = nullptr;
  CURL* handle = nullptr;
  curl_socket_t socket = CURL_SOCKET_BAD;
  // The socket as interrupt() may see it from another thread: set while
  // connected, and cleared before libcurl closes it, so that no other
  // descriptor that reuses the number is ever shut down.
  std::mutex interruptible_mutex;
  curl_socket_t interruptible = CURL_SOCKET_BAD;
  void set_interruptible(curl_socket_t value) {
    const std::lock_guard<std::mutex> lock(interruptible_mutex);
    interruptible = value;
  }
  bool broken = false;  // a reply never came: the exchange is out of step
  ConnectTrace trace;
  std::string input;  // received, not yet taken as a reply

  // The message going out after DATA's 354, dot-stuffed in bounded runs.
  struct Outgoing {
    std::string out;
    bool line_start = true;
    bool ends_with_crlf = false;
    std::string error;  // the upstream is gone: why
    Clock::time_point deadline;
  };
  Outgoing outgoing;

  // Sends what is in outgoing.out; false (and outgoing.error) when it
  // could not.  Each run that got through restarts the clock, as a
  // client's DATA timeout does (RFC 5321 4.5.3.2.5).
  bool flush() {
    Outgoing& o = outgoing;
    if (o.error.empty() && !o.out.empty())
      o.error = send_all(o.out, o.deadline);
    o.deadline = Clock::now() + timeout();
    o.out.clear();
    return o.error.empty();
  }

  std::chrono::seconds timeout() const {
    return std::chrono::seconds(settings.timeout_seconds);
  }

  // Waits for the socket (POLLIN or POLLOUT) until deadline.
  bool wait(short events, Clock::time_point deadline) const {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd fd = {socket, events, 0};
      const int ready =
          poll(&fd, 1, int(std::min<long long>(left.count(), 1000 * 1000)));
      if (ready > 0) return true;
      if (ready < 0 && errno != EINTR) return false;
    }
  }

  // Sends all of bytes, or says why not.
  std::string send_all(std::string_view bytes, Clock::time_point deadline) {
    while (!bytes.empty()) {
      std::size_t n = 0;
      const CURLcode status =
          api->easy_send(handle, bytes.data(), bytes.size(), &n);
      if (status == CURLE_AGAIN) {
        if (!wait(POLLOUT, deadline))
          return "timed out after " + std::to_string(settings.timeout_seconds) +
                 " s sending to the upstream";
        continue;
      }
      if (status != CURLE_OK)
        return std::string("lost the upstream connection: ") +
               api->easy_strerror(status);
      bytes.remove_prefix(n);
    }
    return {};
  }

  // One whole reply (the last line of a multi-line one), within deadline.
  UpstreamReply read_reply(Clock::time_point deadline) {
    for (;;) {
      // A complete reply in what came already?
      std::size_t start = 0, end;
      while ((end = input.find('\n', start)) != std::string::npos) {
        std::string_view line(input.data() + start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const int code = reply_code(line);
        if (code < 0) {
          broken = true;
          return no_reply("the upstream's reply is not SMTP: " +
                          std::string(line.substr(0, 80)));
        }
        if (line.size() == 3 || line[3] == ' ') {
          UpstreamReply reply;
          reply.code = code;
          reply.line = std::string(line);
          input.erase(0, end + 1);
          return reply;
        }
        start = end + 1;
      }
      if (input.size() > max_reply) {
        broken = true;
        return no_reply("the upstream's reply is too long");
      }
      char buffer[4096];
      std::size_t n = 0;
      const CURLcode status = api->easy_recv(handle, buffer, sizeof buffer, &n);
      if (status == CURLE_AGAIN) {
        if (!wait(POLLIN, deadline)) {
          broken = true;
          return no_reply("no reply from the upstream in " +
                          std::to_string(settings.timeout_seconds) + " s");
        }
        continue;
      }
      if (status != CURLE_OK || n == 0) {
        broken = true;
        return no_reply(status != CURLE_OK
                            ? std::string("lost the upstream connection: ") +
                                  api->easy_strerror(status)
                            : "the upstream closed the connection");
      }
      input.append(buffer, n);
    }
  }

  void close(bool say_quit) {
    if (!handle) return;
    if (say_quit && !broken) {
      const Clock::time_point deadline = Clock::now() + timeout();
      if (send_all("QUIT\r\n", deadline).empty()) read_reply(deadline);
    }
    // cleanup would send a QUIT of its own and wait for its answer: it
    // finds the connection closed instead.
    set_interruptible(CURL_SOCKET_BAD);
    if (socket != CURL_SOCKET_BAD) shutdown(socket, SHUT_RDWR);
    api->easy_cleanup(handle);
    handle = nullptr;
    socket = CURL_SOCKET_BAD;
    input.clear();
    outgoing = Outgoing();
    broken = false;
  }
};

UpstreamSession::UpstreamSession(UpstreamSettings settings)
    : impl_(std::make_unique<Impl>()) {
  impl_->settings = std::move(settings);
}

UpstreamSession::~UpstreamSession() { impl_->close(true); }

bool UpstreamSession::connected() const {
  return impl_->handle && !impl_->broken;
}

UpstreamReply UpstreamSession::connect() {
  Impl& s = *impl_;
  if (s.handle && s.broken) s.close(false);
  if (s.handle) {
    UpstreamReply ready;
    ready.code = 250;
    return ready;
  }
  const Curl& api = curl();
  if (!api.error.empty()) return no_reply(api.error);
  s.api = &api;
  s.handle = api.easy_init();
  if (!s.handle) return no_reply("curl_easy_init failed");
  s.trace = {};
  const std::string url = url_for(s.settings);
  HandleOptions options(api, s.handle);
  options.set(CURLOPT_URL, url.c_str());
  // libcurl's connect phase for smtp:// is the greeting, EHLO, STARTTLS
  // (and EHLO again) and AUTH; CONNECT_ONLY stops it there, before MAIL.
  options.set(CURLOPT_CONNECT_ONLY, 1L);
  options.set(CURLOPT_DEBUGFUNCTION, on_connect_trace);
  options.set(CURLOPT_DEBUGDATA, &s.trace);
  set_connection_options(options, s.settings);
  if (!options.failure().empty()) {
    s.close(false);
    return no_reply("cannot connect to the upstream " + s.settings.host + ":" +
                    s.settings.port + ": " + options.failure());
  }
  const CURLcode status = api.easy_perform(s.handle);
  curl_socket_t socket = CURL_SOCKET_BAD;
  if (status == CURLE_OK &&
      api.easy_getinfo(s.handle, CURLINFO_ACTIVESOCKET, &socket) == CURLE_OK &&
      socket != CURL_SOCKET_BAD) {
    s.socket = socket;
    s.set_interruptible(socket);
    UpstreamReply ready;
    ready.code = 250;
    ready.line = s.trace.last_line;
    // No one will read the trace again: commands go around libcurl now.
    options.set(CURLOPT_DEBUGFUNCTION, nullptr);
    options.set(CURLOPT_VERBOSE, 0L);
    if (options.failure().empty()) return ready;
    s.close(false);
    return no_reply("upstream " + s.settings.host + ":" + s.settings.port +
                    ": " + options.failure());
  }
  // Connect, TLS or AUTH failed: in libcurl's words, with the upstream's
  // own last reply when it gave one (a 554 greeting, a 535 to AUTH).
  std::string why =
      status == CURLE_OK ? "no connection" : api.easy_strerror(status);
  const int code = reply_code(s.trace.last_line);
  UpstreamReply failed =
      no_reply("cannot connect to the upstream " + s.settings.host + ":" +
               s.settings.port + ": " + why);
  if (code >= 400) {
    failed.error += "; it said: " + s.trace.last_line;
  }
  s.broken = true;
  s.close(false);
  return failed;
}

bool UpstreamSession::offers(std::string_view keyword) const {
  for (const std::string& offered : impl_->trace.keywords)
    if (offered == keyword) return true;
  return false;
}

UpstreamReply UpstreamSession::command(std::string_view line) {
  Impl& s = *impl_;
  if (!connected()) return no_reply("not connected to the upstream");
  const Clock::time_point deadline = Clock::now() + s.timeout();
  std::string bytes(line);
  bytes += "\r\n";
  std::string error = s.send_all(bytes, deadline);
  if (!error.empty()) {
    s.broken = true;
    return no_reply(std::move(error));
  }
  return s.read_reply(deadline);
}

UpstreamReply UpstreamSession::message(
    const std::function<void(const Pieces&)>& write_message) {
  write_message(
      [this](std::string_view piece) { return message_piece(piece); });
  return end_message();
}

bool UpstreamSession::message_piece(std::string_view text) {
  Impl& s = *impl_;
  Impl::Outgoing& o = s.outgoing;
  if (!o.error.empty()) return false;
  if (!connected()) {
    o.error = "not connected to the upstream";
    return false;
  }
  if (o.out.capacity() < send_chunk) {
    o.out.reserve(send_chunk + 2 * 1024);
    o.deadline = Clock::now() + s.timeout();
  }
  // RFC 5321 4.5.2: a line that starts with a dot gets one more.  The
  // pieces are bounded: the message is never held a second time.
  while (!text.empty()) {
    if (o.line_start && text.front() == '.') o.out += '.';
    const auto* lf =
        static_cast<const char*>(std::memchr(text.data(), '\n', text.size()));
    const std::size_t n = lf ? std::size_t(lf - text.data()) + 1 : text.size();
    o.out.append(text.data(), n);
    o.line_start = lf != nullptr;
    o.ends_with_crlf = lf != nullptr;
    text.remove_prefix(n);
    if (o.out.size() >= send_chunk && !s.flush()) return false;
  }
  return true;
}

UpstreamReply UpstreamSession::end_message() {
  Impl& s = *impl_;
  Impl::Outgoing& o = s.outgoing;
  if (o.error.empty() && !connected())
    o.error = "not connected to the upstream";
  if (o.error.empty()) {
    if (o.out.capacity() < send_chunk) o.deadline = Clock::now() + s.timeout();
    if (!o.ends_with_crlf) o.out += "\r\n";
    o.out += ".\r\n";
    s.flush();
  }
  std::string error = std::move(o.error);
  o = Impl::Outgoing();  // the next message starts afresh
  if (!error.empty()) {
    s.broken = true;
    return no_reply(std::move(error));
  }
  return s.read_reply(Clock::now() + s.timeout());
}

void UpstreamSession::quit() { impl_->close(true); }

void UpstreamSession::drop() { impl_->close(false); }

void UpstreamSession::interrupt() {
  const std::lock_guard<std::mutex> lock(impl_->interruptible_mutex);
  if (impl_->interruptible != CURL_SOCKET_BAD)
    shutdown(impl_->interruptible, SHUT_RDWR);
}

}  // namespace smtpd
