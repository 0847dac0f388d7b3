// Typed, checked access to GGUF metadata. A value of the wrong type or out of range for the
// requested C++ type is a FormatError naming the file and the key, not a silent truncation.
#include <limits>
#include <type_traits>

#include "gguf/file.h"
#include "util/error.h"

namespace tandem::gguf {

namespace {

template <typename T>
T convert(const Value& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.as_bool();
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    int64_t x = v.as_int();
    if constexpr (sizeof(T) < sizeof(int64_t))
      if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max())
        throw FormatError("value " + std::to_string(x) + " is out of range for a " +
                          std::to_string(sizeof(T) * 8) + "-bit signed integer");
    return static_cast<T>(x);
  } else if constexpr (std::is_integral_v<T>) {
    uint64_t x = v.as_uint();
    if constexpr (sizeof(T) < sizeof(uint64_t))
      if (x > std::numeric_limits<T>::max())
        throw FormatError("value " + std::to_string(x) + " is out of range for a " +
                          std::to_string(sizeof(T) * 8) + "-bit unsigned integer");
    return static_cast<T>(x);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v.as_double());
  } else {
    static_assert(std::is_same_v<T, std::string>, "unsupported metadata accessor type");
    return v.as_string();
  }
}

}  // namespace

const Value* File::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

template <typename T>
std::optional<T> File::get_optional(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  try {
    return convert<T>(*v);
  } catch (const FormatError& e) {
    throw FormatError(name_ + ": metadata key '" + std::string(key) + "': " + e.what());
  }
}

template <typename T>
T File::get(std::string_view key) const {
  auto v = get_optional<T>(key);
  if (!v) throw FormatError(name_ + ": missing metadata key '" + std::string(key) + "'");
  return *v;
}

template <typename T>
std::vector<T> File::get_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) throw FormatError(name_ + ": missing metadata key '" + std::string(key) + "'");
  size_t i = 0;
  try {
    const Array& a = v->as_array();
    std::vector<T> out;
    out.reserve(a.size());
    for (; i < a.size(); ++i) {
      if constexpr (std::is_same_v<T, std::string>) {
        out.emplace_back(a.string_at(i));
      } else {
        out.push_back(convert<T>(a.at(i)));
      }
    }
    return out;
  } catch (const FormatError& e) {
    std::string where = v->type == ValueType::ARRAY ? " item " + std::to_string(i) : "";
    throw FormatError(name_ + ": metadata key '" + std::string(key) + "'" + where + ": " +
                      e.what());
  }
}

#define TANDEM_GGUF_INSTANTIATE(T)                                                      \
  template T File::get<T>(std::string_view) const;                                      \
  template std::optional<T> File::get_optional<T>(std::string_view) const;              \
  template std::vector<T> File::get_array<T>(std::string_view) const;

TANDEM_GGUF_INSTANTIATE(bool)
TANDEM_GGUF_INSTANTIATE(int8_t)
TANDEM_GGUF_INSTANTIATE(uint8_t)
TANDEM_GGUF_INSTANTIATE(int16_t)
TANDEM_GGUF_INSTANTIATE(uint16_t)
TANDEM_GGUF_INSTANTIATE(int32_t)
TANDEM_GGUF_INSTANTIATE(uint32_t)
TANDEM_GGUF_INSTANTIATE(int64_t)
TANDEM_GGUF_INSTANTIATE(uint64_t)
TANDEM_GGUF_INSTANTIATE(long long)
TANDEM_GGUF_INSTANTIATE(unsigned long long)
TANDEM_GGUF_INSTANTIATE(float)
TANDEM_GGUF_INSTANTIATE(double)
TANDEM_GGUF_INSTANTIATE(std::string)

#undef TANDEM_GGUF_INSTANTIATE

}  // namespace tandem::gguf
