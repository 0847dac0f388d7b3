#include "runtime/prefix_cache.h"

#include <algorithm>
#include <string>

#include "tensor/convert.h"
#include "util/error.h"

namespace tandem::runtime {

PrefixCache::PrefixCache(KvCache& kv, size_t max_entries, int64_t min_tokens)
    : kv_(kv), max_entries_(max_entries), min_tokens_(std::max<int64_t>(1, min_tokens)) {}

int64_t PrefixCache::cells() const {
  int64_t n = 0;
  for (const auto& e : entries_) n += kv_.seq_len(e.id);
  return n;
}

PrefixCache::Match PrefixCache::find(std::span<const int32_t> prompt) const {
  Match best;
  if (prompt.size() < 2) return best;
  const size_t limit = prompt.size() - 1;  // the last prompt token is always computed
  for (const auto& e : entries_) {
    const size_t n = std::min(limit, e.tokens.size());
    size_t common = 0;
    while (common < n && e.tokens[common] == prompt[common]) ++common;
    if (static_cast<int64_t>(common) > best.length) best = {e.id, static_cast<int64_t>(common)};
  }
  if (best.length < min_tokens_) return {};
  return best;
}

void PrefixCache::copy(const Match& match, model::SeqId dst) {
  if (match.source < 0 || match.length <= 0) return;
  if (kv_.n_free_cells() < match.length)
    throw InvalidArgument("prefix cache: " + std::to_string(match.length) + " cells needed, " +
                          std::to_string(kv_.n_free_cells()) + " free");
  std::vector<model::BatchToken> positions(static_cast<size_t>(match.length));
  for (int64_t p = 0; p < match.length; ++p)
    positions[static_cast<size_t>(p)] = {0, static_cast<int32_t>(p), dst, false};
  kv_.reserve(positions);
  // Through float: exact for F16 and F32 rows; Q8_0 rows re-quantize to the same blocks.
  const model::KvShape& shape = kv_.shape();
  k_row_.resize(static_cast<size_t>(shape.k_width()));
  v_row_.resize(static_cast<size_t>(shape.v_width()));
  for (int64_t layer = 0; layer < shape.n_layer; ++layer) {
    const model::KvSequenceView src = kv_.view(layer, match.source);
    for (int64_t p = 0; p < match.length; ++p) {
      tensor::dequantize(src.type, src.k_row(p), k_row_.data(), shape.k_width());
      tensor::dequantize(src.type, src.v_row(p), v_row_.data(), shape.v_width());
      kv_.write(layer, dst, static_cast<int32_t>(p), k_row_.data(), v_row_.data());
    }
  }
  for (auto& e : entries_)
    if (e.id == match.source) e.last_used = ++clock_;
}

void PrefixCache::insert(model::SeqId id, std::vector<int32_t> tokens, std::vector<model::SeqId>& freed) {
  if (!enabled() || static_cast<int64_t>(tokens.size()) < min_tokens_) {
    kv_.seq_clear(id);
    freed.push_back(id);
    return;
  }
  for (size_t i = entries_.size(); i-- > 0;) {
    const auto& old = entries_[i].tokens;
    if (old.size() <= tokens.size() && std::equal(old.begin(), old.end(), tokens.begin()))
      evict_at(i, freed);
  }
  entries_.push_back({id, std::move(tokens), ++clock_});
  while (entries_.size() > max_entries_) evict_one(freed);
}

bool PrefixCache::evict_one(std::vector<model::SeqId>& freed, model::SeqId keep) {
  size_t victim = entries_.size();
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].id == keep) continue;
    if (victim == entries_.size() || entries_[i].last_used < entries_[victim].last_used) victim = i;
  }
  if (victim == entries_.size()) return false;
  evict_at(victim, freed);
  return true;
}

void PrefixCache::clear(std::vector<model::SeqId>& freed) {
  while (!entries_.empty()) evict_at(entries_.size() - 1, freed);
}

void PrefixCache::evict_at(size_t i, std::vector<model::SeqId>& freed) {
  kv_.seq_clear(entries_[i].id);
  freed.push_back(entries_[i].id);
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
}

}  // namespace tandem::runtime
