#include "chat/json_dump.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/text.h"

namespace tandem::chat {
namespace {

constexpr int kMaxJsonDepth = 500;  // Python raises RecursionError somewhere near here too

void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  auto hex4 = [&](unsigned v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u%04x", v & 0xFFFFu);
    out += buf;
  };
  for (char32_t c : text::decode(s)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
          if (c >= 0x10000) {
            char32_t v = c - 0x10000;
            hex4(0xD800 | static_cast<unsigned>(v >> 10));
            hex4(0xDC00 | static_cast<unsigned>(v & 0x3FF));
          } else {
            hex4(static_cast<unsigned>(c));
          }
        } else {
          text::append_utf8(out, c);
        }
    }
  }
  out += '"';
}

std::string float_json(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  return text::repr_float(d);
}

std::string key_text(const Value& k) {
  switch (k.kind()) {
    case Kind::String: return k.str();
    case Kind::Bool: return k.as_bool() ? "true" : "false";
    case Kind::Int: return std::to_string(k.as_int());
    case Kind::Float: return float_json(k.as_float());
    case Kind::None: return "null";
    default: fail("keys must be str, int, float, bool or None, not " + type_name(k));
  }
}

class Dumper {
 public:
  explicit Dumper(const JsonDumpOptions& o) : o_(o) {}

  void dump(const Value& v, int level) {
    if (level > kMaxJsonDepth) fail("maximum recursion depth exceeded while encoding a JSON object");
    switch (v.kind()) {
      case Kind::None: out += "null"; return;
      case Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
      case Kind::Int: out += std::to_string(v.as_int()); return;
      case Kind::Float: out += float_json(v.as_float()); return;
      case Kind::String: dump_string(out, v.str(), o_.ensure_ascii); return;
      case Kind::List:
        if (v.seq_kind() != SeqKind::Iterator) {
          dump_list(v.items(), level);
          return;
        }
        break;
      case Kind::Dict: dump_dict(v.dict(), level); return;
      default: break;
    }
    fail("Object of type " + type_name(v) + " is not JSON serializable");
  }

  std::string out;

 private:
  void newline(int level) {
    out += '\n';
    for (int i = 0; i < level; ++i) out += *o_.indent;
  }

  void dump_list(const std::vector<Value>& items, int level) {
    if (items.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += o_.item_separator;
      if (o_.indent) newline(level + 1);
      dump(items[i], level + 1);
    }
    if (o_.indent) newline(level);
    out += ']';
  }

  void dump_dict(const Dict& d, int level) {
    if (d.size() == 0) {
      out += "{}";
      return;
    }
    std::vector<std::pair<std::string, const Value*>> entries;
    entries.reserve(d.size());
    for (const auto& [k, v] : d.entries) entries.emplace_back(key_text(k), &v);
    if (o_.sort_keys)
      std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    out += '{';
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out += o_.item_separator;
      if (o_.indent) newline(level + 1);
      dump_string(out, entries[i].first, o_.ensure_ascii);
      out += o_.key_separator;
      dump(*entries[i].second, level + 1);
    }
    if (o_.indent) newline(level);
    out += '}';
  }

  const JsonDumpOptions& o_;
};

}  // namespace

std::string json_dumps(const Value& v, const JsonDumpOptions& options) {
  Dumper d(options);
  d.dump(v, 0);
  return std::move(d.out);
}

}  // namespace tandem::chat
