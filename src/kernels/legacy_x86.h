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

// 16 bytes of packed nibbles -> 32 bytes: low nibbles (elements 0..15) then high (16..31). A
// broadcast load and one variable shift (0 for the low half, 4 for the high) instead of shift +
// insert: one shuffle-port op fewer per block.
inline __m256i nibbles(const uint8_t* qs) {
  const __m256i x = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi32(x, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                          _mm256_set1_epi8(0x0F));
}

// How a weight block's quants relate to its values, which decides the integer dot product:
//   Signed:    x = d * q, q signed                         (Q8_0, IQ4_NL)
//   Offset:    x = d * (q - offset), q unsigned            (Q4_0, Q5_0)  -> dot(q,y) - offset*sum(y)
//   MinOffset: x = d * q + m, q unsigned, Q8_1 activations (Q4_1, Q5_1)  -> + m * s
enum class Kind { Signed, Offset, MinOffset };

struct Q4_0 {
  using Block = tensor::BlockQ4_0;
  static constexpr Kind kind = Kind::Offset;
  static constexpr int offset_shift = 3;  // offset 8
  static __m256i quants(const Block& b) { return nibbles(b.qs); }
};
struct Q5_0 {
  using Block = tensor::BlockQ5_0;
  static constexpr Kind kind = Kind::Offset;
  static constexpr int offset_shift = 4;  // offset 16
  static __m256i quants(const Block& b) {
    return _mm256_or_si256(nibbles(b.qs), simd::expand_high_bits(b.qh));
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
    return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), nibbles(b.qs));
  }
};
struct Q4_1 {
  using Block = tensor::BlockQ4_1;
  static constexpr Kind kind = Kind::MinOffset;
  static constexpr int offset_shift = 0;
  static __m256i quants(const Block& b) { return nibbles(b.qs); }
};
struct Q5_1 {
  using Block = tensor::BlockQ5_1;
  static constexpr Kind kind = Kind::MinOffset;
  static constexpr int offset_shift = 0;
  static __m256i quants(const Block& b) {
    return _mm256_or_si256(nibbles(b.qs), simd::expand_high_bits(b.qh));
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

using simd::prefetch_ahead;  // (decode's software prefetch, simd_x86.h)

// ---- One activation row (decode) ----
// Memory-bound, so the aim is few instructions per weight byte. Blocks go in groups of 4: each
// block's products are summed to 8 int32 lanes as usual, then two rounds of vphaddd fold the 4
// blocks into one vector (lanes [b0 b1 b2 b3 | b0 b1 b2 b3], each half holding half of a block's
// sum), so the offset correction, the int->float conversion and the scale FMA happen once per 4
// blocks, with the 4 fp16 scales converted together. From L2 on one Zen 5 core this took Q4_0 /
// Q5_0 / Q4_1 from ~20 / ~17 / ~16 GB/s (one block at a time, each scale converted and broadcast
// on its own) to ~27 / ~24 / ~26 GB/s.

// The activation side of a group of 4 blocks.
struct alignas(32) ActGroup {
  __m256i start;  // Offset kinds: -offset * sum(y), laid out like the folded sums (group_dot)
  __m256 da;      // [da0 da1 da2 da3 | da0 da1 da2 da3]
  __m128 s;       // MinOffset kinds: the 4 blocks' s
};

// Four fp16 values as 8 floats [v0 v1 v2 v3 | v0 v1 v2 v3].
inline __m256 halves4x2(const uint16_t& v0, const uint16_t& v1, const uint16_t& v2,
                        const uint16_t& v3) {
  const uint64_t packed = v0 | uint64_t{v1} << 16 | uint64_t{v2} << 32 | uint64_t{v3} << 48;
  return _mm256_cvtph_ps(_mm_set1_epi64x(static_cast<long long>(packed)));
}

template <class T>
inline ActGroup act_group(const ActBlock<T>* a) {
  ActGroup g;
  g.da = halves4x2(a[0].d, a[1].d, a[2].d, a[3].d);
  g.s = _mm_setzero_ps();
  g.start = _mm256_setzero_si256();
  if constexpr (T::kind == Kind::MinOffset)
    g.s = _mm256_castps256_ps128(halves4x2(a[0].s, a[1].s, a[2].s, a[3].s));
  if constexpr (T::kind == Kind::Offset) {
    // sum(y) of each block, folded like the weight sums in group_dot (halves split each block's
    // sum, which is fine: both halves get the same scale).
    auto ysum = [&](int k) {
      const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[k].qs));
      return simd::dot_u8_i8(_mm256_setzero_si256(), _mm256_set1_epi8(1), y);
    };
    const __m256i sums = _mm256_hadd_epi32(_mm256_hadd_epi32(ysum(0), ysum(1)),
                                           _mm256_hadd_epi32(ysum(2), ysum(3)));
    g.start = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, T::offset_shift));
  }
  return g;
}

// dot(q, y) of one block in 8 int32 lanes, without the offset correction.
template <class T>
inline __m256i block_sums(const typename T::Block& b, const int8_t* y_qs) {
  const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y_qs));
  if constexpr (T::kind == Kind::Signed)
    return simd::dot_i8_i8(_mm256_setzero_si256(), T::quants(b), y);
  else
    return simd::dot_u8_i8(_mm256_setzero_si256(), T::quants(b), y);
}

// acc += the 4 blocks' products; macc += their m * s (MinOffset kinds).
template <class T>
inline __m256 group_dot(const typename T::Block* w, const ActBlock<T>* a, const ActGroup& g,
                        __m256 acc, __m128& macc) {
  __m256i folded;
  if constexpr (T::kind == Kind::Signed) {
    const __m256i s01 = _mm256_hadd_epi32(block_sums<T>(w[0], a[0].qs), block_sums<T>(w[1], a[1].qs));
    const __m256i s23 = _mm256_hadd_epi32(block_sums<T>(w[2], a[2].qs), block_sums<T>(w[3], a[3].qs));
    folded = _mm256_hadd_epi32(s01, s23);
  } else {
    // Unsigned quants of at most 5 bits: a sum of 8 products is at most 8 * 31 * 127 = 31496,
    // so the fold can stay in int16 lanes (vpmaddubsw's own output) down to one int16 pair per
    // block and half, and a single vpmaddwd per group widens it.
    auto pairs = [&](int k) {
      const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[k].qs));
      return _mm256_maddubs_epi16(T::quants(w[k]), y);
    };
    const __m256i p01 = _mm256_hadd_epi16(pairs(0), pairs(1));
    const __m256i p23 = _mm256_hadd_epi16(pairs(2), pairs(3));
    folded = _mm256_madd_epi16(_mm256_hadd_epi16(p01, p23), _mm256_set1_epi16(1));
  }
  const __m256i sums = _mm256_add_epi32(folded, g.start);
  const __m256 d = _mm256_mul_ps(halves4x2(w[0].d, w[1].d, w[2].d, w[3].d), g.da);
  if constexpr (T::kind == Kind::MinOffset)
    macc = _mm_fmadd_ps(_mm256_castps256_ps128(halves4x2(w[0].m, w[1].m, w[2].m, w[3].m)), g.s, macc);
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), d, acc);
}

template <class T>
void decode_rows(int64_t nb, const uint8_t* w, size_t w_stride, int64_t n_rows,
                 const ActBlock<T>* a, float* out) {
  using WB = typename T::Block;
  const int64_t groups = nb / 4;
  thread_local std::vector<ActGroup> group_sides;
  thread_local std::vector<ActSide> tail_sides;  // the last nb % 4 blocks, one at a time
  if (static_cast<int64_t>(group_sides.size()) < groups) group_sides.resize(static_cast<size_t>(groups));
  tail_sides.resize(4);
  for (int64_t g = 0; g < groups; ++g) group_sides[g] = act_group<T>(a + 4 * g);
  for (int64_t b = 4 * groups; b < nb; ++b) tail_sides[b - 4 * groups] = act_side<T>(a[b]);
  const ActGroup* ag = group_sides.data();
  const uint8_t* end = w + n_rows * w_stride;
  for (int64_t i = 0; i < n_rows; ++i) {
    const WB* wr = reinterpret_cast<const WB*>(w + i * w_stride);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m128 macc = _mm_setzero_ps();
    int64_t g = 0;
    for (; g + 2 <= groups; g += 2) {
      prefetch_ahead(reinterpret_cast<const uint8_t*>(wr + 4 * g), 8 * static_cast<int>(sizeof(WB)), end);
      acc0 = group_dot<T>(wr + 4 * g, a + 4 * g, ag[g], acc0, macc);
      acc1 = group_dot<T>(wr + 4 * g + 4, a + 4 * g + 4, ag[g + 1], acc1, macc);
    }
    if (g < groups) acc0 = group_dot<T>(wr + 4 * g, a + 4 * g, ag[g], acc0, macc);
    float min_sum = 0.0f;
    for (int64_t b = 4 * groups; b < nb; ++b) {
      acc1 = accumulate<T>(T::quants(wr[b]), _mm256_set1_ps(fp16(wr[b].d)), tail_sides[b - 4 * groups], acc1);
      if constexpr (T::kind == Kind::MinOffset) min_sum += fp16(wr[b].m) * fp16(a[b].s);
    }
    if constexpr (T::kind == Kind::MinOffset) {
      __m128 m = _mm_add_ps(macc, _mm_movehl_ps(macc, macc));
      m = _mm_add_ss(m, _mm_movehdup_ps(m));
      min_sum += _mm_cvtss_f32(m);
    }
    out[i] = simd::hsum(_mm256_add_ps(acc0, acc1)) + min_sum;
  }
}

// No small-batch decode kernel on this path: the tile kernels take 2+ activation rows.
template <class T>
bool decode_few_acts(int64_t, const uint8_t*, size_t, int64_t, const uint8_t*, size_t, int64_t,
                     float*, size_t) {
  return false;
}

#include "kernels/legacy_gemm.inc"

}  // namespace
}  // namespace tandem::kernels::detail
