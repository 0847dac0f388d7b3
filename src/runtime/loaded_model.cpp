#include "runtime/loaded_model.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace tandem::runtime {

std::unique_ptr<LoadedModel> LoadedModel::open(const std::string& path, int64_t n_ctx) {
  auto m = std::make_unique<LoadedModel>();
  m->path = path;
  m->file = std::make_unique<gguf::File>(gguf::File::open(path));
  m->file->require_supported_types();
  model::LoadOptions options;
  options.n_ctx = n_ctx;
  m->model = std::make_unique<model::Model>(model::Model::load(*m->file, options));
  m->tokenizer = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_gguf(*m->file));
  return m;
}

void prefault(const gguf::File& file, void (*progress)(size_t, size_t, void*), void* ctx) {
  // Tensor by tensor, skipping those the model copied and released at load (repacked weights):
  // touching them would only bring their file pages back.
  size_t total = 0;
  for (const gguf::TensorInfo& t : file.tensors())
    if (!file.released(t.data)) total += t.n_bytes;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t step = std::max<size_t>(total / 100, page);
  volatile uint8_t sink = 0;
  size_t done = 0, reported = 0;
  for (const gguf::TensorInfo& t : file.tensors()) {
    if (file.released(t.data)) continue;
    for (size_t off = 0; off < t.n_bytes; off += page) sink = sink + t.data[off];
    done += t.n_bytes;
    if (progress && (done - reported >= step || done == total)) {
      progress(done, total, ctx);
      reported = done;
    }
  }
  (void)sink;
}

}  // namespace tandem::runtime
