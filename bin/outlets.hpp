// outlets.hpp - the ways out for what is not SMTP: a descriptor written
// whole, syslog a line at a time, and whether stderr is the connection.
//
// stdout is the SMTP stream, and under inetd stderr is the same socket:
// nothing may be written there.  logs.hpp says what goes where.
#pragma once

#include <string_view>

namespace in_smtpd {

// write(2) until done or failed, through EINTR; false (errno set) when it
// failed.
bool write_all(int fd, std::string_view bytes);

// syslog(3) takes one line at a time: text is cut at each newline.
void syslog_lines(int priority, std::string_view text);

// Whether stderr is the client's socket (inetd hands it as stdin, stdout
// and stderr).  A terminal or a pipe shared with stdout (2>&1) is someone
// watching, not a client.
bool stderr_is_connection();

}  // namespace in_smtpd
