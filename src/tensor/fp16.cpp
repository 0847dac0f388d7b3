// IEEE binary16 and bfloat16 <-> binary32 conversions, done on the bit patterns so the result does
// not depend on compiler flags or the presence of F16C.
#include <cstdint>
#include <cstring>

#include "tensor/convert.h"

namespace tandem::tensor {
namespace {

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Shifts m right by `shift` (1..31) rounding to nearest, ties to even.
uint32_t shift_right_round_even(uint32_t m, int shift) {
  const uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  return (rem > half || (rem == half && (q & 1))) ? q + 1 : q;
}

}  // namespace

// binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Exponent 0 is zero/subnormal
// (m * 2^-24), exponent 31 is inf/NaN.
float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: exact in binary32 as mantissa * 2^-24.
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return bits_float(float_bits(magnitude) | sign);
  }
  if (exponent == 31) return bits_float(sign | 0x7f800000u | (mantissa << 13));
  return bits_float(sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13));
}

uint16_t fp32_to_fp16(float f) {
  const uint32_t u = float_bits(f);
  const auto sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const uint32_t magnitude = u & 0x7fffffffu;

  if (magnitude > 0x7f800000u) {
    // NaN: keep it a NaN (quiet bit set) and keep the top payload bits.
    return static_cast<uint16_t>(sign | 0x7e00 | ((magnitude >> 13) & 0x3ff));
  }
  // 65520 is halfway between the largest half (65504) and 2^16; ties-to-even rounds it up, so
  // everything from there on (including inf) becomes inf.
  if (magnitude >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00);

  if (magnitude < 0x38800000u) {
    // Below the smallest normal half (2^-14): result is subnormal (units of 2^-24) or zero.
    // 2^-25 and below round to zero (2^-25 itself is a tie and 0 is even).
    if (magnitude <= 0x33000000u) return sign;
    const uint32_t exponent = magnitude >> 23;  // 102..112
    const uint32_t mantissa = (magnitude & 0x7fffff) | 0x800000;
    // value = mantissa * 2^(exponent - 150) = (mantissa >> (126 - exponent)) * 2^-24.
    // A carry into 0x400 correctly yields the smallest normal.
    return static_cast<uint16_t>(sign | shift_right_round_even(mantissa, 126 - static_cast<int>(exponent)));
  }

  // Normal: rebias the exponent, round the mantissa from 23 to 10 bits. A mantissa carry
  // propagates into the exponent, which is the correct result (never reaches inf here).
  const uint32_t rebased = magnitude - ((127u - 15u) << 23);
  return static_cast<uint16_t>(sign | shift_right_round_even(rebased, 13));
}

// bfloat16 is the top half of a binary32.
uint16_t fp32_to_bf16(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    // NaN: truncating could clear every payload bit and make it inf; force the quiet bit.
    return static_cast<uint16_t>((u >> 16) | 0x0040);
  }
  // Ties to even; overflow of the largest finite values correctly rounds to inf.
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

}  // namespace tandem::tensor
