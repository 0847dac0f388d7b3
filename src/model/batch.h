#pragma once
// One forward pass processes a batch of tokens that may belong to different sequences (continuous
// batching). Each token says where it goes: its sequence, its position in that sequence, and
// whether the caller wants its logits.
#include <cstdint>

namespace tandem::model {

using SeqId = int32_t;
using TokenId = int32_t;

struct BatchToken {
  TokenId token = 0;
  int32_t pos = 0;        // position within its sequence
  SeqId seq = 0;
  bool want_logits = false;
};

}  // namespace tandem::model
