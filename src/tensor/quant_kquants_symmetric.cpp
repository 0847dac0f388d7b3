// K-quants with one signed scale per sub-block and no min: Q3_K, Q6_K, and the activation type
// Q8_K. 256-element super-blocks, 16 sub-blocks of 16 elements (s = e / 16).
//
// Q3_K: x[e] = d * (sc[s] - 32) * (q[e] - 4), q 3 bits (0..7): low 2 bits in qs (Q2_K order),
//       3rd bit in hmask (see klayout.h); the 6-bit biased scales sc are packed in 12 bytes
//       (klayout.h). d is fp16. (Equivalently: low2 - (hbit ? 0 : 4).)
// Q6_K: x[e] = d * scales[s] * (q[e] - 32), q 6 bits: low 4 in ql, top 2 in qh (klayout.h);
//       scales are int8, d fp16.
// Q8_K: x[e] = d * qs[e], d float; bsums[g] = sum of qs[16g .. 16g+15].
#include <cmath>

#include "tensor/convert.h"
#include "tensor/klayout.h"
#include "tensor/quant_search.h"
#include "tensor/quants.h"

namespace tandem::tensor {
namespace {

using detail::clamp_int;
using detail::round_to_int;

constexpr int kSub = 16;
constexpr int kNumSub = kQK_K / kSub;

// Fits a signed scale per sub-block (q in [-nmax, nmax-1]), then quantizes those scales to signed
// integers in [-smax, smax-1] of one fp16 super-scale d. The sub-block scale of largest magnitude
// is mapped to -smax (using the extra negative level). Returns the stored d.
float fit_signed_scales(const float* x, int nmax, int smax, f16_t& d_field, int* levels) {
  float scales[kNumSub];
  float extreme = 0.0f;
  for (int s = 0; s < kNumSub; ++s) {
    scales[s] = detail::fit_symmetric(x + kSub * s, kSub, nmax);
    if (std::fabs(scales[s]) > std::fabs(extreme)) extreme = scales[s];
  }
  if (extreme == 0.0f) {
    for (int s = 0; s < kNumSub; ++s) levels[s] = 0;
    d_field = fp32_to_fp16(0.0f);
    return 0.0f;
  }
  const float inv_d = -static_cast<float>(smax) / extreme;
  for (int s = 0; s < kNumSub; ++s) levels[s] = clamp_int(round_to_int(scales[s] * inv_d), -smax, smax - 1);
  d_field = fp32_to_fp16(1.0f / inv_d);
  return fp16_to_fp32(d_field);
}

// Final quants (biased by nmax, so in [0, 2*nmax-1]) for the stored scale of each sub-block.
void quantize_with_levels(const float* x, int nmax, float d, const int* levels, int* q) {
  for (int s = 0; s < kNumSub; ++s) {
    const float scale = d * static_cast<float>(levels[s]);
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    for (int l = 0; l < kSub; ++l) {
      const int e = kSub * s + l;
      q[e] = clamp_int(round_to_int(x[e] * inv), -nmax, nmax - 1) + nmax;
    }
  }
}

}  // namespace

void dequantize_row_q3_k(const BlockQ3_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, y += kQK_K) {
    const float d = fp16_to_fp32(x[b].d);
    for (int s = 0; s < kNumSub; ++s) {
      const float scale = d * static_cast<float>(unpack_q3_k_scale(x[b].scales, s));
      for (int l = 0; l < kSub; ++l) {
        const int e = kSub * s + l;
        const int low = (x[b].qs[q2k_byte(e)] >> q2k_shift(e)) & 3;
        const int high = (x[b].hmask[e % 32] >> (e / 32)) & 1;
        y[e] = scale * static_cast<float>((low | (high << 2)) - 4);
      }
    }
  }
}

void quantize_row_q3_k(const float* x, BlockQ3_K* y, int64_t n) {
  int levels[kNumSub];
  int q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    const float d = fit_signed_scales(x, 4, 32, y[b].d, levels);
    uint8_t biased[kNumSub];
    for (int s = 0; s < kNumSub; ++s) biased[s] = static_cast<uint8_t>(levels[s] + 32);
    pack_q3_k_scales(biased, y[b].scales);
    quantize_with_levels(x, 4, d, levels, q);
    for (int k = 0; k < kQK_K / 4; ++k) y[b].qs[k] = 0;
    for (int k = 0; k < kQK_K / 8; ++k) y[b].hmask[k] = 0;
    for (int e = 0; e < kQK_K; ++e) {
      y[b].qs[q2k_byte(e)] |= static_cast<uint8_t>((q[e] & 3) << q2k_shift(e));
      y[b].hmask[e % 32] |= static_cast<uint8_t>(((q[e] >> 2) & 1) << (e / 32));
    }
  }
}

void dequantize_row_q6_k(const BlockQ6_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, y += kQK_K) {
    const float d = fp16_to_fp32(x[b].d);
    for (int s = 0; s < kNumSub; ++s) {
      const float scale = d * static_cast<float>(x[b].scales[s]);
      for (int l = 0; l < kSub; ++l) {
        const int e = kSub * s + l;
        const int low = (x[b].ql[q6k_ql_byte(e)] >> q6k_ql_shift(e)) & 15;
        const int high = (x[b].qh[q6k_qh_byte(e)] >> q6k_qh_shift(e)) & 3;
        y[e] = scale * static_cast<float>((low | (high << 4)) - 32);
      }
    }
  }
}

void quantize_row_q6_k(const float* x, BlockQ6_K* y, int64_t n) {
  int levels[kNumSub];
  int q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    const float d = fit_signed_scales(x, 32, 128, y[b].d, levels);
    for (int s = 0; s < kNumSub; ++s) y[b].scales[s] = static_cast<int8_t>(levels[s]);
    quantize_with_levels(x, 32, d, levels, q);
    for (int k = 0; k < kQK_K / 2; ++k) y[b].ql[k] = 0;
    for (int k = 0; k < kQK_K / 4; ++k) y[b].qh[k] = 0;
    for (int e = 0; e < kQK_K; ++e) {
      y[b].ql[q6k_ql_byte(e)] |= static_cast<uint8_t>((q[e] & 15) << q6k_ql_shift(e));
      y[b].qh[q6k_qh_byte(e)] |= static_cast<uint8_t>((q[e] >> 4) << q6k_qh_shift(e));
    }
  }
}

void dequantize_row_q8_k(const BlockQ8_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, y += kQK_K) {
    for (int e = 0; e < kQK_K; ++e) y[e] = x[b].d * static_cast<float>(x[b].qs[e]);
  }
}

// Activation quantizer (hot path): one pass for max|x|, one for the quants and group sums.
void quantize_row_q8_k(const float* x, BlockQ8_K* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    float amax = 0.0f;
    for (int e = 0; e < kQK_K; ++e) {
      const float a = std::fabs(x[e]);
      amax = a > amax ? a : amax;  // not fmax: its NaN rules keep the loop from vectorizing
    }
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    y[b].d = amax / 127.0f;
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) {
        const int q = clamp_int(round_to_int(x[16 * g + l] * inv), -127, 127);
        y[b].qs[16 * g + l] = static_cast<int8_t>(q);
        sum += q;
      }
      y[b].bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

}  // namespace tandem::tensor
