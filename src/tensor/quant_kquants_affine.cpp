// K-quants with a scale and a min per sub-block: Q2_K, Q4_K, Q5_K (256-element super-blocks).
//
// Q4_K: 8 sub-blocks of 32. x[e] = d * sc[s] * q[e] - dmin * mn[s], s = e / 32, q 4 bits,
//       sc/mn 6 bits packed as in kscales.h, d/dmin fp16.
//       Element order of qs: elements are taken in chunks of 64; chunk c = e / 64 uses bytes
//       qs[32c .. 32c+31]: element 64c + l (l < 32) is the LOW nibble of qs[32c + l], element
//       64c + 32 + l is the HIGH nibble of the same byte.
// Q5_K: as Q4_K with a 5th bit: q[e] = nibble | (bit (e / 32) of qh[e % 32]) << 4.
// Q2_K: 16 sub-blocks of 16. x[e] = d * (scales[s] & 15) * q[e] - dmin * (scales[s] >> 4),
//       s = e / 16, q 2 bits. Element order of qs: halves h = e / 128 use bytes qs[32h .. 32h+31];
//       inside a half, element 32k + l (k < 4, l < 32) is bits 2k..2k+1 of qs[32h + l].
#include <cmath>

#include "tensor/convert.h"
#include "tensor/klayout.h"
#include "tensor/quant_search.h"
#include "tensor/quants.h"

namespace tandem::tensor {
namespace {

using detail::clamp_int;
using detail::round_to_int;

// Quantized sub-block parameters of one super-block: levels sc/mn (integers) of a shared d/dmin.
struct ScaleMinLevels {
  float d;
  float dmin;
  uint8_t sc[16];
  uint8_t mn[16];
};

// Fits every sub-block, then quantizes the sub-block scales and mins to `levels` steps of a common
// d / dmin (themselves rounded to fp16, whose stored values are returned).
ScaleMinLevels fit_super_block(const float* x, int n_sub, int sub_size, int nmax, int levels,
                               f16_t& d_field, f16_t& dmin_field) {
  float scales[16], mins[16];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int s = 0; s < n_sub; ++s) {
    const detail::AffineFit fit = detail::fit_affine(x + s * sub_size, sub_size, nmax);
    scales[s] = fit.scale;
    mins[s] = fit.min;
    max_scale = std::fmax(max_scale, fit.scale);
    max_min = std::fmax(max_min, fit.min);
  }
  ScaleMinLevels out{};
  const float inv_d = max_scale > 0 ? static_cast<float>(levels) / max_scale : 0.0f;
  const float inv_dmin = max_min > 0 ? static_cast<float>(levels) / max_min : 0.0f;
  for (int s = 0; s < n_sub; ++s) {
    out.sc[s] = static_cast<uint8_t>(clamp_int(round_to_int(scales[s] * inv_d), 0, levels));
    out.mn[s] = static_cast<uint8_t>(clamp_int(round_to_int(mins[s] * inv_dmin), 0, levels));
  }
  d_field = fp32_to_fp16(max_scale / static_cast<float>(levels));
  dmin_field = fp32_to_fp16(max_min / static_cast<float>(levels));
  out.d = fp16_to_fp32(d_field);
  out.dmin = fp16_to_fp32(dmin_field);
  return out;
}

// Final quants of one sub-block for the stored (quantized) scale and min.
void quantize_sub_block(const float* x, int n, int nmax, float scale, float min, int* q) {
  const float inv = scale > 0 ? 1.0f / scale : 0.0f;
  for (int i = 0; i < n; ++i) q[i] = clamp_int(round_to_int((x[i] + min) * inv), 0, nmax);
}

// Fits the super-block and returns its final quants in q. After the integer levels are fixed,
// d and dmin are refit jointly by least squares over all elements (x ~= d * (sc q) - dmin * mn),
// which recovers most of what rounding the sub-block scales to a few bits lost.
ScaleMinLevels quantize_super_block(const float* x, int n_sub, int sub_size, int nmax, int levels,
                                    f16_t& d_field, f16_t& dmin_field, int* q) {
  ScaleMinLevels lv = fit_super_block(x, n_sub, sub_size, nmax, levels, d_field, dmin_field);
  for (int s = 0; s < n_sub; ++s) {
    quantize_sub_block(x + s * sub_size, sub_size, nmax, lv.d * lv.sc[s], lv.dmin * lv.mn[s], q + s * sub_size);
  }
  double saa = 0, sab = 0, sbb = 0, sax = 0, sbx = 0;  // a = sc*q, b = mn
  for (int s = 0; s < n_sub; ++s) {
    for (int i = 0; i < sub_size; ++i) {
      const double a = static_cast<double>(lv.sc[s]) * q[s * sub_size + i];
      const double b = lv.mn[s];
      const double xi = x[s * sub_size + i];
      saa += a * a;
      sab += a * b;
      sbb += b * b;
      sax += a * xi;
      sbx += b * xi;
    }
  }
  // Normal equations of min over (d, m) of sum (d a - m b - x)^2.
  const double det = saa * sbb - sab * sab;
  if (det <= 0) return lv;
  const double d = (sax * sbb - sab * sbx) / det;
  const double m = (sax * sab - saa * sbx) / det;
  if (!(d > 0) || !(m >= 0)) return lv;
  d_field = fp32_to_fp16(static_cast<float>(d));
  dmin_field = fp32_to_fp16(static_cast<float>(m));
  lv.d = fp16_to_fp32(d_field);
  lv.dmin = fp16_to_fp32(dmin_field);
  for (int s = 0; s < n_sub; ++s) {
    quantize_sub_block(x + s * sub_size, sub_size, nmax, lv.d * lv.sc[s], lv.dmin * lv.mn[s], q + s * sub_size);
  }
  return lv;
}

// Q4_K and Q5_K share everything but the 5th bit.
template <typename Block>
void quantize_q4_k_like(const float* x, Block& y, int nmax, int* q) {
  const ScaleMinLevels lv = quantize_super_block(x, 8, 32, nmax, 63, y.d, y.dmin, q);
  pack_q4_k_scale_min(lv.sc, lv.mn, y.scales);
  for (int k = 0; k < kQK_K / 2; ++k) y.qs[k] = 0;
  for (int e = 0; e < kQK_K; ++e) y.qs[q4k_byte(e)] |= static_cast<uint8_t>((q[e] & 15) << q4k_shift(e));
}

template <typename Block>
void dequantize_q4_k_like(const Block& x, const uint8_t* qh, float* y) {
  const float d = fp16_to_fp32(x.d);
  const float dmin = fp16_to_fp32(x.dmin);
  for (int s = 0; s < 8; ++s) {
    uint8_t sc, mn;
    unpack_q4_k_scale_min(x.scales, s, sc, mn);
    const float scale = d * sc;
    const float min = dmin * mn;
    for (int l = 0; l < 32; ++l) {
      const int e = 32 * s + l;
      int q = (x.qs[q4k_byte(e)] >> q4k_shift(e)) & 15;
      if (qh != nullptr) q |= ((qh[l] >> s) & 1) << 4;
      y[e] = scale * static_cast<float>(q) - min;
    }
  }
}

}  // namespace

void dequantize_row_q4_k(const BlockQ4_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, y += kQK_K) dequantize_q4_k_like(x[b], nullptr, y);
}

void dequantize_row_q5_k(const BlockQ5_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, y += kQK_K) dequantize_q4_k_like(x[b], x[b].qh, y);
}

void quantize_row_q4_k(const float* x, BlockQ4_K* y, int64_t n) {
  int q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) quantize_q4_k_like(x, y[b], 15, q);
}

void quantize_row_q5_k(const float* x, BlockQ5_K* y, int64_t n) {
  int q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    quantize_q4_k_like(x, y[b], 31, q);
    for (int l = 0; l < 32; ++l) y[b].qh[l] = 0;
    for (int e = 0; e < kQK_K; ++e) y[b].qh[e % 32] |= static_cast<uint8_t>(((q[e] >> 4) & 1) << (e / 32));
  }
}

void dequantize_row_q2_k(const BlockQ2_K* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, y += kQK_K) {
    const float d = fp16_to_fp32(x[b].d);
    const float dmin = fp16_to_fp32(x[b].dmin);
    for (int s = 0; s < 16; ++s) {
      const float scale = d * static_cast<float>(x[b].scales[s] & 15);
      const float min = dmin * static_cast<float>(x[b].scales[s] >> 4);
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * s + l;
        const int q = (x[b].qs[q2k_byte(e)] >> q2k_shift(e)) & 3;
        y[e] = scale * static_cast<float>(q) - min;
      }
    }
  }
}

void quantize_row_q2_k(const float* x, BlockQ2_K* y, int64_t n) {
  int q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    const ScaleMinLevels lv = quantize_super_block(x, 16, 16, 3, 15, y[b].d, y[b].dmin, q);
    for (int s = 0; s < 16; ++s) y[b].scales[s] = static_cast<uint8_t>(lv.sc[s] | (lv.mn[s] << 4));
    for (int k = 0; k < kQK_K / 4; ++k) y[b].qs[k] = 0;
    for (int e = 0; e < kQK_K; ++e) y[b].qs[q2k_byte(e)] |= static_cast<uint8_t>(q[e] << q2k_shift(e));
  }
}

}  // namespace tandem::tensor
