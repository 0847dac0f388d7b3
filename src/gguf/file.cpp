// GGUF parsing and validation. Layout (v2/v3, little-endian):
//   magic u32 | version u32 | n_tensors u64 | n_kv u64
//   n_kv x { key: string, type: u32, value }
//   n_tensors x { name: string, n_dims: u32, dims: u64[n_dims], type: u32, offset: u64 }
//   padding to `alignment` | tensor data (each offset relative to here, aligned)
// Nothing read from the file is used as a size, count or offset before it is checked against
// the bytes that are actually there.
#include "gguf/file.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "gguf/cursor.h"
#include "util/error.h"

namespace tandem::gguf {

namespace {

using detail::Cursor;

// Arrays may nest; real files use one level. The bound keeps recursion (and stack use) small on
// hostile input.
constexpr int kMaxArrayDepth = 16;
// The smallest possible encodings, used to reject counts that cannot fit in the bytes left
// before anything is reserved: a KV is at least key length (8) + type (4) + a 1-byte value; a
// tensor info is at least name length (8) + n_dims (4) + type (4) + offset (8).
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::FLOAT64); }

// Smallest number of bytes one element of type `t` occupies in the file.
uint64_t min_encoded_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    case ValueType::STRING: return 8;
    case ValueType::ARRAY: return 4 + 8;
  }
  return 1;
}

struct ValueReader {
  Cursor& in;

  [[noreturn]] void fail(const std::string& msg) { in.fail(msg); }

  Value read(ValueType type, int depth) {
    switch (type) {
      case ValueType::UINT8: return Value::u8(in.read<uint8_t>("a u8 value"));
      case ValueType::INT8: return Value::i8(in.read<int8_t>("an i8 value"));
      case ValueType::UINT16: return Value::u16(in.read<uint16_t>("a u16 value"));
      case ValueType::INT16: return Value::i16(in.read<int16_t>("an i16 value"));
      case ValueType::UINT32: return Value::u32(in.read<uint32_t>("a u32 value"));
      case ValueType::INT32: return Value::i32(in.read<int32_t>("an i32 value"));
      case ValueType::UINT64: return Value::u64(in.read<uint64_t>("a u64 value"));
      case ValueType::INT64: return Value::i64(in.read<int64_t>("an i64 value"));
      case ValueType::FLOAT32: return Value::f32(in.read<float>("an f32 value"));
      case ValueType::FLOAT64: return Value::f64(in.read<double>("an f64 value"));
      case ValueType::BOOL: {
        uint8_t b = in.read<uint8_t>("a bool value");
        if (b > 1) fail("invalid bool value " + std::to_string(b) + " (must be 0 or 1)");
        return Value::boolean(b != 0);
      }
      case ValueType::STRING: return Value::str(in.read_string("a string value"));
      case ValueType::ARRAY: return read_array(depth + 1);
    }
    fail("unknown value type " + std::to_string(static_cast<uint32_t>(type)));
  }

  Value read_array(int depth) {
    if (depth > kMaxArrayDepth)
      fail("arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
    uint32_t elem = in.read<uint32_t>("an array element type");
    if (!known_value_type(elem)) fail("unknown array element type " + std::to_string(elem));
    auto elem_type = static_cast<ValueType>(elem);
    uint64_t count = in.read<uint64_t>("an array length");
    if (count > in.remaining() / min_encoded_size(elem_type))
      fail("array length " + std::to_string(count) + " of " +
           std::string(value_type_name(elem_type)) + " cannot fit in the " +
           std::to_string(in.remaining()) + " bytes left (truncated or corrupt)");
    const auto n = static_cast<size_t>(count);
    Array a(elem_type);
    if (const size_t width = scalar_width(elem_type)) {
      // Scalars are stored as the file lays them out: one bounds check and one copy.
      const size_t start = in.pos();
      const uint8_t* raw = in.read_bytes(n * width, "the array elements");
      if (elem_type == ValueType::BOOL)
        for (size_t i = 0; i < n; ++i)
          if (raw[i] > 1) {
            in.mark_field(start + i);
            fail("invalid bool value " + std::to_string(raw[i]) + " (must be 0 or 1)");
          }
      a.append_raw_scalars(raw, n);
    } else if (elem_type == ValueType::STRING) {
      // Two passes: the first checks every length against the file and sums them, so the
      // characters land in one buffer of exactly the right size.
      const size_t start = in.pos();
      size_t chars = 0;
      for (size_t i = 0; i < n; ++i) chars += in.read_string_view("a string value").size();
      in.seek(start);
      a.reserve(n, chars);
      for (size_t i = 0; i < n; ++i) a.push_string(in.read_string_view("a string value"));
    } else {
      a.reserve(n);
      for (size_t i = 0; i < n; ++i) a.push_back(read(elem_type, depth));
    }
    return Value::array(std::move(a));
  }
};

struct RawTensorInfo {
  std::string name;
  std::vector<int64_t> dims;
  uint32_t type_id = 0;
  uint64_t offset = 0;
  size_t info_pos = 0;  // where the info starts, for error messages
};

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

int64_t TensorInfo::rows() const {
  int64_t r = 1;
  for (size_t i = 1; i < dims.size(); ++i) r *= dims[i];
  return r;
}

File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::open(const std::string& path) {
  File f;
  f.name_ = path;
  f.map_ = std::make_unique<MappedFile>(path);
  f.parse_all(f.map_->data(), f.map_->size());
  return f;
}

File File::parse(const uint8_t* data, size_t size, std::string name) {
  File f;
  f.name_ = std::move(name);
  f.parse_all(data, size);
  return f;
}

void File::parse_all(const uint8_t* data, size_t size) {
  size_ = size;
  Cursor in(data, size, name_);

  // --- header
  uint32_t magic = in.read<uint32_t>("the magic number");
  if (magic != kMagic) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", magic);
    in.fail(std::string("not a GGUF file: bad magic ") + buf + " (expected \"GGUF\")");
  }
  version_ = in.read<uint32_t>("the version");
  if (version_ != 2 && version_ != 3) {
    std::string hint = (version_ & 0xffff) == 0 && (version_ >> 16) != 0
                           ? " (big-endian GGUF files are not supported)"
                           : " (only versions 2 and 3 are supported)";
    in.fail("unsupported GGUF version " + std::to_string(version_) + hint);
  }
  uint64_t n_tensors = in.read<uint64_t>("the tensor count");
  if (n_tensors > in.remaining() / kMinTensorInfoBytes)
    in.fail("tensor count " + std::to_string(n_tensors) + " cannot fit in the " +
            std::to_string(in.remaining()) + " bytes left (truncated or corrupt)");
  uint64_t n_kv = in.read<uint64_t>("the metadata count");
  if (n_kv > in.remaining() / kMinKvBytes ||
      n_kv * kMinKvBytes + n_tensors * kMinTensorInfoBytes > in.remaining())
    in.fail("metadata count " + std::to_string(n_kv) + " cannot fit in the " +
            std::to_string(in.remaining()) + " bytes left (truncated or corrupt)");

  // --- metadata
  kv_.reserve(static_cast<size_t>(n_kv));
  kv_index_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    in.set_context("metadata entry #" + std::to_string(i));
    std::string key = in.read_string("the key");
    if (key.empty()) in.fail("the key is empty");
    if (kv_index_.count(key)) in.fail("duplicate metadata key '" + key + "'");
    in.set_context("metadata key '" + key + "'");
    uint32_t type = in.read<uint32_t>("the value type");
    ValueReader reader{in};
    if (!known_value_type(type)) reader.fail("unknown value type " + std::to_string(type));
    Value v = reader.read(static_cast<ValueType>(type), 0);
    kv_index_.emplace(key, kv_.size());
    kv_.emplace_back(std::move(key), std::move(v));
  }

  in.set_context("");
  if (const Value* a = find("general.alignment")) {
    const auto* as_signed = std::get_if<int64_t>(&a->data);
    if (!a->is_integer() || (as_signed && *as_signed < 0) || !is_power_of_two(a->as_uint()))
      throw FormatError(name_ + ": general.alignment must be a nonzero power of two, found " +
                        a->to_display());
    alignment_ = static_cast<size_t>(a->as_uint());
  }

  // --- tensor infos
  std::vector<RawTensorInfo> raw;
  raw.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    RawTensorInfo t;
    t.info_pos = in.pos();
    in.set_context("tensor info #" + std::to_string(i));
    t.name = in.read_string("the tensor name");
    if (t.name.empty()) in.fail("the tensor name is empty");
    in.set_context("tensor '" + t.name + "'");
    uint32_t n_dims = in.read<uint32_t>("the dimension count");
    if (n_dims > static_cast<uint32_t>(kMaxDims))
      in.fail("has " + std::to_string(n_dims) + " dimensions (at most " +
              std::to_string(kMaxDims) + " are allowed)");
    for (uint32_t d = 0; d < n_dims; ++d) {
      auto dim = static_cast<int64_t>(in.read<uint64_t>("a dimension"));
      if (dim < 0) in.fail("has negative dimension " + std::to_string(dim));
      t.dims.push_back(dim);
    }
    t.type_id = in.read<uint32_t>("the tensor type");
    t.offset = in.read<uint64_t>("the data offset");
    raw.push_back(std::move(t));
  }

  // --- data section
  in.set_context("");
  uint64_t header_end = in.pos();
  if (header_end > std::numeric_limits<uint64_t>::max() - (alignment_ - 1))
    throw FormatError(name_ + ": general.alignment " + std::to_string(alignment_) +
                      " is too large");
  uint64_t aligned = (header_end + alignment_ - 1) / alignment_ * alignment_;
  if (aligned > size_) {
    if (!raw.empty())
      throw FormatError(name_ + ": tensor data section would start at offset " +
                        std::to_string(aligned) + ", past the end of the " +
                        std::to_string(size_) + "-byte file (truncated)");
    aligned = size_;  // metadata-only file (e.g. a vocabulary) need not be padded
  }
  data_offset_ = static_cast<size_t>(aligned);
  const uint64_t data_size = size_ - data_offset_;

  // --- validate tensors against types, alignment and the data section
  tensors_.reserve(raw.size());
  tensor_index_.reserve(raw.size());
  for (auto& r : raw) {
    auto where = [&](const std::string& msg) {
      throw FormatError(name_ + ": tensor '" + r.name + "' " + msg + " (tensor info at offset " +
                        std::to_string(r.info_pos) + ")");
    };
    if (tensor_index_.count(r.name)) where("is a duplicate tensor name");
    std::optional<tensor::TypeInfo> ti = tensor::type_info(r.type_id);
    if (!ti) where("has unknown type id " + std::to_string(r.type_id));

    // Rows (dims[1..]) and the full count are both checked: with dims[0] == 0 the full count is
    // 0 even when the row count overflows, and callers use rows() too.
    int64_t rows = 1, n = 1;
    for (size_t d = 1; d < r.dims.size(); ++d)
      if (__builtin_mul_overflow(rows, r.dims[d], &rows))
        where("has dimensions whose element count overflows 64 bits");
    int64_t cols = r.dims.empty() ? 1 : r.dims[0];
    if (__builtin_mul_overflow(rows, cols, &n))
      where("has dimensions whose element count overflows 64 bits");
    if (ti->block_size <= 0 || cols % ti->block_size != 0)
      where("row size " + std::to_string(cols) + " is not a multiple of the " +
            std::string(ti->name) + " block size " + std::to_string(ti->block_size));
    uint64_t n_blocks = static_cast<uint64_t>(n / ti->block_size);
    uint64_t n_bytes = 0;
    if (__builtin_mul_overflow(n_blocks, static_cast<uint64_t>(ti->block_bytes), &n_bytes))
      where("byte size overflows 64 bits");
    if (r.offset % alignment_ != 0)
      where("data offset " + std::to_string(r.offset) + " is not a multiple of the alignment " +
            std::to_string(alignment_));
    if (r.offset > data_size || n_bytes > data_size - r.offset)
      where("data [" + std::to_string(r.offset) + ", +" + std::to_string(n_bytes) +
            ") lies outside the " + std::to_string(data_size) +
            "-byte data section (truncated or corrupt)");

    TensorInfo t;
    t.name = std::move(r.name);
    t.type = ti->type;
    t.dims = std::move(r.dims);
    t.offset = r.offset;
    t.n_bytes = static_cast<size_t>(n_bytes);
    t.n_elements = n;
    t.data = data + data_offset_ + r.offset;
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // Overlap check: sorted by start, each non-empty tensor must end before the next begins.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors_)
    if (t.n_bytes > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo* prev = by_offset[i - 1];
    const TensorInfo* cur = by_offset[i];
    if (prev->offset + prev->n_bytes > cur->offset)
      throw FormatError(name_ + ": tensor '" + cur->name + "' data at offset " +
                        std::to_string(cur->offset) + " overlaps tensor '" + prev->name +
                        "' [" + std::to_string(prev->offset) + ", +" +
                        std::to_string(prev->n_bytes) + ")");
  }
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void File::release_pages(const void* p, size_t n) const {
  const auto* begin = static_cast<const uint8_t*>(p);
  released_.emplace_back(begin, begin + n);
  if (map_) map_->drop_pages(p, n);
}

bool File::released(const void* p) const {
  const auto* q = static_cast<const uint8_t*>(p);
  for (const auto& [begin, end] : released_)
    if (q >= begin && q < end) return true;
  return false;
}

const TensorInfo& File::tensor(std::string_view name) const {
  if (const TensorInfo* t = find_tensor(name)) return *t;
  throw FormatError(name_ + ": missing tensor '" + std::string(name) + "'");
}

void File::require_supported_types() const {
  std::string bad;
  size_t n_bad = 0;
  for (const auto& t : tensors_) {
    if (tensor::info(t.type).supported) continue;
    bad += (n_bad++ ? ", " : "") + t.name + " (" + std::string(tensor::type_name(t.type)) + ")";
  }
  if (n_bad)
    throw FormatError(name_ + ": " + std::to_string(n_bad) +
                      " tensor(s) use types tandem cannot compute with: " + bad);
}

}  // namespace tandem::gguf
