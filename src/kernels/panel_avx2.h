#pragma once
// Pieces shared by the AVX2 panel GEMM kernels (panel_legacy_avx2.cpp, panel_kquant_avx2.cpp):
// the scheme of panel_avx512.h on 256-bit registers, 8 weight rows per tile (lane r = row r).
// Include only from files compiled with the AVX2 flags (anonymous namespace: one copy per file).
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/panel_scratch.h"

namespace tandem::kernels::detail::panel::avx2 {
namespace {

constexpr int kRows = 8;     // weight rows per tile: one per 32-bit lane of a ymm register
constexpr int kMaxActs = 4;  // activation rows per pass (16 ymm registers: 2 x 4 accumulators)

inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline __m256i bytes(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
inline __m256i bcast4(const uint8_t* p) { return _mm256_set1_epi32(static_cast<int>(load_u32(p))); }

struct TileRows {
  const uint8_t* row[kRows];
  TileRows(const uint8_t* w, size_t stride, int n_rows) {
    for (int r = 0; r < kRows; ++r)
      row[r] = w + static_cast<size_t>(std::min(r, n_rows - 1)) * stride;
  }
};

// v[m] lane r = dword m (m < 4) of the 16 bytes at row r + offset: row 4L + q is loaded into
// 128-bit lane L of v[q], then a 4x4 transpose inside each lane.
inline void load_transposed4(const TileRows& t, size_t offset, __m256i (&v)[4]) {
  for (int q = 0; q < 4; ++q)
    v[q] = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(t.row[q] + offset)),
                                   load128(t.row[4 + q] + offset), 1);
  const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
  v[0] = _mm256_unpacklo_epi64(t0, t2);
  v[1] = _mm256_unpackhi_epi64(t0, t2);
  v[2] = _mm256_unpacklo_epi64(t1, t3);
  v[3] = _mm256_unpackhi_epi64(t1, t3);
}

// Lane r = the fp16 at row r + offset, as float.
inline __m256 load_f16_lanes(const TileRows& t, size_t offset) {
  alignas(16) uint16_t h[kRows];
  for (int r = 0; r < kRows; ++r) std::memcpy(&h[r], t.row[r] + offset, 2);
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
}

// Lane r = the uint32 at row r + offset.
inline __m256i load_u32_lanes(const TileRows& t, size_t offset) {
  alignas(32) uint32_t h[kRows];
  for (int r = 0; r < kRows; ++r) std::memcpy(&h[r], t.row[r] + offset, 4);
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(h));
}

// q | 0x10 in byte i of each lane where bit kBit + i of the lane's qh is set (kBit % 4 == 0).
template <int kBit>
inline __m256i add_high_bits(__m256i q, __m256i qh) {
  constexpr int kByte = kBit / 8, kShift = kBit % 8;
  const __m256i ctl = _mm256_setr_epi32(0x01010101 * (kByte + 0), 0x01010101 * (kByte + 4),
                                        0x01010101 * (kByte + 8), 0x01010101 * (kByte + 12),
                                        0x01010101 * (kByte + 0), 0x01010101 * (kByte + 4),
                                        0x01010101 * (kByte + 8), 0x01010101 * (kByte + 12));
  const __m256i bit = _mm256_set1_epi32(static_cast<int>(
      (1u << kShift) | (2u << kShift) << 8 | (4u << kShift) << 16 | (8u << kShift) << 24));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(qh, ctl), bit), bit);
  return _mm256_or_si256(q, _mm256_and_si256(set, bytes(0x10)));
}

// Byte i of each lane, zero- or sign-extended, as float.
template <int i, bool kSigned>
inline __m256 byte_to_float(__m256i v) {
  const __m256i x = kSigned
                        ? _mm256_srai_epi32(_mm256_slli_epi32(v, 24 - 8 * i), 24)
                        : _mm256_and_si256(_mm256_srli_epi32(v, 8 * i), _mm256_set1_epi32(0xff));
  return _mm256_cvtepi32_ps(x);
}

// Bytes i and i+1 of each lane, zero- or sign-extended, as the int16 pair vpmaddwd reads.
template <int i, bool kSigned>
inline __m256i byte_pair_to_i16(__m256i v) {
  // Each byte into the high half of its 16-bit word (vpshufb: per-lane dword base 0, 4, 8, 12).
  const __m128i ctl = _mm_setr_epi32(
      static_cast<int>(0x80u | (uint32_t{i} << 8) | (0x80u << 16) | (uint32_t{i + 1} << 24)),
      static_cast<int>(0x80u | (uint32_t{i + 4} << 8) | (0x80u << 16) | (uint32_t{i + 5} << 24)),
      static_cast<int>(0x80u | (uint32_t{i + 8} << 8) | (0x80u << 16) | (uint32_t{i + 9} << 24)),
      static_cast<int>(0x80u | (uint32_t{i + 12} << 8) | (0x80u << 16) | (uint32_t{i + 13} << 24)));
  const __m256i x = _mm256_shuffle_epi8(v, _mm256_broadcastsi128_si256(ctl));
  return kSigned ? _mm256_srai_epi16(x, 8) : _mm256_srli_epi16(x, 8);
}

// Stores lanes 0..n-1 of v.
inline void store_rows(float* out, __m256 v, int n) {
  const __m256i mask =
      _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  _mm256_maskstore_ps(out, mask, v);
}

}  // namespace
}  // namespace tandem::kernels::detail::panel::avx2
