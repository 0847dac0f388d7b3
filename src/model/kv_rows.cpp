#include "model/kv_rows.h"

#include <cstring>
#include <string>

#include "kernels/ops.h"
#include "tensor/blocks.h"
#include "tensor/quants.h"
#include "util/error.h"

namespace tandem::model {
namespace {

const tensor::BlockQ8_0* q8_block(const uint8_t* row, int64_t first) {
  return reinterpret_cast<const tensor::BlockQ8_0*>(row) + first / tensor::kQK;
}

}  // namespace

bool kv_type_supported(tensor::Type t, int64_t head_dim) {
  switch (t) {
    case tensor::Type::F32:
    case tensor::Type::F16:
      return true;
    case tensor::Type::Q8_0:
      return head_dim % tensor::kQK == 0;
    default:
      return false;
  }
}

void kv_load(tensor::Type t, const uint8_t* row, int64_t first, int64_t n, float* out) {
  switch (t) {
    case tensor::Type::F32:
      std::memcpy(out, reinterpret_cast<const float*>(row) + first, static_cast<size_t>(n) * sizeof(float));
      return;
    case tensor::Type::F16:
      kernels::f16_to_f32(reinterpret_cast<const uint16_t*>(row) + first, n, out);
      return;
    case tensor::Type::Q8_0:
      tensor::dequantize_row_q8_0(q8_block(row, first), out, n);
      return;
    default:
      throw InvalidArgument("KV cache type " + std::string(tensor::type_name(t)) +
                            " is not supported");
  }
}

}  // namespace tandem::model
