#pragma once
// Element-wise and row-wise operations of transformer blocks. Each has a scalar reference and SIMD
// paths chosen at run time; all work in float32.
#include <cstdint>

namespace tandem::kernels {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]   (weight may be null: no scaling)
void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out);
// LayerNorm with optional weight / bias.
void layer_norm(const float* x, const float* weight, const float* bias, int64_t n, float eps,
                float* out);

enum class RopeStyle { Normal, NeoX };  // Normal: pairs (2i, 2i+1); NeoX: pairs (i, i + d/2)
// Rotates the first `rot_dims` dims of each of `n_heads` heads (head_dim apart) at position `pos`.
// freq_i = base^(-2i/rot_dims) / freq_factors[i] (freq_factors may be null), angle = pos * freq_i * freq_scale
// (ext/attn factors of YaRN-style scaling are folded in by the caller through freq_factors and mscale).
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dims, int64_t pos, float base,
          float freq_scale, const float* freq_factors, float mscale, RopeStyle style);

// In-place numerically stable softmax over n values.
void softmax(float* x, int64_t n);
void silu(float* x, int64_t n);
void gelu(float* x, int64_t n);          // tanh approximation (as Gemma and GPT-2 use)
// out[i] = silu(gate[i]) * up[i]  /  gelu(gate[i]) * up[i]
void swiglu(const float* gate, const float* up, int64_t n, float* out);
void geglu(const float* gate, const float* up, int64_t n, float* out);
void add(const float* a, const float* b, int64_t n, float* out);
void mul(const float* a, const float* b, int64_t n, float* out);
void scale(float* x, int64_t n, float s);
float dot_f32(const float* a, const float* b, int64_t n);
// y += a * x
void axpy(float a, const float* x, int64_t n, float* y);

// Attention over an F16 KV cache: x holds IEEE half bits.
float dot_f16_f32(const uint16_t* x, const float* y, int64_t n);  // sum x[i] * y[i]
void axpy_f16(float a, const uint16_t* x, int64_t n, float* y);   // y += a * x
// Rounds n floats to half (nearest even), e.g. to append K/V rows to an F16 cache.
void f32_to_f16(const float* x, int64_t n, uint16_t* out);
void f16_to_f32(const uint16_t* x, int64_t n, float* out);
// out[r * ld + i] = rows[r][i] for r < n_rows, i < n: a block of scattered cache rows in one call
// (a call per 64-element row cost more than the conversion).
void f16_rows_to_f32(const uint16_t* const* rows, int64_t n_rows, int64_t n, float* out, int64_t ld);

// Tiled attention (model/attention.cpp) runs on these two.
// Small dense float GEMM: C[i][j] (+)= sum_p A(i, p) * B[p][j] for i < m, j < n, p < k, where
// A(i, p) = a[i * a_row + p * a_col] (so A may be stored transposed), B and C are row-major with
// row strides ldb and ldc. accumulate: add to C instead of overwriting it.
void gemm_f32(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col,
              const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);
// One step of an online (streaming) softmax over a block of scores s[j * ld + i], j < rows, whose
// n columns i are independent (one per query). max[i] is the running maximum (start it at
// kSoftmaxFloor, not -inf), sum[i] the running sum of e^(s - max). Afterwards s holds
// e^(s - new max), sum is updated, and scale[i] = e^(old max - new max) is the factor by which
// the caller rescales whatever it accumulated with the old maximum. -inf scores (masked) give 0.
inline constexpr float kSoftmaxFloor = -1e30f;
void softmax_online(float* s, int64_t rows, int64_t n, int64_t ld, float* max, float* sum,
                    float* scale);

}  // namespace tandem::kernels
