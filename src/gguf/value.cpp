#include "gguf/value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

size_t scalar_width(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    case ValueType::STRING: case ValueType::ARRAY: return 0;
  }
  return 0;
}

namespace {

[[noreturn]] void mismatch(ValueType found, const char* wanted) {
  throw FormatError(std::string("expected ") + wanted + ", found " +
                    std::string(value_type_name(found)));
}

[[noreturn]] void wrong_element(ValueType array_type, ValueType item_type) {
  throw InvalidArgument("gguf: an array of " + std::string(value_type_name(array_type)) +
                        " cannot hold a " + std::string(value_type_name(item_type)));
}

// resize + memcpy rather than vector::insert, which trips a GCC 12 -Wstringop-overflow false
// positive.
void append_bytes(std::vector<uint8_t>& out, const void* p, size_t n) {
  if (n == 0) return;
  const size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, p, n);
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // file layout is little-endian, as are our targets
  return v;
}

// Stores an integer Value at its file width; the payload must be the widened kind its type uses.
template <typename Int, typename Wide>
void put_int(std::vector<uint8_t>& out, const Value& v) {
  const auto* w = std::get_if<Wide>(&v.data);
  if (!w)
    throw InvalidArgument("gguf: a " + std::string(value_type_name(v.type)) +
                          " value holds the wrong payload");
  const auto x = static_cast<Int>(*w);
  append_bytes(out, &x, sizeof x);
}

}  // namespace

Array::Array(ValueType elem_type) : elem_type_(elem_type) {}

Array::Array(ValueType elem_type, const std::vector<Value>& items) : elem_type_(elem_type) {
  size_t chars = 0;
  for (const Value& v : items)
    if (const auto* s = std::get_if<std::string>(&v.data)) chars += s->size();
  reserve(items.size(), chars);
  for (const Value& v : items) push_back(v);
}

void Array::reserve(size_t n, size_t string_bytes) {
  switch (elem_type_) {
    case ValueType::STRING:
      bytes_.reserve(string_bytes);
      ends_.reserve(n);
      return;
    case ValueType::ARRAY: nested_.reserve(n); return;
    default: bytes_.reserve(n * scalar_width(elem_type_));
  }
}

void Array::push_back(const Value& v) {
  if (v.type != elem_type_) wrong_element(elem_type_, v.type);
  switch (elem_type_) {
    case ValueType::STRING: return push_string(v.as_string());
    case ValueType::ARRAY:
      v.as_array();  // the payload must be an array too
      nested_.push_back(v);
      ++size_;
      return;
    case ValueType::UINT8: put_int<uint8_t, uint64_t>(bytes_, v); break;
    case ValueType::INT8: put_int<int8_t, int64_t>(bytes_, v); break;
    case ValueType::UINT16: put_int<uint16_t, uint64_t>(bytes_, v); break;
    case ValueType::INT16: put_int<int16_t, int64_t>(bytes_, v); break;
    case ValueType::UINT32: put_int<uint32_t, uint64_t>(bytes_, v); break;
    case ValueType::INT32: put_int<int32_t, int64_t>(bytes_, v); break;
    case ValueType::UINT64: put_int<uint64_t, uint64_t>(bytes_, v); break;
    case ValueType::INT64: put_int<int64_t, int64_t>(bytes_, v); break;
    case ValueType::FLOAT32: {
      const auto x = static_cast<float>(v.as_double());
      append_bytes(bytes_, &x, sizeof x);
      break;
    }
    case ValueType::FLOAT64: {
      const double x = v.as_double();
      append_bytes(bytes_, &x, sizeof x);
      break;
    }
    case ValueType::BOOL: {
      const uint8_t x = v.as_bool() ? 1 : 0;
      append_bytes(bytes_, &x, 1);
      break;
    }
  }
  ++size_;
}

void Array::push_back(Value&& v) {
  if (elem_type_ != ValueType::ARRAY || v.type != ValueType::ARRAY) return push_back(v);
  v.as_array();
  nested_.push_back(std::move(v));
  ++size_;
}

void Array::push_string(std::string_view s) {
  if (elem_type_ != ValueType::STRING) wrong_element(elem_type_, ValueType::STRING);
  append_bytes(bytes_, s.data(), s.size());
  ends_.push_back(bytes_.size());
  ++size_;
}

void Array::append_raw_scalars(const uint8_t* bytes, size_t count) {
  const size_t width = scalar_width(elem_type_);
  if (width == 0)
    throw InvalidArgument("gguf: an array of " + std::string(value_type_name(elem_type_)) +
                          " has no raw scalar layout");
  append_bytes(bytes_, bytes, count * width);
  size_ += count;
}

Value Array::scalar(size_t i) const {
  const uint8_t* p = bytes_.data() + i * scalar_width(elem_type_);
  switch (elem_type_) {
    case ValueType::UINT8: return Value::u8(load<uint8_t>(p));
    case ValueType::INT8: return Value::i8(load<int8_t>(p));
    case ValueType::UINT16: return Value::u16(load<uint16_t>(p));
    case ValueType::INT16: return Value::i16(load<int16_t>(p));
    case ValueType::UINT32: return Value::u32(load<uint32_t>(p));
    case ValueType::INT32: return Value::i32(load<int32_t>(p));
    case ValueType::UINT64: return Value::u64(load<uint64_t>(p));
    case ValueType::INT64: return Value::i64(load<int64_t>(p));
    case ValueType::FLOAT32: return Value::f32(load<float>(p));
    case ValueType::FLOAT64: return Value::f64(load<double>(p));
    case ValueType::BOOL: return Value::boolean(*p != 0);
    case ValueType::STRING: case ValueType::ARRAY: break;
  }
  mismatch(elem_type_, "a scalar");
}

Value Array::at(size_t i) const {
  switch (elem_type_) {
    case ValueType::STRING: return Value::str(std::string(string_at(i)));
    case ValueType::ARRAY: return nested_[i];
    default: return scalar(i);
  }
}

int64_t Array::int_at(size_t i) const {
  if (scalar_width(elem_type_) == 0) mismatch(elem_type_, "an integer");
  return scalar(i).as_int();
}

uint64_t Array::uint_at(size_t i) const {
  if (scalar_width(elem_type_) == 0) mismatch(elem_type_, "an unsigned integer");
  return scalar(i).as_uint();
}

double Array::double_at(size_t i) const {
  if (scalar_width(elem_type_) == 0) mismatch(elem_type_, "a number");
  return scalar(i).as_double();
}

bool Array::bool_at(size_t i) const {
  if (scalar_width(elem_type_) == 0) mismatch(elem_type_, "a bool");
  return scalar(i).as_bool();
}

std::string_view Array::string_at(size_t i) const {
  if (elem_type_ != ValueType::STRING) mismatch(elem_type_, "a string");
  const size_t begin = i == 0 ? 0 : static_cast<size_t>(ends_[i - 1]);
  return {reinterpret_cast<const char*>(bytes_.data()) + begin,
          static_cast<size_t>(ends_[i]) - begin};
}

const Array& Array::array_at(size_t i) const {
  if (elem_type_ != ValueType::ARRAY) mismatch(elem_type_, "an array");
  return nested_[i].as_array();
}

Value Value::str_array(const std::vector<std::string>& v) {
  size_t chars = 0;
  for (const auto& s : v) chars += s.size();
  Array a(ValueType::STRING);
  a.reserve(v.size(), chars);
  for (const auto& s : v) a.push_string(s);
  return array(std::move(a));
}

Value Value::i32_array(const std::vector<int32_t>& v) {
  Array a(ValueType::INT32);
  a.append_raw_scalars(reinterpret_cast<const uint8_t*>(v.data()), v.size());
  return array(std::move(a));
}

Value Value::f32_array(const std::vector<float>& v) {
  Array a(ValueType::FLOAT32);
  a.append_raw_scalars(reinterpret_cast<const uint8_t*>(v.data()), v.size());
  return array(std::move(a));
}

bool Value::is_integer() const {
  return std::holds_alternative<uint64_t>(data) || std::holds_alternative<int64_t>(data);
}

bool Value::is_number() const { return is_integer() || std::holds_alternative<double>(data); }

int64_t Value::as_int() const {
  if (const auto* s = std::get_if<int64_t>(&data)) return *s;
  if (const auto* u = std::get_if<uint64_t>(&data)) {
    if (*u > static_cast<uint64_t>(INT64_MAX))
      throw FormatError("value " + std::to_string(*u) + " does not fit in a signed 64-bit integer");
    return static_cast<int64_t>(*u);
  }
  mismatch(type, "an integer");
}

uint64_t Value::as_uint() const {
  if (const auto* u = std::get_if<uint64_t>(&data)) return *u;
  if (const auto* s = std::get_if<int64_t>(&data)) {
    if (*s < 0) throw FormatError("value " + std::to_string(*s) + " is negative, expected unsigned");
    return static_cast<uint64_t>(*s);
  }
  mismatch(type, "an unsigned integer");
}

double Value::as_double() const {
  if (const auto* d = std::get_if<double>(&data)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&data)) return static_cast<double>(*u);
  if (const auto* s = std::get_if<int64_t>(&data)) return static_cast<double>(*s);
  mismatch(type, "a number");
}

bool Value::as_bool() const {
  if (const auto* b = std::get_if<bool>(&data)) return *b;
  mismatch(type, "a bool");
}

const std::string& Value::as_string() const {
  if (const auto* s = std::get_if<std::string>(&data)) return *s;
  mismatch(type, "a string");
}

const Array& Value::as_array() const {
  if (const auto* a = std::get_if<Array>(&data)) return *a;
  mismatch(type, "an array");
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
          for (size_t i = 0; i < v.size() && i < max_items; ++i) {
            if (i) out += ", ";
            out += v.at(i).to_display(max_items);
          }
          if (v.size() > max_items) out += ", ...";
          out += "]";
          if (v.size() > max_items)
            out += " (" + std::to_string(v.size()) + " x " +
                   std::string(value_type_name(v.elem_type())) + ")";
          return out;
        }
      },
      data);
}

}  // namespace tandem::gguf
