// poller.hpp - readiness of many descriptors, at the cost of the ready ones.
//
// The standalone loop (listener.cpp) registers a descriptor once, changes
// what it waits for only when that changes, and is told only of the
// descriptors that are ready: a connection at rest costs nothing per
// round.  Two implementations behind one interface:
//
//   epoll(7)  Linux; what make_poller() returns there (unless configure
//             --disable-epoll).
//   ppoll(2)  everywhere else (the BSDs, macOS): the interest set is kept
//             in one pollfd array, updated in place, so only the kernel's
//             scan of it grows with the idle connections.
//
// Level-triggered, as poll(2) is: a descriptor stays ready until it is read
// or written.  A descriptor with no interest is not watched at all, so a
// hang-up on a connection we do not read from now (a hook's answer is
// awaited) cannot wake the loop in a spin.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace smtpd {

class Poller {
 public:
  using Clock = std::chrono::steady_clock;

  // What to wait for; what was seen.
  enum : unsigned {
    readable = 1,
    writable = 2,
    hangup = 4,  // an error or hang-up (reported whatever was asked)
    // The peer closed its side of a socket (POLLRDHUP, EPOLLRDHUP): only
    // when asked, for a connection that is not read meanwhile.
    peer_closed = 8,
  };
  struct Event {
    std::uint64_t key;
    unsigned what;
  };

  virtual ~Poller() = default;
  // Waits on fd for interest (readable | writable | peer_closed), naming
  // it key in the events; interest 0 stops watching it.  Call with 0
  // before closing fd: that never throws.  Throws std::system_error when the
  // kernel refuses (epoll's table is full: max_user_watches).
  virtual void watch(int fd, std::uint64_t key, unsigned interest) = 0;
  // Sleeps until a watched descriptor is ready, until deadline
  // (Clock::time_point::max(): no deadline), or until a signal that mask
  // lets through (null: the thread's mask).  events is refilled with the
  // ready ones (none after a signal).  Throws std::system_error when
  // waiting failed.
  virtual void wait(std::vector<Event>& events, Clock::time_point deadline,
                    const sigset_t* mask) = 0;
  // "epoll" or "poll", for the log and the tests.
  virtual const char* name() const = 0;
};

// epoll(7) where the build has it, else ppoll(2).  Throws
// std::system_error when the kernel refuses (no descriptor left for the
// epoll instance).
std::unique_ptr<Poller> make_poller();
// The ppoll(2) one, on every system (tested beside epoll on Linux).
std::unique_ptr<Poller> make_poll_poller();

}  // namespace smtpd
