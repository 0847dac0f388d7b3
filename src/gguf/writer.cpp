#include "gguf/writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gguf/file.h"
#include "tensor/convert.h"
#include "util/error.h"

namespace tandem::gguf {

namespace {

class ByteSink {
 public:
  template <typename T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    append(&v, sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    append(s.data(), s.size());
  }
  void put_bytes(const std::vector<uint8_t>& b) { append(b.data(), b.size()); }
  void pad_to(size_t alignment) {
    while (out_.size() % alignment) out_.push_back(0);
  }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  // resize + memcpy rather than vector::insert, which trips a GCC 12 -Wstringop-overflow
  // false positive.
  void append(const void* p, size_t n) {
    if (n == 0) return;
    size_t at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, p, n);
  }
  std::vector<uint8_t> out_;
};

[[noreturn]] void bad_value(const std::string& key, const std::string& msg) {
  throw InvalidArgument("gguf writer: metadata key '" + key + "': " + msg);
}

template <typename Int, typename Wide>
void put_int(ByteSink& sink, const Value& v, const std::string& key) {
  const auto* w = std::get_if<Wide>(&v.data);
  if (!w) bad_value(key, std::string(value_type_name(v.type)) + " value holds the wrong payload");
  sink.put<Int>(static_cast<Int>(*w));
}

// Writes an array's element type, length and elements. The elements were checked against the
// element type when the Array was built.
void put_array(ByteSink& sink, const Array& a) {
  sink.put<uint32_t>(static_cast<uint32_t>(a.elem_type()));
  sink.put<uint64_t>(a.size());
  switch (a.elem_type()) {
    case ValueType::STRING:
      for (size_t i = 0; i < a.size(); ++i) sink.put_string(a.string_at(i));
      return;
    case ValueType::ARRAY:
      for (size_t i = 0; i < a.size(); ++i) put_array(sink, a.array_at(i));
      return;
    default: sink.put_bytes(a.raw_scalars());  // already in file layout
  }
}

// Writes a value's payload (without its type tag, which the caller writes).
void put_payload(ByteSink& sink, const Value& v, const std::string& key) {
  switch (v.type) {
    case ValueType::UINT8: return put_int<uint8_t, uint64_t>(sink, v, key);
    case ValueType::INT8: return put_int<int8_t, int64_t>(sink, v, key);
    case ValueType::UINT16: return put_int<uint16_t, uint64_t>(sink, v, key);
    case ValueType::INT16: return put_int<int16_t, int64_t>(sink, v, key);
    case ValueType::UINT32: return put_int<uint32_t, uint64_t>(sink, v, key);
    case ValueType::INT32: return put_int<int32_t, int64_t>(sink, v, key);
    case ValueType::UINT64: return put_int<uint64_t, uint64_t>(sink, v, key);
    case ValueType::INT64: return put_int<int64_t, int64_t>(sink, v, key);
    case ValueType::FLOAT32: return sink.put<float>(static_cast<float>(v.as_double()));
    case ValueType::FLOAT64: return sink.put<double>(v.as_double());
    case ValueType::BOOL: return sink.put<uint8_t>(v.as_bool() ? 1 : 0);
    case ValueType::STRING: return sink.put_string(v.as_string());
    case ValueType::ARRAY: return put_array(sink, v.as_array());
  }
  bad_value(key, "unknown value type " + std::to_string(static_cast<uint32_t>(v.type)));
}

void check_dims(const std::string& name, tensor::Type type, const std::vector<int64_t>& dims) {
  if (dims.size() > static_cast<size_t>(kMaxDims))
    throw InvalidArgument("gguf writer: tensor '" + name + "' has more than 4 dimensions");
  for (int64_t d : dims)
    if (d < 0) throw InvalidArgument("gguf writer: tensor '" + name + "' has a negative dimension");
  int64_t cols = dims.empty() ? 1 : dims[0];
  if (cols % tensor::info(type).block_size != 0)
    throw InvalidArgument("gguf writer: tensor '" + name + "' row size " + std::to_string(cols) +
                          " is not a multiple of the " + std::string(tensor::type_name(type)) +
                          " block size");
}

int64_t element_count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

}  // namespace

Writer::Writer(size_t alignment) : alignment_(alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw InvalidArgument("gguf writer: alignment " + std::to_string(alignment) +
                          " is not a nonzero power of two");
}

void Writer::set(const std::string& key, Value value) {
  for (auto& [k, v] : kv_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv_.emplace_back(key, std::move(value));
}

void Writer::add_tensor(const std::string& name, tensor::Type type, std::vector<int64_t> dims,
                        std::vector<uint8_t> bytes) {
  for (const auto& t : tensors_)
    if (t.name == name) throw InvalidArgument("gguf writer: duplicate tensor '" + name + "'");
  check_dims(name, type, dims);
  size_t expected = tensor::row_bytes(type, element_count(dims));
  if (bytes.size() != expected)
    throw InvalidArgument("gguf writer: tensor '" + name + "' has " + std::to_string(bytes.size()) +
                          " bytes, expected " + std::to_string(expected));
  tensors_.push_back({name, type, std::move(dims), std::move(bytes)});
}

void Writer::add_tensor_f32(const std::string& name, tensor::Type type, std::vector<int64_t> dims,
                            const float* data) {
  check_dims(name, type, dims);
  int64_t n = element_count(dims);
  std::vector<uint8_t> bytes(tensor::row_bytes(type, n));
  if (type == tensor::Type::F32) {
    if (n > 0) std::memcpy(bytes.data(), data, bytes.size());
  } else {
    if (!tensor::can_quantize(type))
      throw InvalidArgument("gguf writer: cannot quantize tensor '" + name + "' to " +
                            std::string(tensor::type_name(type)));
    // Quantize row by row: blocks never straddle rows, and this is the layout readers expect.
    int64_t cols = dims.empty() ? 1 : dims[0];
    size_t row_size = tensor::row_bytes(type, cols);
    for (int64_t r = 0; cols > 0 && r < n / cols; ++r)
      tensor::quantize(type, data + r * cols, bytes.data() + r * row_size, cols);
  }
  add_tensor(name, type, std::move(dims), std::move(bytes));
}

std::vector<uint8_t> Writer::to_bytes() const {
  auto kv = kv_;
  bool has_alignment = false;
  for (const auto& [k, v] : kv) has_alignment |= k == "general.alignment";
  if (!has_alignment && alignment_ != kDefaultAlignment)
    kv.emplace_back("general.alignment", Value::u32(static_cast<uint32_t>(alignment_)));

  ByteSink out;
  out.put<uint32_t>(kMagic);
  out.put<uint32_t>(3);
  out.put<uint64_t>(tensors_.size());
  out.put<uint64_t>(kv.size());
  for (const auto& [key, value] : kv) {
    out.put_string(key);
    out.put<uint32_t>(static_cast<uint32_t>(value.type));
    put_payload(out, value, key);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    out.put_string(t.name);
    out.put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) out.put<uint64_t>(static_cast<uint64_t>(d));
    out.put<uint32_t>(static_cast<uint32_t>(t.type));
    out.put<uint64_t>(offset);
    offset += (t.bytes.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  if (!tensors_.empty()) out.pad_to(alignment_);
  for (const auto& t : tensors_) {
    out.put_bytes(t.bytes);
    out.pad_to(alignment_);
  }
  return out.take();
}

void Writer::write(const std::string& path) const {
  std::vector<uint8_t> bytes = to_bytes();
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto io_fail = [&](const std::string& what) {
    int e = errno;
    std::remove(tmp.c_str());
    throw IoError(path + ": " + what + ": " + std::strerror(e));
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) io_fail("cannot create temporary file " + tmp);
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(::fileno(f)) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) io_fail("cannot write");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) io_fail("cannot rename temporary file");
}

}  // namespace tandem::gguf
