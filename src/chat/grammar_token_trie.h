#pragma once
// A byte-prefix trie over a vocabulary, so grammar masking walks each shared token prefix once
// instead of once per token (a 150k vocab has ~4x fewer trie nodes than total token bytes).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tandem::chat {

class TokenTrie {
 public:
  struct Node {
    uint32_t first_child = 0;  // children are contiguous in nodes(), sorted by byte
    uint32_t child_count = 0;
    uint32_t first_token = 0;  // tokens whose bytes end exactly here, in token_ids()
    uint32_t token_count = 0;
    uint8_t byte = 0;          // the byte leading from the parent to this node
  };

  // `vocab[id]` is token id's decoded byte string. Empty strings (special tokens the caller does
  // not want a grammar to produce) are left out and are never allowed by a mask.
  explicit TokenTrie(const std::vector<std::string>& vocab);

  const std::vector<Node>& nodes() const { return nodes_; }  // nodes()[0] is the root
  std::span<const int32_t> tokens(const Node& node) const {
    return {token_ids_.data() + node.first_token, node.token_count};
  }
  size_t vocab_size() const { return vocab_size_; }
  size_t max_depth() const { return max_depth_; }

 private:
  void build(const std::vector<std::string>& vocab, const std::vector<int32_t>& sorted,
             size_t lo, size_t hi, size_t depth, uint32_t node);

  std::vector<Node> nodes_;
  std::vector<int32_t> token_ids_;
  size_t vocab_size_ = 0;
  size_t max_depth_ = 0;
};

}  // namespace tandem::chat
