#include "chat/grammar_token_trie.h"

#include <algorithm>
#include <numeric>

namespace tandem::chat {

TokenTrie::TokenTrie(const std::vector<std::string>& vocab) : vocab_size_(vocab.size()) {
  std::vector<int32_t> sorted;
  sorted.reserve(vocab.size());
  for (size_t id = 0; id < vocab.size(); ++id) {
    if (!vocab[id].empty()) sorted.push_back(static_cast<int32_t>(id));
    max_depth_ = std::max(max_depth_, vocab[id].size());
  }
  std::sort(sorted.begin(), sorted.end(),
            [&](int32_t a, int32_t b) { return vocab[a] < vocab[b]; });
  token_ids_.reserve(sorted.size());
  nodes_.emplace_back();
  build(vocab, sorted, 0, sorted.size(), 0, 0);
}

// `sorted[lo, hi)` all share their first `depth` bytes, the path to `node`. Sorting puts the
// token equal to the prefix (if any) first, then the rest grouped by their next byte.
void TokenTrie::build(const std::vector<std::string>& vocab, const std::vector<int32_t>& sorted,
                      size_t lo, size_t hi, size_t depth, uint32_t node) {
  nodes_[node].first_token = static_cast<uint32_t>(token_ids_.size());
  while (lo < hi && vocab[sorted[lo]].size() == depth) token_ids_.push_back(sorted[lo++]);
  nodes_[node].token_count = static_cast<uint32_t>(token_ids_.size()) - nodes_[node].first_token;

  std::vector<std::pair<size_t, size_t>> groups;
  for (size_t i = lo; i < hi;) {
    unsigned char byte = static_cast<unsigned char>(vocab[sorted[i]][depth]);
    size_t j = i + 1;
    while (j < hi && static_cast<unsigned char>(vocab[sorted[j]][depth]) == byte) ++j;
    groups.push_back({i, j});
    i = j;
  }
  uint32_t first = static_cast<uint32_t>(nodes_.size());
  nodes_[node].first_child = first;
  nodes_[node].child_count = static_cast<uint32_t>(groups.size());
  for (const auto& [a, b] : groups) {
    Node child;
    child.byte = static_cast<uint8_t>(vocab[sorted[a]][depth]);
    nodes_.push_back(child);
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    build(vocab, sorted, groups[g].first, groups[g].second, depth + 1,
          first + static_cast<uint32_t>(g));
  }
}

}  // namespace tandem::chat
