// The "legacy" 32-element block types. Value formulas (d, m are fp16; element j of a block):
//   Q4_0: x = d * (q - 8),   q = 4 bits
//   Q4_1: x = d * q + m,     q = 4 bits
//   Q5_0: x = d * (q - 16),  q = 5 bits
//   Q5_1: x = d * q + m,     q = 5 bits
//   Q8_0: x = d * q,         q = int8
//   Q8_1: x = d * q,         q = int8; s = d * sum(q) is stored for the Q4_1/Q5_1 dot products
// 4-bit payload: qs[j] holds element j in its low nibble and element j + 16 in its high nibble
// (j < 16). Q5 types: the 5th bit of element j (0..31) is bit j of the little-endian uint32 qh,
// i.e. bit (j % 8) of qh[j / 8].
#include <cmath>

#include "tensor/convert.h"
#include "tensor/quant_search.h"
#include "tensor/quants.h"

namespace tandem::tensor {
namespace {

using detail::clamp_int;
using detail::round_to_int;

constexpr int kHalf = kQK / 2;

int low_nibble(uint8_t b) { return b & 15; }
int high_nibble(uint8_t b) { return b >> 4; }
int fifth_bit(const uint8_t* qh, int j) { return ((qh[j / 8] >> (j % 8)) & 1) << 4; }

// Stores scale as fp16 and returns the inverse of the value actually stored, so the quants are
// chosen for the scale a reader will see.
float store_scale(float scale, f16_t& field) {
  field = fp32_to_fp16(scale);
  const float stored = fp16_to_fp32(field);
  return stored != 0.0f ? 1.0f / stored : 0.0f;
}

// Packs 32 quants of 4 bits (low) plus an optional 5th bit into qs / qh.
void pack_nibbles(const int* q, uint8_t* qs) {
  for (int j = 0; j < kHalf; ++j) qs[j] = static_cast<uint8_t>((q[j] & 15) | ((q[j + kHalf] & 15) << 4));
}
void pack_fifth_bits(const int* q, uint8_t* qh) {
  for (int k = 0; k < 4; ++k) qh[k] = 0;
  for (int j = 0; j < kQK; ++j) qh[j / 8] |= static_cast<uint8_t>(((q[j] >> 4) & 1) << (j % 8));
}

// Symmetric blocks (Q4_0, Q5_0): q = round(x / d) + bias, bias = 2^(bits-1).
template <typename Block>
void quantize_symmetric_block(const float* x, Block& y, int bias, int* q) {
  const float inv = store_scale(detail::fit_symmetric(x, kQK, bias), y.d);
  for (int j = 0; j < kQK; ++j) q[j] = clamp_int(round_to_int(x[j] * inv) + bias, 0, 2 * bias - 1);
}

// Blocks with an offset (Q4_1, Q5_1): q = round((x - m) / d).
template <typename Block>
void quantize_offset_block(const float* x, Block& y, int nmax, int* q) {
  const detail::AffineFit fit = detail::fit_affine(x, kQK, nmax, /*allow_positive_offset=*/true);
  const float inv = store_scale(fit.scale, y.d);
  y.m = fp32_to_fp16(-fit.min);
  const float m = fp16_to_fp32(y.m);
  for (int j = 0; j < kQK; ++j) q[j] = clamp_int(round_to_int((x[j] - m) * inv), 0, nmax);
}

}  // namespace

void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < kHalf; ++j) {
      y[j] = d * static_cast<float>(low_nibble(x[b].qs[j]) - 8);
      y[j + kHalf] = d * static_cast<float>(high_nibble(x[b].qs[j]) - 8);
    }
  }
}

void dequantize_row_q4_1(const BlockQ4_1* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_fp32(x[b].d);
    const float m = fp16_to_fp32(x[b].m);
    for (int j = 0; j < kHalf; ++j) {
      y[j] = d * static_cast<float>(low_nibble(x[b].qs[j])) + m;
      y[j + kHalf] = d * static_cast<float>(high_nibble(x[b].qs[j])) + m;
    }
  }
}

void dequantize_row_q5_0(const BlockQ5_0* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < kHalf; ++j) {
      y[j] = d * static_cast<float>((low_nibble(x[b].qs[j]) | fifth_bit(x[b].qh, j)) - 16);
      y[j + kHalf] = d * static_cast<float>((high_nibble(x[b].qs[j]) | fifth_bit(x[b].qh, j + kHalf)) - 16);
    }
  }
}

void dequantize_row_q5_1(const BlockQ5_1* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_fp32(x[b].d);
    const float m = fp16_to_fp32(x[b].m);
    for (int j = 0; j < kHalf; ++j) {
      y[j] = d * static_cast<float>(low_nibble(x[b].qs[j]) | fifth_bit(x[b].qh, j)) + m;
      y[j + kHalf] = d * static_cast<float>(high_nibble(x[b].qs[j]) | fifth_bit(x[b].qh, j + kHalf)) + m;
    }
  }
}

void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(x[b].qs[j]);
  }
}

void dequantize_row_q8_1(const BlockQ8_1* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(x[b].qs[j]);
  }
}

void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t n) {
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    quantize_symmetric_block(x, y[b], 8, q);
    pack_nibbles(q, y[b].qs);
  }
}

void quantize_row_q5_0(const float* x, BlockQ5_0* y, int64_t n) {
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    quantize_symmetric_block(x, y[b], 16, q);
    pack_nibbles(q, y[b].qs);
    pack_fifth_bits(q, y[b].qh);
  }
}

void quantize_row_q4_1(const float* x, BlockQ4_1* y, int64_t n) {
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    quantize_offset_block(x, y[b], 15, q);
    pack_nibbles(q, y[b].qs);
  }
}

void quantize_row_q5_1(const float* x, BlockQ5_1* y, int64_t n) {
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    quantize_offset_block(x, y[b], 31, q);
    pack_nibbles(q, y[b].qs);
    pack_fifth_bits(q, y[b].qh);
  }
}

// Activation quantizers: on the hot path of every matmul, so a single pass for the maximum and one
// for the quants, no search. The inverse scale is taken from the exact (unrounded) d.
namespace {
struct Q8BlockStats {
  float d;  // unrounded scale
  int sum;  // sum of the quants
};
template <typename Block>
Q8BlockStats quantize_q8_block(const float* x, Block& y) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    const float a = std::fabs(x[j]);
    amax = a > amax ? a : amax;  // not fmax: its NaN rules keep the loop from vectorizing
  }
  const float d = amax / 127.0f;
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  y.d = fp32_to_fp16(d);
  int sum = 0;
  for (int j = 0; j < kQK; ++j) {
    const int q = clamp_int(round_to_int(x[j] * inv), -127, 127);
    y.qs[j] = static_cast<int8_t>(q);
    sum += q;
  }
  return {d, sum};
}
}  // namespace

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) quantize_q8_block(x, y[b]);
}

void quantize_row_q8_1(const float* x, BlockQ8_1* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    const Q8BlockStats stats = quantize_q8_block(x, y[b]);
    // s = d * sum(q), with d the unrounded scale (as the published format's reference does).
    y[b].s = fp32_to_fp16(stats.d * static_cast<float>(stats.sum));
  }
}

}  // namespace tandem::tensor
