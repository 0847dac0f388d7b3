#pragma once
// Instruction-set paths a kernel can take. One binary carries all of them; the fastest the CPU
// supports is picked at run time. Tests run every available path against Isa::Scalar.
#include <string_view>
#include <vector>

namespace tandem::kernels {

enum class Isa { Scalar, Avx2, Avx512, Neon };

std::string_view isa_name(Isa isa);
// Paths compiled into this binary AND supported by the running CPU, slowest first.
std::vector<Isa> available_isas();
// The fastest available path (env TANDEM_ISA=scalar|avx2|avx512|neon may lower it, for testing).
Isa best_isa();

}  // namespace tandem::kernels
