// The k-quant kernels of kquant_neon.h, int8 dot products by SDOT (built with +dotprod; used only when the CPU reports it).
#include "kernels/kquant_neon.h"

namespace tandem::kernels::detail {

KQuantGemms kquant_gemms_neon_dotprod() { return neon_kquant_gemms(); }

}  // namespace tandem::kernels::detail
