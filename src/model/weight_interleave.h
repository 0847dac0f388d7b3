#pragma once
// Load-time repacking of weight matrices into the row-interleaved layout (kernels/interleave.h)
// where this CPU's kernels run it faster: the repacked copy lives in Weights::owned and the file
// pages it came from are released, so the resident size stays that of the file.
#include <cstdint>

#include "gguf/file.h"
#include "model/weights.h"

namespace tandem::model {

// Repacks every matrix of w for which kernels::can_interleave and kernels::interleave_pays hold
// on the best ISA, unless they would not fit (repack_fits with MemAvailable). Returns how many
// were repacked.
int interleave_weights(const gguf::File& file, Weights& w);

// Whether `repack_bytes` of repacked weights may be allocated with `available_bytes` of memory
// available (0: unknown). Repacked matrices live in anonymous memory, which the kernel cannot drop
// under pressure as it drops a mapped file's pages: a model that barely fits keeps its file
// layout (slower batches) rather than risk the out-of-memory killer.
bool repack_fits(std::uint64_t repack_bytes, std::uint64_t available_bytes);

}  // namespace tandem::model
