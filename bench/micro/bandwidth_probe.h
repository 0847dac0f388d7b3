#pragma once
// Streaming-read bandwidth of this machine: the ceiling a memory-bound matmul can reach.
#include <cstddef>
#include <cstdint>

#include "util/thread_pool.h"

namespace tandem::bench {

// Sums `bytes` of `data` (64-byte aligned, a multiple of 256 bytes) split evenly across the
// pool's threads; returns the sum so the reads cannot be optimized away.
uint64_t stream_read(const uint8_t* data, size_t bytes, ThreadPool& pool);

}  // namespace tandem::bench
