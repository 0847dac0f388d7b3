// AVX2 kernel for row-interleaved Q8_0 (layout: interleave_layout.h). AVX2 has no unsigned x
// signed 4-way dot product without 16-bit saturation, so a weight half-vector (8 rows x 4 quants)
// is turned back into signed quants and multiplied with the sign trick: |w| x (a with w's sign)
// never exceeds 127 x 128, twice. The 16 registers hold one 8-row half of a group for up to 4
// activation rows, so a group is passed twice (rows 0-7, then 8-15, the second from L1).
// The nibble types stay in plain rows on AVX2: with 4 activation rows per pass at most, their
// interleaved kernels measured no faster at 4 rows and up to 40% slower for prompts (Q4_0 at 64
// rows 902 -> 1265 us, Q5_0 935 -> 1659 us, 4096 x 896 from cache).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/gemm_table.h"
#include "kernels/interleave_layout.h"
#include "kernels/simd_x86.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

using tensor::BlockQ8_0;
using tensor::kQK;

constexpr int kMaxTileActs = 4;

inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

// Rows 8h..8h+7 of one group x N activation rows: out[n * out_stride + j] for j < 8.
template <int N>
void half_tile(int64_t nb, const uint8_t* group, int h, const uint8_t* end, const uint8_t* a,
               size_t a_stride, const float* scale, float* out, size_t out_stride) {
  const __m256i sign_bit = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[N];
  for (int n = 0; n < N; ++n) acc[n] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const BlockColumn at = block_column(nb, b, kQ8PayloadBytes);
    __m256i dot[N];
    const int8_t* aq[N];
    for (int n = 0; n < N; ++n) {
      dot[n] = _mm256_setzero_si256();
      aq[n] = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(n) * a_stride)[b].qs;
    }
    for (int k = 0; k < 8; ++k) {
      const uint8_t* q = group + at.payload + 64 * k + 32 * h;
      if (h == 0) simd::prefetch_ahead(q, 64, end);  // (the decode prefetch, simd_x86.h)
      const __m256i w =
          _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)), sign_bit);
      const __m256i w_abs = _mm256_abs_epi8(w);
      for (int n = 0; n < N; ++n) {
        const __m256i p =
            _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(broadcast4(aq[n] + 4 * k), w));
        dot[n] = _mm256_add_epi32(dot[n], _mm256_madd_epi16(p, ones));
      }
    }
    const __m256 ws = _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(group + at.scales + 16 * h)));
    for (int n = 0; n < N; ++n)
      acc[n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[n]),
                               _mm256_mul_ps(ws, _mm256_set1_ps(scale[n * nb + b])), acc[n]);
  }
  for (int n = 0; n < N; ++n) _mm256_storeu_ps(out + static_cast<size_t>(n) * out_stride, acc[n]);
}

using TileFn = void (*)(int64_t, const uint8_t*, int, const uint8_t*, const uint8_t*, size_t,
                        const float*, float*, size_t);
constexpr TileFn kTiles[kMaxTileActs + 1] = {nullptr, half_tile<1>, half_tile<2>, half_tile<3>,
                                             half_tile<4>};

void gemm_interleaved_q8_0(int64_t cols, const void* w, size_t w_stride, int64_t n_rows,
                           const void* a, size_t a_stride, int64_t n_act, float* out,
                           size_t out_stride) {
  const int64_t nb = cols / kQK;
  const auto* ab = static_cast<const uint8_t*>(a);
  thread_local std::vector<float> scale;
  if (scale.size() < static_cast<size_t>(n_act * nb)) scale.resize(static_cast<size_t>(n_act * nb));
  for (int64_t r = 0; r < n_act; ++r) {
    const auto* blk = reinterpret_cast<const BlockQ8_0*>(ab + static_cast<size_t>(r) * a_stride);
    for (int64_t b = 0; b < nb; ++b)
      scale[static_cast<size_t>(r * nb + b)] = tensor::fp16_to_fp32(blk[b].d);
  }
  const size_t group_bytes = static_cast<size_t>(kGroupRows) * w_stride;
  const auto* wb = static_cast<const uint8_t*>(w);
  const int64_t n_groups = n_rows / kGroupRows;
  const uint8_t* end = wb + static_cast<size_t>(n_groups) * group_bytes;
  for (int64_t g = 0; g < n_groups; ++g) {
    const uint8_t* group = wb + static_cast<size_t>(g) * group_bytes;
    for (int h = 0; h < 2; ++h)
      for (int64_t n0 = 0; n0 < n_act; n0 += kMaxTileActs) {
        const int64_t n = std::min<int64_t>(kMaxTileActs, n_act - n0);
        kTiles[n](nb, group, h, end, ab + static_cast<size_t>(n0) * a_stride, a_stride,
                  scale.data() + n0 * nb,
                  out + static_cast<size_t>(n0) * out_stride +
                      static_cast<size_t>(g * kGroupRows + 8 * h),
                  out_stride);
      }
  }
}

}  // namespace

void register_interleaved_avx2(KernelTable& t) {
  t[tensor::Type::Q8_0].interleaved = gemm_interleaved_q8_0;
  t[tensor::Type::Q8_0].interleave_pays = true;
}

}  // namespace tandem::kernels::detail
