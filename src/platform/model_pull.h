#pragma once
// `tandem models pull`: download a GGUF file into the store, resumably, and admit it only once
// it is whole, matches its expected SHA-256 and parses as GGUF.
#include <optional>
#include <string>

#include "platform/download.h"
#include "platform/model_store.h"

namespace tandem::platform {

struct PullOptions {
  std::string url;
  std::string id;      // empty: model_id_from_url(url)
  std::string sha256;  // expected SHA-256 (64 hex digits); empty: none given
  bool force = false;  // replace a model that already has this id
  // Check the download against a SHA-256 the server publishes in X-Linked-Etag / ETag when no
  // --sha256 is given. nullopt: only for Hugging Face hosts, which publish exactly that.
  std::optional<bool> trust_etag_sha256;
  // Timeouts, progress callback, cancel flag, token; url and destination are set by pull_model.
  DownloadOptions download;
};

struct PullResult {
  std::string id;
  std::string path;
  ModelSource source;
  uint64_t resumed_from = 0;     // bytes reused from an earlier interrupted pull
  bool restarted = false;        // a partial file existed but the server sent everything again
  std::string verified_against;  // "--sha256", "ETag", or "" when there was nothing to check
};

// Throws InvalidArgument for a bad URL/id/hash or an id that is taken (without `force`),
// DownloadError when the transfer fails (the .part file stays for the next attempt), and
// FormatError when the file is complete but has the wrong SHA-256 or is not GGUF (the .part file
// is deleted: resuming it could never succeed).
PullResult pull_model(const ModelStore& store, PullOptions options);

}  // namespace tandem::platform
