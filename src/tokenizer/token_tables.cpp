#include "tokenizer/token_tables.h"

#include <cstring>
#include <functional>
#include <limits>
#include <string>

#include "util/error.h"

namespace tandem::tokenizer {

namespace {

// Slots for n entries at a load factor of at most 2/3 (short probe runs), a power of two so a
// hash maps to a slot with a mask.
size_t slot_count(size_t n) {
  size_t want = n + n / 2 + 1;
  size_t slots = 16;
  while (slots < want) slots *= 2;
  return slots;
}

size_t hash_text(std::string_view s) { return std::hash<std::string_view>{}(s); }

// A 64-bit mixer (the MurmurHash3 finalizer): merge keys are two small ids side by side, which
// would cluster badly under the identity hash.
size_t hash_key(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return static_cast<size_t>(k);
}

}  // namespace

void TextArena::reserve(size_t n, size_t bytes) {
  chars_.reserve(bytes);
  ends_.reserve(n);
}

void TextArena::push_back(std::string_view s) {
  if (s.size() > std::numeric_limits<uint32_t>::max() - chars_.size())
    throw FormatError("token texts exceed 4 GiB in total");
  const size_t at = chars_.size();
  chars_.resize(at + s.size());
  if (!s.empty()) std::memcpy(chars_.data() + at, s.data(), s.size());
  ends_.push_back(static_cast<uint32_t>(chars_.size()));
}

void TextIndex::init(size_t n) {
  slots_.assign(slot_count(n), kAbsent);
  mask_ = slots_.size() - 1;
}

int32_t TextIndex::insert(const TextArena& texts, int32_t index) {
  const std::string_view s = texts[static_cast<size_t>(index)];
  for (size_t i = hash_text(s) & mask_;; i = (i + 1) & mask_) {
    const int32_t at = slots_[i];
    if (at == kAbsent) {
      slots_[i] = index;
      return kAbsent;
    }
    if (texts[static_cast<size_t>(at)] == s) return at;
  }
}

int32_t TextIndex::find(const TextArena& texts, std::string_view s) const {
  if (slots_.empty()) return kAbsent;
  for (size_t i = hash_text(s) & mask_;; i = (i + 1) & mask_) {
    const int32_t at = slots_[i];
    if (at == kAbsent || texts[static_cast<size_t>(at)] == s) return at;
  }
}

void MergeTable::reserve(size_t n) {
  if (slot_count(n) <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(slot_count(n), Slot{kEmpty, {0, 0}});
  mask_ = slots_.size() - 1;
  size_ = 0;
  for (const Slot& s : old)
    if (s.key != kEmpty)
      insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xffffffffu), s.rule);
}

void MergeTable::grow() { reserve(size_ * 2 + 16); }

void MergeTable::insert(int32_t left, int32_t right, MergeRule rule) {
  if (slots_.empty() || (size_ + 1) * 3 > slots_.size() * 2) grow();
  const uint64_t key = merge_key(left, right);
  for (size_t i = hash_key(key) & mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) return;
    if (s.key == kEmpty) {
      s = Slot{key, rule};
      ++size_;
      return;
    }
  }
}

const MergeRule* MergeTable::find(int32_t left, int32_t right) const {
  const uint64_t key = merge_key(left, right);
  if (slots_.empty() || key == kEmpty) return nullptr;
  for (size_t i = hash_key(key) & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.key == key) return &s.rule;
    if (s.key == kEmpty) return nullptr;
  }
}

}  // namespace tandem::tokenizer
