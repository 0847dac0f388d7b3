#pragma once
// Scalar reference conversions between float and every supported type. These are the definition
// of each format in tandem; SIMD kernels are tested against them. The typed per-format routines
// are in tensor/quants.h, the bit layouts of the k-quants in tensor/klayout.h.
#include <cstdint>
#include <cstring>

#include "tensor/types.h"

namespace tandem::tensor {

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);  // round to nearest even
inline float bf16_to_fp32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t fp32_to_bf16(float f);  // round to nearest even, NaN preserved

// Dequantizes n elements (a multiple of the type's block size) from src into dst.
// Throws InvalidArgument for types without a dequantizer.
void dequantize(Type t, const void* src, float* dst, int64_t n);

// True if quantize() supports t.
bool can_quantize(Type t);
// Quantizes n elements (a multiple of the block size) from src into dst (row_bytes(t, n) bytes).
// Throws InvalidArgument for types without a quantizer.
void quantize(Type t, const float* src, void* dst, int64_t n);

}  // namespace tandem::tensor
