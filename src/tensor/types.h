#pragma once
// Element types of GGUF tensors. The numeric values are the ones stored in GGUF files (they are
// ggml's type ids), so a file's type field converts directly.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tandem::tensor {

enum class Type : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
};

// Layout facts of a type: `block_size` elements are stored in `block_bytes` bytes.
struct TypeInfo {
  Type type;
  std::string_view name;   // as ggml/llama.cpp print it: "q4_K", "f16", ...
  int64_t block_size;
  size_t block_bytes;
  bool supported;          // tandem can dequantize / compute with it
};

// Info for a type id read from a file; nullopt for ids no GGUF file may hold.
std::optional<TypeInfo> type_info(uint32_t id);
// Info for a known type (always present).
const TypeInfo& info(Type t);
std::string_view type_name(Type t);
// Parses "q4_K", "Q4_K", "f16", ... (case-insensitive); nullopt if unknown.
std::optional<Type> parse_type(std::string_view name);

// Bytes needed for `n_elements` of type t; n_elements must be a multiple of the block size.
inline size_t row_bytes(Type t, int64_t n_elements) {
  const TypeInfo& i = info(t);
  return static_cast<size_t>(n_elements / i.block_size) * i.block_bytes;
}

}  // namespace tandem::tensor
