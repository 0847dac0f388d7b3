// The type table: ids, names, block geometry, parsing.
#include <gtest/gtest.h>

#include "tensor/blocks.h"
#include "tensor/types.h"
#include "util/error.h"

namespace tandem::tensor {
namespace {

TEST(TypeTable, RemovedAndOutOfRangeIdsAreInvalid) {
  EXPECT_FALSE(type_info(4).has_value());
  EXPECT_FALSE(type_info(5).has_value());
  EXPECT_FALSE(type_info(31).has_value());
  EXPECT_FALSE(type_info(1000).has_value());
  EXPECT_THROW(info(static_cast<Type>(4)), InvalidArgument);
  EXPECT_THROW(info(static_cast<Type>(77)), InvalidArgument);
}

TEST(TypeTable, EveryOtherIdUpTo30IsValidAndSelfConsistent) {
  for (uint32_t id = 0; id <= 30; ++id) {
    if (id == 4 || id == 5) continue;
    const auto ti = type_info(id);
    ASSERT_TRUE(ti.has_value()) << id;
    EXPECT_EQ(static_cast<uint32_t>(ti->type), id);
    EXPECT_GT(ti->block_size, 0);
    EXPECT_GT(ti->block_bytes, 0u);
    EXPECT_EQ(parse_type(ti->name), ti->type) << ti->name;
    EXPECT_EQ(type_name(ti->type), ti->name);
  }
}

TEST(TypeTable, NamesAreThoseLlamaCppPrints) {
  EXPECT_EQ(type_name(Type::F32), "f32");
  EXPECT_EQ(type_name(Type::F16), "f16");
  EXPECT_EQ(type_name(Type::BF16), "bf16");
  EXPECT_EQ(type_name(Type::Q4_0), "q4_0");
  EXPECT_EQ(type_name(Type::Q8_1), "q8_1");
  EXPECT_EQ(type_name(Type::Q4_K), "q4_K");
  EXPECT_EQ(type_name(Type::Q8_K), "q8_K");
  EXPECT_EQ(type_name(Type::IQ4_NL), "iq4_nl");
  EXPECT_EQ(type_name(Type::IQ4_XS), "iq4_xs");
  EXPECT_EQ(type_name(Type::IQ2_XXS), "iq2_xxs");
  EXPECT_EQ(type_name(Type::IQ1_M), "iq1_m");
  EXPECT_EQ(type_name(Type::F64), "f64");
}

TEST(TypeTable, ParseIsCaseInsensitiveAndRejectsUnknown) {
  EXPECT_EQ(parse_type("Q4_K"), Type::Q4_K);
  EXPECT_EQ(parse_type("q4_k"), Type::Q4_K);
  EXPECT_EQ(parse_type("BF16"), Type::BF16);
  EXPECT_EQ(parse_type("IQ4_xs"), Type::IQ4_XS);
  EXPECT_FALSE(parse_type("q4_k_m").has_value());
  EXPECT_FALSE(parse_type("").has_value());
  EXPECT_FALSE(parse_type("removed").has_value());
  EXPECT_FALSE(parse_type("q4_2").has_value());
}

TEST(TypeTable, SupportedSetIsExactlyTheImplementedTypes) {
  const Type supported[] = {Type::F32,  Type::F16,  Type::BF16, Type::Q8_0, Type::Q8_1,  Type::Q4_0,
                            Type::Q4_1, Type::Q5_0, Type::Q5_1, Type::Q2_K, Type::Q3_K,  Type::Q4_K,
                            Type::Q5_K, Type::Q6_K, Type::Q8_K, Type::IQ4_NL, Type::IQ4_XS};
  int n_supported = 0;
  for (uint32_t id = 0; id <= 30; ++id) {
    if (auto ti = type_info(id); ti && ti->supported) ++n_supported;
  }
  EXPECT_EQ(n_supported, static_cast<int>(std::size(supported)));
  for (Type t : supported) EXPECT_TRUE(info(t).supported) << type_name(t);
  for (Type t : {Type::I8, Type::I16, Type::I32, Type::I64, Type::F64, Type::IQ2_XXS, Type::IQ2_XS,
                 Type::IQ2_S, Type::IQ3_XXS, Type::IQ3_S, Type::IQ1_S, Type::IQ1_M}) {
    EXPECT_FALSE(info(t).supported) << type_name(t);
  }
}

TEST(TypeTable, BlockGeometryMatchesTheStructs) {
  struct Case {
    Type t;
    int64_t block_size;
    size_t bytes;
  };
  const Case cases[] = {
      {Type::F32, 1, 4},
      {Type::F16, 1, 2},
      {Type::BF16, 1, 2},
      {Type::Q4_0, kQK, sizeof(BlockQ4_0)},
      {Type::Q4_1, kQK, sizeof(BlockQ4_1)},
      {Type::Q5_0, kQK, sizeof(BlockQ5_0)},
      {Type::Q5_1, kQK, sizeof(BlockQ5_1)},
      {Type::Q8_0, kQK, sizeof(BlockQ8_0)},
      {Type::Q8_1, kQK, sizeof(BlockQ8_1)},
      {Type::Q2_K, kQK_K, sizeof(BlockQ2_K)},
      {Type::Q3_K, kQK_K, sizeof(BlockQ3_K)},
      {Type::Q4_K, kQK_K, sizeof(BlockQ4_K)},
      {Type::Q5_K, kQK_K, sizeof(BlockQ5_K)},
      {Type::Q6_K, kQK_K, sizeof(BlockQ6_K)},
      {Type::Q8_K, kQK_K, sizeof(BlockQ8_K)},
      {Type::IQ4_NL, kQK, sizeof(BlockIQ4_NL)},
      {Type::IQ4_XS, kQK_K, sizeof(BlockIQ4_XS)},
      // Unsupported types still need their published sizes so files holding them can be mapped.
      {Type::IQ2_XXS, 256, 66},
      {Type::IQ2_XS, 256, 74},
      {Type::IQ3_XXS, 256, 98},
      {Type::IQ1_S, 256, 50},
      {Type::IQ3_S, 256, 110},
      {Type::IQ2_S, 256, 82},
      {Type::IQ1_M, 256, 56},
      {Type::I8, 1, 1},
      {Type::I16, 1, 2},
      {Type::I32, 1, 4},
      {Type::I64, 1, 8},
      {Type::F64, 1, 8},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(info(c.t).block_size, c.block_size) << type_name(c.t);
    EXPECT_EQ(info(c.t).block_bytes, c.bytes) << type_name(c.t);
  }
}

TEST(TypeTable, RowBytes) {
  EXPECT_EQ(row_bytes(Type::F32, 10), 40u);
  EXPECT_EQ(row_bytes(Type::Q4_0, 4096), 128u * 18u);
  EXPECT_EQ(row_bytes(Type::Q4_K, 4096), 16u * 144u);
  EXPECT_EQ(row_bytes(Type::Q6_K, 256), 210u);
}

}  // namespace
}  // namespace tandem::tensor
