#include "server/model_catalog.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "gguf/file.h"
#include "platform/model_card.h"
#include "util/error.h"

namespace tandem::server {

namespace {

constexpr std::string_view kExtension = ".gguf";

// A directory whose mtime is this close to now may still change within the same timestamp tick
// (coarse-grained file systems), so it is re-read rather than trusted.
constexpr std::time_t kRecentSeconds = 2;

bool same_time(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

ModelFile describe_model_file(const std::string& path, std::string id) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IoError("cannot stat model file " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw IoError("model path " + path + " is not a regular file");
  ModelFile f;
  f.id = std::move(id);
  f.path = path;
  f.size_bytes = static_cast<std::uint64_t>(st.st_size);
  f.modified_unix = static_cast<std::int64_t>(st.st_mtim.tv_sec);
  return f;
}

nlohmann::json header_card(const std::string& path) {
  const gguf::File file = gguf::File::open(path);
  const platform::ModelCard card = platform::model_card(file);
  nlohmann::json j = nlohmann::json::object();
  if (!card.architecture.empty()) j["architecture"] = card.architecture;
  if (card.name) j["name"] = *card.name;
  if (card.license) j["license"] = *card.license;
  j["parameters"] = card.parameters;
  j["quantization"] = platform::quantization_summary(card);
  if (card.context_length) j["training_context_length"] = *card.context_length;
  if (card.vocab_size) j["vocab_size"] = *card.vocab_size;
  j["has_chat_template"] = card.has_chat_template;
  return j;
}

ModelDirectory::ModelDirectory(std::string dir) : dir_(std::move(dir)) {}

bool ModelDirectory::refresh() {
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    const bool changed = !files_.empty() || !read_once_;
    files_.clear();
    read_once_ = true;
    seen_mtime_ = {};
    return changed;
  }
  const bool recent = std::time(nullptr) - st.st_mtim.tv_sec <= kRecentSeconds;
  if (read_once_ && !recent && same_time(st.st_mtim, seen_mtime_)) return false;

  std::vector<ModelFile> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;  // hidden, or a download in progress
    if (name.size() <= kExtension.size() || !name.ends_with(kExtension)) continue;
    try {
      found.push_back(describe_model_file(it->path().string(), name.substr(0, name.size() - kExtension.size())));
    } catch (const IoError&) {
      // Vanished between readdir and stat, a dangling link, a directory named *.gguf: not a model.
    }
  }
  std::sort(found.begin(), found.end(), [](const ModelFile& a, const ModelFile& b) { return a.id < b.id; });
  files_ = std::move(found);
  read_once_ = true;
  seen_mtime_ = st.st_mtim;
  return true;
}

}  // namespace tandem::server
