// Stand-in used only while kquant_register.cpp (the k-quant kernels) is absent from the tree:
// the k-quant types then have no matmul kernel. CMakeLists.txt drops this file once it exists.
#include "kernels/gemm_table.h"

namespace tandem::kernels::detail {

void register_kquant_kernels(Isa, KernelTable&) {}

}  // namespace tandem::kernels::detail
