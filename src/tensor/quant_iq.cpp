// Non-linear 4-bit types: each 4-bit index selects a value of the fixed table kIQ4NLValues.
//
// IQ4_NL: 32-element blocks. x[j] = d * T[idx[j]], d fp16; qs[j] holds idx of element j in its
//         low nibble and of element j + 16 in its high nibble (the Q4_0 order).
// IQ4_XS: 256-element super-blocks of 8 sub-blocks of 32. x[e] = d * (ls[s] - 32) * T[idx[e]],
//         s = e / 32, d fp16, ls 6 bits (packing in klayout.h); sub-block s uses qs[16s .. 16s+15]
//         in the IQ4_NL order.
#include <cmath>

#include "tensor/convert.h"
#include "tensor/klayout.h"
#include "tensor/quant_search.h"
#include "tensor/quants.h"

namespace tandem::tensor {
namespace {

using detail::clamp_int;
using detail::nearest_iq4_index;
using detail::round_to_int;

constexpr int kSub = 32;
constexpr int kNumSub = kQK_K / kSub;

float table_value(int idx) { return static_cast<float>(kIQ4NLValues[idx]); }

void dequantize_nibbles(const uint8_t* qs, float scale, float* y) {
  for (int j = 0; j < kSub / 2; ++j) {
    y[j] = scale * table_value(qs[j] & 15);
    y[j + kSub / 2] = scale * table_value(qs[j] >> 4);
  }
}

void quantize_nibbles(const float* x, float scale, uint8_t* qs) {
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  for (int j = 0; j < kSub / 2; ++j) {
    const int lo = nearest_iq4_index(x[j] * inv);
    const int hi = nearest_iq4_index(x[j + kSub / 2] * inv);
    qs[j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

}  // namespace

void dequantize_row_iq4_nl(const BlockIQ4_NL* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) dequantize_nibbles(x[b].qs, fp16_to_fp32(x[b].d), y);
}

void quantize_row_iq4_nl(const float* x, BlockIQ4_NL* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    y[b].d = fp32_to_fp16(detail::fit_iq4(x, kQK));
    quantize_nibbles(x, fp16_to_fp32(y[b].d), y[b].qs);
  }
}

void dequantize_row_iq4_xs(const BlockIQ4_XS* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, y += kQK_K) {
    const float d = fp16_to_fp32(x[b].d);
    for (int s = 0; s < kNumSub; ++s) {
      const float scale = d * static_cast<float>(unpack_iq4_xs_scale(x[b].scales_l, x[b].scales_h, s));
      dequantize_nibbles(x[b].qs + 16 * s, scale, y + kSub * s);
    }
  }
}

void quantize_row_iq4_xs(const float* x, BlockIQ4_XS* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    float scales[kNumSub];
    float extreme = 0.0f;
    for (int s = 0; s < kNumSub; ++s) {
      scales[s] = detail::fit_iq4(x + kSub * s, kSub);
      if (std::fabs(scales[s]) > std::fabs(extreme)) extreme = scales[s];
    }
    // The largest-magnitude scale maps to level -32 (the extra negative level of 6 bits).
    const float inv_d = extreme != 0.0f ? -32.0f / extreme : 0.0f;
    y[b].d = fp32_to_fp16(extreme != 0.0f ? 1.0f / inv_d : 0.0f);
    const float d = fp16_to_fp32(y[b].d);
    y[b].scales_h = 0;
    for (int k = 0; k < kNumSub / 2; ++k) y[b].scales_l[k] = 0;
    for (int s = 0; s < kNumSub; ++s) {
      const int level = clamp_int(round_to_int(scales[s] * inv_d), -32, 31);
      const int biased = level + 32;
      y[b].scales_l[s / 2] |= static_cast<uint8_t>((biased & 15) << (4 * (s % 2)));
      y[b].scales_h |= static_cast<uint16_t>((biased >> 4) << (2 * s));
      quantize_nibbles(x + kSub * s, d * static_cast<float>(level), y[b].qs + 16 * s);
    }
  }
}

}  // namespace tandem::tensor
