// pure_proxy_test.cpp - PureProxy driven by a channel, against an upstream
// on loopback that answers from a script: which hook a job that throws is
// logged as (relay.cpp runs each hook's job on the session's HookWorker,
// in that hook's name).
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "scripted_upstream.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/relay.hpp"
#include "smtpd/replies.hpp"

namespace smtpd {
namespace {

// An upstream that takes EHLO and MAIL and refuses every RCPT.
ScriptedUpstream::Said refuse_rcpt(const std::string& line) {
  if (line.compare(0, 4, "RCPT") == 0) return {"550 5.1.1 no such user\r\n"};
  if (line.compare(0, 4, "QUIT") == 0) return {"221 bye\r\n", true};
  return {line.compare(0, 4, "EHLO") == 0 ? "250 upstream\r\n" : "250 ok\r\n"};
}

// A channel whose later answers are waited for as a loop would: the wake
// function, then collect_later on this thread.
class Driven {
 public:
  explicit Driven(Handler* handler)
      : channel_(ChannelConfig{}, Peer{"127.0.0.1", 40000}, handler) {
    channel_.set_wake([this] {
      const std::lock_guard<std::mutex> lock(mutex_);
      woken_ = true;
      woke_.notify_one();
    });
    take();
  }
  // The replies to line, its later answer waited for (bounded: a lost
  // answer fails the test instead of hanging it).
  std::string say(const std::string& line) {
    channel_.feed(line);
    for (int round = 0; round < 4 && channel_.waiting_for(); ++round) {
      std::unique_lock<std::mutex> lock(mutex_);
      woke_.wait_for(lock, std::chrono::seconds(30), [this] { return woken_; });
      woken_ = false;
      lock.unlock();
      channel_.collect_later();
    }
    return take();
  }
  Channel& channel() { return channel_; }

 private:
  std::string take() {
    std::string out(channel_.output());
    channel_.consume_output(out.size());
    return out;
  }

  std::mutex mutex_;
  std::condition_variable woke_;
  bool woken_ = false;
  Channel channel_;
};

TEST(PureProxy, AJobThatThrowsIsLoggedAsItsOwnHooks) {
  const ScriptedUpstream upstream(refuse_rcpt);
  ASSERT_TRUE(upstream.listening());
  const UpstreamSettings settings = upstream.settings(30);
  // The log line for the upstream's refusal throws, inside the RCPT job.
  PureProxy proxy(settings, [](std::string_view line) {
    if (line.find("refused") != std::string_view::npos)
      throw std::runtime_error("log exploded");
  });
  Driven driven(&proxy);
  EXPECT_EQ("250 localhost\r\n", driven.say("HELO c\r\n"));
  EXPECT_EQ("250 ok\r\n", driven.say("MAIL FROM:<a@example.com>\r\n"));
  EXPECT_TRUE(driven.channel().take_problems().empty());
  EXPECT_EQ(std::string(replies::bad_hook_answer) + "\r\n",
            driven.say("RCPT TO:<b@example.net>\r\n"));
  const std::vector<std::string> problems = driven.channel().take_problems();
  ASSERT_EQ(1u, problems.size());
  EXPECT_NE(std::string::npos,
            problems[0].find("the RCPT hook threw: log exploded"))
      << problems[0];
}

}  // namespace
}  // namespace smtpd
