#pragma once
// The KV cache: for every layer, K and V rows of every cached token, stored in F16 (default), F32
// or Q8_0. A fixed pool of cells is shared by all sequences; each sequence maps its positions
// 0..len-1 to cells. Sequences grow by appending (forward passes), shrink by seq_rm (truncate
// from a position) and are emptied by seq_clear. The model sees it only through model::KvStore.
#include <cstdint>
#include <span>
#include <vector>

#include "model/kv_store.h"
#include "tensor/types.h"

namespace tandem::runtime {

struct KvCacheOptions {
  tensor::Type type = tensor::Type::F16;
  int64_t n_cells = 0;     // total tokens all sequences together can hold (the context size)
  int32_t n_seq_max = 1;   // sequence ids 0 .. n_seq_max-1
};

class KvCache final : public model::KvStore {
 public:
  // Throws InvalidArgument for a non-positive size, an unsupported type, or Q8_0 with heads that
  // are not a multiple of its 32-element block.
  KvCache(const model::KvShape& shape, const KvCacheOptions& options);

  const model::KvShape& shape() const override { return shape_; }
  tensor::Type type() const { return type_; }
  int64_t n_cells() const { return n_cells_; }
  int64_t n_free_cells() const { return static_cast<int64_t>(free_cells_.size()); }
  int32_t n_seq_max() const { return static_cast<int32_t>(seqs_.size()); }
  size_t bytes() const { return k_.size() + v_.size(); }

  // Number of positions cached for `seq`.
  int64_t seq_len(model::SeqId seq) const;
  // Drops positions >= p0 of `seq`, freeing their cells (p0 <= 0 empties the sequence).
  void seq_rm(model::SeqId seq, int64_t p0);
  void seq_clear(model::SeqId seq) { seq_rm(seq, 0); }
  void clear();

  // model::KvStore
  void reserve(std::span<const model::BatchToken> batch) override;
  void write(int64_t layer, model::SeqId seq, int32_t pos, const float* k,
             const float* v) override;
  model::KvSequenceView view(int64_t layer, model::SeqId seq) const override;

 private:
  std::vector<int32_t>& cells_of(model::SeqId seq);
  const std::vector<int32_t>& cells_of(model::SeqId seq) const;
  uint8_t* k_row(int64_t layer, int32_t cell);
  uint8_t* v_row(int64_t layer, int32_t cell);

  model::KvShape shape_;
  tensor::Type type_;
  int64_t n_cells_;
  size_t k_row_bytes_, v_row_bytes_;
  std::vector<uint8_t> k_, v_;              // [layer][cell][row bytes]
  std::vector<std::vector<int32_t>> seqs_;  // per sequence: cell of each position
  std::vector<int32_t> free_cells_;         // stack; lowest cell on top
};

}  // namespace tandem::runtime
