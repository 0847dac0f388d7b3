// Scalar reference dot kernels of float weights (F32, F16, BF16) against F32 activations.
#include "kernels/gemm_table.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {

namespace {

inline float load_f32(const float* p, int64_t k) { return p[k]; }
inline float load_f16(const uint16_t* p, int64_t k) { return tensor::fp16_to_fp32(p[k]); }
inline float load_bf16(const uint16_t* p, int64_t k) { return tensor::bf16_to_fp32(p[k]); }

template <typename W, float (*Load)(const W*, int64_t)>
void gemm(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
          size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t j = 0; j < n_act; ++j) {
    const auto* x = reinterpret_cast<const float*>(ab + j * a_stride);
    for (int64_t i = 0; i < n_rows; ++i) {
      const auto* row = reinterpret_cast<const W*>(wb + i * w_stride);
      float sum = 0.0f;
      for (int64_t k = 0; k < cols; ++k) sum += Load(row, k) * x[k];
      out[j * out_stride + i] = sum;
    }
  }
}

}  // namespace

void register_float_scalar(KernelTable& t) {
  using tensor::Type;
  t[Type::F32] = {Type::F32, gemm<float, load_f32>};
  t[Type::F16] = {Type::F32, gemm<uint16_t, load_f16>};
  t[Type::BF16] = {Type::F32, gemm<uint16_t, load_bf16>};
}

}  // namespace tandem::kernels::detail
