// matmul: every weight type's scalar path against a float reference (dequantize, then float dot),
// and every SIMD path compiled in and supported by this CPU against the scalar path.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"
#include "util/error.h"

namespace tandem::kernels {
namespace {

using tensor::Type;
using testing::make_weights;
using testing::normalized_error;
using testing::random_floats;

const Type kCandidates[] = {Type::F32,  Type::F16,  Type::BF16, Type::Q4_0, Type::Q4_1,
                            Type::Q5_0, Type::Q5_1, Type::Q8_0, Type::IQ4_NL, Type::Q2_K,
                            Type::Q3_K, Type::Q4_K, Type::Q5_K, Type::Q6_K, Type::IQ4_XS};

bool is_float(Type t) { return t == Type::F32 || t == Type::F16 || t == Type::BF16; }

// Types this build can both create test weights for and multiply.
std::vector<Type> testable_types() {
  std::vector<Type> out;
  for (Type t : kCandidates)
    if (matmul_supports(t) && (is_float(t) || tensor::can_quantize(t))) out.push_back(t);
  return out;
}

// Normalized error bound of the scalar path against float math on dequantized weights, per type.
// Float weights see only float rounding (measured ~1e-6). The int8 paths add the rounding of the
// activations to 8 bits: about 0.5% for the 32-element Q8_0/Q8_1 blocks (measured 5.1e-3) and
// about 1% for the 256-element Q8_K blocks of the k-quants (measured up to 1.13e-2), whose
// larger blocks have a larger max/rms ratio. Bounds are twice the measured worst case.
double reference_bound(Type t) {
  switch (t) {
    case Type::F32: case Type::F16: case Type::BF16: return 5e-6;
    case Type::Q4_0: case Type::Q4_1: case Type::Q5_0: case Type::Q5_1: case Type::Q8_0:
    case Type::IQ4_NL: return 1e-2;
    default: return 2.5e-2;  // k-quants and IQ4_XS against Q8_K activations
  }
}

std::vector<float> float_reference(const std::vector<float>& w, const std::vector<float>& x,
                                   int64_t rows, int64_t cols, int64_t batch) {
  std::vector<float> y(static_cast<size_t>(rows * batch));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < rows; ++i) {
      double s = 0.0;
      for (int64_t k = 0; k < cols; ++k) s += static_cast<double>(w[i * cols + k]) * x[b * cols + k];
      y[b * rows + i] = static_cast<float>(s);
    }
  return y;
}

TEST(Matmul, SupportsLegacyAndFloatTypes) {
  for (Type t : {Type::F32, Type::F16, Type::BF16, Type::Q4_0, Type::Q4_1, Type::Q5_0,
                 Type::Q5_1, Type::Q8_0, Type::IQ4_NL})
    EXPECT_TRUE(matmul_supports(t)) << tensor::type_name(t);
  EXPECT_FALSE(matmul_supports(Type::I32));
  EXPECT_FALSE(matmul_supports(Type::Q8_1));  // an activation format, not a weight type
}

TEST(Matmul, ScalarMatchesFloatReference) {
  ThreadPool pool(2);
  for (Type t : testable_types()) {
    const int64_t bs = tensor::info(t).block_size;
    for (int64_t cols : {bs, 4 * bs, 2048 / bs * bs}) {
      for (int64_t batch : {1, 3}) {
        const int64_t rows = 19;
        std::vector<float> wf;
        const auto w = make_weights(t, rows, cols, 7, &wf);
        const auto x = random_floats(static_cast<size_t>(batch * cols), 11);
        std::vector<float> y(static_cast<size_t>(rows * batch));
        matmul({t, rows, cols, w.data()}, x.data(), batch, y.data(), pool, Isa::Scalar);
        const double err = normalized_error(y, float_reference(wf, x, rows, cols, batch));
        EXPECT_LT(err, reference_bound(t))
            << tensor::type_name(t) << " cols=" << cols << " batch=" << batch;
      }
    }
  }
}

// Every SIMD path against Isa::Scalar: odd row counts, batch 1..17, several widths. Integer dot
// products are exact, so only float rounding and summation order differ; a single output of a
// few blocks can cancel, so the bound is 1e-4 normalized error (a wrong kernel gives ~1).
void check_against_scalar(Isa isa) {
  if (!testing::isa_available(isa))
    GTEST_SKIP() << isa_name(isa) << " is not compiled in or not supported by this CPU; skipping";
  constexpr double kBound = 1e-4;
  ThreadPool pool(2);
  for (Type t : testable_types()) {
    const int64_t bs = tensor::info(t).block_size;
    for (int64_t rows : {1, 5, 16, 37}) {
      for (int64_t cols : {bs, 3 * bs, 640 / bs * bs + bs}) {
        std::vector<float> unused;
        const auto w = make_weights(t, rows, cols, static_cast<uint32_t>(rows * 31 + cols), nullptr);
        const auto x = random_floats(static_cast<size_t>(17 * cols), 3);
        for (int64_t batch = 1; batch <= 17; ++batch) {
          std::vector<float> ref(static_cast<size_t>(rows * batch)), got(ref.size());
          const Matrix m{t, rows, cols, w.data()};
          matmul(m, x.data(), batch, ref.data(), pool, Isa::Scalar);
          matmul(m, x.data(), batch, got.data(), pool, isa);
          ASSERT_LT(normalized_error(got, ref), kBound)
              << isa_name(isa) << " " << tensor::type_name(t) << " rows=" << rows
              << " cols=" << cols << " batch=" << batch;
        }
      }
    }
  }
}

TEST(Matmul, Avx2MatchesScalar) { check_against_scalar(Isa::Avx2); }
TEST(Matmul, Avx512MatchesScalar) { check_against_scalar(Isa::Avx512); }
TEST(Matmul, NeonMatchesScalar) { check_against_scalar(Isa::Neon); }

// One activation row (decode) of the 32-element block types on every path against scalar, at row
// lengths that exercise each way a row ends: the SIMD decode kernels work in groups of 2 or 4
// blocks with a partial last group (1-3 blocks), Q8_0 in 64-byte chunks whose lane pattern
// repeats every 32 blocks (32 and 64 end on a chunk boundary), and 896 / 4864 columns are
// Qwen2.5-0.5B's.
// Row counts cover odd ones and more than a thread's chunk.
TEST(Matmul, DecodeMatchesScalarAtEveryRowEnding) {
  ThreadPool pool(2);
  for (Type t : {Type::Q4_0, Type::Q4_1, Type::Q5_0, Type::Q5_1, Type::Q8_0, Type::IQ4_NL}) {
    for (int64_t blocks : {1, 2, 3, 4, 5, 6, 7, 8, 9, 28, 30, 32, 33, 64, 152}) {
      const int64_t cols = blocks * 32;
      for (int64_t rows : {1, 3, 7, 130}) {
        const auto w = make_weights(t, rows, cols, static_cast<uint32_t>(rows + 7 * blocks), nullptr);
        const auto x = random_floats(static_cast<size_t>(cols), 13);
        std::vector<float> ref(static_cast<size_t>(rows)), got(ref.size());
        const Matrix m{t, rows, cols, w.data()};
        matmul(m, x.data(), 1, ref.data(), pool, Isa::Scalar);
        for (Isa isa : available_isas()) {
          matmul(m, x.data(), 1, got.data(), pool, isa);
          ASSERT_LT(normalized_error(got, ref), 1e-4)
              << isa_name(isa) << " " << tensor::type_name(t) << " rows=" << rows
              << " cols=" << cols;
        }
      }
    }
  }
}

// Arbitrary block contents (every quant byte and high bit pattern a file may hold, e.g. Q8_0's
// -128) against activations whose quants are all +-127: the SIMD integer products must not
// saturate anywhere.
TEST(Matmul, ExtremeQuantsMatchScalarOnEveryPath) {
  ThreadPool pool(1);
  const uint16_t scale = tensor::fp32_to_fp16(0.01f);
  std::mt19937 rng(99);
  for (Type t : {Type::Q4_0, Type::Q4_1, Type::Q5_0, Type::Q5_1, Type::Q8_0, Type::IQ4_NL}) {
    const int64_t rows = 9, cols = 320;
    const size_t block_bytes = tensor::info(t).block_bytes;
    std::vector<uint8_t> w(tensor::row_bytes(t, cols) * rows);
    for (auto& b : w) b = static_cast<uint8_t>(rng());
    const bool has_min = t == Type::Q4_1 || t == Type::Q5_1;
    for (size_t off = 0; off < w.size(); off += block_bytes) {
      std::memcpy(&w[off], &scale, 2);                   // d
      if (has_min) std::memcpy(&w[off + 2], &scale, 2);  // m
    }
    std::vector<float> x(static_cast<size_t>(5 * cols));
    for (auto& v : x) v = (rng() & 1) ? 3.0f : -3.0f;
    for (Isa isa : available_isas()) {
      std::vector<float> ref(static_cast<size_t>(rows * 5)), got(ref.size());
      for (int64_t batch : {1, 5}) {
        matmul({t, rows, cols, w.data()}, x.data(), batch, ref.data(), pool, Isa::Scalar);
        matmul({t, rows, cols, w.data()}, x.data(), batch, got.data(), pool, isa);
        EXPECT_LT(normalized_error(got, ref), 1e-5)
            << isa_name(isa) << " " << tensor::type_name(t) << " batch=" << batch;
      }
    }
  }
}

// The largest integer sums a kernel can meet: every quant at its extreme (all bits set; Q8_0's
// -128) against activations that are all +127 or all -127. The AVX2 decode folds 8 products of
// the 5-bit types in int16 lanes (8 * 31 * 127 = 31496): this is where it would overflow.
TEST(Matmul, ExtremeUniformBlocksMatchScalarOnEveryPath) {
  ThreadPool pool(1);
  const uint16_t scale = tensor::fp32_to_fp16(0.01f);
  for (Type t : {Type::Q4_0, Type::Q4_1, Type::Q5_0, Type::Q5_1, Type::Q8_0, Type::IQ4_NL}) {
    const int64_t rows = 5, cols = 416;  // 13 blocks: full groups and a partial one
    const size_t block_bytes = tensor::info(t).block_bytes;
    std::vector<uint8_t> w(tensor::row_bytes(t, cols) * rows, t == Type::Q8_0 ? 0x80 : 0xFF);
    const bool has_min = t == Type::Q4_1 || t == Type::Q5_1;
    for (size_t off = 0; off < w.size(); off += block_bytes) {
      std::memcpy(&w[off], &scale, 2);
      if (has_min) std::memcpy(&w[off + 2], &scale, 2);
    }
    for (float sign : {1.0f, -1.0f}) {
      const std::vector<float> x(static_cast<size_t>(cols), 3.0f * sign);
      std::vector<float> ref(static_cast<size_t>(rows)), got(ref.size());
      matmul({t, rows, cols, w.data()}, x.data(), 1, ref.data(), pool, Isa::Scalar);
      for (Isa isa : available_isas()) {
        matmul({t, rows, cols, w.data()}, x.data(), 1, got.data(), pool, isa);
        EXPECT_LT(normalized_error(got, ref), 1e-5)
            << isa_name(isa) << " " << tensor::type_name(t) << " sign=" << sign;
      }
    }
  }
}

// Large enough to be split across threads and to need several activation blocks.
TEST(Matmul, ThreadedLargeMatchesSingleThread) {
  ThreadPool one(1), two(2);
  for (Type t : testable_types()) {
    const int64_t rows = 301, cols = 1024, batch = 9;
    const auto w = make_weights(t, rows, cols, 5, nullptr);
    const auto x = random_floats(static_cast<size_t>(batch * cols), 6);
    std::vector<float> a(static_cast<size_t>(rows * batch)), b(a.size());
    const Matrix m{t, rows, cols, w.data()};
    matmul(m, x.data(), batch, a.data(), one);
    matmul(m, x.data(), batch, b.data(), two);
    EXPECT_EQ(a, b) << tensor::type_name(t);  // same kernels, same per-row order: bit-identical
  }
}

// Fewer rows than threads x row grain: the driver splits the activation rows instead.
TEST(Matmul, FewRowsManyActivationsMatchesSingleThread) {
  ThreadPool one(1), two(2);
  for (Type t : {Type::F32, Type::Q4_0, Type::Q8_0}) {
    const int64_t rows = 7, cols = 4096, batch = 33;
    const auto w = make_weights(t, rows, cols, 8, nullptr);
    const auto x = random_floats(static_cast<size_t>(batch * cols), 9);
    std::vector<float> a(static_cast<size_t>(rows * batch)), b(a.size());
    const Matrix m{t, rows, cols, w.data()};
    matmul(m, x.data(), batch, a.data(), one);
    matmul(m, x.data(), batch, b.data(), two);
    EXPECT_LT(normalized_error(b, a), 1e-5) << tensor::type_name(t);
  }
}

TEST(Matmul, RejectsBadShapesAndTypes) {
  ThreadPool pool(1);
  std::vector<uint8_t> w(4096);
  std::vector<float> x(64), y(8);
  EXPECT_THROW(matmul({Type::Q4_0, 1, 48, w.data()}, x.data(), 1, y.data(), pool), InvalidArgument);
  EXPECT_THROW(matmul({Type::I32, 1, 32, w.data()}, x.data(), 1, y.data(), pool), InvalidArgument);
  EXPECT_THROW(matmul({static_cast<Type>(999), 1, 32, w.data()}, x.data(), 1, y.data(), pool),
               InvalidArgument);
  // Zero rows or batch: nothing to do, no error.
  EXPECT_NO_THROW(matmul({Type::F32, 0, 32, w.data()}, x.data(), 1, y.data(), pool));
}

TEST(Isa, ScalarAlwaysAvailableAndBestIsListed) {
  const auto isas = available_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::Scalar);
  EXPECT_TRUE(testing::isa_available(best_isa()));
  EXPECT_EQ(isa_name(Isa::Avx512), "avx512");
}

}  // namespace
}  // namespace tandem::kernels
