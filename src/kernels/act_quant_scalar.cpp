// Scalar reference conversion of activations into the int8 formats of the dot kernels.
#include <algorithm>
#include <cmath>

#include "kernels/gemm_table.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {

namespace {

using tensor::kQK;
using tensor::kQK_K;

// Quantizes `count` floats with scale max|x|/127 into q; returns the float scale.
float quantize_block(const float* x, int count, int8_t* q) {
  float amax = 0.0f;
  for (int i = 0; i < count; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int i = 0; i < count; ++i) {
    // nearbyint rounds half to even like the SIMD paths' cvtps (default rounding mode).
    const float v = std::nearbyint(x[i] * id);
    q[i] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
  }
  return d;
}

void q8_0_row(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<tensor::BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float d = quantize_block(x + b * kQK, kQK, out[b].qs);
    out[b].d = tensor::fp32_to_fp16(d);
  }
}

void q8_1_row(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<tensor::BlockQ8_1*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float d = quantize_block(x + b * kQK, kQK, out[b].qs);
    int sum = 0;
    for (int i = 0; i < kQK; ++i) sum += out[b].qs[i];
    out[b].d = tensor::fp32_to_fp16(d);
    out[b].s = tensor::fp32_to_fp16(d * static_cast<float>(sum));
  }
}

void q8_k_row(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<tensor::BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    out[b].d = quantize_block(x + b * kQK_K, kQK_K, out[b].qs);
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += out[b].qs[g * 16 + i];
      out[b].bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

}  // namespace

ActQuantTable act_quant_scalar() { return {q8_0_row, q8_1_row, q8_k_row}; }

}  // namespace tandem::kernels::detail
