#pragma once
// The AVX-512 VNNI "panel" GEMM for several activation rows (prompt processing, batched decode),
// shared by panel_legacy_avx512.cpp and panel_kquant_avx512.cpp. Include only from files
// compiled with the AVX-512 flags: everything is in an anonymous namespace so each including file
// keeps its own copy.
//
// Idea: a tile of 16 weight rows is unpacked ONCE per call into an int8 panel in which one 64-byte
// vector holds 4 consecutive k-values of each of the 16 rows (lane r = row r), plus per-row float
// scales per group of 16 or 32 values. Then every activation row of the call runs over the panel
// with one vpdpbusd per 4 k-values: the panel vector (unsigned weights) times the activation's 4
// bytes broadcast to every lane (signed). Each group's int32 sums become floats once, scaled by
// the 16 rows' group scales. The unpacking (nibble splits, bit merges, the transpose that puts
// row r in lane r) is paid once per tile and call instead of once per (row tile, activation
// tile) as in the per-type tile kernels.
//
// Weights are stored unsigned (q + offset where the format is signed or offset); the constant part
// comes back as an integer correction from the activation's sums, so every integer product is the
// one the scalar reference forms.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "kernels/panel_scratch.h"

namespace tandem::kernels::detail::panel {
namespace {

constexpr int kLanes = 16;   // weight rows per tile: one per 32-bit lane of a zmm register
constexpr int kMaxActs = 8;  // activation rows per pass: 2 x 8 accumulators + 8 weight vectors

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t load_u64(const void* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline __m512i bytes(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
inline __m512i dwords(uint32_t v) { return _mm512_set1_epi32(static_cast<int>(v)); }

// The activation's 4 bytes at p in every lane (one vpbroadcastd from memory).
inline __m512i bcast4(const uint8_t* p) { return _mm512_set1_epi32(static_cast<int>(load_u32(p))); }

// The rows of one tile: row r at base + r * stride. The matrix's last tile, when it has fewer
// than 16 rows, is copied first with its last row repeated (tile_rows), so every tile has 16
// readable rows and a row's address is one multiply-add (16 row pointers would not fit in
// general registers next to the loop's own).
struct TileRows {
  const uint8_t* base;
  size_t stride;
  const uint8_t* row(int r) const { return base + static_cast<size_t>(r) * stride; }
};

inline TileRows tile_rows(const uint8_t* w, size_t stride, int n_rows, size_t row_bytes,
                          Scratch& tail) {
  if (n_rows >= kLanes) return {w, stride};
  uint8_t* copy = tail.get(kLanes * row_bytes);
  for (int r = 0; r < kLanes; ++r)
    std::memcpy(copy + r * row_bytes, w + static_cast<size_t>(std::min(r, n_rows - 1)) * stride,
                row_bytes);
  return {copy, row_bytes};
}

// In-place transpose of a 16 x 16 matrix of dwords: afterwards v[e] lane r = old v[r] lane e.
// Stage 1-2 transpose 4x4 blocks inside each 128-bit lane, stage 3-4 the 4x4 grid of lanes.
inline void transpose16(__m512i (&v)[16]) {
  __m512i t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
  }
  // u[4g + m]: rows 4g..4g+3, element 4L + m of each 128-bit lane L.
  __m512i u[16];
  for (int g = 0; g < 4; ++g) {
    u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512i a0 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x88);       // L0, L2 of g 0, 1
    const __m512i a1 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xdd);       // L1, L3 of g 0, 1
    const __m512i b0 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x88);  // L0, L2 of g 2, 3
    const __m512i b1 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xdd);
    v[m] = _mm512_shuffle_i32x4(a0, b0, 0x88);       // element m      (lane 0)
    v[8 + m] = _mm512_shuffle_i32x4(a0, b0, 0xdd);   // element 8 + m  (lane 2)
    v[4 + m] = _mm512_shuffle_i32x4(a1, b1, 0x88);   // element 4 + m  (lane 1)
    v[12 + m] = _mm512_shuffle_i32x4(a1, b1, 0xdd);  // element 12 + m (lane 3)
  }
}

// v[e] lane r = dword e of the 64 bytes at row r + offset.
inline void load_transposed(const TileRows& t, size_t offset, __m512i (&v)[16]) {
  for (int r = 0; r < kLanes; ++r) v[r] = load512(t.row(r) + offset);
  transpose16(v);
}

// v[m] lane r = dword m (m < 4) of the 16 bytes at row r + offset. The loads already put row
// 4L + q into 128-bit lane L of v[q], so only a 4x4 transpose inside each lane remains (8 in-lane
// shuffles instead of the 16 cross-lane ones a full 16x16 transpose adds).
inline void load_transposed4(const TileRows& t, size_t offset, __m512i (&v)[4]) {
  for (int q = 0; q < 4; ++q) {
    const uint8_t* p = t.row(q) + offset;
    const size_t s4 = 4 * t.stride;
    __m512i x = _mm512_castsi128_si512(load128(p));
    x = _mm512_inserti32x4(x, load128(p + s4), 1);
    x = _mm512_inserti32x4(x, load128(p + 2 * s4), 2);
    v[q] = _mm512_inserti32x4(x, load128(p + 3 * s4), 3);
  }
  const __m512i t0 = _mm512_unpacklo_epi32(v[0], v[1]), t1 = _mm512_unpackhi_epi32(v[0], v[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(v[2], v[3]), t3 = _mm512_unpackhi_epi32(v[2], v[3]);
  v[0] = _mm512_unpacklo_epi64(t0, t2);
  v[1] = _mm512_unpackhi_epi64(t0, t2);
  v[2] = _mm512_unpacklo_epi64(t1, t3);
  v[3] = _mm512_unpackhi_epi64(t1, t3);
}

// Lane r = the fp16 at row r + offset, as float.
inline __m512 load_f16_lanes(const TileRows& t, size_t offset) {
  alignas(32) uint16_t h[kLanes];
  for (int r = 0; r < kLanes; ++r) std::memcpy(&h[r], t.row(r) + offset, 2);
  return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(h)));
}

// The 8 bytes at row r + offset for every row, as qwords: lo holds rows 0..7, hi rows 8..15.
// Masked broadcast loads place each row's qword in its lane directly (measured 2x cheaper than
// staging the values through memory, which pays a scalar store per row and field).
struct RowQwords {
  __m512i lo, hi;
  RowQwords(const TileRows& t, size_t offset) {
    lo = hi = _mm512_setzero_si512();
    for (int r = 0; r < 8; ++r) {
      lo = _mm512_mask_set1_epi64(lo, static_cast<__mmask8>(1u << r),
                                  static_cast<long long>(load_u64(t.row(r) + offset)));
      hi = _mm512_mask_set1_epi64(hi, static_cast<__mmask8>(1u << r),
                                  static_cast<long long>(load_u64(t.row(8 + r) + offset)));
    }
  }
  // Bits [shift, shift + 16) of each row's qword, as fp16 -> float.
  template <int shift>
  __m512 half(void) const {
    const __m128i a = _mm512_cvtepi64_epi16(_mm512_srli_epi64(lo, shift));
    const __m128i b = _mm512_cvtepi64_epi16(_mm512_srli_epi64(hi, shift));
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1));
  }
  // Bits [shift, shift + 32) of each row's qword.
  template <int shift>
  __m512i u32(void) const {
    const __m256i a = _mm512_cvtepi64_epi32(_mm512_srli_epi64(lo, shift));
    const __m256i b = _mm512_cvtepi64_epi32(_mm512_srli_epi64(hi, shift));
    return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
  }
};

// The fp16 in the low (kHigh = false) or high half of each lane, as float.
template <bool kHigh>
inline __m512 half_to_float(__m512i v) {
  const __m512i h = kHigh ? _mm512_srli_epi32(v, 16) : v;
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h));
}

// Byte `i` of each lane, zero- or sign-extended, as float.
template <int i, bool kSigned>
inline __m512 byte_to_float(__m512i v) {
  const __m512i x = kSigned ? _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * i), 24)
                            : _mm512_and_si512(_mm512_srli_epi32(v, 8 * i), dwords(0xff));
  return _mm512_cvtepi32_ps(x);
}

// Bytes i and i+1 of each lane, zero- or sign-extended, as the int16 pair (lo, hi) vpdpwssd reads.
template <int i, bool kSigned>
inline __m512i byte_pair_to_i16(__m512i v) {
  // Move the bytes into the high halves of the two 16-bit words, then shift down.
  const __m512i ctl = _mm512_set1_epi32(
      static_cast<int>(0x80u | (uint32_t{i} << 8) | (0x80u << 16) | (uint32_t{i + 1} << 24)));
  // vpshufb indexes within each 128-bit lane: add the lane's dword base (0, 4, 8, 12) per lane.
  const __m512i base = _mm512_setr_epi32(0, 0x04000400, 0x08000800, 0x0c000c00, 0, 0x04000400,
                                         0x08000800, 0x0c000c00, 0, 0x04000400, 0x08000800,
                                         0x0c000c00, 0, 0x04000400, 0x08000800, 0x0c000c00);
  const __m512i x = _mm512_shuffle_epi8(v, _mm512_or_si512(ctl, base));
  return kSigned ? _mm512_srai_epi16(x, 8) : _mm512_srli_epi16(x, 8);
}

// q + 0x10 in byte i of each lane where bit kBit + i of the lane's qh is set (i < 4, kBit % 4
// == 0): the 5th bit of 4 quants. The byte holding the 4 bits is copied to all 4 bytes of the
// lane, byte i tests its own bit, and the mask adds 0x10 (q < 16, so add is or).
template <int kBit>
inline __m512i add_high_bits(__m512i q, __m512i qh) {
  constexpr uint32_t kByte = kBit / 8, kShift = kBit % 8;
  // vpshufb indexes within 128-bit lanes: dword d of a lane reads its byte at 4d + kByte.
  const __m512i ctl =
      _mm512_broadcast_i32x4(_mm_setr_epi32(0x01010101 * (kByte + 0), 0x01010101 * (kByte + 4),
                                            0x01010101 * (kByte + 8), 0x01010101 * (kByte + 12)));
  const uint32_t bits =
      (1u << kShift) | (2u << kShift) << 8 | (4u << kShift) << 16 | (8u << kShift) << 24;
  const __mmask64 set = _mm512_test_epi8_mask(_mm512_shuffle_epi8(qh, ctl), dwords(bits));
  return _mm512_mask_add_epi8(q, set, q, bytes(0x10));
}

// Stores lanes 0..n-1 of v (the results of the tile's valid rows).
inline void store_rows(float* out, __m512 v, int n) {
  _mm512_mask_storeu_ps(out, static_cast<__mmask16>((1u << n) - 1u), v);
}

}  // namespace
}  // namespace tandem::kernels::detail::panel
