#pragma once
// A small least-recently-used memo of grammar token masks, keyed by the matcher state they were
// computed for. Inside a JSON string the state after each token is the same stack set as before
// it, so the second and later masks of a string cost a lookup and a copy of vocab/8 bytes.
//
// Keys are the matcher's hash-consed stack ids, valid until its node pool is rebuilt: the matcher
// clears the cache whenever it renumbers (reset, compaction).
#include <cstdint>
#include <vector>

#include "chat/grammar_utf8.h"

namespace tandem::chat {

class MaskCache {
 public:
  explicit MaskCache(size_t capacity = 0) : capacity_(capacity) {}

  // The mask stored for this state, or nullptr.
  const std::vector<bool>* find(uint64_t trie_id, const std::vector<uint32_t>& stacks,
                                Utf8Partial partial);
  // Stores a copy of `mask`, evicting the least recently used entry when full.
  void insert(uint64_t trie_id, const std::vector<uint32_t>& stacks, Utf8Partial partial,
              const std::vector<bool>& mask);
  void clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t hits() const { return hits_; }

 private:
  struct Entry {
    uint64_t hash = 0;
    uint64_t trie_id = 0;
    std::vector<uint32_t> stacks;
    Utf8Partial partial;
    std::vector<bool> mask;
    uint64_t last_used = 0;
  };
  static uint64_t hash_of(uint64_t trie_id, const std::vector<uint32_t>& stacks,
                          Utf8Partial partial);

  size_t capacity_;
  uint64_t clock_ = 0;
  uint64_t hits_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace tandem::chat
