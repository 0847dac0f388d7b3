#pragma once
// GGUF v3 writer: metadata plus tensors of any supported type, used by tests and tools
// (`tandem bench --write`) to build model files.
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/value.h"
#include "tensor/types.h"

namespace tandem::gguf {

class Writer {
 public:
  explicit Writer(size_t alignment = 32);

  // Sets (or replaces) a metadata key; keys keep first-insertion order.
  void set(const std::string& key, Value value);

  // Adds a tensor whose bytes are already in `type`'s layout (row_bytes(type, n) bytes).
  void add_tensor(const std::string& name, tensor::Type type, std::vector<int64_t> dims,
                  std::vector<uint8_t> bytes);
  // Adds a tensor from float data, quantizing rows of dims[0] elements to `type`.
  void add_tensor_f32(const std::string& name, tensor::Type type, std::vector<int64_t> dims,
                      const float* data);

  std::vector<uint8_t> to_bytes() const;
  // Writes atomically (temporary file + rename). Throws IoError.
  void write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    tensor::Type type;
    std::vector<int64_t> dims;
    std::vector<uint8_t> bytes;
  };
  size_t alignment_;
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace tandem::gguf
