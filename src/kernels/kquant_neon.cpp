// The k-quant kernels of kquant_neon.h, int8 dot products by ARMv8.0 widening multiplies.
#include "kernels/kquant_neon.h"

namespace tandem::kernels::detail {

KQuantGemms kquant_gemms_neon() { return neon_kquant_gemms(); }

}  // namespace tandem::kernels::detail
