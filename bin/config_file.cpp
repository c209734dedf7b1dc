// config_file.cpp - splitting the options file into entries (see
// config_file.hpp).
#include "config_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace in_smtpd {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view blanks = " \t\r";
  const std::size_t first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

}  // namespace

ConfigFile parse_config_file(std::string_view text) {
  ConfigFile file;
  const auto refuse = [&file](unsigned line, std::string why) {
    file.entries.clear();
    file.error_line = line;
    file.error = std::move(why);
    return file;
  };
  for (unsigned number = 1; !text.empty(); ++number) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    // An INI file's [section] would make every name below it unknown.
    if (line.front() == '[' && line.back() == ']')
      return refuse(number, "sections are not used in this file: '" +
                                std::string(line) + "'");
    const std::size_t equals = line.find('=');
    const std::string_view name = trim(line.substr(0, equals));
    if (equals == std::string_view::npos || name.empty())
      return refuse(number, "not NAME = VALUE: '" + std::string(line) + "'");
    file.entries.push_back({std::string(name),
                            std::string(trim(line.substr(equals + 1))),
                            number});
  }
  return file;
}

int read_whole_file(const std::string& path, std::string& contents) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  contents.clear();
  char buffer[4096];
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int error = got < 0 ? errno : 0;
      close(fd);
      return error;
    }
    contents.append(buffer, std::size_t(got));
  }
}

}  // namespace in_smtpd
