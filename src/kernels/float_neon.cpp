// NEON build of the float-weight kernels (F32, F16, BF16 weights x F32 activations): the vector
// wrapper here (4 lanes, F16 widened by FCVTL, BF16 by a 16-bit shift), the algorithms in
// float_gemm.inc.
#include <type_traits>

#include "kernels/gemm_table.h"
#include "kernels/simd_neon.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

using Vec = float32x4_t;
constexpr int kLanes = 4;
inline Vec vzero() { return vdupq_n_f32(0.0f); }
inline Vec vload(const float* p) { return vld1q_f32(p); }
inline Vec vload_f16(const uint16_t* p) { return neon::load_f16x4(p); }
inline Vec vload_bf16(const uint16_t* p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
inline Vec vfma(Vec a, Vec b, Vec c) { return vfmaq_f32(c, a, b); }
inline Vec vadd(Vec a, Vec b) { return vaddq_f32(a, b); }
inline float vsum(Vec v) { return vaddvq_f32(v); }
inline float half1(uint16_t h) { return neon::fp16(h); }

#include "kernels/float_gemm.inc"

// 4 rows x 4 activations: 16 accumulators + 4 weight + 1 activation registers of the 32.
constexpr int kRows = 4, kActs = 4;

}  // namespace

void register_float_neon(KernelTable& t) {
  using tensor::Type;
  t[Type::F32] = {Type::F32, gemm<Type::F32, kRows, kActs>};
  t[Type::F16] = {Type::F32, gemm<Type::F16, kRows, kActs>};
  t[Type::BF16] = {Type::F32, gemm<Type::BF16, kRows, kActs>};
}

}  // namespace tandem::kernels::detail
