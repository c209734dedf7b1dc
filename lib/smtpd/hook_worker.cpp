// hook_worker.cpp - HookWorker (see hook_worker.hpp).
#include "smtpd/hook_worker.hpp"

#include <thread>
#include <utility>

namespace smtpd {

// Not exported: no program sees it (libsmtpd(3), ABI POLICY).
struct __attribute__((visibility("hidden"))) HookWorker::Impl {
  std::thread thread_;
};

// Its state is made with its first thread: a session that never waits
// for anything (a greeting, a client that leaves) pays no allocation.
HookWorker::HookWorker() = default;

HookWorker::~HookWorker() { wait(); }

HookWorker::HookWorker(HookWorker&&) noexcept = default;

HookWorker& HookWorker::operator=(HookWorker&& other) noexcept {
  wait();
  impl_ = std::move(other.impl_);
  return *this;
}

void HookWorker::answer(const Later& handle, Answer answer, const Gone& gone) {
  // Asked before the answer is given: once given, the channel may go on,
  // and a client that leaves after it heard the answer is not gone for it.
  if (gone && handle.client_gone()) gone(answer);
  handle.answer(std::move(answer));
}

Answer HookWorker::later(Context& context, Hook hook,
                         std::function<Answer()> job, Gone gone) {
  wait();  // the previous job answered already
  if (!impl_) impl_ = std::make_unique<Impl>();
  Later handle = context.later();
  impl_->thread_ =
      std::thread([handle, hook, job = std::move(job), gone = std::move(gone)] {
        answer(handle, call_hook(hook, job), gone);
      });
  return Answer::later();
}

Answer HookWorker::start(Context& context, Hook hook,
                         std::function<void(Later)> task) {
  wait();  // the previous task ended
  if (!impl_) impl_ = std::make_unique<Impl>();
  Later handle = context.later();
  impl_->thread_ = std::thread([handle, hook, task = std::move(task)] {
    try {
      task(handle);
    } catch (...) {
      handle.answer(answer_for_exception(hook));  // unless answered
    }
  });
  return Answer::later();
}

void HookWorker::wait() {
  if (impl_ && impl_->thread_.joinable()) impl_->thread_.join();
}

}  // namespace smtpd
