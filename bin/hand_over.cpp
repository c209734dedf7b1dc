// hand_over.cpp - from in.smtpd to in.smtpd-full (see hand_over.hpp).
#include "hand_over.hpp"

#include <sys/mman.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "debug_file.hpp"
#include "exit_error.hpp"
#include "logs.hpp"
#include "program_path.hpp"

#ifndef IN_SMTPD_FULL_PATH
#define IN_SMTPD_FULL_PATH "in.smtpd-full"
#endif

namespace in_smtpd {
namespace {

constexpr char options_fd_prefix[] = "--options-fd=";

}  // namespace

std::string full_program_path() {
  const char* path = std::getenv("IN_SMTPD_FULL");
  if (path && *path) return path;
  return beside_self_or("in.smtpd-full", IN_SMTPD_FULL_PATH);
}

void hand_over(const std::string& values, const char* reason,
               const Options& options, char* argv[], Logs& logs) {
  const std::string path = full_program_path();
  const auto fail = [&](const char* what) {
    return ExitError(EX_OSERR, "cannot hand the session over to " + path +
                                   ": " + what + ": " + std::strerror(errno));
  };
  // Not close-on-exec: in.smtpd-full reads it, then closes it.  Where a
  // sandbox refuses memfd_create, in.smtpd-full reads the arguments again.
  const int fd = memfd_create("in.smtpd options", 0);
  std::string fd_argument;
  std::vector<char*> args = {const_cast<char*>(path.c_str())};
  if (fd >= 0) {
    for (std::size_t done = 0; done < values.size();) {
      const ssize_t wrote =
          write(fd, values.data() + done, values.size() - done);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) throw fail("write");
      done += std::size_t(wrote);
    }
    if (lseek(fd, 0, SEEK_SET) != 0) throw fail("lseek");
    fd_argument = options_fd_prefix + std::to_string(fd);
    args.push_back(const_cast<char*>(fd_argument.c_str()));
    args.push_back(const_cast<char*>("--"));
  }
  for (char** arg = argv + 1; *argv && *arg; ++arg) args.push_back(*arg);
  args.push_back(nullptr);
  if (options.debug) {
    open_debug_file(options, logs.printout);
    logs.trace.line("in.smtpd: handing the session over to " + path + " (" +
                    reason + ")");
  }
  execv(path.c_str(), args.data());
  throw ExitError(EX_OSFILE,
                  "cannot run " + path + ": " + std::strerror(errno));
}

CommandLine take_over(int argc, char* argv[]) {
  if (argc < 2 || std::strncmp(argv[1], options_fd_prefix,
                               sizeof options_fd_prefix - 1) != 0)
    return parse_command_line(argc, argv);
  const int fd = std::atoi(argv[1] + sizeof options_fd_prefix - 1);
  std::string values;
  char buffer[4096];
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw ExitError(EX_OSERR,
                      std::string("cannot read the handed-over options: ") +
                          std::strerror(errno));
    if (got == 0) break;
    values.append(buffer, std::size_t(got));
  }
  // Read to the end: closing loses nothing, whatever close says.
  static_cast<void>(close(fd));
  return parse_values(values);
}

}  // namespace in_smtpd
