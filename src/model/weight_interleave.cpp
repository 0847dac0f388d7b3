#include "model/weight_interleave.h"

#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/interleave.h"
#include "util/error.h"
#include "util/memory_info.h"

namespace tandem::model {

bool repack_fits(std::uint64_t repack_bytes, std::uint64_t available_bytes) {
  return available_bytes == 0 || repack_bytes <= available_bytes / 10 * 8;
}

int interleave_weights(const gguf::File& file, Weights& w) {
  const kernels::Isa isa = kernels::best_isa();
  std::vector<kernels::Matrix*> fields{&w.output};
  for (LayerWeights& l : w.layers)
    for (kernels::Matrix* m :
         {&l.wq, &l.wk, &l.wv, &l.wqkv, &l.wo, &l.w_gate, &l.w_up, &l.w_gate_up, &l.w_down})
      fields.push_back(m);

  // One arena for every repacked matrix, each at a 64-byte aligned offset. A tensor two fields
  // share (the tied output and token_embd's lookups) is repacked once.
  std::unordered_map<const void*, size_t> offset_of;
  std::vector<kernels::Matrix> sources;
  size_t total = 0;
  for (const kernels::Matrix* m : fields) {
    if (!present(*m) || !kernels::can_interleave(*m) || !kernels::interleave_pays(m->type, isa) ||
        offset_of.count(m->data))
      continue;
    offset_of.emplace(m->data, total);
    sources.push_back(*m);
    total += (tensor::row_bytes(m->type, m->cols) * static_cast<size_t>(m->rows) + 63) / 64 * 64;
  }
  if (sources.empty() || !repack_fits(total, available_memory_bytes())) return 0;

  // (2 MB pages via MADV_HUGEPAGE were tried: decode speed unchanged, load time +0.7-1.7 s from
  // compacting memory for them, on Llama-3.2-1B Q8_0.)
  OwnedBytes arena;
  arena.size = total;
  arena.data.reset(std::aligned_alloc(64, total));
  if (!arena.data)
    throw Error(file.name() + ": out of memory repacking " + std::to_string(total) +
                " bytes of weights");

  ThreadPool pool;  // repacking reads and writes every byte: every core shortens the load
  std::unordered_map<const void*, kernels::Matrix> packed;
  for (const kernels::Matrix& m : sources) {
    auto* dst = static_cast<uint8_t*>(arena.data.get()) + offset_of.at(m.data);
    packed.emplace(m.data, kernels::interleave(m, dst, &pool));
    file.release_pages(m.data, tensor::row_bytes(m.type, m.cols) * static_cast<size_t>(m.rows));
  }
  for (kernels::Matrix* m : fields)
    if (auto it = packed.find(m->data); present(*m) && it != packed.end()) *m = it->second;
  if (auto it = packed.find(w.token_embd->data); it != packed.end())
    w.token_embd_interleaved = it->second;
  w.owned.push_back(std::move(arena));
  return static_cast<int>(sources.size());
}

}  // namespace tandem::model
