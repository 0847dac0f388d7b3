#include "bench/vocab_source.h"

#include <string>
#include <vector>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "util/error.h"

namespace tandem::bench {

void copy_vocabulary(const std::string& vocab_path, int64_t n_vocab, gguf::Writer& w) {
  const gguf::File src = gguf::File::open(vocab_path);
  const gguf::Value* tokens = src.find("tokenizer.ggml.tokens");
  if (!tokens) throw InvalidArgument(vocab_path + ": no tokenizer.ggml.tokens to take a vocabulary from");
  const int64_t have = static_cast<int64_t>(tokens->as_array().size());
  if (have > n_vocab)
    throw InvalidArgument(vocab_path + ": " + std::to_string(have) + " tokens do not fit the shape's " +
                          std::to_string(n_vocab) + "-token vocabulary");
  for (const auto& [key, value] : src.metadata()) {
    if (key.rfind("tokenizer.", 0) != 0) continue;
    const bool padded = key == "tokenizer.ggml.tokens" || key == "tokenizer.ggml.scores" ||
                        key == "tokenizer.ggml.token_type";
    if (!padded || have == n_vocab) {
      w.set(key, value);
      continue;
    }
    gguf::Array items = value.as_array();
    for (int64_t i = have; i < n_vocab; ++i) {
      if (key == "tokenizer.ggml.tokens")
        items.push_back(gguf::Value::str("<|synthetic_" + std::to_string(i) + "|>"));
      else if (key == "tokenizer.ggml.scores")
        items.push_back(gguf::Value::f32(-1e9f));
      else
        // Normal: only merges (none exist for them) produce normal BPE tokens, and unlike
        // user-defined tokens they add nothing to any engine's special-token matching.
        items.push_back(gguf::Value::i32(1));
    }
    w.set(key, gguf::Value::array(std::move(items)));
  }
}

}  // namespace tandem::bench
