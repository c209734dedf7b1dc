// debug_file.cpp - opening --debug-file (see debug_file.hpp).
#include "debug_file.hpp"

#include <sysexits.h>

#include <cerrno>
#include <cstring>

#include "exit_error.hpp"
#include "printout.hpp"

namespace in_smtpd {

void open_debug_file(const Options& options, Printout& printout) {
  if (options.debug_file.empty() || printout.use_file(options.debug_file))
    return;
  throw ExitError(EX_CANTCREAT, "cannot open --debug-file " +
                                    options.debug_file + ": " +
                                    std::strerror(errno));
}

}  // namespace in_smtpd
