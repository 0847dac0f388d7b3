// AVX-512 VNNI kernel for row-interleaved Q8_0 (layout: interleave_layout.h). One 64-byte load
// holds 4 quants of each of 16 weight rows; the activation's matching 4 quants are broadcast to
// all lanes, so one vpdpbusd does 64 multiply-adds with no shuffling, for any number of
// activation rows. The 16 lanes end each block column as 16 rows' integer dots: one conversion
// and one FMA per block and activation row, and no horizontal sums at the end.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/gemm_table.h"
#include "kernels/interleave_layout.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

using tensor::BlockQ8_0;
using tensor::kQK;

// Weights are prefetched this far ahead of their loads in each group's stream (the distance the
// plain decode kernels use, legacy_x86.h: the hardware prefetcher alone falls short of the probe).
constexpr int64_t kPrefetchBytes = 8192;

// From this many activation rows two groups go together (below, one stream reads faster).
constexpr int64_t kPairMinActs = 9;

// Activation rows multiplied per pass over one group (8 float and 8 integer accumulators).
constexpr int kMaxTileActs = 8;

// Per activation row and block: its scale as float, and -128 * sum(quants), which removes what
// the weights' +128 storage offset adds to each integer dot.
struct ActTerms {
  std::vector<float> scale;
  std::vector<int32_t> offset;
};

void prepare(const uint8_t* a, size_t a_stride, int64_t n_act, int64_t nb, ActTerms& t) {
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
      t.offset[static_cast<size_t>(r * nb + b)] = -static_cast<int32_t>(kQ8QuantOffset) * sum;
    }
  }
}

inline __m512i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

// M groups (16 weight rows each, consecutive) x N activation rows: out[n * out_stride + 16m + j].
// Each weight load serves N activation rows and each activation broadcast M groups: at M = 2,
// N = 4 the loads no longer outnumber the dot products.
template <int M, int N>
void group_tile(int64_t nb, const uint8_t* group, size_t group_bytes, const uint8_t* end, const uint8_t* a,
                size_t a_stride, const float* scale, const int32_t* offset, float* out,
                size_t out_stride) {
  __m512 acc[M][N];
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) acc[m][n] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockColumn at = q8_0_block_column(nb, b);
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
        const uint8_t* q = group + m * group_bytes + at.quants + 64 * k;
        // (Streaming decode only: a pair of groups serves many activation passes from cache.)
        if (M == 1 && end - q > kPrefetchBytes) _mm_prefetch(reinterpret_cast<const char*>(q + kPrefetchBytes), _MM_HINT_T0);
        w[m] = _mm512_loadu_si512(q);
      }
      for (int n = 0; n < N; ++n) {
        const __m512i x = broadcast4(aq[n] + 4 * k);
        for (int m = 0; m < M; ++m) dot[k % C][m][n] = _mm512_dpbusd_epi32(dot[k % C][m][n], w[m], x);
      }
    }
    for (int m = 0; m < M; ++m) {
      const __m512 ws = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + m * group_bytes + at.scales)));
      for (int n = 0; n < N; ++n) {
        if constexpr (C == 2) dot[0][m][n] = _mm512_add_epi32(dot[0][m][n], dot[1][m][n]);
        acc[m][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[0][m][n]),
                                    _mm512_mul_ps(ws, _mm512_set1_ps(scale[n * nb + b])), acc[m][n]);
      }
    }
  }
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n)
      _mm512_storeu_ps(out + static_cast<size_t>(n) * out_stride + 16 * m, acc[m][n]);
}

using TileFn = void (*)(int64_t, const uint8_t*, size_t, const uint8_t*, const uint8_t*, size_t, const float*,
                        const int32_t*, float*, size_t);
// [M - 1][N]: two groups at a time, one for an odd last group; up to kMaxTileActs rows.
constexpr TileFn kTiles[2][kMaxTileActs + 1] = {
    {nullptr, group_tile<1, 1>, group_tile<1, 2>, group_tile<1, 3>, group_tile<1, 4>,
     group_tile<1, 5>, group_tile<1, 6>, group_tile<1, 7>, group_tile<1, 8>},
    {nullptr, group_tile<2, 1>, group_tile<2, 2>, group_tile<2, 3>, group_tile<2, 4>,
     group_tile<2, 5>, group_tile<2, 6>, group_tile<2, 6>, group_tile<2, 6>}};

void gemm_interleaved_q8_0(int64_t cols, const void* w, size_t w_stride, int64_t n_rows,
                           const void* a, size_t a_stride, int64_t n_act, float* out,
                           size_t out_stride) {
  const int64_t nb = cols / kQK;
  const auto* ab = static_cast<const uint8_t*>(a);
  thread_local ActTerms terms;
  prepare(ab, a_stride, n_act, nb, terms);
  const size_t group_bytes = static_cast<size_t>(kGroupRows) * w_stride;
  const auto* wb = static_cast<const uint8_t*>(w);
  const int64_t n_groups = n_rows / kGroupRows;
  const uint8_t* end = wb + static_cast<size_t>(n_groups) * group_bytes;
  for (int64_t g = 0; g < n_groups;) {
    const int pair = n_act >= kPairMinActs && g + 1 < n_groups ? 1 : 0;
    // Two groups take at most 6 activation rows per pass (registers: 2 x 6 integer and float
    // accumulators); one group up to 8.
    const int64_t max_acts = pair ? 6 : kMaxTileActs;
    const uint8_t* group = wb + static_cast<size_t>(g) * group_bytes;
    for (int64_t n0 = 0; n0 < n_act; n0 += max_acts) {
      const int64_t n = std::min<int64_t>(max_acts, n_act - n0);
      kTiles[pair][n](nb, group, group_bytes, end, ab + static_cast<size_t>(n0) * a_stride, a_stride,
                      terms.scale.data() + n0 * nb, terms.offset.data() + n0 * nb,
                      out + static_cast<size_t>(n0) * out_stride + static_cast<size_t>(g * kGroupRows),
                      out_stride);
    }
    g += 1 + pair;
  }
}

}  // namespace

void register_interleaved_avx512(KernelTable& t) {
  t[tensor::Type::Q8_0].interleaved = gemm_interleaved_q8_0;
  t[tensor::Type::Q8_0].interleave_pays = true;
}

}  // namespace tandem::kernels::detail
