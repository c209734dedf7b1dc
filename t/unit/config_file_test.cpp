// config_file_test.cpp - the options file's syntax (bin/config_file.hpp):
// a table of texts and the entries, or the error, each gives; the same
// text with CRLF line ends; and reading a file whole.
#include "config_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

namespace in_smtpd {
namespace {

struct Case {
  const char* text;
  // "LINE:NAME=VALUE" for each entry, or "LINE:error" for the error.
  std::vector<std::string> expected;
};

const Case kCases[] = {
    {"", {}},
    {"\n\n", {}},
    {"# only a comment\n   # and another\n", {}},
    {"class = PureProxy\n", {"1:class=PureProxy"}},
    {"class=PureProxy", {"1:class=PureProxy"}},  // no LF at the end
    {"  \tsize\t =  1000  \n", {"1:size=1000"}},
    {"hostname = a.example # the name\n", {"1:hostname=a.example"}},
    {"hostname = a#b\n", {"1:hostname=a"}},  // "#" starts a comment anywhere
    {"smtputf8 =\n", {"1:smtputf8="}},
    {"mailman-command = /usr/bin/m {command} {list}\n",
     {"1:mailman-command=/usr/bin/m {command} {list}"}},
    {"size = 5 = 6\n", {"1:size=5 = 6"}},        // the first "=" splits
    {"no such = thing\n", {"1:no such=thing"}},  // names are checked later
    {"# c\n\nrelay-domain = a.example\n\nrelay-domain = b.example\n",
     {"3:relay-domain=a.example", "5:relay-domain=b.example"}},
    {"hostname a.example\n", {"1:not NAME = VALUE: 'hostname a.example'"}},
    {"size = 1\nsmtputf8\nlog = stderr\n", {"2:not NAME = VALUE: 'smtputf8'"}},
    {"= x\n", {"1:not NAME = VALUE: '= x'"}},
    {" # c\n[in.smtpd]\n",
     {"2:sections are not used in this file: '[in.smtpd]'"}},
};

std::vector<std::string> outcome(const ConfigFile& file) {
  std::vector<std::string> result;
  if (!file.error.empty()) {
    EXPECT_TRUE(file.entries.empty());
    result.push_back(std::to_string(file.error_line) + ":" + file.error);
    return result;
  }
  for (const ConfigEntry& entry : file.entries)
    result.push_back(std::to_string(entry.line) + ":" + entry.name + "=" +
                     entry.value);
  return result;
}

std::string with_crlf(const std::string& text) {
  std::string result;
  for (const char c : text)
    result += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return result;
}

TEST(ConfigFile, Cases) {
  for (const Case& c : kCases) {
    EXPECT_EQ(outcome(parse_config_file(c.text)), c.expected)
        << "text: " << c.text;
    EXPECT_EQ(outcome(parse_config_file(with_crlf(c.text))), c.expected)
        << "text with CRLF: " << c.text;
  }
}

TEST(ConfigFile, ReadWholeFile) {
  char path[] = "/tmp/config_file_test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  // Larger than one read.
  std::string text;
  for (int i = 0; i < 1000; ++i)
    text += "relay-domain = d" + std::to_string(i) + ".example\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
  close(fd);
  std::string contents = "left over";
  EXPECT_EQ(read_whole_file(path, contents), 0);
  EXPECT_EQ(contents, text);
  EXPECT_EQ(parse_config_file(contents).entries.size(), 1000u);
  unlink(path);
  EXPECT_EQ(read_whole_file(path, contents), ENOENT);
  EXPECT_EQ(read_whole_file("/", contents), EISDIR);
}

}  // namespace
}  // namespace in_smtpd
