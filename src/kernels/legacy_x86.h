#pragma once
// The 32-element block kernels on 256-bit vectors, one block per register (legacy_avx2.cpp; the
// AVX-512 path has its own two-blocks-per-register version in legacy_avx512.cpp). Everything is
// in an anonymous namespace so an including file keeps its own copy built with its own flags.
// With VNNI compiled in, simd::dot_u8_i8 uses vpdpbusd instead of maddubs.
//
// A tile computes R weight rows x A activation rows: the R rows' blocks are decoded once and
// reused for A activations; the A activation blocks are reused for R rows. A single activation
// row (decode) takes decode_rows instead.
#include <algorithm>
#include <vector>

#include "kernels/gemm_table.h"
#include "kernels/simd_x86.h"
#include "tensor/blocks.h"

namespace tandem::kernels::detail {
namespace {

using simd::fp16;

// How a weight block's quants relate to its values, which decides the integer dot product:
//   Signed:    x = d * q, q signed                         (Q8_0, IQ4_NL)
//   Offset:    x = d * (q - offset), q unsigned            (Q4_0, Q5_0)  -> dot(q,y) - offset*sum(y)
//   MinOffset: x = d * q + m, q unsigned, Q8_1 activations (Q4_1, Q5_1)  -> + m * s
enum class Kind { Signed, Offset, MinOffset };

struct Q4_0 {
  using Block = tensor::BlockQ4_0;
  static constexpr Kind kind = Kind::Offset;
  static constexpr int offset_shift = 3;  // offset 8
  static __m256i quants(const Block& b) { return simd::unpack_nibbles(b.qs); }
};
struct Q5_0 {
  using Block = tensor::BlockQ5_0;
  static constexpr Kind kind = Kind::Offset;
  static constexpr int offset_shift = 4;  // offset 16
  static __m256i quants(const Block& b) {
    return _mm256_or_si256(simd::unpack_nibbles(b.qs), simd::expand_high_bits(b.qh));
  }
};
struct Q8_0 {
  using Block = tensor::BlockQ8_0;
  static constexpr Kind kind = Kind::Signed;
  static constexpr int offset_shift = 0;
  static __m256i quants(const Block& b) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
  }
};
struct IQ4_NL {
  using Block = tensor::BlockIQ4_NL;
  static constexpr Kind kind = Kind::Signed;
  static constexpr int offset_shift = 0;
  static __m256i quants(const Block& b) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tensor::kIQ4NLValues));
    return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), simd::unpack_nibbles(b.qs));
  }
};
struct Q4_1 {
  using Block = tensor::BlockQ4_1;
  static constexpr Kind kind = Kind::MinOffset;
  static constexpr int offset_shift = 0;
  static __m256i quants(const Block& b) { return simd::unpack_nibbles(b.qs); }
};
struct Q5_1 {
  using Block = tensor::BlockQ5_1;
  static constexpr Kind kind = Kind::MinOffset;
  static constexpr int offset_shift = 0;
  static __m256i quants(const Block& b) {
    return _mm256_or_si256(simd::unpack_nibbles(b.qs), simd::expand_high_bits(b.qh));
  }
};

template <class T>
using ActBlock = std::conditional_t<T::kind == Kind::MinOffset, tensor::BlockQ8_1,
                                    tensor::BlockQ8_0>;

// The activation side of one block: its bytes, its scale, and (Offset kinds) the integer sum's
// starting value -offset * sum(y) spread over the 8 lanes.
struct alignas(32) ActSide {
  __m256i y;
  __m256i start;
  __m256 da;
};

template <class T>
inline ActSide act_side(const ActBlock<T>& block) {
  ActSide s;
  s.y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.qs));
  s.da = _mm256_set1_ps(fp16(block.d));
  s.start = _mm256_setzero_si256();
  if constexpr (T::kind == Kind::Offset) {
    const __m256i ysum = simd::dot_u8_i8(_mm256_setzero_si256(), _mm256_set1_epi8(1), s.y);
    s.start = _mm256_sub_epi32(s.start, _mm256_slli_epi32(ysum, T::offset_shift));
  }
  return s;
}

// acc += d * da * dot(q, y) over the 8 lanes of one block.
template <class T>
inline __m256 accumulate(__m256i q, __m256 d, const ActSide& s, __m256 acc) {
  __m256i dot;
  if constexpr (T::kind == Kind::Signed)
    dot = simd::dot_i8_i8(s.start, q, s.y);
  else
    dot = simd::dot_u8_i8(s.start, q, s.y);
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(d, s.da), acc);
}

template <class T, int R, int A>
void tile(int64_t nb, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
          float* out, size_t out_stride) {
  using WB = typename T::Block;
  using AB = ActBlock<T>;
  // A 1x1 tile would be one long chain of dependent FMAs: kChains accumulators break it.
  constexpr int kChains = R * A == 1 ? 4 : 1;
  __m256 accs[kChains][R][A];
  float min_acc[R][A];
  for (int c = 0; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) accs[c][r][j] = _mm256_setzero_ps();
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < A; ++j) min_acc[r][j] = 0.0f;
  const WB* wr[R];
  const AB* ar[A];
  for (int r = 0; r < R; ++r) wr[r] = reinterpret_cast<const WB*>(w + r * w_stride);
  for (int j = 0; j < A; ++j) ar[j] = reinterpret_cast<const AB*>(a + j * a_stride);

  auto body = [&](int64_t b, __m256 (&acc)[R][A]) {
    __m256i q[R];
    __m256 d[R];
    for (int r = 0; r < R; ++r) {
      q[r] = T::quants(wr[r][b]);
      d[r] = _mm256_set1_ps(fp16(wr[r][b].d));
    }
    for (int j = 0; j < A; ++j) {
      const ActSide side = act_side<T>(ar[j][b]);
      for (int r = 0; r < R; ++r) {
        acc[r][j] = accumulate<T>(q[r], d[r], side, acc[r][j]);
        if constexpr (T::kind == Kind::MinOffset)
          min_acc[r][j] += fp16(wr[r][b].m) * fp16(ar[j][b].s);
      }
    }
  };
  int64_t b = 0;
  for (; b + kChains <= nb; b += kChains)
    for (int c = 0; c < kChains; ++c) body(b + c, accs[c]);
  for (; b < nb; ++b) body(b, accs[0]);
  for (int c = 1; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) accs[0][r][j] = _mm256_add_ps(accs[0][r][j], accs[c][r][j]);
  for (int j = 0; j < A; ++j)
    for (int r = 0; r < R; ++r) out[j * out_stride + r] = simd::hsum(accs[0][r][j]) + min_acc[r][j];
}

// One activation row (decode): prepare its blocks once, then stream every weight row past them
// with four independent accumulator chains.
template <class T>
void decode_rows(int64_t nb, const uint8_t* w, size_t w_stride, int64_t n_rows,
                 const ActBlock<T>* a, float* out) {
  using WB = typename T::Block;
  thread_local std::vector<ActSide> sides;
  if (static_cast<int64_t>(sides.size()) < nb) sides.resize(static_cast<size_t>(nb));
  for (int64_t b = 0; b < nb; ++b) sides[b] = act_side<T>(a[b]);
  const ActSide* as = sides.data();
  for (int64_t i = 0; i < n_rows; ++i) {
    const WB* wr = reinterpret_cast<const WB*>(w + i * w_stride);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float min_acc = 0.0f;
    auto block = [&](int64_t b, __m256& chain) {
      chain = accumulate<T>(T::quants(wr[b]), _mm256_set1_ps(fp16(wr[b].d)), as[b], chain);
      if constexpr (T::kind == Kind::MinOffset) min_acc += fp16(wr[b].m) * fp16(a[b].s);
    };
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4)
      for (int c = 0; c < 4; ++c) block(b + c, acc[c]);
    for (; b < nb; ++b) block(b, acc[0]);
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    out[i] = simd::hsum(sum) + min_acc;
  }
}

#include "kernels/legacy_gemm.inc"

}  // namespace
}  // namespace tandem::kernels::detail
