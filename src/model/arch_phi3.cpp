// Phi-3 / Phi-3.5: fused QKV and gate+up projections, NeoX RoPE on possibly fewer dims than the
// head (rope.dimension_count), long-rope factors (chosen by the loader from the context size),
// and a sliding window over every layer when the file declares one.
#include "model/arch.h"

namespace tandem::model {
namespace {

void finish(const MetadataReader&, const LoadOptions&, HParams& hp) {
  for (LayerAttention& layer : hp.layers) layer.sliding = hp.sliding_window > 0;
}

}  // namespace

const ArchSpec& phi3_arch() {
  static const ArchSpec spec{.name = "phi3",
                             .rope_style = kernels::RopeStyle::NeoX,
                             .fused_qkv = true,
                             .fused_gate_up = true,
                             .finish_hparams = finish};
  return spec;
}

}  // namespace tandem::model
