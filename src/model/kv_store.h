#pragma once
// What the forward pass needs from a KV cache, and nothing more. The cache itself lives in
// runtime/ (which sits above model/); this interface keeps the dependency pointing down and keeps
// the cache free to change its storage (a paged block pool later) without touching the math.
#include <cstddef>
#include <cstdint>
#include <span>

#include "model/batch.h"
#include "tensor/types.h"

namespace tandem::model {

// Shape of the per-token K and V rows the model stores in every layer.
struct KvShape {
  int64_t n_layer = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  int64_t k_width() const { return n_head_kv * head_dim_k; }
  int64_t v_width() const { return n_head_kv * head_dim_v; }
};

// Read access to one layer of one sequence: positions 0 .. n_pos-1, position p stored in cell
// cells[p]; a cell's K row starts at k + cell * k_row_bytes (V likewise), in element type `type`.
struct KvSequenceView {
  tensor::Type type = tensor::Type::F32;
  const uint8_t* k = nullptr;
  const uint8_t* v = nullptr;
  size_t k_row_bytes = 0;
  size_t v_row_bytes = 0;
  const int32_t* cells = nullptr;
  int64_t n_pos = 0;

  const uint8_t* k_row(int64_t pos) const { return k + static_cast<size_t>(cells[pos]) * k_row_bytes; }
  const uint8_t* v_row(int64_t pos) const { return v + static_cast<size_t>(cells[pos]) * v_row_bytes; }
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  virtual const KvShape& shape() const = 0;
  // Claims a cell for every token of the batch before any layer runs. Each token's position must
  // extend its sequence (pos == current length, in batch order). Throws InvalidArgument, leaving
  // the store unchanged, when a position is out of order, a sequence id is unknown or space ran out.
  virtual void reserve(std::span<const BatchToken> batch) = 0;
  // Stores one token's K (k_width floats) and V (v_width floats) for `layer`.
  virtual void write(int64_t layer, SeqId seq, int32_t pos, const float* k, const float* v) = 0;
  virtual KvSequenceView view(int64_t layer, SeqId seq) const = 0;
};

}  // namespace tandem::model
