// binary16 / bfloat16 conversions: exhaustive round trips, rounding ties, specials.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "tensor/convert.h"

namespace tandem::tensor {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
bool is_half_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

TEST(Fp16, EveryHalfRoundTripsExactly) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const float f = fp16_to_fp32(h);
    const uint16_t back = fp32_to_fp16(f);
    if (is_half_nan(h)) {
      ASSERT_TRUE(std::isnan(f)) << i;
      ASSERT_TRUE(is_half_nan(back)) << i;
      ASSERT_EQ(back & 0x8000, h & 0x8000) << "sign of NaN " << i;
      ASSERT_EQ(back & 0x1ff, h & 0x1ff) << "payload of NaN " << i;
    } else {
      ASSERT_EQ(back, h) << "half bits " << i << " -> " << f;
    }
  }
}

TEST(Fp16, DecodesKnownValues) {
  EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x3800), 0.5f);
  EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(to_bits(fp16_to_fp32(0x8000)), 0x80000000u);  // -0
  EXPECT_EQ(fp16_to_fp32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7e00)));
}

TEST(Fp16, RoundsToNearestEven) {
  const float one_ulp = std::ldexp(1.0f, -10);  // half ulp at 1.0 is 2^-11
  EXPECT_EQ(fp32_to_fp16(1.0f + one_ulp / 2), 0x3c00);          // tie -> even (down)
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * one_ulp / 2), 0x3c02);      // tie -> even (up)
  EXPECT_EQ(fp32_to_fp16(std::nextafter(1.0f + one_ulp / 2, 2.0f)), 0x3c01);  // above tie
  EXPECT_EQ(fp32_to_fp16(std::nextafter(1.0f + one_ulp / 2, 0.0f)), 0x3c00);  // below tie
  EXPECT_EQ(fp32_to_fp16(-(1.0f + 3 * one_ulp / 2)), 0xbc02);
  // Mantissa carry into the exponent: 2 - 2^-12 rounds up to 2.0.
  EXPECT_EQ(fp32_to_fp16(2.0f - std::ldexp(1.0f, -12)), 0x4000);
}

TEST(Fp16, OverflowAndSubnormals) {
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7bff);  // just below the tie
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);    // tie with 2^16 -> even = inf
  EXPECT_EQ(fp32_to_fp16(1e10f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-1e10f), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // tie -> 0
  EXPECT_EQ(fp32_to_fp16(-std::ldexp(1.0f, -25)), 0x8000);
  EXPECT_EQ(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 units: tie -> 2
  EXPECT_EQ(fp32_to_fp16(std::ldexp(5.0f, -25)), 0x0002);  // 2.5 units: tie -> 2
  // Largest subnormal + half a unit rounds into the smallest normal.
  EXPECT_EQ(fp32_to_fp16(std::ldexp(2047.0f, -25)), 0x0400);
  EXPECT_EQ(fp32_to_fp16(1e-30f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
}

TEST(Fp16, NanStaysNan) {
  EXPECT_TRUE(is_half_nan(fp32_to_fp16(std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload lives only in the low bits must not become inf.
  EXPECT_TRUE(is_half_nan(fp32_to_fp16(from_bits(0x7f800001u))));
  EXPECT_EQ(fp32_to_fp16(from_bits(0xff800001u)) & 0x8000, 0x8000);
}

#if defined(__FLT16_MAX__)
// The compiler's _Float16 conversion is an independent correctly-rounded implementation.
TEST(Fp16, MatchesCompilerFloat16OnRandomBitPatterns) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 2'000'000; ++i) {
    uint32_t u = rng();
    if (i % 2 == 0) u = (u & 0x807fffffu) | ((100u + u % 50u) << 23);  // focus on the half range
    const float f = from_bits(u);
    if (std::isnan(f)) continue;
    const _Float16 h = static_cast<_Float16>(f);
    uint16_t expected;
    std::memcpy(&expected, &h, 2);
    ASSERT_EQ(fp32_to_fp16(f), expected) << std::hex << u;
  }
}
#endif

TEST(Bf16, EveryBf16RoundTripsExactly) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const float f = bf16_to_fp32(h);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(f)))) << i;
    } else {
      ASSERT_EQ(fp32_to_bf16(f), h) << i;
    }
  }
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808000u)), 0x3f80);  // tie -> even (down)
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f818000u)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808001u)), 0x3f81);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f807fffu)), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(from_bits(0xbf818000u)), 0xbf82);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds to inf
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(fp32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
}

TEST(Bf16, NanStaysNan) {
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(from_bits(0x7f800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(from_bits(0xffffffffu)))));
  EXPECT_EQ(fp32_to_bf16(from_bits(0xff800001u)) & 0x8000, 0x8000);
}

}  // namespace
}  // namespace tandem::tensor
