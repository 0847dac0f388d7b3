// NEON build of the hot ops (ops_table.h), 4 floats per register: the vector wrapper here, the
// algorithms (the same as the x86 paths) in ops_simd.inc.
#include <algorithm>
#include <cmath>

#include "kernels/ops_table.h"
#include "kernels/simd_neon.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {
namespace {

constexpr int kW = 4;
using V = float32x4_t;
inline V load(const float* p) { return vld1q_f32(p); }
inline void store(float* p, V v) { vst1q_f32(p, v); }
inline V set1(float f) { return vdupq_n_f32(f); }
inline V zero() { return vdupq_n_f32(0.0f); }
inline V add(V a, V b) { return vaddq_f32(a, b); }
inline V sub(V a, V b) { return vsubq_f32(a, b); }
inline V mul(V a, V b) { return vmulq_f32(a, b); }
inline V div(V a, V b) { return vdivq_f32(a, b); }
inline V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
inline V fnma(V a, V b, V c) { return vfmsq_f32(c, a, b); }
inline V vmax(V a, V b) { return vmaxq_f32(a, b); }
inline V vmin(V a, V b) { return vminq_f32(a, b); }
inline float reduce_add(V v) { return vaddvq_f32(v); }
inline float reduce_max(V v) { return vmaxvq_f32(v); }
inline V round_nearest(V v) { return vrndnq_f32(v); }
inline V pow2i(V n) {  // 2^n for integral n in [-126, 127]
  return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23));
}
inline V zero_below(V v, V x, float limit) {  // a NaN x gives 0, as on x86
  return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vcgeq_f32(x, set1(limit))));
}
inline V load_f16(const uint16_t* p) { return neon::load_f16x4(p); }
// FCVTN rounds with the FPCR mode, round-to-nearest-even unless a program changed it.
inline void store_f16(uint16_t* p, V v) { vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(v))); }
inline float half1(uint16_t h) { return neon::fp16(h); }

#include "kernels/ops_simd.inc"

}  // namespace

OpsTable ops_neon() { return simd_ops(); }

}  // namespace tandem::kernels::detail
