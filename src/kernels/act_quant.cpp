// Chooses the activation converter of a path and converts one row into a kernel's act_type.
#include <cstring>

#include "kernels/gemm_table.h"
#include "tensor/convert.h"
#include "util/error.h"

namespace tandem::kernels::detail {

namespace {
ActQuantTable build(Isa isa) {
  switch (isa) {
#if defined(TANDEM_KERNELS_X86)
    case Isa::Avx2: return act_quant_avx2();
    case Isa::Avx512: return act_quant_avx512();
#elif defined(TANDEM_KERNELS_NEON)
    case Isa::Neon: return act_quant_neon();
#endif
    default: return act_quant_scalar();
  }
}
}  // namespace

const ActQuantTable& act_quant_table(Isa isa) {
  static const ActQuantTable tables[] = {build(Isa::Scalar), build(Isa::Avx2),
                                         build(Isa::Avx512), build(Isa::Neon)};
  return tables[static_cast<int>(isa)];
}

void convert_activation_row(Isa isa, tensor::Type type, const float* x, void* dst, int64_t n) {
  const ActQuantTable& t = act_quant_table(isa);
  switch (type) {
    case tensor::Type::F32:
      std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case tensor::Type::F16: {
      auto* out = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) out[i] = tensor::fp32_to_fp16(x[i]);
      return;
    }
    case tensor::Type::BF16: {
      auto* out = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) out[i] = tensor::fp32_to_bf16(x[i]);
      return;
    }
    case tensor::Type::Q8_0: t.q8_0(x, dst, n); return;
    case tensor::Type::Q8_1: t.q8_1(x, dst, n); return;
    case tensor::Type::Q8_K: t.q8_k(x, dst, n); return;
    default:
      throw InvalidArgument("kernels: no activation conversion to type " +
                            std::string(tensor::type_name(type)));
  }
}

}  // namespace tandem::kernels::detail
