#include "model/weight_interleave.h"

#include <cstdlib>
#include <string>
#include <unordered_map>

#include "kernels/interleave.h"
#include "util/error.h"

namespace tandem::model {

int interleave_weights(const gguf::File& file, Weights& w) {
  const kernels::Isa isa = kernels::best_isa();
  // A tensor two fields share (never today, but cheap to honour) is repacked once.
  std::unordered_map<const void*, kernels::Matrix> done;
  int count = 0;
  auto repack = [&](kernels::Matrix& m) {
    if (!present(m) || !kernels::can_interleave(m) || !kernels::interleave_pays(m.type, isa))
      return;
    if (auto it = done.find(m.data); it != done.end()) {
      m = it->second;
      return;
    }
    const size_t bytes = tensor::row_bytes(m.type, m.cols) * static_cast<size_t>(m.rows);
    OwnedBytes owned;
    owned.data.reset(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
    if (!owned.data)
      throw Error(file.name() + ": out of memory repacking a " + std::to_string(bytes) + "-byte matrix");
    owned.size = bytes;
    const kernels::Matrix packed = kernels::interleave(m, owned.data.get());
    file.release_pages(m.data, bytes);
    done.emplace(m.data, packed);
    m = packed;
    w.owned.push_back(std::move(owned));
    ++count;
  };
  repack(w.output);
  for (LayerWeights& l : w.layers)
    for (kernels::Matrix* m : {&l.wq, &l.wk, &l.wv, &l.wqkv, &l.wo, &l.w_gate, &l.w_up,
                               &l.w_gate_up, &l.w_down})
      repack(*m);
  if (auto it = done.find(w.token_embd->data); it != done.end()) w.token_embd_interleaved = it->second;
  return count;
}

}  // namespace tandem::model
