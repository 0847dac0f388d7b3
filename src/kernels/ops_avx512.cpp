// AVX-512 (16-lane) builds of the hot ops; see ops_x86.h.
#include "kernels/ops_x86.h"

namespace tandem::kernels::detail {

OpsTable ops_avx512() { return simd_ops(); }

}  // namespace tandem::kernels::detail
