#pragma once
// Block layouts of the quantized types, byte-compatible with GGUF files published today.
// Half-precision fields are stored as raw uint16_t bits (IEEE binary16).
#include <cstdint>

namespace tandem::tensor {

constexpr int kQK = 32;    // elements per block of the "legacy" types (Q4_0 ... Q8_1, IQ4_NL)
constexpr int kQK_K = 256; // elements per super-block of the k-quants and IQ4_XS
constexpr int kKScaleBytes = 12;

using f16_t = uint16_t;
using bf16_t = uint16_t;

// x = d * (q - 8); qs[j] holds element j in its low nibble and element j+16 in its high nibble.
struct BlockQ4_0 { f16_t d; uint8_t qs[kQK / 2]; };
// x = d * q + m
struct BlockQ4_1 { f16_t d; f16_t m; uint8_t qs[kQK / 2]; };
// 5th bit of element j is bit j of qh (little-endian uint32); x = d * (q - 16)
struct BlockQ5_0 { f16_t d; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
// x = d * q + m, 5th bit as in Q5_0
struct BlockQ5_1 { f16_t d; f16_t m; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
// x = d * q
struct BlockQ8_0 { f16_t d; int8_t qs[kQK]; };
// s = d * sum(qs), used as an activation type with Q4_1/Q5_1.
struct BlockQ8_1 { f16_t d; f16_t s; int8_t qs[kQK]; };

// K-quants: value formulas and the exact element order of every bit field are documented in
// klayout.h (layouts) and quant_kquants_*.cpp (formulas). In short, with s the sub-block:
//   Q2_K: x = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4)        16 x 16, q 2 bits
//   Q3_K: x = d * (sc6[s] - 32) * (q - 4)                               16 x 16, q 3 bits
//   Q4_K: x = d * sc6[s] * q - dmin * mn6[s]                            8 x 32,  q 4 bits
//   Q5_K: as Q4_K with q 5 bits                                         8 x 32
//   Q6_K: x = d * scales[s] * (q - 32)                                  16 x 16, q 6 bits
struct BlockQ2_K { uint8_t scales[kQK_K / 16]; uint8_t qs[kQK_K / 4]; f16_t d; f16_t dmin; };
struct BlockQ3_K { uint8_t hmask[kQK_K / 8]; uint8_t qs[kQK_K / 4]; uint8_t scales[12]; f16_t d; };
struct BlockQ4_K { f16_t d; f16_t dmin; uint8_t scales[kKScaleBytes]; uint8_t qs[kQK_K / 2]; };
struct BlockQ5_K { f16_t d; f16_t dmin; uint8_t scales[kKScaleBytes]; uint8_t qh[kQK_K / 8]; uint8_t qs[kQK_K / 2]; };
struct BlockQ6_K { uint8_t ql[kQK_K / 2]; uint8_t qh[kQK_K / 4]; int8_t scales[kQK_K / 16]; f16_t d; };
// Activation type of the k-quant dot products: float scale, sums of each 16 values.
struct BlockQ8_K { float d; int8_t qs[kQK_K]; int16_t bsums[kQK_K / 16]; };

// 4-bit indices into a fixed non-linear table of 16 values.
struct BlockIQ4_NL { f16_t d; uint8_t qs[kQK / 2]; };
// x = d * (ls6[s] - 32) * kIQ4NLValues[idx], 8 sub-blocks of 32 (scale packing in klayout.h)
struct BlockIQ4_XS { f16_t d; uint16_t scales_h; uint8_t scales_l[kQK_K / 64]; uint8_t qs[kQK_K / 2]; };

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockIQ4_XS) == 136);

// The IQ4_NL / IQ4_XS value table (a published constant of the format).
inline constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

}  // namespace tandem::tensor
