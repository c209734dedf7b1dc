// poller_test.cpp - epoll and ppoll behind one interface (poller.hpp).
//
// The same cases run against both implementations, on socketpairs in one
// thread: a ready descriptor is reported under its key and with what it is
// ready for, only the ready ones are reported, interest can change and be
// dropped, and an unwatched descriptor whose peer hung up never wakes the
// wait.  The waits that must time out use a deadline a few milliseconds
// ahead; none of them is timed.
#include "smtpd/poller.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace smtpd {
namespace {

using Clock = Poller::Clock;

struct Pair {
  int ours = -1, theirs = -1;
  Pair() {
    int fds[2];
    EXPECT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
    ours = fds[0];
    theirs = fds[1];
  }
  ~Pair() {
    if (ours >= 0) close(ours);
    if (theirs >= 0) close(theirs);
  }
};

class PollerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    poller_ = GetParam() == "default" ? make_poller() : make_poll_poller();
    ASSERT_TRUE(poller_);
  }
  // Waits with a deadline soon after now; returns the events.
  std::vector<Poller::Event> wait_briefly() {
    std::vector<Poller::Event> events;
    EXPECT_NO_THROW(poller_->wait(
        events, Clock::now() + std::chrono::milliseconds(20), nullptr));
    return events;
  }
  std::unique_ptr<Poller> poller_;
};

TEST_P(PollerTest, DefaultIsEpollOnLinux) {
#if defined(__linux__) && !defined(SMTPD_NO_EPOLL)
  if (GetParam() == "default") {
    EXPECT_STREQ("epoll", poller_->name());
  }
#endif
  if (GetParam() == "poll") {
    EXPECT_STREQ("poll", poller_->name());
  }
}

TEST_P(PollerTest, ReportsOnlyTheReadyDescriptorUnderItsKey) {
  std::vector<Pair> pairs(50);
  for (std::size_t i = 0; i < pairs.size(); ++i)
    ASSERT_NO_THROW(poller_->watch(pairs[i].ours, 1000 + i, Poller::readable));
  EXPECT_TRUE(wait_briefly().empty());
  ASSERT_EQ(1, write(pairs[17].theirs, "x", 1));
  const std::vector<Poller::Event> events = wait_briefly();
  ASSERT_EQ(1u, events.size());
  EXPECT_EQ(1017u, events[0].key);
  EXPECT_EQ(unsigned(Poller::readable), events[0].what);
  // Level-triggered: still ready until read.
  EXPECT_EQ(1u, wait_briefly().size());
  char byte;
  ASSERT_EQ(1, read(pairs[17].ours, &byte, 1));
  EXPECT_TRUE(wait_briefly().empty());
}

TEST_P(PollerTest, InterestChangesAndIsDropped) {
  Pair a, b;
  ASSERT_NO_THROW(poller_->watch(a.ours, 1, Poller::writable));
  ASSERT_NO_THROW(poller_->watch(b.ours, 2, Poller::readable));
  std::vector<Poller::Event> events = wait_briefly();
  ASSERT_EQ(1u, events.size());
  EXPECT_EQ(1u, events[0].key);
  EXPECT_EQ(unsigned(Poller::writable), events[0].what);
  // From writable to readable, under a new key.
  ASSERT_NO_THROW(poller_->watch(a.ours, 3, Poller::readable));
  EXPECT_TRUE(wait_briefly().empty());
  ASSERT_EQ(1, write(a.theirs, "x", 1));
  ASSERT_EQ(1, write(b.theirs, "y", 1));
  events = wait_briefly();
  std::vector<std::uint64_t> keys;
  for (const Poller::Event& event : events) keys.push_back(event.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ((std::vector<std::uint64_t>{2, 3}), keys);
  // Dropped (twice is harmless): no longer reported, the other still is.
  ASSERT_NO_THROW(poller_->watch(a.ours, 3, 0));
  ASSERT_NO_THROW(poller_->watch(a.ours, 3, 0));
  events = wait_briefly();
  ASSERT_EQ(1u, events.size());
  EXPECT_EQ(2u, events[0].key);
  // Watched again.
  ASSERT_NO_THROW(poller_->watch(a.ours, 4, Poller::readable));
  EXPECT_EQ(2u, wait_briefly().size());
}

TEST_P(PollerTest, AHangUpWakesOnlyAWatchedDescriptor) {
  Pair watched, unwatched;
  ASSERT_NO_THROW(poller_->watch(watched.ours, 1, Poller::readable));
  ASSERT_NO_THROW(poller_->watch(unwatched.ours, 2, Poller::readable));
  ASSERT_NO_THROW(poller_->watch(unwatched.ours, 2, 0));
  close(watched.theirs);
  watched.theirs = -1;
  close(unwatched.theirs);
  unwatched.theirs = -1;
  const std::vector<Poller::Event> events = wait_briefly();
  ASSERT_EQ(1u, events.size());
  EXPECT_EQ(1u, events[0].key);
  EXPECT_TRUE(events[0].what & (Poller::readable | Poller::hangup));
}

// A connection that is not read (a hook's answer is awaited) is watched
// for its peer's closing alone: pending input does not wake it, the
// peer's shutdown does.
TEST_P(PollerTest, PeerClosedIsReportedWhenAskedAndInputIsNot) {
  Pair pair;
  ASSERT_NO_THROW(poller_->watch(pair.ours, 7, Poller::peer_closed));
  ASSERT_EQ(1, write(pair.theirs, "x", 1));
  EXPECT_TRUE(wait_briefly().empty());
  ASSERT_EQ(0, shutdown(pair.theirs, SHUT_WR));
  const std::vector<Poller::Event> events = wait_briefly();
  ASSERT_EQ(1u, events.size());
  EXPECT_EQ(7u, events[0].key);
  EXPECT_TRUE(events[0].what & Poller::peer_closed);
  EXPECT_FALSE(events[0].what & Poller::readable);
}

TEST_P(PollerTest, ManyReadyAtOnceAreAllReportedOverRounds) {
  // More than one round of epoll_wait takes: none is starved.
  std::vector<Pair> pairs(300);  // 600 descriptors: under the usual 1024
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    ASSERT_NO_THROW(poller_->watch(pairs[i].ours, i, Poller::readable));
    ASSERT_EQ(1, write(pairs[i].theirs, "x", 1));
  }
  std::vector<bool> seen(pairs.size());
  std::size_t left = pairs.size();
  for (int round = 0; round < 10 && left != 0; ++round) {
    for (const Poller::Event& event : wait_briefly()) {
      ASSERT_LT(event.key, pairs.size());
      ASSERT_FALSE(seen[event.key]);
      seen[event.key] = true;
      --left;
      char byte;
      ASSERT_EQ(1, read(pairs[event.key].ours, &byte, 1));
    }
  }
  EXPECT_EQ(0u, left);
}

TEST_P(PollerTest, NoDeadlineAndNothingReadyWaitsForTheDescriptor) {
  Pair a;
  ASSERT_NO_THROW(poller_->watch(a.ours, 7, Poller::readable));
  ASSERT_EQ(1, write(a.theirs, "x", 1));
  std::vector<Poller::Event> events;
  ASSERT_NO_THROW(poller_->wait(events, Clock::time_point::max(), nullptr));
  ASSERT_EQ(1u, events.size());
  EXPECT_EQ(7u, events[0].key);
}

// What the kernel refuses is an exception, never a silent gap in the
// watched set: epoll takes no regular file (EPERM), and no backend takes a
// closed descriptor.
TEST_P(PollerTest, RefusalsThrow) {
  EXPECT_THROW(poller_->watch(-1, 1, Poller::readable), std::system_error);
  if (std::string_view(poller_->name()) != "epoll") return;
  const int file = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_LE(0, file);
  try {
    poller_->watch(file, 2, Poller::readable);
    ADD_FAILURE() << "epoll took a regular file";
  } catch (const std::system_error& refused) {
    EXPECT_EQ(EPERM, refused.code().value());
  }
  close(file);
}

INSTANTIATE_TEST_SUITE_P(Backends, PollerTest,
                         ::testing::Values("default", "poll"));

}  // namespace
}  // namespace smtpd
