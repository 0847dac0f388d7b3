// The type table: one row per GGUF type id, with the block geometry published by the format.
#include "tensor/types.h"

#include <array>
#include <string>

#include "util/error.h"

namespace tandem::tensor {
namespace {

constexpr uint32_t kTypeCount = 31;  // ids 0..30; 4 and 5 (old Q4_2/Q4_3) were removed

struct Row {
  bool valid;
  TypeInfo info;
};

constexpr Row valid_row(Type t, std::string_view name, int64_t block_size, size_t block_bytes,
                        bool supported) {
  return Row{true, TypeInfo{t, name, block_size, block_bytes, supported}};
}

constexpr Row removed_row(uint32_t id) {
  return Row{false, TypeInfo{static_cast<Type>(id), "removed", 1, 0, false}};
}

// Byte sizes: legacy blocks hold 32 elements, k-quant / IQ super-blocks 256 (see blocks.h for the
// supported ones; the unsupported IQ types are listed with their published sizes so a reader can
// still compute tensor extents and skip them).
constexpr std::array<Row, kTypeCount> kTable = {{
    valid_row(Type::F32, "f32", 1, 4, true),
    valid_row(Type::F16, "f16", 1, 2, true),
    valid_row(Type::Q4_0, "q4_0", 32, 18, true),
    valid_row(Type::Q4_1, "q4_1", 32, 20, true),
    removed_row(4),
    removed_row(5),
    valid_row(Type::Q5_0, "q5_0", 32, 22, true),
    valid_row(Type::Q5_1, "q5_1", 32, 24, true),
    valid_row(Type::Q8_0, "q8_0", 32, 34, true),
    valid_row(Type::Q8_1, "q8_1", 32, 36, true),
    valid_row(Type::Q2_K, "q2_K", 256, 84, true),
    valid_row(Type::Q3_K, "q3_K", 256, 110, true),
    valid_row(Type::Q4_K, "q4_K", 256, 144, true),
    valid_row(Type::Q5_K, "q5_K", 256, 176, true),
    valid_row(Type::Q6_K, "q6_K", 256, 210, true),
    valid_row(Type::Q8_K, "q8_K", 256, 292, true),
    valid_row(Type::IQ2_XXS, "iq2_xxs", 256, 66, false),
    valid_row(Type::IQ2_XS, "iq2_xs", 256, 74, false),
    valid_row(Type::IQ3_XXS, "iq3_xxs", 256, 98, false),
    valid_row(Type::IQ1_S, "iq1_s", 256, 50, false),
    valid_row(Type::IQ4_NL, "iq4_nl", 32, 18, true),
    valid_row(Type::IQ3_S, "iq3_s", 256, 110, false),
    valid_row(Type::IQ2_S, "iq2_s", 256, 82, false),
    valid_row(Type::IQ4_XS, "iq4_xs", 256, 136, true),
    valid_row(Type::I8, "i8", 1, 1, false),
    valid_row(Type::I16, "i16", 1, 2, false),
    valid_row(Type::I32, "i32", 1, 4, false),
    valid_row(Type::I64, "i64", 1, 8, false),
    valid_row(Type::F64, "f64", 1, 8, false),
    valid_row(Type::IQ1_M, "iq1_m", 256, 56, false),
    valid_row(Type::BF16, "bf16", 1, 2, true),
}};

// The table is indexed by id; make sure every row sits at its own id.
constexpr bool table_is_indexed_by_id() {
  for (uint32_t i = 0; i < kTypeCount; ++i) {
    if (static_cast<uint32_t>(kTable[i].info.type) != i) return false;
  }
  return true;
}
static_assert(table_is_indexed_by_id());

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::optional<TypeInfo> type_info(uint32_t id) {
  if (id >= kTypeCount || !kTable[id].valid) return std::nullopt;
  return kTable[id].info;
}

const TypeInfo& info(Type t) {
  const auto id = static_cast<uint32_t>(t);
  if (id >= kTypeCount || !kTable[id].valid) {
    throw InvalidArgument("tensor type id " + std::to_string(id) + " is not a valid GGUF type");
  }
  return kTable[id].info;
}

std::string_view type_name(Type t) { return info(t).name; }

std::optional<Type> parse_type(std::string_view name) {
  for (const Row& row : kTable) {
    if (row.valid && equals_ignore_case(row.info.name, name)) return row.info.type;
  }
  return std::nullopt;
}

}  // namespace tandem::tensor
