#pragma once
// Reading cached K/V rows in their storage type (F32, F16, Q8_0) during attention: each head's
// slice is widened to float once per key block (model/attention.cpp) and shared by every query
// head and token of the tile.
#include <cstdint>

#include "tensor/types.h"

namespace tandem::model {

// True when a KV cache may store rows in `t` with heads of `head_dim` elements (Q8_0 blocks must
// not straddle heads).
bool kv_type_supported(tensor::Type t, int64_t head_dim);

// out[i] = row[first + i] as float, for i < n (first and n whole blocks for Q8_0).
void kv_load(tensor::Type t, const uint8_t* row, int64_t first, int64_t n, float* out);
// The same for n_rows rows at once: out[r * ld + i] = rows[r][first + i].
void kv_load_rows(tensor::Type t, const uint8_t* const* rows, int64_t n_rows, int64_t first,
                  int64_t n, float* out, int64_t ld);

}  // namespace tandem::model
