#pragma once
// Model weights: matrices are views into the GGUF mapping (no copy), except those repacked at
// load into the row-interleaved layout where that is faster (model/weight_interleave.h), which
// live in `owned`; the small vectors (norm weights, biases, RoPE factors) are dequantized to float
// once at load time.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "gguf/file.h"
#include "kernels/matmul.h"
#include "model/arch.h"
#include "model/hparams.h"

namespace tandem::model {

inline bool present(const kernels::Matrix& m) { return m.data != nullptr; }

struct LayerWeights {
  std::vector<float> attn_norm;
  kernels::Matrix wq{}, wk{}, wv{};  // separate projections, or
  kernels::Matrix wqkv{};             // one fused projection (rows: Q, then K, then V)
  std::vector<float> q_bias, k_bias, v_bias;  // empty when absent
  std::vector<float> q_norm, k_norm;          // per-head norms (head_dim_k each), or empty
  kernels::Matrix wo{};
  std::vector<float> post_attn_norm;          // empty when absent

  std::vector<float> ffn_norm;
  kernels::Matrix w_gate{}, w_up{};   // separate gate and up, or
  kernels::Matrix w_gate_up{};        // fused (rows: gate, then up)
  kernels::Matrix w_down{};
  std::vector<float> post_ffn_norm;
};

// Memory the model owns (64-byte aligned), e.g. matrices repacked at load time.
struct OwnedBytes {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data;
  size_t size = 0;
};

struct Weights {
  const gguf::TensorInfo* token_embd = nullptr;  // looked up row by row
  std::vector<float> output_norm;
  kernels::Matrix output{};                       // token_embd when the output is tied
  // token_embd repacked with the tied output (weight_interleave.h): rows are looked up here, so
  // the file pages it came from stay released. Absent otherwise.
  kernels::Matrix token_embd_interleaved{};
  std::vector<float> rope_factors;                // per rotated pair; empty when absent
  std::vector<LayerWeights> layers;
  std::vector<OwnedBytes> owned;                  // what repacked matrices point into
};

// Finds every tensor the architecture needs and checks its shape against the hyper-parameters.
// Throws FormatError naming the tensor that is missing, misshapen or of an unusable type.
Weights load_weights(const gguf::File& file, const ArchSpec& arch, const HParams& hp,
                     const LoadOptions& options);

}  // namespace tandem::model
