#pragma once
// GGUF reader: memory-mapped, strictly validated. Any malformed input throws FormatError whose
// message starts with the file name and says what was wrong; nothing is trusted from the file
// before it is checked against the file size.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/value.h"
#include "tensor/types.h"
#include "util/mapped_file.h"

namespace tandem::gguf {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr size_t kDefaultAlignment = 32;
constexpr int kMaxDims = 4;

struct TensorInfo {
  std::string name;
  tensor::Type type;
  std::vector<int64_t> dims;  // dims[0] is the innermost (contiguous) dimension, as in GGUF
  uint64_t offset = 0;        // relative to the start of the data section
  size_t n_bytes = 0;
  int64_t n_elements = 0;
  const uint8_t* data = nullptr;  // points into the mapping

  int64_t rows() const;  // product of dims[1..]
  int64_t cols() const { return dims.empty() ? 1 : dims[0]; }
};

class File {
 public:
  // Maps and parses a file. Throws IoError / FormatError naming the path.
  static File open(const std::string& path);
  // Parses a buffer that outlives the File (fuzzing, tests). `name` is used in errors.
  static File parse(const uint8_t* data, size_t size, std::string name);

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t file_size() const { return size_; }
  size_t data_offset() const { return data_offset_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  const Value* find(std::string_view key) const;
  // Typed access with checks: T is an integer type, float, double, bool or std::string.
  // get() throws FormatError "<file>: missing metadata key 'k'" or a type/range mismatch.
  template <typename T> T get(std::string_view key) const;
  template <typename T> std::optional<T> get_optional(std::string_view key) const;
  template <typename T> T get_or(std::string_view key, T fallback) const {
    auto v = get_optional<T>(key);
    return v ? *v : fallback;
  }
  // Arrays of scalars/strings, converted element-wise with the same checks.
  template <typename T> std::vector<T> get_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  // Throws FormatError "<file>: missing tensor 'name'".
  const TensorInfo& tensor(std::string_view name) const;

  // Throws FormatError naming every tensor whose type tandem cannot compute with.
  void require_supported_types() const;

  // The caller keeps its own copy of these tensor bytes: a mapped file lets their pages go from
  // the process's memory (MappedFile::drop_pages); a parsed buffer is left as it is. The range
  // is remembered, so warming the file's pages (runtime::prefault) can skip it.
  void release_pages(const void* p, size_t n) const;
  // True when p lies in a range given to release_pages.
  bool released(const void* p) const;

 private:
  File() = default;
  void parse_all(const uint8_t* data, size_t size);

  std::unique_ptr<MappedFile> map_;
  std::string name_;
  uint32_t version_ = 0;
  size_t alignment_ = kDefaultAlignment;
  size_t size_ = 0;
  size_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  // [begin, end) of released ranges; filled while the model loads, read when it is warmed.
  mutable std::vector<std::pair<const uint8_t*, const uint8_t*>> released_;
};

}  // namespace tandem::gguf
