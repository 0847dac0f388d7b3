#pragma once
// Every `tokenizer.ggml.pre` value tandem understands, with the regex sequence of the model's
// Hugging Face pre-tokenizer and the encoding defaults that go with it.
#include <string_view>
#include <vector>

namespace tandem::tokenizer {

struct PreTokenizerSpec {
  std::vector<std::string_view> names;     // the first is canonical; the rest are aliases
  std::vector<std::string_view> patterns;  // applied in order, see PreTokenizer
  bool ignore_merges = false;  // a word that is itself a vocab entry is emitted without merging
  bool add_bos = false;        // default for add_bos_token when the file does not say
  bool no_bos = false;         // the model has no BOS even if a default id would exist
};

// The spec for a `tokenizer.ggml.pre` value, or nullptr if it is unknown.
const PreTokenizerSpec* find_pretokenizer(std::string_view name);

// All accepted names (canonical names and aliases), for error messages and tests.
std::vector<std::string_view> known_pretokenizer_names();

}  // namespace tandem::tokenizer
