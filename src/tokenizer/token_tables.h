#pragma once
// Compact tables behind a vocabulary. A 150k-token vocabulary held as std::string objects and
// node-based hash maps costs tens of MB (one allocation and a copy of the text per token, per
// map); these keep each token's text once, in one buffer, and index it with flat arrays.
#include <cstdint>
#include <string_view>
#include <vector>

namespace tandem::tokenizer {

// Strings addressed by index, stored back to back in one buffer.
class TextArena {
 public:
  void reserve(size_t n, size_t bytes);
  // Throws FormatError when the total would pass 4 GiB (offsets are 32-bit).
  void push_back(std::string_view s);
  std::string_view operator[](size_t i) const {
    const uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    return {chars_.data() + begin, ends_[i] - begin};
  }
  size_t size() const { return ends_.size(); }
  size_t bytes() const { return chars_.size(); }
  size_t capacity_bytes() const { return chars_.capacity() + ends_.capacity() * sizeof(uint32_t); }

 private:
  std::vector<char> chars_;
  std::vector<uint32_t> ends_;
};

// Text -> index over a TextArena: open addressing (linear probing) with one 32-bit index per
// slot; the text itself is compared in the arena, never copied.
class TextIndex {
 public:
  static constexpr int32_t kAbsent = -1;

  // Indexes every entry of `texts`; when a text repeats, the first index keeps it and
  // `on_duplicate(index, first_index)` is called for the repeat.
  template <typename OnDuplicate>
  void build(const TextArena& texts, OnDuplicate&& on_duplicate) {
    init(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      const int32_t first = insert(texts, static_cast<int32_t>(i));
      if (first != kAbsent) on_duplicate(static_cast<int32_t>(i), first);
    }
  }
  int32_t find(const TextArena& texts, std::string_view s) const;
  size_t capacity_bytes() const { return slots_.capacity() * sizeof(int32_t); }

 private:
  void init(size_t n);
  // Inserts `index`; returns kAbsent, or the index already holding the same text.
  int32_t insert(const TextArena& texts, int32_t index);

  std::vector<int32_t> slots_;  // kAbsent or an index into the arena
  size_t mask_ = 0;
};

// A byte-level BPE merge, keyed by the ids of its two halves.
struct MergeRule {
  int32_t rank;
  int32_t result;
};
inline uint64_t merge_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// (left id, right id) -> MergeRule, open addressing over 16-byte slots.
class MergeTable {
 public:
  void reserve(size_t n);
  // Keeps the first rule for a pair (the lowest rank, when inserted in rank order).
  void insert(int32_t left, int32_t right, MergeRule rule);
  const MergeRule* find(int32_t left, int32_t right) const;
  size_t size() const { return size_; }
  size_t capacity_bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    uint64_t key;
    MergeRule rule;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // no pair of valid (non-negative) ids
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace tandem::tokenizer
