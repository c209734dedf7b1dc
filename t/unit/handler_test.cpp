// handler_test.cpp - the hooks (handler.hpp) and the per-connection core
// (connection.hpp): every answer through one check, answers now or later,
// a hook that throws, the PROXY phase's cap, the line that ends a session.
//
// Before the hook API the RCPT check's answer went to the client as it
// was: "250 fine" told the client 250 and dropped the recipient (silent
// mail loss), "550 no\r\n250 OK" injected a second reply, a 421 did not
// close, and "" was undefined behaviour.  Each case below is one of those.
#include "smtpd/handler.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "smtpd/channel.hpp"
#include "smtpd/connection.hpp"
#include "smtpd/driver.hpp"
#include "smtpd/hook_worker.hpp"
#include "smtpd/listener.hpp"
#include "smtpd/replies.hpp"

namespace smtpd {
namespace {

using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view greeting = "220 localhost in.smtpd ESMTP\r\n";
const std::string bad_answer = std::string(replies::bad_hook_answer) + "\r\n";

// Hooks from functions; unset ones accept.  DATA is accepted ("250 OK").
struct Hooks : Handler {
  std::function<Answer(Context&)> connect;
  std::function<Answer(Context&, const std::string&)> helo, mail, rcpt;
  std::function<Answer(Context&, const Envelope&)> data;
  std::function<Answer(Context&, const std::string&)> verb;
  std::vector<Envelope> delivered;

  Answer handle_connect(Context& c) override {
    return connect ? connect(c) : Answer::accept();
  }
  Answer handle_helo(Context& c, const std::string& name, bool) override {
    return helo ? helo(c, name) : Answer::accept();
  }
  Answer handle_mail(Context& c, const std::string& address) override {
    return mail ? mail(c, address) : Answer::accept();
  }
  Answer handle_rcpt(Context& c, const std::string& address) override {
    return rcpt ? rcpt(c, address) : Answer::accept();
  }
  Answer handle_data(Context& c, const Envelope& message) override {
    delivered.push_back(message);
    return data ? data(c, message) : Answer::accept();
  }
  Answer handle_verb(Context& c, const std::string& v,
                     const std::optional<std::string>&) override {
    return verb ? verb(c, v) : Answer::accept();
  }
};

std::string take(Channel& channel) {
  std::string out(channel.output());
  channel.consume_output(out.size());
  return out;
}

// --- the one check ----------------------------------------------------------

struct Malformed {
  const char* name;
  std::string answer;
};

const std::vector<Malformed> malformed_answers = {
    {"Empty", ""},
    {"NoCode", "fine"},
    {"ShortCode", "25"},
    {"CodeAbove5xx", "600 Nope"},
    {"CodeBelow2xx", "199 Nope"},
    {"SecondDigitAbove5", "260 Nope"},
    {"LetterInCode", "2x0 Nope"},
    {"NoSpaceAfterCode", "250x"},
    {"InjectedSecondReply", "550 no\r\n250 OK"},
    {"BareLf", "550 a\nb"},
    {"BareCr", "550 a\rb"},
    {"Nul", "550 a\0b"s},
    {"ContinuationNeverEnded", "250-More lines follow"},
    {"EightBit", "250 caf\xc3\xa9"},
    {"ControlByte", "250 escape \x1b[2J"},
    {"IntermediateReply", "354 Go ahead"},
    {"LongerThan512", "250 " + std::string(600, 'x')},
};

class MalformedRcptAnswer : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedRcptAnswer, Is451AndTheRecipientIsNotTaken) {
  Hooks hooks;
  hooks.rcpt = [](Context&, const std::string&) {
    return Answer::reply(GetParam().answer);
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nNOOP\r\n");
  EXPECT_EQ("250 localhost\r\n250 OK\r\n" + bad_answer + "250 OK\r\n",
            take(channel));
  EXPECT_TRUE(channel.transaction().rcpt_tos.empty());
  const std::vector<std::string> problems = channel.take_problems();
  ASSERT_EQ(1u, problems.size());
  EXPECT_EQ(0u, problems[0].find("the RCPT hook's answer was not used: "))
      << problems[0];
}

INSTANTIATE_TEST_SUITE_P(Answers, MalformedRcptAnswer,
                         ::testing::ValuesIn(malformed_answers),
                         [](const ::testing::TestParamInfo<Malformed>& info) {
                           return std::string(info.param.name);
                         });

TEST(CheckAnswer, EveryMalformedAnswerIsRefusedForEveryHook) {
  for (const Hook hook : {Hook::connect, Hook::helo, Hook::mail, Hook::rcpt,
                          Hook::data, Hook::rset, Hook::quit}) {
    for (const Malformed& m : malformed_answers) {
      const CheckedAnswer checked = check_answer(hook, Answer::reply(m.answer));
      EXPECT_EQ(CheckedAnswer::Verdict::refuse, checked.verdict) << m.name;
      EXPECT_EQ('4', checked.line.at(0)) << m.name;
      EXPECT_FALSE(checked.problem.empty()) << m.name;
    }
  }
  // A verb of the user's own may start an exchange of its own.
  EXPECT_EQ(
      CheckedAnswer::Verdict::accept,
      check_answer(Hook::verb, Answer::reply("334 VXNlcm5hbWU6")).verdict);
}

TEST(RcptHook, A2xxAnswerAcceptsTheRecipient) {
  Hooks hooks;
  hooks.rcpt = [](Context&, const std::string&) {
    return Answer::reply("250 fine");
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  channel.feed(
      "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n");
  EXPECT_EQ(std::string(greeting) +
                "250 localhost\r\n250 OK\r\n250 fine\r\n"
                "354 End data with <CR><LF>.<CR><LF>\r\n250 OK\r\n",
            take(channel));
  ASSERT_EQ(1u, hooks.delivered.size());
  EXPECT_EQ(std::vector<std::string>{"c@d"}, hooks.delivered[0].rcpt_tos);
}

TEST(RcptHook, A421ClosesTheSession) {
  Hooks hooks;
  hooks.rcpt = [](Context&, const std::string&) {
    return Answer::reply("421 closing");
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nNOOP\r\n");
  EXPECT_EQ("250 localhost\r\n250 OK\r\n421 closing\r\n", take(channel));
  EXPECT_TRUE(channel.closed());
  EXPECT_EQ(Channel::Closing::by_hook, channel.closing());
}

TEST(RcptHook, ADropClosesWithoutAReply) {
  Hooks hooks;
  hooks.rcpt = [](Context&, const std::string&) { return Answer::drop(); };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nNOOP\r\n");
  EXPECT_EQ("250 localhost\r\n250 OK\r\n", take(channel));
  EXPECT_TRUE(channel.closed());
  EXPECT_EQ(Channel::Closing::by_hook, channel.closing());
}

TEST(DataHook, ADropKeepsNothingAndSaysNothing) {
  Hooks hooks;
  hooks.data = [](Context&, const Envelope&) { return Answer::drop(); };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed(
      "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n");
  EXPECT_EQ(
      "250 localhost\r\n250 OK\r\n250 OK\r\n354 End data with "
      "<CR><LF>.<CR><LF>\r\n",
      take(channel));
  EXPECT_TRUE(channel.closed());
  EXPECT_TRUE(channel.transaction().rcpt_tos.empty());
}

TEST(Hooks, AThrowingHookIs451AndALogLine) {
  Hooks hooks;
  hooks.rcpt = [](Context&, const std::string&) -> Answer {
    throw std::runtime_error("database gone");
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
  EXPECT_EQ("250 localhost\r\n250 OK\r\n" + bad_answer, take(channel));
  EXPECT_EQ(std::vector<std::string>{"the RCPT hook threw: database gone"},
            channel.take_problems());
}

TEST(Hooks, RefusalsLeaveTheSessionAsItWas) {
  Hooks hooks;
  hooks.helo = [](Context&, const std::string& name) {
    return name == "bad" ? Answer::reply("550 Not you") : Answer::accept();
  };
  hooks.mail = [](Context& c, const std::string& address) {
    EXPECT_EQ("good", c.session().helo);
    return address == "spam@x" ? Answer::reply("553 No") : Answer::accept();
  };
  Channel channel(ChannelConfig{}, Peer{"192.0.2.7", 1}, &hooks);
  take(channel);
  channel.feed("HELO bad\r\nMAIL FROM:<a@b>\r\nHELO good\r\n");
  EXPECT_EQ("550 Not you\r\n503 Error: send HELO first\r\n250 localhost\r\n",
            take(channel));
  channel.feed("MAIL FROM:<spam@x>\r\nRCPT TO:<c@d>\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_EQ("553 No\r\n503 Error: need MAIL command\r\n250 OK\r\n",
            take(channel));
  EXPECT_EQ("a@b", channel.transaction().mail_from);
}

TEST(Hooks, ConnectRefusedEndsTheSessionWithoutAGreeting) {
  Hooks hooks;
  hooks.connect = [](Context& c) {
    return c.session().peer.address == "192.0.2.66"
               ? Answer::reply("554 Go away")
               : Answer::accept();
  };
  Channel refused(ChannelConfig{}, Peer{"192.0.2.66", 1}, &hooks);
  EXPECT_EQ("554 Go away\r\n", take(refused));
  EXPECT_TRUE(refused.closed());
  Channel welcome(ChannelConfig{}, Peer{"192.0.2.7", 1}, &hooks);
  EXPECT_EQ(greeting, take(welcome));
}

TEST(Hooks, AVerbOfOurOwn) {
  Hooks hooks;
  hooks.verb = [](Context&, const std::string& verb) {
    return verb == "XPING" ? Answer::reply("250 pong") : Answer::accept();
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed("xping\r\nXPONG\r\n");
  EXPECT_EQ("250 pong\r\n500 Error: command \"XPONG\" not recognized\r\n",
            take(channel));
}

TEST(SendReply, IsCheckedAsAHookAnswerIs) {
  Channel channel(ChannelConfig{}, Peer{});
  channel.set_command("XA", [](Channel& c, const Channel::Argument&) {
    c.send_reply("550 no\r\n250 OK");
  });
  channel.set_command(
      "XB", [](Channel& c, const Channel::Argument&) { c.send_reply(""); });
  channel.set_command("XC", [](Channel& c, const Channel::Argument&) {
    c.send_reply("421 bye");
  });
  take(channel);
  channel.feed("XA\r\nXB\r\nXC\r\nNOOP\r\n");
  EXPECT_EQ(bad_answer + bad_answer + "421 bye\r\n", take(channel));
  EXPECT_TRUE(channel.closed());
  EXPECT_EQ(2u, channel.take_problems().size());
}

// --- later ------------------------------------------------------------------

TEST(Later, ARcptCheckAnsweredFromAnotherThread) {
  Hooks hooks;
  std::thread worker;
  hooks.rcpt = [&](Context& c, const std::string& address) {
    Later later = c.later();
    worker = std::thread([later, address] {
      later.answer(address == "c@d" ? Answer::accept()
                                    : Answer::reply("550 unknown"));
    });
    return Answer::later();
  };
  std::atomic<int> woken{0};
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  channel.set_wake([&] { ++woken; });
  take(channel);
  // Pipelined: nothing after the RCPT is answered before it is.
  channel.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nNOOP\r\n");
  EXPECT_EQ("250 localhost\r\n250 OK\r\n", take(channel));
  EXPECT_EQ(Hook::rcpt, channel.waiting_for());
  worker.join();
  EXPECT_EQ(1, woken.load());
  EXPECT_TRUE(channel.collect_later());
  EXPECT_EQ("250 OK\r\n250 OK\r\n", take(channel));
  EXPECT_EQ(std::vector<std::string>{"c@d"}, channel.transaction().rcpt_tos);
  EXPECT_FALSE(channel.collect_later());
}

TEST(Later, AnsweredTwiceOnlyTheFirstCounts) {
  Hooks hooks;
  std::optional<Later> kept;
  hooks.data = [&](Context& c, const Envelope&) {
    kept = c.later();
    return Answer::later();
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed(
      "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n");
  take(channel);
  ASSERT_TRUE(kept);
  kept->answer(Answer::reply("451 not now"));
  kept->answer(Answer::accept());
  EXPECT_TRUE(channel.collect_later());
  EXPECT_EQ("451 not now\r\n", take(channel));
  EXPECT_EQ(0u, channel.session().messages);
}

TEST(Later, WithoutTakingTheHandleIs451) {
  Hooks hooks;
  hooks.rcpt = [](Context&, const std::string&) { return Answer::later(); };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
  EXPECT_EQ("250 localhost\r\n250 OK\r\n" + bad_answer, take(channel));
}

// --- HookWorker
// ----------------------------------------------------------------

TEST(HookWorker, EachJobAnswersItsHookFromTheWorkersThread) {
  Hooks hooks;
  HookWorker worker;
  std::vector<std::thread::id> threads;
  hooks.rcpt = [&](Context& c, const std::string& address) {
    return worker.later(c, Hook::rcpt, [&threads, address] {
      threads.push_back(std::this_thread::get_id());
      return address == "c@d" ? Answer::accept() : Answer::reply("550 unknown");
    });
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@d>\r\n");
  EXPECT_EQ("250 localhost\r\n250 OK\r\n", take(channel));
  worker.wait();
  EXPECT_TRUE(channel.collect_later());
  EXPECT_EQ("550 unknown\r\n", take(channel));
  // The next job waits for nothing: the previous one answered.
  channel.feed("RCPT TO:<c@d>\r\n");
  worker.wait();
  EXPECT_TRUE(channel.collect_later());
  EXPECT_EQ("250 OK\r\n", take(channel));
  EXPECT_EQ(std::vector<std::string>{"c@d"}, channel.transaction().rcpt_tos);
  ASSERT_EQ(2u, threads.size());
  EXPECT_NE(std::this_thread::get_id(), threads[0]);
}

TEST(HookWorker, AJobThatThrowsIs451AndLogged) {
  Hooks hooks;
  HookWorker worker;
  hooks.data = [&](Context& c, const Envelope&) {
    return worker.later(c, Hook::data, []() -> Answer {
      throw std::runtime_error("upstream exploded");
    });
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed(
      "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n");
  take(channel);
  worker.wait();
  EXPECT_TRUE(channel.collect_later());
  EXPECT_EQ(std::string(replies::bad_hook_answer) + "\r\n", take(channel));
  EXPECT_EQ(0u, channel.session().messages);
  const std::vector<std::string> problems = channel.take_problems();
  ASSERT_EQ(1u, problems.size());
  EXPECT_NE(std::string::npos,
            problems[0].find("the DATA hook threw: upstream exploded"))
      << problems[0];
}

// A task goes on after it answered its hook (a message streaming after
// its 354), and the next hook is not asked until it is answered.
TEST(HookWorker, ATaskAnswersItsHookAndGoesOn) {
  Hooks hooks;
  HookWorker worker;
  std::mutex mutex;
  std::condition_variable changed;
  bool answered = false, released = false, went_on = false;
  hooks.rcpt = [&](Context& c, const std::string&) {
    return worker.start(c, Hook::rcpt, [&](Later handle) {
      handle.answer(Answer::reply("250 taken"));
      std::unique_lock<std::mutex> lock(mutex);
      answered = true;
      changed.notify_all();
      changed.wait_for(lock, std::chrono::seconds(30),
                       [&] { return released; });
      went_on = released;
    });
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait_for(lock, std::chrono::seconds(30), [&] { return answered; });
  }
  EXPECT_TRUE(channel.collect_later());
  EXPECT_EQ("250 localhost\r\n250 OK\r\n250 taken\r\n", take(channel));
  {
    const std::lock_guard<std::mutex> lock(mutex);
    released = true;
  }
  changed.notify_all();
  worker.wait();
  EXPECT_TRUE(went_on);
}

TEST(HookWorker, ATaskThatThrowsIsAnsweredInItsHooksName) {
  Hooks hooks;
  HookWorker worker;
  hooks.rcpt = [&](Context& c, const std::string&) {
    return worker.start(c, Hook::rcpt, [](Later) {
      throw std::runtime_error("the task exploded");
    });
  };
  Channel channel(ChannelConfig{}, Peer{}, &hooks);
  take(channel);
  channel.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
  worker.wait();
  EXPECT_TRUE(channel.collect_later());
  EXPECT_EQ("250 localhost\r\n250 OK\r\n" +
                std::string(replies::bad_hook_answer) + "\r\n",
            take(channel));
  const std::vector<std::string> problems = channel.take_problems();
  ASSERT_EQ(1u, problems.size());
  EXPECT_NE(std::string::npos,
            problems[0].find("the RCPT hook threw: the task exploded"))
      << problems[0];
}

// An answer that comes when the client is gone goes to Gone first (a
// proxy logs it); one that reaches its client does not.
TEST(HookWorker, AnAnswerThatReachesNoOneGoesToGone) {
  Hooks hooks;
  HookWorker worker;
  std::vector<std::string> gone;
  std::mutex mutex;
  std::condition_variable changed;
  bool released = false;
  hooks.rcpt = [&](Context& c, const std::string& address) {
    return worker.later(
        c, Hook::rcpt,
        [&, address] {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait_for(lock, std::chrono::seconds(30),
                           [&] { return released; });
          return Answer::reply("250 " + address, "upstream took " + address);
        },
        [&](const Answer& answer) { gone.push_back(answer.detail()); });
  };
  const auto release = [&] {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      released = true;
    }
    changed.notify_all();
    worker.wait();
  };
  Channel heard(ChannelConfig{}, Peer{}, &hooks);
  take(heard);
  heard.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
  release();
  EXPECT_TRUE(heard.collect_later());
  EXPECT_EQ("250 localhost\r\n250 OK\r\n250 c@d\r\n", take(heard));
  EXPECT_TRUE(gone.empty());

  released = false;
  Channel left(ChannelConfig{}, Peer{}, &hooks);
  take(left);
  left.feed("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<e@f>\r\n");
  left.client_gone();
  release();
  EXPECT_EQ(std::vector<std::string>{"upstream took e@f"}, gone);
}

// --- the connection core ----------------------------------------------------

struct Logged {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view line) {
      const std::lock_guard<std::mutex> lock(mutex);
      lines.emplace_back(line);
    };
  }
};

TEST(Connection, APROXYHeaderTrickledEndsAtTheSessionCap) {
  Logged log;
  DriverOptions options;
  options.command_timeout_seconds = 300;
  options.session_timeout_seconds = 10;
  options.log = log.sink();
  Hooks hooks;
  const Clock::time_point start{};
  Connection connection(options, ChannelConfig{}, hooks, Peer{}, true, start);
  const std::string header = "PROXY TCP4 192.0.2.1 192.0.2.2 1 25\r\n";
  // One byte a second: every byte is progress, yet the cap holds.
  for (std::size_t i = 0; i < 9; ++i) {
    const Clock::time_point now = start + std::chrono::seconds(i);
    connection.tick(now);
    ASSERT_FALSE(connection.finished()) << "after " << i << " s";
    connection.received(header.substr(i, 1), now);
  }
  EXPECT_EQ(start + std::chrono::seconds(10), connection.wake_at());
  connection.tick(start + std::chrono::seconds(10));
  EXPECT_TRUE(connection.finished());
  EXPECT_EQ(Connection::End::timeout, connection.end());
  EXPECT_EQ(nullptr, connection.channel());
  connection.finish();
  EXPECT_EQ((std::vector<std::string>{
                "no PROXY header in time",
                "session peer=127.0.0.1 messages=0 end=timeout"}),
            log.lines);
}

TEST(Connection, TheEndOfEverySessionIsOneLine) {
  struct Case {
    std::string input;
    bool input_ends;
    std::string line;
  };
  const std::vector<Case> cases = {
      {"HELO c.example\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
       "x\r\n.\r\nQUIT\r\n",
       false, "session peer=192.0.2.7 helo=c.example messages=1 end=quit"},
      {"HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhalf a mess",
       true, "session peer=192.0.2.7 helo=c messages=0 end=reset in=DATA"},
      {"HELO c\r\nX\r\nX\r\nX\r\n", false,
       "session peer=192.0.2.7 helo=c messages=0 end=too-many-errors"},
      {"HELO bad\x01name\r\n", true,
       "session peer=192.0.2.7 helo=bad\\x01name messages=0 end=reset"},
  };
  for (const Case& c : cases) {
    Logged log;
    DriverOptions options;
    options.log = log.sink();
    Hooks hooks;
    ChannelConfig config;
    config.max_errors = 3;
    {
      Connection connection(options, config, hooks, Peer{"192.0.2.7", 1}, false,
                            Clock::now());
      connection.received(c.input, Clock::now());
      if (c.input_ends) connection.input_ended(Clock::now());
    }
    ASSERT_EQ(1u, log.lines.size()) << c.line;
    EXPECT_EQ(c.line, log.lines[0]);
  }
}

// A DATA hook that throws, in the inetd driver and in the listener: the
// client gets 451 and the session goes on; the log says why.
struct Throwing : Handler {
  Answer handle_data(Context&, const Envelope&) override {
    throw std::runtime_error("disk on fire");
  }
  bool blocks(Hook) const override { return blocking; }
  bool blocking = false;
};

const std::string throwing_session =
    "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n";
const std::string throwing_replies = std::string(greeting) +
                                     "250 localhost\r\n250 OK\r\n250 OK\r\n"
                                     "354 End data with <CR><LF>.<CR><LF>\r\n" +
                                     std::string(replies::bad_hook_answer) +
                                     "\r\n221 Bye\r\n";

std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0)
    out.append(buffer, std::size_t(n));
  return out;
}

TEST(ThrowingHook, InTheInetdDriver) {
  int fds[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
  Logged log;
  DriverOptions options;
  options.log = log.sink();
  Throwing handler;
  std::thread session([&] {
    Connection connection(options, ChannelConfig{}, handler, Peer{}, false,
                          Clock::now());
    run_connection(connection, fds[1], fds[1], options);
    close(fds[1]);
  });
  ASSERT_EQ(ssize_t(throwing_session.size()),
            write(fds[0], throwing_session.data(), throwing_session.size()));
  const std::string replies = read_all(fds[0]);
  session.join();
  close(fds[0]);
  EXPECT_EQ(throwing_replies, replies);
  EXPECT_EQ((std::vector<std::string>{
                "the DATA hook threw: disk on fire",
                "session peer=127.0.0.1 helo=c messages=0 end=quit"}),
            log.lines);
}

// Reads from fd until the bytes read end with what; all of them.
std::string read_until(int fd, std::string_view what) {
  std::string out;
  char buffer[4096];
  while (out.size() < what.size() ||
         out.compare(out.size() - what.size(), what.size(), what) != 0) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, std::size_t(n));
  }
  return out;
}

TEST(Later, InTheInetdDriverTheAnswerWakesTheLoop) {
  int fds[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
  DriverOptions options;
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  std::thread worker;
  Hooks hooks;
  hooks.rcpt = [&](Context& c, const std::string&) {
    Later later = c.later();
    worker = std::thread([&, later] {
      std::unique_lock<std::mutex> lock(mutex);
      released.wait(lock, [&] { return release; });
      later.answer(Answer::reply("250 checked"));
    });
    return Answer::later();
  };
  std::thread session([&] {
    Connection connection(options, ChannelConfig{}, hooks, Peer{}, false,
                          Clock::now());
    run_connection(connection, fds[1], fds[1], options);
    close(fds[1]);
  });
  const std::string input =
      "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nNOOP\r\nQUIT\r\n";
  ASSERT_EQ(ssize_t(input.size()), write(fds[0], input.data(), input.size()));
  // Everything before the RCPT is answered; the rest waits for the check.
  EXPECT_EQ(std::string(greeting) + "250 localhost\r\n250 OK\r\n",
            read_until(fds[0], "250 OK\r\n"));
  {
    const std::lock_guard<std::mutex> lock(mutex);
    release = true;
  }
  released.notify_one();
  EXPECT_EQ("250 checked\r\n250 OK\r\n221 Bye\r\n", read_all(fds[0]));
  session.join();
  worker.join();
  close(fds[0]);
}

TEST(ThrowingHook, InTheListenerOnAThreadOfItsOwn) {
  sockaddr_in address;
  const int listener = listen_on_loopback(address);
  ASSERT_LE(0, listener);
  const socklen_t length = sizeof address;
  ASSERT_EQ(0, fcntl(listener, F_SETFL, O_NONBLOCK));
  Logged log;
  ListenerOptions options;
  options.connection.log = log.sink();
  options.shutdown_grace_seconds = 0;
  std::thread loop([&] {
    run_listener({listener}, options, [] {
      auto handler = std::make_unique<Throwing>();
      handler->blocking = true;  // run off the loop thread
      return handler;
    });
  });
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(0, connect(client, reinterpret_cast<sockaddr*>(&address), length));
  ASSERT_EQ(ssize_t(throwing_session.size()),
            write(client, throwing_session.data(), throwing_session.size()));
  const std::string replies = read_all(client);
  close(client);
  options.stop.request();
  // The loop sees the flag on its next wake: a connection that closes.
  const int nudge = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  connect(nudge, reinterpret_cast<sockaddr*>(&address), length);
  close(nudge);
  loop.join();
  EXPECT_EQ(throwing_replies, replies);
  ASSERT_FALSE(log.lines.empty());
  EXPECT_EQ("the DATA hook threw: disk on fire", log.lines[0]);
}

}  // namespace
}  // namespace smtpd
