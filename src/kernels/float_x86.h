#pragma once
// The x86 vector wrapper of the float-weight kernels (algorithms in float_gemm.inc), compiled by
// float_avx2.cpp (8 lanes) and float_avx512.cpp (16 lanes). Anonymous namespace: each file keeps
// its own copy built with its own flags.
#include <cstdint>
#include <type_traits>

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
inline Vec vload_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline Vec vload_bf16(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
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
inline Vec vload_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline Vec vload_bf16(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline float vsum(Vec v) { return simd::hsum(v); }
#endif

inline float half1(uint16_t h) { return simd::fp16(h); }

#include "kernels/float_gemm.inc"

template <int kRows, int kActs>
void register_float_x86(KernelTable& t) {
  using tensor::Type;
  t[Type::F32] = {Type::F32, gemm<Type::F32, kRows, kActs>};
  t[Type::F16] = {Type::F32, gemm<Type::F16, kRows, kActs>};
  t[Type::BF16] = {Type::F32, gemm<Type::BF16, kRows, kActs>};
}

}  // namespace
}  // namespace tandem::kernels::detail
