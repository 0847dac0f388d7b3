#include "bench_weights.h"

#include <cstring>
#include <random>

#include "tensor/convert.h"

namespace tandem::bench {

Buffer aligned_buffer(size_t bytes) {
  return Buffer(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

Buffer make_weights(tensor::Type t, int64_t rows, int64_t cols, size_t copies) {
  const size_t row_bytes = tensor::row_bytes(t, cols);
  constexpr int64_t kSeedRows = 16;
  std::vector<uint8_t> seed(row_bytes * kSeedRows);
  const auto src = random_floats(static_cast<size_t>(kSeedRows * cols), 1);
  for (int64_t r = 0; r < kSeedRows; ++r) {
    if (t == tensor::Type::F16) {
      auto* h = reinterpret_cast<uint16_t*>(seed.data() + r * row_bytes);
      for (int64_t k = 0; k < cols; ++k) h[k] = tensor::fp32_to_fp16(src[r * cols + k]);
    } else {
      tensor::quantize(t, src.data() + r * cols, seed.data() + r * row_bytes, cols);
    }
  }
  const size_t matrix_bytes = row_bytes * static_cast<size_t>(rows);
  Buffer buf = aligned_buffer(matrix_bytes * copies);
  for (size_t c = 0; c < copies; ++c)
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(buf.get() + c * matrix_bytes + r * row_bytes,
                  seed.data() + (r % kSeedRows) * row_bytes, row_bytes);
  return buf;
}

}  // namespace tandem::bench
