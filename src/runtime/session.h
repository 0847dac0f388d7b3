#pragma once
// One conversation with a model: a single sequence over its own KV cache. Prompts are processed
// in batches of up to `n_batch` tokens (through matmul, not token by token); generation then
// appends one token per step. Used by `tandem run` and `tandem bench`; the server's scheduler
// batches many sequences instead.
#include <cstdint>
#include <span>
#include <vector>

#include "model/evaluator.h"
#include "runtime/kv_cache.h"
#include "runtime/loaded_model.h"
#include "util/thread_pool.h"

namespace tandem::runtime {

struct SessionOptions {
  int64_t n_ctx = 0;     // 0: min(model's training context, kDefaultContext)
  int64_t n_batch = 512; // prompt tokens per forward pass
  tensor::Type kv_type = tensor::Type::F16;
};

// Default context when neither the user nor a smaller training context limits it: large enough
// for chats, small enough that the KV cache of a 1B model stays in the hundreds of MB.
constexpr int64_t kDefaultContext = 4096;

// The context a sequence gets: `requested`, or min(training context, kDefaultContext) when <= 0.
// Throws InvalidArgument when `requested` exceeds the model's training context.
int64_t pick_context(const model::Model& model, int64_t requested);

class Session {
 public:
  Session(const LoadedModel& model, ThreadPool& pool, const SessionOptions& options = {});

  // Appends tokens to the context and returns the logits after the last one. Throws
  // InvalidArgument (context unchanged) if they would not fit in n_ctx.
  std::span<const float> append(std::span<const int32_t> tokens);
  // Drops everything from position `pos` on (0: start over).
  void truncate(int64_t pos);

  int64_t n_past() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t n_ctx() const { return n_ctx_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  const KvCache& kv() const { return kv_; }
  const model::Model& model() const { return *model_.model; }
  const tokenizer::Tokenizer& tokenizer() const { return *model_.tokenizer; }

 private:
  const LoadedModel& model_;
  int64_t n_ctx_;
  int64_t n_batch_;
  model::Evaluator eval_;
  KvCache kv_;
  std::vector<int32_t> tokens_;
  std::vector<model::BatchToken> batch_;
  std::vector<float> last_logits_;
};

}  // namespace tandem::runtime
