// enum_names.hpp - readable names of the library's result enums, for the
// failure messages of the unit tests (t/unit/) and the fuzzers (t/fuzz/).
// The library has no names for them: it never prints them.
#pragma once

#include <cstddef>

#include "smtpd/auth.hpp"
#include "smtpd/command.hpp"
#include "smtpd/proxy_header.hpp"

namespace smtpd::test {

template <typename Enum>
struct EnumName {
  Enum value;
  const char* name;
};

// The name of `value` in `names`, or "?" for a value not in the table.
template <typename Enum, std::size_t N>
const char* name_in(const EnumName<Enum> (&names)[N], Enum value) {
  for (const EnumName<Enum>& entry : names)
    if (entry.value == value) return entry.name;
  return "?";
}

inline const char* name(ProxyHeader::Status status) {
  using Status = ProxyHeader::Status;
  static constexpr EnumName<Status> table[] = {
      {Status::incomplete, "incomplete"},
      {Status::invalid, "invalid"},
      {Status::complete, "complete"}};
  return name_in(table, status);
}

inline const char* name(AuthVerdict verdict) {
  static constexpr EnumName<AuthVerdict> table[] = {
      {AuthVerdict::good, "good"},
      {AuthVerdict::bad, "bad"},
      {AuthVerdict::temporary, "temporary"}};
  return name_in(table, verdict);
}

inline const char* name(CommandResult::Outcome outcome) {
  using Outcome = CommandResult::Outcome;
  static constexpr EnumName<Outcome> table[] = {
      {Outcome::exited, "exited"},
      {Outcome::signaled, "signaled"},
      {Outcome::timed_out, "timed_out"},
      {Outcome::not_run, "not_run"}};
  return name_in(table, outcome);
}

}  // namespace smtpd::test
