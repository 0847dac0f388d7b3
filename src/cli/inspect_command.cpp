// `tandem inspect FILE.gguf`: a model card for a GGUF file (what it is, how big, how quantized,
// which tokenizer), then its metadata and tensor table. `--json` gives the same facts to scripts.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "gguf/file.h"
#include "platform/model_card.h"
#include "tensor/types.h"

namespace tandem::cli {

namespace {

using platform::human_bytes;
using platform::human_count;
using platform::ModelCard;

struct InspectOptions {
  std::string path;
  bool no_tensors = false;
  bool json = false;
};

// Arrays in metadata can hold hundreds of thousands of tokens; listings show only a prefix.
constexpr size_t kArrayItemsShown = 8;

std::string shape_string(const std::vector<int64_t>& dims) {
  return fmt::format("[{}]", fmt::join(dims, ", "));
}

// --- text

void print_text(const gguf::File& f, const ModelCard& c, bool with_tensors) {
  auto row = [](const char* label, const std::string& value) {
    fmt::print("{:<16}{}\n", label, value);
  };
  row("file:", f.name());
  row("format:", fmt::format("GGUF v{}, alignment {}, tensor data at offset {}", f.version(),
                             f.alignment(), f.data_offset()));
  row("architecture:", c.architecture.empty() ? "(not set)" : c.architecture);
  row("name:", c.name.value_or("(not set)"));
  row("parameters:", fmt::format("{} ({})", human_count(c.parameters), c.parameters));
  row("file size:", fmt::format("{} ({} bytes)", human_bytes(f.file_size()), f.file_size()));
  if (c.type_mix.empty()) row("tensor types:", "(no tensors)");
  for (size_t i = 0; i < c.type_mix.size(); ++i) {
    const auto& [type, u] = c.type_mix[i];
    double share = c.tensor_bytes ? 100.0 * static_cast<double>(u.bytes) /
                                        static_cast<double>(c.tensor_bytes)
                                  : 0.0;
    row(i == 0 ? "tensor types:" : "",
        fmt::format("{:<8} {:>5} tensors  {:>11}  {:5.1f}%", type, u.tensors,
                    human_bytes(u.bytes), share));
  }
  row("context length:", c.context_length ? std::to_string(*c.context_length) : "(not set)");
  row("chat template:", c.has_chat_template ? "present" : "absent (chat uses the ChatML default)");
  if (c.license) row("license:", *c.license);
  std::string tok = c.tokenizer_model.value_or("(none)");
  if (c.vocab_size) tok += fmt::format(", {} tokens", *c.vocab_size);
  row("tokenizer:", tok);

  size_t key_width = 0;
  for (const auto& [k, v] : f.metadata()) key_width = std::max(key_width, k.size());
  key_width = std::min<size_t>(key_width, 48);
  fmt::print("\nmetadata ({} keys):\n", f.metadata().size());
  for (const auto& [k, v] : f.metadata()) {
    std::string type(gguf::value_type_name(v.type));
    if (v.type == gguf::ValueType::ARRAY)
      type = fmt::format("{}[{}]", gguf::value_type_name(v.as_array().elem_type()),
                         v.as_array().size());
    fmt::print("  {:<{}}  {:<12} {}\n", k, key_width, type, v.to_display(kArrayItemsShown));
  }

  if (!with_tensors) return;
  size_t name_width = 4;
  for (const auto& t : f.tensors()) name_width = std::max(name_width, t.name.size());
  fmt::print("\ntensors ({}):\n", f.tensors().size());
  fmt::print("  {:<{}}  {:<8} {:<24} {:>12}\n", "name", name_width, "type", "shape", "bytes");
  for (const auto& t : f.tensors())
    fmt::print("  {:<{}}  {:<8} {:<24} {:>12}\n", t.name, name_width, tensor::type_name(t.type),
               shape_string(t.dims), t.n_bytes);
}

// --- json

nlohmann::json value_json(const gguf::Value& v) {
  using gguf::ValueType;
  switch (v.type) {
    case ValueType::BOOL: return v.as_bool();
    case ValueType::STRING: return v.as_string();
    case ValueType::FLOAT32:
    case ValueType::FLOAT64:
      // Through the shortest text form, so an f32 1e-5 is 1e-05 in JSON, not 9.99999974e-06.
      return std::strtod(gguf::format_float(v.as_double(), v.type).c_str(), nullptr);
    case ValueType::ARRAY: {
      const gguf::Array& a = v.as_array();
      nlohmann::json items = nlohmann::json::array();
      for (size_t i = 0; i < a.size() && i < kArrayItemsShown; ++i)
        items.push_back(value_json(a.at(i)));
      return {{"array_of", gguf::value_type_name(a.elem_type())},
              {"length", a.size()},
              {"first", std::move(items)}};
    }
    case ValueType::INT8:
    case ValueType::INT16:
    case ValueType::INT32:
    case ValueType::INT64: return v.as_int();
    default: return v.as_uint();
  }
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

void print_json(const gguf::File& f, const ModelCard& c, bool with_tensors) {
  nlohmann::json j;
  j["file"] = f.name();
  j["gguf_version"] = f.version();
  j["alignment"] = f.alignment();
  j["data_offset"] = f.data_offset();
  j["file_size"] = f.file_size();
  j["architecture"] = c.architecture.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.architecture);
  j["name"] = or_null(c.name);
  j["parameters"] = c.parameters;
  j["parameters_human"] = human_count(c.parameters);
  j["context_length"] = or_null(c.context_length);
  j["chat_template"] = c.has_chat_template;
  j["license"] = or_null(c.license);
  j["tokenizer"] = {{"model", or_null(c.tokenizer_model)}, {"vocab_size", or_null(c.vocab_size)}};
  j["tensor_types"] = nlohmann::json::array();
  for (const auto& [type, u] : c.type_mix)
    j["tensor_types"].push_back({{"type", type}, {"tensors", u.tensors}, {"bytes", u.bytes}});
  j["metadata"] = nlohmann::json::object();
  for (const auto& [k, v] : f.metadata()) j["metadata"][k] = value_json(v);
  if (with_tensors) {
    j["tensors"] = nlohmann::json::array();
    for (const auto& t : f.tensors())
      j["tensors"].push_back({{"name", t.name},
                              {"type", tensor::type_name(t.type)},
                              {"shape", t.dims},
                              {"offset", t.offset},
                              {"bytes", t.n_bytes}});
  }
  // Token strings may hold raw bytes that are not valid UTF-8; replace rather than fail.
  fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
}

void run_inspect(const InspectOptions& o) {
  gguf::File f = gguf::File::open(o.path);
  ModelCard card = platform::model_card(f);
  if (o.json)
    print_json(f, card, !o.no_tensors);
  else
    print_text(f, card, !o.no_tensors);
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "Describe a GGUF model file");
  cmd->add_option("file", opts->path, "GGUF file to describe")->required();
  cmd->add_flag("--no-tensors", opts->no_tensors, "Omit the tensor table");
  cmd->add_flag("--json", opts->json, "Print machine-readable JSON");
  cmd->callback([opts] { run_inspect(*opts); });
}

}  // namespace tandem::cli
