// AVX-512 builds of the activation quantizers (same code as AVX2; the conversion is a small
// fraction of a matmul, so it is not worth a separate 512-bit version).
#include "kernels/act_quant_x86.h"

namespace tandem::kernels::detail {

ActQuantTable act_quant_avx512() { return {q8_0_row, q8_1_row, q8_k_row}; }

}  // namespace tandem::kernels::detail
