// AVX2 kernels of the 32-element block types (maddubs int8 dot products); see legacy_x86.h.
#include "kernels/legacy_x86.h"

namespace tandem::kernels::detail {

// 16 ymm registers: 4 rows x 2 activations keeps 8 accumulators and 4 decoded blocks live.
void register_legacy_avx2(KernelTable& t) { register_legacy_types<4, 2>(t); }

}  // namespace tandem::kernels::detail
