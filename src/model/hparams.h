#pragma once
// Hyper-parameters of a model, read from `<arch>.*` GGUF metadata and checked for consistency.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/file.h"

namespace tandem::model {

struct LoadOptions {
  // Context size the caller will run with (0: the model's training context). Decides between
  // long and short RoPE factors for long-rope models.
  int64_t n_ctx = 0;
  // Repack the matrices whose kernels run faster row-interleaved on this CPU
  // (kernels/interleave.h) into memory of the model's own, dropping the file's pages.
  bool interleave_weights = true;
};

// Per-layer attention settings: architectures mix sliding-window and global layers, and some use
// a different RoPE base for the local ones.
struct LayerAttention {
  bool sliding = false;      // attend only to the last `sliding_window` positions
  float rope_base = 10000.0f;
  float rope_freq_scale = 1.0f;
};

struct HParams {
  std::string arch;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  int64_t n_rot = 0;               // dimensions of each head that RoPE rotates
  float rms_eps = 1e-5f;
  float rope_base = 10000.0f;
  float rope_freq_scale = 1.0f;    // 1 / linear scaling factor
  float rope_attn_factor = 1.0f;   // multiplies cos/sin (long-rope models)
  int64_t rope_ctx_orig = 0;       // context the rope scaling refers to (0 = n_ctx_train)
  int64_t sliding_window = 0;      // 0: no sliding-window layers
  float attn_softcap = 0.0f;       // 0: off
  float final_softcap = 0.0f;      // 0: off
  float attn_scale = 0.0f;         // query scale; 0 until filled (default 1/sqrt(head_dim_k))
  float embed_scale = 1.0f;        // token embeddings are multiplied by this
  std::vector<LayerAttention> layers;

  int64_t q_width() const { return n_head * head_dim_k; }
  int64_t k_width() const { return n_head_kv * head_dim_k; }
  int64_t v_width() const { return n_head_kv * head_dim_v; }
};

// Typed metadata reading that names the file and key in every error.
class MetadataReader {
 public:
  MetadataReader(const gguf::File& file, std::string arch) : file_(file), arch_(std::move(arch)) {}
  // "<arch>.<suffix>"
  std::string key(std::string_view suffix) const { return arch_ + "." + std::string(suffix); }
  int64_t get_int(std::string_view suffix) const;  // required, > 0
  std::optional<int64_t> get_int_optional(std::string_view suffix) const;
  std::optional<double> get_float_optional(std::string_view suffix) const;
  std::optional<std::string> get_string_optional(std::string_view suffix) const;
  [[noreturn]] void fail(std::string_view suffix, const std::string& what) const;

 private:
  const gguf::File& file_;
  std::string arch_;
};

// Reads the hyper-parameters every architecture shares. n_vocab comes from token_embd's shape.
// Throws FormatError naming the key on a missing or inconsistent value.
HParams read_common_hparams(const gguf::File& file, const std::string& arch);

// Throws FormatError "<file>: <msg>".
[[noreturn]] void format_error(const gguf::File& file, const std::string& msg);

}  // namespace tandem::model
