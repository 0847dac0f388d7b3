// AVX-512 VNNI kernels for row-interleaved Q8_0, Q5_0, Q4_0 and IQ4_NL (layout:
// interleave_layout.h). One 64-byte vector holds 4 quants of each of 16 weight rows (Q8_0: one
// load; the nibble types: a mask or shift, plus a masked add of Q5_0's 5th bits or IQ4_NL's table
// lookup); the activation's matching 4 quants are broadcast to
// all lanes, so one vpdpbusd does 64 multiply-adds with no shuffling, for any number of
// activation rows. The 16 lanes end each block column as 16 rows' integer dots: one conversion
// and one FMA per block and activation row, and no horizontal sums at the end.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/gemm_table.h"
#include "kernels/interleave_layout.h"
#include "kernels/scratch_buffer.h"
#include "kernels/simd_x86.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

using tensor::BlockQ8_0;
using tensor::kQK;

// From this many activation rows two groups go together (below, one stream reads faster).
constexpr int64_t kPairMinActs = 9;

// Activation rows multiplied per pass over one group (8 float and 8 integer accumulators).
constexpr int kMaxTileActs = 8;

// The two payloads: vector k of a block column holds elements 4k..4k+3 of the 16 rows as
// unsigned bytes, `kOffset` above the signed quant.
struct Q8Payload {
  static constexpr size_t kBytes = kQ8PayloadBytes;
  static constexpr int32_t kOffset = kQ8QuantOffset;
  static constexpr bool kUnpack = false;  // already one load per vector
  static __m512i vector(const uint8_t* p, int k) { return _mm512_loadu_si512(p + 64 * k); }
};

struct Q5Payload {
  static constexpr size_t kBytes = kQ5PayloadBytes;
  static constexpr int32_t kOffset = kQ5QuantOffset;
  static constexpr bool kUnpack = true;
  static __m512i vector(const uint8_t* p, int k) {
    const __m512i raw = _mm512_loadu_si512(p + 64 * (k % 4));
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i nibbles =
        k < 4 ? _mm512_and_si512(raw, low4) : _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
    __mmask64 fifth;
    std::memcpy(&fifth, p + kQ5MaskOffset + 8 * k, sizeof(fifth));
    return _mm512_mask_add_epi8(nibbles, fifth, nibbles, _mm512_set1_epi8(16));
  }
};

// Vector k of the nibble payloads: chunk k's low nibbles, or chunk k - 4's high nibbles.
inline __m512i nibbles(const uint8_t* p, int k) {
  const __m512i raw = _mm512_loadu_si512(p + 64 * (k % 4));
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  return k < 4 ? _mm512_and_si512(raw, low4) : _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
}

struct Q4Payload {
  static constexpr size_t kBytes = kNibblePayloadBytes;
  static constexpr int32_t kOffset = kQ4QuantOffset;
  static constexpr bool kUnpack = true;
  static __m512i vector(const uint8_t* p, int k) { return nibbles(p, k); }
};

struct IQ4NLPayload {
  static constexpr size_t kBytes = kNibblePayloadBytes;
  static constexpr int32_t kOffset = kIQ4NLOffset;
  static constexpr bool kUnpack = true;
  static __m512i vector(const uint8_t* p, int k) {
    // The value table + 128 in every 128-bit lane: one byte shuffle looks 64 indices up.
    const __m512i table = _mm512_broadcast_i32x4(_mm_setr_epi8(
        -127 + 128, -104 + 128, -83 + 128, -65 + 128, -49 + 128, -35 + 128, -22 + 128, -10 + 128,
        static_cast<char>(1 + 128), static_cast<char>(13 + 128), static_cast<char>(25 + 128),
        static_cast<char>(38 + 128), static_cast<char>(53 + 128), static_cast<char>(69 + 128),
        static_cast<char>(89 + 128), static_cast<char>(113 + 128)));
    return _mm512_shuffle_epi8(table, nibbles(p, k));
  }
};

// A payload widened to Q8_0's (its offset kept): for many activation rows, each pair of groups
// is unpacked once per call instead of once per pass of 6 rows.
template <class From>
struct Unpacked {
  static constexpr size_t kBytes = kQ8PayloadBytes;
  static constexpr int32_t kOffset = From::kOffset;
  static __m512i vector(const uint8_t* p, int k) { return _mm512_loadu_si512(p + 64 * k); }
};

template <class From>
void unpack_group(int64_t nb, const uint8_t* group, uint8_t* dst) {
  for (int64_t b = 0; b < nb; ++b) {
    const BlockColumn from = block_column(nb, b, From::kBytes);
    const BlockColumn to = block_column(nb, b, Unpacked<From>::kBytes);
    std::memcpy(dst + to.scales, group + from.scales, kScaleBytes);
    for (int k = 0; k < 8; ++k)
      _mm512_storeu_si512(dst + to.payload + 64 * k, From::vector(group + from.payload, k));
  }
}

// Per activation row and block: its scale as float, and -offset * sum(quants), which removes what
// the weights' unsigned storage adds to each integer dot.
struct ActTerms {
  std::vector<float> scale;
  std::vector<int32_t> offset;
};

void prepare(const uint8_t* a, size_t a_stride, int64_t n_act, int64_t nb, int32_t weight_offset,
             ActTerms& t) {
  const size_t n = static_cast<size_t>(n_act * nb);
  if (t.scale.size() < n) {
    t.scale.resize(n);
    t.offset.resize(n);
  }
  for (int64_t r = 0; r < n_act; ++r) {
    const auto* blk = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(r) * a_stride);
    for (int64_t b = 0; b < nb; ++b) {
      int32_t sum = 0;
      for (int e = 0; e < kQK; ++e) sum += blk[b].qs[e];
      t.scale[static_cast<size_t>(r * nb + b)] = tensor::fp16_to_fp32(blk[b].d);
      t.offset[static_cast<size_t>(r * nb + b)] = -weight_offset * sum;
    }
  }
}

inline __m512i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

// M groups (16 weight rows each, consecutive) x N activation rows: out[n * out_stride + 16m + j].
// Each weight vector serves N activation rows and each activation broadcast M groups. From DRAM
// one group at a time streams best (two interleaved streams read ~40% slower at 4 rows); from
// cache, with many activation rows, two groups halve the broadcasts per dot product.
template <class P, int M, int N>
void group_tile(int64_t nb, const uint8_t* group, size_t group_bytes, const uint8_t* end,
                const uint8_t* a, size_t a_stride, const float* scale, const int32_t* offset,
                float* out, size_t out_stride) {
  __m512 acc[M][N];
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) acc[m][n] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockColumn at = block_column(nb, b, P::kBytes);
    // Few accumulators would wait on vpdpbusd's latency: then even and odd k get a chain each.
    constexpr int C = M * N >= 4 ? 1 : 2;
    __m512i dot[C][M][N];
    const int8_t* aq[N];
    for (int n = 0; n < N; ++n) {
      aq[n] = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(n) * a_stride)[b].qs;
      const __m512i off = _mm512_set1_epi32(offset[n * nb + b]);
      for (int m = 0; m < M; ++m) {
        dot[0][m][n] = off;
        if constexpr (C == 2) dot[1][m][n] = _mm512_setzero_si512();
      }
    }
    for (int k = 0; k < 8; ++k) {
      __m512i w[M];
      for (int m = 0; m < M; ++m) {
        const uint8_t* q = group + m * group_bytes + at.payload;
        // (Streaming decode only: a pair of groups serves many activation passes from cache.)
        if (M == 1 && 64 * k < static_cast<int>(P::kBytes)) simd::prefetch_ahead(q + 64 * k, 64, end);
        w[m] = P::vector(q, k);
      }
      for (int n = 0; n < N; ++n) {
        const __m512i x = broadcast4(aq[n] + 4 * k);
        for (int m = 0; m < M; ++m)
          dot[k % C][m][n] = _mm512_dpbusd_epi32(dot[k % C][m][n], w[m], x);
      }
    }
    for (int m = 0; m < M; ++m) {
      const __m512 ws = _mm512_cvtph_ps(_mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(group + m * group_bytes + at.scales)));
      for (int n = 0; n < N; ++n) {
        if constexpr (C == 2) dot[0][m][n] = _mm512_add_epi32(dot[0][m][n], dot[1][m][n]);
        acc[m][n] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[0][m][n]),
                            _mm512_mul_ps(ws, _mm512_set1_ps(scale[n * nb + b])), acc[m][n]);
      }
    }
  }
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n)
      _mm512_storeu_ps(out + static_cast<size_t>(n) * out_stride + 16 * m, acc[m][n]);
}

using TileFn = void (*)(int64_t, const uint8_t*, size_t, const uint8_t*, const uint8_t*, size_t,
                        const float*, const int32_t*, float*, size_t);
// Two groups take at most 6 activation rows per pass (2 x 6 integer and float accumulators in
// the 32 registers), one group up to 8.
constexpr int64_t kPairMaxActs = 6;
// [M - 1][N].
template <class P>
constexpr TileFn kTiles[2][kMaxTileActs + 1] = {
    {nullptr, group_tile<P, 1, 1>, group_tile<P, 1, 2>, group_tile<P, 1, 3>, group_tile<P, 1, 4>,
     group_tile<P, 1, 5>, group_tile<P, 1, 6>, group_tile<P, 1, 7>, group_tile<P, 1, 8>},
    {nullptr, group_tile<P, 2, 1>, group_tile<P, 2, 2>, group_tile<P, 2, 3>, group_tile<P, 2, 4>,
     group_tile<P, 2, 5>, group_tile<P, 2, 6>, nullptr, nullptr}};

// Groups [g0, g1) (M = 1 or 2 at a time) x all activation rows, in passes of up to
// kMaxTileActs / kPairMaxActs rows.
template <class P>
void run_groups(int64_t nb, const uint8_t* w, size_t group_bytes, int64_t g0, int64_t g1,
                bool pairs, const uint8_t* a, size_t a_stride, int64_t n_act, const ActTerms& terms,
                float* out, size_t out_stride) {
  const uint8_t* end = w + static_cast<size_t>(g1) * group_bytes;
  for (int64_t g = g0; g < g1;) {
    const int pair = pairs && g + 1 < g1 ? 1 : 0;
    const int64_t max_acts = pair ? kPairMaxActs : kMaxTileActs;
    for (int64_t n0 = 0; n0 < n_act; n0 += max_acts) {
      const int64_t n = std::min<int64_t>(max_acts, n_act - n0);
      kTiles<P>[pair][n](
          nb, w + static_cast<size_t>(g) * group_bytes, group_bytes, end,
          a + static_cast<size_t>(n0) * a_stride, a_stride, terms.scale.data() + n0 * nb,
          terms.offset.data() + n0 * nb,
          out + static_cast<size_t>(n0) * out_stride + static_cast<size_t>(g * kGroupRows),
          out_stride);
    }
    g += 1 + pair;
  }
}

template <class P>
void gemm_interleaved(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
                      size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  const int64_t nb = cols / kQK;
  const auto* ab = static_cast<const uint8_t*>(a);
  thread_local ActTerms terms;
  prepare(ab, a_stride, n_act, nb, P::kOffset, terms);
  const size_t group_bytes = static_cast<size_t>(kGroupRows) * w_stride;
  const auto* wb = static_cast<const uint8_t*>(w);
  const int64_t n_groups = n_rows / kGroupRows;
  const bool many = n_act >= kPairMinActs;
  int64_t g = 0;
  if constexpr (P::kUnpack) {
    // Many activation rows: widen each pair of groups once, then run the Q8_0-style tiles on it.
    if (many) {
      const size_t unpacked_bytes = static_cast<size_t>(nb) * (kScaleBytes + Unpacked<P>::kBytes);
      thread_local ScratchBuffer scratch;
      uint8_t* pair = scratch.get(2 * unpacked_bytes);
      for (; g + 2 <= n_groups; g += 2) {
        unpack_group<P>(nb, wb + static_cast<size_t>(g) * group_bytes, pair);
        unpack_group<P>(nb, wb + static_cast<size_t>(g + 1) * group_bytes, pair + unpacked_bytes);
        run_groups<Unpacked<P>>(nb, pair, unpacked_bytes, 0, 2, true, ab, a_stride, n_act, terms,
                                out + static_cast<size_t>(g * kGroupRows), out_stride);
      }
    }
  }
  // (What remains: every group, or an unpacked type's odd last one.)
  run_groups<P>(nb, wb, group_bytes, g, n_groups, many, ab, a_stride, n_act, terms, out,
                out_stride);
}

}  // namespace

void register_interleaved_avx512(KernelTable& t) {
  t[tensor::Type::Q8_0].interleaved = gemm_interleaved<Q8Payload>;
  t[tensor::Type::Q8_0].interleave_pays = true;
  t[tensor::Type::Q5_0].interleaved = gemm_interleaved<Q5Payload>;
  t[tensor::Type::Q5_0].interleave_pays = true;
  t[tensor::Type::Q4_0].interleaved = gemm_interleaved<Q4Payload>;
  t[tensor::Type::Q4_0].interleave_pays = true;
  t[tensor::Type::IQ4_NL].interleaved = gemm_interleaved<IQ4NLPayload>;
  t[tensor::Type::IQ4_NL].interleave_pays = true;
}

}  // namespace tandem::kernels::detail
