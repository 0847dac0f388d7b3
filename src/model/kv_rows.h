#pragma once
// Reading cached K/V rows in their storage type (F32, F16, Q8_0) during attention: F32 and F16
// go to the SIMD kernels; Q8_0 is scalar here until kernels/ offers it.
#include <cstdint>

#include "tensor/types.h"

namespace tandem::model {

// True when a KV cache may store rows in `t` with heads of `head_dim` elements (Q8_0 blocks must
// not straddle heads).
bool kv_type_supported(tensor::Type t, int64_t head_dim);

// sum_i q[i] * row[first + i] for i < n
float kv_dot(tensor::Type t, const uint8_t* row, int64_t first, const float* q, int64_t n);
// y[i] += a * row[first + i] for i < n
void kv_axpy(tensor::Type t, float a, const uint8_t* row, int64_t first, int64_t n, float* y);

}  // namespace tandem::model
