#include "platform/model_store.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "gguf/file.h"
#include "platform/model_json.h"
#include "util/error.h"

namespace tandem::platform {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kModelSuffix = ".gguf";

ModelSource parse_source(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw FormatError(path + ": expected a JSON object");
  // Every field is optional so that a hand-written sidecar with only a url is still useful.
  auto text = [&](const char* key) -> std::string {
    if (!j.contains(key) || j[key].is_null()) return "";
    if (!j[key].is_string()) throw FormatError(fmt::format("{}: '{}' must be a string", path, key));
    return j[key].get<std::string>();
  };
  ModelSource s;
  s.url = text("url");
  s.sha256 = text("sha256");
  s.pulled_at = text("pulled_at");
  if (j.contains("size") && !j["size"].is_null()) {
    if (!j["size"].is_number_unsigned())
      throw FormatError(path + ": 'size' must be a non-negative integer");
    s.size = j["size"].get<uint64_t>();
  }
  return s;
}

}  // namespace

std::string default_models_dir() {
  if (const char* env = std::getenv("TANDEM_MODELS"); env && *env) return env;
  const char* home = std::getenv("HOME");
  if (!home || !*home)
    throw InvalidArgument("no model directory: set TANDEM_MODELS or HOME, or pass --models-dir");
  return std::string(home) + "/.local/share/tandem/models";
}

void validate_model_id(const std::string& id) {
  if (id.empty()) throw InvalidArgument("model id is empty");
  if (id == "." || id == ".." || id.find('/') != std::string::npos ||
      id.find('\0') != std::string::npos)
    throw InvalidArgument(
        fmt::format("invalid model id '{}': it must be a plain file name "
                    "(no '/')",
                    id));
}

std::string utc_timestamp_now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

ModelStore::ModelStore(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) throw InvalidArgument("model directory is empty");
}

std::string ModelStore::model_path(const std::string& id) const {
  validate_model_id(id);
  return dir_ + "/" + id + std::string(kModelSuffix);
}
std::string ModelStore::source_path(const std::string& id) const {
  return model_path(id) + ".json";
}
std::string ModelStore::partial_path(const std::string& id) const {
  return model_path(id) + ".part";
}

std::vector<std::string> ModelStore::ids() const {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return out;
  fs::directory_iterator it(dir_, ec);
  if (ec) throw IoError(fmt::format("{}: cannot list directory: {}", dir_, ec.message()));
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throw IoError(fmt::format("{}: cannot list directory: {}", dir_, ec.message()));
    const std::string name = it->path().filename().string();
    if (name.size() <= kModelSuffix.size() || !name.ends_with(kModelSuffix)) continue;
    std::error_code type_ec;  // follows symlinks: a link to a model elsewhere is a model
    if (!fs::is_regular_file(it->path(), type_ec)) continue;
    out.push_back(name.substr(0, name.size() - kModelSuffix.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool ModelStore::contains(const std::string& id) const {
  std::error_code ec;
  return fs::is_regular_file(model_path(id), ec);
}

StoredModel ModelStore::describe_file(const std::string& id) const {
  StoredModel m;
  m.id = id;
  m.path = model_path(id);
  std::error_code ec;
  m.file_size = fs::file_size(m.path, ec);
  if (ec) m.file_size = 0;
  try {
    m.card = model_card(gguf::File::open(m.path));
  } catch (const std::exception& e) {
    m.error = e.what();
  }
  try {
    m.source = read_source(id);
  } catch (const std::exception& e) {
    m.source_error = e.what();
  }
  return m;
}

std::vector<StoredModel> ModelStore::list() const {
  std::vector<StoredModel> out;
  for (const std::string& id : ids()) out.push_back(describe_file(id));
  return out;
}

StoredModel ModelStore::describe(const std::string& id) const {
  if (!contains(id)) throw InvalidArgument(fmt::format("no model '{}' in {}", id, dir_));
  return describe_file(id);
}

RemovedFiles ModelStore::remove(const std::string& id) const {
  RemovedFiles removed;
  auto remove_one = [](const std::string& path) {
    std::error_code ec;
    bool existed = fs::remove(path, ec);
    if (ec) throw IoError(fmt::format("{}: cannot delete: {}", path, ec.message()));
    return existed;
  };
  removed.model = remove_one(model_path(id));
  removed.source = remove_one(source_path(id));
  removed.partial = remove_one(partial_path(id));
  if (!removed.model && !removed.source && !removed.partial)
    throw InvalidArgument(fmt::format("no model '{}' in {}", id, dir_));
  return removed;
}

std::optional<ModelSource> ModelStore::read_source(const std::string& id) const {
  const std::string path = source_path(id);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  return parse_source(path);
}

void ModelStore::write_source(const std::string& id, const ModelSource& source) const {
  const std::string path = source_path(id);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << source_json(source).dump(2) << "\n";
    if (!out.flush()) {
      std::remove(tmp.c_str());
      throw IoError(tmp + ": cannot write model source record");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw IoError(fmt::format("{}: cannot write model source record", path));
  }
}

}  // namespace tandem::platform
