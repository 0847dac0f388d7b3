#pragma once
// Embeddings from a loaded model: one unit-length vector per input, pooled from the final hidden
// state (after the output norm) of the input's tokens.
//
//   runtime::Embedder embedder(loaded, options);                   // own pool of options.threads
//   runtime::EmbeddingBatch out = embedder.embed(inputs);        // out.vectors[i] for inputs[i]
//
// How it works and what it decides:
// - Strings are tokenized with the tokenizer's own BOS/EOS flags (add_special) and without
//   parsing control-token text (user text is never a <|im_start|> marker); token-id arrays are
//   used as given.
// - Pooling follows `<arch>.pooling_type` in the GGUF: 1 mean, 2 CLS (first token), 3 last token
//   (decoder embedding models); absent or 0 (none) means mean, since an endpoint that returns one
//   vector per input needs some pooling. Other values (rank) are refused at construction.
// - The pooled vector is L2-normalized (OpenAI embeddings are unit length). With `dimensions` it
//   is cut to its first `dimensions` components and normalized again (Matryoshka-style).
// - An input longer than the context is an InvalidArgument naming the limit, never truncated.
// - Every call uses its own KV cache, sized to the call, so embeddings never touch the
//   scheduler's sequences. Short inputs share forward passes as separate sequences (up to
//   `n_batch` tokens per pass); a long input runs in chunks of `n_batch` tokens.
// - The vocabulary projection is skipped (model::ForwardOutputs::HiddenOnly).
//
// Concurrency: embed() is thread-safe by serialization: a mutex lets one call run at a time (the
// Evaluator and its scratch buffers are not thread-safe; the weights are shared read-only). The
// Embedder computes on its own ThreadPool (or the one passed in). That pool is separate from the
// scheduler's, so while generation runs both compete for the same cores: an embedding call slows
// running generations down for its duration (and vice versa) instead of queueing behind them.
// This is the simple, honest choice for short embedding calls; routing embedding passes through
// the scheduler's engine loop would interleave them fairly but is not done yet.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "model/evaluator.h"
#include "runtime/loaded_model.h"
#include "tensor/types.h"
#include "util/thread_pool.h"

namespace tandem::runtime {

enum class Pooling { Mean, Cls, Last };

// "mean" | "cls" | "last"
const char* pooling_name(Pooling p);

// The pooling `<arch>.pooling_type` asks for (see above). Throws InvalidArgument naming the key for
// a value this engine cannot turn into one vector per input.
Pooling pooling_from_gguf(const LoadedModel& model);

// One input: text, or token ids the client already tokenized.
using EmbeddingInput = std::variant<std::string, std::vector<int32_t>>;

struct EmbedderOptions {
  int64_t n_ctx = 0;        // longest input in tokens; 0: min(training context, kDefaultContext)
  int64_t n_batch = 512;    // tokens per forward pass (clamped to n_ctx)
  int threads = 0;          // own pool size when none is passed; 0: one per physical core
  tensor::Type kv_type = tensor::Type::F16;  // as the scheduler stores K/V
  std::optional<Pooling> pooling;            // overrides the GGUF's pooling_type
};

struct EmbeddingBatch {
  std::vector<std::vector<float>> vectors;  // one per input, in order, unit length
  int64_t tokens = 0;                       // tokens processed (all inputs)
};

class Embedder {
 public:
  // `model` (and `pool`) must outlive the Embedder. Throws InvalidArgument for bad options or a
  // pooling type it does not support.
  explicit Embedder(const LoadedModel& model, const EmbedderOptions& options = {});
  Embedder(const LoadedModel& model, ThreadPool& pool, const EmbedderOptions& options = {});
  ~Embedder();

  // One unit-length vector per input. `dimensions` (1..n_embd) keeps the first components and
  // renormalizes. Throws InvalidArgument, computing nothing, for no inputs, an empty input, a
  // string when the model has no tokenizer, a token id outside the vocabulary, an input longer than
  // n_ctx, or `dimensions` out of range — naming the input ("input" or "input[i]") or "dimensions".
  // Thread-safe: concurrent calls run one after another.
  EmbeddingBatch embed(std::span<const EmbeddingInput> inputs,
                       std::optional<int> dimensions = std::nullopt);

  // The tokens an input is embedded from (what embed() would process). Throws as embed() does.
  std::vector<int32_t> tokenize(const EmbeddingInput& input, const std::string& name = "input") const;

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_embd() const;
  Pooling pooling() const { return pooling_; }

 private:
  Embedder(const LoadedModel& model, std::unique_ptr<ThreadPool> own_pool, ThreadPool* pool,
           const EmbedderOptions& options);
  // Runs one group of inputs (several short ones, or one long one in chunks) and adds their
  // pooled (not yet normalized) hidden states into pooled[first ...].
  void run_group(const std::vector<std::vector<int32_t>>& tokens, size_t first, size_t count,
                 std::vector<std::vector<float>>& pooled);

  const LoadedModel& model_;
  EmbedderOptions options_;
  int64_t n_ctx_;
  int64_t n_batch_;
  Pooling pooling_;
  std::unique_ptr<ThreadPool> own_pool_;
  ThreadPool& pool_;
  std::mutex mutex_;  // one embed() at a time: evaluator_ and batch_ are single-threaded
  model::Evaluator evaluator_;
  std::vector<model::BatchToken> batch_;
};

}  // namespace tandem::runtime
