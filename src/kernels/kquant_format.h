#pragma once
// Bit-level facts of the k-quant and IQ4_XS formats shared by the scalar and SIMD dot kernels:
// how the packed sub-block scales decode. Plain integer code, no intrinsics.
//
// Everything here has internal linkage (static) on purpose: this header is included by
// translation units compiled with different -m flags, and an inline function with external
// linkage could be emitted once with AVX-512 instructions and then shared by the linker with the
// scalar path.
#include <cstdint>
#include <cstring>

#include "tensor/blocks.h"

namespace tandem::kernels::detail::kquant {

static inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Q4_K / Q5_K: 12 bytes pack eight 6-bit scales and eight 6-bit mins. Sub-blocks 0..3 keep their
// scale / min in the low 6 bits of bytes 0..3 / 4..7; sub-blocks 4..7 keep the low 4 bits in the
// nibbles of bytes 8..11 and the high 2 bits in the top bits of bytes 0..3 / 4..7.
// Returns the 8 scales as the bytes of *scales and the 8 mins as the bytes of *mins
// (little-endian: sub-block s in byte s).
static inline void decode_scales_mins_k4(const uint8_t* packed, uint64_t* scales,
                                         uint64_t* mins) {
  const uint32_t w0 = load_u32(packed);
  const uint32_t w1 = load_u32(packed + 4);
  const uint32_t w2 = load_u32(packed + 8);
  const uint32_t sc_lo = w0 & 0x3f3f3f3fu;
  const uint32_t mn_lo = w1 & 0x3f3f3f3fu;
  // (byte >> 6) << 4 for every byte at once: the mask drops bits shifted in from the next byte.
  const uint32_t sc_hi = (w2 & 0x0f0f0f0fu) | ((w0 >> 2) & 0x30303030u);
  const uint32_t mn_hi = ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 2) & 0x30303030u);
  *scales = static_cast<uint64_t>(sc_lo) | (static_cast<uint64_t>(sc_hi) << 32);
  *mins = static_cast<uint64_t>(mn_lo) | (static_cast<uint64_t>(mn_hi) << 32);
}

// Q3_K: 12 bytes pack sixteen 6-bit scales, stored +32. Scale i keeps its low 4 bits in the low
// (i < 8) or high (i >= 8) nibble of byte i % 8, and its high 2 bits in bits 2*(i/4) of byte
// 8 + i % 4. Returns the stored (unsigned, +32) scales 0..7 in the bytes of *lo and 8..15 in *hi;
// SIMD callers subtract 32 in a register (no byte stores that a wide load would have to wait on).
static inline void decode_scales_q3_k(const uint8_t* packed, uint64_t* lo, uint64_t* hi) {
  const uint32_t w0 = load_u32(packed);
  const uint32_t w1 = load_u32(packed + 4);
  const uint32_t h = load_u32(packed + 8);
  const uint32_t s0 = (w0 & 0x0f0f0f0fu) | (((h >> 0) & 0x03030303u) << 4);
  const uint32_t s1 = (w1 & 0x0f0f0f0fu) | (((h >> 2) & 0x03030303u) << 4);
  const uint32_t s2 = ((w0 >> 4) & 0x0f0f0f0fu) | (((h >> 4) & 0x03030303u) << 4);
  const uint32_t s3 = ((w1 >> 4) & 0x0f0f0f0fu) | (((h >> 6) & 0x03030303u) << 4);
  *lo = static_cast<uint64_t>(s0) | (static_cast<uint64_t>(s1) << 32);
  *hi = static_cast<uint64_t>(s2) | (static_cast<uint64_t>(s3) << 32);
}

// IQ4_XS: eight 6-bit scales, stored +32: low 4 bits in the nibbles of scales_l (sub-block ib in
// nibble ib), high 2 bits in bit pair ib of scales_h. Returns the stored scales in the bytes of
// the result (sub-block ib in byte ib).
static inline uint64_t decode_scales_iq4_xs(const tensor::BlockIQ4_XS& b) {
  // Spread nibble k of the 32-bit word to byte k: halve the field width at each step.
  uint64_t lo = load_u32(b.scales_l);
  lo = (lo | (lo << 16)) & 0x0000ffff0000ffffull;
  lo = (lo | (lo << 8)) & 0x00ff00ff00ff00ffull;
  lo = (lo | (lo << 4)) & 0x0f0f0f0f0f0f0f0full;
  // The same for the 2-bit fields of the 16-bit scales_h.
  uint64_t hi = b.scales_h;
  hi = (hi | (hi << 24)) & 0x000000ff000000ffull;
  hi = (hi | (hi << 12)) & 0x000f000f000f000full;
  hi = (hi | (hi << 6)) & 0x0303030303030303ull;
  return lo | (hi << 4);
}

}  // namespace tandem::kernels::detail::kquant
