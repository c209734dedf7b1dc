// hand_over.cpp - from in.smtpd to in.smtpd-full (see hand_over.hpp).
#include "hand_over.hpp"

#include <sys/mman.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "diagnostics.hpp"
#include "program_path.hpp"
#include "session.hpp"

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

int hand_over(const std::string& values, const char* reason,
              const Options& options, char* argv[], Diagnostics& diagnostics) {
  const std::string path = full_program_path();
  const auto fail = [&](const char* what) {
    diagnostics.error("cannot hand the session over to " + path + ": " + what +
                      ": " + std::strerror(errno));
    return EX_OSERR;
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
      if (wrote <= 0) return fail("write");
      done += std::size_t(wrote);
    }
    if (lseek(fd, 0, SEEK_SET) != 0) return fail("lseek");
    fd_argument = options_fd_prefix + std::to_string(fd);
    args.push_back(const_cast<char*>(fd_argument.c_str()));
    args.push_back(const_cast<char*>("--"));
  }
  for (char** arg = argv + 1; *argv && *arg; ++arg) args.push_back(*arg);
  args.push_back(nullptr);
  if (options.debug) {
    if (const int status = open_debug_file(options, diagnostics)) return status;
    diagnostics.printout("in.smtpd: handing the session over to " + path +
                         " (" + reason + ")\n");
  }
  execv(path.c_str(), args.data());
  diagnostics.error("cannot run " + path + ": " + std::strerror(errno));
  return EX_OSFILE;
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
    if (got < 0) {
      CommandLine refused;
      refused.status = EX_OSERR;
      refused.text = std::string("cannot read the handed-over options: ") +
                     std::strerror(errno);
      return refused;
    }
    if (got == 0) break;
    values.append(buffer, std::size_t(got));
  }
  close(fd);
  return parse_values(values);
}

}  // namespace in_smtpd
