// Scalar reference versions of the SIMD-accelerated ops (ops_table.h). Sums accumulate in double
// so these are also the accuracy reference of the tests.
#include <algorithm>
#include <cmath>

#include "kernels/ops_table.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {

namespace {

void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv * (weight != nullptr ? weight[i] : 1.0f);
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float mx = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

inline float silu1(float v) { return v / (1.0f + std::exp(-v)); }

void silu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = silu1(x[i]);
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu1(gate[i]) * up[i];
}

// GELU, tanh approximation (as Gemma and GPT-2 use).
inline float gelu1(float v) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
}

void gelu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = gelu1(x[i]);
}

void geglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gelu1(gate[i]) * up[i];
}

float dot_f32(const float* a, const float* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

void axpy(float a, const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

float dot_f16_f32(const uint16_t* x, const float* y, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(tensor::fp16_to_fp32(x[i])) * y[i];
  return static_cast<float>(s);
}

void axpy_f16(float a, const uint16_t* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * tensor::fp16_to_fp32(x[i]);
}

void f32_to_f16(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = tensor::fp32_to_fp16(x[i]);
}

void f16_to_f32(const uint16_t* x, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = tensor::fp16_to_fp32(x[i]);
}

void f16_rows_to_f32(const uint16_t* const* rows, int64_t n_rows, int64_t n, float* out, int64_t ld) {
  for (int64_t r = 0; r < n_rows; ++r) f16_to_f32(rows[r], n, out + r * ld);
}

void gemm_f32(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col,
              const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = accumulate ? c[i * ldc + j] : 0.0;
      for (int64_t p = 0; p < k; ++p) s += static_cast<double>(a[i * a_row + p * a_col]) * b[p * ldb + j];
      c[i * ldc + j] = static_cast<float>(s);
    }
}

void softmax_online(float* s, int64_t rows, int64_t n, int64_t ld, float* max, float* sum,
                    float* scale) {
  for (int64_t i = 0; i < n; ++i) {
    float mx = max[i];
    for (int64_t j = 0; j < rows; ++j) mx = std::max(mx, s[j * ld + i]);
    const float sc = std::exp(max[i] - mx);
    double total = static_cast<double>(sum[i]) * sc;
    for (int64_t j = 0; j < rows; ++j) total += s[j * ld + i] = std::exp(s[j * ld + i] - mx);
    max[i] = mx;
    sum[i] = static_cast<float>(total);
    scale[i] = sc;
  }
}

}  // namespace

OpsTable ops_scalar() {
  return {rms_norm, softmax,  silu,       swiglu,   gelu,     geglu,          dot_f32,
          axpy,     dot_f16_f32, axpy_f16, f32_to_f16, f16_to_f32, f16_rows_to_f32, gemm_f32,
          softmax_online};
}

}  // namespace tandem::kernels::detail
