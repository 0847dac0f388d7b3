#pragma once
// Generation: the result channel of one request, shared by the engine (producer) and the HTTP
// connection (consumer).
//
// Rules that keep either side from blocking the other:
// - The engine never waits. push() of a Delta returns false when `capacity` deltas are unread
//   (a slow client): the engine must keep that sequence out of its next steps until
//   has_room() is true again. Terminal events (Finish, Done, Error) are always accepted, so the
//   buffer is bounded by capacity + choices + 1 events.
// - The consumer never waits on the engine. It registers a waker (called on the producer's
//   thread after a push; it must only post work, e.g. to an Asio executor) and drains events.
// - cancel() (client gone) is an atomic flag the engine checks once per step, so a disconnect
//   frees the sequence within one step.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace tandem::server {

enum class FinishReason { Stop, Length, ToolCalls, ContentFilter };
const char* finish_reason_name(FinishReason reason);

struct TopLogprob {
  std::string token;
  double logprob = 0.0;
};

struct TokenLogprob {
  std::string token;  // the token's text (raw bytes; sanitized on output)
  double logprob = 0.0;
  std::vector<TopLogprob> top;  // most likely alternatives, best first
};

// A piece of one streamed tool call. The first piece of a call carries id and name; later
// pieces append to arguments.
struct ToolCallDelta {
  int index = 0;  // which tool call within the choice
  std::string id;
  std::string name;
  std::string arguments;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cached_prompt_tokens = 0;
};

struct GenerationEvent {
  enum class Kind {
    Delta,   // new output for one choice
    Finish,  // one choice ended (finish_reason)
    Done,    // terminal: every choice finished; carries usage for the whole request
    Error,   // terminal: generation failed; carries error_message
  };
  Kind kind = Kind::Delta;
  int choice = 0;

  std::string content;
  std::string reasoning;  // reasoning_content (thinking models)
  std::vector<ToolCallDelta> tool_calls;
  std::vector<TokenLogprob> logprobs;  // one per generated token covered by this delta
  int token_count = 1;                 // generated tokens this delta covers (for latency metrics)

  FinishReason finish_reason = FinishReason::Stop;
  Usage usage;
  std::chrono::steady_clock::time_point pushed_at;  // set by Generation::push (latency metrics)
  std::string error_message;

  static GenerationEvent delta(int choice, std::string text) {
    GenerationEvent e;
    e.choice = choice;
    e.content = std::move(text);
    return e;
  }
  static GenerationEvent finish(int choice, FinishReason reason) {
    GenerationEvent e;
    e.kind = Kind::Finish;
    e.choice = choice;
    e.finish_reason = reason;
    e.token_count = 0;
    return e;
  }
  static GenerationEvent done(Usage usage) {
    GenerationEvent e;
    e.kind = Kind::Done;
    e.usage = usage;
    e.token_count = 0;
    return e;
  }
  static GenerationEvent error(std::string message) {
    GenerationEvent e;
    e.kind = Kind::Error;
    e.error_message = std::move(message);
    e.token_count = 0;
    return e;
  }
  bool terminal() const { return kind == Kind::Done || kind == Kind::Error; }
};

class Generation {
 public:
  static constexpr std::size_t kDefaultCapacity = 64;
  explicit Generation(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // ---- producer (engine) side ----
  // False when the event was not queued: a Delta while the buffer is full (retry after
  // has_room()), or anything after cancel() or after a terminal event.
  bool push(GenerationEvent event);
  bool has_room() const;
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // ---- consumer (HTTP) side ----
  // Called after each push that made events available (at most once until the next drain).
  // Set it once, before the producer can push; the waker runs on the producer's thread.
  void set_waker(std::function<void()> waker);
  // Moves all queued events to `out` (appending); returns how many. Never blocks.
  std::size_t drain(std::vector<GenerationEvent>& out);
  // Blocking variant for simple consumers (tests, CLI): waits up to `timeout` for events.
  std::size_t wait_drain(std::vector<GenerationEvent>& out, std::chrono::milliseconds timeout);
  // Removes the waker and waits until no call of it is still running, so whatever it refers to
  // (a connection, an I/O context) may be destroyed afterwards.
  void detach_waker();
  void cancel();
  bool finished() const;  // a terminal event was pushed

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<GenerationEvent> events_;
  std::size_t queued_deltas_ = 0;
  bool terminal_pushed_ = false;
  bool wake_pending_ = false;
  std::function<void()> waker_;
  int wakes_running_ = 0;
  std::condition_variable wakes_done_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace tandem::server
