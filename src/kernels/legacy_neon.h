#pragma once
// NEON kernels of the 32-element block types: Q4_0, Q5_0, Q8_0, IQ4_NL against Q8_0 activations,
// Q4_1, Q5_1 against Q8_1. Every block is decoded to 32 signed bytes (two q registers) so one
// exact int8 dot product (simd_neon.h) serves all six types; the float scales are applied once
// per block. The tile driver and registration are the x86 paths' (legacy_gemm.inc).
// Compiled twice: legacy_neon.cpp (ARMv8.0) and legacy_neon_dotprod.cpp (SDOT); everything is in
// an anonymous namespace so each keeps its own copy built with its own flags.
#include <type_traits>

#include "kernels/gemm_table.h"
#include "kernels/simd_neon.h"
#include "tensor/blocks.h"

namespace tandem::kernels::detail {
namespace {


using neon::fp16;

// Signed quants of one block: elements 0..15 in lo, 16..31 in hi. `min_offset` types store
// x = d * q + m and take Q8_1 activations (whose s = da * sum(qa) carries the m term).
struct Q4_0 {
  using Block = tensor::BlockQ4_0;
  static constexpr bool min_offset = false;
  static void quants(const Block& b, int8x16_t& lo, int8x16_t& hi) {
    uint8x16_t l, h;
    neon::split_nibbles(b.qs, l, h);
    lo = vsubq_s8(vreinterpretq_s8_u8(l), vdupq_n_s8(8));
    hi = vsubq_s8(vreinterpretq_s8_u8(h), vdupq_n_s8(8));
  }
};
struct Q5_0 {
  using Block = tensor::BlockQ5_0;
  static constexpr bool min_offset = false;
  static void quants(const Block& b, int8x16_t& lo, int8x16_t& hi) {
    uint8x16_t l, h, bl, bh;
    neon::split_nibbles(b.qs, l, h);
    neon::expand_high_bits(b.qh, bl, bh);
    lo = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(l, bl)), vdupq_n_s8(16));
    hi = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(h, bh)), vdupq_n_s8(16));
  }
};
struct Q8_0 {
  using Block = tensor::BlockQ8_0;
  static constexpr bool min_offset = false;
  static void quants(const Block& b, int8x16_t& lo, int8x16_t& hi) {
    lo = vld1q_s8(b.qs);
    hi = vld1q_s8(b.qs + 16);
  }
};
struct IQ4_NL {
  using Block = tensor::BlockIQ4_NL;
  static constexpr bool min_offset = false;
  static void quants(const Block& b, int8x16_t& lo, int8x16_t& hi) {
    uint8x16_t l, h;
    neon::split_nibbles(b.qs, l, h);
    const int8x16_t table = vld1q_s8(tensor::kIQ4NLValues);
    lo = vqtbl1q_s8(table, l);
    hi = vqtbl1q_s8(table, h);
  }
};
struct Q4_1 {
  using Block = tensor::BlockQ4_1;
  static constexpr bool min_offset = true;
  static void quants(const Block& b, int8x16_t& lo, int8x16_t& hi) {
    uint8x16_t l, h;
    neon::split_nibbles(b.qs, l, h);
    lo = vreinterpretq_s8_u8(l);
    hi = vreinterpretq_s8_u8(h);
  }
};
struct Q5_1 {
  using Block = tensor::BlockQ5_1;
  static constexpr bool min_offset = true;
  static void quants(const Block& b, int8x16_t& lo, int8x16_t& hi) {
    uint8x16_t l, h, bl, bh;
    neon::split_nibbles(b.qs, l, h);
    neon::expand_high_bits(b.qh, bl, bh);
    lo = vreinterpretq_s8_u8(vorrq_u8(l, bl));
    hi = vreinterpretq_s8_u8(vorrq_u8(h, bh));
  }
};

template <class T>
using ActBlock = std::conditional_t<T::min_offset, tensor::BlockQ8_1, tensor::BlockQ8_0>;

// R weight rows x A activation rows: each row's block is decoded once for the A activations and
// each activation block loaded once for the R rows. 32 q registers hold the 2R decoded blocks,
// 2A activation blocks and R*A accumulators of the 4x2 tiles without spilling.
template <class T, int R, int A>
void tile(int64_t nb, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
          float* out, size_t out_stride) {
  using WB = typename T::Block;
  using AB = ActBlock<T>;
  // A 1x1 tile (decode) would be one chain of dependent FMAs: kChains accumulators break it.
  constexpr int kChains = R * A == 1 ? 2 : 1;
  float32x4_t accs[kChains][R][A];
  float min_acc[R][A];
  for (int c = 0; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) accs[c][r][j] = vdupq_n_f32(0.0f);
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < A; ++j) min_acc[r][j] = 0.0f;
  const WB* wr[R];
  const AB* ar[A];
  for (int r = 0; r < R; ++r) wr[r] = reinterpret_cast<const WB*>(w + r * w_stride);
  for (int j = 0; j < A; ++j) ar[j] = reinterpret_cast<const AB*>(a + j * a_stride);

  auto body = [&](int64_t b, float32x4_t (&acc)[R][A]) {
    int8x16_t lo[R], hi[R];
    float d[R];
    for (int r = 0; r < R; ++r) {
      T::quants(wr[r][b], lo[r], hi[r]);
      d[r] = fp16(wr[r][b].d);
    }
    for (int j = 0; j < A; ++j) {
      const int8x16_t y0 = vld1q_s8(ar[j][b].qs), y1 = vld1q_s8(ar[j][b].qs + 16);
      const float da = fp16(ar[j][b].d);
      for (int r = 0; r < R; ++r) {
        const int32x4_t dot = neon::dot_i8x16(neon::dot_i8x16(vdupq_n_s32(0), lo[r], y0), hi[r], y1);
        acc[r][j] = vfmaq_n_f32(acc[r][j], vcvtq_f32_s32(dot), d[r] * da);
        if constexpr (T::min_offset) min_acc[r][j] += fp16(wr[r][b].m) * fp16(ar[j][b].s);
      }
    }
  };
  int64_t b = 0;
  for (; b + kChains <= nb; b += kChains)
    for (int c = 0; c < kChains; ++c) body(b + c, accs[c]);
  for (; b < nb; ++b) body(b, accs[0]);
  for (int c = 1; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) accs[0][r][j] = vaddq_f32(accs[0][r][j], accs[c][r][j]);
  for (int j = 0; j < A; ++j)
    for (int r = 0; r < R; ++r) out[j * out_stride + r] = vaddvq_f32(accs[0][r][j]) + min_acc[r][j];
}

// One activation row (decode, memory-bound): one weight row at a time, a single sequential
// stream for the hardware prefetcher (see legacy_gemm.inc).
template <class T>
void decode_rows(int64_t nb, const uint8_t* w, size_t w_stride, int64_t n_rows,
                 const ActBlock<T>* a, float* out) {
  for (int64_t i = 0; i < n_rows; ++i)
    tile<T, 1, 1>(nb, w + i * w_stride, w_stride, reinterpret_cast<const uint8_t*>(a), 0,
                  out + i, 1);
}

// No small-batch decode kernel on this path: the tile kernels take 2+ activation rows.
template <class T>
bool decode_few_acts(int64_t, const uint8_t*, size_t, int64_t, const uint8_t*, size_t, int64_t,
                     float*, size_t) {
  return false;
}

#include "kernels/legacy_gemm.inc"

}  // namespace
}  // namespace tandem::kernels::detail
