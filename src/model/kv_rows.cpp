#include "model/kv_rows.h"

#include "kernels/ops.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"
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

float kv_dot(tensor::Type t, const uint8_t* row, int64_t first, const float* q, int64_t n) {
  switch (t) {
    case tensor::Type::F32:
      return kernels::dot_f32(reinterpret_cast<const float*>(row) + first, q, n);
    case tensor::Type::F16:
      return kernels::dot_f16_f32(reinterpret_cast<const uint16_t*>(row) + first, q, n);
    case tensor::Type::Q8_0: {
      const tensor::BlockQ8_0* b = q8_block(row, first);
      float sum = 0;
      for (int64_t blk = 0; blk < n / tensor::kQK; ++blk, q += tensor::kQK) {
        float s = 0;
        for (int i = 0; i < tensor::kQK; ++i) s += static_cast<float>(b[blk].qs[i]) * q[i];
        sum += s * tensor::fp16_to_fp32(b[blk].d);
      }
      return sum;
    }
    default:
      throw InvalidArgument("KV cache type " + std::string(tensor::type_name(t)) +
                            " is not supported");
  }
}

void kv_axpy(tensor::Type t, float a, const uint8_t* row, int64_t first, int64_t n, float* y) {
  switch (t) {
    case tensor::Type::F32:
      kernels::axpy(a, reinterpret_cast<const float*>(row) + first, n, y);
      return;
    case tensor::Type::F16:
      kernels::axpy_f16(a, reinterpret_cast<const uint16_t*>(row) + first, n, y);
      return;
    case tensor::Type::Q8_0: {
      const tensor::BlockQ8_0* b = q8_block(row, first);
      for (int64_t blk = 0; blk < n / tensor::kQK; ++blk, y += tensor::kQK) {
        const float ad = a * tensor::fp16_to_fp32(b[blk].d);
        for (int i = 0; i < tensor::kQK; ++i) y[i] += ad * static_cast<float>(b[blk].qs[i]);
      }
      return;
    }
    default:
      throw InvalidArgument("KV cache type " + std::string(tensor::type_name(t)) +
                            " is not supported");
  }
}

}  // namespace tandem::model
