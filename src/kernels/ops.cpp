// ops.h: dispatch of the hot ops to the best path, and the scalar-only ops (layer norm, rope,
// element-wise arithmetic the compiler vectorizes on its own).
#include "kernels/ops.h"

#include <cmath>
#include <vector>

#include "kernels/ops_table.h"

namespace tandem::kernels {

namespace detail {
namespace {
OpsTable build(Isa isa) {
  switch (isa) {
#if defined(TANDEM_KERNELS_X86)
    case Isa::Avx2: return ops_avx2();
    case Isa::Avx512: return ops_avx512();
#elif defined(TANDEM_KERNELS_NEON)
    case Isa::Neon: return ops_neon();
#endif
    default: return ops_scalar();
  }
}
}  // namespace

const OpsTable& ops_table(Isa isa) {
  static const OpsTable tables[] = {build(Isa::Scalar), build(Isa::Avx2), build(Isa::Avx512),
                                    build(Isa::Neon)};
  return tables[static_cast<int>(isa)];
}
}  // namespace detail

namespace {
const detail::OpsTable& best() {
  static const detail::OpsTable& table = detail::ops_table(best_isa());
  return table;
}
}  // namespace

void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  best().rms_norm(x, weight, n, eps, out);
}
void softmax(float* x, int64_t n) { best().softmax(x, n); }
void silu(float* x, int64_t n) { best().silu(x, n); }
void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  best().swiglu(gate, up, n, out);
}
void gelu(float* x, int64_t n) { best().gelu(x, n); }
void geglu(const float* gate, const float* up, int64_t n, float* out) {
  best().geglu(gate, up, n, out);
}
float dot_f32(const float* a, const float* b, int64_t n) { return best().dot_f32(a, b, n); }
void axpy(float a, const float* x, int64_t n, float* y) { best().axpy(a, x, n, y); }
float dot_f16_f32(const uint16_t* x, const float* y, int64_t n) {
  return best().dot_f16_f32(x, y, n);
}
void axpy_f16(float a, const uint16_t* x, int64_t n, float* y) { best().axpy_f16(a, x, n, y); }
void f32_to_f16(const float* x, int64_t n, uint16_t* out) { best().f32_to_f16(x, n, out); }
void f16_to_f32(const uint16_t* x, int64_t n, float* out) { best().f16_to_f32(x, n, out); }
void f16_rows_to_f32(const uint16_t* const* rows, int64_t n_rows, int64_t n, float* out, int64_t ld) {
  best().f16_rows_to_f32(rows, n_rows, n, out, ld);
}
void gemm_f32(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col,
              const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  best().gemm_f32(m, n, k, a, a_row, a_col, b, ldb, c, ldc, accumulate);
}
void softmax_online(float* s, int64_t rows, int64_t n, int64_t ld, float* max, float* sum,
                    float* scale) {
  best().softmax_online(s, rows, n, ld, max, sum, scale);
}

void layer_norm(const float* x, const float* weight, const float* bias, int64_t n, float eps,
                float* out) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double var = 0.0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float inv = static_cast<float>(1.0 / std::sqrt(var / static_cast<double>(n) + eps));
  const float m = static_cast<float>(mean);
  for (int64_t i = 0; i < n; ++i) {
    float v = (x[i] - m) * inv;
    if (weight != nullptr) v *= weight[i];
    if (bias != nullptr) v += bias[i];
    out[i] = v;
  }
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dims, int64_t pos, float base,
          float freq_scale, const float* freq_factors, float mscale, RopeStyle style) {
  // One cos/sin per rotated pair, shared by all heads.
  const int64_t half = rot_dims / 2;
  thread_local std::vector<float> cs;
  cs.resize(static_cast<size_t>(2 * half));
  // base^(-2i/rot_dims) as a running product in double (one pow per call instead of one per
  // pair; the product's rounding stays near 1e-14 relative).
  const double theta_scale = std::pow(static_cast<double>(base), -2.0 / static_cast<double>(rot_dims));
  double theta = 1.0;
  for (int64_t i = 0; i < half; ++i, theta *= theta_scale) {
    double freq = theta;
    if (freq_factors != nullptr) freq /= freq_factors[i];
    const double angle = static_cast<double>(pos) * freq * freq_scale;
    cs[2 * i] = static_cast<float>(std::cos(angle)) * mscale;
    cs[2 * i + 1] = static_cast<float>(std::sin(angle)) * mscale;
  }
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      // Normal rotates adjacent pairs (2i, 2i+1); NeoX rotates (i, i + rot_dims/2).
      const int64_t a = style == RopeStyle::Normal ? 2 * i : i;
      const int64_t b = style == RopeStyle::Normal ? 2 * i + 1 : i + half;
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
    }
  }
}

void add(const float* a, const float* b, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
void mul(const float* a, const float* b, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}
void scale(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

}  // namespace tandem::kernels
