#pragma once
// A tokenizer vocabulary as read from GGUF metadata (`tokenizer.ggml.*`), validated once at load
// time and indexed with hash maps so encoding never searches linearly.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem::gguf {
class File;
}

namespace tandem::tokenizer {

struct PreTokenizerSpec;

inline constexpr int32_t kNoToken = -1;

// Values of `tokenizer.ggml.token_type`, as GGUF defines them.
enum class TokenType : int32_t {
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

// Which segmentation algorithm the vocabulary's `tokenizer.ggml.model` asks for.
enum class Algorithm {
  SentencePieceBpe,  // "llama": score-driven merges over pieces, byte fallback, U+2581 spaces
  ByteLevelBpe,      // "gpt2": ranked merges over GPT-2 byte characters after a regex split
  WordPiece,         // "bert": greedy longest-match over normalized words
};

struct TokenData {
  std::string text;
  float score = 0.0f;
  TokenType type = TokenType::Normal;
};

// Transparent hashing so lookups by string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIndex = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct SpecialIds {
  int32_t bos = kNoToken;
  int32_t eos = kNoToken;
  int32_t eot = kNoToken;
  int32_t eom = kNoToken;
  int32_t unk = kNoToken;
  int32_t sep = kNoToken;
  int32_t pad = kNoToken;
  int32_t mask = kNoToken;
};

// A byte-level BPE merge, keyed by the ids of its two halves.
struct MergeRule {
  int32_t rank;
  int32_t result;
};
inline uint64_t merge_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct Vocab {
  std::string source;  // file name, for error messages
  Algorithm algorithm = Algorithm::SentencePieceBpe;
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // tokenizer.ggml.pre, "default" when the file has none
  const PreTokenizerSpec* pre_spec = nullptr;  // byte-level BPE only

  std::vector<TokenData> tokens;
  TokenIndex token_to_id;
  std::unordered_map<uint64_t, MergeRule> merges;  // byte-level BPE only
  int32_t byte_tokens[256];  // SentencePiece <0xXX> ids, or the byte-level character ids
  size_t max_token_bytes = 0;

  SpecialIds special;
  std::vector<int32_t> eog_ids;      // sorted: every id that ends generation
  std::vector<int32_t> special_ids;  // control, user-defined and unknown tokens (matched in text)

  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;           // WordPiece: [SEP] after the text
  bool add_space_prefix = false;  // SentencePiece: a leading space before the text
  bool ignore_merges = false;     // byte-level BPE: whole words found in the vocab skip merging
  bool lowercase = false;         // WordPiece normalizer
  bool strip_accents = false;     // WordPiece normalizer

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
  int32_t find(std::string_view text) const {
    auto it = token_to_id.find(text);
    return it == token_to_id.end() ? kNoToken : it->second;
  }
  TokenType type(int32_t id) const { return tokens[static_cast<size_t>(id)].type; }
};

// Reads and validates the tokenizer metadata of a GGUF file. Throws FormatError naming the file
// and the key for missing or inconsistent metadata, an unsupported model or an unknown pre-tokenizer.
Vocab load_vocab(const gguf::File& file);

// Finishes a Vocab whose `tokens`, `model`, `pre` and flags are filled in: builds indexes, byte
// tables and special-token lists. `merges_text` holds "left right" merge strings (gpt2 only).
// Used by load_vocab and by tests that build vocabularies in memory.
void index_vocab(Vocab& vocab, const std::vector<std::string>& merges_text);

}  // namespace tandem::tokenizer
