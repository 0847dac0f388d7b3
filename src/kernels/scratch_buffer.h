#pragma once
// A per-thread scratch buffer that only grows (64-byte aligned): converted activations of a
// matmul call, the panel GEMM's unpacked tiles. No allocation per call in steady state; callers
// keep one thread_local each, so concurrent calls from different threads never share it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "util/error.h"

namespace tandem::kernels::detail {

class ScratchBuffer {
 public:
  // At least `bytes` bytes; the contents of earlier calls are not kept when it grows.
  uint8_t* get(size_t bytes) {
    if (bytes > capacity_) {
      const size_t capacity = std::max(bytes, capacity_ * 2);
      data_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, (capacity + 63) / 64 * 64)));
      capacity_ = data_ ? capacity : 0;
      if (!data_) throw Error("kernels: out of memory for " + std::to_string(bytes) + " bytes of scratch");
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t capacity_ = 0;
};

}  // namespace tandem::kernels::detail
