#include "chat/grammar_mask_cache.h"

#include <algorithm>

namespace tandem::chat {

uint64_t MaskCache::hash_of(uint64_t trie_id, const std::vector<uint32_t>& stacks,
                            Utf8Partial partial) {
  uint64_t h = 0xcbf29ce484222325ull ^ trie_id;  // FNV-1a over 32-bit words
  auto mix = [&](uint64_t v) { h = (h ^ v) * 0x100000001b3ull; };
  for (uint32_t s : stacks) mix(s);
  mix(partial.bits);
  mix((uint64_t{partial.remaining} << 8) | partial.length);
  return h;
}

const std::vector<bool>* MaskCache::find(uint64_t trie_id, const std::vector<uint32_t>& stacks,
                                         Utf8Partial partial) {
  if (capacity_ == 0) return nullptr;
  uint64_t h = hash_of(trie_id, stacks, partial);
  for (Entry& e : entries_) {
    if (e.hash == h && e.trie_id == trie_id && e.partial == partial && e.stacks == stacks) {
      e.last_used = ++clock_;
      ++hits_;
      return &e.mask;
    }
  }
  return nullptr;
}

void MaskCache::insert(uint64_t trie_id, const std::vector<uint32_t>& stacks,
                       Utf8Partial partial, const std::vector<bool>& mask) {
  if (capacity_ == 0) return;
  Entry* slot = nullptr;
  if (entries_.size() < capacity_) {
    slot = &entries_.emplace_back();
  } else {
    slot = &*std::min_element(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return a.last_used < b.last_used;
    });
  }
  slot->hash = hash_of(trie_id, stacks, partial);
  slot->trie_id = trie_id;
  slot->stacks = stacks;  // reuses the evicted entry's buffers
  slot->partial = partial;
  slot->mask = mask;
  slot->last_used = ++clock_;
}

}  // namespace tandem::chat
