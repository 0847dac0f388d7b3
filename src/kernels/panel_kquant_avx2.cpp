// AVX2 panel GEMM of Q4_K, Q5_K and Q6_K against Q8_K activations, for several activation rows:
// panel_kquant_avx512.cpp's scheme (per sub-block: exact int32 sums, then d * scale in float; the
// min / offset correction from the activation's block sums) on 8-row tiles.
//
// vpmaddubsw saturates at 32767, so an int16 may only add a bounded number of products before
// vpmaddwd widens it: q <= 15 (Q4_K) allows 16 products (16 * 15 * 128 = 30720), q <= 31 (Q5_K)
// 8 (31744), q <= 63 (Q6_K) 4 (32256). kPerWiden is that count in vpmaddubsw results (2 products
// each). Every integer sum equals the scalar reference's.
#include <immintrin.h>

#include <cstddef>

#include "kernels/gemm_table.h"
#include "kernels/panel_avx2.h"
#include "tensor/blocks.h"

namespace tandem::kernels::detail {
namespace {

using namespace panel;
using namespace panel::avx2;
using tensor::BlockQ8_K;
using tensor::kQK_K;

constexpr int kVecsPerSuper = kQK_K / 4;  // panel vectors per super-block

struct Panel {
  __m256i* q;      // 64 vectors per super-block (vector 64 sb + kk: elements 4kk.. of 8 rows)
  float* sc;       // 8 floats per sub-block: d * scale
  __m256i* pairs;  // kPairs vectors per super-block: int16 pairs of the correction's weights
  float* pscale;   // 8 floats per super-block: the correction's float factor
};

inline __m256i dwords(uint32_t v) { return _mm256_set1_epi32(static_cast<int>(v)); }

// Q4_K / Q5_K: d, dmin and the 12 packed scale bytes (decode as in kquant_format.h).
inline void unpack_scales_k4(const TileRows& t, size_t base, int64_t sb, const Panel& p) {
  __m256i s4[4];
  load_transposed4(t, base, s4);
  const __m256 d = load_f16_lanes(t, base);
  const __m256 dmin = load_f16_lanes(t, base + 2);
  const __m256i lo6 = dwords(0x3f3f3f3fu), lo4 = dwords(0x0f0f0f0fu), top2 = dwords(0x30303030u);
  const __m256i sc_lo = _mm256_and_si256(s4[1], lo6);
  const __m256i mn_lo = _mm256_and_si256(s4[2], lo6);
  const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(s4[3], lo4),
                                        _mm256_and_si256(_mm256_srli_epi32(s4[1], 2), top2));
  const __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(s4[3], 4), lo4),
                                        _mm256_and_si256(_mm256_srli_epi32(s4[2], 2), top2));
  float* sc = p.sc + sb * 8 * 8;
  _mm256_store_ps(sc + 0 * 8, _mm256_mul_ps(d, byte_to_float<0, false>(sc_lo)));
  _mm256_store_ps(sc + 1 * 8, _mm256_mul_ps(d, byte_to_float<1, false>(sc_lo)));
  _mm256_store_ps(sc + 2 * 8, _mm256_mul_ps(d, byte_to_float<2, false>(sc_lo)));
  _mm256_store_ps(sc + 3 * 8, _mm256_mul_ps(d, byte_to_float<3, false>(sc_lo)));
  _mm256_store_ps(sc + 4 * 8, _mm256_mul_ps(d, byte_to_float<0, false>(sc_hi)));
  _mm256_store_ps(sc + 5 * 8, _mm256_mul_ps(d, byte_to_float<1, false>(sc_hi)));
  _mm256_store_ps(sc + 6 * 8, _mm256_mul_ps(d, byte_to_float<2, false>(sc_hi)));
  _mm256_store_ps(sc + 7 * 8, _mm256_mul_ps(d, byte_to_float<3, false>(sc_hi)));
  __m256i* pairs = p.pairs + sb * 4;
  _mm256_store_si256(pairs + 0, byte_pair_to_i16<0, false>(mn_lo));
  _mm256_store_si256(pairs + 1, byte_pair_to_i16<2, false>(mn_lo));
  _mm256_store_si256(pairs + 2, byte_pair_to_i16<0, false>(mn_hi));
  _mm256_store_si256(pairs + 3, byte_pair_to_i16<2, false>(mn_hi));
  _mm256_store_ps(p.pscale + sb * 8, dmin);
}

// Q4_K / Q5_K quants: dword m of the 16-byte chunk c8 of qs is qs[32c + 4j ..] with c = c8 / 2,
// j = 4 (c8 % 2) + m: low nibbles are elements 64c + 4j.. (vector 16c + j), high nibbles
// 64c + 32 + 4j.. (vector 16c + 8 + j). Q5_K's 5th bit of element 32s + l is bit s of qh[l].
template <bool kHighBit>
inline void unpack_quants_k4(const TileRows& t, size_t qs, size_t qh, int64_t sb, const Panel& p) {
  __m256i* q = p.q + sb * kVecsPerSuper;
  for (int c8 = 0; c8 < 8; ++c8) {
    __m256i v[4];
    load_transposed4(t, qs + 16 * c8, v);
    for (int m = 0; m < 4; ++m) {
      const int kk = 16 * (c8 / 2) + 4 * (c8 % 2) + m;
      _mm256_store_si256(q + kk, _mm256_and_si256(v[m], bytes(0x0f)));
      _mm256_store_si256(q + kk + 8, _mm256_and_si256(_mm256_srli_epi16(v[m], 4), bytes(0x0f)));
    }
  }
  if constexpr (kHighBit) {
    __m256i lo[4], hi[4];  // dword j of the 32 qh bytes: lo[j] (j < 4), hi[j - 4]
    load_transposed4(t, qh, lo);
    load_transposed4(t, qh + 16, hi);
    for (int s = 0; s < 8; ++s)
      for (int j = 0; j < 8; ++j) {
        const __m256i h = j < 4 ? lo[j] : hi[j - 4];
        const __m256i bit = s <= 4 ? _mm256_slli_epi16(h, 4 - s) : _mm256_srli_epi16(h, s - 4);
        __m256i* dst = q + 8 * s + j;
        _mm256_store_si256(
            dst, _mm256_or_si256(_mm256_load_si256(dst), _mm256_and_si256(bit, bytes(0x10))));
      }
  }
}

struct Q4K {
  using Block = tensor::BlockQ4_K;
  static constexpr int kGroup = 32, kPairs = 4, kPerWiden = 8;
  static constexpr bool kPairsFromSide = true;
  static void unpack(const TileRows& t, int64_t sb, const Panel& p) {
    const size_t base = sb * sizeof(Block);
    unpack_scales_k4(t, base, sb, p);
    unpack_quants_k4<false>(t, base + offsetof(Block, qs), 0, sb, p);
  }
};

struct Q5K {
  using Block = tensor::BlockQ5_K;
  static constexpr int kGroup = 32, kPairs = 4, kPerWiden = 4;
  static constexpr bool kPairsFromSide = true;
  static void unpack(const TileRows& t, int64_t sb, const Panel& p) {
    const size_t base = sb * sizeof(Block);
    unpack_scales_k4(t, base, sb, p);
    unpack_quants_k4<true>(t, base + offsetof(Block, qs), base + offsetof(Block, qh), sb, p);
  }
};

// Q6_K (layout in panel_kquant_avx512.cpp): vector kk = 32h + 8k + j takes the nibble (low for
// k < 2) of dword 8(k % 2) + j of ql's half h and bits 2k of dword 8h + j of qh.
struct Q6K {
  using Block = tensor::BlockQ6_K;
  static constexpr int kGroup = 16, kPairs = 8, kPerWiden = 2;
  static constexpr bool kPairsFromSide = false;
  static void unpack(const TileRows& t, int64_t sb, const Panel& p) {
    const size_t base = sb * sizeof(Block);
    __m256i* q = p.q + sb * kVecsPerSuper;
    __m256i hv[16];  // hv[i]: dword i of the 64 qh bytes
    for (int c = 0; c < 4; ++c) {
      __m256i v[4];
      load_transposed4(t, base + offsetof(Block, qh) + 16 * c, v);
      for (int m = 0; m < 4; ++m) hv[4 * c + m] = v[m];
    }
    for (int h = 0; h < 2; ++h) {
      __m256i lv[16];  // lv[i]: dword i of ql's half h
      for (int c = 0; c < 4; ++c) {
        __m256i v[4];
        load_transposed4(t, base + offsetof(Block, ql) + 64 * h + 16 * c, v);
        for (int m = 0; m < 4; ++m) lv[4 * c + m] = v[m];
      }
      for (int k = 0; k < 4; ++k)
        for (int j = 0; j < 8; ++j) {
          const __m256i l = lv[8 * (k % 2) + j];
          const __m256i nib = k < 2 ? _mm256_and_si256(l, bytes(0x0f))
                                    : _mm256_and_si256(_mm256_srli_epi16(l, 4), bytes(0x0f));
          const __m256i x = hv[8 * h + j];
          const __m256i top = k == 0   ? _mm256_slli_epi16(x, 4)
                              : k == 1 ? _mm256_slli_epi16(x, 2)
                              : k == 2 ? x
                                       : _mm256_srli_epi16(x, 2);
          _mm256_store_si256(q + 32 * h + 8 * k + j,
                             _mm256_or_si256(nib, _mm256_and_si256(top, bytes(0x30))));
        }
    }
    __m256i s4[4];  // s4[m]: signed scales 4m .. 4m+3
    load_transposed4(t, base + offsetof(Block, scales), s4);
    const __m256 d = load_f16_lanes(t, base + offsetof(Block, d));
    float* sc = p.sc + sb * 16 * 8;
    __m256i* pairs = p.pairs + sb * 8;
    for (int m = 0; m < 4; ++m) {
      _mm256_store_ps(sc + (4 * m + 0) * 8, _mm256_mul_ps(d, byte_to_float<0, true>(s4[m])));
      _mm256_store_ps(sc + (4 * m + 1) * 8, _mm256_mul_ps(d, byte_to_float<1, true>(s4[m])));
      _mm256_store_ps(sc + (4 * m + 2) * 8, _mm256_mul_ps(d, byte_to_float<2, true>(s4[m])));
      _mm256_store_ps(sc + (4 * m + 3) * 8, _mm256_mul_ps(d, byte_to_float<3, true>(s4[m])));
      _mm256_store_si256(pairs + 2 * m, byte_pair_to_i16<0, true>(s4[m]));
      _mm256_store_si256(pairs + 2 * m + 1, byte_pair_to_i16<2, true>(s4[m]));
    }
    _mm256_store_ps(p.pscale + sb * 8, _mm256_mul_ps(d, _mm256_set1_ps(32.0f)));
  }
};

// Q4_K / Q5_K activation side: per (activation row, super-block), the sums of each 32 values as
// int16 pairs (sub-blocks 2p, 2p+1 in dword p).
void prepare_bsum32(const uint8_t* a, size_t a_stride, int64_t n_act, int64_t nsb, int32_t* out) {
  for (int64_t j = 0; j < n_act; ++j) {
    const auto* blocks = reinterpret_cast<const BlockQ8_K*>(a + j * a_stride);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      const __m256i s32 = _mm256_madd_epi16(load256(blocks[sb].bsums), _mm256_set1_epi16(1));
      // int32 sums (each |s| <= 32 * 128) -> int16, in order: pack within lanes, then reorder.
      const __m256i s16 =
          _mm256_permute4x64_epi64(_mm256_packs_epi32(s32, s32), _MM_SHUFFLE(3, 1, 2, 0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (j * nsb + sb) * 4),
                       _mm256_castsi256_si128(s16));
    }
  }
}

template <class T, int NA>
void run_acts(const Panel& p, int64_t nsb, const uint8_t* a, size_t a_stride, const int32_t* side,
              int64_t j0, float* out, size_t out_stride, int nr) {
  constexpr int G = T::kGroup, NG = kQK_K / G, V = G / 4, NP = T::kPairs, W = T::kPerWiden;
  const __m256i ones = _mm256_set1_epi16(1);
  const BlockQ8_K* ap[NA];
  for (int j = 0; j < NA; ++j) ap[j] = reinterpret_cast<const BlockQ8_K*>(a + (j0 + j) * a_stride);
  __m256 acc[NA];
  for (int j = 0; j < NA; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    __m256 part[NA];
    for (int g = 0; g < NG; ++g) {
      const __m256i* w = p.q + sb * kVecsPerSuper + g * V;
      const __m256 wsc = _mm256_load_ps(p.sc + (sb * NG + g) * 8);
      for (int j = 0; j < NA; ++j) {
        const auto* x = reinterpret_cast<const uint8_t*>(ap[j][sb].qs) + g * G;
        __m256i isum = _mm256_setzero_si256();
        for (int v0 = 0; v0 < V; v0 += W) {
          __m256i s16 = _mm256_maddubs_epi16(_mm256_load_si256(w + v0), bcast4(x + 4 * v0));
          for (int v = v0 + 1; v < v0 + W; ++v)
            s16 = _mm256_add_epi16(
                s16, _mm256_maddubs_epi16(_mm256_load_si256(w + v), bcast4(x + 4 * v)));
          isum = _mm256_add_epi32(isum, _mm256_madd_epi16(s16, ones));
        }
        const __m256 f = _mm256_cvtepi32_ps(isum);
        part[j] = g == 0 ? _mm256_mul_ps(f, wsc) : _mm256_fmadd_ps(f, wsc, part[j]);
      }
    }
    const __m256 pscale = _mm256_load_ps(p.pscale + sb * 8);
    for (int j = 0; j < NA; ++j) {
      __m256i c = _mm256_setzero_si256();
      for (int pp = 0; pp < NP; ++pp) {
        const uint32_t act_pair = T::kPairsFromSide
                                      ? static_cast<uint32_t>(side[((j0 + j) * nsb + sb) * NP + pp])
                                      : load_u32(ap[j][sb].bsums + 2 * pp);
        c = _mm256_add_epi32(
            c, _mm256_madd_epi16(_mm256_load_si256(p.pairs + sb * NP + pp), dwords(act_pair)));
      }
      part[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(c), pscale, part[j]);
      acc[j] = _mm256_fmadd_ps(part[j], _mm256_set1_ps(ap[j][sb].d), acc[j]);
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

  thread_local Scratch act_scratch, panel_scratch;
  int32_t* side = nullptr;
  if constexpr (T::kPairsFromSide) {
    side = reinterpret_cast<int32_t*>(act_scratch.get(ns * static_cast<size_t>(n_act) * 16));
    prepare_bsum32(ab, a_stride, n_act, nsb, side);
  }

  const size_t q_bytes = ns * kVecsPerSuper * 32, sc_bytes = round64(ns * NG * 32);
  const size_t pair_bytes = ns * T::kPairs * 32, ps_bytes = round64(ns * 32);
  uint8_t* pm = panel_scratch.get(q_bytes + sc_bytes + pair_bytes + ps_bytes);
  const Panel p{reinterpret_cast<__m256i*>(pm), reinterpret_cast<float*>(pm + q_bytes),
                reinterpret_cast<__m256i*>(pm + q_bytes + sc_bytes),
                reinterpret_cast<float*>(pm + q_bytes + sc_bytes + pair_bytes)};

  for (int64_t r0 = 0; r0 < n_rows; r0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, n_rows - r0));
    const TileRows tile(wb + r0 * w_stride, w_stride, nr);
    TilePrefetcher prefetch = prefetch_next_tile(wb, w_stride, r0, n_rows, kRows, nsb);
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

// From 4 activation rows on the panel beats the AVX2 tile kernels; at 2 it loses (bench_matmul
// matmul_batch, TANDEM_ISA=avx2, one thread, weights from DRAM: Q4_K 8192x2048 569 vs 537 us at
// 2 rows, 828 vs 955 at 4; Q6_K 896x4864 270 vs 176 at 2, 309 vs 410 at 4).
constexpr int64_t kKQuantAvx2PanelMinActs = 4;

void register_panel_kquant_avx2(KernelTable& t) {
  using tensor::Type;
  auto put = [&](Type type, GemmFn fn, int64_t min_acts) {
    if (t[type].act_type != Type::Q8_K) return;  // the panel must read the driver's activations
    t[type].panel = fn;
    t[type].panel_min_acts = min_acts;
  };
  put(Type::Q4_K, gemm<Q4K>, kKQuantAvx2PanelMinActs);
  put(Type::Q5_K, gemm<Q5K>, kKQuantAvx2PanelMinActs);
  put(Type::Q6_K, gemm<Q6K>, kKQuantAvx2PanelMinActs);
}

}  // namespace tandem::kernels::detail
