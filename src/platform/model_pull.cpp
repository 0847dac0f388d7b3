#include "platform/model_pull.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "gguf/file.h"
#include "platform/sha256.h"
#include "platform/url.h"

namespace tandem::platform {

namespace fs = std::filesystem;

namespace {

void remove_quietly(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

PullResult pull_model(const ModelStore& store, PullOptions o) {
  const std::string host = url_host(o.url);  // also rejects non-http(s) URLs up front
  PullResult r;
  r.id = o.id.empty() ? model_id_from_url(o.url) : o.id;
  validate_model_id(r.id);
  if (!o.sha256.empty() && !is_sha256_hex(o.sha256))
    throw InvalidArgument(fmt::format("--sha256 '{}' is not 64 hex digits", o.sha256));
  o.sha256 = lowercase(o.sha256);
  r.path = store.model_path(r.id);
  if (store.contains(r.id) && !o.force)
    throw InvalidArgument(
        fmt::format("model '{}' already exists ({}); remove it first with "
                    "`tandem models rm {}`, pull with --force, or choose another "
                    "--name",
                    r.id, r.path, r.id));

  std::error_code ec;
  fs::create_directories(store.dir(), ec);
  if (ec)
    throw IoError(fmt::format("{}: cannot create model directory: {}", store.dir(), ec.message()));

  const std::string part = store.partial_path(r.id);
  o.download.url = o.url;
  o.download.destination = part;
  DownloadResult d;
  try {
    d = download_file(o.download);
  } catch (...) {
    // Keep partial bytes for a resume, but do not leave an empty .part behind (e.g. after a 404).
    if (fs::file_size(part, ec) == 0 && !ec) remove_quietly(part);
    throw;
  }
  r.resumed_from = d.resumed_from;
  r.restarted = d.restarted;

  std::string expected;
  if (!o.sha256.empty()) {
    expected = o.sha256;
    r.verified_against = "--sha256";
  } else if (o.trust_etag_sha256.value_or(is_hugging_face_host(host)) && !d.etag_sha256.empty()) {
    expected = d.etag_sha256;
    r.verified_against = "ETag";
  }
  if (!expected.empty() && expected != d.sha256) {
    remove_quietly(part);
    throw FormatError(
        fmt::format("SHA-256 mismatch for {}: expected {} (from {}), got {}; the "
                    "download was deleted",
                    o.url, expected, r.verified_against, d.sha256));
  }

  try {
    gguf::File::open(part);
  } catch (const Error& e) {
    remove_quietly(part);
    throw FormatError(
        fmt::format("{} is not a usable GGUF model file ({}); the download was "
                    "deleted",
                    o.url, e.what()));
  }

  fs::rename(part, r.path, ec);
  if (ec) throw IoError(fmt::format("cannot rename {} to {}: {}", part, r.path, ec.message()));
  r.source = ModelSource{o.url, d.sha256, d.size, utc_timestamp_now()};
  store.write_source(r.id, r.source);
  return r;
}

}  // namespace tandem::platform
