// privileges.hpp - started as root, become --user (smtpd.py became
// nobody), before reading a byte from the client.
#pragma once

#include <string>

namespace in_smtpd {

// Becomes user, with its group and no supplementary groups, when the
// process runs as root; else does nothing.  Throws ExitError (EX_NOUSER:
// no such user; EX_OSERR: the change failed) with what to try instead.
void drop_privileges(const std::string& user);

}  // namespace in_smtpd
