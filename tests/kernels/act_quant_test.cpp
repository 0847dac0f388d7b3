// Activation quantization: every SIMD path reproduces the scalar converter byte for byte, and the
// scalar converter agrees with tensor's reference quantizers (the format's definition).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/gemm_table.h"
#include "tensor/blocks.h"
#include "tensor/quants.h"
#include "test_util.h"

namespace tandem::kernels {
namespace {

using detail::convert_activation_row;
using tensor::Type;
using testing::random_floats;

std::vector<uint8_t> convert(Isa isa, Type t, const std::vector<float>& x) {
  std::vector<uint8_t> out(tensor::row_bytes(t, static_cast<int64_t>(x.size())));
  convert_activation_row(isa, t, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

// Inputs with zeros blocks, tiny values and exact ties to exercise the edge cases.
std::vector<float> test_input(uint32_t seed) {
  auto x = random_floats(1024, seed, 3.0f);
  for (int i = 0; i < 32; ++i) x[32 + i] = 0.0f;             // an all-zero Q8_0 block
  for (int i = 0; i < 32; ++i) x[96 + i] = 1e-30f * (i - 16);  // a tiny block
  for (int i = 0; i < 32; ++i) x[160 + i] = static_cast<float>(i - 16) * 0.5f;
  return x;
}

TEST(ActQuant, SimdMatchesScalarExactly) {
  for (Isa isa : available_isas()) {
    if (isa == Isa::Scalar) continue;
    for (Type t : {Type::Q8_0, Type::Q8_1, Type::Q8_K}) {
      for (uint32_t seed = 1; seed <= 5; ++seed) {
        const auto x = test_input(seed);
        EXPECT_EQ(convert(isa, t, x), convert(Isa::Scalar, t, x))
            << isa_name(isa) << " " << tensor::type_name(t) << " seed " << seed;
      }
    }
  }
}

TEST(ActQuant, ScalarMatchesTensorReference) {
  const auto x = test_input(9);
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<tensor::BlockQ8_0> q0(n / 32);
  tensor::quantize_row_q8_0(x.data(), q0.data(), n);
  std::vector<tensor::BlockQ8_1> q1(n / 32);
  tensor::quantize_row_q8_1(x.data(), q1.data(), n);
  std::vector<tensor::BlockQ8_K> qk(n / 256);
  tensor::quantize_row_q8_k(x.data(), qk.data(), n);
  // Dequantized values must agree; a quant may differ by one at an exact rounding tie.
  for (Type t : {Type::Q8_0, Type::Q8_1, Type::Q8_K}) {
    const auto mine = convert(Isa::Scalar, t, x);
    const void* theirs = t == Type::Q8_0 ? static_cast<const void*>(q0.data())
                         : t == Type::Q8_1 ? static_cast<const void*>(q1.data())
                                           : static_cast<const void*>(qk.data());
    std::vector<float> a(x.size()), b(x.size());
    tensor::dequantize(t, mine.data(), a.data(), n);
    tensor::dequantize(t, theirs, b.data(), n);
    EXPECT_LT(testing::normalized_error(a, b), 1e-3) << tensor::type_name(t);
    EXPECT_LT(testing::normalized_error(a, x), 1e-2) << tensor::type_name(t);
  }
}

TEST(ActQuant, Q8KBlockSumsAreExactSumsOfQuants) {
  const auto x = test_input(4);
  for (Isa isa : available_isas()) {
    const auto bytes = convert(isa, Type::Q8_K, x);
    const auto* blocks = reinterpret_cast<const tensor::BlockQ8_K*>(bytes.data());
    for (size_t b = 0; b < x.size() / 256; ++b)
      for (int g = 0; g < 16; ++g) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += blocks[b].qs[g * 16 + i];
        EXPECT_EQ(blocks[b].bsums[g], sum) << isa_name(isa) << " block " << b << " group " << g;
      }
  }
}

TEST(ActQuant, Q8_1SumIsScaleTimesSumOfQuants) {
  const auto x = test_input(6);
  for (Isa isa : available_isas()) {
    const auto bytes = convert(isa, Type::Q8_1, x);
    const auto* blocks = reinterpret_cast<const tensor::BlockQ8_1*>(bytes.data());
    for (size_t b = 0; b < x.size() / 32; ++b) {
      int sum = 0;
      for (int i = 0; i < 32; ++i) sum += blocks[b].qs[i];
      const float d = tensor::fp16_to_fp32(blocks[b].d);
      EXPECT_NEAR(tensor::fp16_to_fp32(blocks[b].s), d * sum, std::fabs(d * sum) * 2e-3 + 1e-30);
    }
  }
}

}  // namespace
}  // namespace tandem::kernels
