// AVX-512 VNNI panel GEMM of Q4_K, Q5_K and Q6_K against Q8_K activations, for several activation
// rows; the scheme is described in panel_avx512.h.
//
// Panel of one 16-row tile, per 256-value super-block: 64 vectors of unsigned quants (vector
// 64 sb + kk holds elements 4kk..4kk+3 of every row), one float vector per sub-block of the rows'
// d * scale, and the correction term as int16 pairs for vpdpwssd with a float vector scaling it:
//   Q4_K / Q5_K: 8 sub-blocks of 32; x = d * sc * q - dmin * mn
//                -> sum_s (d sc_s) dot_s  -  dmin * sum_s mn_s * bsum32_s
//   Q6_K:        16 sub-blocks of 16; x = d * sc * (q - 32), q stored 0..63
//                -> sum_s (d sc_s) dot_s  -  32 d * sum_s sc_s * bsum16_s
// Every integer product is the scalar reference's; the sums of each sub-block become floats.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <cstddef>
#include <type_traits>

#include "kernels/gemm_table.h"
#include "kernels/panel_avx512.h"
#include "tensor/blocks.h"

namespace tandem::kernels::detail {
namespace {

using namespace panel;
using tensor::BlockQ8_K;
using tensor::kQK_K;

constexpr int kVecsPerSuper = kQK_K / 4;  // panel vectors per super-block

struct Panel {
  __m512i* q;      // 64 vectors per super-block
  float* sc;       // 16 floats per sub-block: d * scale
  __m512i* pairs;  // kPairs vectors per super-block: int16 pairs of the correction's weights
  float* pscale;   // 16 floats per super-block: the correction's float factor
};

// Q4_K / Q5_K scales: d, dmin and the 12 packed scale bytes are the first 16 bytes of a block.
inline void unpack_scales_k4(const TileRows& t, size_t base, int64_t sb, const Panel& p) {
  __m512i s4[4];
  load_transposed4(t, base, s4);
  const __m512 d = half_to_float<false>(s4[0]);
  const __m512 dmin = half_to_float<true>(s4[0]);
  // The decode of kquant::decode_scales_mins_k4, 16 rows at once (see kquant_format.h).
  const __m512i lo6 = dwords(0x3f3f3f3fu), lo4 = dwords(0x0f0f0f0fu), top2 = dwords(0x30303030u);
  const __m512i sc_lo = _mm512_and_si512(s4[1], lo6);
  const __m512i mn_lo = _mm512_and_si512(s4[2], lo6);
  const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(s4[3], lo4),
                                        _mm512_and_si512(_mm512_srli_epi32(s4[1], 2), top2));
  const __m512i mn_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(s4[3], 4), lo4),
                                        _mm512_and_si512(_mm512_srli_epi32(s4[2], 2), top2));
  float* sc = p.sc + sb * 8 * 16;
  _mm512_store_ps(sc + 0 * 16, _mm512_mul_ps(d, byte_to_float<0, false>(sc_lo)));
  _mm512_store_ps(sc + 1 * 16, _mm512_mul_ps(d, byte_to_float<1, false>(sc_lo)));
  _mm512_store_ps(sc + 2 * 16, _mm512_mul_ps(d, byte_to_float<2, false>(sc_lo)));
  _mm512_store_ps(sc + 3 * 16, _mm512_mul_ps(d, byte_to_float<3, false>(sc_lo)));
  _mm512_store_ps(sc + 4 * 16, _mm512_mul_ps(d, byte_to_float<0, false>(sc_hi)));
  _mm512_store_ps(sc + 5 * 16, _mm512_mul_ps(d, byte_to_float<1, false>(sc_hi)));
  _mm512_store_ps(sc + 6 * 16, _mm512_mul_ps(d, byte_to_float<2, false>(sc_hi)));
  _mm512_store_ps(sc + 7 * 16, _mm512_mul_ps(d, byte_to_float<3, false>(sc_hi)));
  __m512i* pairs = p.pairs + sb * 4;
  _mm512_store_si512(pairs + 0, byte_pair_to_i16<0, false>(mn_lo));
  _mm512_store_si512(pairs + 1, byte_pair_to_i16<2, false>(mn_lo));
  _mm512_store_si512(pairs + 2, byte_pair_to_i16<0, false>(mn_hi));
  _mm512_store_si512(pairs + 3, byte_pair_to_i16<2, false>(mn_hi));
  _mm512_store_ps(p.pscale + sb * 16, dmin);
}

// Q4_K / Q5_K quants: dword m of the 16-byte chunk c8 of qs is qs[32c + 4j ..] with c = c8 / 2,
// j = 4 (c8 % 2) + m: its low nibbles are elements 64c + 4j.. (panel vector 16c + j), its high
// nibbles elements 64c + 32 + 4j.. (vector 16c + 8 + j).
template <bool kHighBit>
inline void unpack_quants_k4(const TileRows& t, size_t qs, size_t qh, int64_t sb, const Panel& p) {
  __m512i* q = p.q + sb * kVecsPerSuper;
  for (int c8 = 0; c8 < 8; ++c8) {
    __m512i v[4];
    load_transposed4(t, qs + 16 * c8, v);
    for (int m = 0; m < 4; ++m) {
      const int kk = 16 * (c8 / 2) + 4 * (c8 % 2) + m;
      _mm512_store_si512(q + kk, _mm512_and_si512(v[m], bytes(0x0f)));
      _mm512_store_si512(q + kk + 8, _mm512_and_si512(_mm512_srli_epi16(v[m], 4), bytes(0x0f)));
    }
  }
  if constexpr (kHighBit) {
    // Q5_K: the 5th bit of element 32s + l is bit s of qh[l]. Vector kk = 8s + j covers l = 4j..:
    // dword j of the 32 qh bytes, bit s of each byte moved to bit 4.
    __m512i lo[4], hi[4];  // dword j of the 32 qh bytes, every row: lo[j] (j < 4), hi[j - 4]
    load_transposed4(t, qh, lo);
    load_transposed4(t, qh + 16, hi);
    for (int s = 0; s < 8; ++s)
      for (int j = 0; j < 8; ++j) {
        const __m512i h = j < 4 ? lo[j] : hi[j - 4];
        const __m512i bit = s <= 4 ? _mm512_slli_epi16(h, 4 - s) : _mm512_srli_epi16(h, s - 4);
        __m512i* dst = q + 8 * s + j;
        _mm512_store_si512(
            dst, _mm512_or_si512(_mm512_load_si512(dst), _mm512_and_si512(bit, bytes(0x10))));
      }
  }
}

struct Q4K {
  using Block = tensor::BlockQ4_K;
  static constexpr int kGroup = 32, kPairs = 4;
  static constexpr bool kPairsFromSide = true;  // bsum32 pairs prepared per call
  static void unpack(const TileRows& t, int64_t sb, const Panel& p) {
    const size_t base = sb * sizeof(Block);
    unpack_scales_k4(t, base, sb, p);
    unpack_quants_k4<false>(t, base + offsetof(Block, qs), 0, sb, p);
  }
};

struct Q5K {
  using Block = tensor::BlockQ5_K;
  static constexpr int kGroup = 32, kPairs = 4;
  static constexpr bool kPairsFromSide = true;
  static void unpack(const TileRows& t, int64_t sb, const Panel& p) {
    const size_t base = sb * sizeof(Block);
    unpack_scales_k4(t, base, sb, p);
    unpack_quants_k4<true>(t, base + offsetof(Block, qs), base + offsetof(Block, qh), sb, p);
  }
};

// Q6_K: in half h (128 values), element 32k + l has its low 4 bits in ql[64h + 32(k % 2) + l]
// (low nibble for k < 2, high for k >= 2) and its top 2 bits at bits 2k of qh[32h + l].
// Vector kk = 32h + 8k + j covers l = 4j..4j+3.
struct Q6K {
  using Block = tensor::BlockQ6_K;
  static constexpr int kGroup = 16, kPairs = 8;
  static constexpr bool kPairsFromSide = false;  // bsums pairs straight from the Q8_K block
  static void unpack(const TileRows& t, int64_t sb, const Panel& p) {
    const size_t base = sb * sizeof(Block);
    __m512i* q = p.q + sb * kVecsPerSuper;
    __m512i hv[16];
    load_transposed(t, base + offsetof(Block, qh), hv);  // hv[8h + j]: qh[32h + 4j ..]
    for (int h = 0; h < 2; ++h) {
      __m512i lv[16];
      load_transposed(t, base + offsetof(Block, ql) + 64 * h, lv);  // lv[8(k%2) + j]
      for (int k = 0; k < 4; ++k)
        for (int j = 0; j < 8; ++j) {
          const __m512i l = lv[8 * (k % 2) + j];
          const __m512i nib = k < 2 ? _mm512_and_si512(l, bytes(0x0f))
                                    : _mm512_and_si512(_mm512_srli_epi16(l, 4), bytes(0x0f));
          const __m512i x = hv[8 * h + j];
          const __m512i top = k == 0   ? _mm512_slli_epi16(x, 4)
                              : k == 1 ? _mm512_slli_epi16(x, 2)
                              : k == 2 ? x
                                       : _mm512_srli_epi16(x, 2);
          _mm512_store_si512(q + 32 * h + 8 * k + j,
                             _mm512_or_si512(nib, _mm512_and_si512(top, bytes(0x30))));
        }
    }
    __m512i s4[4];  // s4[m]: signed scales 4m .. 4m+3
    load_transposed4(t, base + offsetof(Block, scales), s4);
    const __m512 d = load_f16_lanes(t, base + offsetof(Block, d));
    float* sc = p.sc + sb * 16 * 16;
    __m512i* pairs = p.pairs + sb * 8;
    for (int m = 0; m < 4; ++m) {
      _mm512_store_ps(sc + (4 * m + 0) * 16, _mm512_mul_ps(d, byte_to_float<0, true>(s4[m])));
      _mm512_store_ps(sc + (4 * m + 1) * 16, _mm512_mul_ps(d, byte_to_float<1, true>(s4[m])));
      _mm512_store_ps(sc + (4 * m + 2) * 16, _mm512_mul_ps(d, byte_to_float<2, true>(s4[m])));
      _mm512_store_ps(sc + (4 * m + 3) * 16, _mm512_mul_ps(d, byte_to_float<3, true>(s4[m])));
      _mm512_store_si512(pairs + 2 * m, byte_pair_to_i16<0, true>(s4[m]));
      _mm512_store_si512(pairs + 2 * m + 1, byte_pair_to_i16<2, true>(s4[m]));
    }
    _mm512_store_ps(p.pscale + sb * 16, _mm512_mul_ps(d, _mm512_set1_ps(32.0f)));
  }
};

// Q4_K / Q5_K activation side: per (activation row, super-block), the sums of each 32 values as
// int16 pairs (sub-blocks 2p, 2p+1 in dword p), from the Q8_K block's 16-value sums.
void prepare_bsum32(const uint8_t* a, size_t a_stride, int64_t n_act, int64_t nsb, int32_t* out) {
  for (int64_t j = 0; j < n_act; ++j) {
    const auto* blocks = reinterpret_cast<const BlockQ8_K*>(a + j * a_stride);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      const __m256i s32 = _mm256_madd_epi16(load256(blocks[sb].bsums), _mm256_set1_epi16(1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (j * nsb + sb) * 4),
                       _mm256_cvtepi32_epi16(s32));
    }
  }
}

// Rows of the tile x NA activation rows starting at j0, over all nsb super-blocks.
template <class T, int NA>
void run_acts(const Panel& p, int64_t nsb, const uint8_t* a, size_t a_stride, const int32_t* side,
              int64_t j0, float* out, size_t out_stride, int nr) {
  constexpr int G = T::kGroup, NG = kQK_K / G, V = G / 4, NP = T::kPairs;
  const BlockQ8_K* ap[NA];
  for (int j = 0; j < NA; ++j) ap[j] = reinterpret_cast<const BlockQ8_K*>(a + (j0 + j) * a_stride);
  __m512 acc[NA];
  for (int j = 0; j < NA; ++j) acc[j] = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    __m512 part[NA];  // this super-block's sum, before the activation scale
    for (int g = 0; g < NG; ++g) {
      __m512i w[V];
      for (int v = 0; v < V; ++v) w[v] = _mm512_load_si512(p.q + sb * kVecsPerSuper + g * V + v);
      // Activations innermost: NA independent dpbusd chains in flight.
      __m512i isum[NA];
      for (int j = 0; j < NA; ++j) isum[j] = _mm512_setzero_si512();
      for (int v = 0; v < V; ++v)
        for (int j = 0; j < NA; ++j) {
          const auto* x = reinterpret_cast<const uint8_t*>(ap[j][sb].qs) + g * G + 4 * v;
          isum[j] = _mm512_dpbusd_epi32(isum[j], w[v], bcast4(x));
        }
      const __m512 wsc = _mm512_load_ps(p.sc + (sb * NG + g) * 16);
      for (int j = 0; j < NA; ++j) {
        const __m512 f = _mm512_cvtepi32_ps(isum[j]);
        part[j] = g == 0 ? _mm512_mul_ps(f, wsc) : _mm512_fmadd_ps(f, wsc, part[j]);
      }
    }
    const __m512 pscale = _mm512_load_ps(p.pscale + sb * 16);
    for (int j = 0; j < NA; ++j) {
      __m512i c = _mm512_setzero_si512();
      for (int pp = 0; pp < NP; ++pp) {
        const uint32_t act_pair = T::kPairsFromSide
                                      ? static_cast<uint32_t>(side[((j0 + j) * nsb + sb) * NP + pp])
                                      : load_u32(ap[j][sb].bsums + 2 * pp);
        c = _mm512_dpwssd_epi32(c, _mm512_load_si512(p.pairs + sb * NP + pp), dwords(act_pair));
      }
      part[j] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(c), pscale, part[j]);
      acc[j] = _mm512_fmadd_ps(part[j], _mm512_set1_ps(ap[j][sb].d), acc[j]);
    }
  }
  for (int j = 0; j < NA; ++j) store_rows(out + (j0 + j) * out_stride, acc[j], nr);
}

template <class T>
void gemm(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
          size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  constexpr int NG = kQK_K / T::kGroup;
  const int64_t nsb = cols / kQK_K;
  const size_t ns = static_cast<size_t>(nsb);
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);

  thread_local Scratch act_scratch, panel_scratch, tail_scratch;
  int32_t* side = nullptr;
  if constexpr (T::kPairsFromSide) {
    side = reinterpret_cast<int32_t*>(act_scratch.get(ns * static_cast<size_t>(n_act) * 16));
    prepare_bsum32(ab, a_stride, n_act, nsb, side);
  }

  const size_t q_bytes = ns * kVecsPerSuper * 64, sc_bytes = ns * NG * 64;
  const size_t pair_bytes = ns * T::kPairs * 64, ps_bytes = ns * 64;
  uint8_t* pm = panel_scratch.get(q_bytes + sc_bytes + pair_bytes + ps_bytes);
  const Panel p{reinterpret_cast<__m512i*>(pm), reinterpret_cast<float*>(pm + q_bytes),
                reinterpret_cast<__m512i*>(pm + q_bytes + sc_bytes),
                reinterpret_cast<float*>(pm + q_bytes + sc_bytes + pair_bytes)};

  for (int64_t r0 = 0; r0 < n_rows; r0 += kLanes) {
    const int nr = static_cast<int>(std::min<int64_t>(kLanes, n_rows - r0));
    const TileRows tile =
        tile_rows(wb + r0 * w_stride, w_stride, nr, ns * sizeof(typename T::Block), tail_scratch);
    TilePrefetcher prefetch = prefetch_next_tile(wb, w_stride, r0, n_rows, kLanes, nsb);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      prefetch.step();
      T::unpack(tile, sb, p);
    }
    float* o = out + r0;
    for_act_passes<kMaxActs>(n_act, [&]<int N>(int64_t j0) {
      run_acts<T, N>(p, nsb, ab, a_stride, side, j0, o, out_stride, nr);
    });
  }
}

}  // namespace

// The k-quant tile kernels unpack a row once for up to 8 activation rows, so for a few rows they
// beat the panel's 16-row transposes. Crossovers measured with bench_matmul matmul_batch (one
// thread, weights from DRAM): Q4_K 8192x2048 between 6 and 8 rows (972 vs 885 us at 6, 1069 vs
// 1476 at 8), Q6_K 896x4864 between 4 and 5 (283 vs 317 us at 5).
constexpr int64_t kQ4KPanelMinActs = 7;
constexpr int64_t kQ6KPanelMinActs = 5;

void register_panel_kquant_avx512(KernelTable& t) {
  using tensor::Type;
  auto put = [&](Type type, GemmFn fn, int64_t min_acts) {
    if (t[type].act_type != Type::Q8_K) return;  // the panel must read the driver's activations
    t[type].panel = fn;
    t[type].panel_min_acts = min_acts;
  };
  put(Type::Q4_K, gemm<Q4K>, kQ4KPanelMinActs);
  put(Type::Q5_K, gemm<Q5K>, kQ4KPanelMinActs);  // same tile kernel and unpacking as Q4_K
  put(Type::Q6_K, gemm<Q6K>, kQ6KPanelMinActs);
}

}  // namespace tandem::kernels::detail
