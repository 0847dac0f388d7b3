// Scalar reference k-quant x Q8_K kernels. Each weight super-block is decoded to signed int8
// values plus integer sub-block scales and mins (UnpackedKBlock), straight from the format
// definitions; one generic integer dot product then serves every type. The SIMD paths are tested
// against these.
#include "kernels/kquant_format.h"
#include "kernels/kquant_kernels.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {

using tensor::BlockQ8_K;
using tensor::kQK_K;

void unpack_q2_k(const tensor::BlockQ2_K& b, UnpackedKBlock& u) {
  u.d = tensor::fp16_to_fp32(b.d);
  u.dmin = tensor::fp16_to_fp32(b.dmin);
  for (int g = 0; g < 16; ++g) {
    u.scale[g] = static_cast<int16_t>(b.scales[g] & 0xf);
    u.min[g] = static_cast<int16_t>(b.scales[g] >> 4);
  }
  // Element 128h + 32j + l sits in bits 2j..2j+1 of qs[32h + l].
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 32; ++l)
        u.q[128 * h + 32 * j + l] = static_cast<int8_t>((b.qs[32 * h + l] >> (2 * j)) & 3);
}

void unpack_q3_k(const tensor::BlockQ3_K& b, UnpackedKBlock& u) {
  u.d = tensor::fp16_to_fp32(b.d);
  u.dmin = 0.0f;
  uint64_t lo, hi;
  kquant::decode_scales_q3_k(b.scales, &lo, &hi);
  for (int g = 0; g < 16; ++g) {
    const uint64_t stored = ((g < 8 ? lo : hi) >> (8 * (g % 8))) & 0xff;
    u.scale[g] = static_cast<int16_t>(static_cast<int>(stored) - 32);
    u.min[g] = 0;
  }
  // Low 2 bits as in Q2_K; the third bit is bit 4h + j of hmask[l], and a clear bit means -4.
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 32; ++l) {
        const int low = (b.qs[32 * h + l] >> (2 * j)) & 3;
        const int high = (b.hmask[l] >> (4 * h + j)) & 1;
        u.q[128 * h + 32 * j + l] = static_cast<int8_t>(low + 4 * high - 4);
      }
}

// Q4_K and Q5_K share scales and the low-nibble layout: element 64j + l (l < 32) is the low
// nibble of qs[32j + l], element 64j + 32 + l its high nibble; sub-block s covers 32 elements.
static void unpack_k4_common(const uint8_t* packed_scales, const uint8_t* qs, UnpackedKBlock& u) {
  uint64_t scales, mins;
  kquant::decode_scales_mins_k4(packed_scales, &scales, &mins);
  for (int s = 0; s < 8; ++s) {
    const auto sc = static_cast<int16_t>((scales >> (8 * s)) & 0xff);
    const auto mn = static_cast<int16_t>((mins >> (8 * s)) & 0xff);
    u.scale[2 * s] = u.scale[2 * s + 1] = sc;
    u.min[2 * s] = u.min[2 * s + 1] = mn;
  }
  for (int j = 0; j < 4; ++j) {
    for (int l = 0; l < 32; ++l) {
      u.q[64 * j + l] = static_cast<int8_t>(qs[32 * j + l] & 0xf);
      u.q[64 * j + 32 + l] = static_cast<int8_t>(qs[32 * j + l] >> 4);
    }
  }
}

void unpack_q4_k(const tensor::BlockQ4_K& b, UnpackedKBlock& u) {
  u.d = tensor::fp16_to_fp32(b.d);
  u.dmin = tensor::fp16_to_fp32(b.dmin);
  unpack_k4_common(b.scales, b.qs, u);
}

void unpack_q5_k(const tensor::BlockQ5_K& b, UnpackedKBlock& u) {
  u.d = tensor::fp16_to_fp32(b.d);
  u.dmin = tensor::fp16_to_fp32(b.dmin);
  unpack_k4_common(b.scales, b.qs, u);
  // The fifth bit of element 32k + l (sub-block k) is bit k of qh[l].
  for (int k = 0; k < 8; ++k)
    for (int l = 0; l < 32; ++l)
      u.q[32 * k + l] = static_cast<int8_t>(u.q[32 * k + l] + (((b.qh[l] >> k) & 1) << 4));
}

void unpack_q6_k(const tensor::BlockQ6_K& b, UnpackedKBlock& u) {
  u.d = tensor::fp16_to_fp32(b.d);
  u.dmin = 0.0f;
  for (int g = 0; g < 16; ++g) {
    u.scale[g] = b.scales[g];
    u.min[g] = 0;
  }
  // Per half h (128 elements): element 128h + 32k + l (k < 4, l < 32) takes its low 4 bits from
  // ql[64h + 32(k % 2) + l] (low nibble for k < 2, high for k >= 2) and its high 2 bits from
  // bits 2k..2k+1 of qh[32h + l]; the stored 6-bit value is offset by 32.
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l) {
        const uint8_t ql = b.ql[64 * h + 32 * (k % 2) + l];
        const int low = (ql >> (4 * (k / 2))) & 0xf;
        const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
        u.q[128 * h + 32 * k + l] = static_cast<int8_t>((low | (high << 4)) - 32);
      }
}

void unpack_iq4_xs(const tensor::BlockIQ4_XS& b, UnpackedKBlock& u) {
  u.d = tensor::fp16_to_fp32(b.d);
  u.dmin = 0.0f;
  const uint64_t stored = kquant::decode_scales_iq4_xs(b);
  for (int s = 0; s < 8; ++s) {
    const auto sc = static_cast<int16_t>(static_cast<int>((stored >> (8 * s)) & 0xff) - 32);
    u.scale[2 * s] = u.scale[2 * s + 1] = sc;
    u.min[2 * s] = u.min[2 * s + 1] = 0;
  }
  // Sub-block s: element 32s + l is the low nibble of qs[16s + l] for l < 16, the high nibble of
  // qs[16s + l - 16] otherwise; nibbles index the non-linear value table.
  for (int s = 0; s < 8; ++s) {
    for (int l = 0; l < 16; ++l) {
      const uint8_t byte = b.qs[16 * s + l];
      u.q[32 * s + l] = tensor::kIQ4NLValues[byte & 0xf];
      u.q[32 * s + 16 + l] = tensor::kIQ4NLValues[byte >> 4];
    }
  }
}

namespace {

// dot(block, activation) = a.d * (d * sum_g scale[g] * sum_{i in g} q[i] * a.qs[i]
//                                 - dmin * sum_g min[g] * a.bsums[g]).
// The integer sums are exact (|sum| < 2^31 for every type), so only the final float products
// round. bsums are the Q8_K definition of the group sums, so the min term needs no element loop.
float dot_unpacked(const UnpackedKBlock& u, const BlockQ8_K& a) {
  int32_t sum = 0;
  int32_t min_sum = 0;
  for (int g = 0; g < 16; ++g) {
    int32_t group = 0;
    for (int i = 0; i < 16; ++i) group += u.q[16 * g + i] * a.qs[16 * g + i];
    sum += group * u.scale[g];
    min_sum += u.min[g] * a.bsums[g];
  }
  return a.d * (u.d * static_cast<float>(sum) - u.dmin * static_cast<float>(min_sum));
}

template <class Block, void (*Unpack)(const Block&, UnpackedKBlock&)>
void gemm_scalar(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
                 size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  const int64_t n_blocks = cols / kQK_K;
  UnpackedKBlock u;
  for (int64_t i = 0; i < n_rows; ++i) {
    const auto* wrow = reinterpret_cast<const Block*>(static_cast<const uint8_t*>(w) + i * w_stride);
    for (int64_t j = 0; j < n_act; ++j) out[j * out_stride + i] = 0.0f;
    for (int64_t b = 0; b < n_blocks; ++b) {
      Unpack(wrow[b], u);  // decoded once, used for every activation row
      for (int64_t j = 0; j < n_act; ++j) {
        const auto* arow =
            reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(a) + j * a_stride);
        out[j * out_stride + i] += dot_unpacked(u, arow[b]);
      }
    }
  }
}

}  // namespace

KQuantGemms kquant_gemms_scalar() {
  KQuantGemms g;
  g.q2_k = gemm_scalar<tensor::BlockQ2_K, unpack_q2_k>;
  g.q3_k = gemm_scalar<tensor::BlockQ3_K, unpack_q3_k>;
  g.q4_k = gemm_scalar<tensor::BlockQ4_K, unpack_q4_k>;
  g.q5_k = gemm_scalar<tensor::BlockQ5_K, unpack_q5_k>;
  g.q6_k = gemm_scalar<tensor::BlockQ6_K, unpack_q6_k>;
  g.iq4_xs = gemm_scalar<tensor::BlockIQ4_XS, unpack_iq4_xs>;
  return g;
}

}  // namespace tandem::kernels::detail
