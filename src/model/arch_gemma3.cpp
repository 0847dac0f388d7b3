// Gemma 3: Gemma 2's block with per-head Q/K norms and no soft-capping; five sliding-window
// layers for every global one, and the local layers use their own RoPE base (10000 unless the
// file says otherwise) without the global layers' linear scaling.
#include <cmath>

#include "model/arch.h"

namespace tandem::model {
namespace {

constexpr int64_t kDefaultSlidingPattern = 6;   // every 6th layer is global
constexpr double kDefaultLocalRopeBase = 10000.0;
constexpr int64_t kGemma3_27bLayers = 62;       // scales queries by 1/sqrt(n_embd / n_head)

void finish(const MetadataReader& meta, const LoadOptions&, HParams& hp) {
  hp.embed_scale = std::sqrt(static_cast<float>(hp.n_embd));
  if (hp.attn_scale == 0 && hp.n_layer == kGemma3_27bLayers)
    hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.n_embd / hp.n_head));
  const int64_t pattern =
      meta.get_int_optional("attention.sliding_window_pattern").value_or(kDefaultSlidingPattern);
  if (pattern <= 0) meta.fail("attention.sliding_window_pattern", "must be positive");
  const float local_base = static_cast<float>(
      meta.get_float_optional("rope.freq_base_swa").value_or(kDefaultLocalRopeBase));
  if (!(local_base > 0)) meta.fail("rope.freq_base_swa", "must be positive");
  for (size_t il = 0; il < hp.layers.size(); ++il) {
    LayerAttention& layer = hp.layers[il];
    layer.sliding = hp.sliding_window > 0 && (static_cast<int64_t>(il) + 1) % pattern != 0;
    if ((static_cast<int64_t>(il) + 1) % pattern != 0) {
      layer.rope_base = local_base;
      layer.rope_freq_scale = 1.0f;
    }
  }
}

}  // namespace

const ArchSpec& gemma3_arch() {
  static const ArchSpec spec{.name = "gemma3",
                             .rope_style = kernels::RopeStyle::NeoX,
                             .ffn_activation = FfnActivation::Gelu,
                             .qk_norm = true,
                             .post_norms = true,
                             .finish_hparams = finish};
  return spec;
}

}  // namespace tandem::model
