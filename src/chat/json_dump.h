#pragma once
// Python's json.dumps as Hugging Face's tojson filter calls it, byte for byte: separators
// ", " / ": " (or "," / ": " when indenting), ensure_ascii switchable, floats like repr(),
// optional key sorting.
#include <optional>
#include <string>

#include "chat/value.h"

namespace tandem::chat {

struct JsonDumpOptions {
  std::optional<std::string> indent;  // absent: one line; else the per-level indent text
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool ensure_ascii = false;
  bool sort_keys = false;
};

// Throws TemplateError ("Object of type X is not JSON serializable") for undefined, functions,
// namespaces and generators, as json.dumps raises TypeError.
std::string json_dumps(const Value& v, const JsonDumpOptions& options);

}  // namespace tandem::chat
