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
//
// Work that outlives the hook that starts it (PureProxy's message, which
// streams upstream after the DATA command's 354) is a task: start() hands
// it the hook's Later handle, and it answers when it can and goes on.  An
// answer that comes when the client is gone reaches no one; a handler that
// must say so (a proxy whose upstream may hold a message the client will
// send again) passes what to do then (Gone).
#pragma once

#include <functional>
#include <memory>

#include "smtpd/export.hpp"
#include "smtpd/handler.hpp"

namespace smtpd {

class SMTPD_API HookWorker {
 public:
  // Called on the worker's thread with an answer that reaches no one (the
  // client closed the connection while it was awaited), before it is given.
  using Gone = std::function<void(const Answer& answer)>;

  HookWorker();
  // The job or task under way, if any, ends first: it may use its handler.
  ~HookWorker();
  HookWorker(HookWorker&&) noexcept;
  HookWorker& operator=(HookWorker&&) noexcept;

  // Runs job on the worker's thread; the hook's answer is the job's,
  // given later.  What the job throws is answered as call_hook does, in
  // hook's name.
  Answer later(Context& context, Hook hook, std::function<Answer()> job,
               Gone gone = nullptr);

  // Runs task on the worker's thread with the hook's Later handle: the
  // task answers it (answer() below) and may go on after.  A task that
  // throws has its handle answered as call_hook does, if it was not yet.
  Answer start(Context& context, Hook hook, std::function<void(Later)> task);

  // Gives handle its answer, after gone (if any) when the client is gone.
  static void answer(const Later& handle, Answer answer, const Gone& gone);

  // Waits for the job or task under way, if any (a handler's destructor
  // calls this before it frees what the job uses; one that must not wait
  // for a stalled peer first tells its task to stop, and cuts the
  // exchange under way, as PureProxy does with UpstreamSession::interrupt).
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtpd
