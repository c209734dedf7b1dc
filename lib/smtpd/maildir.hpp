// maildir.hpp - keep every accepted message as a file in a Maildir.
//
// For test rigs and CI jobs: a directory that grep -r, mutt -f and
// Python's mailbox.Maildir read, one file per message.  MaildirDelivery
// wraps another delivery (DebuggingServer, PureProxy, MailmanProxy, or
// none) and keeps each message that delivery accepted:
//
//   1. the file is written in DIR/tmp/ under a unique name and fsync'ed,
//      before the wrapped delivery runs (a full disk refuses the message
//      before anything was relayed);
//   2. the wrapped delivery runs;
//   3. if it accepted (no reply, or a 2xx), the file is renamed into
//      DIR/new/ and DIR/new/ is fsync'ed: the client's 250 comes after
//      the message is on disk.  Otherwise the file in tmp/ is removed.
//
// So new/ only ever holds whole files, the rename being atomic, and a
// test that waits for a message waits for its file to appear there.  Any
// failure of the file system gets 451 and a log line, and leaves nothing
// in new/.  The directory's tmp/ and new/ must exist (no lock, no
// creation: many processes write to one Maildir at once, each file under
// a name of its own).
//
// The file: "Return-Path: <sender>", one "Delivered-To: " line per
// recipient, "X-Peer: " with the client's address, then the message as
// the client sent it, dot-unstuffed, with LF line ends (the Maildir
// convention, as the channel hands the message on), ending with a LF.
// The naming and the formatting are pure functions here; the file I/O is
// in maildir_delivery.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "smtpd/export.hpp"
#include "smtpd/handler.hpp"
#include "smtpd/server.hpp"

namespace smtpd {

// What makes a Maildir file name unique (the Maildir convention's
// "time.MusecPpidQcounter.host", with R and random bits added so that two
// hosts sharing a name, or a pid reused within a microsecond, still do
// not clash).
struct MaildirName {
  std::int64_t seconds = 0;  // the time of delivery
  std::uint32_t microseconds = 0;
  std::uint64_t pid = 0;
  std::uint64_t counter = 0;  // deliveries so far in this process
  std::uint32_t random = 0;
  std::string host;  // gethostname()
};

// "1733540000.M123456P4242Q7R0a1b2c3d.host"; in the host part "/" becomes
// "\057" and ":" "\072", as the convention says (an empty host is
// "localhost").
SMTPD_API std::string maildir_file_name(const MaildirName& name);

// The lines the file begins with: Return-Path, Delivered-To (one per
// recipient), X-Peer, each ending with LF.  A control byte in a value
// (none gets past the channel, but the hook's envelope is a library
// user's) becomes "?", so that each stays one header line.
SMTPD_API std::string maildir_header(const Envelope& envelope);

// What follows the message so that the file ends with a line end: "\n",
// or nothing when the message is empty or already ends with one.
SMTPD_API std::string_view maildir_trailer(std::string_view data);

// The whole file, for tests and small messages: header, data, trailer.
SMTPD_API std::string maildir_file(const Envelope& envelope);

class SMTPD_API MaildirDelivery : public Handler {
 public:
  // log receives one line per failure (what failed, and why).
  using Log = std::function<void(std::string_view)>;

  // directory: the Maildir (with tmp/ and new/); inner: the delivery
  // that must accept a message before it is kept, or null to keep every
  // message.  Every other hook is inner's.
  MaildirDelivery(std::string directory, std::unique_ptr<Handler> inner,
                  Log log);
  ~MaildirDelivery() override;

  Answer handle_connect(Context& c) override;
  Answer handle_helo(Context& c, const std::string& name,
                     bool extended) override;
  Answer handle_mail(Context& c, const std::string& address) override;
  Answer handle_rcpt(Context& c, const std::string& address) override;
  // The message is written to tmp/, then inner is asked; once it accepted,
  // the file goes to new/ and is synced before the 250 (RFC 5321 4.2.5).
  Answer handle_data(Context& c, const Envelope& message) override;
  Answer handle_rset(Context& c) override;
  Answer handle_quit(Context& c) override;
  Answer handle_verb(Context& c, const std::string& verb,
                     const std::optional<std::string>& argument) override;
  void message_answered(const Session& session, const Envelope& message,
                        std::string_view reply,
                        std::string_view detail) override;
  // Writing and syncing files may wait on the disk.
  bool blocks(Hook hook) const override;

 private:
  // The directory, inner, log and this host's name, in maildir_delivery.cpp.
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtpd
