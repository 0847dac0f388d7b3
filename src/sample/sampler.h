#pragma once
// The sampler chain: turns one step's logits into the next token.
//
// Order (as vLLM and OpenAI-style servers apply it): logit bias -> repetition / frequency / presence
// penalties -> greedy if temperature <= 0 -> temperature -> top-k -> top-p -> min-p -> draw.
// A token mask (grammar-constrained decoding) is applied first of all when given.
#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

namespace tandem::sample {

struct SamplerParams {
  float temperature = 0.8f;      // <= 0: greedy (argmax, ties -> lowest id)
  int32_t top_k = 40;            // <= 0: off
  float top_p = 0.95f;           // >= 1: off
  float min_p = 0.05f;           // <= 0: off; relative to the most probable token
  float repetition_penalty = 1.0f;  // 1: off; divides positive / multiplies negative logits
  int32_t penalty_last_n = 64;   // window of past tokens the penalties look at; < 0: all
  float frequency_penalty = 0.0f;   // OpenAI: subtract count * f
  float presence_penalty = 0.0f;    // OpenAI: subtract p if seen at all
  std::unordered_map<int32_t, float> logit_bias;  // added to the logit; -inf-like values ban
  uint64_t seed = 0;             // same seed + same logits sequence = same tokens
};

struct Candidate {
  int32_t id;
  float logit;
  float prob;
};

class Sampler {
 public:
  Sampler(SamplerParams params, int32_t n_vocab);

  // Picks the next token. `logits` (n_vocab values) is modified in place (biases, penalties).
  // `allowed` (optional, n_vocab entries) masks tokens a grammar forbids; at least one must be
  // allowed or InvalidArgument is thrown.
  int32_t sample(std::span<float> logits, const std::vector<bool>* allowed = nullptr);

  // Records a token of the context (prompt or generated) for the penalties.
  void accept(int32_t token);
  void accept(std::span<const int32_t> tokens);
  // Clears history and re-seeds.
  void reset();

  const SamplerParams& params() const { return params_; }

  // Log-probabilities of the final distribution the last sample() drew from (after penalties and
  // temperature, before truncation), for OpenAI `logprobs`. Sorted by probability, at most n.
  std::vector<Candidate> top_logprobs(std::span<const float> logits, int n) const;

 private:
  void apply_penalties(std::span<float> logits) const;
  double uniform();  // [0, 1), platform-independent
  // How many of the first `sorted` (descending) candidates reach top_p of the mass z; `sorted`
  // when they do not.
  size_t nucleus_size(size_t sorted, double z) const;
  static constexpr size_t kNucleusHead = 256;  // first head sorted when looking for the nucleus

  SamplerParams params_;
  int32_t n_vocab_;
  std::mt19937_64 rng_;
  std::vector<int32_t> history_;
  std::vector<Candidate> scratch_;
  std::vector<float> probs_;  // this step's distribution, n_vocab entries
};

// argmax with ties resolved to the lowest id.
int32_t argmax(std::span<const float> logits);

}  // namespace tandem::sample
