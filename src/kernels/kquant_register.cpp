// Puts the k-quant kernels of an instruction-set path into the driver's table. All of them take
// activations converted to Q8_K (float scale, int8 values, per-16 sums).
#include "kernels/kquant_kernels.h"
#include "util/cpu_features.h"

namespace tandem::kernels::detail {

GemmFn KQuantGemms::get(tensor::Type t) const {
  switch (t) {
    case tensor::Type::Q2_K: return q2_k;
    case tensor::Type::Q3_K: return q3_k;
    case tensor::Type::Q4_K: return q4_k;
    case tensor::Type::Q5_K: return q5_k;
    case tensor::Type::Q6_K: return q6_k;
    case tensor::Type::IQ4_XS: return iq4_xs;
    default: return nullptr;
  }
}

void register_kquant_kernels(Isa isa, KernelTable& table) {
  KQuantGemms gemms = kquant_gemms_scalar();
#if defined(__x86_64__) || defined(_M_X64)
  if (isa == Isa::Avx2) gemms = kquant_gemms_avx2();
  if (isa == Isa::Avx512) gemms = kquant_gemms_avx512();
#endif
#if defined(__aarch64__)
  if (isa == Isa::Neon)
    gemms = CpuFeatures::get().dotprod ? kquant_gemms_neon_dotprod() : kquant_gemms_neon();
#endif
  // Paths without their own k-quant code use the scalar reference.
  for (tensor::Type t : kKQuantTypes) {
    WeightKernel& k = table[t];
    k.act_type = tensor::Type::Q8_K;
    k.gemm = gemms.get(t);
  }
}

}  // namespace tandem::kernels::detail
