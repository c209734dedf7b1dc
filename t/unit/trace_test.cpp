// trace_test.cpp - the -d trace line (trace.hpp): the direction, the
// bytes as Python's repr() shows them, and at most 512 of a chunk.
#include "trace.hpp"

#include <gtest/gtest.h>

#include <string>

namespace in_smtpd {
namespace {

TEST(Trace, DirectionAndBytesAsPythonShowsThem) {
  EXPECT_EQ(trace_line("in", "EHLO x\r\n"), "in b'EHLO x\\r\\n'");
  EXPECT_EQ(trace_line("out", "250 OK\r\n"), "out b'250 OK\\r\\n'");
  EXPECT_EQ(trace_line("in", std::string("\0\xff'", 3)), "in b\"\\x00\\xff'\"");
  EXPECT_EQ(trace_line("in", ""), "in b''");
}

TEST(Trace, AChunkIsCutAt512Bytes) {
  const std::string shown(512, 'a');
  EXPECT_EQ(trace_line("in", shown), "in b'" + shown + "'");
  EXPECT_EQ(trace_line("in", shown + "b"), "in b'" + shown + "'...");
  EXPECT_EQ(trace_line("out", std::string(100000, 'a')),
            "out b'" + shown + "'...");
}

}  // namespace
}  // namespace in_smtpd
