#pragma once
// Small helpers shared by the aarch64 Advanced SIMD (NEON) kernels (*_neon.cpp). Only compiled
// for aarch64, where Advanced SIMD is part of the base architecture (ARMv8-A).
//
// The int8 dot products use the ARMv8.2 SDOT instruction when the translation unit is built for
// it (__ARM_FEATURE_DOTPROD: the *_neon_dotprod.cpp files, chosen at run time when the CPU has
// dotprod, or any file of a build with -march/-mcpu that has it), and a widening multiply +
// pairwise add that every ARMv8.0 core runs otherwise. Both are exact.
//
// Internal linkage throughout (static / anonymous namespace), as in simd_x86.h.
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

namespace tandem::kernels::detail::neon {

// One IEEE half as float (FCVT; exact).
static inline float fp16(uint16_t h) {
  __fp16 v;
  std::memcpy(&v, &h, sizeof v);
  return static_cast<float>(v);
}

// Four halves at p as floats.
static inline float32x4_t load_f16x4(const uint16_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

// acc + the sums of products of a and b, four bytes per int32 lane (which lane holds which
// products differs between the two versions; callers only ever sum the lanes).
// Without SDOT: each int16 lane of vmull holds one product (|a*b| <= 128 * 128 fits), and
// vpadal adds adjacent pairs into int32, so no intermediate can overflow for any inputs.
static inline int32x4_t dot_i8x16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__ARM_FEATURE_DOTPROD)
  return vdotq_s32(acc, a, b);
#else
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
  return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}

// Splits 16 bytes of packed nibbles into the low nibbles (lo) and the high nibbles (hi).
static inline void split_nibbles(const uint8_t* qs, uint8x16_t& lo, uint8x16_t& hi) {
  const uint8x16_t v = vld1q_u8(qs);
  lo = vandq_u8(v, vdupq_n_u8(0x0F));
  hi = vshrq_n_u8(v, 4);
}

// Q5_0 / Q5_1: bit j of the little-endian 32-bit qh becomes 0x10 in byte j. Returns elements
// 0..15 in lo and 16..31 in hi.
static inline void expand_high_bits(const uint8_t* qh_bytes, uint8x16_t& lo, uint8x16_t& hi) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(qh));
  // Byte k of qh goes to the 8 lanes of elements 8k .. 8k+7, then each lane tests its own bit.
  static const uint8_t kIdxLo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  static const uint8_t kIdxHi[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bit = vld1q_u8(kBit), ten = vdupq_n_u8(0x10);
  lo = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kIdxLo)), bit), ten);
  hi = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kIdxHi)), bit), ten);
}

}  // namespace tandem::kernels::detail::neon
