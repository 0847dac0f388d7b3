#include "runtime/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#include "kernels/ops.h"
#include "model/kv_rows.h"
#include "tensor/convert.h"
#include "util/error.h"

namespace tandem::runtime {
namespace {

// Stores n floats in the cache's element type.
void encode_row(tensor::Type type, const float* src, int64_t n, uint8_t* dst) {
  switch (type) {
    case tensor::Type::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case tensor::Type::F16:
      kernels::f32_to_f16(src, n, reinterpret_cast<uint16_t*>(dst));
      return;
    default:
      tensor::quantize(type, src, dst, n);
  }
}

}  // namespace

KvCache::KvCache(const model::KvShape& shape, const KvCacheOptions& options)
    : shape_(shape), type_(options.type), n_cells_(options.n_cells) {
  if (shape.n_layer <= 0 || shape.n_head_kv <= 0 || shape.head_dim_k <= 0 || shape.head_dim_v <= 0)
    throw InvalidArgument("KvCache: the model shape must be positive in every dimension");
  if (options.n_cells <= 0)
    throw InvalidArgument("KvCache: n_cells must be positive, got " + std::to_string(options.n_cells));
  if (options.n_seq_max <= 0)
    throw InvalidArgument("KvCache: n_seq_max must be positive, got " +
                          std::to_string(options.n_seq_max));
  if (!model::kv_type_supported(type_, shape.head_dim_k) ||
      !model::kv_type_supported(type_, shape.head_dim_v))
    throw InvalidArgument("KvCache: type " + std::string(tensor::type_name(type_)) +
                          " is not supported for heads of " + std::to_string(shape.head_dim_k) +
                          "/" + std::to_string(shape.head_dim_v) +
                          " elements (f32, f16, or q8_0 with heads a multiple of 32)");
  k_row_bytes_ = tensor::row_bytes(type_, shape.k_width());
  v_row_bytes_ = tensor::row_bytes(type_, shape.v_width());
  k_.resize(static_cast<size_t>(shape.n_layer * n_cells_) * k_row_bytes_);
  v_.resize(static_cast<size_t>(shape.n_layer * n_cells_) * v_row_bytes_);
  seqs_.resize(static_cast<size_t>(options.n_seq_max));
  clear();
}

void KvCache::clear() {
  for (auto& s : seqs_) s.clear();
  free_cells_.resize(static_cast<size_t>(n_cells_));
  for (int64_t i = 0; i < n_cells_; ++i) free_cells_[static_cast<size_t>(i)] = static_cast<int32_t>(n_cells_ - 1 - i);
}

std::vector<int32_t>& KvCache::cells_of(model::SeqId seq) {
  if (seq < 0 || seq >= n_seq_max())
    throw InvalidArgument("KvCache: sequence id " + std::to_string(seq) + " is outside 0.." +
                          std::to_string(n_seq_max() - 1));
  return seqs_[static_cast<size_t>(seq)];
}

const std::vector<int32_t>& KvCache::cells_of(model::SeqId seq) const {
  return const_cast<KvCache*>(this)->cells_of(seq);
}

int64_t KvCache::seq_len(model::SeqId seq) const {
  return static_cast<int64_t>(cells_of(seq).size());
}

void KvCache::seq_rm(model::SeqId seq, int64_t p0) {
  std::vector<int32_t>& cells = cells_of(seq);
  const size_t keep = static_cast<size_t>(std::clamp<int64_t>(p0, 0, static_cast<int64_t>(cells.size())));
  // Return cells so that the lowest ones are reused first (stack order does not matter for
  // correctness; this only keeps reuse predictable).
  for (size_t i = cells.size(); i > keep; --i) free_cells_.push_back(cells[i - 1]);
  cells.resize(keep);
}

void KvCache::reserve(std::span<const model::BatchToken> batch) {
  // Check everything first so a rejected batch leaves the cache unchanged.
  std::unordered_map<model::SeqId, int64_t> next_pos;
  for (const model::BatchToken& t : batch) {
    auto [it, inserted] = next_pos.try_emplace(t.seq, 0);
    if (inserted) it->second = seq_len(t.seq);  // validates the id
    if (t.pos != it->second)
      throw InvalidArgument("KvCache: token at position " + std::to_string(t.pos) +
                            " does not extend sequence " + std::to_string(t.seq) +
                            " (next position is " + std::to_string(it->second) + ")");
    ++it->second;
  }
  if (static_cast<int64_t>(batch.size()) > n_free_cells())
    throw InvalidArgument("KvCache: no space for " + std::to_string(batch.size()) +
                          " tokens (" + std::to_string(n_free_cells()) + " of " +
                          std::to_string(n_cells_) + " cells free)");
  for (const model::BatchToken& t : batch) {
    cells_of(t.seq).push_back(free_cells_.back());
    free_cells_.pop_back();
  }
}

uint8_t* KvCache::k_row(int64_t layer, int32_t cell) {
  return k_.data() + (static_cast<size_t>(layer * n_cells_) + static_cast<size_t>(cell)) * k_row_bytes_;
}
uint8_t* KvCache::v_row(int64_t layer, int32_t cell) {
  return v_.data() + (static_cast<size_t>(layer * n_cells_) + static_cast<size_t>(cell)) * v_row_bytes_;
}

void KvCache::write(int64_t layer, model::SeqId seq, int32_t pos, const float* k, const float* v) {
  const std::vector<int32_t>& cells = cells_of(seq);
  if (layer < 0 || layer >= shape_.n_layer)
    throw InvalidArgument("KvCache: layer " + std::to_string(layer) + " out of range");
  if (pos < 0 || pos >= static_cast<int64_t>(cells.size()))
    throw InvalidArgument("KvCache: position " + std::to_string(pos) + " of sequence " +
                          std::to_string(seq) + " was not reserved");
  const int32_t cell = cells[static_cast<size_t>(pos)];
  encode_row(type_, k, shape_.k_width(), k_row(layer, cell));
  encode_row(type_, v, shape_.v_width(), v_row(layer, cell));
}

model::KvSequenceView KvCache::view(int64_t layer, model::SeqId seq) const {
  const std::vector<int32_t>& cells = cells_of(seq);
  model::KvSequenceView view;
  view.type = type_;
  view.k = k_.data() + static_cast<size_t>(layer * n_cells_) * k_row_bytes_;
  view.v = v_.data() + static_cast<size_t>(layer * n_cells_) * v_row_bytes_;
  view.k_row_bytes = k_row_bytes_;
  view.v_row_bytes = v_row_bytes_;
  view.cells = cells.data();
  view.n_pos = static_cast<int64_t>(cells.size());
  return view;
}

}  // namespace tandem::runtime
