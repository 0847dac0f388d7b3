// Panel GEMM kernels (panel_*_avx512.cpp, panel_*_avx2.cpp) against the scalar reference
// kernels, for every instruction set and type that has one: quantized and random-byte weights, row
// counts around the 16-row tile, activation counts around the 8-row pass, several multiples of the
// block size, padded strides.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm_table.h"
#include "kernels/matmul.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"
#include "test_util.h"
#include "util/thread_pool.h"

namespace tandem::kernels {
namespace {

using detail::GemmFn;
using tensor::Type;

// Both sides form the same integer sums per block; only the float conversion and summation order
// differ, so the error is a few float ulps of the sum of |terms| (measured below 1e-6).
constexpr double kTolerance = 2e-5;

const Type kTypes[] = {Type::Q4_0,   Type::Q4_1, Type::Q5_0, Type::Q5_1, Type::Q8_0,
                       Type::IQ4_NL, Type::Q4_K, Type::Q5_K, Type::Q6_K};

// Instruction sets with panel kernels, and the types each covers.
struct PanelPath {
  Isa isa;
  std::vector<Type> types;
};
std::vector<PanelPath> panel_paths() {
  std::vector<PanelPath> out;
  const std::vector<Type> all(std::begin(kTypes), std::end(kTypes));
  if (testing::isa_available(Isa::Avx2)) out.push_back({Isa::Avx2, all});
  if (testing::isa_available(Isa::Avx512)) out.push_back({Isa::Avx512, all});
  return out;
}

GemmFn panel_fn(Isa isa, Type t) { return detail::kernel_table(isa)[t].panel; }

// Offsets of the fp16 scale fields of a block, which random bytes must not fill with NaN / huge
// values.
std::vector<size_t> scale_fields(Type t) {
  switch (t) {
    case Type::Q4_0:
    case Type::Q5_0:
    case Type::Q8_0:
    case Type::IQ4_NL:
      return {0};
    case Type::Q4_1:
    case Type::Q5_1:
      return {0, 2};
    case Type::Q4_K:
    case Type::Q5_K:
      return {0, 2};
    case Type::Q6_K:
      return {offsetof(tensor::BlockQ6_K, d)};
    default:
      return {};
  }
}

enum class Source { Quantized, RandomBytes };

// rows x cols weights, each row `stride` bytes (>= row_bytes; padding holds garbage).
std::vector<uint8_t> make_weights(Type t, int64_t rows, int64_t cols, size_t stride, Source src,
                                  uint32_t seed) {
  const size_t row_bytes = tensor::row_bytes(t, cols);
  std::mt19937 rng(seed);
  std::vector<uint8_t> data(stride * static_cast<size_t>(rows));
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  if (src == Source::Quantized) {
    const auto x = testing::random_floats(static_cast<size_t>(rows * cols), seed + 1);
    for (int64_t r = 0; r < rows; ++r)
      tensor::quantize(t, x.data() + r * cols, data.data() + r * stride, cols);
    return data;
  }
  const size_t block_bytes = tensor::info(t).block_size == 32
                                 ? row_bytes / static_cast<size_t>(cols / 32)
                                 : row_bytes / static_cast<size_t>(cols / 256);
  std::uniform_real_distribution<float> mag(1e-3f, 2e-2f);
  std::bernoulli_distribution neg(0.3);
  for (int64_t r = 0; r < rows; ++r)
    for (size_t b = 0; b < row_bytes / block_bytes; ++b)
      for (size_t off : scale_fields(t)) {
        const uint16_t h = tensor::fp32_to_fp16(neg(rng) ? -mag(rng) : mag(rng));
        std::memcpy(data.data() + r * stride + b * block_bytes + off, &h, 2);
      }
  return data;
}

struct Case {
  Isa isa;
  Type type;
  int64_t rows, cols, n_act;
  size_t w_pad = 0, out_pad = 0;
  Source src = Source::Quantized;
};

std::string describe(const Case& c) {
  return std::string(isa_name(c.isa)) + " " + std::string(tensor::type_name(c.type)) +
         " rows=" + std::to_string(c.rows) + " cols=" + std::to_string(c.cols) +
         " n_act=" + std::to_string(c.n_act) +
         (c.src == Source::RandomBytes ? " random bytes" : " quantized");
}

// Runs the panel kernel and the scalar reference on the same converted activations.
double run_case(const Case& c, uint32_t seed) {
  const auto& scalar = detail::kernel_table(Isa::Scalar)[c.type];
  const size_t w_stride = tensor::row_bytes(c.type, c.cols) + c.w_pad;
  const auto w = make_weights(c.type, c.rows, c.cols, w_stride, c.src, seed);
  const size_t a_stride = tensor::row_bytes(scalar.act_type, c.cols);
  const auto x = testing::random_floats(static_cast<size_t>(c.n_act * c.cols), seed + 7);
  std::vector<uint8_t> a(a_stride * static_cast<size_t>(c.n_act));
  for (int64_t j = 0; j < c.n_act; ++j)
    detail::convert_activation_row(Isa::Scalar, scalar.act_type, x.data() + j * c.cols,
                                   a.data() + j * a_stride, c.cols);
  const size_t out_stride = static_cast<size_t>(c.rows) + c.out_pad;
  std::vector<float> want(out_stride * static_cast<size_t>(c.n_act), -1.0f), got = want;
  scalar.gemm(c.cols, w.data(), w_stride, c.rows, a.data(), a_stride, c.n_act, want.data(),
              out_stride);
  panel_fn(c.isa, c.type)(c.cols, w.data(), w_stride, c.rows, a.data(), a_stride, c.n_act,
                          got.data(), out_stride);
  // Padding between output rows must be untouched.
  for (int64_t j = 0; j < c.n_act; ++j)
    for (size_t i = static_cast<size_t>(c.rows); i < out_stride; ++i)
      EXPECT_EQ(got[j * out_stride + i], -1.0f) << describe(c) << " wrote past its rows";
  return testing::normalized_error(got, want);
}

TEST(PanelGemm, RegisteredForEveryTargetType) {
  if (panel_paths().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 VNNI on this CPU";
  for (const PanelPath& path : panel_paths())
    for (Type t : path.types) {
      EXPECT_NE(panel_fn(path.isa, t), nullptr)
          << isa_name(path.isa) << " " << tensor::type_name(t);
      EXPECT_EQ(detail::kernel_table(path.isa)[t].act_type,
                detail::kernel_table(Isa::Scalar)[t].act_type);
      EXPECT_GE(detail::kernel_table(path.isa)[t].panel_min_acts, 2);
    }
  // The scalar path never gets a panel kernel.
  EXPECT_EQ(detail::kernel_table(Isa::Scalar)[Type::Q4_0].panel, nullptr);
  EXPECT_EQ(detail::kernel_table(Isa::Scalar)[Type::Q4_K].panel, nullptr);
}

TEST(PanelGemm, MatchesScalarOnManyShapes) {
  if (panel_paths().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 VNNI on this CPU";
  uint32_t seed = 1;
  for (const PanelPath& path : panel_paths())
    for (Type t : path.types) {
      const int64_t bs = tensor::info(t).block_size;
      const std::vector<int64_t> blocks =
          bs == 32 ? std::vector<int64_t>{1, 2, 3, 4, 5, 7, 28} : std::vector<int64_t>{1, 2, 3, 5};
      for (int64_t nb : blocks)
        for (int64_t rows : {1, 7, 16, 17, 40})
          for (int64_t n_act : {2, 3, 8, 9, 19}) {
            const Case c{path.isa,
                         t,
                         rows,
                         nb * bs,
                         n_act,
                         static_cast<size_t>(rows % 3) * 5,
                         static_cast<size_t>(n_act % 2) * 3};
            const double err = run_case(c, seed++);
            EXPECT_LT(err, kTolerance) << describe(c);
          }
    }
}

TEST(PanelGemm, MatchesScalarOnRandomBytes) {
  if (panel_paths().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 VNNI on this CPU";
  uint32_t seed = 1000;
  for (const PanelPath& path : panel_paths())
    for (Type t : path.types) {
      const int64_t bs = tensor::info(t).block_size;
      for (int64_t rows : {5, 16, 33})
        for (int64_t n_act : {2, 6, 11}) {
          Case c{path.isa, t, rows, (bs == 32 ? 9 : 3) * bs, n_act};
          c.src = Source::RandomBytes;
          const double err = run_case(c, seed++);
          EXPECT_LT(err, kTolerance) << describe(c);
        }
    }
}

// Every activation count up to 70 on one shape per type (the passes and their remainders).
TEST(PanelGemm, EveryActivationCountUpTo70) {
  if (panel_paths().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 VNNI on this CPU";
  uint32_t seed = 5000;
  for (const PanelPath& path : panel_paths())
    for (Type t : path.types) {
      const int64_t cols = tensor::info(t).block_size == 32 ? 96 : 512;
      for (int64_t n_act = 2; n_act <= 70; ++n_act) {
        const Case c{path.isa, t, 21, cols, n_act};
        const double err = run_case(c, seed++);
        EXPECT_LT(err, kTolerance) << describe(c);
      }
    }
}

// Through the driver: threads, activation blocking and the panel switch together, on shapes of
// real models (896 columns: Qwen2.5-0.5B; 2048: Llama-3.2-1B), against the scalar path.
TEST(PanelGemm, MatmulDriverMatchesScalar) {
  if (panel_paths().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 VNNI on this CPU";
  ThreadPool pool(2);
  for (const PanelPath& path : panel_paths())
    for (Type t : path.types) {
      const int64_t cols = tensor::info(t).block_size == 32 ? 896 : 2048;
      for (int64_t batch : {2, 4, 8, 67}) {
        const int64_t rows = 72;
        const auto w = testing::make_weights(t, rows, cols, 3, nullptr);
        const auto x = testing::random_floats(static_cast<size_t>(batch * cols), 4);
        std::vector<float> want(static_cast<size_t>(rows * batch)), got(want.size());
        const Matrix m{t, rows, cols, w.data()};
        matmul(m, x.data(), batch, want.data(), pool, Isa::Scalar);
        matmul(m, x.data(), batch, got.data(), pool, path.isa);
        EXPECT_LT(testing::normalized_error(got, want), kTolerance)
            << isa_name(path.isa) << " " << tensor::type_name(t) << " batch=" << batch;
      }
    }
}

}  // namespace
}  // namespace tandem::kernels
