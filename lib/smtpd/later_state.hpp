// later_state.hpp - what a Later handle shares with its channel (internal).
#pragma once

#include <functional>
#include <mutex>
#include <optional>

#include "smtpd/handler.hpp"

namespace smtpd {

struct Later::State {
  std::mutex mutex;
  std::optional<Answer> answer;  // set once, by Later::answer
  bool detached = false;         // the channel no longer waits for it
  std::function<void()> wake;    // the loop's, called after answer is set
  bool client_gone = false;      // Later::client_gone
};

}  // namespace smtpd
