// AVX-512 kernels of F32 / F16 / BF16 weights (16 lanes, 4 x 4 tiles); see float_x86.h.
#include "kernels/float_x86.h"

namespace tandem::kernels::detail {

void register_float_avx512(KernelTable& t) { register_float_x86<4, 4>(t); }

}  // namespace tandem::kernels::detail
