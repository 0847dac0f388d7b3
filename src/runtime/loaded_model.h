#pragma once
// A model file opened for use: the mapping, the parsed model and its tokenizer, kept together so
// their lifetimes match (the model's weights point into the mapping).
#include <memory>
#include <string>

#include "gguf/file.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace tandem::runtime {

struct LoadedModel {
  std::string path;
  std::unique_ptr<gguf::File> file;
  std::unique_ptr<model::Model> model;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;

  // Opens, validates and indexes `path`. Throws IoError / FormatError naming the file.
  // `n_ctx` (0: the model's training context) picks long-rope factors where a model has them.
  static std::unique_ptr<LoadedModel> open(const std::string& path, int64_t n_ctx = 0);
};

// Touches every page of the mapping so later reads do not fault, calling progress(done, total)
// about every 1% — a large model then loads with a visible progress bar instead of slow first
// tokens.
void prefault(const gguf::File& file, void (*progress)(size_t done, size_t total, void* ctx),
              void* ctx);

}  // namespace tandem::runtime
