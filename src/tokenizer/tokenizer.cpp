#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <optional>

#include "gguf/file.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/pretokenizer_table.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/spm.h"
#include "tokenizer/wordpiece.h"
#include "util/error.h"

namespace tandem::tokenizer {

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's space

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0;;) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) {
      out.append(text.substr(pos));
      return out;
    }
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
}

bool is_control_type(TokenType t) { return t == TokenType::Control || t == TokenType::Unknown; }

// The bytes a token decodes to, computed once per vocabulary entry at load.
std::string piece_for(const Vocab& vocab, int32_t id) {
  const std::string_view text = vocab.text(id);
  const TokenType type = vocab.type(id);
  if (type == TokenType::Control || type == TokenType::Unknown || type == TokenType::UserDefined)
    return std::string(text);
  if (type == TokenType::Byte) {
    // "<0xXX>": the byte itself.
    if (text.size() == 6 && text.substr(0, 3) == "<0x") {
      return std::string(1, static_cast<char>(std::stoi(std::string(text.substr(3, 2)), nullptr, 16)));
    }
    return std::string(text);
  }
  switch (vocab.algorithm) {
    case Algorithm::SentencePieceBpe:
    case Algorithm::WordPiece:
      return replace_all(text, kSpaceMarker, " ");
    case Algorithm::ByteLevelBpe:
      return unicode_text_to_bytes(text);
  }
  return std::string(text);
}

}  // namespace

struct Tokenizer::Impl {
  std::optional<PreTokenizer> pre;
  SpecialTokenMatcher specials;
  TextArena pieces;  // decoded bytes of every token, by id
};

Tokenizer::Tokenizer(std::shared_ptr<const Vocab> vocab, std::shared_ptr<const Impl> impl)
    : vocab_(std::move(vocab)), impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_gguf(const gguf::File& file) { return from_vocab(load_vocab(file)); }

Tokenizer Tokenizer::from_vocab(Vocab vocab) {
  auto v = std::make_shared<const Vocab>(std::move(vocab));
  auto impl = std::make_shared<Impl>();
  if (v->algorithm == Algorithm::ByteLevelBpe) {
    if (!v->pre_spec) throw InvalidArgument(v->source + ": byte-level BPE vocabulary without a pre-tokenizer");
    impl->pre.emplace(v->pre_spec->patterns);
  }
  impl->specials = SpecialTokenMatcher(*v);
  // Pieces are rarely longer than the texts (only "<0xXX>" and U+2581 shrink), so the texts'
  // size is a close reservation for the one buffer they share.
  impl->pieces.reserve(v->texts.size(), v->texts.bytes());
  for (int32_t id = 0; id < v->size(); ++id) impl->pieces.push_back(piece_for(*v, id));
  return Tokenizer(std::move(v), std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const Vocab& vocab = *vocab_;
  std::vector<int32_t> out;
  if (add_special && vocab.add_bos) out.push_back(vocab.special.bos);

  const std::vector<Fragment> fragments = impl_->specials.partition(text, parse_special);
  switch (vocab.algorithm) {
    case Algorithm::SentencePieceBpe: {
      // SentencePiece sees each run of text as a fresh sentence: with add_space_prefix it gets a
      // leading space at the start and after every special token.
      bool after_special = true;
      for (const Fragment& f : fragments) {
        if (f.is_special()) {
          out.push_back(f.token);
          after_special = true;
          continue;
        }
        std::string escaped = (vocab.add_space_prefix && after_special) ? std::string(kSpaceMarker) : std::string();
        escaped += replace_all(f.text, " ", kSpaceMarker);
        encode_sentencepiece(vocab, escaped, out);
        after_special = false;
      }
      break;
    }
    case Algorithm::ByteLevelBpe: {
      ByteLevelBpe bpe(vocab);
      for (const Fragment& f : fragments) {
        if (f.is_special()) {
          out.push_back(f.token);
          continue;
        }
        for (std::string_view word : impl_->pre->split(f.text)) bpe.encode_word(word, out);
      }
      break;
    }
    case Algorithm::WordPiece: {
      for (const Fragment& f : fragments) {
        if (f.is_special()) {
          out.push_back(f.token);
        } else {
          encode_wordpiece(vocab, f.text, out);
        }
      }
      break;
    }
  }

  if (add_special && vocab.add_eos) out.push_back(vocab.special.eos);
  if (add_special && vocab.add_sep) out.push_back(vocab.special.sep);
  return out;
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_->size())
    throw InvalidArgument("token id " + std::to_string(id) + " is outside the vocabulary of " +
                          std::to_string(vocab_->size()) + " tokens");
}

std::string Tokenizer::decode(std::span<const int32_t> ids, const DecodeOptions& options) const {
  const Vocab& vocab = *vocab_;
  // WordPiece pieces that start a word carry a space; the first one has nothing before it.
  const bool strip_prefix = options.strip_space_prefix &&
                            (vocab.add_space_prefix || vocab.algorithm == Algorithm::WordPiece);
  std::string out;
  bool at_text_start = true;
  for (int32_t id : ids) {
    check_id(id);
    const TokenType type = vocab.type(id);
    const std::string_view piece = impl_->pieces[static_cast<size_t>(id)];
    if (is_control_type(type) || type == TokenType::UserDefined) {
      if (!(options.skip_special && is_control_type(type))) out += piece;
      at_text_start = true;
      continue;
    }
    if (strip_prefix && at_text_start && !piece.empty() && piece[0] == ' ') {
      out.append(piece.substr(1));
    } else {
      out += piece;
    }
    at_text_start = false;
  }
  return out;
}

std::string Tokenizer::token_piece(int32_t id) const {
  check_id(id);
  return std::string(impl_->pieces[static_cast<size_t>(id)]);
}

std::string_view Tokenizer::token_text(int32_t id) const {
  check_id(id);
  return vocab_->text(id);
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(vocab_->eog_ids.begin(), vocab_->eog_ids.end(), id);
}

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < vocab_->size() && is_control_type(vocab_->type(id));
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_->size() && (is_control_type(vocab_->type(id)) || vocab_->type(id) == TokenType::UserDefined);
}

TokenType Tokenizer::token_type(int32_t id) const {
  check_id(id);
  return vocab_->type(id);
}

}  // namespace tandem::tokenizer
