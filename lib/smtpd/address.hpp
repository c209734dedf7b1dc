// address.hpp - RFC 5321 paths in MAIL, RCPT and VRFY arguments.
//
// A pure parser over a buffer.  It accepts what smtpd.py accepts (which
// parses paths with the email package's RFC 5322 address parser): angle
// addresses and bare ones, "<>", quoted local parts, address literals,
// comments, and source routes (RFC 5321 4.1.2 obs-route, which it drops),
// and returns the path in the same normal form the reference hands on.
#pragma once

#include <string>
#include <string_view>

#include "smtpd/export.hpp"

namespace smtpd {

struct ParsedPath {
  // The path in normal form ("a@b.example", "\"Fred Blogs\"@example.com",
  // "<>" for the null path); empty when the argument holds no path.
  std::string address;
  // What follows the path (the ESMTP parameters), as the reference leaves
  // it: it may start with white space.
  std::string rest;
};

// Parse the argument after "FROM:" / "TO:" (or VRFY's argument), already
// stripped of surrounding white space.  Input is UTF-8.  Never throws: text
// the reference cannot parse gives an empty address.
SMTPD_API ParsedPath parse_path(std::string_view argument);

}  // namespace smtpd
