// Qwen2 / Qwen2.5: Llama's block with biases on the Q, K and V projections and NeoX RoPE.
#include "model/arch.h"

namespace tandem::model {

const ArchSpec& qwen2_arch() {
  static const ArchSpec spec{.name = "qwen2",
                             .rope_style = kernels::RopeStyle::NeoX,
                             .requires_qkv_bias = true};
  return spec;
}

}  // namespace tandem::model
