#pragma once
// An architecture is data: which optional pieces its blocks have, its RoPE style, its FFN
// activation. The shared blocks (model/forward.cpp) read these flags; an arch_*.cpp file holds
// only what is truly different, including a hook to finish its hyper-parameters.
#include <string>
#include <string_view>
#include <vector>

#include "gguf/file.h"
#include "kernels/ops.h"
#include "model/hparams.h"

namespace tandem::model {

enum class FfnActivation { Silu, Gelu };

struct ArchSpec {
  std::string_view name;
  kernels::RopeStyle rope_style = kernels::RopeStyle::Normal;
  FfnActivation ffn_activation = FfnActivation::Silu;
  bool fused_qkv = false;         // one attn_qkv.weight producing Q, K, V
  bool fused_gate_up = false;     // ffn_up.weight holds the gate rows, then the up rows
  bool requires_qkv_bias = false; // attn_{q,k,v}.bias must exist (otherwise used when present)
  bool qk_norm = false;           // per-head RMSNorm of Q and K (attn_q_norm / attn_k_norm)
  bool post_norms = false;        // post_attention_norm and post_ffw_norm after each sub-block
  // Arch-specific hyper-parameters: sliding-window pattern, per-layer RoPE, query scale...
  // Runs after read_common_hparams.
  void (*finish_hparams)(const MetadataReader& meta, const LoadOptions& options,
                         HParams& hp) = nullptr;
};

// The spec for `general.architecture`; throws FormatError naming it when tandem does not know it.
const ArchSpec& find_arch(const gguf::File& file, const std::string& arch);
std::vector<std::string_view> supported_archs();

// One accessor per architecture file.
const ArchSpec& llama_arch();
const ArchSpec& qwen2_arch();
const ArchSpec& qwen3_arch();
const ArchSpec& phi3_arch();
const ArchSpec& gemma2_arch();
const ArchSpec& gemma3_arch();

}  // namespace tandem::model
