#include "realistic_vocab.h"

#include <random>
#include <vector>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "util/error.h"

namespace tandem::bench_chat {

namespace {

constexpr int32_t kNormalToken = 1;  // GGUF token_type: normal text piece

bool is_tokenizer_key(const std::string& key) { return key.rfind("tokenizer.", 0) == 0; }

}  // namespace

int write_with_vocab(const std::string& model_path, const std::string& vocab_path, const std::string& out_path) {
  const gguf::File model = gguf::File::open(model_path);
  const gguf::File vocab = gguf::File::open(vocab_path);
  const int64_t n_vocab = model.tensor("token_embd.weight").rows();

  std::vector<std::string> tokens = vocab.get_array<std::string>("tokenizer.ggml.tokens");
  std::vector<int32_t> types = vocab.has("tokenizer.ggml.token_type")
                                   ? vocab.get_array<int32_t>("tokenizer.ggml.token_type")
                                   : std::vector<int32_t>(tokens.size(), kNormalToken);
  if (static_cast<int64_t>(tokens.size()) > n_vocab)
    throw InvalidArgument(vocab_path + " has " + std::to_string(tokens.size()) + " tokens, more than the " +
                          std::to_string(n_vocab) + " rows of " + model_path);
  std::vector<size_t> normal;
  for (size_t i = 0; i < tokens.size(); ++i)
    if (types[i] == kNormalToken) normal.push_back(i);
  if (normal.empty()) throw InvalidArgument(vocab_path + " has no normal tokens to pad with");
  // Padding: pairs of real tokens, deterministic, so the trie grows like a real larger vocabulary.
  const int padding = static_cast<int>(n_vocab - static_cast<int64_t>(tokens.size()));
  std::mt19937 rng(150);
  std::uniform_int_distribution<size_t> pick(0, normal.size() - 1);
  while (static_cast<int64_t>(tokens.size()) < n_vocab) {
    tokens.push_back(tokens[normal[pick(rng)]] + tokens[normal[pick(rng)]]);
    types.push_back(kNormalToken);
  }

  gguf::Writer w(model.alignment());
  for (const auto& [key, value] : model.metadata())
    if (!is_tokenizer_key(key)) w.set(key, value);
  for (const auto& [key, value] : vocab.metadata()) {
    if (!is_tokenizer_key(key) || key == "tokenizer.ggml.tokens" || key == "tokenizer.ggml.token_type" ||
        key == "tokenizer.ggml.scores")
      continue;
    w.set(key, value);
  }
  w.set("tokenizer.ggml.tokens", gguf::Value::str_array(tokens));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  if (vocab.has("tokenizer.ggml.scores")) {
    std::vector<float> scores = vocab.get_array<float>("tokenizer.ggml.scores");
    scores.resize(tokens.size(), 0.0f);
    w.set("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  }
  for (const auto& t : model.tensors())
    w.add_tensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
  w.write(out_path);
  return padding;
}

}  // namespace tandem::bench_chat
