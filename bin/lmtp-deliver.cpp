// lmtp-deliver - deliver the message on stdin to an LMTP server.
//
//   lmtp-deliver [OPTIONS] SERVER [--] RECIPIENT...
//
// SERVER is HOST:PORT ([ADDRESS]:PORT for IPv6) or the path of a unix
// socket (anything with a '/').  The LMTP exchange is the library's
// LmtpClient (lmtp_client.hpp); this file only moves its bytes, under one
// deadline for the whole exchange.
//
// One line per recipient goes to stderr, "RECIPIENT: REPLY", for the
// log of whatever ran us (qmail, Postfix's pipe(8), procmail,
// MailmanProxy).  The exit status, from sysexits.h:
//   0  (EX_OK)        every recipient 2xx (--check: RCPT accepted it);
//   75 (EX_TEMPFAIL)  any 4xx, no reply, the server unreachable, the
//                     deadline passed: try again later;
//   65 (EX_DATAERR)   any 5xx and nothing temporary: do not try again.
//                     65, not 69: qmail-command(8) counts 65 as a hard
//                     error and 69 as a soft one; Postfix and procmail
//                     take both as hard;
//   64 (EX_USAGE)     bad arguments; 74 (EX_IOERR) stdin unreadable, or
//                     --help that cannot be written.
// Those last two are the program's errors, reported as in.smtpd reports
// its own (bin/exit_error.hpp): thrown as an ExitError, said once, as one
// "lmtp-deliver: " line, by main.
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "exit_error.hpp"
#include "host_port.hpp"
#include "smtpd/lmtp_client.hpp"

namespace {

using in_smtpd::ExitError;

// --timeout: the deadline for the whole exchange, in seconds.
constexpr unsigned long default_timeout_seconds = 300;
constexpr unsigned long max_timeout_seconds = 999999;

std::string usage() {
  return "usage: lmtp-deliver [-c] [-f SENDER] [-t SECONDS] [-H NAME] SERVER "
         "[--] RECIPIENT...\n"
         "Delivers the message on stdin to the LMTP server SERVER "
         "(HOST:PORT,\n"
         "[ADDRESS]:PORT, or a unix socket's path) for each RECIPIENT.\n"
         "  -f, --sender=SENDER   envelope sender (default: none, <>)\n"
         "  -c, --check           only check the recipients (no DATA, stdin "
         "unread)\n"
         "  -t, --timeout=SECONDS deadline for the whole exchange (default " +
         std::to_string(default_timeout_seconds) +
         ")\n"
         "  -H, --lhlo=NAME       the name LHLO gives (default: this host's)\n"
         "  -h, --help            this help\n"
         "Exit status: 0 all delivered, 75 try again later (any 4xx, no "
         "server),\n"
         "65 refused for good (any 5xx), 64 bad arguments.\n";
}

// One line on stderr: a recipient's result, or the error main says.
void say(const std::string& line) {
  const std::string out = "lmtp-deliver: " + line + "\n";
  (void)!write(2, out.data(), out.size());
}

double now() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

// Milliseconds left before the deadline, at least 0.
int left_ms(double deadline) {
  const double left = deadline - now();
  return left <= 0 ? 0 : int(left * 1000) + 1;
}

// Waits until fd is ready for events or the deadline passes.
bool wait_for(int fd, short events, double deadline) {
  for (;;) {
    pollfd p = {fd, events, 0};
    const int ready = poll(&p, 1, left_ms(deadline));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

// A non-blocking connect, finished within the deadline; -1 and why.
int connect_within(const sockaddr* address, socklen_t length, double deadline,
                   std::string& error) {
  const int fd =
      socket(address->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  if (connect(fd, address, length) != 0 && errno != EINPROGRESS) {
    error = std::strerror(errno);
    static_cast<void>(close(fd));  // never connected: nothing to lose
    return -1;
  }
  int failure = 0;
  socklen_t size = sizeof failure;
  if (!wait_for(fd, POLLOUT, deadline)) {
    error = "timed out";
  } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &size) != 0 ||
             failure) {
    error = std::strerror(failure ? failure : errno);
  } else {
    return fd;
  }
  static_cast<void>(close(fd));  // never connected: nothing to lose
  return -1;
}

int connect_to(const std::string& server, double deadline, std::string& error) {
  if (server.find('/') != std::string::npos) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (server.size() >= sizeof address.sun_path) {
      error = "socket path too long";
      return -1;
    }
    std::memcpy(address.sun_path, server.data(), server.size());
    return connect_within(reinterpret_cast<sockaddr*>(&address), sizeof address,
                          deadline, error);
  }
  const std::optional<in_smtpd::HostPort> address =
      in_smtpd::split_host_port(server, &error);
  if (!address) return -1;  // valid_server let it through: never
  const std::string& host = address->host;
  const std::string& port = address->port;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int status =
          getaddrinfo(host.c_str(), port.c_str(), &hints, &found)) {
    error = gai_strerror(status);
    return -1;
  }
  int fd = -1;
  for (const addrinfo* a = found; a && fd < 0; a = a->ai_next)
    fd = connect_within(a->ai_addr, a->ai_addrlen, deadline, error);
  freeaddrinfo(found);
  return fd;
}

bool valid_server(const std::string& server) {
  return server.find('/') != std::string::npos ||
         in_smtpd::split_host_port(server).has_value();
}

bool read_stdin(std::string& message) {
  char chunk[65536];
  for (;;) {
    const ssize_t got = read(0, chunk, sizeof chunk);
    if (got > 0) {
      message.append(chunk, std::size_t(got));
    } else if (got == 0) {
      return true;
    } else if (errno != EINTR) {
      return false;
    }
  }
}

// Runs the client over fd until it is done or the deadline passes.
void exchange(smtpd::LmtpClient& client, int fd, double deadline) {
  for (;;) {
    std::string out = client.take_output();
    for (std::size_t sent = 0; sent < out.size();) {
      const ssize_t n =
          send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += std::size_t(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        if (!wait_for(fd, POLLOUT, deadline))
          return client.end_of_input("timed out");
      } else {
        return client.end_of_input(std::string("send: ") +
                                   std::strerror(errno));
      }
    }
    if (client.done()) return;
    if (!wait_for(fd, POLLIN, deadline))
      return client.end_of_input("timed out");
    char chunk[4096];
    const ssize_t got = recv(fd, chunk, sizeof chunk, 0);
    if (got > 0) {
      client.feed(std::string_view(chunk, std::size_t(got)));
    } else if (got == 0) {
      client.end_of_input();
    } else if (errno != EINTR && errno != EAGAIN) {
      client.end_of_input(std::string("recv: ") + std::strerror(errno));
    }
  }
}

// --timeout's value, or nothing when it is not 1 to max_timeout_seconds.
std::optional<unsigned long> parse_timeout(const std::string& text) {
  const std::string digits = std::to_string(max_timeout_seconds);
  if (text.empty() || text.size() > digits.size() ||
      text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const unsigned long seconds = std::stoul(text);
  if (seconds == 0 || seconds > max_timeout_seconds) return std::nullopt;
  return seconds;
}

// What the command line asks for.
struct Delivery {
  smtpd::LmtpJob job;
  std::string server;
  unsigned long timeout = default_timeout_seconds;
};

// The command line read; nothing when it asked for --help (then printed).
// Throws ExitError.
std::optional<Delivery> read_command_line(int argc, char* argv[]) {
  Delivery delivery;
  smtpd::LmtpJob& job = delivery.job;
  char name[256] = "";
  job.lhlo_name =
      gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "localhost";
  static const option long_options[] = {
      {"sender", required_argument, nullptr, 'f'},
      {"check", no_argument, nullptr, 'c'},
      {"timeout", required_argument, nullptr, 't'},
      {"lhlo", required_argument, nullptr, 'H'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  // '+': options end at SERVER, so that no recipient is taken for one.
  for (int c; (c = getopt_long(argc, argv, "+:f:ct:H:h", long_options,
                               nullptr)) != -1;) {
    switch (c) {
      case 'f':
        job.sender = optarg;
        break;
      case 'c':
        job.check_only = true;
        break;
      case 'H':
        job.lhlo_name = optarg;
        break;
      case 't': {
        const std::optional<unsigned long> seconds = parse_timeout(optarg);
        if (!seconds)
          throw ExitError(
              EX_USAGE, "invalid value for --timeout: '" + std::string(optarg) +
                            "' (seconds, 1 to " +
                            std::to_string(max_timeout_seconds) + ")");
        delivery.timeout = *seconds;
        break;
      }
      case 'h': {
        const std::string text = usage();
        if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
            std::fflush(stdout) != 0)
          throw ExitError(EX_IOERR, std::string("cannot write to stdout: ") +
                                        std::strerror(errno));
        return std::nullopt;
      }
      case ':':
        throw ExitError(
            EX_USAGE, std::string("option needs a value: ") + argv[optind - 1]);
      default:
        throw ExitError(EX_USAGE,
                        std::string("unknown option: ") + argv[optind - 1]);
    }
  }
  if (job.sender == "<>") job.sender.clear();
  if (optind < argc && std::strcmp(argv[optind], "--") == 0)
    ++optind;  // before SERVER
  if (optind >= argc)
    throw ExitError(EX_USAGE,
                    "no SERVER given (HOST:PORT or a socket path); see --help");
  delivery.server = argv[optind++];
  if (!valid_server(delivery.server))
    throw ExitError(EX_USAGE, "bad SERVER: '" + delivery.server +
                                  "' (HOST:PORT, [ADDRESS]:PORT or a socket "
                                  "path)");
  if (optind < argc && std::strcmp(argv[optind], "--") == 0) ++optind;
  for (; optind < argc; ++optind) job.recipients.emplace_back(argv[optind]);
  if (job.recipients.empty())
    throw ExitError(EX_USAGE, "no RECIPIENT given; see --help");
  if (job.check_only && job.recipients.size() != 1)
    throw ExitError(EX_USAGE, "--check takes one RECIPIENT");
  for (const char c : job.lhlo_name)
    if (c <= 0x20 || c >= 0x7F)
      throw ExitError(
          EX_USAGE,
          "bad --lhlo name (printable ASCII without spaces expected)");
  return delivery;
}

// The delivery: one line per recipient, and the exit status they make.
// Throws ExitError.
int deliver(int argc, char* argv[]) {
  std::optional<Delivery> delivery = read_command_line(argc, argv);
  if (!delivery) return EX_OK;  // --help
  smtpd::LmtpJob& job = delivery->job;
  if (!job.check_only && !read_stdin(job.message))
    throw ExitError(EX_IOERR, std::string("cannot read the message: ") +
                                  std::strerror(errno));

  const double deadline = now() + double(delivery->timeout);
  smtpd::LmtpClient client(job);
  std::string error;
  if (!client.done()) {
    const int fd = connect_to(delivery->server, deadline, error);
    if (fd < 0) {
      client.end_of_input("cannot connect to " + delivery->server + ": " +
                          error);
    } else {
      exchange(client, fd, deadline);
      // The replies are in: closing cannot change what they said.
      static_cast<void>(close(fd));
    }
  }
  for (const smtpd::LmtpResult& r : client.results())
    say(r.recipient + ": " +
        (r.reply.code ? r.reply.summary() : "no reply: " + r.error));
  switch (client.status()) {
    case smtpd::LmtpClient::Status::delivered:
      return EX_OK;
    case smtpd::LmtpClient::Status::temporary:
      return EX_TEMPFAIL;
    case smtpd::LmtpClient::Status::permanent:
      return EX_DATAERR;
  }
  return EX_SOFTWARE;
}

}  // namespace

int main(int argc, char* argv[]) {
  try {
    return deliver(argc, argv);
  } catch (const ExitError& error) {
    say(error.what());
    return error.status();
  }
}
