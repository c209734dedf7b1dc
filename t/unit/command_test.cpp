// command_test.cpp - run_command (command.hpp): fork and exec without a
// shell, a clean environment, the input on stdin, the output captured and
// bounded, a deadline, and nothing of ours inherited.
#include "smtpd/command.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "enum_names.hpp"

namespace smtpd {
namespace {

using Outcome = CommandResult::Outcome;

std::string describe(const CommandResult& r) {
  return std::string(test::name(r.outcome)) + " status " +
         std::to_string(r.status) + " error \"" + r.error + "\" output \"" +
         r.output.substr(0, 200) + "\"";
}

// The fds this process has open.
std::set<int> open_fds() {
  std::set<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return fds;
  const int own = dirfd(dir);
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd != own) fds.insert(fd);
  }
  closedir(dir);
  return fds;
}

// No child of ours is left, not even a zombie: everything was reaped.
void expect_no_children() {
  int status;
  errno = 0;
  EXPECT_EQ(waitpid(-1, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// Each test runs with SIGPIPE ignored: libsmtpd(3) asks that of programs
// that call run_command (a command may exit without reading its input),
// and in.smtpd does so.
class RunCommand : public ::testing::Test {
 protected:
  void SetUp() override { old_ = signal(SIGPIPE, SIG_IGN); }
  void TearDown() override { signal(SIGPIPE, old_); }

 private:
  sighandler_t old_ = SIG_DFL;
};

// --- exit status and output -------------------------------------------------

TEST_F(RunCommand, CatEchoesItsInput) {
  const CommandResult r = run_command({"/bin/cat"}, "hello\nworld\n", 10);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "hello\nworld\n");
  EXPECT_EQ(r.error, "");
  expect_no_children();
}

TEST_F(RunCommand, EmptyInputIsAnImmediateEndOfFile) {
  const CommandResult r = run_command({"/bin/cat"}, "", 10);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "");
}

TEST_F(RunCommand, ExitStatuses) {
  for (const int code : {0, 1, 2, 64, 67, 75, 126, 255}) {
    const CommandResult r =
        run_command({"/bin/sh", "-c", "exit " + std::to_string(code)}, "x", 10);
    EXPECT_EQ(r.outcome, Outcome::exited) << code << ": " << describe(r);
    EXPECT_EQ(r.status, code);
    EXPECT_EQ(r.error, "") << code;
  }
}

TEST_F(RunCommand, StdoutAndStderrAreBothCaptured) {
  const CommandResult r = run_command(
      {"/bin/sh", "-c", "echo out; echo err >&2; echo out2; exit 3"}, "", 10);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.output, "out\nerr\nout2\n");
}

TEST_F(RunCommand, ArgumentsArePassedAsTheyAreWithoutAShell) {
  char dir_template[] = "/tmp/command_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::vector<std::string> argv = {"/bin/echo",
                                         "a b",
                                         "$(touch " + dir + "/1)",
                                         "`touch " + dir + "/2`",
                                         ";touch " + dir + "/3",
                                         "|",
                                         "*",
                                         "$HOME",
                                         "'q'",
                                         "\"d\"",
                                         ""};
  const CommandResult r = run_command(argv, "", 10);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "a b $(touch " + dir + "/1) `touch " + dir +
                          "/2` ;touch " + dir + "/3 | * $HOME 'q' \"d\" \n");
  for (const char* name : {"/1", "/2", "/3"}) {
    struct stat info;
    EXPECT_NE(stat((dir + name).c_str(), &info), 0)
        << dir + name << " was created";
  }
  rmdir(dir.c_str());
}

TEST_F(RunCommand, OutputIsKeptToOneKibibyte) {
  std::string input;
  for (int i = 0; input.size() < 100000; ++i) input += std::to_string(i) + "\n";
  const CommandResult r = run_command({"/bin/cat"}, input, 10);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  // cat was not stopped by a full pipe: the rest was read and dropped.
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output.size(), 1024u);
  EXPECT_EQ(r.output, input.substr(0, 1024));
}

TEST_F(RunCommand, AChildThatWritesMuchMoreIsNotBlocked) {
  const CommandResult r = run_command(
      {"/bin/sh", "-c", "head -c 2000000 /dev/zero | tr '\\0' x; exit 4"}, "",
      10);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.status, 4);
  EXPECT_EQ(r.output, std::string(1024, 'x'));
}

// --- input larger than a pipe buffer
// -------------------------------------------

TEST_F(RunCommand, OneMegabyteInputIsReadInFull) {
  std::string input(1 << 20, 'm');
  for (std::size_t i = 0; i < input.size(); i += 61) input[i] = '\n';
  const CommandResult r = run_command({"/usr/bin/wc", "-c"}, input, 10);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "1048576\n");
}

TEST_F(RunCommand, OneMegabyteThroughCatArrivesIntact) {
  std::string input(1 << 20, '\0');
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = char('a' + i % 26);
  const CommandResult r =
      run_command({"/bin/sh", "-c", "cat | md5sum"}, input, 10);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.status, 0);
  // The same bytes through md5sum directly.
  const CommandResult direct = run_command({"/usr/bin/md5sum"}, input, 10);
  EXPECT_EQ(direct.status, 0);
  EXPECT_EQ(r.output, direct.output);
  EXPECT_EQ(r.output.size(), 32u + 4u);
}

TEST_F(RunCommand, AChildThatNeverReadsItsInputAndExitsDoesNotHang) {
  const std::string input(1 << 20, 'x');
  for (const auto& [argv, code] :
       std::vector<std::pair<std::vector<std::string>, int>>{
           {{"/bin/true"}, 0},
           {{"/bin/sh", "-c", "echo bye; exit 5"}, 5},
           {{"/bin/sh", "-c", "exec <&-; sleep 0.2; exit 6"}, 6}}) {
    const CommandResult r = run_command(argv, input, 10);
    EXPECT_EQ(r.outcome, Outcome::exited) << argv.back() << ": " << describe(r);
    EXPECT_EQ(r.status, code) << argv.back();
  }
  expect_no_children();
}

// --- time limits
// --------------------------------------------------------------

TEST_F(RunCommand, SleepIsKilledAfterTheTimeout) {
  const CommandResult r = run_command({"/bin/sleep", "10"}, "", 1);
  EXPECT_EQ(r.outcome, Outcome::timed_out) << describe(r);
  expect_no_children();  // killed and reaped
}

TEST_F(RunCommand, TimeoutWhileTheChildDoesNotReadItsInput) {
  // The write side is blocked (1 MB, nobody reads): the deadline still holds.
  const CommandResult r =
      run_command({"/bin/sleep", "10"}, std::string(1 << 20, 'x'), 1);
  EXPECT_EQ(r.outcome, Outcome::timed_out) << describe(r);
  expect_no_children();
}

TEST_F(RunCommand, TimeoutAfterTheChildClosedItsOutput) {
  // Its output ends at once, then it goes on: the wait for its exit has
  // the same deadline.
  const CommandResult r =
      run_command({"/bin/sh", "-c", "exec >&- 2>&- <&-; exec sleep 10"}, "", 1);
  EXPECT_EQ(r.outcome, Outcome::timed_out) << describe(r);
  expect_no_children();
}

TEST_F(RunCommand, OutputBeforeTheTimeoutIsKept) {
  const CommandResult r =
      run_command({"/bin/sh", "-c", "echo started; exec sleep 10"}, "", 1);
  EXPECT_EQ(r.outcome, Outcome::timed_out) << describe(r);
  EXPECT_EQ(r.output, "started\n");
}

TEST_F(RunCommand, TheTimedOutCommandsChildrenAreKilledToo) {
  // A wrapper script whose own child hangs (a pipeline, a helper): when
  // the time is up, the helper must not live on holding the output pipe.
  char path_template[] = "/tmp/command_test_pid.XXXXXX";
  const int fd = mkstemp(path_template);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string pid_file = path_template;
  // On a loaded machine the shell may not reach its "echo" within the
  // deadline; then there was no helper to kill, and the run is repeated
  // with a longer one rather than judged.
  pid_t helper = 0;
  for (int timeout = 1; helper == 0 && timeout <= 16; timeout *= 4) {
    const CommandResult r = run_command(
        {"/bin/sh", "-c", "sleep 60 & echo $! > " + pid_file + "; wait"}, "",
        timeout);
    EXPECT_EQ(r.outcome, Outcome::timed_out) << describe(r);
    std::ifstream in(pid_file);
    in >> helper;
  }
  unlink(pid_file.c_str());
  ASSERT_GT(helper, 0) << "the shell never started its helper";
  // A zombie is reaped by init soon; a live "sleep" is the failure.
  bool alive = false;
  for (int i = 0; i < 40; ++i) {
    std::ifstream stat("/proc/" + std::to_string(helper) + "/stat");
    std::string text;
    std::getline(stat, text);
    const std::size_t paren = text.rfind(')');
    alive = paren != std::string::npos && paren + 2 < text.size() &&
            text[paren + 2] != 'Z' && text.find("(sleep)") != std::string::npos;
    if (!alive) break;
    usleep(50000);
  }
  if (alive) kill(helper, SIGKILL);  // ours: do not leave it behind
  EXPECT_FALSE(alive) << "the timed-out command's child " << helper
                      << " (sleep 60) is still running";
}

// --- signals
// ---------------------------------------------------------------------

TEST_F(RunCommand, KilledBySignal) {
  CommandResult r = run_command({"/bin/sh", "-c", "kill -9 $$"}, "", 10);
  EXPECT_EQ(r.outcome, Outcome::signaled) << describe(r);
  EXPECT_EQ(r.status, SIGKILL);
  r = run_command({"/bin/sh", "-c", "kill -TERM $$"}, "in", 10);
  EXPECT_EQ(r.outcome, Outcome::signaled) << describe(r);
  EXPECT_EQ(r.status, SIGTERM);
  expect_no_children();
}

TEST_F(RunCommand, TheChildStartsWithNoBlockedSignalsAndDefaultSigpipe) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGCHLD);
  sigaddset(&block, SIGALRM);
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &old), 0);
  const CommandResult r = run_command(
      {"/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"}, "", 10);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  std::smatch blocked, ignored;
  ASSERT_TRUE(std::regex_search(r.output, blocked,
                                std::regex("SigBlk:\\s*([0-9a-f]+)")))
      << r.output;
  ASSERT_TRUE(std::regex_search(r.output, ignored,
                                std::regex("SigIgn:\\s*([0-9a-f]+)")))
      << r.output;
  EXPECT_EQ(std::stoull(blocked[1], nullptr, 16), 0u) << r.output;
  EXPECT_EQ(std::stoull(ignored[1], nullptr, 16) & (1ull << (SIGPIPE - 1)), 0u)
      << "SIGPIPE is ignored in the child: " << r.output;
}

// --- what is not run
// -----------------------------------------------------------

TEST_F(RunCommand, RelativePathsAreRefused) {
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{"cat"},
                                             {"bin/cat"},
                                             {"./cat"},
                                             {"../bin/cat"},
                                             {""},
                                             {"", "x"},
                                             {}}) {
    const std::set<int> before = open_fds();
    const CommandResult r = run_command(argv, "input", 10);
    EXPECT_EQ(r.outcome, Outcome::not_run)
        << (argv.empty() ? "(no argv)" : argv[0]) << ": " << describe(r);
    EXPECT_EQ(r.error, "the command must be an absolute path");
    EXPECT_EQ(r.output, "");
    EXPECT_EQ(open_fds(), before);
  }
  expect_no_children();
}

TEST_F(RunCommand, ANonExistentAbsolutePathIsExitStatus127) {
  for (const std::string path :
       {"/nonexistent/mailman", "/", "/etc/passwd", "/dev/null"}) {
    const CommandResult r = run_command({path, "post", "test"}, "message", 10);
    // The child's exec failed: it exits 127, which is reported with why.
    EXPECT_EQ(r.outcome, Outcome::exited) << path << ": " << describe(r);
    EXPECT_EQ(r.status, 127) << path;
    EXPECT_EQ(r.error, "could not execute " + path);
  }
  expect_no_children();
}

// --- the environment and the fds
// -------------------------------------------------

TEST_F(RunCommand, TheEnvironmentIsCleanOnlyPathLangLcAll) {
  setenv("SMTPD_TEST_SECRET", "hunter2", 1);
  setenv("LD_PRELOAD", "", 1);
  setenv("IFS", "x", 1);
  const CommandResult r = run_command({"/usr/bin/env"}, "", 10);
  unsetenv("SMTPD_TEST_SECRET");
  unsetenv("LD_PRELOAD");
  unsetenv("IFS");
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.output, "PATH=/usr/local/bin:/usr/bin:/bin\nLANG=C\nLC_ALL=C\n");
}

// The fds a child had, as "N -> TARGET" lines of `ls -l /proc/self/fd`,
// without the one ls itself opened to read that directory.
std::vector<std::pair<int, std::string>> child_fds(const CommandResult& r) {
  std::vector<std::pair<int, std::string>> fds;
  std::istringstream lines(r.output);
  const std::regex entry(R"( ([0-9]+) -> (.*)$)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, entry)) continue;
    const std::string target = m[2];
    if (std::regex_match(target, std::regex("/proc/[0-9]+/fd"))) continue;
    fds.emplace_back(std::stoi(m[1]), target);
  }
  return fds;
}

TEST_F(RunCommand, TheChildGetsOnlyStdinStdoutStderrAllPipes) {
  // Our own fds without close-on-exec, low and high, and our stdin/out.
  const int low = open("/dev/null", O_RDONLY);
  ASSERT_GE(low, 3);
  const int high = dup2(low, 200);
  ASSERT_EQ(high, 200);
  const CommandResult r =
      run_command({"/bin/ls", "-l", "/proc/self/fd"}, "", 10);
  close(low);
  close(high);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  const auto fds = child_fds(r);
  ASSERT_EQ(fds.size(), 3u) << r.output;
  EXPECT_EQ(fds[0].first, 0);
  EXPECT_EQ(fds[1].first, 1);
  EXPECT_EQ(fds[2].first, 2);
  // stdin: a pipe of its own; stdout and stderr: one other pipe.
  EXPECT_EQ(fds[0].second.rfind("pipe:[", 0), 0u) << r.output;
  EXPECT_EQ(fds[1].second.rfind("pipe:[", 0), 0u) << r.output;
  EXPECT_EQ(fds[1].second, fds[2].second) << r.output;
  EXPECT_NE(fds[0].second, fds[1].second) << r.output;
}

TEST_F(RunCommand, NoFdAbove1023IsInheritedEither) {
  // A program may run with a raised fd limit (systemd's LimitNOFILE, a
  // launcher that leaked one): fd 1500 without close-on-exec.
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  const rlimit saved = limit;
  if (limit.rlim_cur <= 1500) {
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max <= 1500)
      GTEST_SKIP() << "the fd limit is " << limit.rlim_max;
    limit.rlim_cur = 2048;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  const int low = open("/dev/null", O_RDONLY);
  ASSERT_GE(low, 3);
  const int high = dup2(low, 1500);
  close(low);
  ASSERT_EQ(high, 1500);
  const CommandResult r =
      run_command({"/bin/ls", "-l", "/proc/self/fd"}, "", 10);
  close(high);
  setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  const auto fds = child_fds(r);
  std::string listed;
  for (const auto& [fd, target] : fds) listed += std::to_string(fd) + " ";
  EXPECT_EQ(listed, "0 1 2 ") << r.output;
}

TEST_F(RunCommand, NoFdOfOursLeaksHere) {
  // Every path closes both pipes in this process: success, timeout,
  // signal, exec failure.
  const std::set<int> before = open_fds();
  run_command({"/bin/cat"}, "x", 10);
  run_command({"/bin/sleep", "10"}, std::string(1 << 20, 'x'), 1);
  run_command({"/bin/sh", "-c", "kill -9 $$"}, "", 10);
  run_command({"/nonexistent"}, "", 10);
  run_command({"/bin/true"}, std::string(1 << 20, 'x'), 10);
  EXPECT_EQ(open_fds(), before);
  expect_no_children();
}

TEST_F(RunCommand, StdinIsNotOurStdin) {
  // The command reads the input given, then end of file: never ours (in
  // in.smtpd our stdin is the client's connection).
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const int saved = dup(0);
  ASSERT_EQ(dup2(fds[0], 0), 0);
  ASSERT_EQ(write(fds[1], "client bytes\n", 13), 13);
  const CommandResult r = run_command({"/bin/cat"}, "given\n", 10);
  dup2(saved, 0);
  close(saved);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.output, "given\n");
}

// --- the input on descriptor 3 (the checkpassword interface) ---------------

TEST_F(RunCommand, InputOnDescriptor3AndStdinFromDevNull) {
  const CommandResult r =
      run_command({"/bin/sh", "-c", "cat <&3; readlink /proc/$$/fd/0"},
                  "on three\n", 3, 10);
  EXPECT_EQ(r.outcome, Outcome::exited) << describe(r);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "on three\n/dev/null\n");
  expect_no_children();
}

TEST_F(RunCommand, OnlyDescriptors0And3TakeTheInput) {
  for (const int fd : {-1, 1, 2, 4, 255}) {
    const CommandResult r = run_command({"/bin/cat"}, "x", fd, 10);
    EXPECT_EQ(r.outcome, Outcome::not_run) << fd;
    EXPECT_EQ(r.error, "the input goes to descriptor 0 or 3") << fd;
  }
}

}  // namespace
}  // namespace smtpd
