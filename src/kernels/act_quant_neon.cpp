// NEON activation quantization (Q8_0, Q8_1, Q8_K). Same arithmetic as act_quant_scalar.cpp:
// d = max|x| / 127, q = x * (1/d) rounded half-to-even (FCVTNS), clamped to [-127, 127], so the
// bytes match the scalar path exactly.
#include "kernels/gemm_table.h"
#include "kernels/simd_neon.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {

namespace {

float abs_max(const float* x, int n) {
  // vmaxnm ignores a NaN operand, like the scalar path's std::max chain.
  float32x4_t m = vdupq_n_f32(0.0f);
  for (int i = 0; i < n; i += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + i)));
  return vmaxnmvq_f32(m);
}

inline float inverse_scale(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// Quantizes 16 floats with multiplier id into q; returns the sum of the 16 quants.
inline int quantize16(const float* x, float32x4_t id, int8_t* q) {
  int32x4_t i[4];
  for (int k = 0; k < 4; ++k) i[k] = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + 4 * k), id));
  const int16x8_t h01 = vcombine_s16(vqmovn_s32(i[0]), vqmovn_s32(i[1]));
  const int16x8_t h23 = vcombine_s16(vqmovn_s32(i[2]), vqmovn_s32(i[3]));
  // Saturating narrowing stops at +127 / -128; the scalar clamp's lower bound is -127.
  const int8x16_t bytes = vmaxq_s8(vcombine_s8(vqmovn_s16(h01), vqmovn_s16(h23)), vdupq_n_s8(-127));
  vst1q_s8(q, bytes);
  return vaddlvq_s8(bytes);
}

void q8_0_row(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<tensor::BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / tensor::kQK; ++b, x += tensor::kQK) {
    const float d = abs_max(x, tensor::kQK) / 127.0f;
    const float32x4_t id = vdupq_n_f32(inverse_scale(d));
    quantize16(x, id, out[b].qs);
    quantize16(x + 16, id, out[b].qs + 16);
    out[b].d = tensor::fp32_to_fp16(d);
  }
}

void q8_1_row(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<tensor::BlockQ8_1*>(dst);
  for (int64_t b = 0; b < n / tensor::kQK; ++b, x += tensor::kQK) {
    const float d = abs_max(x, tensor::kQK) / 127.0f;
    const float32x4_t id = vdupq_n_f32(inverse_scale(d));
    const int sum = quantize16(x, id, out[b].qs) + quantize16(x + 16, id, out[b].qs + 16);
    out[b].d = tensor::fp32_to_fp16(d);
    out[b].s = tensor::fp32_to_fp16(d * static_cast<float>(sum));
  }
}

void q8_k_row(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<tensor::BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / tensor::kQK_K; ++b, x += tensor::kQK_K) {
    const float d = abs_max(x, tensor::kQK_K) / 127.0f;
    const float32x4_t id = vdupq_n_f32(inverse_scale(d));
    out[b].d = d;
    for (int g = 0; g < tensor::kQK_K / 16; ++g)
      out[b].bsums[g] = static_cast<int16_t>(quantize16(x + 16 * g, id, out[b].qs + 16 * g));
  }
}

}  // namespace

ActQuantTable act_quant_neon() { return {q8_0_row, q8_1_row, q8_k_row}; }

}  // namespace tandem::kernels::detail
