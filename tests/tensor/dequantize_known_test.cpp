// Dequantization of hand-built blocks. The expected values are computed here straight from the
// published format definitions, written in the loop order the format's reference uses (not with
// the helpers of src/tensor), so a wrong element order or scale packing shows up as a mismatch.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "tensor/blocks.h"
#include "tensor/convert.h"

namespace tandem::tensor {
namespace {

constexpr f16_t kHalfOne = 0x3c00;      // 1.0
constexpr f16_t kHalfHalf = 0x3800;     // 0.5
constexpr f16_t kHalfQuarter = 0x3400;  // 0.25
constexpr f16_t kHalfMinusOne = 0xbc00; // -1.0
constexpr f16_t kHalfTwo = 0x4000;      // 2.0

template <typename Block>
std::vector<float> dequantize_one(Type t, const Block& b, int n) {
  std::vector<float> out(n);
  dequantize(t, &b, out.data(), n);
  return out;
}

template <typename Block>
void fill_random_bytes(Block& b, uint32_t seed) {
  std::mt19937 rng(seed);
  auto* p = reinterpret_cast<uint8_t*>(&b);
  for (size_t i = 0; i < sizeof(Block); ++i) p[i] = static_cast<uint8_t>(rng());
}

TEST(DequantizeKnown, Q4_0NibblesZeroToFifteen) {
  BlockQ4_0 b{};
  b.d = kHalfHalf;
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = dequantize_one(Type::Q4_0, b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * static_cast<float>(j - 8)) << j;            // -4.0 .. 3.5
    EXPECT_EQ(y[j + 16], 0.5f * static_cast<float>(7 - j)) << j + 16;  // 3.5 .. -4.0
  }
  EXPECT_EQ(y[0], -4.0f);
  EXPECT_EQ(y[15], 3.5f);
}

TEST(DequantizeKnown, Q4_1ScaleAndMin) {
  BlockQ4_1 b{};
  b.d = kHalfQuarter;
  b.m = kHalfMinusOne;
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | (3 << 4));
  const auto y = dequantize_one(Type::Q4_1, b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.25f * static_cast<float>(j) - 1.0f);
    EXPECT_EQ(y[j + 16], -0.25f);
  }
}

TEST(DequantizeKnown, Q5_0FifthBitFromQh) {
  BlockQ5_0 b{};
  b.d = kHalfOne;
  // qh as little-endian uint32 0x80000001 | 0x00010000: bits 0, 16 and 31 set.
  const uint32_t qh = 0x80010001u;
  for (int k = 0; k < 4; ++k) b.qh[k] = static_cast<uint8_t>(qh >> (8 * k));
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | (j << 4));
  const auto y = dequantize_one(Type::Q5_0, b, 32);
  for (int j = 0; j < 32; ++j) {
    const int nibble = j % 16;
    const int high = (qh >> j) & 1;
    EXPECT_EQ(y[j], static_cast<float>((nibble | (high << 4)) - 16)) << j;
  }
  EXPECT_EQ(y[0], 0.0f);     // 16 - 16
  EXPECT_EQ(y[1], -15.0f);   // 1 - 16
  EXPECT_EQ(y[16], 0.0f);    // 16 - 16
  EXPECT_EQ(y[31], 15.0f);   // 31 - 16
}

TEST(DequantizeKnown, Q5_1ScaleMinAndFifthBit) {
  BlockQ5_1 b{};
  b.d = kHalfHalf;
  b.m = kHalfTwo;
  const uint32_t qh = 0xf0f0a5a5u;
  for (int k = 0; k < 4; ++k) b.qh[k] = static_cast<uint8_t>(qh >> (8 * k));
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>((15 - j) | (j << 4));
  const auto y = dequantize_one(Type::Q5_1, b, 32);
  for (int j = 0; j < 16; ++j) {
    const int q_lo = (15 - j) | (((qh >> j) & 1) << 4);
    const int q_hi = j | (((qh >> (j + 16)) & 1) << 4);
    EXPECT_EQ(y[j], 0.5f * static_cast<float>(q_lo) + 2.0f) << j;
    EXPECT_EQ(y[j + 16], 0.5f * static_cast<float>(q_hi) + 2.0f) << j + 16;
  }
}

TEST(DequantizeKnown, Q8_0AndQ8_1) {
  BlockQ8_0 b{};
  b.d = 0x3000;  // 0.125
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j * 8 - 128);
  auto y = dequantize_one(Type::Q8_0, b, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.125f * static_cast<float>(j * 8 - 128));
  EXPECT_EQ(y[0], -16.0f);

  BlockQ8_1 c{};
  c.d = kHalfTwo;
  c.s = 0x7bff;  // s is only a cached sum: it does not affect the values
  for (int j = 0; j < 32; ++j) c.qs[j] = static_cast<int8_t>(100 - 7 * j);
  y = dequantize_one(Type::Q8_1, c, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 2.0f * static_cast<float>(100 - 7 * j));
}

TEST(DequantizeKnown, IQ4_NLTable) {
  BlockIQ4_NL b{};
  b.d = kHalfHalf;
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = dequantize_one(Type::IQ4_NL, b, 32);
  EXPECT_EQ(y[0], -63.5f);   // 0.5 * -127
  EXPECT_EQ(y[15], 56.5f);   // 0.5 * 113
  EXPECT_EQ(y[16], 56.5f);
  EXPECT_EQ(y[8], 0.5f);     // 0.5 * 1
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * kIQ4NLValues[j]);
    EXPECT_EQ(y[j + 16], 0.5f * kIQ4NLValues[15 - j]);
  }
}

// ---- K-quants: random payload bytes, known d/dmin, reference-ordered expectations ----

TEST(DequantizeKnown, Q2_K) {
  BlockQ2_K b;
  fill_random_bytes(b, 11);
  b.d = kHalfHalf;
  b.dmin = kHalfQuarter;
  std::vector<float> expected;
  int is = 0;
  for (int half = 0; half < 2; ++half) {
    const uint8_t* q = b.qs + 32 * half;
    for (int shift = 0; shift < 8; shift += 2) {
      for (int part = 0; part < 2; ++part) {  // two sub-blocks of 16 per (half, shift)
        const uint8_t sc = b.scales[is++];
        for (int l = 0; l < 16; ++l) {
          const int v = (q[l + 16 * part] >> shift) & 3;
          expected.push_back(0.5f * (sc & 15) * v - 0.25f * (sc >> 4));
        }
      }
    }
  }
  EXPECT_EQ(dequantize_one(Type::Q2_K, b, 256), expected);
}

TEST(DequantizeKnown, Q3_K) {
  BlockQ3_K b;
  fill_random_bytes(b, 12);
  b.d = kHalfQuarter;
  // 6-bit scales unpacked as the format's reference does: treat the 12 bytes as three
  // little-endian uint32 a0, a1, a2 and rebuild four words of four biased scales each.
  uint32_t a[4];
  std::memcpy(a, b.scales, 12);
  const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u, tmp = a[2];
  a[2] = ((a[0] >> 4) & m4) | (((tmp >> 4) & m2) << 4);
  a[3] = ((a[1] >> 4) & m4) | (((tmp >> 6) & m2) << 4);
  a[0] = (a[0] & m4) | (((tmp >> 0) & m2) << 4);
  a[1] = (a[1] & m4) | (((tmp >> 2) & m2) << 4);
  int8_t scales[16];
  std::memcpy(scales, a, 16);
  std::vector<float> expected;
  int is = 0;
  uint8_t m = 1;
  for (int half = 0; half < 2; ++half) {
    const uint8_t* q = b.qs + 32 * half;
    for (int shift = 0; shift < 8; shift += 2, m = static_cast<uint8_t>(m << 1)) {
      for (int part = 0; part < 2; ++part) {
        const float dl = 0.25f * static_cast<float>(scales[is++] - 32);
        for (int l = 0; l < 16; ++l) {
          const int idx = l + 16 * part;
          const int v = ((q[idx] >> shift) & 3) - ((b.hmask[idx] & m) ? 0 : 4);
          expected.push_back(dl * static_cast<float>(v));
        }
      }
    }
  }
  EXPECT_EQ(dequantize_one(Type::Q3_K, b, 256), expected);
}

// Scale/min j of Q4_K/Q5_K as the format defines them.
void reference_scale_min(const uint8_t* q, int j, int& d, int& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

TEST(DequantizeKnown, Q4_K) {
  BlockQ4_K b;
  fill_random_bytes(b, 13);
  b.d = kHalfHalf;
  b.dmin = kHalfQuarter;
  std::vector<float> expected;
  const uint8_t* q = b.qs;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
    int sc, mn;
    reference_scale_min(b.scales, is, sc, mn);
    for (int l = 0; l < 32; ++l) expected.push_back(0.5f * sc * (q[l] & 0xf) - 0.25f * mn);
    reference_scale_min(b.scales, is + 1, sc, mn);
    for (int l = 0; l < 32; ++l) expected.push_back(0.5f * sc * (q[l] >> 4) - 0.25f * mn);
  }
  EXPECT_EQ(dequantize_one(Type::Q4_K, b, 256), expected);
}

TEST(DequantizeKnown, Q4_KByHand) {
  BlockQ4_K b{};
  b.d = kHalfOne;
  b.dmin = kHalfHalf;
  // Sub-block 0: scale 3, min 2. Sub-block 5: scale 49 = 0b11'0001, min 39 = 0b10'0111.
  b.scales[0] = 3;                              // sc0
  b.scales[4] = 2;                              // mn0
  b.scales[1] = 3u << 6;                        // top 2 bits of sc5 sit in byte 5 - 4
  b.scales[5] = 2u << 6;                        // top 2 bits of mn5 sit in byte 5
  b.scales[9] = (49 & 15) | ((39 & 15) << 4);   // low nibbles of sc5 / mn5 in byte 5 + 4
  b.qs[0] = 0x5a;       // chunk 0: element 0 = 0xa (low), element 32 = 0x5 (high)
  b.qs[64 + 9] = 0x70;  // chunk 2: element 128 + 9 = 137 low (0), element 160 + 9 = 169 high (7)
  const auto y = dequantize_one(Type::Q4_K, b, 256);
  EXPECT_EQ(y[0], 1.0f * 3 * 10 - 0.5f * 2);    // 29
  EXPECT_EQ(y[1], -1.0f);                       // q = 0: just -min
  EXPECT_EQ(y[32], 0.0f);                       // sub-block 1: scale 0, min 0
  EXPECT_EQ(y[137], 0.0f);                      // sub-block 4: scale 0, min 0
  EXPECT_EQ(y[169], 1.0f * 49 * 7 - 0.5f * 39); // sub-block 5
  EXPECT_EQ(y[170], -0.5f * 39);
}

TEST(DequantizeKnown, Q5_K) {
  BlockQ5_K b;
  fill_random_bytes(b, 14);
  b.d = kHalfQuarter;
  b.dmin = kHalfOne;
  std::vector<float> expected;
  const uint8_t* q = b.qs;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
    int sc, mn;
    reference_scale_min(b.scales, is, sc, mn);
    for (int l = 0; l < 32; ++l) {
      expected.push_back(0.25f * sc * ((q[l] & 0xf) + ((b.qh[l] & u1) ? 16 : 0)) - 1.0f * mn);
    }
    reference_scale_min(b.scales, is + 1, sc, mn);
    for (int l = 0; l < 32; ++l) {
      expected.push_back(0.25f * sc * ((q[l] >> 4) + ((b.qh[l] & u2) ? 16 : 0)) - 1.0f * mn);
    }
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
  EXPECT_EQ(dequantize_one(Type::Q5_K, b, 256), expected);
}

TEST(DequantizeKnown, Q6_K) {
  BlockQ6_K b;
  fill_random_bytes(b, 15);
  b.d = kHalfQuarter;
  std::vector<float> expected(256);
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = b.ql + 64 * half;
    const uint8_t* qh = b.qh + 32 * half;
    const int8_t* sc = b.scales + 8 * half;
    float* y = expected.data() + 128 * half;
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = 0.25f * sc[is] * q1;
      y[l + 32] = 0.25f * sc[is + 2] * q2;
      y[l + 64] = 0.25f * sc[is + 4] * q3;
      y[l + 96] = 0.25f * sc[is + 6] * q4;
    }
  }
  EXPECT_EQ(dequantize_one(Type::Q6_K, b, 256), expected);
}

TEST(DequantizeKnown, Q6_KByHand) {
  BlockQ6_K b{};
  b.d = kHalfOne;
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s - 8);
  // Element 200 = half 1, quarter 2 (200 - 128 = 72 = 64 + 8): high nibble of ql[64 + 8],
  // top bits at bits 4..5 of qh[32 + 8]; sub-block 200 / 16 = 12, scale 4.
  b.ql[64 + 8] = 0x90;  // high nibble 9
  b.qh[32 + 8] = 0x30;  // top bits 3 -> q = 9 | 48 = 57
  const auto y = dequantize_one(Type::Q6_K, b, 256);
  EXPECT_EQ(y[200], 4.0f * (57 - 32));
  EXPECT_EQ(y[8], -8.0f * -32);  // an all-zero quant is -32 times the scale (sub-block 0: -8)
  EXPECT_EQ(y[136], 0.0f * -32); // element 136 = 128 + 8 shares ql[72] low nibble (0), scale 0
}

TEST(DequantizeKnown, Q8_K) {
  BlockQ8_K b{};
  b.d = 0.375f;
  for (int e = 0; e < 256; ++e) b.qs[e] = static_cast<int8_t>(e - 128);
  const auto y = dequantize_one(Type::Q8_K, b, 256);
  for (int e = 0; e < 256; ++e) EXPECT_EQ(y[e], 0.375f * static_cast<float>(e - 128));
}

TEST(DequantizeKnown, IQ4_XS) {
  BlockIQ4_XS b;
  fill_random_bytes(b, 16);
  b.d = kHalfQuarter;
  std::vector<float> expected;
  const uint8_t* qs = b.qs;
  for (int ib = 0; ib < 8; ++ib, qs += 16) {
    const int ls = ((b.scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((b.scales_h >> 2 * ib) & 3) << 4);
    const float dl = 0.25f * static_cast<float>(ls - 32);
    for (int j = 0; j < 16; ++j) expected.push_back(dl * kIQ4NLValues[qs[j] & 0xf]);
    for (int j = 0; j < 16; ++j) expected.push_back(dl * kIQ4NLValues[qs[j] >> 4]);
  }
  EXPECT_EQ(dequantize_one(Type::IQ4_XS, b, 256), expected);
}

TEST(DequantizeKnown, FloatTypes) {
  const uint16_t halfs[4] = {0x3c00, 0xc000, 0x3555, 0x0001};
  std::vector<float> y(4);
  dequantize(Type::F16, halfs, y.data(), 4);
  EXPECT_EQ(y, (std::vector<float>{1.0f, -2.0f, fp16_to_fp32(0x3555), std::ldexp(1.0f, -24)}));
  const uint16_t bf[3] = {0x3f80, 0xc040, 0x4049};
  dequantize(Type::BF16, bf, y.data(), 3);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -3.0f);
  EXPECT_EQ(y[2], 3.140625f);
  const float f[2] = {1.5f, -7.25f};
  dequantize(Type::F32, f, y.data(), 2);
  EXPECT_EQ(y[0], 1.5f);
  EXPECT_EQ(y[1], -7.25f);
}

}  // namespace
}  // namespace tandem::tensor
