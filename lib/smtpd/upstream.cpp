// upstream.cpp - one SMTP transaction with an upstream server over
// libcurl, loaded on first use (see upstream.hpp).
#include "smtpd/upstream.hpp"

#include <curl/curl.h>
#include <dlfcn.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

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
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
  decltype(&curl_global_init) global_init = nullptr;
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
        !resolve(library, "curl_slist_append", api.slist_append) ||
        !resolve(library, "curl_slist_free_all", api.slist_free_all) ||
        !resolve(library, "curl_global_init", api.global_init))
      api.error = LIBCURL_SONAME " lacks a function we need";
    // Once, before any transfer: curl_global_init is not thread-safe, and
    // the standalone mode relays from several threads.
    else if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      api.error = "curl_global_init failed";
    return api;
  }();
  return loaded;
}

// What one transfer knows besides libcurl's own state.
struct Transfer {
  std::string_view message;
  std::size_t sent = 0;
  bool needs_smtputf8 = false;
  bool upstream_smtputf8 = false;
  bool refused_smtputf8 = false;
  std::string last_reply;     // the last reply line the upstream sent
  std::string last_refusal;   // its last 4xx/5xx reply line (not QUIT's)
  std::string partial_line;   // a reply line split across callbacks
};

std::size_t read_message(char* buffer, std::size_t size, std::size_t count,
                         void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  // RFC 6531 3.2: a message that needs SMTPUTF8 must not go to a server
  // that does not offer it.  Reading starts after DATA's 354, so aborting
  // here leaves the upstream without a message.
  if (transfer.needs_smtputf8 && !transfer.upstream_smtputf8) {
    transfer.refused_smtputf8 = true;
    return CURL_READFUNC_ABORT;
  }
  const std::size_t n =
      std::min(size * count, transfer.message.size() - transfer.sent);
  std::memcpy(buffer, transfer.message.data() + transfer.sent, n);
  transfer.sent += n;
  return n;
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

void on_reply_line(Transfer& transfer, std::string_view line) {
  transfer.last_reply = std::string(line);
  if (!line.empty() && (line[0] == '4' || line[0] == '5'))
    transfer.last_refusal = transfer.last_reply;
  // An EHLO reply line "250-SMTPUTF8" or "250 SMTPUTF8" (RFC 6531 3.1).
  if (line.size() >= 12 && line.substr(0, 3) == "250" &&
      (line[3] == '-' || line[3] == ' ') &&
      starts_with_nocase(line.substr(4), "SMTPUTF8") &&
      (line.size() == 12 || line[12] == ' '))
    transfer.upstream_smtputf8 = true;
}

// libcurl's protocol trace: the upstream's replies arrive as HEADER_IN.
// Also keeps libcurl's verbose text away from stderr, which may be the
// client's connection.
int on_trace(CURL*, curl_infotype type, char* data, std::size_t size,
             void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  if (type == CURLINFO_HEADER_OUT &&
      starts_with_nocase(std::string_view(data, size), "EHLO"))
    transfer.upstream_smtputf8 = false;  // a new EHLO (after STARTTLS)
  if (type != CURLINFO_HEADER_IN) return 0;
  transfer.partial_line.append(data, size);
  std::size_t end;
  while ((end = transfer.partial_line.find('\n')) != std::string::npos) {
    std::string_view line(transfer.partial_line.data(), end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_reply_line(transfer, line);
    transfer.partial_line.erase(0, end + 1);
  }
  return 0;
}

std::string url_for(const UpstreamSettings& settings) {
  const bool ipv6 = settings.host.find(':') != std::string::npos;
  std::string url =
      settings.tls == UpstreamSettings::Tls::smtps ? "smtps://" : "smtp://";
  url += ipv6 ? "[" + settings.host + "]" : settings.host;
  url += ":" + settings.port + "/";
  url += settings.helo_name;  // libcurl's EHLO argument
  return url;
}

}  // namespace

UpstreamResult send_upstream(const UpstreamSettings& settings,
                             std::string_view mail_from,
                             const std::vector<std::string>& rcpt_tos,
                             std::string_view message, bool smtputf8) {
  UpstreamResult result;
  const Curl& api = curl();
  if (!api.error.empty()) {
    result.error = api.error;
    return result;
  }
  const std::unique_ptr<CURL, decltype(api.easy_cleanup)> handle(
      api.easy_init(), api.easy_cleanup);
  if (!handle) {
    result.error = "curl_easy_init failed";
    return result;
  }
  curl_slist* recipients = nullptr;
  for (const std::string& rcpt : rcpt_tos)
    recipients = api.slist_append(recipients, ("<" + rcpt + ">").c_str());
  const std::unique_ptr<curl_slist, decltype(api.slist_free_all)> owned(
      recipients, api.slist_free_all);

  Transfer transfer;
  transfer.message = message;
  transfer.needs_smtputf8 = smtputf8;
  const std::string url = url_for(settings);
  const std::string from =
      mail_from == "<>" ? std::string("<>") : "<" + std::string(mail_from) + ">";

  CURL* curl_handle = handle.get();
  const auto set = [&](CURLoption option, auto value) {
    api.easy_setopt(curl_handle, option, value);
  };
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_MAIL_FROM, from.c_str());
  set(CURLOPT_MAIL_RCPT, recipients);
  set(CURLOPT_UPLOAD, 1L);
  set(CURLOPT_INFILESIZE_LARGE, curl_off_t(message.size()));
  set(CURLOPT_READFUNCTION, read_message);
  set(CURLOPT_READDATA, &transfer);
  set(CURLOPT_VERBOSE, 1L);
  set(CURLOPT_DEBUGFUNCTION, on_trace);
  set(CURLOPT_DEBUGDATA, &transfer);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_CONNECTTIMEOUT, long(settings.connect_timeout_seconds));
  set(CURLOPT_TIMEOUT, long(settings.timeout_seconds));
  // Also for each reply, and for the QUIT that cleanup sends (which the
  // total timeout does not cover).
  set(CURLOPT_SERVER_RESPONSE_TIMEOUT, long(settings.timeout_seconds));
  switch (settings.tls) {
    case UpstreamSettings::Tls::none: set(CURLOPT_USE_SSL, long(CURLUSESSL_NONE)); break;
    case UpstreamSettings::Tls::try_starttls: set(CURLOPT_USE_SSL, long(CURLUSESSL_TRY)); break;
    case UpstreamSettings::Tls::starttls:
    case UpstreamSettings::Tls::smtps: set(CURLOPT_USE_SSL, long(CURLUSESSL_ALL)); break;
  }
  set(CURLOPT_SSL_VERIFYPEER, settings.verify_certificate ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, settings.verify_certificate ? 2L : 0L);
  if (!settings.ca_file.empty()) set(CURLOPT_CAINFO, settings.ca_file.c_str());
  if (!settings.username.empty()) {
    set(CURLOPT_USERNAME, settings.username.c_str());
    set(CURLOPT_PASSWORD, settings.password.c_str());
  }

  const CURLcode status = api.easy_perform(curl_handle);
  long code = 0;
  api.easy_getinfo(curl_handle, CURLINFO_RESPONSE_CODE, &code);
  result.code = int(code);
  result.reply = code >= 400 && !transfer.last_refusal.empty()
                     ? transfer.last_refusal
                     : transfer.last_reply;
  result.smtputf8_unsupported = transfer.refused_smtputf8;
  if (status != CURLE_OK) {
    // A failed upstream gets no QUIT: cleanup would wait for its answer.
    curl_socket_t socket = CURL_SOCKET_BAD;
    if (api.easy_getinfo(curl_handle, CURLINFO_ACTIVESOCKET, &socket) == CURLE_OK &&
        socket != CURL_SOCKET_BAD)
      shutdown(socket, SHUT_RDWR);
  }
  // The upstream's answer to the final dot shows only in the reply code
  // (libcurl 7.88 may return CURLE_OK after a refusal there).
  if (status == CURLE_OK && code >= 200 && code < 300)
    result.delivered = true;
  else
    result.error = status == CURLE_OK ? "refused after the message"
                                      : api.easy_strerror(status);
  return result;
}

}  // namespace smtpd
