#include "chat/grammar_token_trie.h"

#include <algorithm>
#include <atomic>

#include "chat/grammar_utf8.h"

namespace tandem::chat {

namespace {

constexpr std::array<uint8_t, 256> make_buckets() {
  std::array<uint8_t, 256> b{};
  uint8_t next = 0;
  const uint8_t control = next++;
  for (int c = 0; c < 0x20; ++c) b[c] = control;
  b[0x7F] = control;
  for (int c : {'\t', '\n', '\r', ' '}) b[c] = next++;
  for (int c = 0x21; c < 0x7F; ++c) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!alnum) b[c] = next++;  // 32 punctuation characters, one bucket each
  }
  const uint8_t digit = next++, upper_hex = next++, upper = next++, lower_hex = next++,
                lower = next++, non_ascii = next++;
  for (int c = '0'; c <= '9'; ++c) b[c] = digit;
  for (int c = 'A'; c <= 'Z'; ++c) b[c] = c <= 'F' ? upper_hex : upper;
  for (int c = 'a'; c <= 'z'; ++c) b[c] = c <= 'f' ? lower_hex : lower;
  for (int c = 0x80; c < 0x100; ++c) b[c] = non_ascii;
  return b;
}

std::atomic<uint64_t> next_trie_id{1};

}  // namespace

const std::array<uint8_t, 256> TokenTrie::kBucketOf = make_buckets();
static_assert(make_buckets()[0xFF] < TokenTrie::kBuckets);

TokenTrie::TokenTrie(const std::vector<std::string>& vocab)
    : vocab_size_(vocab.size()), id_(next_trie_id++) {
  std::vector<int32_t> sorted;
  sorted.reserve(vocab.size());
  for (size_t id = 0; id < vocab.size(); ++id) {
    if (!vocab[id].empty()) sorted.push_back(static_cast<int32_t>(id));
    else excluded_ids_.push_back(static_cast<int32_t>(id));
    max_depth_ = std::max(max_depth_, vocab[id].size());
  }
  std::sort(sorted.begin(), sorted.end(),
            [&](int32_t a, int32_t b) { return vocab[a] < vocab[b]; });
  token_ids_.reserve(sorted.size());
  nodes_.emplace_back();
  build(vocab, sorted, 0, sorted.size(), 0, 0);
  summarize();
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

// Children always follow their parent in nodes_, so one forward pass decodes every path and one
// backward pass folds the subtree summaries up.
void TokenTrie::summarize() {
  std::vector<Utf8Partial> decoded(nodes_.size());
  std::vector<uint8_t> path_ok(nodes_.size(), 0);
  path_ok[0] = 1;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    for (uint32_t c = n.first_child; c < n.first_child + n.child_count; ++c) {
      Utf8Partial p = decoded[i];
      uint32_t lo = 0, hi = 0;
      path_ok[c] = path_ok[i] && utf8_step(p, nodes_[c].byte, lo, hi) != Utf8Step::kInvalid;
      decoded[c] = p;
    }
  }
  for (size_t i = nodes_.size(); i-- > 0;) {
    Node& n = nodes_[i];
    n.subtree_utf8_ok = path_ok[i] != 0;
    n.below = 0;
    n.height = 0;
    n.subtree_end = n.first_token + n.token_count;
    for (uint32_t c = n.first_child; c < n.first_child + n.child_count; ++c) {
      const Node& child = nodes_[c];
      n.subtree_utf8_ok = n.subtree_utf8_ok && child.subtree_utf8_ok;
      n.below |= child.below | (uint64_t{1} << bucket_of(child.byte));
      n.subtree_end = child.subtree_end;
      uint16_t through_child = child.height == UINT16_MAX
                                   ? UINT16_MAX
                                   : static_cast<uint16_t>(child.height + 1);
      n.height = std::max(n.height, through_child);
    }
  }
}

}  // namespace tandem::chat
