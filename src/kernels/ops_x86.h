#pragma once
// SIMD versions of the hot ops (ops_table.h), written once over a small vector wrapper and
// compiled by ops_avx2.cpp (8 lanes) and ops_avx512.cpp (16 lanes). Tails run scalar.
#include <cmath>
#include <cstdint>

#include "kernels/ops_table.h"
#include "kernels/simd_x86.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

#if defined(__AVX512F__)
constexpr int kW = 16;
using V = __m512;
using VI = __m512i;
inline V load(const float* p) { return _mm512_loadu_ps(p); }
inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V set1(float f) { return _mm512_set1_ps(f); }
inline V zero() { return _mm512_setzero_ps(); }
inline V add(V a, V b) { return _mm512_add_ps(a, b); }
inline V sub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V div(V a, V b) { return _mm512_div_ps(a, b); }
inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
inline float reduce_add(V v) { return _mm512_reduce_add_ps(v); }
inline float reduce_max(V v) { return _mm512_reduce_max_ps(v); }
inline V round_nearest(V v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline V pow2i(V n) {  // 2^n for integral n in [-126, 127]
  const VI e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_castsi512_ps(e);
}
inline V zero_below(V v, V x, float limit) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, set1(limit), _CMP_GE_OQ), v);
}
inline V load_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline void store_f16(uint16_t* p, V v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
#else
constexpr int kW = 8;
using V = __m256;
using VI = __m256i;
inline V load(const float* p) { return _mm256_loadu_ps(p); }
inline void store(float* p, V v) { _mm256_storeu_ps(p, v); }
inline V set1(float f) { return _mm256_set1_ps(f); }
inline V zero() { return _mm256_setzero_ps(); }
inline V add(V a, V b) { return _mm256_add_ps(a, b); }
inline V sub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V mul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V div(V a, V b) { return _mm256_div_ps(a, b); }
inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
inline float reduce_add(V v) { return simd::hsum(v); }
inline float reduce_max(V v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
inline V round_nearest(V v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline V pow2i(V n) {
  const VI e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_castsi256_ps(e);
}
inline V zero_below(V v, V x, float limit) {
  return _mm256_and_ps(v, _mm256_cmp_ps(x, set1(limit), _CMP_GE_OQ));
}
inline V load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline void store_f16(uint16_t* p, V v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
#endif

// e^x: x = n ln2 + r with |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (relative error
// about 1e-7), 2^n through the exponent bits. Inputs below -87.3 (including -inf, as masked
// attention scores are) give 0; above 88.3 are clamped.
inline V exp_v(V x) {
  constexpr float kLow = -87.3f, kHigh = 88.3f;
  const V xc = vmin(vmax(x, set1(kLow)), set1(kHigh));
  const V n = round_nearest(mul(xc, set1(1.44269504088896341f)));
  V r = fnma(n, set1(0.693145751953125f), xc);  // ln2 split in two for an exact first step
  r = fnma(n, set1(1.428606765330187e-06f), r);
  V p = set1(1.0f / 720.0f);
  p = fma(p, r, set1(1.0f / 120.0f));
  p = fma(p, r, set1(1.0f / 24.0f));
  p = fma(p, r, set1(1.0f / 6.0f));
  p = fma(p, r, set1(0.5f));
  p = fma(p, r, set1(1.0f));
  p = fma(p, r, set1(1.0f));
  return zero_below(mul(p, pow2i(n)), x, kLow);
}

inline V silu_v(V x) { return div(x, add(set1(1.0f), exp_v(sub(zero(), x)))); }
inline float silu1(float v) { return v / (1.0f + std::exp(-v)); }

// GELU, tanh approximation: 0.5 x (1 + tanh(u)) = x - x / (e^(2u) + 1) with
// u = sqrt(2/pi) (x + 0.044715 x^3). exp_v clamps, so large |u| gives exactly x or 0.
inline V gelu_v(V x) {
  const V u2 = mul(mul(set1(2.0f * 0.7978845608028654f), x), fma(mul(set1(0.044715f), x), x, set1(1.0f)));
  return sub(x, div(x, add(exp_v(u2), set1(1.0f))));
}
inline float gelu1(float v) {
  return 0.5f * v * (1.0f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}

void rms_norm_simd(const float* x, const float* weight, int64_t n, float eps, float* out) {
  V s0 = zero(), s1 = zero();
  int64_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    const V a = load(x + i), b = load(x + i + kW);
    s0 = fma(a, a, s0);
    s1 = fma(b, b, s1);
  }
  double ss = reduce_add(add(s0, s1));
  for (; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  const V vi = set1(inv);
  i = 0;
  for (; i + kW <= n; i += kW) {
    V v = mul(load(x + i), vi);
    if (weight != nullptr) v = mul(v, load(weight + i));
    store(out + i, v);
  }
  for (; i < n; ++i) out[i] = x[i] * inv * (weight != nullptr ? weight[i] : 1.0f);
}

void softmax_simd(float* x, int64_t n) {
  if (n <= 0) return;
  int64_t i = 0;
  V m = set1(-INFINITY);
  for (; i + kW <= n; i += kW) m = vmax(m, load(x + i));
  float mx = reduce_max(m);
  for (; i < n; ++i) mx = std::max(mx, x[i]);
  const V vm = set1(mx);
  V s = zero();
  for (i = 0; i + kW <= n; i += kW) {
    const V e = exp_v(sub(load(x + i), vm));
    store(x + i, e);
    s = add(s, e);
  }
  float sum = reduce_add(s);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  const V vi = set1(inv);
  for (i = 0; i + kW <= n; i += kW) store(x + i, mul(load(x + i), vi));
  for (; i < n; ++i) x[i] *= inv;
}

void silu_simd(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store(x + i, silu_v(load(x + i)));
  for (; i < n; ++i) x[i] = silu1(x[i]);
}

void swiglu_simd(const float* gate, const float* up, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store(out + i, mul(silu_v(load(gate + i)), load(up + i)));
  for (; i < n; ++i) out[i] = silu1(gate[i]) * up[i];
}

void gelu_simd(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store(x + i, gelu_v(load(x + i)));
  for (; i < n; ++i) x[i] = gelu1(x[i]);
}

void geglu_simd(const float* gate, const float* up, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store(out + i, mul(gelu_v(load(gate + i)), load(up + i)));
  for (; i < n; ++i) out[i] = gelu1(gate[i]) * up[i];
}

float dot_f32_simd(const float* a, const float* b, int64_t n) {
  V s0 = zero(), s1 = zero(), s2 = zero(), s3 = zero();
  int64_t i = 0;
  for (; i + 4 * kW <= n; i += 4 * kW) {
    s0 = fma(load(a + i), load(b + i), s0);
    s1 = fma(load(a + i + kW), load(b + i + kW), s1);
    s2 = fma(load(a + i + 2 * kW), load(b + i + 2 * kW), s2);
    s3 = fma(load(a + i + 3 * kW), load(b + i + 3 * kW), s3);
  }
  for (; i + kW <= n; i += kW) s0 = fma(load(a + i), load(b + i), s0);
  float s = reduce_add(add(add(s0, s1), add(s2, s3)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_simd(float a, const float* x, int64_t n, float* y) {
  const V va = set1(a);
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store(y + i, fma(va, load(x + i), load(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

float dot_f16_f32_simd(const uint16_t* x, const float* y, int64_t n) {
  V s0 = zero(), s1 = zero();
  int64_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    s0 = fma(load_f16(x + i), load(y + i), s0);
    s1 = fma(load_f16(x + i + kW), load(y + i + kW), s1);
  }
  for (; i + kW <= n; i += kW) s0 = fma(load_f16(x + i), load(y + i), s0);
  float s = reduce_add(add(s0, s1));
  for (; i < n; ++i) s += simd::fp16(x[i]) * y[i];
  return s;
}

void axpy_f16_simd(float a, const uint16_t* x, int64_t n, float* y) {
  const V va = set1(a);
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store(y + i, fma(va, load_f16(x + i), load(y + i)));
  for (; i < n; ++i) y[i] += a * simd::fp16(x[i]);
}

void f32_to_f16_simd(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store_f16(out + i, load(x + i));
  for (; i < n; ++i) out[i] = tensor::fp32_to_fp16(x[i]);
}

OpsTable simd_ops() {
  return {rms_norm_simd, softmax_simd,     silu_simd,     swiglu_simd,    gelu_simd, geglu_simd,
          dot_f32_simd,  axpy_simd,        dot_f16_f32_simd, axpy_f16_simd, f32_to_f16_simd};
}

}  // namespace
}  // namespace tandem::kernels::detail
