// program_start_test.cpp - the program's one error convention
// (program_start.hpp): what run_program says and returns for each way a
// program can fail.
#include "program_start.hpp"

#include <gtest/gtest.h>
#include <sysexits.h>

#include <cerrno>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

#include "exit_error.hpp"
#include "logs.hpp"

namespace in_smtpd {
namespace {

// What run_program said on stderr, and what it returned.
struct Outcome {
  std::string said;
  int status;
};

Outcome run_with(int (*program)(int, char*[], Logs&)) {
  char name[] = "in.smtpd";
  char* argv[] = {name, nullptr};
  testing::internal::CaptureStderr();
  const int status = run_program(program, 1, argv);
  return {testing::internal::GetCapturedStderr(), status};
}

TEST(RunProgram, ReturnsWhatTheProgramReturns) {
  const Outcome outcome =
      run_with([](int, char*[], Logs&) -> int { return EX_PROTOCOL; });
  EXPECT_EQ(outcome.status, EX_PROTOCOL);
  EXPECT_EQ(outcome.said, "");
}

TEST(RunProgram, SaysAnExitErrorsLineAndExitsWithItsStatus) {
  const Outcome outcome = run_with([](int, char*[], Logs&) -> int {
    throw ExitError(EX_OSERR, "cannot catch the stop signals: refused");
  });
  EXPECT_EQ(outcome.status, EX_OSERR);
  EXPECT_EQ(outcome.said, "in.smtpd: cannot catch the stop signals: refused\n");
}

// A library exception nobody turned into an ExitError is a bug: one line
// and EX_SOFTWARE, not std::terminate.
TEST(RunProgram, AnyOtherExceptionIsAnInternalError) {
  Outcome outcome = run_with([](int, char*[], Logs&) -> int {
    throw std::system_error(EINVAL, std::generic_category(), "sigaction");
  });
  EXPECT_EQ(outcome.status, EX_SOFTWARE);
  EXPECT_EQ(outcome.said, "in.smtpd: internal error: sigaction: " +
                              std::generic_category().message(EINVAL) + "\n");

  outcome = run_with([](int, char*[], Logs&) -> int {
    throw std::invalid_argument("not a domain: 'a..b'");
  });
  EXPECT_EQ(outcome.status, EX_SOFTWARE);
  EXPECT_EQ(outcome.said, "in.smtpd: internal error: not a domain: 'a..b'\n");
}

}  // namespace
}  // namespace in_smtpd
