#include "model/kv_rows.h"

#include <algorithm>
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

void kv_load_rows(tensor::Type t, const uint8_t* const* rows, int64_t n_rows, int64_t first,
                  int64_t n, float* out, int64_t ld) {
  if (t != tensor::Type::F16) {
    for (int64_t r = 0; r < n_rows; ++r) kv_load(t, rows[r], first, n, out + r * ld);
    return;
  }
  // F16, the default cache: one kernel call for the block (rows are short; a call each cost
  // more than converting them).
  const uint16_t* halves[64];
  for (int64_t r0 = 0; r0 < n_rows; r0 += 64) {
    const int64_t m = std::min<int64_t>(64, n_rows - r0);
    for (int64_t r = 0; r < m; ++r) halves[r] = reinterpret_cast<const uint16_t*>(rows[r0 + r]) + first;
    kernels::f16_rows_to_f32(halves, m, n, out + r0 * ld, ld);
  }
}

}  // namespace tandem::model
