#pragma once
// SIMD activation quantization (Q8_0, Q8_1, Q8_K) shared by act_quant_avx2.cpp and
// act_quant_avx512.cpp. Same arithmetic as act_quant_scalar.cpp: d = max|x| / 127, q = x * (1/d)
// rounded half-to-even (cvtps in the default rounding mode), so results match it bit for bit.
#include <cmath>

#include "kernels/gemm_table.h"
#include "kernels/simd_x86.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

inline float abs_max(const float* x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  return hmax(m);
}

// Quantizes 32 floats with multiplier id into q; returns the 16-element sums (first, second).
inline void quantize32(const float* x, __m256 id, int8_t* q, int* sum_lo, int* sum_hi) {
  __m256i i[4];
  for (int k = 0; k < 4; ++k) i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id));
  if (sum_lo != nullptr) {
    *sum_lo = hsum_i32(_mm256_add_epi32(i[0], i[1]));
    *sum_hi = hsum_i32(_mm256_add_epi32(i[2], i[3]));
  }
  // packs work within 128-bit lanes; the final permute restores element order.
  const __m256i p01 = _mm256_packs_epi32(i[0], i[1]);
  const __m256i p23 = _mm256_packs_epi32(i[2], i[3]);
  const __m256i bytes = _mm256_packs_epi16(p01, p23);
  const __m256i ordered = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), ordered);
}

inline float inverse_scale(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

void q8_0_row(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<tensor::BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / tensor::kQK; ++b, x += tensor::kQK) {
    const float d = abs_max(x, tensor::kQK) / 127.0f;
    quantize32(x, _mm256_set1_ps(inverse_scale(d)), out[b].qs, nullptr, nullptr);
    out[b].d = tensor::fp32_to_fp16(d);
  }
}

void q8_1_row(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<tensor::BlockQ8_1*>(dst);
  for (int64_t b = 0; b < n / tensor::kQK; ++b, x += tensor::kQK) {
    const float d = abs_max(x, tensor::kQK) / 127.0f;
    int lo, hi;
    quantize32(x, _mm256_set1_ps(inverse_scale(d)), out[b].qs, &lo, &hi);
    out[b].d = tensor::fp32_to_fp16(d);
    out[b].s = tensor::fp32_to_fp16(d * static_cast<float>(lo + hi));
  }
}

void q8_k_row(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<tensor::BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / tensor::kQK_K; ++b, x += tensor::kQK_K) {
    const float d = abs_max(x, tensor::kQK_K) / 127.0f;
    const __m256 id = _mm256_set1_ps(inverse_scale(d));
    out[b].d = d;
    for (int g = 0; g < tensor::kQK_K / 32; ++g) {
      int lo, hi;
      quantize32(x + 32 * g, id, out[b].qs + 32 * g, &lo, &hi);
      out[b].bsums[2 * g] = static_cast<int16_t>(lo);
      out[b].bsums[2 * g + 1] = static_cast<int16_t>(hi);
    }
  }
}

}  // namespace
}  // namespace tandem::kernels::detail
