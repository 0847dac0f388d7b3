#pragma once
// A byte-prefix trie over a vocabulary, so grammar masking walks each shared token prefix once
// instead of once per token (a 150k vocab has ~4x fewer trie nodes than total token bytes).
//
// Each node also carries a summary of its whole subtree, so the matcher can accept a subtree in
// one step when the grammar state provably loops on every byte below it (inside a JSON string
// nearly every token is such a subtree): which byte buckets occur below the node, whether every
// token below is well-formed UTF-8, how deep it goes, and the contiguous range of token ids below
// it.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tandem::chat {

class TokenTrie {
 public:
  // Bytes are summarized into 64 buckets: the ASCII bytes a grammar tends to single out get their
  // own bucket (punctuation, whitespace), ranges that grammars use whole share one (digits, hex
  // letters, other letters, control bytes, all non-ASCII bytes). A bucket summary is conservative:
  // the matcher treats a bucket as looping only when every byte in it loops.
  static constexpr int kBuckets = 64;
  static uint8_t bucket_of(uint8_t byte) { return kBucketOf[byte]; }

  struct Node {
    uint32_t first_child = 0;  // children are contiguous in nodes(), sorted by byte
    uint32_t child_count = 0;
    uint32_t first_token = 0;  // tokens whose bytes end exactly here, in token_ids()
    uint32_t token_count = 0;
    uint32_t subtree_end = 0;  // the subtree's tokens: token_ids()[first_token, subtree_end)
    uint8_t byte = 0;          // the byte leading from the parent to this node
    // Every token below decodes (from the root, starting at a character boundary) as well-formed
    // UTF-8, possibly ending mid-character.
    bool subtree_utf8_ok = false;
    uint16_t height = 0;  // bytes on the longest path below this node (saturating)
    uint64_t below = 0;  // bit bucket_of(b) for every byte b on an edge strictly below this node
  };

  // `vocab[id]` is token id's decoded byte string. Empty strings (special tokens the caller does
  // not want a grammar to produce) are left out and are never allowed by a mask.
  explicit TokenTrie(const std::vector<std::string>& vocab);

  const std::vector<Node>& nodes() const { return nodes_; }  // nodes()[0] is the root
  std::span<const int32_t> tokens(const Node& node) const {
    return {token_ids_.data() + node.first_token, node.token_count};
  }
  // Token ids in depth-first order: a subtree's tokens are one contiguous run.
  const std::vector<int32_t>& token_ids() const { return token_ids_; }
  // Ids left out of the trie (empty strings).
  const std::vector<int32_t>& excluded_ids() const { return excluded_ids_; }
  size_t vocab_size() const { return vocab_size_; }
  size_t max_depth() const { return max_depth_; }
  // Distinct for every trie constructed in this process, so caches keyed by it never confuse two
  // vocabularies (even one reusing the address of a destroyed trie).
  uint64_t id() const { return id_; }

 private:
  static const std::array<uint8_t, 256> kBucketOf;

  void build(const std::vector<std::string>& vocab, const std::vector<int32_t>& sorted,
             size_t lo, size_t hi, size_t depth, uint32_t node);
  void summarize();

  std::vector<Node> nodes_;
  std::vector<int32_t> token_ids_;
  std::vector<int32_t> excluded_ids_;
  size_t vocab_size_ = 0;
  size_t max_depth_ = 0;
  uint64_t id_ = 0;
};

}  // namespace tandem::chat
