#pragma once
// tandem's tokenizer: text <-> token ids for the vocabularies GGUF files carry. Built once from
// a file's `tokenizer.ggml.*` metadata; encoding and decoding are const and thread-safe.
//
//   auto tok = tokenizer::Tokenizer::from_gguf(file);
//   std::vector<int32_t> ids = tok.encode("Hello", /*add_special=*/true, /*parse_special=*/false);
//   std::string text = tok.decode(ids);
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace tandem::gguf {
class File;
}

namespace tandem::tokenizer {

struct DecodeOptions {
  // Leave out control/unknown tokens (BOS, EOS, <|im_end|>, ...) instead of writing their text.
  bool skip_special = false;
  // SentencePiece vocabularies with add_space_prefix: drop the space the encoder put in front of
  // the text (at the start and after each special token), so decode(encode(s)) == s.
  bool strip_space_prefix = true;
};

class Tokenizer {
 public:
  // Throws FormatError for missing or inconsistent tokenizer metadata, an unsupported model or an
  // unknown `tokenizer.ggml.pre`.
  static Tokenizer from_gguf(const gguf::File& file);
  // From an already indexed vocabulary (see index_vocab); used by tests.
  static Tokenizer from_vocab(Vocab vocab);

  // add_special: prepend BOS / append EOS (and [SEP] for WordPiece) as the vocabulary's flags
  // say. parse_special: text such as "<|im_start|>" or "<s>" becomes its control token;
  // otherwise only user-defined tokens are recognised and control-token text is plain text.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // Concatenated bytes of the tokens. Byte-level and byte-fallback tokens may produce partial
  // UTF-8 at the edges of a span; StreamDecoder handles that for streaming. Throws
  // InvalidArgument for an id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids, const DecodeOptions& options = {}) const;

  // The bytes one token stands for (special tokens: their text). Throws InvalidArgument for an
  // id outside the vocabulary.
  std::string token_piece(int32_t id) const;
  // The vocabulary entry as stored in the file (U+2581 spaces, GPT-2 byte characters, ...);
  // valid while the Tokenizer (or a copy of it) lives.
  std::string_view token_text(int32_t id) const;

  int32_t n_vocab() const { return vocab_->size(); }
  int32_t bos() const { return vocab_->special.bos; }
  int32_t eos() const { return vocab_->special.eos; }
  int32_t eot() const { return vocab_->special.eot; }
  int32_t unk() const { return vocab_->special.unk; }
  int32_t pad() const { return vocab_->special.pad; }
  bool add_bos() const { return vocab_->add_bos; }
  bool add_eos() const { return vocab_->add_eos; }
  // Every id that should stop generation: EOS, EOT, EOM and well-known end-of-turn tokens.
  const std::vector<int32_t>& eog_ids() const { return vocab_->eog_ids; }
  bool is_eog(int32_t id) const;
  bool is_control(int32_t id) const;  // control or unknown: not text
  bool is_special(int32_t id) const;  // control, unknown or user-defined
  TokenType token_type(int32_t id) const;

  const Vocab& vocab() const { return *vocab_; }

 private:
  struct Impl;
  Tokenizer(std::shared_ptr<const Vocab> vocab, std::shared_ptr<const Impl> impl);
  void check_id(int32_t id) const;

  std::shared_ptr<const Vocab> vocab_;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace tandem::tokenizer
