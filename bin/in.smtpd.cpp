// in.smtpd - one SMTP session on standard input and output.
//
// Started once per connection by systemd (Accept=yes), inetd, xinetd,
// tcpserver or a shell pipe.  Reads the options, finds out who the peer
// is, builds the delivery class, drops root, and runs the channel until
// the session ends.  Nothing but SMTP is ever written to the connection:
// diagnostics go to stderr only when stderr is not the connection itself
// (inetd hands the socket as stderr too), else to syslog.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <syslog.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "options.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/debugging.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/peer.hpp"
#include "smtpd/relay.hpp"
#include "smtpd/text.hpp"

namespace {

using in_smtpd::Options;

bool same_file(int a, int b) {
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(std::size_t(n));
  }
}

// Where diagnostics, traces and DebuggingServer's printout go: a file
// named by --debug-file, else stderr when it is not the connection, else
// syslog (LOG_MAIL).
class Diagnostics {
 public:
  Diagnostics() : stderr_usable_(!same_file(2, 0) && !same_file(2, 1)) {
    if (!stderr_usable_) openlog("in.smtpd", LOG_PID, LOG_MAIL);
  }

  // Returns false with errno set when the file cannot be opened.
  bool use_file(const std::string& path) {
    fd_ = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    return fd_ >= 0;
  }

  void write(std::string_view text, int priority = LOG_INFO) {
    if (fd_ >= 0) return write_all(fd_, text);
    if (stderr_usable_) return write_all(2, text);
    // syslog takes one line at a time.
    while (!text.empty()) {
      const std::size_t end = text.find('\n');
      const std::string line(text.substr(0, end));
      syslog(priority, "%s", line.c_str());
      text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }
  }

  void error(const std::string& message) {
    if (stderr_usable_)
      write_all(2, "in.smtpd: " + message + "\n");
    else
      syslog(LOG_ERR, "%s", message.c_str());
  }

 private:
  bool stderr_usable_;
  int fd_ = -1;
};

std::string host_name() {
  char name[256] = "";
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
    return "localhost";
  return name;
}

// smtpd.py becomes nobody unless told not to (-n); so do we, before we
// read a byte from the client.
int drop_privileges(Diagnostics& diagnostics) {
  if (geteuid() != 0) return 0;
  const passwd* nobody = getpwnam("nobody");
  if (!nobody) {
    diagnostics.error("no user \"nobody\"; try running with -n");
    return EX_NOUSER;
  }
  if (setgroups(0, nullptr) != 0 || setgid(nobody->pw_gid) != 0 ||
      setuid(nobody->pw_uid) != 0) {
    diagnostics.error(std::string("cannot setuid \"nobody\": ") +
                      std::strerror(errno) + "; try running with -n");
    return EX_OSERR;
  }
  return 0;
}

// The AUTH password: the first line of a file, read before privileges are
// dropped, so that the file can be readable by root alone.
bool read_password(const std::string& path, std::string& password) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[1024];
  const ssize_t n = read(fd, buffer, sizeof buffer);
  close(fd);
  if (n < 0) return false;
  password.assign(buffer, std::size_t(n));
  password = password.substr(0, password.find_first_of("\r\n"));
  return true;
}

// Set by SIGTERM, SIGHUP and SIGINT: end the session with 421 (after the
// message being delivered, if any, is answered).
volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) { stop_requested = 1; }

// The stop signals stay blocked except while the driver waits (ppoll), so
// that a delivery is never cut short; returns the mask to wait with.
sigset_t catch_stop_signals() {
  sigset_t stop_signals, wait_mask;
  sigemptyset(&stop_signals);
  for (const int signal_number : {SIGTERM, SIGHUP, SIGINT}) {
    sigaddset(&stop_signals, signal_number);
    struct sigaction action = {};
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, nullptr);
  }
  sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask);
  for (const int signal_number : {SIGTERM, SIGHUP, SIGINT})
    sigdelset(&wait_mask, signal_number);
  return wait_mask;
}

}  // namespace

int main(int argc, char* argv[]) {
  // A client that goes away must not kill us mid-write (RFC 5321 has the
  // session end quietly); EPIPE is handled where it happens.
  signal(SIGPIPE, SIG_IGN);

  Diagnostics diagnostics;
  const in_smtpd::CommandLine command_line =
      in_smtpd::parse_command_line(argc, argv);
  if (!command_line.run) {
    if (command_line.status == 0)
      write_all(1, command_line.text);
    else
      diagnostics.error(command_line.text);
    return command_line.status;
  }
  const Options& options = command_line.options;

  if (options.server_class == in_smtpd::ServerClass::mailman_proxy) {
    diagnostics.error("MailmanProxy is not implemented yet");
    return EX_UNAVAILABLE;
  }
  smtpd::UpstreamSettings upstream = options.upstream;
  if (!options.relay_password_file.empty() &&
      !read_password(options.relay_password_file, upstream.password)) {
    diagnostics.error("cannot read --relay-password-file " +
                      options.relay_password_file + ": " +
                      std::strerror(errno));
    return EX_NOINPUT;
  }
  if (!options.debug_file.empty() && !diagnostics.use_file(options.debug_file)) {
    diagnostics.error("cannot open --debug-file " + options.debug_file + ": " +
                      std::strerror(errno));
    return EX_CANTCREAT;
  }
  if (options.setuid) {
    if (const int status = drop_privileges(diagnostics)) return status;
  }

  smtpd::ChannelConfig config;
  config.hostname = options.hostname.empty() ? host_name() : options.hostname;
  config.data_size_limit = options.size;
  config.enable_smtputf8 = options.smtputf8;
  config.decode_data = options.decode_data;
  config.max_recipients = std::size_t(options.max_recipients);
  config.max_errors = unsigned(options.max_errors);

  std::unique_ptr<smtpd::Server> server;
  if (options.server_class == in_smtpd::ServerClass::debugging) {
    server = std::make_unique<smtpd::DebuggingServer>(
        [&](std::string_view printout) { diagnostics.write(printout); },
        options.decode_data);
  } else {
    upstream.helo_name = config.hostname;
    server = std::make_unique<smtpd::PureProxy>(
        upstream,
        [&](std::string_view line) { diagnostics.error(std::string(line)); });
    config.check_recipient = [&](const smtpd::Peer& peer,
                                 const std::string& recipient) {
      return options.relay_policy.check(peer, recipient);
    };
  }
  smtpd::Channel channel(config, smtpd::find_peer(0, std::getenv));

  const sigset_t wait_mask = catch_stop_signals();
  smtpd::DriverOptions driver;
  driver.command_timeout_seconds = options.command_timeout;
  driver.data_timeout_seconds = options.data_timeout;
  driver.session_timeout_seconds = options.session_timeout;
  driver.stop_requested = &stop_requested;
  driver.wait_mask = &wait_mask;
  if (options.debug) {
    driver.trace = [&](std::string_view direction, std::string_view bytes) {
      constexpr std::size_t shown = 512;
      std::string line(direction);
      line += ' ';
      line += smtpd::text::repr_bytes(bytes.substr(0, shown));
      if (bytes.size() > shown) line += "...";
      diagnostics.write(line + "\n", LOG_DEBUG);
    };
  }
  const smtpd::SessionEnd end = smtpd::run_session(channel, *server, 0, 1, driver);
  return end == smtpd::SessionEnd::io_error ? EX_IOERR : EX_OK;
}
