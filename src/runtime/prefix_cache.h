#pragma once
// Prefix cache: the KV of finished sequences is kept (least recently used first out), so a new
// prompt that starts the same way — the same system prompt, the earlier turns of a chat — copies
// those rows instead of computing them again. Copying a token's K/V rows costs a few KB of memory
// traffic; computing them costs a forward pass.
//
// Entries are whole sequences of the shared KvCache under sequence ids the scheduler lends the
// cache; evicting an entry clears its cells and hands its id back.
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/kv_cache.h"

namespace tandem::runtime {

class PrefixCache {
 public:
  // `min_tokens`: shorter matches are not worth a copy.
  PrefixCache(KvCache& kv, size_t max_entries, int64_t min_tokens);

  struct Match {
    model::SeqId source = -1;  // -1: no usable match
    int64_t length = 0;        // positions to copy
  };
  // The entry sharing the longest prefix with `prompt`, leaving at least the prompt's last token
  // to compute (its logits are needed).
  Match find(std::span<const int32_t> prompt) const;
  // Copies the match's positions into `dst`, an empty sequence, and marks the entry used.
  // Throws InvalidArgument (nothing copied) when the cache lacks free cells.
  void copy(const Match& match, model::SeqId dst);

  // Adopts sequence `id` whose cache holds `tokens`. Entries it makes redundant (their tokens a
  // prefix of these) and the least recently used beyond max_entries are evicted; their ids are
  // appended to `freed`. A sequence too short to be worth keeping is cleared and freed at once.
  void insert(model::SeqId id, std::vector<int32_t> tokens, std::vector<model::SeqId>& freed);
  // Evicts the least recently used entry other than `keep`; false when there is none.
  bool evict_one(std::vector<model::SeqId>& freed, model::SeqId keep = -1);
  void clear(std::vector<model::SeqId>& freed);

  bool enabled() const { return max_entries_ > 0; }
  size_t size() const { return entries_.size(); }
  int64_t cells() const;  // cells held by all entries

 private:
  struct Entry {
    model::SeqId id;
    std::vector<int32_t> tokens;
    uint64_t last_used;
  };
  void evict_at(size_t i, std::vector<model::SeqId>& freed);

  KvCache& kv_;
  size_t max_entries_;
  int64_t min_tokens_;
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
  std::vector<float> k_row_, v_row_;
};

}  // namespace tandem::runtime
