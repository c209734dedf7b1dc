// config_file.hpp - the syntax of in.smtpd's options file (--config FILE).
//
// One option a line, NAME = VALUE, the long option names without "--":
//
//     # a comment: from "#" to the end of the line, after a value too
//     class = PureProxy
//     relay-domain = example.org
//
// Blanks (spaces, tabs, a CR before the LF) around the name and the value
// do not count; blank lines and comment lines are skipped.  What the names
// and values mean is options.cpp's business: this only splits the text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace in_smtpd {

struct ConfigEntry {
  std::string name;
  std::string value;
  unsigned line;  // from 1
};

// The entries of a file in order, or the first line that is none: then
// error says what is wrong with it and error_line is its number.
struct ConfigFile {
  std::vector<ConfigEntry> entries;
  unsigned error_line = 0;
  std::string error;
};

ConfigFile parse_config_file(std::string_view text);

// The whole of a file into contents; 0, or the errno of the failure.
int read_whole_file(const std::string& path, std::string& contents);

}  // namespace in_smtpd
