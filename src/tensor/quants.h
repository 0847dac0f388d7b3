#pragma once
// Typed scalar reference routines, one pair per quantized type. convert.h's dequantize()/quantize()
// dispatch to these; kernels may call them directly (e.g. the scalar activation path) and their
// tests compare against them. `n` is always a multiple of the type's block size (callers check).
//
// Rounding convention of every quantizer: round half to even (the FPU default), clamp to range.
#include <cstdint>

#include "tensor/blocks.h"

namespace tandem::tensor {

// ---- Legacy 32-element blocks (quant_legacy.cpp) ----
void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t n);
void dequantize_row_q4_1(const BlockQ4_1* x, float* y, int64_t n);
void dequantize_row_q5_0(const BlockQ5_0* x, float* y, int64_t n);
void dequantize_row_q5_1(const BlockQ5_1* x, float* y, int64_t n);
void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t n);
void dequantize_row_q8_1(const BlockQ8_1* x, float* y, int64_t n);

void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t n);
void quantize_row_q4_1(const float* x, BlockQ4_1* y, int64_t n);
void quantize_row_q5_0(const float* x, BlockQ5_0* y, int64_t n);
void quantize_row_q5_1(const float* x, BlockQ5_1* y, int64_t n);
// Activation formats: d = max|x| / 127, q = round(x / d). Q8_1 also stores s = d * sum(q).
void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n);
void quantize_row_q8_1(const float* x, BlockQ8_1* y, int64_t n);

// ---- K-quants, 256-element super-blocks (quant_kquants_*.cpp) ----
void dequantize_row_q2_k(const BlockQ2_K* x, float* y, int64_t n);
void dequantize_row_q3_k(const BlockQ3_K* x, float* y, int64_t n);
void dequantize_row_q4_k(const BlockQ4_K* x, float* y, int64_t n);
void dequantize_row_q5_k(const BlockQ5_K* x, float* y, int64_t n);
void dequantize_row_q6_k(const BlockQ6_K* x, float* y, int64_t n);
void dequantize_row_q8_k(const BlockQ8_K* x, float* y, int64_t n);

void quantize_row_q2_k(const float* x, BlockQ2_K* y, int64_t n);
void quantize_row_q3_k(const float* x, BlockQ3_K* y, int64_t n);
void quantize_row_q4_k(const float* x, BlockQ4_K* y, int64_t n);
void quantize_row_q5_k(const float* x, BlockQ5_K* y, int64_t n);
void quantize_row_q6_k(const float* x, BlockQ6_K* y, int64_t n);
// Activation format of the k-quant dot products: d = max|x| / 127 (float), q = round(x / d),
// bsums[g] = exact sum of qs[16g .. 16g+15].
void quantize_row_q8_k(const float* x, BlockQ8_K* y, int64_t n);

// ---- Non-linear 4-bit types (quant_iq.cpp) ----
void dequantize_row_iq4_nl(const BlockIQ4_NL* x, float* y, int64_t n);
void dequantize_row_iq4_xs(const BlockIQ4_XS* x, float* y, int64_t n);
void quantize_row_iq4_nl(const float* x, BlockIQ4_NL* y, int64_t n);
void quantize_row_iq4_xs(const float* x, BlockIQ4_XS* y, int64_t n);

}  // namespace tandem::tensor
