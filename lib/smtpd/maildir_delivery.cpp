// maildir_delivery.cpp - the file I/O of MaildirDelivery (see maildir.hpp):
// write in tmp/, fsync, rename into new/, fsync new/.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>

#include "smtpd/later_state.hpp"
#include "smtpd/maildir.hpp"
#include "smtpd/replies.hpp"

namespace smtpd {
namespace {

// Deliveries made by this process: the standalone mode keeps many
// sessions, each with a MaildirDelivery of its own, in one process.
std::atomic<std::uint64_t> deliveries{0};

std::string host_name() {
  char name[256] = "";
  if (gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

MaildirName unique_name(const std::string& host) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  MaildirName name;
  name.seconds = now.tv_sec;
  name.microseconds = std::uint32_t(now.tv_nsec / 1000);
  name.pid = std::uint64_t(getpid());
  name.counter = deliveries.fetch_add(1, std::memory_order_relaxed);
  if (getrandom(&name.random, sizeof name.random, GRND_NONBLOCK) !=
      ssize_t(sizeof name.random))
    name.random = std::uint32_t(now.tv_nsec);
  name.host = host;
  return name;
}

// errno, now: the error of the system call that just failed.
std::error_code last_error() { return {errno, std::generic_category()}; }

// Writes every byte of the pieces, through partial writes and EINTR;
// empty, or why not.
std::error_code write_pieces(int fd, iovec* pieces, int count) {
  while (count > 0) {
    const ssize_t written = writev(fd, pieces, count);
    if (written < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    std::size_t left = std::size_t(written);
    while (count > 0 && left >= pieces->iov_len) {
      left -= pieces->iov_len;
      ++pieces;
      --count;
    }
    if (count > 0) {
      pieces->iov_base = static_cast<char*>(pieces->iov_base) + left;
      pieces->iov_len -= left;
    }
  }
  return {};
}

// Empty once the directory is on disk, or why not.
std::error_code sync_directory(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_error();
  const std::error_code error =
      fsync(fd) == 0 ? std::error_code() : last_error();
  close(fd);
  return error;
}

// The file in tmp/, written whole and on disk: empty, or why not, with no
// file left behind but one that was there before (EEXIST).
std::error_code write_temporary(const std::string& path,
                                const Envelope& envelope) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return last_error();
  std::string header = maildir_header(envelope);
  const std::string_view trailer = maildir_trailer(envelope.data);
  iovec pieces[3] = {
      {header.data(), header.size()},
      {const_cast<char*>(envelope.data.data()), envelope.data.size()},
      {const_cast<char*>(trailer.data()), trailer.size()}};
  std::error_code error = write_pieces(fd, pieces, 3);
  if (!error && fsync(fd) != 0) error = last_error();
  if (error) {
    close(fd);
    unlink(path.c_str());
    return error;
  }
  // close() reports what a network file system kept back until then.
  if (close(fd) != 0) {
    error = last_error();
    unlink(path.c_str());
  }
  return error;
}

}  // namespace

// Not exported: no program sees it (libsmtpd(3), ABI POLICY).
struct __attribute__((visibility("hidden"))) MaildirDelivery::Impl {
  std::string directory_;
  std::unique_ptr<Handler> inner_;
  Log log_;
  std::string host_;  // gethostname(), once per delivery object
};

MaildirDelivery::MaildirDelivery(std::string directory,
                                 std::unique_ptr<Handler> inner, Log log)
    : impl_(std::make_unique<Impl>(Impl{std::move(directory), std::move(inner),
                                        std::move(log), host_name()})) {}

MaildirDelivery::~MaildirDelivery() = default;

bool MaildirDelivery::blocks(Hook hook) const {
  return hook == Hook::data || (impl_->inner_ && impl_->inner_->blocks(hook));
}

Answer MaildirDelivery::handle_connect(Context& c) {
  return impl_->inner_ ? impl_->inner_->handle_connect(c) : Answer::accept();
}

Answer MaildirDelivery::handle_helo(Context& c, const std::string& name,
                                    bool extended) {
  return impl_->inner_ ? impl_->inner_->handle_helo(c, name, extended)
                       : Answer::accept();
}

Answer MaildirDelivery::handle_mail(Context& c, const std::string& address) {
  return impl_->inner_ ? impl_->inner_->handle_mail(c, address)
                       : Answer::accept();
}

Answer MaildirDelivery::handle_rcpt(Context& c, const std::string& address) {
  return impl_->inner_ ? impl_->inner_->handle_rcpt(c, address)
                       : Answer::accept();
}

Answer MaildirDelivery::handle_rset(Context& c) {
  return impl_->inner_ ? impl_->inner_->handle_rset(c) : Answer::accept();
}

Answer MaildirDelivery::handle_quit(Context& c) {
  return impl_->inner_ ? impl_->inner_->handle_quit(c) : Answer::accept();
}

Answer MaildirDelivery::handle_verb(
    Context& c, const std::string& verb,
    const std::optional<std::string>& argument) {
  return impl_->inner_ ? impl_->inner_->handle_verb(c, verb, argument)
                       : Answer::accept();
}

void MaildirDelivery::message_answered(const Session& session,
                                       const Envelope& message,
                                       std::string_view reply,
                                       std::string_view detail) {
  if (impl_->inner_)
    impl_->inner_->message_answered(session, message, reply, detail);
}

namespace {

using Log = std::function<void(std::string_view)>;

// The delivery's answer came: the file kept in new/ when it took the
// message, removed from tmp/ otherwise.
Answer keep(const Answer& answer, const std::string& directory,
            const std::string& name, const Log& log) {
  const std::string temporary = directory + "/tmp/" + name;
  const auto fail = [&](const std::string& what, const std::error_code& error,
                        const std::string& detail) -> Answer {
    if (log) log("maildir " + directory + ": " + what + ": " + error.message());
    return Answer::reply(std::string(replies::cannot_keep_message), detail);
  };
  // Kept only once the delivery took it: a refusal or a failed hook keeps
  // nothing.
  const bool accepted = !answer.is_failure() &&
                        (answer.kind() == Answer::Kind::accept ||
                         (answer.kind() == Answer::Kind::reply &&
                          !answer.line().empty() && answer.line()[0] == '2'));
  if (!accepted) {
    unlink(temporary.c_str());
    return answer;
  }
  const std::string kept = directory + "/new/" + name;
  if (rename(temporary.c_str(), kept.c_str()) != 0) {
    const std::error_code error = last_error();
    unlink(temporary.c_str());
    return fail("new/" + name, error, answer.detail());
  }
  // The rename is on disk only once the directory is.  If it cannot be,
  // the client tries again: new/ keeps no message that got 451.
  if (const std::error_code error = sync_directory(directory + "/new")) {
    unlink(kept.c_str());
    return fail("fsync new/", error, answer.detail());
  }
  return answer;
}

// The delivery's context: the channel's session and transaction, and a
// Later handle of our own, so that an answer that comes later (PureProxy's
// upstream reply) is kept or not before it goes on to the channel.
class KeepingContext : public Context {
 public:
  explicit KeepingContext(Context& outer) : outer_(outer) {}
  const Session& session() const override { return outer_.session(); }
  const Envelope& transaction() const override { return outer_.transaction(); }
  Later later() override {
    if (!state) state = std::make_shared<Later::State>();
    return Later(state);
  }
  std::shared_ptr<Later::State> state;

 private:
  Context& outer_;
};

}  // namespace

Answer MaildirDelivery::handle_data(Context& context,
                                    const Envelope& envelope) {
  std::string name = maildir_file_name(unique_name(impl_->host_));
  std::string temporary = impl_->directory_ + "/tmp/" + name;
  // O_EXCL: a name already taken (a clock stepped back, a pid reused)
  // gets the next one rather than another's file.
  for (int tries = 0;; ++tries) {
    const std::error_code error = write_temporary(temporary, envelope);
    if (!error) break;
    if (error != std::errc::file_exists || tries == 3) {
      if (impl_->log_)
        impl_->log_("maildir " + impl_->directory_ + ": tmp/" + name + ": " +
                    error.message());
      return Answer::reply(std::string(replies::cannot_keep_message));
    }
    name = maildir_file_name(unique_name(impl_->host_));
    temporary = impl_->directory_ + "/tmp/" + name;
  }
  Answer answer = Answer::accept();
  KeepingContext inner_context(context);
  try {
    if (impl_->inner_)
      answer = impl_->inner_->handle_data(inner_context, envelope);
  } catch (...) {
    unlink(temporary.c_str());
    throw;
  }
  if (answer.kind() != Answer::Kind::later)
    return keep(answer, impl_->directory_, name, impl_->log_);
  if (!inner_context.state) {
    unlink(temporary.c_str());
    return Answer::failed(
        "a delivery inside --maildir answered later without its handle");
  }
  // The answer comes on the delivery's thread: kept there, then passed on.
  // Copies, not this: the delivery may answer while it is being destroyed.
  // The state holds pass_on, so pass_on holds it weakly (no cycle: the
  // state and the outer handle are freed once the delivery is done).
  const std::shared_ptr<Later::State> state = inner_context.state;
  const std::weak_ptr<Later::State> weak_state = state;
  const Later outer = context.later();
  const std::string directory = impl_->directory_;
  const Log log = impl_->log_;
  const auto pass_on = [weak_state, outer, directory, name, log] {
    const std::shared_ptr<Later::State> answered_state = weak_state.lock();
    if (!answered_state) return;
    std::optional<Answer> answer;
    {
      const std::lock_guard<std::mutex> lock(answered_state->mutex);
      answer = answered_state->answer;
    }
    if (answer) outer.answer(keep(*answer, directory, name, log));
  };
  bool answered;
  {
    const std::lock_guard<std::mutex> lock(state->mutex);
    answered = state->answer.has_value();
    if (!answered) state->wake = pass_on;
  }
  if (answered) pass_on();
  return Answer::later();
}

}  // namespace smtpd
