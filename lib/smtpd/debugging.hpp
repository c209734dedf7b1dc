// debugging.hpp - DebuggingServer: print each message, deliver nothing.
//
// The printout is smtpd.py's, line for line: a MESSAGE FOLLOWS banner,
// the MAIL/RCPT options, the headers, an X-Peer line where the headers
// end, the body, an END MESSAGE banner.  With decode_data off the
// reference prints every line as a Python bytes literal (b'...'), and so
// do we.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "smtpd/export.hpp"
#include "smtpd/handler.hpp"

namespace smtpd {

// The choices a DebuggingServer's printout has, given when it is made.
// Public, and meant to stay as it is: a DebuggingServer holds this and its
// Output, nothing else, so its layout is its constructor's arguments and
// changes only with its interface (libsmtpd(3), ABI POLICY).  The printout
// is smtpd.py's, which has one choice (decode_data); a new one would be a
// new printout, and an interface change whatever the layout.
struct DebuggingSettings {
  bool decode_data = false;    // print decoded text, not b'...' literals
  bool show_envelope = false;  // MAIL FROM and RCPT TO lines (ours)
};

// Calls emit with the printout of one message (LF line ends) in pieces of
// about 64 KiB, in order: a large message is streamed, never copied whole.
// With settings.show_envelope (ours; smtpd.py never showed the envelope) a
// "MAIL FROM: <sender>" line and one "RCPT TO: <recipient>" line per
// recipient follow the MESSAGE FOLLOWS banner, control bytes shown as \xHH.
SMTPD_API void print_debugging_message(
    const Envelope& envelope, const DebuggingSettings& settings,
    const std::function<void(std::string_view piece)>& emit);

// The whole printout in one string.
SMTPD_API std::string format_debugging_message(
    const Envelope& envelope, const DebuggingSettings& settings = {});

class SMTPD_API DebuggingServer : public Server {
 public:
  // Where the printouts go; it must never be the connection.  Each
  // printout comes as pieces between begin() and end(), so that an output
  // shared with other processes (a file in append mode) can keep each
  // printout whole, by locking it in between.  For DebuggingServer the
  // printout is the delivery: after end(), written() says whether all of
  // it was written (a full disk, a closed reader: false), and a message
  // whose printout was not is answered with 451, never 250.
  class Output {
   public:
    virtual ~Output() = default;
    virtual void begin() {}
    virtual void write(std::string_view piece) = 0;
    virtual void end() {}
    virtual bool written() const { return true; }
    // true when begin() may wait (a lock shared with other processes):
    // the standalone listener then prints on a thread of its own.
    virtual bool may_block() const { return false; }
  };

  explicit DebuggingServer(Output& output, DebuggingSettings settings = {})
      : output_(output), settings_(settings) {}

  const DebuggingSettings& settings() const { return settings_; }

  Reply process_message(const Envelope& envelope) override;
  bool blocks(Hook hook) const override {
    return hook == Hook::data && output_.may_block();
  }

 private:
  Output& output_;
  DebuggingSettings settings_;
};

}  // namespace smtpd
