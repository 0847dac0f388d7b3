#pragma once
// Greedy decoding helpers for model tests (argmax, ties -> lowest id). A real sampler lives in
// sample/; these only drive the forward pass.
#include <cstdint>
#include <span>
#include <vector>

#include "model/evaluator.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "util/thread_pool.h"

namespace tandem::testing {

inline int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  return best;
}

// Feeds `prompt` to sequence `seq` (in one batch, or token by token) and greedily generates
// `n_gen` tokens. Returns the generated ids.
inline std::vector<int32_t> greedy(model::Evaluator& ev, model::KvStore& kv, model::SeqId seq,
                                   const std::vector<int32_t>& prompt, int n_gen,
                                   bool prompt_as_one_batch = true, int32_t first_pos = 0) {
  int32_t pos = first_pos;
  int32_t next = -1;
  if (prompt_as_one_batch) {
    std::vector<model::BatchToken> batch;
    for (size_t i = 0; i < prompt.size(); ++i)
      batch.push_back({prompt[i], pos++, seq, i + 1 == prompt.size()});
    next = argmax(ev.forward(batch, kv).logits_row(0));
  } else {
    for (size_t i = 0; i < prompt.size(); ++i) {
      model::BatchToken t{prompt[i], pos++, seq, true};
      next = argmax(ev.forward({&t, 1}, kv).logits_row(0));
    }
  }
  std::vector<int32_t> out{next};
  while (static_cast<int>(out.size()) < n_gen) {
    model::BatchToken t{out.back(), pos++, seq, true};
    out.push_back(argmax(ev.forward({&t, 1}, kv).logits_row(0)));
  }
  return out;
}

// The logits of every position of `prompt` (sequence 0 of a fresh cache), as one batch or token
// by token.
inline std::vector<float> prompt_logits(const model::Model& m, const std::vector<int32_t>& prompt,
                                        bool one_batch, tensor::Type kv_type, int threads) {
  ThreadPool pool(threads);
  model::Evaluator ev(m, pool);
  runtime::KvCache kv(m.kv_shape(), {kv_type, 64, 1});
  std::vector<model::BatchToken> batch;
  for (size_t i = 0; i < prompt.size(); ++i)
    batch.push_back({prompt[i], static_cast<int32_t>(i), 0, true});
  if (one_batch) return ev.forward(batch, kv).logits;
  std::vector<float> all;
  for (const auto& t : batch) {
    const auto& out = ev.forward({&t, 1}, kv);
    all.insert(all.end(), out.logits.begin(), out.logits.end());
  }
  return all;
}

}  // namespace tandem::testing
