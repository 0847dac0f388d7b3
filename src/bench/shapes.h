#pragma once
// Tensor shapes of public model families, for hardware comparisons without downloads:
// `tandem bench --shape llama3.2-1b --type q4_k_m` synthesizes a random-weight model of exactly
// that shape. Speed depends on shapes and types only, so random weights cost what real ones do.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::bench {

struct ModelShape {
  std::string name;          // "llama3.2-1b"
  std::string arch;          // GGUF general.architecture: llama, qwen2, qwen3, phi3
  int64_t n_layer;
  int64_t n_embd;
  int64_t n_head;
  int64_t n_head_kv;
  int64_t head_dim;
  int64_t n_ff;
  int64_t n_vocab;
  int64_t n_ctx_train;
  float rope_base;
  float norm_eps;
  bool tied_embeddings;
  bool qkv_bias = false;     // qwen2
  bool qk_norm = false;      // qwen3
  bool fused_qkv = false;    // phi3: attn_qkv and ffn_up holding gate+up
  bool llama3_rope = false;  // llama 3.1+: rope_freqs tensor with the published scaling
};

// All known shapes, in a fixed order.
const std::vector<ModelShape>& known_shapes();
// Throws InvalidArgument listing the known names when `name` is not one of them.
const ModelShape& find_shape(std::string_view name);

}  // namespace tandem::bench
