#include "runtime/session.h"

#include <algorithm>
#include <string>

#include "util/error.h"

namespace tandem::runtime {

int64_t pick_context(const model::Model& m, int64_t requested) {
  const int64_t train = m.hparams().n_ctx_train;
  if (requested <= 0) return std::min(train, kDefaultContext);
  if (requested > train)
    throw InvalidArgument("context size " + std::to_string(requested) +
                          " exceeds the model's training context of " + std::to_string(train));
  return requested;
}

Session::Session(const LoadedModel& model, ThreadPool& pool, const SessionOptions& options)
    : model_(model),
      n_ctx_(pick_context(*model.model, options.n_ctx)),
      n_batch_(std::max<int64_t>(1, options.n_batch)),
      eval_(*model.model, pool),
      kv_(model.model->kv_shape(), KvCacheOptions{options.kv_type, n_ctx_, 1}) {}

std::span<const float> Session::append(std::span<const int32_t> tokens) {
  if (tokens.empty()) throw InvalidArgument("no tokens to process");
  if (n_past() + static_cast<int64_t>(tokens.size()) > n_ctx_)
    throw InvalidArgument("the context holds " + std::to_string(n_ctx_) + " tokens; " +
                          std::to_string(n_past()) + " are used and " +
                          std::to_string(tokens.size()) + " more do not fit");
  for (size_t start = 0; start < tokens.size(); start += n_batch_) {
    const size_t n = std::min<size_t>(n_batch_, tokens.size() - start);
    batch_.clear();
    for (size_t i = 0; i < n; ++i) {
      const bool last = start + i + 1 == tokens.size();
      batch_.push_back({tokens[start + i], static_cast<int32_t>(tokens_.size() + i), 0, last});
    }
    const model::ForwardOutput& out = eval_.forward(batch_, kv_);
    tokens_.insert(tokens_.end(), tokens.begin() + start, tokens.begin() + start + n);
    if (out.rows() > 0) {
      auto row = out.logits_row(out.rows() - 1);
      last_logits_.assign(row.begin(), row.end());
    }
  }
  return last_logits_;
}

void Session::truncate(int64_t pos) {
  pos = std::clamp<int64_t>(pos, 0, n_past());
  kv_.seq_rm(0, pos);
  tokens_.resize(pos);
}

}  // namespace tandem::runtime
