// AVX-512 k-quant x Q8_K kernels (compiled with AVX-512 F/BW/VL/DQ/VNNI).
//
// Same scheme as kquant_avx2.cpp with 64-value chunks in zmm registers: a weight super-block
// unpacks into four chunks of small unsigned integers plus a vector of 16-bit sub-block scales per
// chunk, and each chunk is multiplied with up to kMaxActs activation rows while in a register.
// Per chunk and activation row: vpmaddubsw gives 16-bit pair sums (exact, q < 64), and the VNNI
// vpdpwssd multiplies them by the scales and accumulates in 32 bits in one instruction.
// GCC 12 flags the _mm512_undefined_*() placeholders inside its own intrinsics as uninitialized
// once they are inlined (GCC bug 105593); the warning says nothing about this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "kernels/kquant_format.h"
#include "kernels/kquant_kernels.h"
#include "kernels/kquant_simd_common.h"

namespace tandem::kernels::detail {
namespace {

using kquant::Bias;
using kquant::unroll;
using tensor::BlockQ8_K;

constexpr int kMaxActs = 8;  // 8 int + 8 float accumulators leave room in 32 zmm registers

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m512i bytes(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }

// [lo | hi] as one zmm.
inline __m512i join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

template <int L>
inline __m512i shift_left(__m512i v) {
  if constexpr (L > 0) return _mm512_slli_epi16(v, L);
  else if constexpr (L < 0) return _mm512_srli_epi16(v, -L);
  else return v;
}

// int16 lane i of the result = lane (i / (32 / N)) + N * C of `scales` (its first 16 lanes):
// the scale vector of chunk C when each chunk spans N sub-blocks (N = 2: 32 values per scale,
// N = 4: 16 values per scale).
template <int N, int C>
inline __m512i scales_for_chunk(__m512i scales) {
  alignas(64) static constexpr int16_t kIdx[32] = {
#define TANDEM_L(i) static_cast<int16_t>((i) / (32 / N) + N * C)
      TANDEM_L(0),  TANDEM_L(1),  TANDEM_L(2),  TANDEM_L(3),  TANDEM_L(4),  TANDEM_L(5),
      TANDEM_L(6),  TANDEM_L(7),  TANDEM_L(8),  TANDEM_L(9),  TANDEM_L(10), TANDEM_L(11),
      TANDEM_L(12), TANDEM_L(13), TANDEM_L(14), TANDEM_L(15), TANDEM_L(16), TANDEM_L(17),
      TANDEM_L(18), TANDEM_L(19), TANDEM_L(20), TANDEM_L(21), TANDEM_L(22), TANDEM_L(23),
      TANDEM_L(24), TANDEM_L(25), TANDEM_L(26), TANDEM_L(27), TANDEM_L(28), TANDEM_L(29),
      TANDEM_L(30), TANDEM_L(31)};
#undef TANDEM_L
  return _mm512_permutexvar_epi16(load512(kIdx), scales);
}

struct Common {
  float d = 0.0f;
  float dmin = 0.0f;
  __m256i bias16 = _mm256_setzero_si256();  // one int16 per 16 values, paired with bsums
  __m512i sc = _mm512_setzero_si512();      // int16 scales in the low lanes
};

inline __m512i widen_u8(uint64_t eight_bytes) {
  return _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(eight_bytes))));
}

// Q4_K / Q5_K: 8 sub-blocks of 32; chunk j = sub-blocks 2j (low nibbles of qs[32j..]) and 2j+1
// (high nibbles).
inline Common prepare_k4(uint16_t d, uint16_t dmin, const uint8_t* packed) {
  Common s;
  s.d = _cvtsh_ss(d);
  s.dmin = _cvtsh_ss(dmin);
  uint64_t sc, mn;
  kquant::decode_scales_mins_k4(packed, &sc, &mn);
  s.sc = widen_u8(sc);
  const __m128i m8 = _mm_cvtsi64_si128(static_cast<long long>(mn));
  s.bias16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
  return s;
}

inline __m512i nibbles_k4(const uint8_t* qs32) {
  const __m256i x = load256(qs32);
  return _mm512_and_si512(join(x, _mm256_srli_epi16(x, 4)), bytes(0x0f));
}

struct Q4K {
  using Block = tensor::BlockQ4_K;
  static constexpr Bias kBias = Bias::Dmin;
  static constexpr bool kSignedQ = false;
  static Common prepare(const Block& b) { return prepare_k4(b.d, b.dmin, b.scales); }
  template <class F>
  static void chunks(const Block& b, const Common& s, F&& f) {
    unroll<4>([&](auto j) {
      f.template operator()<j>(nibbles_k4(b.qs + 32 * j), scales_for_chunk<2, j>(s.sc));
    });
  }
};

// Q5_K: the fifth bit of element 32k + l is bit k of qh[l]; chunk j needs bits 2j and 2j+1.
struct Q5K {
  using Block = tensor::BlockQ5_K;
  static constexpr Bias kBias = Bias::Dmin;
  static constexpr bool kSignedQ = false;
  static Common prepare(const Block& b) { return prepare_k4(b.d, b.dmin, b.scales); }
  template <class F>
  static void chunks(const Block& b, const Common& s, F&& f) {
    const __m256i qh = load256(b.qh);
    const __m512i qh2 = join(qh, _mm256_srli_epi16(qh, 1));  // upper half: bit 2j+1 at 2j
    unroll<4>([&](auto j) {
      const __m512i high = _mm512_and_si512(shift_left<4 - 2 * j>(qh2), bytes(0x10));
      f.template operator()<j>(_mm512_or_si512(nibbles_k4(b.qs + 32 * j), high),
                               scales_for_chunk<2, j>(s.sc));
    });
  }
};

// Q6_K: groups of 16, q - 32 with q = 4 bits of ql + 2 bits of qh. In half h, chunk 2h holds
// values 0..63 (low nibbles of ql[64h..64h+63], qh bits 0-1 then 2-3), chunk 2h+1 values 64..127
// (high nibbles, qh bits 4-5 then 6-7).
struct Q6K {
  using Block = tensor::BlockQ6_K;
  static constexpr Bias kBias = Bias::IntD;
  static constexpr bool kSignedQ = false;
  static Common prepare(const Block& b) {
    Common s;
    s.d = _cvtsh_ss(b.d);
    const __m256i sc = _mm256_cvtepi8_epi16(load128(b.scales));
    s.sc = _mm512_castsi256_si512(sc);
    s.bias16 = _mm256_slli_epi16(sc, 5);
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const Common& s, F&& f) {
    unroll<2>([&](auto h) {
      const __m512i ql = load512(b.ql + 64 * h);
      const __m256i qh = load256(b.qh + 32 * h);
      const __m512i qh2 = join(qh, _mm256_srli_epi16(qh, 2));  // upper half: bits 2-3 at 0-1
      const __m512i m4 = bytes(0x0f), m2 = bytes(0x30);
      const __m512i c0 = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                         _mm512_and_si512(_mm512_slli_epi16(qh2, 4), m2));
      const __m512i c1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                         _mm512_and_si512(qh2, m2));
      f.template operator()<2 * h>(c0, scales_for_chunk<4, 2 * h>(s.sc));
      f.template operator()<2 * h + 1>(c1, scales_for_chunk<4, 2 * h + 1>(s.sc));
    });
  }
};

// Q3_K: groups of 16, low2 + 4 * hbit - 4. 32-value piece k = 4h + j: bits 2j of qs[32h + l]
// and bit k of hmask[l]. Chunk c = pieces 2c, 2c+1.
struct Q3K {
  using Block = tensor::BlockQ3_K;
  static constexpr Bias kBias = Bias::IntD;
  static constexpr bool kSignedQ = false;
  static Common prepare(const Block& b) {
    Common s;
    s.d = _cvtsh_ss(b.d);
    uint64_t lo, hi;
    kquant::decode_scales_q3_k(b.scales, &lo, &hi);
    const __m128i stored = _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo));
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_sub_epi8(stored, _mm_set1_epi8(32)));
    s.sc = _mm512_castsi256_si512(sc);
    s.bias16 = _mm256_slli_epi16(sc, 2);
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const Common& s, F&& f) {
    const __m256i hm = load256(b.hmask);
    const __m512i hm2 = join(hm, _mm256_srli_epi16(hm, 1));  // upper half: bit 2c+1 at 2c
    unroll<2>([&](auto h) {
      const __m256i x = load256(b.qs + 32 * h);
      const __m512i x2 = join(x, _mm256_srli_epi16(x, 2));  // upper half: pair j+1 at j
      unroll<2>([&](auto jj) {
        constexpr int c = 2 * h + jj;
        const __m512i low = _mm512_and_si512(_mm512_srli_epi16(x2, 4 * jj), bytes(3));
        const __m512i high = _mm512_and_si512(shift_left<2 - 2 * c>(hm2), bytes(4));
        f.template operator()<c>(_mm512_or_si512(low, high), scales_for_chunk<4, c>(s.sc));
      });
    });
  }
};

// Q2_K: groups of 16, d * (sc & 15) * q - dmin * (sc >> 4), q = bits 2j of qs[32h + l].
struct Q2K {
  using Block = tensor::BlockQ2_K;
  static constexpr Bias kBias = Bias::Dmin;
  static constexpr bool kSignedQ = false;
  static Common prepare(const Block& b) {
    Common s;
    s.d = _cvtsh_ss(b.d);
    s.dmin = _cvtsh_ss(b.dmin);
    const __m128i raw = load128(b.scales);
    const __m128i m4 = _mm_set1_epi8(0x0f);
    s.sc = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_and_si128(raw, m4)));
    s.bias16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4));
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const Common& s, F&& f) {
    unroll<2>([&](auto h) {
      const __m256i x = load256(b.qs + 32 * h);
      const __m512i x2 = join(x, _mm256_srli_epi16(x, 2));
      unroll<2>([&](auto jj) {
        constexpr int c = 2 * h + jj;
        f.template operator()<c>(_mm512_and_si512(_mm512_srli_epi16(x2, 4 * jj), bytes(3)),
                                 scales_for_chunk<4, c>(s.sc));
      });
    });
  }
};

// IQ4_XS: signed table values, sub-blocks of 32 (16 bytes each: low nibbles then high nibbles).
struct IQ4XS {
  using Block = tensor::BlockIQ4_XS;
  static constexpr Bias kBias = Bias::None;
  static constexpr bool kSignedQ = true;
  static Common prepare(const Block& b) {
    Common s;
    s.d = _cvtsh_ss(b.d);
    const __m128i stored = _mm_cvtsi64_si128(static_cast<long long>(kquant::decode_scales_iq4_xs(b)));
    s.sc = _mm512_castsi128_si512(_mm_cvtepi8_epi16(_mm_sub_epi8(stored, _mm_set1_epi8(32))));
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const Common& s, F&& f) {
    const __m512i table = _mm512_broadcast_i32x4(load128(tensor::kIQ4NLValues));
    unroll<4>([&](auto c) {
      const __m256i x = load256(b.qs + 32 * c);
      // 128-bit lanes [x0, x1, x0>>4, x1>>4] -> [x0, x0>>4, x1, x1>>4] = values in order.
      const __m512i lanes = _mm512_shuffle_i64x2(join(x, _mm256_srli_epi16(x, 4)),
                                                 join(x, _mm256_srli_epi16(x, 4)),
                                                 _MM_SHUFFLE(3, 1, 2, 0));
      const __m512i idx = _mm512_and_si512(lanes, bytes(0x0f));
      f.template operator()<c>(_mm512_shuffle_epi8(table, idx), scales_for_chunk<2, c>(s.sc));
    });
  }
};

inline float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }

template <class K, int NA>
void rows_x_acts(int64_t n_blocks, const uint8_t* w, size_t w_stride, int64_t n_rows,
                 const uint8_t* a, size_t a_stride, float* out, size_t out_stride) {
  using Block = typename K::Block;
  for (int64_t i = 0; i < n_rows; ++i) {
    const auto* wrow = reinterpret_cast<const Block*>(w + i * w_stride);
    __m512 acc[NA];
    for (int j = 0; j < NA; ++j) acc[j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b) {
      const Block& wb = wrow[b];
      const BlockQ8_K* ab[NA];
      for (int j = 0; j < NA; ++j) {
        ab[j] = reinterpret_cast<const BlockQ8_K*>(a + j * a_stride) + b;
      }
      const Common st = K::prepare(wb);
      __m512i isum[NA];
      for (int j = 0; j < NA; ++j) isum[j] = _mm512_setzero_si512();
      K::chunks(wb, st, [&]<int C>(__m512i q, __m512i scale) {
        for (int j = 0; j < NA; ++j) {
          const __m512i av = load512(ab[j]->qs + 64 * C);
          __m512i p;
          if constexpr (K::kSignedQ) {
            // |a| as the unsigned operand, q negated where a < 0 (|q| <= 127: no overflow).
            const __mmask64 neg = _mm512_movepi8_mask(av);
            p = _mm512_maddubs_epi16(_mm512_abs_epi8(av),
                                     _mm512_mask_sub_epi8(q, neg, _mm512_setzero_si512(), q));
          } else {
            p = _mm512_maddubs_epi16(q, av);
          }
          isum[j] = _mm512_dpwssd_epi32(isum[j], p, scale);
        }
      });
      for (int j = 0; j < NA; ++j) {
        const float da = ab[j]->d;
        if constexpr (K::kBias == Bias::IntD) {
          const __m256i m = _mm256_madd_epi16(load256(ab[j]->bsums), st.bias16);
          isum[j] = _mm512_sub_epi32(isum[j], _mm512_zextsi256_si512(m));
        }
        const __m512 scaled = _mm512_mul_ps(_mm512_cvtepi32_ps(isum[j]), _mm512_set1_ps(st.d * da));
        if constexpr (K::kBias == Bias::Dmin) {
          // Kept off the accumulator's dependency chain: one add per block is loop-carried.
          const __m256i m = _mm256_madd_epi16(load256(ab[j]->bsums), st.bias16);
          acc[j] = _mm512_add_ps(acc[j], _mm512_fnmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(m)),
                                                       _mm512_set1_ps(st.dmin * da), scaled));
        } else {
          acc[j] = _mm512_add_ps(acc[j], scaled);
        }
      }
    }
    for (int j = 0; j < NA; ++j) out[j * out_stride + i] = hsum(acc[j]);
  }
}

template <class K>
void gemm(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
          size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  const int64_t n_blocks = cols / tensor::kQK_K;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t r0 = 0; r0 < n_rows; r0 += kquant::kRowGroup) {
    const int64_t nr = n_rows - r0 < kquant::kRowGroup ? n_rows - r0 : kquant::kRowGroup;
    const uint8_t* wg = wb + r0 * w_stride;
    for (int64_t j0 = 0; j0 < n_act; j0 += kMaxActs) {
      const uint8_t* ag = ab + j0 * a_stride;
      float* og = out + j0 * out_stride + r0;
      const int64_t na = n_act - j0 < kMaxActs ? n_act - j0 : kMaxActs;
      switch (na) {
#define TANDEM_CASE(n) \
  case n: rows_x_acts<K, n>(n_blocks, wg, w_stride, nr, ag, a_stride, og, out_stride); break;
        TANDEM_CASE(1) TANDEM_CASE(2) TANDEM_CASE(3) TANDEM_CASE(4)
        TANDEM_CASE(5) TANDEM_CASE(6) TANDEM_CASE(7) TANDEM_CASE(8)
#undef TANDEM_CASE
        default: break;
      }
    }
  }
}

}  // namespace

KQuantGemms kquant_gemms_avx512() {
  KQuantGemms g;
  g.q2_k = gemm<Q2K>;
  g.q3_k = gemm<Q3K>;
  g.q4_k = gemm<Q4K>;
  g.q5_k = gemm<Q5K>;
  g.q6_k = gemm<Q6K>;
  g.iq4_xs = gemm<IQ4XS>;
  return g;
}

}  // namespace tandem::kernels::detail
