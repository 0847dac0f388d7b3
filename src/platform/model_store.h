#pragma once
// The local model store: one directory of NAME.gguf files. A model's id is its file name without
// ".gguf"; any GGUF file dropped in by hand is a model. `tandem models pull` adds a sidecar
// NAME.gguf.json recording where the file came from, and downloads into NAME.gguf.part until the
// file is complete and verified, so a directory scan never sees half a model.
//
// The server's multi-model mode reads the same directory with the same convention.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/model_card.h"

namespace tandem::platform {

// Where a pulled model came from (the sidecar NAME.gguf.json).
struct ModelSource {
  std::string url;
  std::string sha256;     // lowercase hex of the whole file
  uint64_t size = 0;      // bytes
  std::string pulled_at;  // UTC, ISO 8601 ("2025-01-31T12:00:00Z")
};

// One entry of a listing. A file the GGUF reader rejects is still listed, with `error` saying why,
// so one corrupt download never hides the rest of the store.
struct StoredModel {
  std::string id;
  std::string path;
  uint64_t file_size = 0;
  std::optional<ModelCard> card;      // unset when the file could not be read
  std::string error;                  // why `card` is unset
  std::optional<ModelSource> source;  // unset when there is no sidecar (or it is unreadable)
  std::string source_error;           // why an existing sidecar could not be read
};

// What `remove` deleted.
struct RemovedFiles {
  bool model = false, source = false, partial = false;
};

// $TANDEM_MODELS when set and non-empty, else ~/.local/share/tandem/models. Throws
// InvalidArgument when neither TANDEM_MODELS nor HOME is set.
std::string default_models_dir();

// Throws InvalidArgument unless `id` names a file directly inside the store (non-empty, no '/',
// not "." or "..").
void validate_model_id(const std::string& id);

// The current time as the sidecar records it.
std::string utc_timestamp_now();

class ModelStore {
 public:
  explicit ModelStore(std::string dir);

  const std::string& dir() const { return dir_; }
  std::string model_path(const std::string& id) const;    // DIR/ID.gguf
  std::string source_path(const std::string& id) const;   // DIR/ID.gguf.json
  std::string partial_path(const std::string& id) const;  // DIR/ID.gguf.part

  // Ids of every ID.gguf in the directory, sorted; empty when the directory does not exist.
  std::vector<std::string> ids() const;
  bool contains(const std::string& id) const;

  // Reads every model's header and sidecar. Never throws for a bad file (see StoredModel::error);
  // throws IoError only when the directory exists but cannot be read.
  std::vector<StoredModel> list() const;
  // One model; throws InvalidArgument "no model 'ID' in DIR" for an unknown id.
  StoredModel describe(const std::string& id) const;

  // Deletes ID.gguf, its sidecar and any partial download. Throws InvalidArgument when none of
  // them exists, IoError when one cannot be deleted.
  RemovedFiles remove(const std::string& id) const;

  // The sidecar, or nullopt when there is none. Throws FormatError for an unreadable sidecar.
  std::optional<ModelSource> read_source(const std::string& id) const;
  // Writes the sidecar atomically (temporary file + rename). Throws IoError.
  void write_source(const std::string& id, const ModelSource& source) const;

 private:
  StoredModel describe_file(const std::string& id) const;
  std::string dir_;
};

}  // namespace tandem::platform
