#pragma once
// Float-weight kernels (F32, F16, BF16 weights x F32 activations) for x86, compiled by
// float_avx2.cpp (8 lanes) and float_avx512.cpp (16 lanes). Anonymous namespace: each file keeps
// its own copy built with its own flags.
#include <cstdint>

#include "kernels/gemm_table.h"
#include "kernels/simd_x86.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16;
inline Vec vzero() { return _mm512_setzero_ps(); }
inline Vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline Vec vload(const uint16_t* p, tensor::Type t) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if (t == tensor::Type::F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline float vsum(Vec v) { return _mm512_reduce_add_ps(v); }
#else
using Vec = __m256;
constexpr int kLanes = 8;
inline Vec vzero() { return _mm256_setzero_ps(); }
inline Vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline Vec vload(const uint16_t* p, tensor::Type t) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if (t == tensor::Type::F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline float vsum(Vec v) { return simd::hsum(v); }
#endif

template <tensor::Type kType>
struct Weights {
  using Elem = std::conditional_t<kType == tensor::Type::F32, float, uint16_t>;
  static Vec load(const Elem* p) {
    if constexpr (kType == tensor::Type::F32)
      return vload(p);
    else
      return vload(p, kType);
  }
  static float scalar(const Elem* p) {
    if constexpr (kType == tensor::Type::F32)
      return *p;
    else if constexpr (kType == tensor::Type::F16)
      return simd::fp16(*p);
    else
      return tensor::bf16_to_fp32(*p);
  }
};

template <tensor::Type kType, int R, int A>
void tile(int64_t cols, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
          float* out, size_t out_stride) {
  using W = Weights<kType>;
  using Elem = typename W::Elem;
  const Elem* wr[R];
  const float* ar[A];
  for (int r = 0; r < R; ++r) wr[r] = reinterpret_cast<const Elem*>(w + r * w_stride);
  for (int j = 0; j < A; ++j) ar[j] = reinterpret_cast<const float*>(a + j * a_stride);
  // A 1x1 tile would be one chain of dependent FMAs: kChains accumulators break it.
  constexpr int kChains = R * A == 1 ? 4 : 1;
  Vec accs[kChains][R][A];
  for (int c = 0; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) accs[c][r][j] = vzero();
  auto body = [&](int64_t k, Vec (&acc)[R][A]) {
    Vec wv[R];
    for (int r = 0; r < R; ++r) wv[r] = W::load(wr[r] + k);
    for (int j = 0; j < A; ++j) {
      const Vec x = vload(ar[j] + k);
      for (int r = 0; r < R; ++r) acc[r][j] = vfma(wv[r], x, acc[r][j]);
    }
  };
  int64_t k = 0;
  for (; k + kChains * kLanes <= cols; k += kChains * kLanes)
    for (int c = 0; c < kChains; ++c) body(k + c * kLanes, accs[c]);
  for (; k + kLanes <= cols; k += kLanes) body(k, accs[0]);
  auto& acc = accs[0];
  for (int c = 1; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) acc[r][j] = vadd(acc[r][j], accs[c][r][j]);
  for (int j = 0; j < A; ++j)
    for (int r = 0; r < R; ++r) {
      float s = vsum(acc[r][j]);
      for (int64_t t = k; t < cols; ++t) s += W::scalar(wr[r] + t) * ar[j][t];
      out[j * out_stride + r] = s;
    }
}

template <tensor::Type kType, int kRows, int kActs>
void gemm(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
          size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  auto run_acts = [&]<int R>(int64_t i) {
    const uint8_t* wi = wb + i * w_stride;
    int64_t j = 0;
    for (; j + kActs <= n_act; j += kActs)
      tile<kType, R, kActs>(cols, wi, w_stride, ab + j * a_stride, a_stride,
                            out + j * out_stride + i, out_stride);
    for (; j < n_act; ++j)
      tile<kType, R, 1>(cols, wi, w_stride, ab + j * a_stride, a_stride, out + j * out_stride + i,
                        out_stride);
  };
  int64_t i = 0;
  // One activation row (decode) is memory-bound: walk the weights one row at a time, a single
  // sequential stream the hardware prefetcher follows. Several rows in lockstep measured 2-3x
  // slower from DRAM (interleaved short streams defeat the prefetcher).
  if (n_act == 1) {
    for (; i < n_rows; ++i) run_acts.template operator()<1>(i);
    return;
  }
  for (; i + kRows <= n_rows; i += kRows) run_acts.template operator()<kRows>(i);
  for (; i < n_rows; ++i) run_acts.template operator()<1>(i);
}

template <int kRows, int kActs>
void register_float_x86(KernelTable& t) {
  using tensor::Type;
  t[Type::F32] = {Type::F32, gemm<Type::F32, kRows, kActs>};
  t[Type::F16] = {Type::F32, gemm<Type::F16, kRows, kActs>};
  t[Type::BF16] = {Type::F32, gemm<Type::BF16, kRows, kActs>};
}

}  // namespace
}  // namespace tandem::kernels::detail
