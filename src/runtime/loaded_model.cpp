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
  if (file.tensors().empty()) return;
  const uint8_t* base = file.tensors().front().data - file.tensors().front().offset;
  const size_t total = file.file_size() - file.data_offset();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t step = std::max<size_t>(total / 100, page);
  volatile uint8_t sink = 0;
  for (size_t done = 0; done < total;) {
    const size_t end = std::min(total, done + step);
    for (size_t off = done; off < end; off += page) sink = sink + base[off];
    done = end;
    if (progress) progress(done, total, ctx);
  }
  (void)sink;
}

}  // namespace tandem::runtime
