#include "sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/ops.h"
#include "util/error.h"

namespace tandem::sample {

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (int32_t i = 1; i < static_cast<int32_t>(logits.size()); ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

Sampler::Sampler(SamplerParams params, int32_t n_vocab)
    : params_(std::move(params)), n_vocab_(n_vocab), rng_(params_.seed) {
  if (n_vocab <= 0) throw InvalidArgument("sampler: vocabulary size must be positive");
  for (const auto& [id, bias] : params_.logit_bias)
    if (id < 0 || id >= n_vocab)
      throw InvalidArgument("logit_bias: token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                            std::to_string(n_vocab - 1) + ")");
}

void Sampler::accept(int32_t token) { history_.push_back(token); }
void Sampler::accept(std::span<const int32_t> tokens) {
  history_.insert(history_.end(), tokens.begin(), tokens.end());
}

void Sampler::reset() {
  history_.clear();
  rng_.seed(params_.seed);
}

double Sampler::uniform() {
  // 53 random bits -> [0, 1); std::uniform_real_distribution is not specified bit-exactly.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::apply_penalties(std::span<float> logits) const {
  const bool repetition = params_.repetition_penalty != 1.0f;
  if (!repetition && params_.frequency_penalty == 0.0f && params_.presence_penalty == 0.0f) return;
  size_t start = 0;
  if (params_.penalty_last_n >= 0 && history_.size() > static_cast<size_t>(params_.penalty_last_n))
    start = history_.size() - params_.penalty_last_n;
  std::unordered_map<int32_t, int> counts;
  for (size_t i = start; i < history_.size(); ++i) ++counts[history_[i]];
  for (const auto& [id, count] : counts) {
    if (id < 0 || id >= n_vocab_) continue;
    float& l = logits[id];
    if (repetition) l = l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty;
    l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
  }
}

size_t Sampler::nucleus_size(size_t sorted, double z) const {
  double cum = 0.0;
  for (size_t i = 0; i < sorted; ++i) {
    cum += scratch_[i].prob / z;
    if (cum >= params_.top_p) return i + 1;
  }
  return sorted;
}

int32_t Sampler::sample(std::span<float> logits, const std::vector<bool>* allowed) {
  if (static_cast<int32_t>(logits.size()) != n_vocab_)
    throw InvalidArgument("sampler: expected " + std::to_string(n_vocab_) + " logits, got " +
                          std::to_string(logits.size()));
  constexpr float kBanned = -std::numeric_limits<float>::infinity();
  if (allowed) {
    bool any = false;
    for (int32_t i = 0; i < n_vocab_; ++i) {
      if (!(*allowed)[i]) logits[i] = kBanned;
      else any = true;
    }
    if (!any) throw InvalidArgument("sampler: the token mask allows no token");
  }
  for (const auto& [id, bias] : params_.logit_bias) logits[id] += bias;
  apply_penalties(logits);

  if (params_.temperature <= 0.0f) return argmax(logits);

  // Temperature and softmax over the whole vocabulary in one SIMD pass (banned tokens get 0).
  const float inv_t = 1.0f / params_.temperature;
  if (logits[argmax(logits)] == kBanned) throw InvalidArgument("sampler: every token is banned");
  probs_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) probs_[i] = logits[i] * inv_t;
  kernels::softmax(probs_.data(), static_cast<int64_t>(probs_.size()));
  // min-p is last in the chain but depends only on the ratio to the best probability, which
  // truncation does not change: apply it as a floor up front, which keeps the candidate set small.
  const float floor_p = params_.min_p > 0.0f ? probs_[argmax(probs_)] * params_.min_p : 0.0f;
  const bool truncates = (params_.top_k > 0 && params_.top_k < n_vocab_) || params_.top_p < 1.0f;
  if (!truncates) {
    // No order needed: draw straight from the probabilities, in id order.
    double total = 0.0;
    for (float p : probs_)
      if (p > 0.0f && p >= floor_p) total += p;
    const double r = uniform() * total;
    double acc = 0.0;
    int32_t last = 0;
    for (int32_t i = 0; i < n_vocab_; ++i) {
      const float p = probs_[i];
      if (!(p > 0.0f && p >= floor_p)) continue;
      acc += p;
      last = i;
      if (r < acc) return i;
    }
    return last;
  }
  double z = 0.0;
  scratch_.clear();
  for (int32_t i = 0; i < n_vocab_; ++i) {
    const float p = probs_[i];
    if (!(p > 0.0f)) continue;
    z += p;
    if (p >= floor_p) scratch_.push_back({i, logits[i], p});
  }
  auto by_prob = [](const Candidate& a, const Candidate& b) {
    return a.prob > b.prob || (a.prob == b.prob && a.id < b.id);
  };
  size_t keep = scratch_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = params_.top_k;
    std::partial_sort(scratch_.begin(), scratch_.begin() + keep, scratch_.end(), by_prob);
    // Top-k renormalizes before top-p looks at cumulative mass.
    z = 0.0;
    for (size_t i = 0; i < keep; ++i) z += scratch_[i].prob;
    if (params_.top_p < 1.0f) keep = nucleus_size(keep, z);
  } else if (params_.top_p < 1.0f) {
    // The nucleus is usually a few dozen tokens: order only a growing head of the candidates
    // (the same order a full sort gives) until it holds top_p of the mass. A full sort of a
    // 150k vocabulary costs ~25 ms, more than a decode step of a small model.
    size_t sorted = 0;
    for (size_t head = std::min<size_t>(kNucleusHead, keep);; head = std::min(head * 4, keep)) {
      // Select the next slice in linear time, then order only that slice.
      std::nth_element(scratch_.begin() + sorted, scratch_.begin() + head, scratch_.end(), by_prob);
      std::sort(scratch_.begin() + sorted, scratch_.begin() + head, by_prob);
      sorted = head;
      const size_t n = nucleus_size(sorted, z);
      if (n < sorted || sorted == keep) {
        keep = n;
        break;
      }
    }
  }
  // Draw from the kept set in id order, not probability order: two near-equal candidates swap
  // places in a sort under the tiniest change of the logits (a batch computes them in another
  // summation order), which would change the drawn token for a fixed seed. In id order a change
  // of the probabilities by e moves the draw only when it lands within e of a boundary.
  std::sort(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(keep),
            [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) total += scratch_[i].prob;
  const double r = uniform() * total;
  double acc = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    acc += scratch_[i].prob;
    if (r < acc) return scratch_[i].id;
  }
  return scratch_[keep - 1].id;
}

std::vector<Candidate> Sampler::top_logprobs(std::span<const float> logits, int n) const {
  const float t = params_.temperature > 0.0f ? params_.temperature : 1.0f;
  const float max_logit = logits[argmax(logits)];
  double z = 0.0;
  for (float l : logits) z += std::exp((l - max_logit) / t);
  const double log_z = std::log(z);
  std::vector<Candidate> all;
  all.reserve(logits.size());
  for (int32_t i = 0; i < static_cast<int32_t>(logits.size()); ++i) {
    const float lp = static_cast<float>((logits[i] - max_logit) / t - log_z);
    all.push_back({i, logits[i], lp});
  }
  const size_t k = std::min<size_t>(std::max(n, 0), all.size());
  std::partial_sort(all.begin(), all.begin() + k, all.end(), [](const Candidate& a, const Candidate& b) {
    return a.prob > b.prob || (a.prob == b.prob && a.id < b.id);
  });
  all.resize(k);
  return all;
}

}  // namespace tandem::sample
