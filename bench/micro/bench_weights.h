#pragma once
// Weight matrices for the kernel micro-benchmarks: realistic content (quantized random rows),
// as many identical-layout copies as needed to stream them from DRAM.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "tensor/types.h"

namespace tandem::bench {

struct AlignedFree {
  void operator()(uint8_t* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, AlignedFree>;

// `bytes` (rounded up to 64) of 64-byte aligned memory, not initialized.
Buffer aligned_buffer(size_t bytes);
// n normal(0, 1) floats from `seed`.
std::vector<float> random_floats(size_t n, uint32_t seed);
// `copies` identical matrices of rows x cols in type t, one after the other: a few quantized
// random rows repeated.
Buffer make_weights(tensor::Type t, int64_t rows, int64_t cols, size_t copies);

}  // namespace tandem::bench
