// Builds the per-ISA kernel tables once: each path's own kernels over the next slower path's.
#include <array>

#include "kernels/gemm_table.h"
#include "util/cpu_features.h"

namespace tandem::kernels::detail {

void register_legacy_kernels(Isa isa, KernelTable& table) {
  register_legacy_scalar(table);
  register_float_scalar(table);
#if defined(TANDEM_KERNELS_X86)
  if (isa == Isa::Avx2 || isa == Isa::Avx512) {
    register_legacy_avx2(table);
    register_float_avx2(table);
  }
  if (isa == Isa::Avx512) {
    register_legacy_avx512(table);
    register_float_avx512(table);
  }
#elif defined(TANDEM_KERNELS_NEON)
  if (isa == Isa::Neon) {
    if (CpuFeatures::get().dotprod)
      register_legacy_neon_dotprod(table);
    else
      register_legacy_neon(table);
    register_float_neon(table);
  }
#else
  (void)isa;
#endif
}

namespace {

KernelTable build(Isa isa, const KernelTable* slower) {
  KernelTable t;
  register_legacy_kernels(isa, t);
  register_kquant_kernels(isa, t);
  if (isa == Isa::Scalar) register_interleaved_scalar(t);
#if defined(TANDEM_KERNELS_X86)
  if (isa == Isa::Avx2) {
    register_panel_legacy_avx2(t);
    register_panel_kquant_avx2(t);
    register_interleaved_avx2(t);
  }
  if (isa == Isa::Avx512) {
    register_panel_legacy_avx512(t);
    register_panel_kquant_avx512(t);
    register_interleaved_avx512(t);
  }
#endif
  if (slower != nullptr)
    for (int i = 0; i < kMaxTypeId; ++i) {
      if (t.by_type[i].gemm == nullptr) t.by_type[i] = slower->by_type[i];
      // A path without its own interleaved kernel runs the slower one's (not a reason to repack).
      if (t.by_type[i].interleaved == nullptr)
        t.by_type[i].interleaved = slower->by_type[i].interleaved;
    }
  return t;
}

struct Tables {
  std::array<KernelTable, 4> by_isa;
  Tables() {
    by_isa[static_cast<int>(Isa::Scalar)] = build(Isa::Scalar, nullptr);
    const KernelTable& scalar = by_isa[static_cast<int>(Isa::Scalar)];
    by_isa[static_cast<int>(Isa::Avx2)] = build(Isa::Avx2, &scalar);
    by_isa[static_cast<int>(Isa::Avx512)] = build(Isa::Avx512, &by_isa[static_cast<int>(Isa::Avx2)]);
    by_isa[static_cast<int>(Isa::Neon)] = build(Isa::Neon, &scalar);
  }
};

}  // namespace

const KernelTable& kernel_table(Isa isa) {
  static const Tables tables;
  return tables.by_isa[static_cast<int>(isa)];
}

}  // namespace tandem::kernels::detail
