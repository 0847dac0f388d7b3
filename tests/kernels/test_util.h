#pragma once
// Helpers of the kernel tests: random data, quantized random matrices, normalized error.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "tensor/convert.h"
#include "tensor/types.h"

namespace tandem::kernels::testing {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// ||a - b|| / ||b|| (0 when both are zero).
inline double normalized_error(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  if (den == 0.0) return num == 0.0 ? 0.0 : INFINITY;
  return std::sqrt(num / den);
}

// A weight matrix of `type` from random floats; for F32/F16/BF16 converts directly.
inline std::vector<uint8_t> make_weights(tensor::Type type, int64_t rows, int64_t cols,
                                         uint32_t seed, std::vector<float>* dequantized) {
  const std::vector<float> src = random_floats(static_cast<size_t>(rows * cols), seed);
  const size_t row_bytes = tensor::row_bytes(type, cols);
  std::vector<uint8_t> data(row_bytes * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = src.data() + r * cols;
    uint8_t* dst = data.data() + r * row_bytes;
    if (type == tensor::Type::F32) {
      std::memcpy(dst, x, row_bytes);
    } else if (type == tensor::Type::F16 || type == tensor::Type::BF16) {
      auto* h = reinterpret_cast<uint16_t*>(dst);
      for (int64_t k = 0; k < cols; ++k)
        h[k] = type == tensor::Type::F16 ? tensor::fp32_to_fp16(x[k]) : tensor::fp32_to_bf16(x[k]);
    } else {
      tensor::quantize(type, x, dst, cols);
    }
  }
  if (dequantized != nullptr) {
    dequantized->resize(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* row = data.data() + r * row_bytes;
      float* out = dequantized->data() + r * cols;
      if (type == tensor::Type::F32) {
        std::memcpy(out, row, row_bytes);
      } else if (type == tensor::Type::F16 || type == tensor::Type::BF16) {
        const auto* h = reinterpret_cast<const uint16_t*>(row);
        for (int64_t k = 0; k < cols; ++k)
          out[k] = type == tensor::Type::F16 ? tensor::fp16_to_fp32(h[k]) : tensor::bf16_to_fp32(h[k]);
      } else {
        tensor::dequantize(type, row, out, cols);
      }
    }
  }
  return data;
}

inline bool isa_available(Isa isa) {
  for (Isa i : available_isas())
    if (i == isa) return true;
  return false;
}

}  // namespace tandem::kernels::testing
