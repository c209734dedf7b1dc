// hook_worker.hpp - a handler's own thread for hooks that answer later.
//
// A hook whose work waits on something (an upstream server, a command)
// hands that work to a HookWorker and returns what later() returns:
// Answer::later().  The work runs on the worker's thread and answers
// through the hook's Later handle, so the loop that drives the connection
// goes on meanwhile, and a slow job holds only its own session.  The
// channel asks one hook at a time and reads nothing until it is answered,
// so one thread a session is enough, and what the hook was given (the
// session, the transaction, the address) stays put while the job runs.
#pragma once

#include <functional>
#include <thread>
#include <utility>

#include "smtpd/handler.hpp"

namespace smtpd {

class HookWorker {
 public:
  HookWorker() = default;
  HookWorker(const HookWorker&) = delete;
  HookWorker& operator=(const HookWorker&) = delete;
  // The job under way, if any, ends first: it may use its handler.
  ~HookWorker() { wait(); }

  // Runs job on the worker's thread; the hook's answer is the job's,
  // given later.  What the job throws is answered as call_hook does.
  Answer later(Context& context, Hook hook, std::function<Answer()> job) {
    wait();  // the previous job answered already
    Later handle = context.later();
    thread_ = std::thread([handle, hook, job = std::move(job)] {
      handle.answer(call_hook(hook, job));
    });
    return Answer::later();
  }

  // Waits for the job under way, if any (a handler's destructor calls
  // this before it frees what the job uses).
  void wait() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

}  // namespace smtpd
