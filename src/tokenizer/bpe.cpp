#include "tokenizer/bpe.h"

#include <algorithm>

#include "tokenizer/byte_unicode.h"

namespace tandem::tokenizer {

namespace {
// std::push_heap keeps the "largest" on top, so "larger" means lower rank, then further left.
bool lower_priority(const auto& a, const auto& b) {
  if (a.rank != b.rank) return a.rank > b.rank;
  return a.left > b.left;
}
}  // namespace

void ByteLevelBpe::push_pair(int left, int right) {
  if (left < 0 || right < 0) return;
  const Symbol& l = symbols_[static_cast<size_t>(left)];
  const Symbol& r = symbols_[static_cast<size_t>(right)];
  if (l.id == kNoToken || r.id == kNoToken) return;
  const MergeRule* rule = vocab_.merges.find(l.id, r.id);
  if (!rule) return;
  heap_.push_back({rule->rank, left, right, l.id, r.id, rule->result});
  std::push_heap(heap_.begin(), heap_.end(), [](const Candidate& a, const Candidate& b) { return lower_priority(a, b); });
}

void ByteLevelBpe::encode_word(std::string_view word, std::vector<int32_t>& out) {
  if (word.empty()) return;
  if (vocab_.ignore_merges) {
    // Models trained with ignore_merges emit a word that is itself a token as that token.
    scratch_ = bytes_to_unicode_text(word);
    const int32_t whole = vocab_.find(scratch_);
    if (whole != kNoToken) {
      out.push_back(whole);
      return;
    }
  }

  symbols_.clear();
  heap_.clear();
  for (size_t i = 0; i < word.size(); ++i) {
    const int index = static_cast<int>(i);
    symbols_.push_back({vocab_.byte_tokens[static_cast<unsigned char>(word[i])], index - 1, index + 1});
  }
  symbols_.back().next = -1;
  for (size_t i = 1; i < symbols_.size(); ++i) push_pair(static_cast<int>(i - 1), static_cast<int>(i));

  auto cmp = [](const Candidate& a, const Candidate& b) { return lower_priority(a, b); };
  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), cmp);
    const Candidate c = heap_.back();
    heap_.pop_back();
    Symbol& l = symbols_[static_cast<size_t>(c.left)];
    Symbol& r = symbols_[static_cast<size_t>(c.right)];
    // Stale if either side has merged since this pair was queued.
    if (l.id != c.left_id || r.id != c.right_id || l.next != c.right) continue;
    l.id = c.result;
    l.next = r.next;
    r.id = kNoToken;
    r.next = -2;  // dead
    if (l.next >= 0) symbols_[static_cast<size_t>(l.next)].prev = c.left;
    push_pair(l.prev, c.left);
    push_pair(c.left, l.next);
  }

  for (int i = 0; i >= 0; i = symbols_[static_cast<size_t>(i)].next) {
    const int32_t id = symbols_[static_cast<size_t>(i)].id;
    if (id != kNoToken) {
      out.push_back(id);
    } else if (vocab_.special.unk != kNoToken) {
      // A byte whose character is missing from the vocabulary (never in a complete byte-level vocab).
      out.push_back(vocab_.special.unk);
    }
  }
}

}  // namespace tandem::tokenizer
