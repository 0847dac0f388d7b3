#include "tokenizer/vocab.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "gguf/file.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/pretokenizer_table.h"
#include "util/error.h"

namespace tandem::tokenizer {

namespace {

constexpr std::string_view kPrefix = "tokenizer.ggml.";

// Texts that mark end-of-turn tokens in models whose GGUF has no eot_token_id, in priority order.
constexpr std::string_view kEndOfTurnTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
};
// Further texts that end generation when they appear as tokens.
constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
    "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
    "<｜end▁of▁sentence｜>", "<|return|>", "<|call|>",
};

// Typed, checked access to `tokenizer.ggml.*` keys with errors that name the file and key.
class Metadata {
 public:
  explicit Metadata(const gguf::File& file) : file_(file) {}

  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw FormatError(file_.name() + ": tokenizer metadata '" + std::string(key) + "': " + what);
  }

  const gguf::Value* find(std::string_view key) const { return file_.find(key); }

  template <typename F>
  auto convert(std::string_view key, F&& f) const {
    try {
      return f();
    } catch (const FormatError& e) {
      fail(key, e.what());
    }
  }

  std::optional<std::string> string(std::string_view key) const {
    const gguf::Value* v = find(key);
    if (!v) return std::nullopt;
    return convert(key, [&] { return v->as_string(); });
  }
  std::optional<bool> boolean(std::string_view key) const {
    const gguf::Value* v = find(key);
    if (!v) return std::nullopt;
    return convert(key, [&] { return v->as_bool(); });
  }
  std::optional<int64_t> integer(std::string_view key) const {
    const gguf::Value* v = find(key);
    if (!v) return std::nullopt;
    return convert(key, [&] { return v->as_int(); });
  }
  const gguf::Array* array(std::string_view key) const {
    const gguf::Value* v = find(key);
    if (!v) return nullptr;
    return convert(key, [&] { return &v->as_array(); });
  }

  // An array whose elements must be strings (GGUF arrays have one element type).
  const gguf::Array* string_array(std::string_view key) const {
    const gguf::Array* a = array(key);
    if (a && a->elem_type() != gguf::ValueType::STRING)
      fail(key, "holds " + std::string(gguf::value_type_name(a->elem_type())) +
                    " elements, expected strings");
    return a;
  }

 private:
  const gguf::File& file_;
};

std::string key(std::string_view suffix) { return std::string(kPrefix) + std::string(suffix); }

Algorithm algorithm_for(const Metadata& meta, const std::string& model) {
  if (model == "llama") return Algorithm::SentencePieceBpe;
  if (model == "gpt2") return Algorithm::ByteLevelBpe;
  if (model == "bert") return Algorithm::WordPiece;
  meta.fail(key("model"), "tokenizer model '" + model +
                              "' is not supported (tandem supports 'llama' SentencePiece BPE, "
                              "'gpt2' byte-level BPE and 'bert' WordPiece)");
}

void read_tokens(const Metadata& meta, Vocab& vocab) {
  const gguf::Array* texts = meta.string_array(key("tokens"));
  if (!texts) meta.fail(key("tokens"), "missing; the file has no vocabulary");
  if (texts->empty()) meta.fail(key("tokens"), "the vocabulary is empty");
  if (texts->size() > static_cast<size_t>(INT32_MAX))
    meta.fail(key("tokens"), "more tokens than 32-bit ids can address");
  const size_t n = texts->size();
  vocab.tokens.assign(n, TokenData{});

  if (const gguf::Array* a = meta.array(key("scores"))) {
    if (a->size() != n)
      meta.fail(key("scores"), "has " + std::to_string(a->size()) + " entries for " +
                                   std::to_string(n) + " tokens");
    meta.convert(key("scores"), [&] {
      for (size_t i = 0; i < n; ++i) vocab.tokens[i].score = static_cast<float>(a->double_at(i));
      return 0;
    });
  } else if (vocab.algorithm == Algorithm::SentencePieceBpe) {
    meta.fail(key("scores"), "missing; a SentencePiece ('llama') vocabulary needs piece scores");
  }

  if (const gguf::Array* a = meta.array(key("token_type"))) {
    if (a->size() != n)
      meta.fail(key("token_type"), "has " + std::to_string(a->size()) + " entries for " +
                                       std::to_string(n) + " tokens");
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = meta.convert(key("token_type"), [&] { return a->int_at(i); });
      if (t < 0 || t > static_cast<int64_t>(TokenType::Byte))
        meta.fail(key("token_type"), "token " + std::to_string(i) + " has unknown type " + std::to_string(t));
      vocab.tokens[i].type = static_cast<TokenType>(t);
    }
  }

  // Empty entries exist in some converted vocabularies; give them a unique, unmatchable text.
  auto empty_name = [](size_t i) { return "[EMPTY_" + std::to_string(i) + "]"; };
  size_t bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t len = texts->string_at(i).size();
    bytes += len ? len : empty_name(i).size();
  }
  meta.convert(key("tokens"), [&] {
    vocab.texts = TextArena();
    vocab.texts.reserve(n, bytes);
    for (size_t i = 0; i < n; ++i) {
      const std::string_view text = texts->string_at(i);
      vocab.texts.push_back(text.empty() ? std::string_view(empty_name(i)) : text);
    }
    return 0;
  });
}

// Reads an optional token id; "none" is absent, -1 or 0xFFFFFFFF. Out-of-range ids are errors.
void read_special_id(const Metadata& meta, const Vocab& vocab, std::string_view suffix, int32_t& id) {
  const std::string k = key(suffix);
  const std::optional<int64_t> value = meta.integer(k);
  if (!value) return;
  if (*value == -1 || *value == 0xFFFFFFFFll) {
    id = kNoToken;
    return;
  }
  if (*value < 0 || *value >= vocab.size())
    meta.fail(k, "token id " + std::to_string(*value) + " is outside the vocabulary of " +
                     std::to_string(vocab.size()) + " tokens");
  id = static_cast<int32_t>(*value);
}

void set_defaults(Vocab& vocab) {
  // Defaults the converters rely on when a key is absent (same as the reference loaders).
  auto if_in_range = [&](int32_t id) { return id < vocab.size() ? id : kNoToken; };
  switch (vocab.algorithm) {
    case Algorithm::SentencePieceBpe:
      vocab.special.bos = if_in_range(1);
      vocab.special.eos = if_in_range(2);
      vocab.special.unk = if_in_range(0);
      vocab.add_bos = true;
      vocab.add_space_prefix = true;
      break;
    case Algorithm::ByteLevelBpe:
      vocab.add_bos = vocab.pre_spec->add_bos;
      vocab.ignore_merges = vocab.pre_spec->ignore_merges;
      break;
    case Algorithm::WordPiece:
      vocab.special.bos = if_in_range(101);  // [CLS]
      vocab.special.unk = if_in_range(100);
      vocab.special.sep = if_in_range(102);
      vocab.special.pad = if_in_range(0);
      vocab.special.mask = if_in_range(103);
      vocab.add_bos = true;
      vocab.add_sep = true;
      vocab.lowercase = true;
      vocab.strip_accents = true;
      break;
  }
}

void read_flags_and_ids(const Metadata& meta, Vocab& vocab) {
  SpecialIds& s = vocab.special;
  read_special_id(meta, vocab, "bos_token_id", s.bos);
  if (vocab.algorithm == Algorithm::WordPiece) read_special_id(meta, vocab, "cls_token_id", s.bos);
  read_special_id(meta, vocab, "eos_token_id", s.eos);
  read_special_id(meta, vocab, "eot_token_id", s.eot);
  read_special_id(meta, vocab, "eom_token_id", s.eom);
  read_special_id(meta, vocab, "unknown_token_id", s.unk);
  read_special_id(meta, vocab, "seperator_token_id", s.sep);  // sic: the GGUF key is misspelled
  read_special_id(meta, vocab, "padding_token_id", s.pad);
  read_special_id(meta, vocab, "mask_token_id", s.mask);
  if (vocab.pre_spec && vocab.pre_spec->no_bos) s.bos = kNoToken;

  if (auto v = meta.boolean(key("add_bos_token"))) vocab.add_bos = *v;
  if (auto v = meta.boolean(key("add_eos_token"))) vocab.add_eos = *v;
  if (auto v = meta.boolean(key("add_sep_token"))) vocab.add_sep = *v;
  if (auto v = meta.boolean(key("add_space_prefix"))) vocab.add_space_prefix = *v;
  if (auto v = meta.boolean(key("normalizer.lowercase"))) vocab.lowercase = *v;
  if (auto v = meta.boolean(key("normalizer.strip_accents"))) vocab.strip_accents = *v;

  if (vocab.add_bos && s.bos == kNoToken)
    meta.fail(key("add_bos_token"), "is true but the file names no BOS token");
  if (vocab.add_eos && s.eos == kNoToken)
    meta.fail(key("add_eos_token"), "is true but the file names no EOS token");
  if (vocab.add_sep && s.sep == kNoToken)
    meta.fail(key("add_sep_token"), "is true but the file names no separator token");
}

bool is_special_type(TokenType t) {
  return t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown;
}

}  // namespace

void index_vocab(Vocab& vocab, const gguf::Array* merges_text) {
  vocab.token_to_id.build(vocab.texts, [&](int32_t id, int32_t first) {
    throw FormatError(vocab.source + ": tokenizer metadata 'tokenizer.ggml.tokens': token " +
                      std::to_string(id) + " repeats the text of token " + std::to_string(first));
  });
  vocab.max_token_bytes = 0;
  for (int32_t id = 0; id < vocab.size(); ++id)
    vocab.max_token_bytes = std::max(vocab.max_token_bytes, vocab.text(id).size());

  // Byte tokens: <0xXX> pieces for SentencePiece, the 256 byte characters for byte-level BPE.
  for (int b = 0; b < 256; ++b) {
    if (vocab.algorithm == Algorithm::ByteLevelBpe) {
      vocab.byte_tokens[b] = vocab.find(byte_to_unicode(static_cast<uint8_t>(b)));
    } else {
      char piece[8];
      std::snprintf(piece, sizeof(piece), "<0x%02X>", b);
      vocab.byte_tokens[b] = vocab.find(piece);
    }
  }

  vocab.merges = MergeTable();
  const size_t n_merges = merges_text ? merges_text->size() : 0;
  if (n_merges) vocab.merges.reserve(n_merges);
  std::string joined;
  for (size_t rank = 0; rank < n_merges; ++rank) {
    const std::string_view merge = merges_text->string_at(rank);
    // The separator is the first space after the first character ("Ġ Ġ" splits in the middle).
    const size_t space = merge.find(' ', 1);
    if (space == std::string_view::npos)
      throw FormatError(vocab.source + ": tokenizer metadata 'tokenizer.ggml.merges': entry " +
                        std::to_string(rank) + " '" + std::string(merge) +
                        "' is not two tokens separated by a space");
    const std::string_view left = merge.substr(0, space);
    const std::string_view right = merge.substr(space + 1);
    const int32_t l = vocab.find(left);
    const int32_t r = vocab.find(right);
    joined.assign(left);
    joined += right;
    const int32_t result = vocab.find(joined);
    // A merge whose halves or result are not tokens can never fire; it is skipped, as Hugging
    // Face would refuse such a rule rather than produce an id for it.
    if (l == kNoToken || r == kNoToken || result == kNoToken) continue;
    vocab.merges.insert(l, r, MergeRule{static_cast<int32_t>(rank), result});
  }

  vocab.special_ids.clear();
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (is_special_type(vocab.type(id))) vocab.special_ids.push_back(id);
  }

  // End of turn / end of generation: explicit ids first, then well-known texts.
  auto mark_control = [&](int32_t id) {
    TokenData& t = vocab.tokens[static_cast<size_t>(id)];
    if (t.type == TokenType::Normal || t.type == TokenType::Undefined) {
      t.type = TokenType::Control;
      vocab.special_ids.push_back(id);
    }
  };
  if (vocab.special.eot == kNoToken) {
    for (std::string_view text : kEndOfTurnTexts) {
      const int32_t id = vocab.find(text);
      if (id != kNoToken) {
        vocab.special.eot = id;
        break;
      }
    }
  }
  std::vector<int32_t> eog;
  for (int32_t id : {vocab.special.eos, vocab.special.eot, vocab.special.eom}) {
    if (id != kNoToken) eog.push_back(id);
  }
  for (std::string_view text : kEndOfGenerationTexts) {
    const int32_t id = vocab.find(text);
    if (id != kNoToken) eog.push_back(id);
  }
  for (int32_t id : eog) mark_control(id);
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  vocab.eog_ids = std::move(eog);
  std::sort(vocab.special_ids.begin(), vocab.special_ids.end());
  vocab.special_ids.erase(std::unique(vocab.special_ids.begin(), vocab.special_ids.end()),
                          vocab.special_ids.end());
}

Vocab load_vocab(const gguf::File& file) {
  Metadata meta(file);
  Vocab vocab;
  vocab.source = file.name();
  const std::optional<std::string> model = meta.string(key("model"));
  if (!model) meta.fail(key("model"), "missing; the file has no tokenizer");
  vocab.model = *model;
  vocab.algorithm = algorithm_for(meta, vocab.model);
  vocab.pre = meta.string(key("pre")).value_or("default");

  if (vocab.algorithm == Algorithm::ByteLevelBpe) {
    vocab.pre_spec = find_pretokenizer(vocab.pre);
    if (!vocab.pre_spec) {
      std::string known;
      for (std::string_view name : known_pretokenizer_names()) known += (known.empty() ? "" : ", ") + std::string(name);
      meta.fail(key("pre"), "unknown pre-tokenizer '" + vocab.pre + "' (known: " + known + ")");
    }
  }

  read_tokens(meta, vocab);
  set_defaults(vocab);
  read_flags_and_ids(meta, vocab);

  const gguf::Array* merges = nullptr;
  if (vocab.algorithm == Algorithm::ByteLevelBpe) {
    merges = meta.string_array(key("merges"));
    if (!merges) meta.fail(key("merges"), "missing; a byte-level BPE ('gpt2') vocabulary needs its merges");
  }
  index_vocab(vocab, merges);
  return vocab;
}

}  // namespace tandem::tokenizer
