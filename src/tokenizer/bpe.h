#pragma once
// Byte-level BPE ("gpt2" vocabularies): a pre-tokenized word is spelled as GPT-2 byte characters
// and the adjacent pair with the lowest merge rank is merged until no rule applies (ties: leftmost
// first). Merges are keyed by token ids, so a word costs O(n log n) with no string building.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace tandem::tokenizer {

class ByteLevelBpe {
 public:
  explicit ByteLevelBpe(const Vocab& vocab) : vocab_(vocab) {}

  // Appends the ids of one pre-tokenized word (raw bytes) to `out`.
  void encode_word(std::string_view word, std::vector<int32_t>& out);

 private:
  struct Symbol {
    int32_t id;
    int prev;
    int next;
  };
  struct Candidate {
    int32_t rank;
    int left;
    int right;
    int32_t left_id;
    int32_t right_id;
    int32_t result;
  };

  void push_pair(int left, int right);

  const Vocab& vocab_;
  // Reused between words to avoid reallocating.
  std::vector<Symbol> symbols_;
  std::vector<Candidate> heap_;
  std::string scratch_;
};

}  // namespace tandem::tokenizer
