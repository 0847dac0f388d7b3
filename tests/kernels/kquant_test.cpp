// k-quant x Q8_K kernels: the scalar reference against float math on tensor::dequantize'd weights,
// and every SIMD path this CPU supports against the scalar reference, on random blocks (random
// bytes with sane fp16 scales, and tensor::quantize output) and odd tile shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm_table.h"
#include "kernels/kquant_kernels.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"
#include "test_util.h"
#include "util/cpu_features.h"

namespace tandem::kernels {
namespace {

using detail::GemmFn;
using detail::UnpackedKBlock;
using tensor::BlockQ8_K;
using tensor::kQK_K;
using tensor::Type;

// SIMD vs scalar: both form exact integer sums per super-block; only float conversion and
// summation order differ, so the error is a few float ulps of the sum of |terms|.
constexpr double kSimdTolerance = 1e-5;
// Scalar vs double-precision dot of dequantized values: float rounding only, same bound.
constexpr double kReferenceTolerance = 1e-5;

const Type kTypes[] = {Type::Q2_K, Type::Q3_K, Type::Q4_K, Type::Q5_K, Type::Q6_K, Type::IQ4_XS};

uint16_t fp16(float x) { return tensor::fp32_to_fp16(x); }

// Random bytes everywhere, then finite fp16 scales of realistic size in the d / dmin fields.
void sanitize_scales(Type t, uint8_t* block, std::mt19937& rng) {
  std::uniform_real_distribution<float> mag(1e-4f, 2e-2f);
  std::bernoulli_distribution neg(0.2);
  auto put = [&](size_t offset) {
    const uint16_t h = fp16(neg(rng) ? -mag(rng) : mag(rng));
    std::memcpy(block + offset, &h, 2);
  };
  switch (t) {
    case Type::Q2_K: put(offsetof(tensor::BlockQ2_K, d)); put(offsetof(tensor::BlockQ2_K, dmin)); break;
    case Type::Q3_K: put(offsetof(tensor::BlockQ3_K, d)); break;
    case Type::Q4_K: put(offsetof(tensor::BlockQ4_K, d)); put(offsetof(tensor::BlockQ4_K, dmin)); break;
    case Type::Q5_K: put(offsetof(tensor::BlockQ5_K, d)); put(offsetof(tensor::BlockQ5_K, dmin)); break;
    case Type::Q6_K: put(offsetof(tensor::BlockQ6_K, d)); break;
    case Type::IQ4_XS: put(offsetof(tensor::BlockIQ4_XS, d)); break;
    default: FAIL() << "not a k-quant type";
  }
}

enum class Source { RandomBytes, Quantized };

// rows x cols weights, each row `stride` bytes (>= row_bytes, padding filled with garbage).
std::vector<uint8_t> make_weights(Type t, int64_t rows, int64_t cols, size_t stride, Source src,
                                  uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> data(stride * static_cast<size_t>(rows));
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  const size_t block_bytes = tensor::info(t).block_bytes;
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = data.data() + r * stride;
    if (src == Source::Quantized) {
      const auto x = testing::random_floats(static_cast<size_t>(cols), seed + 1000 + r);
      tensor::quantize(t, x.data(), row, cols);
    } else {
      for (int64_t b = 0; b < cols / kQK_K; ++b) sanitize_scales(t, row + b * block_bytes, rng);
    }
  }
  return data;
}

// Q8_K activation rows with random int8 values over the full range (including -128) and exact
// bsums; rows `stride` bytes apart. A non-zero `constant` fills every value with it instead
// (the extremes -128 / 127 probe 16-bit saturation in the SIMD paths).
std::vector<uint8_t> make_activations(int64_t n, int64_t cols, size_t stride, uint32_t seed,
                                      int constant = 0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(1e-3f, 5e-2f);
  std::vector<uint8_t> data(stride * static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    auto* blocks = reinterpret_cast<BlockQ8_K*>(data.data() + j * stride);
    for (int64_t b = 0; b < cols / kQK_K; ++b) {
      BlockQ8_K& q = blocks[b];
      q.d = scale(rng);
      for (int i = 0; i < kQK_K; ++i) {
        const int v = constant != 0 ? constant : static_cast<int>(rng() % 256) - 128;
        q.qs[i] = static_cast<int8_t>(v);
      }
      for (int g = 0; g < 16; ++g) {
        int s = 0;
        for (int i = 0; i < 16; ++i) s += q.qs[16 * g + i];
        q.bsums[g] = static_cast<int16_t>(s);
      }
    }
  }
  return data;
}

void unpack(Type t, const uint8_t* block, UnpackedKBlock& u) {
  switch (t) {
    case Type::Q2_K: detail::unpack_q2_k(*reinterpret_cast<const tensor::BlockQ2_K*>(block), u); break;
    case Type::Q3_K: detail::unpack_q3_k(*reinterpret_cast<const tensor::BlockQ3_K*>(block), u); break;
    case Type::Q4_K: detail::unpack_q4_k(*reinterpret_cast<const tensor::BlockQ4_K*>(block), u); break;
    case Type::Q5_K: detail::unpack_q5_k(*reinterpret_cast<const tensor::BlockQ5_K*>(block), u); break;
    case Type::Q6_K: detail::unpack_q6_k(*reinterpret_cast<const tensor::BlockQ6_K*>(block), u); break;
    case Type::IQ4_XS: detail::unpack_iq4_xs(*reinterpret_cast<const tensor::BlockIQ4_XS*>(block), u); break;
    default: FAIL();
  }
}

// Sum over the row of |a_k| * (|d * scale * q_k| + |dmin * min|): the size of the terms whose
// rounding the tolerances are relative to.
double magnitude(Type t, const uint8_t* wrow, const uint8_t* arow, int64_t cols) {
  const auto* act = reinterpret_cast<const BlockQ8_K*>(arow);
  const size_t block_bytes = tensor::info(t).block_bytes;
  double m = 0.0;
  UnpackedKBlock u;
  for (int64_t b = 0; b < cols / kQK_K; ++b) {
    unpack(t, wrow + b * block_bytes, u);
    for (int i = 0; i < kQK_K; ++i) {
      const double w = std::fabs(double{u.d} * u.scale[i / 16] * u.q[i]) +
                       std::fabs(double{u.dmin} * u.min[i / 16]);
      m += w * std::fabs(double{act[b].d} * act[b].qs[i]);
    }
  }
  return m;
}

struct Tile {
  int64_t rows, n_act, cols;
};

const Tile kTiles[] = {{1, 1, 256},  {3, 1, 512},   {17, 1, 768},  {1, 2, 256},  {5, 3, 512},
                       {16, 4, 256}, {19, 5, 1024}, {7, 8, 256},   {33, 9, 512}, {4, 13, 256},
                       {40, 17, 768}, {2, 1, 4096}};

// Runs gemm on one tile with padded strides; checks every output against `expect` (or fills it
// when null) and that the gaps of the strided output stay untouched.
std::vector<float> run(GemmFn gemm, Type t, const Tile& tile, Source src, uint32_t seed,
                       const std::vector<float>* expect, double tolerance, const char* what,
                       int act_constant = 0) {
  const size_t w_stride = tensor::row_bytes(t, tile.cols) + 64;
  const size_t a_stride = static_cast<size_t>(tile.cols / kQK_K) * sizeof(BlockQ8_K) + 4 * 9;
  const size_t out_stride = static_cast<size_t>(tile.rows) + 3;
  const auto w = make_weights(t, tile.rows, tile.cols, w_stride, src, seed);
  const auto a = make_activations(tile.n_act, tile.cols, a_stride, seed + 7, act_constant);
  constexpr float kSentinel = 12345.0f;
  std::vector<float> out(out_stride * static_cast<size_t>(tile.n_act), kSentinel);
  gemm(tile.cols, w.data(), w_stride, tile.rows, a.data(), a_stride, tile.n_act, out.data(),
       out_stride);
  for (int64_t j = 0; j < tile.n_act; ++j) {
    for (int64_t i = 0; i < static_cast<int64_t>(out_stride); ++i) {
      const float got = out[j * out_stride + i];
      if (i >= tile.rows) {
        EXPECT_EQ(got, kSentinel) << what << ": wrote outside the tile at row " << i;
        continue;
      }
      if (expect == nullptr) continue;
      const double m = magnitude(t, w.data() + i * w_stride, a.data() + j * a_stride, tile.cols);
      const float want = (*expect)[j * out_stride + i];
      EXPECT_LE(std::fabs(static_cast<double>(got) - want), tolerance * m + 1e-30)
          << what << " " << tensor::type_name(t) << " rows=" << tile.rows << " n_act="
          << tile.n_act << " cols=" << tile.cols << " at (" << i << ", " << j << "): got " << got
          << " want " << want << " magnitude " << m;
    }
  }
  return out;
}

class KQuantScalar : public ::testing::TestWithParam<Type> {};

TEST_P(KQuantScalar, MatchesDequantizedFloatDot) {
  const Type t = GetParam();
  const GemmFn gemm = detail::kquant_gemms_scalar().get(t);
  ASSERT_NE(gemm, nullptr);
  for (Source src : {Source::RandomBytes, Source::Quantized}) {
    if (src == Source::Quantized && !tensor::can_quantize(t)) continue;
    const int64_t rows = 9, n_act = 3, cols = 1024;
    const size_t w_stride = tensor::row_bytes(t, cols);
    const size_t a_stride = static_cast<size_t>(cols / kQK_K) * sizeof(BlockQ8_K);
    const auto w = make_weights(t, rows, cols, w_stride, src, 42);
    const auto a = make_activations(n_act, cols, a_stride, 43);
    std::vector<float> out(static_cast<size_t>(rows * n_act));
    gemm(cols, w.data(), w_stride, rows, a.data(), a_stride, n_act, out.data(), rows);
    std::vector<float> wf(static_cast<size_t>(cols)), af(static_cast<size_t>(cols));
    for (int64_t j = 0; j < n_act; ++j) {
      tensor::dequantize(Type::Q8_K, a.data() + j * a_stride, af.data(), cols);
      for (int64_t i = 0; i < rows; ++i) {
        tensor::dequantize(t, w.data() + i * w_stride, wf.data(), cols);
        double ref = 0.0;
        for (int64_t k = 0; k < cols; ++k) ref += static_cast<double>(wf[k]) * af[k];
        const double m = magnitude(t, w.data() + i * w_stride, a.data() + j * a_stride, cols);
        EXPECT_LE(std::fabs(out[j * rows + i] - ref), kReferenceTolerance * m)
            << tensor::type_name(t) << (src == Source::Quantized ? " quantized" : " random")
            << " row " << i << " act " << j << ": got " << out[j * rows + i] << " want " << ref;
      }
    }
  }
}

TEST_P(KQuantScalar, HandlesEveryTileShape) {
  const Type t = GetParam();
  const GemmFn gemm = detail::kquant_gemms_scalar().get(t);
  for (const Tile& tile : kTiles) run(gemm, t, tile, Source::RandomBytes, 5, nullptr, 0, "scalar");
}

std::string type_param_name(const ::testing::TestParamInfo<Type>& info) {
  return std::string(tensor::type_name(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KQuantScalar, ::testing::ValuesIn(kTypes), type_param_name);

#if defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__)

detail::KQuantGemms gemms_of(Isa isa) {
#if defined(__aarch64__)
  // The variant the kernel table uses on this CPU (SDOT when it has dotprod).
  return CpuFeatures::get().dotprod ? detail::kquant_gemms_neon_dotprod() : detail::kquant_gemms_neon();
#else
  return isa == Isa::Avx512 ? detail::kquant_gemms_avx512() : detail::kquant_gemms_avx2();
#endif
}

class KQuantSimd : public ::testing::TestWithParam<std::tuple<Type, Isa>> {};

TEST_P(KQuantSimd, MatchesScalar) {
  const auto [t, isa] = GetParam();
  if (!testing::isa_available(isa))
    GTEST_SKIP() << "this CPU lacks " << isa_name(isa) << "; its k-quant kernels are not tested";
  const GemmFn simd = gemms_of(isa).get(t);
  const GemmFn scalar = detail::kquant_gemms_scalar().get(t);
  ASSERT_NE(simd, nullptr);
  uint32_t seed = 100;
  for (Source src : {Source::RandomBytes, Source::Quantized}) {
    if (src == Source::Quantized && !tensor::can_quantize(t)) continue;
    for (const Tile& tile : kTiles) {
      ++seed;
      const auto want = run(scalar, t, tile, src, seed, nullptr, 0, "scalar");
      run(simd, t, tile, src, seed, &want, kSimdTolerance, std::string(isa_name(isa)).c_str());
    }
  }
}

// Every activation at -128 or 127 and random weight bytes (all scale / value bits set somewhere):
// the largest 16-bit pair sums the SIMD paths form must not saturate.
TEST_P(KQuantSimd, ExtremeActivationsDoNotSaturate) {
  const auto [t, isa] = GetParam();
  if (!testing::isa_available(isa))
    GTEST_SKIP() << "this CPU lacks " << isa_name(isa) << "; its k-quant kernels are not tested";
  const GemmFn simd = gemms_of(isa).get(t);
  const GemmFn scalar = detail::kquant_gemms_scalar().get(t);
  const Tile tile{9, 5, 512};
  for (int value : {-128, 127}) {
    const auto want = run(scalar, t, tile, Source::RandomBytes, 77, nullptr, 0, "scalar", value);
    run(simd, t, tile, Source::RandomBytes, 77, &want, kSimdTolerance,
        std::string(isa_name(isa)).c_str(), value);
  }
}

std::string simd_param_name(const ::testing::TestParamInfo<std::tuple<Type, Isa>>& info) {
  return std::string(tensor::type_name(std::get<0>(info.param))) + "_" +
         std::string(isa_name(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KQuantSimd,
                         ::testing::Combine(::testing::ValuesIn(kTypes),
#if defined(__aarch64__)
                                            ::testing::Values(Isa::Neon)),
#else
                                            ::testing::Values(Isa::Avx2, Isa::Avx512)),
#endif
                         simd_param_name);

#endif

TEST(KQuantRegister, FillsEveryTypeWithQ8KActivations) {
  for (Isa isa : available_isas()) {
    detail::KernelTable table;
    detail::register_kquant_kernels(isa, table);
    for (Type t : kTypes) {
      EXPECT_NE(table[t].gemm, nullptr) << isa_name(isa) << " " << tensor::type_name(t);
      EXPECT_EQ(table[t].act_type, Type::Q8_K) << isa_name(isa) << " " << tensor::type_name(t);
    }
  }
}

}  // namespace
}  // namespace tandem::kernels
