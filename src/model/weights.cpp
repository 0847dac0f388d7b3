#include "model/weights.h"

#include <string>

#include "model/weight_interleave.h"
#include "tensor/convert.h"
#include "util/error.h"

namespace tandem::model {
namespace {

std::string shape_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

class TensorLoader {
 public:
  TensorLoader(const gguf::File& file) : file_(file) {}

  const gguf::TensorInfo* find(const std::string& name) const { return file_.find_tensor(name); }

  const gguf::TensorInfo& require(const std::string& name, std::vector<int64_t> dims) const {
    const gguf::TensorInfo* t = file_.find_tensor(name);
    if (!t) format_error(file_, "missing tensor '" + name + "'");
    check_shape(*t, dims);
    return *t;
  }

  void check_shape(const gguf::TensorInfo& t, const std::vector<int64_t>& dims) const {
    if (t.dims != dims)
      format_error(file_, "tensor '" + t.name + "' has shape " + shape_string(t.dims) +
                              ", expected " + shape_string(dims));
  }

  // A weight matrix of `rows` outputs x `cols` inputs (GGUF dims [cols, rows]).
  kernels::Matrix matrix(const std::string& name, int64_t cols, int64_t rows) const {
    return as_matrix(require(name, {cols, rows}));
  }
  kernels::Matrix optional_matrix(const std::string& name, int64_t cols, int64_t rows) const {
    return find(name) ? matrix(name, cols, rows) : kernels::Matrix{};
  }

  kernels::Matrix as_matrix(const gguf::TensorInfo& t) const {
    if (!kernels::matmul_supports(t.type))
      format_error(file_, "tensor '" + t.name + "' has type " +
                              std::string(tensor::type_name(t.type)) +
                              ", which tandem cannot multiply with");
    if (t.cols() % tensor::info(t.type).block_size != 0)
      format_error(file_, "tensor '" + t.name + "' row length " + std::to_string(t.cols()) +
                              " is not a multiple of its block size");
    return kernels::Matrix{t.type, t.rows(), t.cols(), t.data};
  }

  std::vector<float> vector(const std::string& name, int64_t n) const {
    return to_floats(require(name, {n}));
  }
  std::vector<float> optional_vector(const std::string& name, int64_t n) const {
    return find(name) ? vector(name, n) : std::vector<float>{};
  }

  std::vector<float> to_floats(const gguf::TensorInfo& t) const {
    std::vector<float> out(static_cast<size_t>(t.n_elements));
    try {
      tensor::dequantize(t.type, t.data, out.data(), t.n_elements);
    } catch (const Error& e) {
      format_error(file_, "tensor '" + t.name + "': " + e.what());
    }
    return out;
  }

 private:
  const gguf::File& file_;
};

std::string blk(int64_t il, const char* name) {
  return "blk." + std::to_string(il) + "." + name;
}

LayerWeights load_layer(const TensorLoader& ld, const ArchSpec& arch, const HParams& hp,
                        int64_t il) {
  const int64_t d = hp.n_embd;
  LayerWeights w;
  w.attn_norm = ld.vector(blk(il, "attn_norm.weight"), d);
  if (arch.fused_qkv) {
    w.wqkv = ld.matrix(blk(il, "attn_qkv.weight"), d, hp.q_width() + hp.k_width() + hp.v_width());
  } else {
    w.wq = ld.matrix(blk(il, "attn_q.weight"), d, hp.q_width());
    w.wk = ld.matrix(blk(il, "attn_k.weight"), d, hp.k_width());
    w.wv = ld.matrix(blk(il, "attn_v.weight"), d, hp.v_width());
    const bool bias = arch.requires_qkv_bias || ld.find(blk(il, "attn_q.bias"));
    if (bias) {
      w.q_bias = ld.vector(blk(il, "attn_q.bias"), hp.q_width());
      w.k_bias = ld.vector(blk(il, "attn_k.bias"), hp.k_width());
      w.v_bias = ld.vector(blk(il, "attn_v.bias"), hp.v_width());
    }
  }
  if (arch.qk_norm) {
    w.q_norm = ld.vector(blk(il, "attn_q_norm.weight"), hp.head_dim_k);
    w.k_norm = ld.vector(blk(il, "attn_k_norm.weight"), hp.head_dim_k);
  }
  w.wo = ld.matrix(blk(il, "attn_output.weight"), hp.n_head * hp.head_dim_v, d);
  if (arch.post_norms) w.post_attn_norm = ld.vector(blk(il, "post_attention_norm.weight"), d);

  w.ffn_norm = ld.vector(blk(il, "ffn_norm.weight"), d);
  if (arch.fused_gate_up) {
    w.w_gate_up = ld.matrix(blk(il, "ffn_up.weight"), d, 2 * hp.n_ff);
  } else {
    w.w_gate = ld.matrix(blk(il, "ffn_gate.weight"), d, hp.n_ff);
    w.w_up = ld.matrix(blk(il, "ffn_up.weight"), d, hp.n_ff);
  }
  w.w_down = ld.matrix(blk(il, "ffn_down.weight"), hp.n_ff, d);
  if (arch.post_norms) w.post_ffn_norm = ld.vector(blk(il, "post_ffw_norm.weight"), d);
  return w;
}

}  // namespace

Weights load_weights(const gguf::File& file, const ArchSpec& arch, const HParams& hp,
                     const LoadOptions& options) {
  TensorLoader ld(file);
  Weights w;
  w.token_embd = &ld.require("token_embd.weight", {hp.n_embd, hp.n_vocab});
  if (tensor::info(w.token_embd->type).block_size > hp.n_embd ||
      hp.n_embd % tensor::info(w.token_embd->type).block_size != 0 ||
      !tensor::info(w.token_embd->type).supported)
    format_error(file, "tensor 'token_embd.weight' has a type tandem cannot read rows of");
  w.output_norm = ld.vector("output_norm.weight", hp.n_embd);
  // Tied embeddings: no output.weight means the classifier is the embedding matrix.
  w.output = ld.find("output.weight") ? ld.matrix("output.weight", hp.n_embd, hp.n_vocab)
                                      : ld.as_matrix(*w.token_embd);

  // Per-dimension RoPE frequency factors: Llama 3.1 (rope_freqs) or long-rope (Phi-3), where the
  // long factors apply when the caller's context exceeds the original training context.
  const int64_t n_pairs = hp.n_rot / 2;
  const int64_t n_ctx = options.n_ctx > 0 ? options.n_ctx : hp.n_ctx_train;
  if (ld.find("rope_freqs.weight")) {
    w.rope_factors = ld.vector("rope_freqs.weight", n_pairs);
  } else if (ld.find("rope_factors_long.weight") || ld.find("rope_factors_short.weight")) {
    const bool use_long = n_ctx > hp.rope_ctx_orig;
    w.rope_factors = ld.vector(use_long ? "rope_factors_long.weight" : "rope_factors_short.weight",
                               n_pairs);
  }
  for (float f : w.rope_factors)
    if (!(f > 0)) format_error(file, "RoPE frequency factors must be positive");

  w.layers.reserve(static_cast<size_t>(hp.n_layer));
  for (int64_t il = 0; il < hp.n_layer; ++il) w.layers.push_back(load_layer(ld, arch, hp, il));
  if (options.interleave_weights) interleave_weights(file, w);
  return w;
}

}  // namespace tandem::model
