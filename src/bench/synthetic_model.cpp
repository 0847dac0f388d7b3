#include "bench/synthetic_model.h"

#include <cmath>
#include <cstdio>

#include "bench/vocab_source.h"
#include "gguf/writer.h"
#include "tensor/convert.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace tandem::bench {

using tensor::Type;

const std::vector<QuantMix>& known_mixes() {
  // file_type values are llama_ftype's, so other engines label the file the same way.
  static const std::vector<QuantMix> mixes = {
      {"f32", 0, Type::F32, Type::F32, Type::F32},
      {"f16", 1, Type::F16, Type::F16, Type::F16},
      {"bf16", 32, Type::BF16, Type::BF16, Type::BF16},
      {"q8_0", 7, Type::Q8_0, Type::Q8_0, Type::Q8_0},
      {"q4_0", 2, Type::Q4_0, Type::Q4_0, Type::Q6_K},
      {"q4_k_m", 15, Type::Q4_K, Type::Q6_K, Type::Q6_K},
      {"q5_k_m", 17, Type::Q5_K, Type::Q6_K, Type::Q6_K},
      {"q6_k", 18, Type::Q6_K, Type::Q6_K, Type::Q6_K},
  };
  return mixes;
}

const QuantMix& find_mix(std::string_view name) {
  std::string names;
  for (const auto& m : known_mixes()) {
    if (m.name == name) return m;
    names += (names.empty() ? "" : ", ") + m.name;
  }
  throw InvalidArgument("unknown quantization type '" + std::string(name) + "' (known: " + names + ")");
}

Type fallback_type(Type preferred, int64_t cols) {
  if (cols % tensor::info(preferred).block_size == 0) return preferred;
  switch (preferred) {
    case Type::Q2_K:
    case Type::Q3_K: return Type::IQ4_NL;
    case Type::Q4_K: return Type::Q5_0;
    case Type::Q5_K: return Type::Q5_1;
    case Type::Q6_K: return Type::Q8_0;
    default: return Type::F16;
  }
}

namespace {

// Layers that get more bits in the _M mixes: the first and last eighth, and every third between.
bool use_more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

// splitmix64: a tiny, well-mixed generator; each row seeds its own so threads need no sharing.
uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class ModelBuilder {
 public:
  ModelBuilder(gguf::Writer& w, ThreadPool& pool, uint64_t seed) : w_(w), pool_(pool), seed_(seed) {}

  // Uniform random values with standard deviation `stddev`, quantized row by row.
  void matrix(const std::string& name, Type type, int64_t cols, int64_t rows, float stddev) {
    type = fallback_type(type, cols);
    const size_t rb = tensor::row_bytes(type, cols);
    std::vector<uint8_t> bytes(rb * rows);
    const uint64_t tensor_seed = seed_ ^ std::hash<std::string>{}(name);
    const float amp = stddev * std::sqrt(3.0f);
    pool_.parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
      std::vector<float> row(cols);
      for (int64_t r = r0; r < r1; ++r) {
        uint64_t s = tensor_seed + static_cast<uint64_t>(r) * 0x632BE59BD9B4E019ull;
        for (int64_t c = 0; c < cols; ++c) {
          const double u = static_cast<double>(splitmix(s) >> 11) * 0x1.0p-53;
          row[c] = static_cast<float>((2.0 * u - 1.0) * amp);
        }
        tensor::quantize(type, row.data(), bytes.data() + rb * r, cols);
      }
    });
    params_ += cols * rows;
    w_.add_tensor(name, type, {cols, rows}, std::move(bytes));
  }

  void vector(const std::string& name, int64_t n, float value) {
    std::vector<float> v(n, value);
    params_ += n;
    w_.add_tensor_f32(name, Type::F32, {n}, v.data());
  }

  int64_t params() const { return params_; }

 private:
  gguf::Writer& w_;
  ThreadPool& pool_;
  uint64_t seed_;
  int64_t params_ = 0;
};

// A SentencePiece-style vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then plain pieces.
void add_tokenizer(gguf::Writer& w, int64_t n_vocab) {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  tokens.reserve(n_vocab);
  auto push = [&](std::string t, float score, int32_t type) {
    tokens.push_back(std::move(t));
    scores.push_back(score);
    types.push_back(type);
  };
  push("<unk>", 0.0f, 2);
  push("<s>", 0.0f, 3);
  push("</s>", 0.0f, 3);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    push(buf, 0.0f, 6);
  }
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < n_vocab; ++i)
    push("\xE2\x96\x81w" + std::to_string(i), -static_cast<float>(i), 1);
  w.set("tokenizer.ggml.model", gguf::Value::str("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::str_array(tokens));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));
  w.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(true));
}

// Llama 3.1+ rope scaling as published (factor 32, low/high frequency factors 1 and 4, original
// context 8192), stored as per-dimension divisors in rope_freqs.weight.
std::vector<float> llama3_rope_factors(int64_t head_dim, float base) {
  const double factor = 32.0, low = 1.0, high = 4.0, old_ctx = 8192.0;
  const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
  std::vector<float> f;
  for (int64_t i = 0; i < head_dim; i += 2) {
    const double freq = 1.0 / std::pow(base, static_cast<double>(i) / head_dim);
    const double wavelen = 2.0 * M_PI / freq;
    if (wavelen < high_wavelen) {
      f.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      f.push_back(static_cast<float>(factor));
    } else {
      const double smooth = (old_ctx / wavelen - low) / (high - low);
      f.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return f;
}

}  // namespace

int64_t write_synthetic_model(const ModelShape& s, const QuantMix& mix, const std::string& path,
                              ThreadPool& pool, uint64_t seed, const std::string& vocab_path) {
  gguf::Writer w;
  const std::string& a = s.arch;
  w.set("general.architecture", gguf::Value::str(a));
  w.set("general.name", gguf::Value::str(s.name + " (synthetic, random weights)"));
  w.set("general.description",
        gguf::Value::str("Random weights in the tensor shapes of " + s.name +
                         ", written by `tandem bench --write` for speed comparisons."));
  w.set("general.file_type", gguf::Value::u32(mix.file_type));
  w.set("general.quantization_version", gguf::Value::u32(2));
  w.set(a + ".context_length", gguf::Value::u32(static_cast<uint32_t>(s.n_ctx_train)));
  w.set(a + ".embedding_length", gguf::Value::u32(static_cast<uint32_t>(s.n_embd)));
  w.set(a + ".block_count", gguf::Value::u32(static_cast<uint32_t>(s.n_layer)));
  w.set(a + ".feed_forward_length", gguf::Value::u32(static_cast<uint32_t>(s.n_ff)));
  w.set(a + ".attention.head_count", gguf::Value::u32(static_cast<uint32_t>(s.n_head)));
  w.set(a + ".attention.head_count_kv", gguf::Value::u32(static_cast<uint32_t>(s.n_head_kv)));
  w.set(a + ".attention.key_length", gguf::Value::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(a + ".attention.value_length", gguf::Value::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(a + ".attention.layer_norm_rms_epsilon", gguf::Value::f32(s.norm_eps));
  w.set(a + ".rope.freq_base", gguf::Value::f32(s.rope_base));
  w.set(a + ".rope.dimension_count", gguf::Value::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(a + ".vocab_size", gguf::Value::u32(static_cast<uint32_t>(s.n_vocab)));
  if (vocab_path.empty())
    add_tokenizer(w, s.n_vocab);
  else
    copy_vocabulary(vocab_path, s.n_vocab, w);

  ModelBuilder b(w, pool, seed);
  const float std_in = 1.0f / std::sqrt(static_cast<float>(s.n_embd));
  const float std_ff = 1.0f / std::sqrt(static_cast<float>(s.n_ff));
  const int64_t q_dim = s.n_head * s.head_dim, kv_dim = s.n_head_kv * s.head_dim;
  const Type embd_type = s.tied_embeddings ? mix.output : mix.base;
  b.matrix("token_embd.weight", embd_type, s.n_embd, s.n_vocab, 1.0f);
  b.vector("output_norm.weight", s.n_embd, 1.0f);
  if (!s.tied_embeddings) b.matrix("output.weight", mix.output, s.n_embd, s.n_vocab, std_in);
  if (s.llama3_rope) {
    auto f = llama3_rope_factors(s.head_dim, s.rope_base);
    w.add_tensor_f32("rope_freqs.weight", Type::F32, {static_cast<int64_t>(f.size())}, f.data());
  }
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const Type more = use_more_bits(i, s.n_layer) ? mix.more_bits : mix.base;
    b.vector(p + "attn_norm.weight", s.n_embd, 1.0f);
    if (s.fused_qkv) {
      b.matrix(p + "attn_qkv.weight", mix.base, s.n_embd, q_dim + 2 * kv_dim, std_in);
    } else {
      b.matrix(p + "attn_q.weight", mix.base, s.n_embd, q_dim, std_in);
      b.matrix(p + "attn_k.weight", mix.base, s.n_embd, kv_dim, std_in);
      b.matrix(p + "attn_v.weight", more, s.n_embd, kv_dim, std_in);
    }
    if (s.qkv_bias) {
      b.vector(p + "attn_q.bias", q_dim, 0.0f);
      b.vector(p + "attn_k.bias", kv_dim, 0.0f);
      b.vector(p + "attn_v.bias", kv_dim, 0.0f);
    }
    if (s.qk_norm) {
      b.vector(p + "attn_q_norm.weight", s.head_dim, 1.0f);
      b.vector(p + "attn_k_norm.weight", s.head_dim, 1.0f);
    }
    b.matrix(p + "attn_output.weight", mix.base, q_dim, s.n_embd, 1.0f / std::sqrt(float(q_dim)));
    b.vector(p + "ffn_norm.weight", s.n_embd, 1.0f);
    if (s.fused_qkv) {
      b.matrix(p + "ffn_up.weight", mix.base, s.n_embd, 2 * s.n_ff, std_in);
    } else {
      b.matrix(p + "ffn_gate.weight", mix.base, s.n_embd, s.n_ff, std_in);
      b.matrix(p + "ffn_up.weight", mix.base, s.n_embd, s.n_ff, std_in);
    }
    b.matrix(p + "ffn_down.weight", more, s.n_ff, s.n_embd, std_ff);
  }
  w.write(path);
  return b.params();
}

}  // namespace tandem::bench
