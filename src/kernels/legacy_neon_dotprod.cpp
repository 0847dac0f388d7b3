// The 32-element block kernels of legacy_neon.h, int8 dot products by SDOT (built with +dotprod; used only when the CPU reports it).
#include "kernels/legacy_neon.h"

namespace tandem::kernels::detail {

// 4 rows x 2 activations: 8 decoded registers + 8 accumulators + 2 activation registers.
void register_legacy_neon_dotprod(KernelTable& t) { register_legacy_types<4, 2>(t); }

}  // namespace tandem::kernels::detail
