// AVX2 k-quant x Q8_K kernels (compiled with -mavx2 -mfma -mf16c).
//
// Each weight type describes how a super-block of 256 values unpacks into eight 32-byte chunks of
// small unsigned integers (vpmaddubsw's unsigned operand) plus, per chunk, a vector of 16-bit
// sub-block scales. One generic loop then multiplies every unpacked chunk with up to kMaxActs
// activation rows while it is still in a register: the unpacking cost is paid once per weight
// block, not once per (weight, activation) pair, which is what makes prompt processing fast.
//
// Per chunk and activation row: maddubs(q, a) gives 16-bit pair sums (no saturation: q < 64 so
// |pair| <= 2 * 63 * 128), madd with the scales gives 32-bit sums; those stay exact integers
// until one conversion to float per super-block.
#include <immintrin.h>

#include "kernels/kquant_format.h"
#include "kernels/kquant_kernels.h"
#include "kernels/kquant_simd_common.h"

namespace tandem::kernels::detail {
namespace {

using kquant::Bias;
using kquant::unroll;
using tensor::BlockQ8_K;

constexpr int kMaxActs = 4;  // accumulators for 4 rows + their chunk temporaries fit 16 ymm

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i bytes(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Shifts every 16-bit lane left by L (right by -L when L < 0); used to move a chosen bit of each
// byte to a fixed position before masking.
template <int L>
inline __m256i shift_left(__m256i v) {
  if constexpr (L > 0) return _mm256_slli_epi16(v, L);
  else if constexpr (L < 0) return _mm256_srli_epi16(v, -L);
  else return v;
}

// Scales per 32 values: `bcast` holds eight int16 scales in both 128-bit lanes; chunk K needs
// scale K in all 16 lanes.
template <int K>
inline __m256i scale_of_32(__m256i bcast) {
  return _mm256_shuffle_epi8(bcast, _mm256_set1_epi16(static_cast<short>(0x0100 + 0x0202 * K)));
}

// Scales per 16 values: lo/hi hold int16 scales 0..7 / 8..15 in both 128-bit lanes; chunk K
// needs scale 2K in its low lane and 2K+1 in its high lane.
template <int K>
inline __m256i scale_of_16(__m256i lo, __m256i hi) {
  constexpr int m = (2 * K) % 8;
  const __m256i mask = _mm256_setr_epi8(
      2 * m, 2 * m + 1, 2 * m, 2 * m + 1, 2 * m, 2 * m + 1, 2 * m, 2 * m + 1, 2 * m, 2 * m + 1,
      2 * m, 2 * m + 1, 2 * m, 2 * m + 1, 2 * m, 2 * m + 1, 2 * m + 2, 2 * m + 3, 2 * m + 2,
      2 * m + 3, 2 * m + 2, 2 * m + 3, 2 * m + 2, 2 * m + 3, 2 * m + 2, 2 * m + 3, 2 * m + 2,
      2 * m + 3, 2 * m + 2, 2 * m + 3, 2 * m + 2, 2 * m + 3);
  return _mm256_shuffle_epi8(K < 4 ? lo : hi, mask);
}

// Per-block state every type provides: float scales and the int16 bias vector (one entry per
// 16 values, paired with Q8_K bsums).
struct Common {
  float d = 0.0f;
  float dmin = 0.0f;
  __m256i bias16 = _mm256_setzero_si256();
};

// Sixteen int8 scales -> the lo / hi broadcasts scale_of_16 wants, plus them all as int16.
struct Scales16 {
  __m256i all, lo, hi;
  explicit Scales16(__m128i s8, bool is_signed) {
    all = is_signed ? _mm256_cvtepi8_epi16(s8) : _mm256_cvtepu8_epi16(s8);
    lo = _mm256_permute2x128_si256(all, all, 0x00);
    hi = _mm256_permute2x128_si256(all, all, 0x11);
  }
};

// Q4_K: value = d * sc[s] * q - dmin * m[s], q in 0..15, sub-blocks of 32.
struct Q4K {
  using Block = tensor::BlockQ4_K;
  static constexpr Bias kBias = Bias::Dmin;
  static constexpr bool kSignedQ = false;
  struct State : Common { __m256i sc; };
  static State prepare(const Block& b) {
    State s;
    s.d = _cvtsh_ss(b.d);
    s.dmin = _cvtsh_ss(b.dmin);
    uint64_t sc, mn;
    kquant::decode_scales_mins_k4(b.scales, &sc, &mn);
    s.sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(sc))));
    const __m128i m8 = _mm_cvtsi64_si128(static_cast<long long>(mn));
    s.bias16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));  // each min covers 2 bsums
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const State& s, F&& f) {
    unroll<4>([&](auto j) {
      const __m256i x = load256(b.qs + 32 * j);
      f.template operator()<2 * j>(_mm256_and_si256(x, bytes(0x0f)), scale_of_32<2 * j>(s.sc));
      f.template operator()<2 * j + 1>(_mm256_and_si256(_mm256_srli_epi16(x, 4), bytes(0x0f)),
                                       scale_of_32<2 * j + 1>(s.sc));
    });
  }
};

// Q5_K: Q4_K plus a fifth bit: bit k of qh[l] is the high bit of element 32k + l.
struct Q5K {
  using Block = tensor::BlockQ5_K;
  static constexpr Bias kBias = Bias::Dmin;
  static constexpr bool kSignedQ = false;
  struct State : Common { __m256i sc; };
  static State prepare(const Block& b) {
    State s;
    s.d = _cvtsh_ss(b.d);
    s.dmin = _cvtsh_ss(b.dmin);
    uint64_t sc, mn;
    kquant::decode_scales_mins_k4(b.scales, &sc, &mn);
    s.sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(sc))));
    const __m128i m8 = _mm_cvtsi64_si128(static_cast<long long>(mn));
    s.bias16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const State& s, F&& f) {
    const __m256i qh = load256(b.qh);
    unroll<4>([&](auto j) {
      const __m256i x = load256(b.qs + 32 * j);
      constexpr int k0 = 2 * j, k1 = 2 * j + 1;
      const __m256i h0 = _mm256_and_si256(shift_left<4 - k0>(qh), bytes(0x10));
      const __m256i h1 = _mm256_and_si256(shift_left<4 - k1>(qh), bytes(0x10));
      f.template operator()<k0>(_mm256_or_si256(_mm256_and_si256(x, bytes(0x0f)), h0),
                                scale_of_32<k0>(s.sc));
      f.template operator()<k1>(
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(x, 4), bytes(0x0f)), h1),
          scale_of_32<k1>(s.sc));
    });
  }
};

// Q6_K: value = d * sc[g] * (q - 32), q in 0..63 stored as 4 low bits (ql) + 2 high bits (qh),
// groups of 16. The -32 is folded into the integer sum through bsums (bias = 32 * sc).
struct Q6K {
  using Block = tensor::BlockQ6_K;
  static constexpr Bias kBias = Bias::IntD;
  static constexpr bool kSignedQ = false;
  struct State : Common { __m256i lo, hi; };
  static State prepare(const Block& b) {
    State s;
    s.d = _cvtsh_ss(b.d);
    const Scales16 sc(load128(b.scales), true);
    s.lo = sc.lo;
    s.hi = sc.hi;
    s.bias16 = _mm256_slli_epi16(sc.all, 5);
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const State& s, F&& f) {
    unroll<2>([&](auto h) {
      const __m256i ql0 = load256(b.ql + 64 * h);
      const __m256i ql1 = load256(b.ql + 64 * h + 32);
      const __m256i qh = load256(b.qh + 32 * h);
      const __m256i m4 = bytes(0x0f), m2 = bytes(0x30);
      // Chunk 4h + k takes the high bits from bits 2k..2k+1 of qh, moved to bits 4..5.
      const __m256i c0 = _mm256_or_si256(_mm256_and_si256(ql0, m4),
                                         _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
      const __m256i c1 = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                         _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
      const __m256i c2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                         _mm256_and_si256(qh, m2));
      const __m256i c3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
      f.template operator()<4 * h + 0>(c0, scale_of_16<4 * h + 0>(s.lo, s.hi));
      f.template operator()<4 * h + 1>(c1, scale_of_16<4 * h + 1>(s.lo, s.hi));
      f.template operator()<4 * h + 2>(c2, scale_of_16<4 * h + 2>(s.lo, s.hi));
      f.template operator()<4 * h + 3>(c3, scale_of_16<4 * h + 3>(s.lo, s.hi));
    });
  }
};

// Q3_K: value = d * sc[g] * (low2 + 4 * hbit - 4), groups of 16; the -4 goes through bsums.
struct Q3K {
  using Block = tensor::BlockQ3_K;
  static constexpr Bias kBias = Bias::IntD;
  static constexpr bool kSignedQ = false;
  struct State : Common { __m256i lo, hi; };
  static State prepare(const Block& b) {
    State s;
    s.d = _cvtsh_ss(b.d);
    uint64_t lo, hi;
    kquant::decode_scales_q3_k(b.scales, &lo, &hi);
    const __m128i stored = _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo));
    const Scales16 sc(_mm_sub_epi8(stored, _mm_set1_epi8(32)), true);
    s.lo = sc.lo;
    s.hi = sc.hi;
    s.bias16 = _mm256_slli_epi16(sc.all, 2);
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const State& s, F&& f) {
    const __m256i hm = load256(b.hmask);
    unroll<2>([&](auto h) {
      const __m256i x = load256(b.qs + 32 * h);
      unroll<4>([&](auto j) {
        constexpr int k = 4 * h + j;  // bit k of hmask[l] belongs to element 32k + l
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(x, 2 * j), bytes(3));
        const __m256i high = _mm256_and_si256(shift_left<2 - k>(hm), bytes(4));
        f.template operator()<k>(_mm256_or_si256(low, high), scale_of_16<k>(s.lo, s.hi));
      });
    });
  }
};

// Q2_K: value = d * (sc[g] & 15) * q - dmin * (sc[g] >> 4), q in 0..3, groups of 16.
struct Q2K {
  using Block = tensor::BlockQ2_K;
  static constexpr Bias kBias = Bias::Dmin;
  static constexpr bool kSignedQ = false;
  struct State : Common { __m256i lo, hi; };
  static State prepare(const Block& b) {
    State s;
    s.d = _cvtsh_ss(b.d);
    s.dmin = _cvtsh_ss(b.dmin);
    const __m128i raw = load128(b.scales);
    const __m128i m4 = _mm_set1_epi8(0x0f);
    const Scales16 sc(_mm_and_si128(raw, m4), false);
    s.lo = sc.lo;
    s.hi = sc.hi;
    s.bias16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4));
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const State& s, F&& f) {
    unroll<2>([&](auto h) {
      const __m256i x = load256(b.qs + 32 * h);
      unroll<4>([&](auto j) {
        constexpr int k = 4 * h + j;
        f.template operator()<k>(_mm256_and_si256(_mm256_srli_epi16(x, 2 * j), bytes(3)),
                                 scale_of_16<k>(s.lo, s.hi));
      });
    });
  }
};

// IQ4_XS: value = d * sc[s] * table[nibble], sub-blocks of 32. Table values are signed (-127..113)
// so the chunk is signed; the generic loop uses the sign trick (see kSignedQ below).
struct IQ4XS {
  using Block = tensor::BlockIQ4_XS;
  static constexpr Bias kBias = Bias::None;
  static constexpr bool kSignedQ = true;
  struct State : Common { __m256i sc, table; };
  static State prepare(const Block& b) {
    State s;
    s.d = _cvtsh_ss(b.d);
    const __m128i stored = _mm_cvtsi64_si128(static_cast<long long>(kquant::decode_scales_iq4_xs(b)));
    s.sc = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_sub_epi8(stored, _mm_set1_epi8(32))));
    s.table = _mm256_broadcastsi128_si256(load128(tensor::kIQ4NLValues));
    return s;
  }
  template <class F>
  static void chunks(const Block& b, const State& s, F&& f) {
    unroll<8>([&](auto k) {
      // Sub-block k: low nibbles of its 16 bytes are values 0..15, high nibbles 16..31.
      const __m128i x = load128(b.qs + 16 * k);
      const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(x), _mm_srli_epi16(x, 4), 1);
      const __m256i idx = _mm256_and_si256(both, bytes(0x0f));
      f.template operator()<k>(_mm256_shuffle_epi8(s.table, idx), scale_of_32<k>(s.sc));
    });
  }
};

// out[j * out_stride + i] for NA activation rows (a_rows) and n_rows weight rows.
template <class K, int NA>
void rows_x_acts(int64_t n_blocks, const uint8_t* w, size_t w_stride, int64_t n_rows,
                 const uint8_t* a, size_t a_stride, float* out, size_t out_stride) {
  using Block = typename K::Block;
  for (int64_t i = 0; i < n_rows; ++i) {
    const auto* wrow = reinterpret_cast<const Block*>(w + i * w_stride);
    __m256 acc[NA];
    for (int j = 0; j < NA; ++j) acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b) {
      const Block& wb = wrow[b];
      const BlockQ8_K* ab[NA];
      for (int j = 0; j < NA; ++j) {
        ab[j] = reinterpret_cast<const BlockQ8_K*>(a + j * a_stride) + b;
      }
      const auto st = K::prepare(wb);
      __m256i isum[NA];
      for (int j = 0; j < NA; ++j) isum[j] = _mm256_setzero_si256();
      K::chunks(wb, st, [&]<int C>(__m256i q, __m256i scale) {
        for (int j = 0; j < NA; ++j) {
          const __m256i av = load256(ab[j]->qs + 32 * C);
          __m256i p;
          if constexpr (K::kSignedQ) {
            // maddubs needs an unsigned operand: |a| (128 fits as unsigned) times q with a's
            // sign; |q| <= 127, so negating it never overflows.
            p = _mm256_maddubs_epi16(_mm256_abs_epi8(av), _mm256_sign_epi8(q, av));
          } else {
            p = _mm256_maddubs_epi16(q, av);
          }
          isum[j] = _mm256_add_epi32(isum[j], _mm256_madd_epi16(p, scale));
        }
      });
      for (int j = 0; j < NA; ++j) {
        const float da = ab[j]->d;
        if constexpr (K::kBias == Bias::IntD) {
          isum[j] = _mm256_sub_epi32(isum[j], _mm256_madd_epi16(load256(ab[j]->bsums), st.bias16));
        }
        const __m256 scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_set1_ps(st.d * da));
        if constexpr (K::kBias == Bias::Dmin) {
          // Kept off the accumulator's dependency chain: one add per block is loop-carried.
          const __m256i m = _mm256_madd_epi16(load256(ab[j]->bsums), st.bias16);
          acc[j] = _mm256_add_ps(acc[j], _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m),
                                                       _mm256_set1_ps(st.dmin * da), scaled));
        } else {
          acc[j] = _mm256_add_ps(acc[j], scaled);
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
      switch (n_act - j0 < kMaxActs ? n_act - j0 : kMaxActs) {
        case 1: rows_x_acts<K, 1>(n_blocks, wg, w_stride, nr, ag, a_stride, og, out_stride); break;
        case 2: rows_x_acts<K, 2>(n_blocks, wg, w_stride, nr, ag, a_stride, og, out_stride); break;
        case 3: rows_x_acts<K, 3>(n_blocks, wg, w_stride, nr, ag, a_stride, og, out_stride); break;
        default: rows_x_acts<K, 4>(n_blocks, wg, w_stride, nr, ag, a_stride, og, out_stride); break;
      }
    }
  }
}

}  // namespace

KQuantGemms kquant_gemms_avx2() {
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
