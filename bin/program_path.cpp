// program_path.cpp - where the internal programs are (see program_path.hpp).
#include "program_path.hpp"

#include <limits.h>
#include <unistd.h>

namespace in_smtpd {

std::string beside_self_or(const char* name, const char* installed_path) {
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length > 0) {
    std::string path(self, std::size_t(length));
    path.erase(path.rfind('/') + 1);
    path += name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return installed_path;
}

}  // namespace in_smtpd
