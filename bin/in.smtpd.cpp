// in.smtpd - one SMTP session on standard input and output.
//
// Started once per connection by systemd (Accept=yes), inetd, xinetd,
// tcpserver or a shell pipe, so its start-up is the cost of every
// session.  It is linked statically: a session loads no shared library,
// and its process takes a third fewer page faults and a quarter less CPU
// than the same code linked with libc (bench/README.md).  A static
// program cannot safely load shared libraries later, though, so a session
// that needs one is handed over, before a byte of SMTP, to in.smtpd-full:
// the same program linked with them, beside this one (in.smtpd-full.cpp).
// What stays here is the common case: a DebuggingServer session by an
// unprivileged user.  Nothing but SMTP is ever written to the connection
// (see diagnostics.hpp for where everything else goes).
#include <limits.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "diagnostics.hpp"
#include "options.hpp"
#include "session.hpp"
#include "socket_activation.hpp"

namespace {

using in_smtpd::Diagnostics;
using in_smtpd::Options;

constexpr char full_program_name[] = "in.smtpd-full";

// What only in.smtpd-full can do: PureProxy and MailmanProxy relay with
// libcurl; becoming --user asks the name service (NSS modules are shared
// libraries); -l resolves host names the same way.  The standalone mode
// (-l or systemd's listening sockets) lives there too: it starts once, so
// its start-up cost does not matter.
bool needs_full_program(const Options& options) {
  return options.server_class != in_smtpd::ServerClass::debugging ||
         (options.setuid && geteuid() == 0) || !options.listen.empty() ||
         in_smtpd::systemd_listener_count() > 0;
}

// Replaces this process with in.smtpd-full from the directory this
// program was started from, with the same arguments and environment.
// Returns only when it cannot, with a sysexits status.
int run_full_program(char* argv[], Diagnostics& diagnostics) {
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) {
    diagnostics.error(
        std::string("cannot find in.smtpd-full: /proc/self/exe: ") +
        std::strerror(errno));
    return EX_OSFILE;
  }
  std::string path(self, std::size_t(length));
  path.erase(path.rfind('/') + 1);
  path += full_program_name;
  execv(path.c_str(), argv);
  diagnostics.error("cannot run " + path + ": " + std::strerror(errno));
  return EX_OSFILE;
}

}  // namespace

int main(int argc, char* argv[]) {
  Diagnostics diagnostics;
  Options options;
  int status = 0;
  if (!in_smtpd::start_program(argc, argv, diagnostics, options, &status))
    return status;
  if (needs_full_program(options)) return run_full_program(argv, diagnostics);

  if ((status = in_smtpd::open_debug_file(options, diagnostics))) return status;
  return in_smtpd::serve_one_session(
      options, in_smtpd::channel_config(options),
      [&] { return in_smtpd::debugging_delivery(options, diagnostics); },
      diagnostics);
}
