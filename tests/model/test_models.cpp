#include "test_models.h"

#include <cmath>
#include <random>
#include <vector>

namespace tandem::testing {
namespace {

class ModelBuilder {
 public:
  explicit ModelBuilder(const TestModelSpec& spec) : spec_(spec), rng_(spec.seed) {}

  // A weight matrix with `rows` outputs of `cols` inputs, entries of variance gain^2 / cols.
  void matrix(const std::string& name, int64_t cols, int64_t rows, float gain = 1.0f) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const float a = gain * std::sqrt(3.0f / static_cast<float>(cols));
    std::vector<float> data(static_cast<size_t>(cols * rows));
    for (float& x : data) x = a * u(rng_);
    add(name, spec_.weight_type, {cols, rows}, data);
  }
  // A vector around `center` (norm weights near 1, biases near 0, factors > 0).
  void vector(const std::string& name, int64_t n, float center, float spread) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> data(static_cast<size_t>(n));
    for (float& x : data) x = center + spread * u(rng_);
    add(name, tensor::Type::F32, {n}, data);
  }
  void add(const std::string& name, tensor::Type type, std::vector<int64_t> dims,
           const std::vector<float>& data) {
    if (name == spec_.skip_tensor) return;
    writer.add_tensor_f32(name, type, std::move(dims), data.data());
  }

  gguf::Writer writer;

 private:
  const TestModelSpec& spec_;
  std::mt19937 rng_;
};

std::string blk(int64_t il, const std::string& name) {
  return "blk." + std::to_string(il) + "." + name;
}

}  // namespace

TestModelSpec spec_for(const std::string& arch, tensor::Type weight_type) {
  TestModelSpec s;
  s.arch = arch;
  s.weight_type = weight_type;
  if (arch == "llama") {
    s.rope_freqs = true;
    s.rope_linear_factor = 2.0f;
    s.rope_base = 500000.0f;
  } else if (arch == "qwen2") {
    s.tied_output = true;
    s.rope_base = 1000000.0f;
  } else if (arch == "qwen3") {
    s.n_head = 8;  // 8 x 64 = 512 query dims, wider than n_embd as in real Qwen3
    s.rope_base = 1000000.0f;
  } else if (arch == "phi3") {
    s.n_head_kv = 4;
    s.n_rot = 32;  // partial rotary
    s.sliding_window = 5;
  } else if (arch == "gemma2") {
    s.n_head = 8;
    s.n_head_kv = 4;
    s.tied_output = true;
    s.sliding_window = 4;
  } else if (arch == "gemma3") {
    s.n_layer = 7;  // layers 0-4 local, 5 global, 6 local
    s.n_head = 8;
    s.n_head_kv = 4;
    s.n_embd = 256;
    s.tied_output = true;
    s.sliding_window = 4;
    s.rope_base = 1000000.0f;
    s.rope_linear_factor = 8.0f;
  }
  return s;
}

void write_test_model(const TestModelSpec& s, const std::string& path) {
  ModelBuilder b(s);
  // Writes metadata unless the spec leaves the key out.
  struct KeyFilter {
    gguf::Writer& writer;
    const std::string& skip;
    void set(const std::string& key, gguf::Value v) {
      if (key != skip) writer.set(key, std::move(v));
    }
  } w{b.writer, s.skip_key};
  const std::string& a = s.arch;
  const int64_t d = s.n_embd, hd = s.head_dim;
  const int64_t q_w = s.n_head * hd, kv_w = s.n_head_kv * hd;
  const int64_t n_rot = s.n_rot > 0 ? s.n_rot : hd;
  const bool gemma = a == "gemma2" || a == "gemma3";

  w.set("general.architecture", gguf::Value::str(a));
  w.set("general.name", gguf::Value::str("tandem-test-" + a));
  w.set(a + ".embedding_length", gguf::Value::u32(static_cast<uint32_t>(d)));
  w.set(a + ".block_count", gguf::Value::u32(static_cast<uint32_t>(s.n_layer)));
  w.set(a + ".attention.head_count", gguf::Value::u32(static_cast<uint32_t>(s.n_head)));
  w.set(a + ".attention.head_count_kv", gguf::Value::u32(static_cast<uint32_t>(s.n_head_kv)));
  if (hd * s.n_head != d) {
    w.set(a + ".attention.key_length", gguf::Value::u32(static_cast<uint32_t>(hd)));
    w.set(a + ".attention.value_length", gguf::Value::u32(static_cast<uint32_t>(hd)));
  }
  w.set(a + ".feed_forward_length", gguf::Value::u32(static_cast<uint32_t>(s.n_ff)));
  w.set(a + ".context_length", gguf::Value::u32(static_cast<uint32_t>(s.n_ctx)));
  w.set(a + ".rope.dimension_count", gguf::Value::u32(static_cast<uint32_t>(n_rot)));
  w.set(a + ".rope.freq_base", gguf::Value::f32(s.rope_base));
  w.set(a + ".attention.layer_norm_rms_epsilon", gguf::Value::f32(gemma ? 1e-6f : 1e-5f));
  if (s.sliding_window > 0)
    w.set(a + ".attention.sliding_window", gguf::Value::u32(static_cast<uint32_t>(s.sliding_window)));
  if (s.rope_linear_factor > 0) {
    w.set(a + ".rope.scaling.type", gguf::Value::str("linear"));
    w.set(a + ".rope.scaling.factor", gguf::Value::f32(s.rope_linear_factor));
  }
  if (a == "gemma2") {
    w.set(a + ".attn_logit_softcapping", gguf::Value::f32(5.0f));   // small caps so they bite
    w.set(a + ".final_logit_softcapping", gguf::Value::f32(3.0f));
  }
  if (a == "phi3") {
    w.set(a + ".rope.scaling.original_context_length", gguf::Value::u32(static_cast<uint32_t>(s.n_ctx / 2)));
    w.set(a + ".rope.scaling.attn_factor", gguf::Value::f32(1.19f));
  }

  b.matrix("token_embd.weight", d, s.n_vocab, gemma ? 1.0f / std::sqrt(float(d)) : 1.0f);
  b.vector("output_norm.weight", d, 1.0f, 0.2f);
  if (!s.tied_output) b.matrix("output.weight", d, s.n_vocab, 2.0f);
  if (s.rope_freqs) b.vector("rope_freqs.weight", n_rot / 2, 2.5f, 1.5f);
  if (a == "phi3") {
    b.vector("rope_factors_long.weight", n_rot / 2, 3.0f, 2.0f);
    b.vector("rope_factors_short.weight", n_rot / 2, 1.5f, 0.5f);
  }

  for (int64_t il = 0; il < s.n_layer; ++il) {
    b.vector(blk(il, "attn_norm.weight"), d, 1.0f, 0.2f);
    if (a == "phi3") {
      b.matrix(blk(il, "attn_qkv.weight"), d, q_w + 2 * kv_w, 2.0f);
    } else {
      b.matrix(blk(il, "attn_q.weight"), d, q_w, 2.0f);
      b.matrix(blk(il, "attn_k.weight"), d, kv_w, 2.0f);
      b.matrix(blk(il, "attn_v.weight"), d, kv_w);
    }
    if (a == "qwen2") {
      b.vector(blk(il, "attn_q.bias"), q_w, 0.0f, 0.5f);
      b.vector(blk(il, "attn_k.bias"), kv_w, 0.0f, 0.5f);
      b.vector(blk(il, "attn_v.bias"), kv_w, 0.0f, 0.5f);
    }
    if (a == "qwen3" || a == "gemma3") {
      b.vector(blk(il, "attn_q_norm.weight"), hd, 1.0f, 0.5f);
      b.vector(blk(il, "attn_k_norm.weight"), hd, 1.0f, 0.5f);
    }
    b.matrix(blk(il, "attn_output.weight"), q_w, d);
    if (gemma) b.vector(blk(il, "post_attention_norm.weight"), d, 1.0f, 0.2f);
    b.vector(blk(il, "ffn_norm.weight"), d, 1.0f, 0.2f);
    if (a == "phi3") {
      b.matrix(blk(il, "ffn_up.weight"), d, 2 * s.n_ff);
    } else {
      b.matrix(blk(il, "ffn_gate.weight"), d, s.n_ff, 1.5f);
      b.matrix(blk(il, "ffn_up.weight"), d, s.n_ff);
    }
    b.matrix(blk(il, "ffn_down.weight"), s.n_ff, d);
    if (gemma) b.vector(blk(il, "post_ffw_norm.weight"), d, 1.0f, 0.2f);
  }
  if (s.edit) s.edit(b.writer);
  b.writer.write(path);
}

}  // namespace tandem::testing
