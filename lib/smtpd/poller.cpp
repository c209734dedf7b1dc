// poller.cpp - epoll(7) and ppoll(2) behind one interface (see poller.hpp).
#include "smtpd/poller.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>
#include <system_error>

// configure --disable-epoll defines SMTPD_NO_EPOLL.
#if defined(__linux__) && !defined(SMTPD_NO_EPOLL)
#include <sys/epoll.h>
#define SMTPD_HAVE_EPOLL 1
#endif

namespace smtpd {
namespace {

using Clock = Poller::Clock;

[[noreturn]] void throw_system_error(int error, const char* what) {
  throw std::system_error(error, std::generic_category(), what);
}

// How long until deadline, rounded up: waking a little late is harmless
// (the deadlines are seconds), waking early would only sleep again.
timespec time_left(Clock::time_point deadline, Clock::time_point now) {
  if (deadline <= now) return {0, 0};
  const auto left =
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now)
          .count();
  return {time_t(left / 1000000000), long(left % 1000000000)};
}

// Grows a per-descriptor table to hold fd.
template <typename T>
T& slot(std::vector<T>& table, int fd, T fill) {
  if (std::size_t(fd) >= table.size()) table.resize(std::size_t(fd) + 1, fill);
  return table[std::size_t(fd)];
}

class PollPoller : public Poller {
 public:
  void watch(int fd, std::uint64_t key, unsigned interest) override {
    if (fd < 0) throw_system_error(EBADF, "watching a descriptor");
    int& index = slot(index_, fd, -1);
    if (interest == 0) {
      if (index < 0) return;
      // The last entry takes the place of the one that goes.
      const std::size_t last = fds_.size() - 1;
      fds_[std::size_t(index)] = fds_[last];
      keys_[std::size_t(index)] = keys_[last];
      index_[std::size_t(fds_[last].fd)] = index;
      fds_.pop_back();
      keys_.pop_back();
      index = -1;
      return;
    }
    if (index < 0) {
      index = int(fds_.size());
      fds_.push_back({fd, 0, 0});
      keys_.push_back(key);
    }
    fds_[std::size_t(index)].events =
        short(((interest & readable) ? POLLIN : 0) |
              ((interest & writable) ? POLLOUT : 0) |
              ((interest & peer_closed) ? POLLRDHUP : 0));
    keys_[std::size_t(index)] = key;
  }

  void wait(std::vector<Event>& events, Clock::time_point deadline,
            const sigset_t* mask) override {
    events.clear();
    timespec left{};
    const timespec* timeout = nullptr;
    if (deadline != Clock::time_point::max()) {
      left = time_left(deadline, Clock::now());
      timeout = &left;
    }
    const int ready = ppoll(fds_.data(), fds_.size(), timeout, mask);
    if (ready < 0 && errno == EINTR) return;
    if (ready < 0) throw_system_error(errno, "ppoll");
    for (std::size_t i = 0;
         i < fds_.size() && events.size() < std::size_t(ready); ++i) {
      const short revents = fds_[i].revents;
      if (revents == 0) continue;
      unsigned what = 0;
      if (revents & POLLIN) what |= readable;
      if (revents & POLLOUT) what |= writable;
      if (revents & (POLLERR | POLLHUP | POLLNVAL)) what |= hangup;
      if (revents & POLLRDHUP) what |= peer_closed;
      events.push_back({keys_[i], what});
    }
  }

  const char* name() const override { return "poll"; }

 private:
  std::vector<pollfd> fds_;
  std::vector<std::uint64_t> keys_;  // beside fds_
  std::vector<int> index_;           // by descriptor: its place in fds_
};

#if SMTPD_HAVE_EPOLL
class EpollPoller : public Poller {
 public:
  explicit EpollPoller(int epoll_fd) : epoll_fd_(epoll_fd) {}
  ~EpollPoller() override { close(epoll_fd_); }
  EpollPoller(const EpollPoller&) = delete;
  EpollPoller& operator=(const EpollPoller&) = delete;

  void watch(int fd, std::uint64_t key, unsigned interest) override {
    if (fd < 0) throw_system_error(EBADF, "watching a descriptor");
    char& watched = slot(watched_, fd, char(0));
    if (interest == 0) {
      if (!watched) return;
      watched = false;
      // It can fail only for a descriptor that is not registered (ENOENT,
      // EBADF): then nothing is left to remove, and the close(2) that
      // follows removes it anyway (epoll(7)).
      (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      return;
    }
    epoll_event event{};
    event.events = ((interest & readable) ? EPOLLIN : 0u) |
                   ((interest & writable) ? EPOLLOUT : 0u) |
                   ((interest & peer_closed) ? EPOLLRDHUP : 0u);
    event.data.u64 = key;
    if (epoll_ctl(epoll_fd_, watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
                  &event) != 0)
      throw_system_error(errno, "epoll_ctl");
    watched = true;
  }

  void wait(std::vector<Event>& events, Clock::time_point deadline,
            const sigset_t* mask) override {
    events.clear();
    int timeout = -1;
    if (deadline != Clock::time_point::max()) {
      const timespec left = time_left(deadline, Clock::now());
      // Milliseconds, rounded up (see time_left).
      const long long ms =
          (long long)left.tv_sec * 1000 + (left.tv_nsec + 999999) / 1000000;
      timeout = int(std::min<long long>(ms, INT_MAX));
    }
    const int ready = epoll_pwait(
        epoll_fd_, ready_, int(sizeof ready_ / sizeof *ready_), timeout, mask);
    if (ready < 0 && errno == EINTR) return;
    if (ready < 0) throw_system_error(errno, "epoll_pwait");
    for (int i = 0; i < ready; ++i) {
      unsigned what = 0;
      if (ready_[i].events & EPOLLIN) what |= readable;
      if (ready_[i].events & EPOLLOUT) what |= writable;
      if (ready_[i].events & (EPOLLERR | EPOLLHUP)) what |= hangup;
      if (ready_[i].events & EPOLLRDHUP) what |= peer_closed;
      events.push_back({ready_[i].data.u64, what});
    }
  }

  const char* name() const override { return "epoll"; }

 private:
  int epoll_fd_;
  std::vector<char> watched_;  // by descriptor: registered
  // At most this many per round; the others stay ready for the next
  // (level-triggered), so none is starved.
  epoll_event ready_[256];
};
#endif

}  // namespace

std::unique_ptr<Poller> make_poll_poller() {
  return std::make_unique<PollPoller>();
}

std::unique_ptr<Poller> make_poller() {
#if SMTPD_HAVE_EPOLL
  const int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw_system_error(errno, "epoll_create1");
  return std::make_unique<EpollPoller>(fd);
#else
  return make_poll_poller();
#endif
}

}  // namespace smtpd
