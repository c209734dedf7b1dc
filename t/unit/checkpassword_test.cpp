// checkpassword_test.cpp - run_checkpassword (checkpassword.hpp) with
// real small programs: what they get on descriptor 3 and around it, and
// how each way of ending maps to a verdict.
#include "smtpd/checkpassword.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "enum_names.hpp"

namespace smtpd {
namespace {

using namespace std::string_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class Checkpassword : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = signal(SIGPIPE, SIG_IGN);
    char pattern[] = "/tmp/checkpassword-test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    signal(SIGPIPE, old_);
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // A program in the test's directory: a shell script with `body`.
  std::string program(const std::string& name, const std::string& body) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }

  CheckpasswordResult check(const std::vector<std::string>& argv,
                            const std::string& user = "alice",
                            const std::string& password = "s3cret",
                            unsigned timeout = 10) {
    AuthCredentials credentials;
    credentials.user = user;
    credentials.password = password;
    return run_checkpassword(argv, credentials, "1700000000", timeout);
  }

  void expect_no_children() {
    int status;
    errno = 0;
    EXPECT_EQ(waitpid(-1, &status, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
  }

  std::string dir_;

 private:
  sighandler_t old_ = SIG_DFL;
};

// A checkpassword that knows one user, as qmail's does it: the record on
// descriptor 3, then the program named by its arguments on success.
TEST_F(Checkpassword, AcceptsAndRejectsByWhatItReadsOnDescriptor3) {
  const std::string checker =
      program("checker",
              "record=$(tr '\\000' '\\n' <&3)\n"
              "[ \"$record\" = \"$(printf 'alice\\ns3cret\\n1700000000')\" ] "
              "|| exit 1\n"
              "exec \"$@\"");
  const CheckpasswordResult good = check({checker, "/bin/true"});
  EXPECT_EQ(good.verdict, AuthVerdict::good) << good.detail;
  EXPECT_EQ(good.detail, "exit 0");
  const CheckpasswordResult wrong =
      check({checker, "/bin/true"}, "alice", "guess");
  EXPECT_EQ(wrong.verdict, AuthVerdict::bad) << wrong.detail;
  EXPECT_EQ(wrong.detail, "exit 1");
  const CheckpasswordResult other =
      check({checker, "/bin/true"}, "bob", "s3cret");
  EXPECT_EQ(other.verdict, AuthVerdict::bad) << other.detail;
  // The program it runs on success decides too (qmail's convention).
  EXPECT_EQ(check({checker, "/bin/false"}).verdict, AuthVerdict::bad);
  expect_no_children();
}

TEST_F(Checkpassword, Descriptor3HoldsExactlyTheRecord) {
  const std::string recorder =
      program("recorder", "cat <&3 > '" + dir_ + "/record'");
  EXPECT_EQ(check({recorder}, "j\xC3\xBCrgen", "p w\td").verdict,
            AuthVerdict::good);
  EXPECT_EQ(read_file(dir_ + "/record"),
            "j\xC3\xBCrgen\0p w\td\0"
            "1700000000\0"s);
}

TEST_F(Checkpassword, CleanEnvironmentNoShellNothingInherited) {
  // Its environment, what its stdin is, and which descriptors it has.
  const std::string inspector =
      program("inspector", "env | sort > '" + dir_ +
                               "/env'\n"
                               "readlink /proc/$$/fd/0 > '" +
                               dir_ +
                               "/stdin'\n"
                               "ls /proc/$$/fd | sort -n | tr '\\n' ' ' > '" +
                               dir_ +
                               "/fds'\n"
                               "printf '%s|' \"$@\" > '" +
                               dir_ +
                               "/args'\n"
                               "cat <&3 >/dev/null");
  setenv("CHECKPASSWORD_TEST_SECRET", "leak", 1);
  const CheckpasswordResult result =
      check({inspector, "a b", "$HOME", ";exit 1", "*"});
  unsetenv("CHECKPASSWORD_TEST_SECRET");
  EXPECT_EQ(result.verdict, AuthVerdict::good) << result.detail;
  const std::string env = read_file(dir_ + "/env");
  EXPECT_EQ(env.find("CHECKPASSWORD_TEST_SECRET"), std::string::npos) << env;
  EXPECT_NE(env.find("PATH=/usr/local/bin:/usr/bin:/bin\n"), std::string::npos)
      << env;
  EXPECT_EQ(read_file(dir_ + "/stdin"), "/dev/null\n");
  // 0, 1, 2, 3, and the one ls opens for itself.
  EXPECT_EQ(read_file(dir_ + "/fds").substr(0, 8), "0 1 2 3 ");
  EXPECT_EQ(read_file(dir_ + "/args"), "a b|$HOME|;exit 1|*|");
}

TEST_F(Checkpassword, TemporaryFailures) {
  struct Case {
    const char* name;
    std::string body;
    std::string detail;
  };
  const Case cases[] = {
      {"exit 111", "exit 111", "exit 111"},
      {"misuse (checkpassword-pam's 2)", "exit 2", "exit 2"},
      {"crash", "kill -SEGV $$", "signal 11"},
      {"killed", "kill -KILL $$", "signal 9"},
  };
  for (const Case& c : cases) {
    const CheckpasswordResult result = check({program("p", c.body)});
    EXPECT_EQ(result.verdict, AuthVerdict::temporary)
        << c.name << ": " << test::name(result.verdict);
    EXPECT_EQ(result.detail, c.detail) << c.name;
  }
  expect_no_children();
}

TEST_F(Checkpassword, ASlowProgramIsKilledWithItsChildren) {
  // It starts a child of its own that would outlive it; both go.
  const std::string slow =
      program("slow", "sleep 60 & echo $! > '" + dir_ + "/child'\nwait");
  const CheckpasswordResult result = check({slow}, "alice", "s3cret", 1);
  EXPECT_EQ(result.verdict, AuthVerdict::temporary);
  EXPECT_EQ(result.detail, "timed out after 1 s");
  expect_no_children();
  // The grandchild was in its process group: gone, or a zombie waiting
  // for init, never sleeping on.
  const std::string child = read_file(dir_ + "/child");
  ASSERT_FALSE(child.empty());
  const pid_t pid = std::atoi(child.c_str());
  std::string state;
  for (int i = 0; i < 500; ++i) {  // bounded: 5 s
    const std::string stat =
        read_file("/proc/" + std::to_string(pid) + "/stat");
    const std::size_t paren = stat.rfind(')');
    state = paren == std::string::npos ? "" : stat.substr(paren + 2, 1);
    if (state.empty() || state == "Z" || state == "X") break;
    usleep(10000);
  }
  EXPECT_TRUE(state.empty() || state == "Z" || state == "X") << state;
}

TEST_F(Checkpassword, ProgramsThatCannotRun) {
  EXPECT_EQ(check({dir_ + "/missing"}).verdict, AuthVerdict::temporary);
  const CheckpasswordResult relative = check({"checkpassword"});
  EXPECT_EQ(relative.verdict, AuthVerdict::temporary);
  EXPECT_NE(relative.detail.find("absolute path"), std::string::npos)
      << relative.detail;
  EXPECT_EQ(check({}).verdict, AuthVerdict::temporary);
  const std::string not_executable = dir_ + "/plain";
  std::ofstream(not_executable) << "exit 0\n";
  EXPECT_EQ(check({not_executable}).verdict, AuthVerdict::temporary);
  expect_no_children();
}

TEST_F(Checkpassword, OneThatDoesNotReadItsInputStillCounts) {
  EXPECT_EQ(check({"/bin/true"}).verdict, AuthVerdict::good);
  EXPECT_EQ(check({"/bin/false"}).verdict, AuthVerdict::bad);
}

TEST_F(Checkpassword, MalformedOrLongCredentialsNeverRunIt) {
  const std::string marker = dir_ + "/ran";
  const std::string p = program("p", "touch '" + marker + "'");
  const std::string fits(512 - 3 - 10 - 1, 'x');  // with "1700000000" and "y"
  struct Case {
    const char* name;
    std::string user, password;
    AuthVerdict verdict;
  };
  const Case cases[] = {
      {"empty user", "", "pw", AuthVerdict::bad},
      {"empty password", "alice", "", AuthVerdict::bad},
      {"NUL in user", "al\0ice"s, "pw", AuthVerdict::bad},
      {"NUL in password", "alice", "p\0w"s, AuthVerdict::bad},
      {"513 bytes", fits + "x", "y", AuthVerdict::bad},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(check({p}, c.user, c.password).verdict, c.verdict) << c.name;
    EXPECT_NE(access(marker.c_str(), F_OK), 0) << c.name << " ran it";
  }
  // 512 bytes exactly is run.
  EXPECT_EQ(check({p}, fits, "y").verdict, AuthVerdict::good);
  EXPECT_EQ(access(marker.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace smtpd
