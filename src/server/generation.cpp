#include "server/generation.h"

#include <utility>

namespace tandem::server {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::ToolCalls: return "tool_calls";
    case FinishReason::ContentFilter: return "content_filter";
  }
  return "stop";
}

bool Generation::push(GenerationEvent event) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mutex_);
    if (terminal_pushed_ || cancelled()) return false;
    const bool is_delta = event.kind == GenerationEvent::Kind::Delta;
    if (is_delta && queued_deltas_ >= capacity_) return false;
    if (is_delta) ++queued_deltas_;
    if (event.terminal()) terminal_pushed_ = true;
    event.pushed_at = std::chrono::steady_clock::now();
    events_.push_back(std::move(event));
    if (!wake_pending_ && waker_) {
      wake_pending_ = true;
      wake = waker_;  // call outside the lock: the waker may take its own locks
      ++wakes_running_;
    }
  }
  ready_.notify_one();
  if (wake) {
    wake();
    std::lock_guard lock(mutex_);
    if (--wakes_running_ == 0) wakes_done_.notify_all();
  }
  return true;
}

bool Generation::has_room() const {
  std::lock_guard lock(mutex_);
  return queued_deltas_ < capacity_;
}

void Generation::set_waker(std::function<void()> waker) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mutex_);
    waker_ = std::move(waker);
    wake_pending_ = !events_.empty() && waker_;
    if (wake_pending_) {
      wake = waker_;
      ++wakes_running_;
    }
  }
  // Events that arrived before the waker was set must not be missed.
  if (wake) {
    wake();
    std::lock_guard lock(mutex_);
    if (--wakes_running_ == 0) wakes_done_.notify_all();
  }
}

std::size_t Generation::drain(std::vector<GenerationEvent>& out) {
  std::lock_guard lock(mutex_);
  const std::size_t n = events_.size();
  for (auto& e : events_) out.push_back(std::move(e));
  events_.clear();
  queued_deltas_ = 0;
  wake_pending_ = false;
  return n;
}

std::size_t Generation::wait_drain(std::vector<GenerationEvent>& out,
                                   std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return !events_.empty(); });
  }
  return drain(out);
}

void Generation::detach_waker() {
  std::unique_lock lock(mutex_);
  waker_ = nullptr;
  wakes_done_.wait(lock, [&] { return wakes_running_ == 0; });
}

void Generation::cancel() { cancelled_.store(true, std::memory_order_release); }

bool Generation::finished() const {
  std::lock_guard lock(mutex_);
  return terminal_pushed_;
}

}  // namespace tandem::server
