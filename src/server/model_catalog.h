#pragma once
// The model files a multi-model server can offer: every NAME.gguf in a directory (model id =
// NAME; `tandem models pull` writes the same layout, NAME.gguf.json sidecars are ignored), found
// by cheap stat/readdir calls so the directory can be re-read on every listing and every unknown
// model id. A file dropped into the directory while the server runs is found at the next look.
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::server {

struct ModelFile {
  std::string id;    // what clients put in "model"
  std::string path;
  std::uint64_t size_bytes = 0;
  std::int64_t modified_unix = 0;  // seconds
};

// Stats one model file; throws IoError naming the path when it cannot.
ModelFile describe_model_file(const std::string& path, std::string id);

// Card fields from a model file's GGUF header alone (no weights are read): "architecture",
// "name", "license", "parameters", "quantization", "training_context_length", "vocab_size",
// "has_chat_template" — what /v1/models shows for a model that is not loaded. Throws IoError /
// FormatError naming the file when the reader refuses it.
nlohmann::json header_card(const std::string& path);

class ModelDirectory {
 public:
  // `dir` may not exist yet: it then lists nothing until it does.
  explicit ModelDirectory(std::string dir);

  const std::string& dir() const { return dir_; }

  // Re-reads the directory when it may have changed since the last read (its modification time
  // moved, or is too recent to trust at the file system's timestamp granularity). Returns true
  // when it re-read. Not thread-safe: the owner serializes calls.
  bool refresh();
  // Sorted by id. Hidden files, non-regular files and names that are only ".gguf" are skipped.
  const std::vector<ModelFile>& files() const { return files_; }

 private:
  std::string dir_;
  std::vector<ModelFile> files_;
  bool read_once_ = false;
  struct timespec seen_mtime_ {};
};

}  // namespace tandem::server
