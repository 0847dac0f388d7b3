#pragma once
// A tokenizer vocabulary as read from GGUF metadata (`tokenizer.ggml.*`), validated once at load
// time and indexed with flat hash tables so encoding never searches linearly.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/token_tables.h"

namespace tandem::gguf {
class Array;
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

// Per-token data besides the text, which lives in Vocab::texts.
struct TokenData {
  float score = 0.0f;
  TokenType type = TokenType::Normal;
};

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

struct Vocab {
  std::string source;  // file name, for error messages
  Algorithm algorithm = Algorithm::SentencePieceBpe;
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // tokenizer.ggml.pre, "default" when the file has none
  const PreTokenizerSpec* pre_spec = nullptr;  // byte-level BPE only

  // Token texts as stored in the file, by id, in one buffer; empty entries some converted
  // vocabularies carry are renamed "[EMPTY_<id>]" so that no two tokens share a text.
  TextArena texts;
  std::vector<TokenData> tokens;  // by id, parallel to `texts`
  TextIndex token_to_id;          // filled by index_vocab
  MergeTable merges;              // byte-level BPE only
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
  int32_t find(std::string_view text) const { return token_to_id.find(texts, text); }
  std::string_view text(int32_t id) const { return texts[static_cast<size_t>(id)]; }
  TokenType type(int32_t id) const { return tokens[static_cast<size_t>(id)].type; }
};

// Reads and validates the tokenizer metadata of a GGUF file. Throws FormatError naming the file
// and the key for missing or inconsistent metadata, an unsupported model or an unknown pre-tokenizer.
Vocab load_vocab(const gguf::File& file);

// Finishes a Vocab whose `texts`, `tokens`, `model`, `pre` and flags are filled in: builds the
// text index, byte tables and special-token lists, and (gpt2 only) the merge table from
// `merges_text`, "left right" merge strings in rank order (null: none).
void index_vocab(Vocab& vocab, const gguf::Array* merges_text);

}  // namespace tandem::tokenizer
