// driver_settings.cpp - DriverOptions from Options (see
// driver_settings.hpp).
#include "driver_settings.hpp"

#include <string_view>

#include "logs.hpp"

namespace in_smtpd {

smtpd::DriverOptions driver_options(const Options& options,
                                    const smtpd::StopSignals& stop,
                                    Logs& logs) {
  smtpd::DriverOptions driver;
  driver.command_timeout_seconds = options.command_timeout;
  driver.data_timeout_seconds = options.data_timeout;
  driver.session_timeout_seconds = options.session_timeout;
  driver.stop = stop;
  driver.log = [&](std::string_view line) {
    // The end of a session goes where the transaction log goes.
    if (line.rfind("session ", 0) == 0)
      logs.transactions.say(line);
    else
      logs.errors.say(line);
  };
  if (options.debug) {
    driver.trace = [&](std::string_view direction, std::string_view bytes) {
      logs.trace.bytes(direction, bytes);
    };
  }
  return driver;
}

}  // namespace in_smtpd
