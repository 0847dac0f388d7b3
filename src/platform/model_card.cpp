#include "platform/model_card.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <variant>

#include "tensor/types.h"

namespace tandem::platform {

namespace {

std::optional<std::string> optional_string(const gguf::File& f, const std::string& key) {
  const gguf::Value* v = f.find(key);
  if (!v || v->type != gguf::ValueType::STRING) return std::nullopt;
  return v->as_string();
}

}  // namespace

ModelCard model_card(const gguf::File& f) {
  ModelCard c;
  c.architecture = optional_string(f, "general.architecture").value_or("");
  c.name = optional_string(f, "general.name");
  c.license = optional_string(f, "general.license");
  c.tokenizer_model = optional_string(f, "tokenizer.ggml.model");
  if (const gguf::Value* ctx = f.find(c.architecture + ".context_length");
      ctx && std::holds_alternative<uint64_t>(ctx->data))
    c.context_length = std::get<uint64_t>(ctx->data);
  if (const gguf::Value* tokens = f.find("tokenizer.ggml.tokens");
      tokens && tokens->type == gguf::ValueType::ARRAY)
    c.vocab_size = tokens->as_array().size();
  c.has_chat_template = f.has("tokenizer.chat_template");

  std::map<std::string, TypeUsage> mix;
  for (const auto& t : f.tensors()) {
    c.parameters += t.n_elements;
    c.tensor_bytes += t.n_bytes;
    TypeUsage& u = mix[std::string(tensor::type_name(t.type))];
    ++u.tensors;
    u.bytes += t.n_bytes;
  }
  c.type_mix.assign(mix.begin(), mix.end());
  std::stable_sort(c.type_mix.begin(), c.type_mix.end(),
                   [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
  return c;
}

std::string quantization_summary(const ModelCard& card) {
  std::string out;
  for (const auto& [type, usage] : card.type_mix) {
    double share = card.tensor_bytes ? 100.0 * static_cast<double>(usage.bytes) /
                                           static_cast<double>(card.tensor_bytes)
                                     : 100.0;
    // Tiny shares (norm weights in F32) are noise in a one-line summary.
    if (std::lround(share) == 0 && !out.empty()) continue;
    if (!out.empty()) out += ", ";
    std::string upper = type;  // quantization names are written upper case (Q4_K, F32)
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    out += fmt::format("{} {}%", upper, std::lround(share));
  }
  return out;
}

std::string human_count(int64_t n) {
  const char* suffixes[] = {"K", "M", "B", "T"};
  if (n < 1000) return std::to_string(n);
  double v = static_cast<double>(n);
  int i = -1;
  while (v >= 1000.0 && i < 3) {
    v /= 1000.0;
    ++i;
  }
  return fmt::format("{:.2f}{}", v, suffixes[i]);
}

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int i = 0;
  while (v >= 1024.0 && i < 4) {
    v /= 1024.0;
    ++i;
  }
  return i == 0 ? fmt::format("{} B", n) : fmt::format("{:.2f} {}", v, units[i]);
}

}  // namespace tandem::platform
