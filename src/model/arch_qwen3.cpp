// Qwen3: no QKV biases; instead every Q and K head is RMS-normalized before RoPE.
#include "model/arch.h"

namespace tandem::model {

const ArchSpec& qwen3_arch() {
  static const ArchSpec spec{
      .name = "qwen3", .rope_style = kernels::RopeStyle::NeoX, .qk_norm = true};
  return spec;
}

}  // namespace tandem::model
