#include "gguf/value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "util/error.h"

namespace tandem::gguf {

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8: return "u8";
    case ValueType::INT8: return "i8";
    case ValueType::UINT16: return "u16";
    case ValueType::INT16: return "i16";
    case ValueType::UINT32: return "u32";
    case ValueType::INT32: return "i32";
    case ValueType::FLOAT32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::UINT64: return "u64";
    case ValueType::INT64: return "i64";
    case ValueType::FLOAT64: return "f64";
  }
  return "unknown";
}

Value Value::str_array(const std::vector<std::string>& v) {
  std::vector<Value> items;
  items.reserve(v.size());
  for (const auto& s : v) items.push_back(Value::str(s));
  return array(ValueType::STRING, std::move(items));
}

Value Value::i32_array(const std::vector<int32_t>& v) {
  std::vector<Value> items;
  items.reserve(v.size());
  for (int32_t x : v) items.push_back(Value::i32(x));
  return array(ValueType::INT32, std::move(items));
}

Value Value::f32_array(const std::vector<float>& v) {
  std::vector<Value> items;
  items.reserve(v.size());
  for (float x : v) items.push_back(Value::f32(x));
  return array(ValueType::FLOAT32, std::move(items));
}

bool Value::is_integer() const {
  return std::holds_alternative<uint64_t>(data) || std::holds_alternative<int64_t>(data);
}

bool Value::is_number() const { return is_integer() || std::holds_alternative<double>(data); }

namespace {
[[noreturn]] void mismatch(const Value& v, const char* wanted) {
  throw FormatError(std::string("expected ") + wanted + ", found " +
                    std::string(value_type_name(v.type)));
}
}  // namespace

int64_t Value::as_int() const {
  if (const auto* s = std::get_if<int64_t>(&data)) return *s;
  if (const auto* u = std::get_if<uint64_t>(&data)) {
    if (*u > static_cast<uint64_t>(INT64_MAX))
      throw FormatError("value " + std::to_string(*u) + " does not fit in a signed 64-bit integer");
    return static_cast<int64_t>(*u);
  }
  mismatch(*this, "an integer");
}

uint64_t Value::as_uint() const {
  if (const auto* u = std::get_if<uint64_t>(&data)) return *u;
  if (const auto* s = std::get_if<int64_t>(&data)) {
    if (*s < 0) throw FormatError("value " + std::to_string(*s) + " is negative, expected unsigned");
    return static_cast<uint64_t>(*s);
  }
  mismatch(*this, "an unsigned integer");
}

double Value::as_double() const {
  if (const auto* d = std::get_if<double>(&data)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&data)) return static_cast<double>(*u);
  if (const auto* s = std::get_if<int64_t>(&data)) return static_cast<double>(*s);
  mismatch(*this, "a number");
}

bool Value::as_bool() const {
  if (const auto* b = std::get_if<bool>(&data)) return *b;
  mismatch(*this, "a bool");
}

const std::string& Value::as_string() const {
  if (const auto* s = std::get_if<std::string>(&data)) return *s;
  mismatch(*this, "a string");
}

const Array& Value::as_array() const {
  if (const auto* a = std::get_if<Array>(&data)) return *a;
  mismatch(*this, "an array");
}

namespace {

// Strings in metadata can be long (chat templates) or hold control characters (byte tokens);
// the display form escapes them and keeps only the beginning.
std::string display_string(const std::string& s, size_t max_chars) {
  std::string out = "\"";
  size_t shown = 0;
  for (unsigned char c : s) {
    // Stop only at a UTF-8 character boundary so the shown prefix stays valid text.
    if (shown >= max_chars && (c & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++shown;
  }
  out += "\"";
  if (shown < s.size()) out += " (" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace

std::string format_float(double v, ValueType type) {
  // The shortest %g rendering that reads back as the same value at the stored precision, so an
  // f32 1e-5 prints as "1e-05" and not "9.99999975e-06".
  char buf[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    double back = std::strtod(buf, nullptr);
    bool same = type == ValueType::FLOAT32
                    ? static_cast<float>(back) == static_cast<float>(v)
                    : back == v;
    if (same || std::isnan(v)) break;
  }
  return buf;
}

std::string Value::to_display(size_t max_items) const {
  constexpr size_t kMaxStringChars = 80;
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, uint64_t> || std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return format_float(v, type);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return display_string(v, kMaxStringChars);
        } else {
          std::string out = "[";
          for (size_t i = 0; i < v.items.size() && i < max_items; ++i) {
            if (i) out += ", ";
            out += v.items[i].to_display(max_items);
          }
          if (v.items.size() > max_items) out += ", ...";
          out += "]";
          if (v.items.size() > max_items)
            out += " (" + std::to_string(v.items.size()) + " x " +
                   std::string(value_type_name(v.elem_type)) + ")";
          return out;
        }
      },
      data);
}

}  // namespace tandem::gguf
