#include "kernels/isa.h"

#include <cstdlib>
#include <string>

#include "util/cpu_features.h"

namespace tandem::kernels {

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Neon: return "neon";
  }
  return "unknown";
}

std::vector<Isa> available_isas() {
  std::vector<Isa> isas{Isa::Scalar};
#if defined(TANDEM_KERNELS_X86)
  const CpuFeatures& f = CpuFeatures::get();
  if (f.avx2) isas.push_back(Isa::Avx2);
  // The AVX-512 kernels use VNNI (vpdpbusd) for their int8 dot products, so plain AVX-512F
  // machines (Skylake-X) take the AVX2 path.
  if (f.avx512 && f.avx512_vnni) isas.push_back(Isa::Avx512);
#endif
#if defined(TANDEM_KERNELS_NEON)
  // Advanced SIMD is mandatory on ARMv8-A. Within this path the int8 kernels pick their SDOT
  // variant (*_neon_dotprod.cpp) when CpuFeatures reports dotprod (kernel_registry.cpp).
  isas.push_back(Isa::Neon);
#endif
  return isas;
}

namespace {
Isa detect_best() {
  const std::vector<Isa> isas = available_isas();
  Isa best = isas.back();
  // TANDEM_ISA may only lower the choice: asking for a path the CPU lacks would crash.
  if (const char* env = std::getenv("TANDEM_ISA")) {
    const std::string want(env);
    for (Isa isa : isas)
      if (isa_name(isa) == want) return isa;
  }
  return best;
}
}  // namespace

Isa best_isa() {
  static const Isa best = detect_best();
  return best;
}

}  // namespace tandem::kernels
