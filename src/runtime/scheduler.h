#pragma once
// The engine loop of one loaded model: continuous batching over a shared KV cache.
//
// Every step the loop builds ONE batch for Evaluator::forward:
//   1. the next token of every decoding sequence whose consumer has room (a consumer whose output
//      buffer is full sits the step out, keeping its slot and cache; the loop never waits on it),
//   2. then prompt tokens of sequences still being prefilled, up to `prefill_chunk` tokens in
//      total, highest priority first and FIFO within a priority — so a long prompt delays running
//      streams by at most one chunk per step instead of its whole length.
// Sequences join (when enough slots are free) and leave (finished, cancelled, failed) at every
// step. A cancelled sequence frees its slot and cells at the next step.
//
// The scheduler knows tokens only. What a sequence does with its logits (sampling, grammars, stop
// strings, text, delivery) is its SequenceSink's business; all sink calls run on the engine thread.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "model/evaluator.h"
#include "runtime/kv_cache.h"
#include "runtime/loaded_model.h"
#include "runtime/prefix_cache.h"
#include "util/thread_pool.h"

namespace tandem::runtime {

enum class SequenceExit {
  Finished,   // the sink ended it (next token = none) and has flushed its output
  Cancelled,  // sink->cancelled() turned true
  Failed,     // the forward pass or the sink threw, or the scheduler shut down first
};

class SequenceSink {
 public:
  virtual ~SequenceSink() = default;
  // The consumer went away: the sequence is dropped at the next step.
  virtual bool cancelled() = 0;
  // False while the consumer's output buffer is full: the sequence skips decode steps.
  virtual bool ready() = 0;
  // Logits after the last prompt token (first call) or after the previously returned token.
  // `room` is how many more tokens the sequence's context can take: with room == 0 a returned
  // token could not be fed back, so the sink must finish. Returns the token to feed next, or
  // nullopt when the sequence is done. May modify `logits`.
  virtual std::optional<int32_t> next_token(std::span<float> logits, int64_t room) = 0;
  // After next_token returned nullopt: deliver whatever output is still held back (the consumer's
  // buffer may have been full). Called every step until it returns true.
  virtual bool flush() = 0;
  // Called exactly once, when the sequence has left the scheduler.
  virtual void on_exit(SequenceExit exit, const std::string& message) = 0;
  // The first `n` prompt tokens came from the prefix cache instead of being computed.
  virtual void on_prompt_cached(int64_t /*n*/) {}
};

struct SequenceSpec {
  std::vector<int32_t> prompt;  // non-empty, shorter than the per-sequence context
  std::shared_ptr<SequenceSink> sink;
};

struct SchedulerOptions {
  int32_t n_slots = 4;         // sequences in the batch at once (`--parallel`)
  int64_t n_ctx = 0;           // context of each sequence; 0: min(training context, 4096)
  int64_t prefill_chunk = 256; // prompt tokens per step, on top of one token per decoding sequence
  size_t max_queue = 64;       // requests waiting for slots; submit() refuses more
  int threads = 0;             // compute threads; 0: one per physical core
  tensor::Type kv_type = tensor::Type::F16;
  // How long the loop sleeps when every sequence is paused on a slow consumer.
  std::chrono::milliseconds paused_poll{2};
  // Prefix cache (prefix_cache.h): finished sequences kept for reuse, at most this many (0: off),
  // in the cells running sequences do not need plus `prefix_cache_cells` extra (-1: one context).
  int32_t prefix_cache_entries = 8;
  int64_t prefix_cache_cells = -1;
  int64_t prefix_min_tokens = 16;  // shorter shared prefixes are computed, not copied
};

struct SchedulerStats {
  int64_t queued = 0;        // requests waiting for slots
  int64_t running = 0;       // sequences holding a slot
  int64_t last_batch = 0;    // tokens in the last forward pass
  int64_t kv_used = 0;       // cells in use
  int64_t kv_total = 0;
  int64_t steps = 0;         // forward passes so far
  int64_t max_batch = 0;     // largest batch so far
  int64_t prefix_hits = 0;   // prompts that started from cached rows
  int64_t prefix_tokens = 0; // prompt tokens copied instead of computed
  int64_t prefix_entries = 0;
};

class Scheduler {
 public:
  // Starts the engine thread. `model` must outlive the scheduler. Throws InvalidArgument for bad
  // options (no slots, context larger than the model's training context).
  Scheduler(const LoadedModel& model, const SchedulerOptions& options);
  ~Scheduler();  // shutdown(now)
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  int64_t n_ctx() const { return n_ctx_; }
  int32_t n_slots() const { return options_.n_slots; }
  // Bytes of the KV cache this scheduler allocated (every slot's context plus the prefix cache).
  size_t kv_bytes() const { return kv_.bytes(); }
  // What kv_bytes() would be for a scheduler over `model` with `options`, without allocating it
  // (the catalog checks its memory budget before loading). Throws like the constructor.
  static size_t estimate_kv_bytes(const LoadedModel& model, const SchedulerOptions& options);

  // Queues one request: its sequences are admitted together once that many slots are free.
  // Returns false (nothing queued) when max_queue requests already wait, or after shutdown began.
  // Throws InvalidArgument for an empty or too long prompt or more sequences than slots.
  bool submit(std::vector<SequenceSpec> sequences, int priority = 0);

  // Stops accepting, lets queued and running sequences finish until `deadline`, then fails the
  // rest (on_exit(Failed)) and stops the engine thread. Blocks until done; idempotent.
  void shutdown(std::chrono::steady_clock::time_point deadline);
  bool accepting() const { return accepting_.load(); }

  SchedulerStats stats() const;

 private:
  struct Waiting {
    std::vector<SequenceSpec> sequences;
    int priority = 0;
    uint64_t order = 0;
  };
  struct Active {
    SequenceSpec spec;
    model::SeqId slot = 0;
    int priority = 0;
    uint64_t order = 0;
    size_t prefilled = 0;               // prompt tokens already in the cache
    std::optional<int32_t> next;        // token to feed at the next decode step
    std::vector<int32_t> tokens;        // what the cache holds for this sequence
    bool reuse_checked = false;         // looked for rows to copy before its first chunk
  };

  void loop();
  std::vector<Waiting> take_admissible_locked();
  void activate(Waiting&& w);
  void make_room_for_active(model::SeqId keep);
  bool has_work_locked() const;
  void reap();
  bool build_batch();
  bool wait_or_share(size_t index);
  void run_batch();
  void finish(size_t index, SequenceExit exit, const std::string& message);
  void drop_all(const std::string& message);
  void poll_finishing();
  void publish_stats();
  static int64_t cache_cells(const SchedulerOptions& o, int64_t n_ctx);

  const LoadedModel& model_;
  SchedulerOptions options_;
  int64_t n_ctx_;
  ThreadPool pool_;
  model::Evaluator evaluator_;
  KvCache kv_;

  // Shared with submitters (guarded by mutex_).
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Waiting> waiting_;
  uint64_t next_order_ = 0;
  bool stop_ = false;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::atomic<bool> accepting_{true};

  // Engine thread only.
  std::vector<Active> active_;
  std::vector<model::SeqId> free_ids_;  // sequence ids neither running nor holding a cached prefix
  PrefixCache prefix_;
  std::vector<std::shared_ptr<SequenceSink>> finishing_;  // done, still flushing output
  std::vector<model::BatchToken> batch_;
  std::vector<size_t> batch_owner_;  // batch entry -> index in active_
  std::vector<float> logits_;

  std::atomic<int64_t> stat_running_{0}, stat_last_batch_{0}, stat_kv_used_{0}, stat_steps_{0},
      stat_max_batch_{0}, stat_prefix_hits_{0}, stat_prefix_tokens_{0}, stat_prefix_entries_{0};

  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace tandem::runtime
