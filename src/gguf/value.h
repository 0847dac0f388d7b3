#pragma once
// GGUF metadata values: every GGUF value type, arrays (possibly nested) included.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tandem::gguf {

// Numeric ids as stored in GGUF files.
enum class ValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
std::string_view value_type_name(ValueType t);
// Bytes one element of a scalar type takes in a GGUF file (0 for STRING and ARRAY).
size_t scalar_width(ValueType t);
// Shortest decimal text that reads back as `v` at the precision of `type` (FLOAT32 or FLOAT64).
std::string format_float(double v, ValueType type);

struct Value;

// The elements of a GGUF array, stored by element type so that big vocabularies stay small:
// scalars packed at their file width (150k token types take 600 KB, not 150k Values), strings
// back to back in one buffer with end offsets, and only arrays of arrays as nested Values.
// Elements are read through typed accessors that apply Value's checks, or materialized with at().
class Array {
 public:
  Array() = default;
  explicit Array(ValueType elem_type);
  // Throws InvalidArgument when an item's type is not `elem_type`.
  Array(ValueType elem_type, const std::vector<Value>& items);

  ValueType elem_type() const { return elem_type_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Element i as a standalone Value (a string is copied, a nested array deep-copied).
  Value at(size_t i) const;
  // Typed element access without building a Value; same conversions and FormatErrors as Value's
  // as_int/as_uint/as_double/as_bool/as_string/as_array. `i` must be < size().
  int64_t int_at(size_t i) const;
  uint64_t uint_at(size_t i) const;
  double double_at(size_t i) const;
  bool bool_at(size_t i) const;
  std::string_view string_at(size_t i) const;  // valid while this Array lives
  const Array& array_at(size_t i) const;

  // Building. Each throws InvalidArgument when the element does not have the array's type.
  void reserve(size_t n, size_t string_bytes = 0);
  void push_back(const Value& v);
  void push_back(Value&& v);  // moves a nested array in
  void push_string(std::string_view s);
  // `count` scalars in file layout (little-endian, scalar_width(elem_type()) bytes each).
  void append_raw_scalars(const uint8_t* bytes, size_t count);

  // Scalar arrays: the elements in file layout (size() * scalar_width(elem_type()) bytes).
  const std::vector<uint8_t>& raw_scalars() const { return bytes_; }

 private:
  Value scalar(size_t i) const;  // a scalar element as a Value (no allocation)

  ValueType elem_type_ = ValueType::UINT8;
  size_t size_ = 0;
  std::vector<uint8_t> bytes_;    // scalars in file layout, or the characters of all strings
  std::vector<uint64_t> ends_;    // strings: end of string i in bytes_
  std::vector<Value> nested_;     // arrays of arrays
};

// A metadata value. Integers keep their exact file type in `type`; the payload is widened to
// uint64_t / int64_t / double so accessors can convert with range checks.
struct Value {
  ValueType type = ValueType::UINT8;
  std::variant<uint64_t, int64_t, double, bool, std::string, Array> data;

  static Value u8(uint8_t v) { return {ValueType::UINT8, uint64_t{v}}; }
  static Value i8(int8_t v) { return {ValueType::INT8, int64_t{v}}; }
  static Value u16(uint16_t v) { return {ValueType::UINT16, uint64_t{v}}; }
  static Value i16(int16_t v) { return {ValueType::INT16, int64_t{v}}; }
  static Value u32(uint32_t v) { return {ValueType::UINT32, uint64_t{v}}; }
  static Value i32(int32_t v) { return {ValueType::INT32, int64_t{v}}; }
  static Value u64(uint64_t v) { return {ValueType::UINT64, v}; }
  static Value i64(int64_t v) { return {ValueType::INT64, v}; }
  static Value f32(float v) { return {ValueType::FLOAT32, double{v}}; }
  static Value f64(double v) { return {ValueType::FLOAT64, v}; }
  static Value boolean(bool v) { return {ValueType::BOOL, v}; }
  static Value str(std::string v) { return {ValueType::STRING, std::move(v)}; }
  // Throws InvalidArgument when an item's type is not `elem`.
  static Value array(ValueType elem, const std::vector<Value>& items) {
    return {ValueType::ARRAY, Array(elem, items)};
  }
  static Value array(Array a) { return {ValueType::ARRAY, std::move(a)}; }
  static Value str_array(const std::vector<std::string>& v);
  static Value i32_array(const std::vector<int32_t>& v);
  static Value f32_array(const std::vector<float>& v);

  bool is_integer() const;
  bool is_number() const;  // integer or float
  // Checked conversions; throw FormatError describing the mismatch (caller adds the key name).
  int64_t as_int() const;
  uint64_t as_uint() const;
  double as_double() const;
  bool as_bool() const;
  const std::string& as_string() const;
  const Array& as_array() const;

  // Short human-readable rendering (arrays abbreviated), for `tandem inspect`.
  std::string to_display(size_t max_items = 8) const;
};

}  // namespace tandem::gguf
