// AVX-512 VNNI panel GEMM of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL)
// for several activation rows; the scheme is described in panel_avx512.h.
//
// Panel of one 16-row tile: 8 vectors per block (vector 8b + m holds elements 4m..4m+3 of block
// b of every row, unsigned) and one float vector of the rows' block scales (plus one of the
// minimums for Q4_1 / Q5_1). Per activation row and block: the int32 sums start at
// -offset * sum(activation block) (the unsigned storage's constant, exact), take 8 vpdpbusd,
// and are scaled by d_row * d_act.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <cstddef>
#include <type_traits>

#include "kernels/gemm_table.h"
#include "kernels/kquant_simd_common.h"
#include "kernels/panel_avx512.h"
#include "tensor/blocks.h"

namespace tandem::kernels::detail {
namespace {

using namespace panel;
using tensor::kQK;

// Weight formats. kOffset: the unsigned panel value minus kOffset is the signed quant. kMin:
// x = d * q + m with Q8_1 activations (the m * s term per block).
struct Q4_0 {
  using Block = tensor::BlockQ4_0;
  static constexpr int kOffset = 8;
  static constexpr bool kMin = false, kHighBit = false, kTable = false;
  static constexpr size_t kQh = 0, kM = 0;
};
struct Q4_1 {
  using Block = tensor::BlockQ4_1;
  static constexpr int kOffset = 0;
  static constexpr bool kMin = true, kHighBit = false, kTable = false;
  static constexpr size_t kQh = 0, kM = offsetof(Block, m);
};
struct Q5_0 {
  using Block = tensor::BlockQ5_0;
  static constexpr int kOffset = 16;
  static constexpr bool kMin = false, kHighBit = true, kTable = false;
  static constexpr size_t kQh = offsetof(Block, qh), kM = 0;
};
struct Q5_1 {
  using Block = tensor::BlockQ5_1;
  static constexpr int kOffset = 0;
  static constexpr bool kMin = true, kHighBit = true, kTable = false;
  static constexpr size_t kQh = offsetof(Block, qh), kM = offsetof(Block, m);
};
struct IQ4_NL {
  using Block = tensor::BlockIQ4_NL;
  static constexpr int kOffset = 128;  // table values stored + 128
  static constexpr bool kMin = false, kHighBit = false, kTable = true;
  static constexpr size_t kQh = 0, kM = 0;
};
struct Q8_0 {
  using Block = tensor::BlockQ8_0;
  static constexpr int kOffset = 128;  // signed bytes stored + 128
  static constexpr bool kMin = false, kHighBit = false, kTable = false;
  static constexpr size_t kQh = 0, kM = 0;
};

template <class T>
constexpr bool kIsNibble = !std::is_same_v<T, Q8_0>;

template <class T>
using ActBlock = std::conditional_t<T::kMin, tensor::BlockQ8_1, tensor::BlockQ8_0>;

struct Panel {
  __m512i* q;  // 8 vectors per block
  float* d;    // 16 floats per block
  float* m;    // 16 floats per block (kMin types)
};

// Block b of the tile's rows into the panel.
template <class T>
void unpack_block(const TileRows& t, int64_t b, const Panel& p) {
  using Block = typename T::Block;
  const size_t base = static_cast<size_t>(b) * sizeof(Block);
  __m512i* q = p.q + 8 * b;
  // Every block starts with 8 bytes of scales and high bits (or quants): d at byte 0, then m at
  // byte 2 (Q4_1, Q5_1) and qh at byte 2 (Q5_0) or 4 (Q5_1).
  static_assert(offsetof(Block, d) == 0 && T::kQh + 4 <= 8 && sizeof(Block) >= 8);
  const RowQwords head(t, base);
  _mm512_store_ps(p.d + 16 * b, head.template half<0>());
  if constexpr (T::kMin) _mm512_store_ps(p.m + 16 * b, head.template half<8 * T::kM>());
  __m512i v[4];  // v[m] = dword m of 16 quant bytes, every row
  load_transposed4(t, base + offsetof(Block, qs), v);
  if constexpr (!kIsNibble<T>) {
    for (int m = 0; m < 4; ++m) _mm512_store_si512(q + m, _mm512_xor_si512(v[m], bytes(0x80)));
    load_transposed4(t, base + offsetof(Block, qs) + 16, v);
    for (int m = 0; m < 4; ++m) _mm512_store_si512(q + 4 + m, _mm512_xor_si512(v[m], bytes(0x80)));
  } else {
    __m512i qh = _mm512_setzero_si512();
    if constexpr (T::kHighBit) qh = head.template u32<8 * T::kQh>();
    kquant::unroll<4>([&](auto m) {
      __m512i lo = _mm512_and_si512(v[m], bytes(0x0f));                        // elements 4m..
      __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v[m], 4), bytes(0x0f));  // 16 + 4m..
      if constexpr (T::kHighBit) {
        lo = add_high_bits<4 * m>(lo, qh);
        hi = add_high_bits<16 + 4 * m>(hi, qh);
      }
      if constexpr (T::kTable) {
        const __m512i table =
            _mm512_xor_si512(_mm512_broadcast_i32x4(load128(tensor::kIQ4NLValues)), bytes(0x80));
        lo = _mm512_shuffle_epi8(table, lo);
        hi = _mm512_shuffle_epi8(table, hi);
      }
      _mm512_store_si512(q + m, lo);
      _mm512_store_si512(q + 4 + m, hi);
    });
  }
}

// Blocks per prefetch step.
constexpr int64_t kPrefetchBlocks = 4;

template <class T>
void unpack(const TileRows& t, int64_t nb, const Panel& p, TilePrefetcher& prefetch) {
  for (int64_t b = 0; b < nb; ++b) {
    if (b % kPrefetchBlocks == 0) prefetch.step();
    unpack_block<T>(t, b, p);
  }
}

// The activation side of one call, per (activation row, block): its scale as float, and either
// the integer correction -offset * sum(a) or (kMin types) its s as float.
struct ActSide {
  float* d;
  int32_t* corr;
  float* s;
};

// sum of the 32 signed bytes at p.
inline int32_t sum32(const int8_t* p) {
  const __m256i biased = _mm256_xor_si256(load256(p), _mm256_set1_epi8(static_cast<char>(0x80)));
  const __m256i s = _mm256_sad_epu8(biased, _mm256_setzero_si256());  // 4 sums of (a + 128)
  __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  t = _mm_add_epi64(t, _mm_unpackhi_epi64(t, t));
  return _mm_cvtsi128_si32(t) - 32 * 128;
}

template <class T>
void prepare_acts(const uint8_t* a, size_t a_stride, int64_t n_act, int64_t nb, const ActSide& s) {
  using AB = ActBlock<T>;
  for (int64_t j = 0; j < n_act; ++j) {
    const auto* blocks = reinterpret_cast<const AB*>(a + j * a_stride);
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t i = j * nb + b;
      s.d[i] = _cvtsh_ss(blocks[b].d);
      if constexpr (T::kMin)
        s.s[i] = _cvtsh_ss(blocks[b].s);
      else
        s.corr[i] = -T::kOffset * sum32(blocks[b].qs);
    }
  }
}

// Rows of the tile x NA activation rows starting at j0, over all nb blocks.
template <class T, int NA>
void run_acts(const Panel& p, int64_t nb, const uint8_t* a, size_t a_stride, const ActSide& s,
              int64_t j0, float* out, size_t out_stride, int nr) {
  using AB = ActBlock<T>;
  const uint8_t* ap[NA];
  for (int j = 0; j < NA; ++j) ap[j] = a + (j0 + j) * a_stride + offsetof(AB, qs);
  __m512 acc[NA];
  for (int j = 0; j < NA; ++j) acc[j] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i w[8];
    for (int v = 0; v < 8; ++v) w[v] = _mm512_load_si512(p.q + 8 * b + v);
    // Activations innermost: NA independent dpbusd chains in flight.
    __m512i isum[NA];
    for (int j = 0; j < NA; ++j)
      isum[j] = T::kMin ? _mm512_setzero_si512() : _mm512_set1_epi32(s.corr[(j0 + j) * nb + b]);
    for (int v = 0; v < 8; ++v)
      for (int j = 0; j < NA; ++j)
        isum[j] = _mm512_dpbusd_epi32(isum[j], w[v], bcast4(ap[j] + b * sizeof(AB) + 4 * v));
    const __m512 wd = _mm512_load_ps(p.d + 16 * b);
    for (int j = 0; j < NA; ++j) {
      const int64_t i = (j0 + j) * nb + b;
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[j]),
                               _mm512_mul_ps(wd, _mm512_set1_ps(s.d[i])), acc[j]);
      if constexpr (T::kMin)
        acc[j] = _mm512_fmadd_ps(_mm512_load_ps(p.m + 16 * b), _mm512_set1_ps(s.s[i]), acc[j]);
    }
  }
  for (int j = 0; j < NA; ++j) store_rows(out + (j0 + j) * out_stride, acc[j], nr);
}

template <class T>
void gemm(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
          size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  const int64_t nb = cols / kQK;
  const size_t nbs = static_cast<size_t>(nb);
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);

  thread_local Scratch act_scratch, panel_scratch, tail_scratch;
  const size_t side_bytes = round64(nbs * static_cast<size_t>(n_act) * 4);
  uint8_t* side_mem = act_scratch.get(2 * side_bytes);
  const ActSide side{reinterpret_cast<float*>(side_mem),
                     reinterpret_cast<int32_t*>(side_mem + side_bytes),
                     reinterpret_cast<float*>(side_mem + side_bytes)};
  prepare_acts<T>(ab, a_stride, n_act, nb, side);

  const size_t q_bytes = nbs * 8 * 64, f_bytes = nbs * 64;
  uint8_t* pm = panel_scratch.get(q_bytes + 2 * f_bytes);
  const Panel p{reinterpret_cast<__m512i*>(pm), reinterpret_cast<float*>(pm + q_bytes),
                reinterpret_cast<float*>(pm + q_bytes + f_bytes)};

  for (int64_t r0 = 0; r0 < n_rows; r0 += kLanes) {
    const int nr = static_cast<int>(std::min<int64_t>(kLanes, n_rows - r0));
    TilePrefetcher prefetch =
        prefetch_next_tile(wb, w_stride, r0, n_rows, kLanes, nb / kPrefetchBlocks + 1);
    const TileRows tile =
        tile_rows(wb + r0 * w_stride, w_stride, nr, nbs * sizeof(typename T::Block), tail_scratch);
    unpack<T>(tile, nb, p, prefetch);
    float* o = out + r0;
    for_act_passes<kMaxActs>(n_act, [&]<int N>(int64_t j0) {
      run_acts<T, N>(p, nb, ab, a_stride, side, j0, o, out_stride, nr);
    });
  }
}

}  // namespace

// Below these row counts decode_few_acts (legacy_decode_acts_avx512.inc) streams the weights
// once with the unpacking shared, no panel transposes. bench_matmul matmul_batch, 2 threads,
// best of 3 (us): Q5_0 4864x896 at 2 / 4 / 5 rows 60 / 82 / 174 vs the panel's 101 / 113 / 118;
// Q8_0 151936x896 at 2 rows 3294-3431 vs the panel's 4618; at 4 rows 5253-5332 vs 4669-5073
// (raw-chunk kernel, best of 3-4 rounds; the host's bandwidth moves these by +-30%).
constexpr int64_t kNibblePanelMinActs = 5;
constexpr int64_t kQ8PanelMinActs = 4;

void register_panel_legacy_avx512(KernelTable& t) {
  using tensor::Type;
  auto put = [&](Type type, Type act, GemmFn fn, int64_t min_acts) {
    if (t[type].act_type != act) return;  // the panel must read the activations the driver makes
    t[type].panel = fn;
    t[type].panel_min_acts = min_acts;
  };
  put(Type::Q4_0, Type::Q8_0, gemm<Q4_0>, kNibblePanelMinActs);
  put(Type::Q4_1, Type::Q8_1, gemm<Q4_1>, kNibblePanelMinActs);
  put(Type::Q5_0, Type::Q8_0, gemm<Q5_0>, kNibblePanelMinActs);
  put(Type::Q5_1, Type::Q8_1, gemm<Q5_1>, kNibblePanelMinActs);
  put(Type::Q8_0, Type::Q8_0, gemm<Q8_0>, kQ8PanelMinActs);
  put(Type::IQ4_NL, Type::Q8_0, gemm<IQ4_NL>, kNibblePanelMinActs);
}

}  // namespace tandem::kernels::detail
