// Gemma 2: GELU-gated FFN, extra norms after attention and FFN, embeddings scaled by
// sqrt(n_embd), soft-capped attention scores and logits, and a sliding window on every other
// layer (even layers local, odd layers global). The "1 + w" of Gemma's RMSNorm is already folded
// into the GGUF norm weights by the converter, so the plain RMSNorm applies.
#include <cmath>

#include "model/arch.h"

namespace tandem::model {
namespace {

// Gemma 2 27B scales queries by 1/sqrt(n_embd / n_head) (its query_pre_attn_scalar) instead of
// 1/sqrt(head_dim); the GGUF carries no key for it, so recognise the model by its depth.
constexpr int64_t kGemma2_27bLayers = 46;

void finish(const MetadataReader&, const LoadOptions&, HParams& hp) {
  hp.embed_scale = std::sqrt(static_cast<float>(hp.n_embd));
  if (hp.attn_scale == 0 && hp.n_layer == kGemma2_27bLayers)
    hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.n_embd / hp.n_head));
  for (size_t il = 0; il < hp.layers.size(); ++il)
    hp.layers[il].sliding = hp.sliding_window > 0 && il % 2 == 0;
}

}  // namespace

const ArchSpec& gemma2_arch() {
  static const ArchSpec spec{.name = "gemma2",
                             .rope_style = kernels::RopeStyle::NeoX,
                             .ffn_activation = FfnActivation::Gelu,
                             .post_norms = true,
                             .finish_hparams = finish};
  return spec;
}

}  // namespace tandem::model
