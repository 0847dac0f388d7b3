// The transformer forward pass shared by every architecture. Per layer:
//   x += [post_attn_norm]( Wo · attention( rope(norm_q(Wq·n(x) + bq)), rope(norm_k(Wk·n(x) + bk)), Wv·n(x) + bv ) )
//   x += [post_ffn_norm]( Wdown · ( act(Wgate·n(x)) * Wup·n(x) ) )
// then logits = Wout · norm(x), optionally soft-capped. Bracketed pieces exist only where the
// architecture (ArchSpec flags, present tensors) says so.
#include "model/evaluator.h"

#include <cmath>
#include <cstring>
#include <string>

#include "kernels/interleave.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "tensor/convert.h"
#include "util/error.h"

namespace tandem::model {
namespace {

// Prompt rows per pass through the FFN (see ffn_block).
constexpr int64_t kFfnRows = 256;

void grow(std::vector<float>& buf, int64_t n) {
  if (buf.size() < static_cast<size_t>(n)) buf.resize(static_cast<size_t>(n));
}

void add_bias_rows(float* y, const std::vector<float>& bias, int64_t n) {
  if (bias.empty()) return;
  const int64_t w = static_cast<int64_t>(bias.size());
  for (int64_t t = 0; t < n; ++t) kernels::add(y + t * w, bias.data(), w, y + t * w);
}

// Copies columns [first, first + width) of every row of a (n x stride) matrix into dst.
void take_columns(const float* src, int64_t n, int64_t stride, int64_t first, int64_t width,
                  float* dst) {
  for (int64_t t = 0; t < n; ++t)
    std::memcpy(dst + t * width, src + t * stride + first, static_cast<size_t>(width) * sizeof(float));
}

void softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace

Evaluator::Evaluator(const Model& model, ThreadPool& pool) : model_(model), pool_(pool) {
  out_.n_vocab = model.hparams().n_vocab;
  out_.n_embd = model.hparams().n_embd;
}

void Evaluator::rms_norm_rows(const float* x, const std::vector<float>& w, int64_t n,
                              float* out) const {
  const int64_t d = static_cast<int64_t>(w.size());
  for (int64_t t = 0; t < n; ++t)
    kernels::rms_norm(x + t * d, w.data(), d, model_.hparams().rms_eps, out + t * d);
}

const ForwardOutput& Evaluator::forward(std::span<const BatchToken> batch, KvStore& kv,
                                        ForwardOutputs outputs) {
  const HParams& hp = model_.hparams();
  if (batch.empty()) throw InvalidArgument("forward: empty batch");
  const KvShape want = model_.kv_shape();
  const KvShape& have = kv.shape();
  if (have.n_layer != want.n_layer || have.n_head_kv != want.n_head_kv ||
      have.head_dim_k != want.head_dim_k || have.head_dim_v != want.head_dim_v)
    throw InvalidArgument("forward: the KV cache was made for a different model shape");
  for (const BatchToken& t : batch)
    if (t.token < 0 || t.token >= hp.n_vocab)
      throw InvalidArgument("forward: token id " + std::to_string(t.token) +
                            " is outside the vocabulary (n_vocab " + std::to_string(hp.n_vocab) + ")");
  kv.reserve(batch);  // validates positions and space before any work

  const int64_t n = static_cast<int64_t>(batch.size());
  grow(x_, n * hp.n_embd);
  grow(xn_, n * hp.n_embd);
  grow(proj_, n * hp.n_embd);
  grow(q_, n * hp.q_width());
  grow(k_, n * hp.k_width());
  grow(v_, n * hp.v_width());
  grow(attn_, n * hp.n_head * hp.head_dim_v);
  grow(gate_, std::min(n, kFfnRows) * hp.n_ff);
  grow(up_, std::min(n, kFfnRows) * hp.n_ff);

  embed(batch);
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    attention_block(il, batch, kv);
    ffn_block(il, n);
  }
  compute_output(batch, outputs);
  return out_;
}

void Evaluator::embed(std::span<const BatchToken> batch) {
  const HParams& hp = model_.hparams();
  const gguf::TensorInfo& embd = *model_.weights().token_embd;
  const size_t row_bytes = tensor::row_bytes(embd.type, hp.n_embd);
  for (size_t t = 0; t < batch.size(); ++t) {
    float* row = x_.data() + static_cast<int64_t>(t) * hp.n_embd;
    if (present(model_.weights().token_embd_interleaved))
      kernels::interleaved_row_to_float(model_.weights().token_embd_interleaved, batch[t].token, row);
    else
      tensor::dequantize(embd.type, embd.data + static_cast<size_t>(batch[t].token) * row_bytes,
                         row, hp.n_embd);
    if (hp.embed_scale != 1.0f) kernels::scale(row, hp.n_embd, hp.embed_scale);
  }
}

void Evaluator::project_qkv(const LayerWeights& lw, int64_t n) {
  const HParams& hp = model_.hparams();
  if (present(lw.wqkv)) {
    const int64_t width = hp.q_width() + hp.k_width() + hp.v_width();
    grow(fused_, n * width);
    kernels::matmul(lw.wqkv, xn_.data(), n, fused_.data(), pool_);
    take_columns(fused_.data(), n, width, 0, hp.q_width(), q_.data());
    take_columns(fused_.data(), n, width, hp.q_width(), hp.k_width(), k_.data());
    take_columns(fused_.data(), n, width, hp.q_width() + hp.k_width(), hp.v_width(), v_.data());
  } else {
    const kernels::MatmulTarget qkv[] = {{lw.wq, q_.data()}, {lw.wk, k_.data()}, {lw.wv, v_.data()}};
    kernels::matmul_group(qkv, xn_.data(), n, pool_);
  }
  add_bias_rows(q_.data(), lw.q_bias, n);
  add_bias_rows(k_.data(), lw.k_bias, n);
  add_bias_rows(v_.data(), lw.v_bias, n);
}

void Evaluator::attention_block(int64_t il, std::span<const BatchToken> batch, KvStore& kv) {
  const HParams& hp = model_.hparams();
  const LayerWeights& lw = model_.weights().layers[static_cast<size_t>(il)];
  const LayerAttention& layer = hp.layers[static_cast<size_t>(il)];
  const int64_t n = static_cast<int64_t>(batch.size());

  rms_norm_rows(x_.data(), lw.attn_norm, n, xn_.data());
  project_qkv(lw, n);

  // Per-head Q/K norms (Qwen3, Gemma 3): every head is one row of head_dim_k.
  if (!lw.q_norm.empty()) {
    rms_norm_rows(q_.data(), lw.q_norm, n * hp.n_head, q_.data());
    rms_norm_rows(k_.data(), lw.k_norm, n * hp.n_head_kv, k_.data());
  }

  const std::vector<float>& factors = model_.weights().rope_factors;
  const float* ff = factors.empty() ? nullptr : factors.data();
  for (int64_t t = 0; t < n; ++t) {
    const int64_t pos = batch[static_cast<size_t>(t)].pos;
    kernels::rope(q_.data() + t * hp.q_width(), hp.n_head, hp.head_dim_k, hp.n_rot, pos,
                  layer.rope_base, layer.rope_freq_scale, ff, hp.rope_attn_factor,
                  model_.arch().rope_style);
    kernels::rope(k_.data() + t * hp.k_width(), hp.n_head_kv, hp.head_dim_k, hp.n_rot, pos,
                  layer.rope_base, layer.rope_freq_scale, ff, hp.rope_attn_factor,
                  model_.arch().rope_style);
  }
  // All of the batch's K/V go into the cache first: a token attends to earlier tokens of the
  // same batch through the cache, limited causally by its own position.
  for (int64_t t = 0; t < n; ++t) {
    const BatchToken& bt = batch[static_cast<size_t>(t)];
    kv.write(il, bt.seq, bt.pos, k_.data() + t * hp.k_width(), v_.data() + t * hp.v_width());
  }
  attend(hp, il, batch, q_.data(), kv, attn_.data(), pool_);

  kernels::matmul(lw.wo, attn_.data(), n, proj_.data(), pool_);
  if (!lw.post_attn_norm.empty()) {
    rms_norm_rows(proj_.data(), lw.post_attn_norm, n, xn_.data());
    kernels::add(x_.data(), xn_.data(), n * hp.n_embd, x_.data());
  } else {
    kernels::add(x_.data(), proj_.data(), n * hp.n_embd, x_.data());
  }
}

void Evaluator::ffn_block(int64_t il, int64_t n) {
  const HParams& hp = model_.hparams();
  const LayerWeights& lw = model_.weights().layers[static_cast<size_t>(il)];

  rms_norm_rows(x_.data(), lw.ffn_norm, n, xn_.data());
  // The n x n_ff intermediates are the largest buffers of a prompt batch (20 MB for 512 tokens of
  // Qwen2.5-0.5B): rows go through in chunks of kFfnRows, which still feed the panel GEMM enough
  // activation rows to amortize its unpacking.
  for (int64_t r0 = 0; r0 < n; r0 += kFfnRows) {
    const int64_t m = std::min(kFfnRows, n - r0);
    const float* in = xn_.data() + r0 * hp.n_embd;
    if (present(lw.w_gate_up)) {
      grow(fused_, m * 2 * hp.n_ff);
      kernels::matmul(lw.w_gate_up, in, m, fused_.data(), pool_);
      take_columns(fused_.data(), m, 2 * hp.n_ff, 0, hp.n_ff, gate_.data());
      take_columns(fused_.data(), m, 2 * hp.n_ff, hp.n_ff, hp.n_ff, up_.data());
    } else {
      const kernels::MatmulTarget gate_up[] = {{lw.w_gate, gate_.data()}, {lw.w_up, up_.data()}};
      kernels::matmul_group(gate_up, in, m, pool_);
    }
    // The activation is written over the gate (element-wise, so in place is safe).
    if (model_.arch().ffn_activation == FfnActivation::Gelu)
      kernels::geglu(gate_.data(), up_.data(), m * hp.n_ff, gate_.data());
    else
      kernels::swiglu(gate_.data(), up_.data(), m * hp.n_ff, gate_.data());
    kernels::matmul(lw.w_down, gate_.data(), m, proj_.data() + r0 * hp.n_embd, pool_);
  }

  if (!lw.post_ffn_norm.empty()) {
    rms_norm_rows(proj_.data(), lw.post_ffn_norm, n, xn_.data());
    kernels::add(x_.data(), xn_.data(), n * hp.n_embd, x_.data());
  } else {
    kernels::add(x_.data(), proj_.data(), n * hp.n_embd, x_.data());
  }
}

void Evaluator::compute_output(std::span<const BatchToken> batch, ForwardOutputs outputs) {
  const HParams& hp = model_.hparams();
  out_.batch_index.clear();
  for (size_t t = 0; t < batch.size(); ++t)
    if (batch[t].want_logits) out_.batch_index.push_back(static_cast<int32_t>(t));
  const int64_t rows = static_cast<int64_t>(out_.batch_index.size());
  out_.hidden.resize(static_cast<size_t>(rows * hp.n_embd));
  const bool want_logits = outputs == ForwardOutputs::LogitsAndHidden;
  out_.logits.resize(want_logits ? static_cast<size_t>(rows * hp.n_vocab) : 0);
  if (rows == 0) return;

  for (int64_t r = 0; r < rows; ++r)
    kernels::rms_norm(x_.data() + out_.batch_index[static_cast<size_t>(r)] * hp.n_embd,
                      model_.weights().output_norm.data(), hp.n_embd, hp.rms_eps,
                      out_.hidden.data() + r * hp.n_embd);
  if (!want_logits) return;
  kernels::matmul(model_.weights().output, out_.hidden.data(), rows, out_.logits.data(), pool_);
  if (hp.final_softcap > 0) softcap(out_.logits.data(), rows * hp.n_vocab, hp.final_softcap);
}

}  // namespace tandem::model
