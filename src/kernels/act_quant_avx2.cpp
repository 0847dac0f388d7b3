// AVX2 activation quantization; see act_quant_x86.h.
#include "kernels/act_quant_x86.h"

namespace tandem::kernels::detail {

ActQuantTable act_quant_avx2() { return {q8_0_row, q8_1_row, q8_k_row}; }

}  // namespace tandem::kernels::detail
