// Llama 2/3/3.1/3.2, Mistral, TinyLlama, SmolLM2, llama2.c stories: the plain pre-norm block.
// GGUF converters permute Q/K rows so that adjacent-pair ("normal") RoPE applies; Llama 3.1's
// frequency scaling arrives as the rope_freqs.weight tensor, read by the shared loader.
#include "model/arch.h"

namespace tandem::model {

const ArchSpec& llama_arch() {
  static const ArchSpec spec{.name = "llama", .rope_style = kernels::RopeStyle::Normal};
  return spec;
}

}  // namespace tandem::model
