// NEON versions of the hot ops (ops_table.h), 4 floats per register. The same algorithms as the
// x86 paths (ops_x86.h): polynomial e^x, GELU through e^x, float accumulators; tails run scalar.
#include <algorithm>
#include <cmath>

#include "kernels/ops_table.h"
#include "kernels/simd_neon.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

constexpr int kW = 4;
using V = float32x4_t;

inline V set1(float f) { return vdupq_n_f32(f); }
// a * b + c and c - a * b (fused).
inline V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
inline V fnma(V a, V b, V c) { return vfmsq_f32(c, a, b); }

// e^x: x = n ln2 + r with |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (relative error
// about 1e-7), 2^n through the exponent bits. Inputs below -87.3 (including -inf, as masked
// attention scores are) give 0; above 88.3 are clamped.
inline V exp_v(V x) {
  constexpr float kLow = -87.3f, kHigh = 88.3f;
  const V xc = vminq_f32(vmaxq_f32(x, set1(kLow)), set1(kHigh));
  const V n = vrndnq_f32(vmulq_f32(xc, set1(1.44269504088896341f)));
  V r = fnma(n, set1(0.693145751953125f), xc);  // ln2 split in two for an exact first step
  r = fnma(n, set1(1.428606765330187e-06f), r);
  V p = set1(1.0f / 720.0f);
  p = fma(p, r, set1(1.0f / 120.0f));
  p = fma(p, r, set1(1.0f / 24.0f));
  p = fma(p, r, set1(1.0f / 6.0f));
  p = fma(p, r, set1(0.5f));
  p = fma(p, r, set1(1.0f));
  p = fma(p, r, set1(1.0f));
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23);
  const V v = vmulq_f32(p, vreinterpretq_f32_s32(e));
  // Zero where x < kLow (a NaN x also gives 0, as on x86).
  return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vcgeq_f32(x, set1(kLow))));
}

inline V silu_v(V x) { return vdivq_f32(x, vaddq_f32(set1(1.0f), exp_v(vnegq_f32(x)))); }
inline float silu1(float v) { return v / (1.0f + std::exp(-v)); }

// GELU, tanh approximation: 0.5 x (1 + tanh(u)) = x - x / (e^(2u) + 1) with
// u = sqrt(2/pi) (x + 0.044715 x^3). exp_v clamps, so large |u| gives exactly x or 0.
inline V gelu_v(V x) {
  const V u2 = vmulq_f32(vmulq_f32(set1(2.0f * 0.7978845608028654f), x),
                         fma(vmulq_f32(set1(0.044715f), x), x, set1(1.0f)));
  return vsubq_f32(x, vdivq_f32(x, vaddq_f32(exp_v(u2), set1(1.0f))));
}
inline float gelu1(float v) {
  return 0.5f * v * (1.0f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}

void rms_norm_neon(const float* x, const float* weight, int64_t n, float eps, float* out) {
  V s0 = set1(0.0f), s1 = set1(0.0f);
  int64_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    const V a = vld1q_f32(x + i), b = vld1q_f32(x + i + kW);
    s0 = fma(a, a, s0);
    s1 = fma(b, b, s1);
  }
  double ss = vaddvq_f32(vaddq_f32(s0, s1));
  for (; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  const V vi = set1(inv);
  for (i = 0; i + kW <= n; i += kW) {
    V v = vmulq_f32(vld1q_f32(x + i), vi);
    if (weight != nullptr) v = vmulq_f32(v, vld1q_f32(weight + i));
    vst1q_f32(out + i, v);
  }
  for (; i < n; ++i) out[i] = x[i] * inv * (weight != nullptr ? weight[i] : 1.0f);
}

void softmax_neon(float* x, int64_t n) {
  if (n <= 0) return;
  int64_t i = 0;
  V m = set1(-INFINITY);
  for (; i + kW <= n; i += kW) m = vmaxq_f32(m, vld1q_f32(x + i));
  float mx = vmaxvq_f32(m);
  for (; i < n; ++i) mx = std::max(mx, x[i]);
  const V vm = set1(mx);
  V s = set1(0.0f);
  for (i = 0; i + kW <= n; i += kW) {
    const V e = exp_v(vsubq_f32(vld1q_f32(x + i), vm));
    vst1q_f32(x + i, e);
    s = vaddq_f32(s, e);
  }
  float sum = vaddvq_f32(s);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  const V vi = set1(inv);
  for (i = 0; i + kW <= n; i += kW) vst1q_f32(x + i, vmulq_f32(vld1q_f32(x + i), vi));
  for (; i < n; ++i) x[i] *= inv;
}

void silu_neon(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) vst1q_f32(x + i, silu_v(vld1q_f32(x + i)));
  for (; i < n; ++i) x[i] = silu1(x[i]);
}

void swiglu_neon(const float* gate, const float* up, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW)
    vst1q_f32(out + i, vmulq_f32(silu_v(vld1q_f32(gate + i)), vld1q_f32(up + i)));
  for (; i < n; ++i) out[i] = silu1(gate[i]) * up[i];
}

void gelu_neon(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) vst1q_f32(x + i, gelu_v(vld1q_f32(x + i)));
  for (; i < n; ++i) x[i] = gelu1(x[i]);
}

void geglu_neon(const float* gate, const float* up, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW)
    vst1q_f32(out + i, vmulq_f32(gelu_v(vld1q_f32(gate + i)), vld1q_f32(up + i)));
  for (; i < n; ++i) out[i] = gelu1(gate[i]) * up[i];
}

float dot_f32_neon(const float* a, const float* b, int64_t n) {
  // Four independent accumulators: an FMA's latency is about four times its issue interval.
  V s0 = set1(0.0f), s1 = set1(0.0f), s2 = set1(0.0f), s3 = set1(0.0f);
  int64_t i = 0;
  for (; i + 4 * kW <= n; i += 4 * kW) {
    s0 = fma(vld1q_f32(a + i), vld1q_f32(b + i), s0);
    s1 = fma(vld1q_f32(a + i + kW), vld1q_f32(b + i + kW), s1);
    s2 = fma(vld1q_f32(a + i + 2 * kW), vld1q_f32(b + i + 2 * kW), s2);
    s3 = fma(vld1q_f32(a + i + 3 * kW), vld1q_f32(b + i + 3 * kW), s3);
  }
  for (; i + kW <= n; i += kW) s0 = fma(vld1q_f32(a + i), vld1q_f32(b + i), s0);
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_neon(float a, const float* x, int64_t n, float* y) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
  for (; i < n; ++i) y[i] += a * x[i];
}

float dot_f16_f32_neon(const uint16_t* x, const float* y, int64_t n) {
  V s0 = set1(0.0f), s1 = set1(0.0f);
  int64_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    s0 = fma(neon::load_f16x4(x + i), vld1q_f32(y + i), s0);
    s1 = fma(neon::load_f16x4(x + i + kW), vld1q_f32(y + i + kW), s1);
  }
  for (; i + kW <= n; i += kW) s0 = fma(neon::load_f16x4(x + i), vld1q_f32(y + i), s0);
  float s = vaddvq_f32(vaddq_f32(s0, s1));
  for (; i < n; ++i) s += neon::fp16(x[i]) * y[i];
  return s;
}

void axpy_f16_neon(float a, const uint16_t* x, int64_t n, float* y) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW)
    vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), neon::load_f16x4(x + i), a));
  for (; i < n; ++i) y[i] += a * neon::fp16(x[i]);
}

void f32_to_f16_neon(const float* x, int64_t n, uint16_t* out) {
  // FCVTN rounds with the FPCR mode, round-to-nearest-even unless a program changed it.
  int64_t i = 0;
  for (; i + kW <= n; i += kW) vst1_u16(out + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  for (; i < n; ++i) out[i] = tensor::fp32_to_fp16(x[i]);
}

}  // namespace

OpsTable ops_neon() {
  return {rms_norm_neon, softmax_neon,     silu_neon,     swiglu_neon,     gelu_neon, geglu_neon,
          dot_f32_neon,  axpy_neon,        dot_f16_f32_neon, axpy_f16_neon, f32_to_f16_neon};
}

}  // namespace tandem::kernels::detail
