#pragma once
// Load-time repacking of weight matrices into the row-interleaved layout (kernels/interleave.h)
// where this CPU's kernels run it faster: the repacked copy lives in Weights::owned and the file
// pages it came from are released, so the resident size stays that of the file.
#include "gguf/file.h"
#include "model/weights.h"

namespace tandem::model {

// Repacks every matrix of w for which kernels::can_interleave and kernels::interleave_pays hold
// on the best ISA. Returns how many were repacked.
int interleave_weights(const gguf::File& file, Weights& w);

}  // namespace tandem::model
