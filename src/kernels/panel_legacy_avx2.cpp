// AVX2 panel GEMM of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) for
// several activation rows: the scheme of panel_avx512.h on 256-bit registers (8 weight rows per
// tile, lane r = row r) for CPUs without AVX-512 VNNI (Zen 3, Haswell ... Alder Lake).
//
// Without vpdpbusd, 4 k-values of 8 rows times the activation's 4 bytes broadcast take
// vpmaddubsw (u8 x s8 -> int16 pair sums) and vpmaddwd with ones (-> int32). vpmaddubsw
// saturates at 32767, so the int16 sums must stay below it: for unsigned quants (q <= 31) an
// int16 adds the 8 products of 4 maddubs (<= 8 * 31 * 128 = 31744) before widening; signed quants
// (Q8_0, IQ4_NL) move the weight's sign onto the activation (|w| <= 128, |a| <= 127) and widen
// every maddubs (2 products <= 2 * 128 * 127 = 32512). Every integer sum equals the scalar
// reference's.
#include <immintrin.h>

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "kernels/gemm_table.h"
#include "kernels/panel_avx2.h"
#include "tensor/blocks.h"

namespace tandem::kernels::detail {
namespace {

using namespace panel;
using namespace panel::avx2;
using tensor::kQK;

// kOffset: the unsigned panel value minus kOffset is the quant. kSigned: the panel holds signed
// values (sign moved onto the activation). kMin: x = d * q + m with Q8_1 activations.
struct Q4_0 {
  using Block = tensor::BlockQ4_0;
  static constexpr int kOffset = 8;
  static constexpr bool kSigned = false, kMin = false, kHighBit = false, kTable = false;
  static constexpr size_t kQh = 0, kM = 0;
};
struct Q4_1 {
  using Block = tensor::BlockQ4_1;
  static constexpr int kOffset = 0;
  static constexpr bool kSigned = false, kMin = true, kHighBit = false, kTable = false;
  static constexpr size_t kQh = 0, kM = offsetof(Block, m);
};
struct Q5_0 {
  using Block = tensor::BlockQ5_0;
  static constexpr int kOffset = 16;
  static constexpr bool kSigned = false, kMin = false, kHighBit = true, kTable = false;
  static constexpr size_t kQh = offsetof(Block, qh), kM = 0;
};
struct Q5_1 {
  using Block = tensor::BlockQ5_1;
  static constexpr int kOffset = 0;
  static constexpr bool kSigned = false, kMin = true, kHighBit = true, kTable = false;
  static constexpr size_t kQh = offsetof(Block, qh), kM = offsetof(Block, m);
};
struct IQ4_NL {
  using Block = tensor::BlockIQ4_NL;
  static constexpr int kOffset = 0;
  static constexpr bool kSigned = true, kMin = false, kHighBit = false, kTable = true;
  static constexpr size_t kQh = 0, kM = 0;
};
struct Q8_0 {
  using Block = tensor::BlockQ8_0;
  static constexpr int kOffset = 0;
  static constexpr bool kSigned = true, kMin = false, kHighBit = false, kTable = false;
  static constexpr size_t kQh = 0, kM = 0;
};

template <class T>
constexpr bool kIsNibble = !std::is_same_v<T, Q8_0>;

template <class T>
using ActBlock = std::conditional_t<T::kMin, tensor::BlockQ8_1, tensor::BlockQ8_0>;

struct Panel {
  __m256i* q;  // 8 vectors per block
  float* d;    // 8 floats per block
  float* m;    // 8 floats per block (kMin types)
};

template <class T>
void unpack_block(const TileRows& t, int64_t b, const Panel& p) {
  using Block = typename T::Block;
  const size_t base = static_cast<size_t>(b) * sizeof(Block);
  __m256i* q = p.q + 8 * b;
  _mm256_store_ps(p.d + 8 * b, load_f16_lanes(t, base + offsetof(Block, d)));
  if constexpr (T::kMin) _mm256_store_ps(p.m + 8 * b, load_f16_lanes(t, base + T::kM));
  __m256i v[4];
  load_transposed4(t, base + offsetof(Block, qs), v);
  if constexpr (!kIsNibble<T>) {
    for (int m = 0; m < 4; ++m) _mm256_store_si256(q + m, v[m]);
    load_transposed4(t, base + offsetof(Block, qs) + 16, v);
    for (int m = 0; m < 4; ++m) _mm256_store_si256(q + 4 + m, v[m]);
    return;
  }
  __m256i qh = _mm256_setzero_si256();
  if constexpr (T::kHighBit) qh = load_u32_lanes(t, base + T::kQh);
  auto one = [&]<int m>() {
    __m256i lo = _mm256_and_si256(v[m], bytes(0x0f));                        // elements 4m..
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v[m], 4), bytes(0x0f));  // 16 + 4m..
    if constexpr (T::kHighBit) {
      lo = add_high_bits<4 * m>(lo, qh);
      hi = add_high_bits<16 + 4 * m>(hi, qh);
    }
    if constexpr (T::kTable) {
      const __m256i table = _mm256_broadcastsi128_si256(load128(tensor::kIQ4NLValues));
      lo = _mm256_shuffle_epi8(table, lo);
      hi = _mm256_shuffle_epi8(table, hi);
    }
    _mm256_store_si256(q + m, lo);
    _mm256_store_si256(q + 4 + m, hi);
  };
  one.template operator()<0>();
  one.template operator()<1>();
  one.template operator()<2>();
  one.template operator()<3>();
}

// The activation side of one call, per (activation row, block): scale, and the integer
// correction -offset * sum(a) or (kMin types) s.
struct ActSide {
  float* d;
  int32_t* corr;
  float* s;
};

inline int32_t sum32(const int8_t* p) {
  const __m256i biased = _mm256_xor_si256(load256(p), bytes(0x80));
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
      else if constexpr (T::kOffset != 0)
        s.corr[i] = -T::kOffset * sum32(blocks[b].qs);
    }
  }
}

// The int32 dot products of one block: 8 rows x one activation row.
template <class T>
inline __m256i block_dot(const __m256i (&w)[8], const uint8_t* x, __m256i isum) {
  const __m256i ones = _mm256_set1_epi16(1);
  if constexpr (T::kSigned) {
    for (int v = 0; v < 8; ++v) {
      const __m256i a = bcast4(x + 4 * v);
      const __m256i p =
          _mm256_maddubs_epi16(_mm256_sign_epi8(w[v], w[v]), _mm256_sign_epi8(a, w[v]));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, ones));
    }
  } else {
    for (int h = 0; h < 2; ++h) {  // 4 maddubs (8 products per int16, q <= 31) per widening
      __m256i p = _mm256_maddubs_epi16(w[4 * h], bcast4(x + 16 * h));
      for (int v = 1; v < 4; ++v)
        p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[4 * h + v], bcast4(x + 16 * h + 4 * v)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, ones));
    }
  }
  return isum;
}

template <class T, int NA>
void run_acts(const Panel& p, int64_t nb, const uint8_t* a, size_t a_stride, const ActSide& s,
              int64_t j0, float* out, size_t out_stride, int nr) {
  using AB = ActBlock<T>;
  const uint8_t* ap[NA];
  for (int j = 0; j < NA; ++j) ap[j] = a + (j0 + j) * a_stride + offsetof(AB, qs);
  __m256 acc[NA];
  for (int j = 0; j < NA; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i w[8];
    for (int v = 0; v < 8; ++v) w[v] = _mm256_load_si256(p.q + 8 * b + v);
    const __m256 wd = _mm256_load_ps(p.d + 8 * b);
    for (int j = 0; j < NA; ++j) {
      const int64_t i = (j0 + j) * nb + b;
      const __m256i init =
          T::kMin || T::kOffset == 0 ? _mm256_setzero_si256() : _mm256_set1_epi32(s.corr[i]);
      const __m256i isum = block_dot<T>(w, ap[j] + b * sizeof(AB), init);
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(wd, _mm256_set1_ps(s.d[i])),
                               acc[j]);
      if constexpr (T::kMin)
        acc[j] = _mm256_fmadd_ps(_mm256_load_ps(p.m + 8 * b), _mm256_set1_ps(s.s[i]), acc[j]);
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

  thread_local Scratch act_scratch, panel_scratch;
  const size_t side_bytes = round64(nbs * static_cast<size_t>(n_act) * 4);
  uint8_t* side_mem = act_scratch.get(2 * side_bytes);
  const ActSide side{reinterpret_cast<float*>(side_mem),
                     reinterpret_cast<int32_t*>(side_mem + side_bytes),
                     reinterpret_cast<float*>(side_mem + side_bytes)};
  prepare_acts<T>(ab, a_stride, n_act, nb, side);

  const size_t q_bytes = nbs * 8 * 32, f_bytes = round64(nbs * 32);
  uint8_t* pm = panel_scratch.get(q_bytes + 2 * f_bytes);
  const Panel p{reinterpret_cast<__m256i*>(pm), reinterpret_cast<float*>(pm + q_bytes),
                reinterpret_cast<float*>(pm + q_bytes + f_bytes)};

  constexpr int64_t kPrefetchBlocks = 4;
  for (int64_t r0 = 0; r0 < n_rows; r0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, n_rows - r0));
    const TileRows tile(wb + r0 * w_stride, w_stride, nr);
    TilePrefetcher prefetch =
        prefetch_next_tile(wb, w_stride, r0, n_rows, kRows, nb / kPrefetchBlocks + 1);
    for (int64_t b = 0; b < nb; ++b) {
      if (b % kPrefetchBlocks == 0) prefetch.step();
      unpack_block<T>(tile, b, p);
    }
    float* o = out + r0;
    for_act_passes<kMaxActs>(n_act, [&]<int N>(int64_t j0) {
      run_acts<T, N>(p, nb, ab, a_stride, side, j0, o, out_stride, nr);
    });
  }
}

}  // namespace

// Like the AVX-512 panel, from 2 activation rows on (the AVX2 tile kernels also run a second
// activation row as a separate one-row tile).
constexpr int64_t kLegacyAvx2PanelMinActs = 2;

void register_panel_legacy_avx2(KernelTable& t) {
  using tensor::Type;
  auto put = [&](Type type, Type act, GemmFn fn) {
    if (t[type].act_type != act) return;  // the panel must read the activations the driver makes
    t[type].panel = fn;
    t[type].panel_min_acts = kLegacyAvx2PanelMinActs;
  };
  put(Type::Q4_0, Type::Q8_0, gemm<Q4_0>);
  put(Type::Q4_1, Type::Q8_1, gemm<Q4_1>);
  put(Type::Q5_0, Type::Q8_0, gemm<Q5_0>);
  put(Type::Q5_1, Type::Q8_1, gemm<Q5_1>);
  put(Type::Q8_0, Type::Q8_0, gemm<Q8_0>);
  put(Type::IQ4_NL, Type::Q8_0, gemm<IQ4_NL>);
}

}  // namespace tandem::kernels::detail
