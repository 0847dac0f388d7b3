#pragma once
// NEON k-quant x Q8_K kernels for Q4_K, Q5_K and Q6_K (the other k-quant types keep the scalar
// reference on this path). Each weight super-block is decoded once into 16 registers of signed
// bytes (16 elements each, the Q8_K bsums groups) plus integer scales, and reused for every
// activation row of the call; the integer sums are exact, and the float arithmetic per block is
// the scalar reference's, in the same order.
// Compiled twice: kquant_neon.cpp (ARMv8.0) and kquant_neon_dotprod.cpp (SDOT); anonymous
// namespace, so each keeps its own copy built with its own flags.
#include "kernels/kquant_format.h"
#include "kernels/kquant_kernels.h"
#include "kernels/simd_neon.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {


using tensor::BlockQ8_K;
using tensor::kQK_K;

// Element 16g + i of the super-block is lane i of q[g]; its value is
//   d * scale[g] * q - dmin * min[g / 2]   (min only for the types with mins, Q4_K / Q5_K).
struct DecodedBlock {
  int8x16_t q[16];
  int32_t scale[16];
  int16x8_t min;  // one per 32-element sub-block
  float d;
  float dmin;
};

// Q4_K / Q5_K: sub-block s (32 elements, groups 2s and 2s+1) shares a 6-bit scale and min.
// Element 64j + l is the low nibble of qs[32j + l] (l < 32), element 64j + 32 + l the high one.
inline void decode_k4_common(const uint8_t* packed_scales, const uint8_t* qs, DecodedBlock& u) {
  uint64_t scales, mins;
  kquant::decode_scales_mins_k4(packed_scales, &scales, &mins);
  for (int s = 0; s < 8; ++s)
    u.scale[2 * s] = u.scale[2 * s + 1] = static_cast<int32_t>((scales >> (8 * s)) & 0xff);
  u.min = vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(mins)));
  const uint8x16_t mask = vdupq_n_u8(0x0F);
  for (int j = 0; j < 4; ++j) {
    const uint8x16_t v0 = vld1q_u8(qs + 32 * j), v1 = vld1q_u8(qs + 32 * j + 16);
    u.q[4 * j + 0] = vreinterpretq_s8_u8(vandq_u8(v0, mask));
    u.q[4 * j + 1] = vreinterpretq_s8_u8(vandq_u8(v1, mask));
    u.q[4 * j + 2] = vreinterpretq_s8_u8(vshrq_n_u8(v0, 4));
    u.q[4 * j + 3] = vreinterpretq_s8_u8(vshrq_n_u8(v1, 4));
  }
}

struct Q4K {
  using Block = tensor::BlockQ4_K;
  static constexpr bool kHasMin = true;
  static void decode(const Block& b, DecodedBlock& u) {
    u.d = neon::fp16(b.d);
    u.dmin = neon::fp16(b.dmin);
    decode_k4_common(b.scales, b.qs, u);
  }
};

struct Q5K {
  using Block = tensor::BlockQ5_K;
  static constexpr bool kHasMin = true;
  static void decode(const Block& b, DecodedBlock& u) {
    u.d = neon::fp16(b.d);
    u.dmin = neon::fp16(b.dmin);
    decode_k4_common(b.scales, b.qs, u);
    // The fifth bit of element 32k + l (sub-block k) is bit k of qh[l]: shift it to bit 4.
    const uint8x16_t h0 = vld1q_u8(b.qh), h1 = vld1q_u8(b.qh + 16), bit4 = vdupq_n_u8(0x10);
    for (int k = 0; k < 8; ++k) {
      const int8x16_t shift = vdupq_n_s8(static_cast<int8_t>(4 - k));  // negative: right shift
      u.q[2 * k] = vorrq_s8(u.q[2 * k], vreinterpretq_s8_u8(vandq_u8(vshlq_u8(h0, shift), bit4)));
      u.q[2 * k + 1] =
          vorrq_s8(u.q[2 * k + 1], vreinterpretq_s8_u8(vandq_u8(vshlq_u8(h1, shift), bit4)));
    }
  }
};

// Q6_K: per half h, element 128h + 32k + l takes its low 4 bits from ql[64h + 32(k % 2) + l]
// (low nibble for k < 2, high for k >= 2) and its high 2 bits from bits 2k, 2k+1 of qh[32h + l];
// stored +32.
struct Q6K {
  using Block = tensor::BlockQ6_K;
  static constexpr bool kHasMin = false;
  static void decode(const Block& b, DecodedBlock& u) {
    u.d = neon::fp16(b.d);
    u.dmin = 0.0f;
    for (int g = 0; g < 16; ++g) u.scale[g] = b.scales[g];
    u.min = vdupq_n_s16(0);
    const uint8x16_t low4 = vdupq_n_u8(0x0F), high2 = vdupq_n_u8(0x30);
    const int8x16_t offset = vdupq_n_s8(32);
    for (int h = 0; h < 2; ++h) {
      for (int half = 0; half < 2; ++half) {  // l < 16, l >= 16
        const uint8x16_t l0 = vld1q_u8(b.ql + 64 * h + 16 * half);
        const uint8x16_t l1 = vld1q_u8(b.ql + 64 * h + 32 + 16 * half);
        const uint8x16_t qh = vld1q_u8(b.qh + 32 * h + 16 * half);
        const uint8x16_t v[4] = {
            vorrq_u8(vandq_u8(l0, low4), vandq_u8(vshlq_n_u8(qh, 4), high2)),
            vorrq_u8(vandq_u8(l1, low4), vandq_u8(vshlq_n_u8(qh, 2), high2)),
            vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(qh, high2)),
            vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(qh, 2), high2)),
        };
        for (int k = 0; k < 4; ++k)
          u.q[8 * h + 2 * k + half] = vsubq_s8(vreinterpretq_s8_u8(v[k]), offset);
      }
    }
  }
};

// a.d * (d * sum_g scale[g] * dot(q[g], a[g]) - dmin * sum_s min[s] * (bsums[2s] + bsums[2s+1]))
template <class T>
inline float dot_block(const DecodedBlock& u, const BlockQ8_K& a) {
  int32x4_t acc = vdupq_n_s32(0);
  for (int g = 0; g < 16; ++g)
    acc = vmlaq_n_s32(acc, neon::dot_i8x16(vdupq_n_s32(0), u.q[g], vld1q_s8(a.qs + 16 * g)),
                      u.scale[g]);
  if constexpr (T::kHasMin) {
    // Adjacent bsums pairs are the 32-element sub-block sums (|sum| <= 32 * 128 fits int16).
    const int16x8_t sub = vpaddq_s16(vld1q_s16(a.bsums), vld1q_s16(a.bsums + 8));
    const int32x4_t m = vmlal_high_s16(vmull_s16(vget_low_s16(sub), vget_low_s16(u.min)), sub, u.min);
    return a.d * (u.d * static_cast<float>(vaddvq_s32(acc)) -
                  u.dmin * static_cast<float>(vaddvq_s32(m)));
  }
  return a.d * (u.d * static_cast<float>(vaddvq_s32(acc)));
}

template <class T>
void gemm(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
          size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  using Block = typename T::Block;
  const int64_t n_blocks = cols / kQK_K;
  DecodedBlock u;
  for (int64_t i = 0; i < n_rows; ++i) {
    const auto* wrow = reinterpret_cast<const Block*>(static_cast<const uint8_t*>(w) + i * w_stride);
    for (int64_t j = 0; j < n_act; ++j) out[j * out_stride + i] = 0.0f;
    for (int64_t b = 0; b < n_blocks; ++b) {
      T::decode(wrow[b], u);  // once per block, used for every activation row
      for (int64_t j = 0; j < n_act; ++j) {
        const auto* arow =
            reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(a) + j * a_stride);
        out[j * out_stride + i] += dot_block<T>(u, arow[b]);
      }
    }
  }
}

// Q2_K, Q3_K, IQ4_XS have no NEON kernel yet: the scalar ones.
inline KQuantGemms neon_kquant_gemms() {
  KQuantGemms g = kquant_gemms_scalar();
  g.q4_k = gemm<Q4K>;
  g.q5_k = gemm<Q5K>;
  g.q6_k = gemm<Q6K>;
  return g;
}

}  // namespace
}  // namespace tandem::kernels::detail
