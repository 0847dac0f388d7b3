#pragma once
// Runs batches of tokens through a Model. All of a batch's rows go through every matrix multiply
// together (that is what makes prompt processing fast); attention runs per token against its own
// sequence's cached K/V, in parallel over tokens x heads.
#include <cstdint>
#include <span>
#include <vector>

#include "model/batch.h"
#include "model/kv_store.h"
#include "model/model.h"
#include "util/thread_pool.h"

namespace tandem::model {

struct ForwardOutput {
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  std::vector<int32_t> batch_index;  // output row r belongs to batch entry batch_index[r]
  std::vector<float> logits;         // rows x n_vocab
  std::vector<float> hidden;         // rows x n_embd: final hidden state after the output norm

  size_t rows() const { return batch_index.size(); }
  std::span<const float> logits_row(size_t r) const {
    return {logits.data() + r * static_cast<size_t>(n_vocab), static_cast<size_t>(n_vocab)};
  }
  std::span<const float> hidden_row(size_t r) const {
    return {hidden.data() + r * static_cast<size_t>(n_embd), static_cast<size_t>(n_embd)};
  }
};

// What forward() computes for the rows with want_logits. HiddenOnly skips the vocabulary
// projection (ForwardOutput::logits is left empty): embeddings need only the hidden states, and
// the lm head over a 150k vocabulary is the largest single matmul of a small model.
enum class ForwardOutputs { LogitsAndHidden, HiddenOnly };

class Evaluator {
 public:
  // Both must outlive the Evaluator. Not thread-safe: one forward at a time.
  Evaluator(const Model& model, ThreadPool& pool);

  // Processes the batch, appending every token's K/V to its sequence in `kv`, and returns logits
  // and hidden states of the tokens with want_logits (valid until the next call). Throws
  // InvalidArgument for a bad token id, a position that does not extend its sequence, or a full
  // cache, before any state changes.
  const ForwardOutput& forward(std::span<const BatchToken> batch, KvStore& kv,
                               ForwardOutputs outputs = ForwardOutputs::LogitsAndHidden);

 private:
  void embed(std::span<const BatchToken> batch);
  void attention_block(int64_t il, std::span<const BatchToken> batch, KvStore& kv);
  void ffn_block(int64_t il, int64_t n);
  void compute_output(std::span<const BatchToken> batch, ForwardOutputs outputs);
  void project_qkv(const LayerWeights& lw, int64_t n);
  void rms_norm_rows(const float* x, const std::vector<float>& w, int64_t n, float* out) const;

  const Model& model_;
  ThreadPool& pool_;
  ForwardOutput out_;
  // Activations, n rows each (resized per batch).
  std::vector<float> x_, xn_, q_, k_, v_, fused_, attn_, proj_, gate_, up_;
};

// Attention of every (token, head) of the batch against the cached K/V of the token's sequence.
// q: n x (n_head * head_dim_k) after RoPE; out: n x (n_head * head_dim_v).
void attend(const HParams& hp, int64_t il, std::span<const BatchToken> batch, const float* q,
            const KvStore& kv, float* out, ThreadPool& pool);

}  // namespace tandem::model
