// debugging.hpp - DebuggingServer: print each message, deliver nothing.
//
// The printout is smtpd.py's, line for line: a MESSAGE FOLLOWS banner,
// the MAIL/RCPT options, the headers, an X-Peer line where the headers
// end, the body, an END MESSAGE banner.  With decode_data off the
// reference prints every line as a Python bytes literal (b'...'), and so
// do we.
#pragma once

#include "smtpd/export.hpp"

#include <functional>
#include <string>
#include <string_view>

#include "smtpd/server.hpp"

namespace smtpd {

// The printout of one message, with LF line ends.
SMTPD_API std::string format_debugging_message(const Envelope& envelope,
                                     bool decode_data);

class SMTPD_API DebuggingServer : public Server {
 public:
  using Writer = std::function<void(std::string_view)>;

  // write receives each whole printout; it must never be the connection.
  DebuggingServer(Writer write, bool decode_data)
      : write_(std::move(write)), decode_data_(decode_data) {}

  Reply process_message(const Envelope& envelope) override;

 private:
  Writer write_;
  bool decode_data_;
};

}  // namespace smtpd
