// debug_file.hpp - --debug-file: the printout and the -d trace appended
// to a file that per-connection processes share (printout.hpp locks it).
#pragma once

#include "options.hpp"

namespace in_smtpd {

class Printout;

// Opens --debug-file when one is given, before privileges are dropped.
// Throws ExitError (EX_CANTCREAT) naming the file when it cannot.
void open_debug_file(const Options& options, Printout& printout);

}  // namespace in_smtpd
