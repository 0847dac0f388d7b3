// AVX2 + FMA + F16C kernels of F32 / F16 / BF16 weights; see float_x86.h.
#include "kernels/float_x86.h"

namespace tandem::kernels::detail {

void register_float_avx2(KernelTable& t) { register_float_x86<4, 2>(t); }

}  // namespace tandem::kernels::detail
