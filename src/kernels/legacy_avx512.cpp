// AVX-512 VNNI kernels of the 32-element block types. Two consecutive blocks share one 512-bit
// register: one vpdpbusd, one convert and one FMA cover 64 weights, with each block's scale in
// the float lanes its products land in. An odd last block runs as a pair whose upper half is
// zero. Same block arithmetic as legacy_x86.h (see the Kind comments there). One activation row
// (decode) of the nibble types runs the 4-block unit kernel of legacy_decode_avx512.inc, of Q8_0
// the raw-chunk kernel below it.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/gemm_table.h"
#include "kernels/simd_x86.h"
#include "tensor/blocks.h"

namespace tandem::kernels::detail {
namespace {

// How a block's quants relate to its values (see legacy_x86.h); every type here is unsigned:
//   Offset:    x = d * (q - offset)   -> dot(q, y) - offset * sum(y), the second term per activation
//   MinOffset: x = d * q + m          -> d * da * dot(q, y) + m * s   (Q8_1 activations)
enum class Kind { Offset, MinOffset };

// Where a pair's 64 values sit in a register, in 16-byte quarters:
//   Blocks: [block 0 elements 0-15, 0 16-31, 1 0-15, 1 16-31]   (plain byte copies)
//   Halves: [block 0 elements 0-15, 1 0-15, 0 16-31, 1 16-31]   (nibble types: low nibbles of
//           both blocks, then high nibbles, which saves a permute per weight pair; the
//           activation, reused by every row, is permuted to match instead)
enum class Layout { Blocks, Halves };

// Two 32-byte halves (the second may be absent: zero) -> one 512-bit register.
inline __m512i join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// 16 packed bytes of each of two blocks -> Halves layout [lo 0, lo 1, hi 0, hi 1].
template <bool kPair>
inline __m512i nibbles2(const uint8_t* qs0, const uint8_t* qs1) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0));
  const __m128i b = kPair ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1)) : _mm_setzero_si128();
  const __m256i ab = _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1);
  return _mm512_and_si512(join(ab, _mm256_srli_epi16(ab, 4)), _mm512_set1_epi8(0x0F));
}

// The 5th bits of two blocks (bit j of each little-endian qh) as 0x10 bytes, Halves layout.
template <bool kPair>
inline __m512i high_bits2(const uint8_t* qh0, const uint8_t* qh1) {
  const uint64_t h0 = simd::load_u32(qh0), h1 = kPair ? simd::load_u32(qh1) : 0;
  const uint64_t bits = (h0 & 0xFFFF) | (h1 & 0xFFFF) << 16 | (h0 >> 16) << 32 | (h1 >> 16) << 48;
  return _mm512_maskz_mov_epi8(static_cast<__mmask64>(bits), _mm512_set1_epi8(0x10));
}

// Two fp16 scales -> floats in the lanes each block's int32 sums occupy in layout L.
template <bool kPair, Layout L>
inline __m512 scales2(uint16_t s0, uint16_t s1) {
  // Both packed in one integer register, converted together, then spread.
  const uint32_t both = s0 | (kPair ? static_cast<uint32_t>(s1) << 16 : 0u);
  const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(both)));
  const __m512i spread = L == Layout::Blocks
                             ? _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
                             : _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1);
  return _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(f));
}

template <bool kPair>
inline __m512i bytes2(const int8_t* q0, const int8_t* q1) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q0));
  const __m256i b = kPair ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q1)) : _mm256_setzero_si256();
  return join(a, b);
}

// Per type, for the decode units (legacy_decode_avx512.inc): kNibbles says the type has one;
// k*Word are the offsets of d, m, qh and qs in the block, in 16-bit words (-1: absent); unit_map
// turns unpacked nibbles (or 5-bit values) into the unsigned bytes vpdpbusd multiplies.
struct Q4_0 {
  using Block = tensor::BlockQ4_0;
  static constexpr bool kNibbles = true;
  static constexpr int kDWord = 0, kMWord = -1, kQhWord = -1, kQsWord = 1;
  static __m512i unit_map(__m512i q) { return q; }
  static constexpr Layout layout = Layout::Halves;
  static constexpr Kind kind = Kind::Offset;
  static constexpr int offset_shift = 3;
  template <bool P> static __m512i quants(const Block* b) { return nibbles2<P>(b[0].qs, b[P].qs); }
};
struct Q5_0 {
  using Block = tensor::BlockQ5_0;
  static constexpr bool kNibbles = true;
  static constexpr int kDWord = 0, kMWord = -1, kQhWord = 1, kQsWord = 3;
  static __m512i unit_map(__m512i q) { return q; }
  static constexpr Layout layout = Layout::Halves;
  static constexpr Kind kind = Kind::Offset;
  static constexpr int offset_shift = 4;
  template <bool P> static __m512i quants(const Block* b) {
    return _mm512_or_si512(nibbles2<P>(b[0].qs, b[P].qs), high_bits2<P>(b[0].qh, b[P].qh));
  }
};
// Signed quants run as unsigned ones offset by 128: vpdpbusd multiplies u8 by s8 without the
// int16 saturation of AVX2's maddubs, so q + 128 (up to 255) is safe and one xor replaces the
// sign juggling a signed x signed product would need per row.
struct Q8_0 {
  using Block = tensor::BlockQ8_0;
  static constexpr bool kNibbles = false;
  static constexpr Layout layout = Layout::Blocks;
  static constexpr Kind kind = Kind::Offset;
  static constexpr int offset_shift = 7;
  template <bool P> static __m512i quants(const Block* b) {
    return _mm512_xor_si512(bytes2<P>(b[0].qs, b[P].qs), _mm512_set1_epi8(static_cast<char>(0x80)));
  }
};
struct IQ4_NL {
  using Block = tensor::BlockIQ4_NL;
  static constexpr bool kNibbles = true;
  static constexpr int kDWord = 0, kMWord = -1, kQhWord = -1, kQsWord = 1;
  static __m512i unit_map(__m512i q) {
    const __m512i table = _mm512_xor_si512(
        _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tensor::kIQ4NLValues))),
        _mm512_set1_epi8(static_cast<char>(0x80)));
    return _mm512_shuffle_epi8(table, q);
  }
  static constexpr Layout layout = Layout::Halves;
  static constexpr Kind kind = Kind::Offset;
  static constexpr int offset_shift = 7;
  template <bool P> static __m512i quants(const Block* b) {
    const __m512i table = _mm512_xor_si512(
        _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tensor::kIQ4NLValues))),
        _mm512_set1_epi8(static_cast<char>(0x80)));
    return _mm512_shuffle_epi8(table, nibbles2<P>(b[0].qs, b[P].qs));
  }
};
struct Q4_1 {
  using Block = tensor::BlockQ4_1;
  static constexpr bool kNibbles = true;
  static constexpr int kDWord = 0, kMWord = 1, kQhWord = -1, kQsWord = 2;
  static __m512i unit_map(__m512i q) { return q; }
  static constexpr Layout layout = Layout::Halves;
  static constexpr Kind kind = Kind::MinOffset;
  static constexpr int offset_shift = 0;
  template <bool P> static __m512i quants(const Block* b) { return nibbles2<P>(b[0].qs, b[P].qs); }
};
struct Q5_1 {
  using Block = tensor::BlockQ5_1;
  static constexpr bool kNibbles = true;
  static constexpr int kDWord = 0, kMWord = 1, kQhWord = 2, kQsWord = 4;
  static __m512i unit_map(__m512i q) { return q; }
  static constexpr Layout layout = Layout::Halves;
  static constexpr Kind kind = Kind::MinOffset;
  static constexpr int offset_shift = 0;
  template <bool P> static __m512i quants(const Block* b) {
    return _mm512_or_si512(nibbles2<P>(b[0].qs, b[P].qs), high_bits2<P>(b[0].qh, b[P].qh));
  }
};

template <class T>
using ActBlock = std::conditional_t<T::kind == Kind::MinOffset, tensor::BlockQ8_1, tensor::BlockQ8_0>;

// The activation side of one block pair: its bytes, its scales, and (Offset kinds) the integer
// sum's starting value -offset * sum(y).
struct alignas(64) ActPair {
  __m512i y;
  __m512i start;
  __m512 da;
  __m512 s8;  // MinOffset kinds: each block's s / 8 in its 8 lanes (the lanes sum back to s)
};

template <class T, bool kPair>
inline ActPair act_pair(const ActBlock<T>* blocks) {
  ActPair p;
  p.y = bytes2<kPair>(blocks[0].qs, blocks[kPair].qs);
  if constexpr (T::layout == Layout::Halves) p.y = _mm512_shuffle_i64x2(p.y, p.y, _MM_SHUFFLE(3, 1, 2, 0));
  p.da = scales2<kPair, T::layout>(blocks[0].d, blocks[kPair].d);
  p.start = _mm512_setzero_si512();
  p.s8 = _mm512_setzero_ps();
  if constexpr (T::kind == Kind::MinOffset)
    p.s8 = _mm512_mul_ps(scales2<kPair, T::layout>(blocks[0].s, blocks[kPair].s), _mm512_set1_ps(0.125f));
  if constexpr (T::kind == Kind::Offset) {
    const __m512i ysum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), p.y);
    p.start = _mm512_sub_epi32(p.start, _mm512_slli_epi32(ysum, T::offset_shift));
  }
  return p;
}

// The weight side of one block pair: quants, scales and (MinOffset kinds) minimums.
struct WeightPair {
  __m512i q;
  __m512 d;
  __m512 m;
};

template <class T, bool kPair>
inline WeightPair weight_pair(const typename T::Block* w) {
  WeightPair p;
  p.q = T::template quants<kPair>(w);
  p.d = scales2<kPair, T::layout>(w[0].d, w[kPair].d);
  if constexpr (T::kind == Kind::MinOffset)
    p.m = scales2<kPair, T::layout>(w[0].m, w[kPair].m);
  else
    p.m = _mm512_setzero_ps();
  return p;
}

// acc += d * da * dot(q, y) (+ m * s) over the 16 lanes of a block pair.
template <class T>
inline __m512 accumulate(const WeightPair& w, const ActPair& p, __m512 acc) {
  const __m512i q = w.q;
  const __m512 d = w.d;
  if constexpr (T::kind == Kind::MinOffset) acc = _mm512_fmadd_ps(w.m, p.s8, acc);
  const __m512i dot = _mm512_dpbusd_epi32(p.start, q, p.y);
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(d, p.da), acc);
}

// One step of a tile over blocks b (and b+1 when kPair).
template <class T, int R, int A, bool kPair>
inline void step(int64_t b, const typename T::Block* const* wr, const ActBlock<T>* const* ar,
                 __m512 (&acc)[R][A]) {
  WeightPair wp[R];
  for (int r = 0; r < R; ++r) wp[r] = weight_pair<T, kPair>(wr[r] + b);
  for (int j = 0; j < A; ++j) {
    const ActPair p = act_pair<T, kPair>(ar[j] + b);
    for (int r = 0; r < R; ++r) acc[r][j] = accumulate<T>(wp[r], p, acc[r][j]);
  }
}

template <class T, int R, int A>
void tile(int64_t nb, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
          float* out, size_t out_stride) {
  using WB = typename T::Block;
  using AB = ActBlock<T>;
  // A 1x1 tile would be one long chain of dependent FMAs (4-cycle latency each): it keeps
  // kChains independent accumulators instead, summed at the end.
  constexpr int kChains = R * A == 1 ? 4 : 1;
  __m512 acc[kChains][R][A];
  for (int c = 0; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) acc[c][r][j] = _mm512_setzero_ps();
  const WB* wr[R];
  const AB* ar[A];
  for (int r = 0; r < R; ++r) wr[r] = reinterpret_cast<const WB*>(w + r * w_stride);
  for (int j = 0; j < A; ++j) ar[j] = reinterpret_cast<const AB*>(a + j * a_stride);
  int64_t b = 0;
  for (; b + 2 * kChains <= nb; b += 2 * kChains)
    for (int c = 0; c < kChains; ++c) step<T, R, A, true>(b + 2 * c, wr, ar, acc[c]);
  for (; b + 2 <= nb; b += 2) step<T, R, A, true>(b, wr, ar, acc[0]);
  if (b < nb) step<T, R, A, false>(b, wr, ar, acc[0]);
  for (int c = 1; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) acc[0][r][j] = _mm512_add_ps(acc[0][r][j], acc[c][r][j]);
  for (int j = 0; j < A; ++j)
    for (int r = 0; r < R; ++r)
      out[j * out_stride + r] = _mm512_reduce_add_ps(acc[0][r][j]);
}

using simd::prefetch_ahead;  // (decode's software prefetch, simd_x86.h)

#include "kernels/legacy_decode_avx512.inc"

// One activation row (decode) of Q8_0, read as raw 64-byte chunks of the weight row with no
// unpacking at all. Blocks are 34 bytes (a 2-byte scale, then 32 quants) and start at even
// offsets, so every int32 lane (4 bytes at a multiple of 4) holds quants of a single block, plus
// at most 2 scale bytes (its own or the next block's). The activation row is Q8_0 too, with the
// same layout: with its scale bytes zeroed it is the chunk's other vpdpbusd operand, and the
// weights' scale bytes multiply zero. Each lane's weight scale is gathered by one vpermt2w from
// the chunk and the one before it (a block's scale lies at most 32 bytes before its first lane);
// the lane-to-block pattern repeats every 17 chunks (32 blocks).
//
// Decode is limited by vector loads here (2 per cycle on Zen 5, half that for loads crossing a
// cache line): per 64 weight bytes this reads 5 vectors, all aligned when the row is (the pair
// kernel it replaced read 7 per 68 bytes, two of them line-crossing 32-byte halves, and ran ~20%
// slower from L2). Two weight rows sharing each chunk's activation loads ran faster still from
// L2 but ~20-25% slower from DRAM (two interleaved streams per core), so rows go one at a time.
// Also measured and dropped: a 17-chunk unroll holding the index patterns in registers (one load
// fewer, +6% from L2, 5-13% slower from DRAM); cutting chunks of rows that start off a 64-byte
// boundary out of aligned line loads with vpermt2d (slower from L2 than the straddling loads).
constexpr int kRawPeriod = 17;  // 64-byte chunks per 32 blocks of 34 bytes

struct RawIndex {
  uint64_t quant_bytes[kRawPeriod];     // bytes of chunk c that are quants (not scale bytes)
  uint16_t scale_word[kRawPeriod][16];  // lane l's scale: its word in (chunk c - 1, chunk c)
};

constexpr RawIndex make_raw_index() {
  RawIndex x{};
  for (int c = 0; c < kRawPeriod; ++c) {
    for (int i = 0; i < 64; ++i)
      if ((64 * c + i) % 34 >= 2) x.quant_bytes[c] |= uint64_t{1} << i;
    for (int l = 0; l < 16; ++l) {
      const int block = (64 * c + 4 * l) / 34;
      x.scale_word[c][l] = static_cast<uint16_t>((34 * block - 64 * (c - 1)) / 2);
    }
  }
  return x;
}
inline constexpr RawIndex kRawIndex = make_raw_index();

// The activation side of one chunk, laid out once per call.
struct alignas(64) RawChunk {
  __m512i y;                // activation bytes at the weights' positions, 0 against scale bytes
  __m512i start;            // -128 * sum(y) of each lane (the weights run offset by 128)
  __m512 da;                // each lane's activation scale (0 past the row's end)
  uint16_t scale_word[16];  // vpermt2w index of each lane's weight scale (RawIndex)
};

// A 64-byte load kept in a register: the compiler would otherwise fold it into both of its uses
// (the xor and the scale gather) and load the chunk twice, and loads are the bottleneck.
inline __m512i load_once(const uint8_t* p) {
  __m512i x = _mm512_loadu_si512(p);
  __asm__("" : "+v"(x));
  return x;
}

// The fp16 scale of each lane's block as floats, gathered from the chunk x and the one before.
inline __m512 lane_scales(__m512i prev, const RawChunk& a, __m512i x, __mmask16 lanes = 0xFFFF) {
  const __m512i index =
      _mm512_zextsi256_si512(_mm256_load_si256(reinterpret_cast<const __m256i*>(a.scale_word)));
  return _mm512_maskz_cvtph_ps(lanes, _mm512_castsi512_si256(_mm512_permutex2var_epi16(prev, index, x)));
}

// acc += one chunk's products; x holds the chunk's raw bytes, prev the previous chunk's.
inline __m512 raw_chunk_dot(__m512i x, __m512i prev, const RawChunk& a, __m512 acc) {
  const __m512i q = _mm512_xor_si512(x, _mm512_set1_epi8(static_cast<char>(0x80)));
  const __m512i dot = _mm512_dpbusd_epi32(a.start, q, a.y);
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(lane_scales(prev, a, x), a.da), acc);
}

// Lays out the activation row (nb Q8_0 blocks) as `chunks` RawChunks.
inline void raw_activation(const tensor::BlockQ8_0* a, int64_t bytes, std::vector<RawChunk>& act) {
  const auto* raw = reinterpret_cast<const uint8_t*>(a);
  const int64_t chunks = (bytes + 63) / 64;
  if (static_cast<int64_t>(act.size()) < chunks) act.resize(static_cast<size_t>(chunks));
  __m512i prev = _mm512_setzero_si512();
  for (int64_t c = 0; c < chunks; ++c) {
    const int period = static_cast<int>(c % kRawPeriod);
    const __mmask64 live = first_bytes(static_cast<int>(std::min<int64_t>(64, bytes - 64 * c)));
    const __m512i x = _mm512_maskz_loadu_epi8(live, raw + 64 * c);
    RawChunk& r = act[static_cast<size_t>(c)];
    r.y = _mm512_maskz_mov_epi8(kRawIndex.quant_bytes[period], x);
    const __m512i ysum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), r.y);
    r.start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(ysum, 7));
    std::memcpy(r.scale_word, kRawIndex.scale_word[period], sizeof(r.scale_word));
    // The activation's own scales sit where the weights' do: the same gather spreads them. Lanes
    // wholly past the row's end get 0, so the weight bytes the tail's masked load zeroes (and
    // whatever scale word their index meets) contribute nothing.
    const __m512i ones = _mm512_set1_epi8(1);
    const __mmask16 live_lanes = _mm512_test_epi32_mask(_mm512_maskz_mov_epi8(live, ones), ones);
    r.da = lane_scales(prev, r, x, live_lanes);
    prev = x;
  }
}

inline void decode_raw_q8_0(int64_t nb, const uint8_t* w, size_t w_stride, int64_t n_rows,
                            const tensor::BlockQ8_0* a, float* out) {
  const int64_t bytes = nb * static_cast<int64_t>(sizeof(tensor::BlockQ8_0));
  const int64_t full = bytes / 64;
  const __mmask64 tail_mask = first_bytes(static_cast<int>(bytes - 64 * full));
  thread_local std::vector<RawChunk> act;
  raw_activation(a, bytes, act);
  const RawChunk* ac = act.data();
  const uint8_t* end = w + n_rows * w_stride;
  for (int64_t i = 0; i < n_rows; ++i) {
    const uint8_t* p = w + i * w_stride;
    // Four accumulator chains: one would wait on the FMA latency every chunk.
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    __m512i prev = _mm512_setzero_si512();  // chunk 0's lanes never index it
    int64_t c = 0;
    for (; c + 4 <= full; c += 4) {
      prefetch_ahead(p + 64 * c, 256, end);
      for (int k = 0; k < 4; ++k) {
        const __m512i x = load_once(p + 64 * (c + k));
        acc[k] = raw_chunk_dot(x, prev, ac[c + k], acc[k]);
        prev = x;
      }
    }
    for (; c < full; ++c) {
      const __m512i x = load_once(p + 64 * c);
      acc[0] = raw_chunk_dot(x, prev, ac[c], acc[0]);
      prev = x;
    }
    // The row's last bytes: a fault-suppressing masked load reads nothing past the row.
    if (tail_mask != 0)
      acc[1] = raw_chunk_dot(_mm512_maskz_loadu_epi8(tail_mask, p + 64 * full), prev, ac[full], acc[1]);
    const __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
    out[i] = _mm512_reduce_add_ps(sum);
  }
}
#include "kernels/legacy_decode_acts_avx512.inc"

// One activation row: the nibble types take the unit kernel, Q8_0 (no unpacking) the raw chunks.
template <class T>
void decode_rows(int64_t nb, const uint8_t* w, size_t w_stride, int64_t n_rows,
                 const ActBlock<T>* a, float* out) {
  if constexpr (T::kNibbles)
    decode_units<T>(nb, w, w_stride, n_rows, a, out);
  else
    decode_raw_q8_0(nb, w, w_stride, n_rows, a, out);
}

#include "kernels/legacy_gemm.inc"

}  // namespace

// 32 zmm registers: 4 rows x 4 activations keeps 16 accumulators, 4 blocks and 4 scales live.
void register_legacy_avx512(KernelTable& t) { register_legacy_types<4, 4>(t); }

}  // namespace tandem::kernels::detail
