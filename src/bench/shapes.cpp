#include "bench/shapes.h"

#include "util/error.h"

namespace tandem::bench {

// Hyper-parameters as published in each model's config (Hugging Face config.json).
const std::vector<ModelShape>& known_shapes() {
  static const std::vector<ModelShape> shapes = [] {
    std::vector<ModelShape> s;
    ModelShape smollm{"smollm2-135m", "llama", 30, 576, 9, 3, 64, 1536, 49152, 8192, 100000.0f, 1e-5f, true};
    ModelShape qwen25{"qwen2.5-0.5b", "qwen2", 24, 896, 14, 2, 64, 4864, 151936, 32768, 1000000.0f, 1e-6f, true};
    qwen25.qkv_bias = true;
    ModelShape qwen3{"qwen3-0.6b", "qwen3", 28, 1024, 16, 8, 128, 3072, 151936, 40960, 1000000.0f, 1e-6f, true};
    qwen3.qk_norm = true;
    ModelShape llama32{"llama3.2-1b", "llama", 16, 2048, 32, 8, 64, 8192, 128256, 131072, 500000.0f, 1e-5f, true};
    llama32.llama3_rope = true;
    ModelShape phi3{"phi3-mini", "phi3", 32, 3072, 32, 32, 96, 8192, 32064, 4096, 10000.0f, 1e-5f, false};
    phi3.fused_qkv = true;
    s = {smollm, qwen25, qwen3, llama32, phi3};
    return s;
  }();
  return shapes;
}

const ModelShape& find_shape(std::string_view name) {
  std::string names;
  for (const auto& s : known_shapes()) {
    if (s.name == name) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  throw InvalidArgument("unknown model shape '" + std::string(name) + "' (known: " + names + ")");
}

}  // namespace tandem::bench
