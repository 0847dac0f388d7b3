#pragma once
// Options shared by the commands that run a model (run, bench, serve): threads, context, KV cache
// type; and loading a model file with a progress bar.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/loaded_model.h"
#include "runtime/session.h"

namespace tandem::cli {

struct ModelOptions {
  int threads = 0;            // 0: one per physical core
  int64_t ctx_size = 0;       // 0: runtime default
  int64_t batch_size = 512;
  std::string kv_type = "f16";

  void add_to(CLI::App& cmd);
  runtime::SessionOptions session_options() const;
};

// Opens the model, printing a progress bar on stderr while its pages are read in when stderr is
// a terminal and the file is large.
std::unique_ptr<runtime::LoadedModel> load_model(const std::string& path, int64_t n_ctx);

// The embedded demo model used when no model file is given: the source tree's copy the build
// points at, else the installed one (<prefix>/share/tandem/models). Throws IoError naming the
// places it looked when neither exists.
std::string default_model_path();

// Peak resident memory of this process, in bytes.
size_t peak_rss_bytes();
std::string human_bytes(double bytes);

}  // namespace tandem::cli
