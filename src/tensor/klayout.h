#pragma once
// Bit layouts of the k-quants and IQ4_XS: where each element's quant bits sit, and how the 6-bit
// sub-block scales are packed. These are the usual pitfalls of the formats, so they live in one
// place (inline: kernels and tests use them too). e is an element index 0..255 in a super-block.
#include <cstdint>

namespace tandem::tensor {

// Q4_K / Q5_K low 4 bits: elements come in chunks of 64 sharing 32 bytes; element 64c + l (l < 32)
// is the LOW nibble of qs[32c + l] and element 64c + 32 + l the HIGH nibble of the same byte.
// Q5_K's 5th bit of element e is bit e / 32 of qh[e % 32].
inline int q4k_byte(int e) { return 32 * (e / 64) + e % 32; }
inline int q4k_shift(int e) { return (e % 64) < 32 ? 0 : 4; }

// Q2_K / Q3_K low 2 bits: halves h = e / 128 use bytes qs[32h .. 32h+31]; inside a half, element
// 32k + l (k < 4, l < 32) is bits 2k..2k+1 of qs[32h + l]. Q3_K's 3rd bit of element e is bit
// e / 32 of hmask[e % 32].
inline int q2k_byte(int e) { return 32 * (e / 128) + e % 32; }
inline int q2k_shift(int e) { return 2 * ((e % 128) / 32); }

// Q6_K: halves h = e / 128 use ql[64h .. 64h+63] and qh[32h .. 32h+31]; inside a half, element
// 32k + l (k < 4, l < 32) has its low 4 bits in ql[64h + l + 32 * (k % 2)] (LOW nibble for k < 2,
// HIGH nibble for k >= 2) and its top 2 bits at bits 2k..2k+1 of qh[32h + l].
inline int q6k_ql_byte(int e) { return 64 * (e / 128) + e % 32 + 32 * (((e % 128) / 32) % 2); }
inline int q6k_ql_shift(int e) { return (e % 128) < 64 ? 0 : 4; }
inline int q6k_qh_byte(int e) { return 32 * (e / 128) + e % 32; }
inline int q6k_qh_shift(int e) { return 2 * ((e % 128) / 32); }

// Q4_K / Q5_K: 8 sub-blocks of 32 elements, each with a 6-bit scale sc[j] and a 6-bit min mn[j],
// packed into 12 bytes p[0..11]:
//   j < 4 : sc[j] = p[j]   & 63            mn[j] = p[j+4] & 63
//   j >= 4: sc[j] = (p[j+4] & 15) | ((p[j-4] >> 6) << 4)
//           mn[j] = (p[j+4] >> 4) | ((p[j]   >> 6) << 4)
// i.e. bytes 0..3 hold sc[0..3] plus the top 2 bits of sc[4..7], bytes 4..7 hold mn[0..3] plus the
// top 2 bits of mn[4..7], and bytes 8..11 hold the low nibbles of sc[4..7] (low) / mn[4..7] (high).
inline void unpack_q4_k_scale_min(const uint8_t* p, int j, uint8_t& sc, uint8_t& mn) {
  if (j < 4) {
    sc = p[j] & 63;
    mn = p[j + 4] & 63;
  } else {
    sc = static_cast<uint8_t>((p[j + 4] & 15) | ((p[j - 4] >> 6) << 4));
    mn = static_cast<uint8_t>((p[j + 4] >> 4) | ((p[j] >> 6) << 4));
  }
}

// Inverse of unpack_q4_k_scale_min; every sc/mn must be < 64.
inline void pack_q4_k_scale_min(const uint8_t sc[8], const uint8_t mn[8], uint8_t* p) {
  for (int j = 0; j < 4; ++j) {
    p[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    p[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    p[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
}

// Q3_K: 16 sub-blocks of 16 elements, each with a 6-bit scale stored biased by 32 (value
// sc - 32 in [-32, 31]), packed into 12 bytes p[0..11]:
//   low 4 bits of scale i : i < 8 ? p[i] & 15 : p[i-8] >> 4
//   high 2 bits of scale i: (p[8 + i%4] >> (2 * (i/4))) & 3
inline int unpack_q3_k_scale(const uint8_t* p, int i) {
  const int low = i < 8 ? (p[i] & 15) : (p[i - 8] >> 4);
  const int high = (p[8 + i % 4] >> (2 * (i / 4))) & 3;
  return (low | (high << 4)) - 32;
}

// Inverse of unpack_q3_k_scale; each biased[i] (= scale + 32) must be < 64.
inline void pack_q3_k_scales(const uint8_t biased[16], uint8_t* p) {
  for (int k = 0; k < 12; ++k) p[k] = 0;
  for (int i = 0; i < 16; ++i) {
    const uint8_t low = biased[i] & 15;
    if (i < 8) {
      p[i] |= low;
    } else {
      p[i - 8] |= static_cast<uint8_t>(low << 4);
    }
    p[8 + i % 4] |= static_cast<uint8_t>((biased[i] >> 4) << (2 * (i / 4)));
  }
}

// IQ4_XS: 8 sub-blocks of 32, 6-bit scales biased by 32 (value ls - 32 in [-32, 31]):
// low 4 bits in nibble (i % 2) of scales_l[i / 2], high 2 bits at bits 2i..2i+1 of scales_h.
inline int unpack_iq4_xs_scale(const uint8_t* scales_l, uint16_t scales_h, int i) {
  const int low = (scales_l[i / 2] >> (4 * (i % 2))) & 15;
  const int high = (scales_h >> (2 * i)) & 3;
  return (low | (high << 4)) - 32;
}

}  // namespace tandem::tensor
