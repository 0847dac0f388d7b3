#pragma once
// Writes a GGUF model of a known public shape with random weights, quantized with a mix of types
// like the common published files (e.g. "q4_k_m": Q4_K with Q6_K for the output and for some
// attn_v / ffn_down layers). Deterministic: the same shape, type and seed give the same file.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/shapes.h"
#include "tensor/types.h"

namespace tandem {
class ThreadPool;
}

namespace tandem::bench {

// A named quantization mix ("q4_k_m", "q4_0", "q8_0", "f16", ...).
struct QuantMix {
  std::string name;
  uint32_t file_type;  // GGUF general.file_type (llama_ftype numbering)
  tensor::Type base;   // most 2-D weights
  tensor::Type more_bits;  // attn_v / ffn_down in the layers that get more bits
  tensor::Type output;     // output (or tied token embedding)
};

const std::vector<QuantMix>& known_mixes();
// Throws InvalidArgument listing the known names.
const QuantMix& find_mix(std::string_view name);

// The type a weight of `cols` columns gets under the mix when its preferred type's block size
// does not divide cols (the published fallback: Q4_K->Q5_0, Q5_K->Q5_1, Q6_K->Q8_0, ...).
tensor::Type fallback_type(tensor::Type preferred, int64_t cols);

// Builds the model and writes it to `path`. Returns the number of parameters. The tokenizer is a
// byte-level SentencePiece one of the shape's size, or the one of `vocab_path` when given (see
// vocab_source.h).
int64_t write_synthetic_model(const ModelShape& shape, const QuantMix& mix, const std::string& path,
                              ThreadPool& pool, uint64_t seed = 1234,
                              const std::string& vocab_path = {});

}  // namespace tandem::bench
