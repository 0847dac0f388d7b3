#pragma once
// A model card: the facts about a GGUF model a person choosing or serving it wants to see (what it
// is, how big, how quantized, how much context), computed from the file's header alone. Shared by
// `tandem inspect` and the model store (`tandem models list|show`).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gguf/file.h"

namespace tandem::platform {

// How much of a model one tensor type accounts for.
struct TypeUsage {
  size_t tensors = 0;
  uint64_t bytes = 0;
};

struct ModelCard {
  std::string architecture;  // empty when general.architecture is not set
  std::optional<std::string> name, license, tokenizer_model;
  std::optional<uint64_t> context_length;
  std::optional<size_t> vocab_size;
  bool has_chat_template = false;
  int64_t parameters = 0;
  uint64_t tensor_bytes = 0;
  // Tensor type name (tensor::type_name, e.g. "q4_k") and its usage, most bytes first.
  std::vector<std::pair<std::string, TypeUsage>> type_mix;
};

// Never throws on odd metadata: a missing or mistyped field is left unset, because a card must
// describe any file the reader accepts.
ModelCard model_card(const gguf::File& f);

// "Q4_K 81%, Q6_K 14%, F32 5%": the type mix by share of tensor bytes (shares under 0.5% are
// dropped unless nothing else is left). "" for a file without tensors.
std::string quantization_summary(const ModelCard& card);

// 1240000000 -> "1.24B"; counts under a thousand stay exact.
std::string human_count(int64_t n);
// 1536 -> "1.50 KiB"; under a KiB stays exact ("512 B").
std::string human_bytes(uint64_t n);

}  // namespace tandem::platform
