// NEON kernels of float weights (F32, F16, BF16) against F32 activations: R weight rows x A
// activation rows per tile, 4 lanes per register, F16 widened by FCVTL and BF16 by a 16-bit
// shift. Tails (cols not a multiple of 4) run scalar.
#include <type_traits>

#include "kernels/gemm_table.h"
#include "kernels/simd_neon.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

template <tensor::Type kType>
struct Weights {
  using Elem = std::conditional_t<kType == tensor::Type::F32, float, uint16_t>;
  static float32x4_t load(const Elem* p) {
    if constexpr (kType == tensor::Type::F32)
      return vld1q_f32(p);
    else if constexpr (kType == tensor::Type::F16)
      return neon::load_f16x4(p);
    else
      return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
  }
  static float scalar(const Elem* p) {
    if constexpr (kType == tensor::Type::F32)
      return *p;
    else if constexpr (kType == tensor::Type::F16)
      return neon::fp16(*p);
    else
      return tensor::bf16_to_fp32(*p);
  }
};

template <tensor::Type kType, int R, int A>
void tile(int64_t cols, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride,
          float* out, size_t out_stride) {
  using W = Weights<kType>;
  using Elem = typename W::Elem;
  const Elem* wr[R];
  const float* ar[A];
  for (int r = 0; r < R; ++r) wr[r] = reinterpret_cast<const Elem*>(w + r * w_stride);
  for (int j = 0; j < A; ++j) ar[j] = reinterpret_cast<const float*>(a + j * a_stride);
  // A 1x1 tile would be one chain of dependent FMAs: kChains accumulators break it.
  constexpr int kChains = R * A == 1 ? 4 : 1;
  float32x4_t accs[kChains][R][A];
  for (int c = 0; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) accs[c][r][j] = vdupq_n_f32(0.0f);
  auto body = [&](int64_t k, float32x4_t (&acc)[R][A]) {
    float32x4_t wv[R];
    for (int r = 0; r < R; ++r) wv[r] = W::load(wr[r] + k);
    for (int j = 0; j < A; ++j) {
      const float32x4_t x = vld1q_f32(ar[j] + k);
      for (int r = 0; r < R; ++r) acc[r][j] = vfmaq_f32(acc[r][j], wv[r], x);
    }
  };
  int64_t k = 0;
  for (; k + kChains * 4 <= cols; k += kChains * 4)
    for (int c = 0; c < kChains; ++c) body(k + c * 4, accs[c]);
  for (; k + 4 <= cols; k += 4) body(k, accs[0]);
  for (int c = 1; c < kChains; ++c)
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < A; ++j) accs[0][r][j] = vaddq_f32(accs[0][r][j], accs[c][r][j]);
  for (int j = 0; j < A; ++j)
    for (int r = 0; r < R; ++r) {
      float s = vaddvq_f32(accs[0][r][j]);
      for (int64_t t = k; t < cols; ++t) s += W::scalar(wr[r] + t) * ar[j][t];
      out[j * out_stride + r] = s;
    }
}

// 4 rows x 4 activations: 16 accumulators + 4 weight + 1 activation registers of the 32.
constexpr int kRows = 4, kActs = 4;

template <tensor::Type kType>
void gemm(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
          size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  auto run_acts = [&]<int R>(int64_t i) {
    const uint8_t* wi = wb + i * w_stride;
    int64_t j = 0;
    for (; j + kActs <= n_act; j += kActs)
      tile<kType, R, kActs>(cols, wi, w_stride, ab + j * a_stride, a_stride,
                            out + j * out_stride + i, out_stride);
    for (; j < n_act; ++j)
      tile<kType, R, 1>(cols, wi, w_stride, ab + j * a_stride, a_stride, out + j * out_stride + i,
                        out_stride);
  };
  int64_t i = 0;
  // One activation row (decode) is memory-bound: one weight row at a time, a single sequential
  // stream for the hardware prefetcher (as on x86, float_x86.h).
  if (n_act == 1) {
    for (; i < n_rows; ++i) run_acts.template operator()<1>(i);
    return;
  }
  for (; i + kRows <= n_rows; i += kRows) run_acts.template operator()<kRows>(i);
  for (; i < n_rows; ++i) run_acts.template operator()<1>(i);
}

}  // namespace

void register_float_neon(KernelTable& t) {
  using tensor::Type;
  t[Type::F32] = {Type::F32, gemm<Type::F32>};
  t[Type::F16] = {Type::F32, gemm<Type::F16>};
  t[Type::BF16] = {Type::F32, gemm<Type::BF16>};
}

}  // namespace tandem::kernels::detail
