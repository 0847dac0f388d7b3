// ops: every SIMD path against the scalar path (odd lengths to exercise tails), and the scalar
// ops against straightforward reference formulas.
#include "kernels/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ops_table.h"
#include "test_util.h"

namespace tandem::kernels {
namespace {

using detail::ops_table;
using testing::normalized_error;
using testing::random_floats;

const int64_t kLengths[] = {1, 7, 8, 15, 16, 17, 33, 64, 100, 4096 + 5};
constexpr double kSimdBound = 2e-6;

std::vector<uint16_t> to_f16(const std::vector<float>& x) {
  std::vector<uint16_t> h(x.size());
  for (size_t i = 0; i < x.size(); ++i) h[i] = tensor::fp32_to_fp16(x[i]);
  return h;
}

// Every path this binary and CPU have besides the scalar reference.
std::vector<Isa> simd_isas() {
  std::vector<Isa> out;
  for (Isa isa : available_isas())
    if (isa != Isa::Scalar) out.push_back(isa);
  return out;
}

TEST(Ops, SimdPathsMatchScalar) {
  const std::vector<Isa> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "no SIMD path compiled in or supported by this CPU; skipping";
  const detail::OpsTable& ref = ops_table(Isa::Scalar);
  for (Isa isa : isas) {
    const detail::OpsTable& t = ops_table(isa);
    for (int64_t n : kLengths) {
      const size_t un = static_cast<size_t>(n);
      const auto x = random_floats(un, 1, 3.0f), w = random_floats(un, 2), u = random_floats(un, 3);
      std::vector<float> a(un), b(un);
      SCOPED_TRACE(std::string(isa_name(isa)) + " n=" + std::to_string(n));

      t.rms_norm(x.data(), w.data(), n, 1e-5f, a.data());
      ref.rms_norm(x.data(), w.data(), n, 1e-5f, b.data());
      EXPECT_LT(normalized_error(a, b), kSimdBound) << "rms_norm";
      t.rms_norm(x.data(), nullptr, n, 1e-5f, a.data());
      ref.rms_norm(x.data(), nullptr, n, 1e-5f, b.data());
      EXPECT_LT(normalized_error(a, b), kSimdBound) << "rms_norm without weight";

      a = x, b = x;
      t.softmax(a.data(), n);
      ref.softmax(b.data(), n);
      EXPECT_LT(normalized_error(a, b), kSimdBound) << "softmax";

      a = x, b = x;
      t.silu(a.data(), n);
      ref.silu(b.data(), n);
      EXPECT_LT(normalized_error(a, b), kSimdBound) << "silu";

      t.swiglu(x.data(), u.data(), n, a.data());
      ref.swiglu(x.data(), u.data(), n, b.data());
      EXPECT_LT(normalized_error(a, b), kSimdBound) << "swiglu";

      a = x, b = x;
      t.gelu(a.data(), n);
      ref.gelu(b.data(), n);
      EXPECT_LT(normalized_error(a, b), kSimdBound) << "gelu";

      t.geglu(x.data(), u.data(), n, a.data());
      ref.geglu(x.data(), u.data(), n, b.data());
      EXPECT_LT(normalized_error(a, b), kSimdBound) << "geglu";

      const float d1 = t.dot_f32(x.data(), u.data(), n), d2 = ref.dot_f32(x.data(), u.data(), n);
      EXPECT_NEAR(d1, d2, 1e-5 * (std::sqrt(static_cast<double>(n)) * 3 + std::fabs(d2)))
          << "dot_f32";

      a = u, b = u;
      t.axpy(0.37f, x.data(), n, a.data());
      ref.axpy(0.37f, x.data(), n, b.data());
      EXPECT_LT(normalized_error(a, b), kSimdBound) << "axpy";

      const auto xh = to_f16(x);
      const float h1 = t.dot_f16_f32(xh.data(), u.data(), n);
      const float h2 = ref.dot_f16_f32(xh.data(), u.data(), n);
      EXPECT_NEAR(h1, h2, 1e-5 * (std::sqrt(static_cast<double>(n)) * 3 + std::fabs(h2)))
          << "dot_f16_f32";

      a = u, b = u;
      t.axpy_f16(-1.5f, xh.data(), n, a.data());
      ref.axpy_f16(-1.5f, xh.data(), n, b.data());
      EXPECT_LT(normalized_error(a, b), kSimdBound) << "axpy_f16";

      std::vector<uint16_t> ha(un), hb(un);
      t.f32_to_f16(x.data(), n, ha.data());
      ref.f32_to_f16(x.data(), n, hb.data());
      EXPECT_EQ(ha, hb) << "f32_to_f16";

      t.f16_to_f32(xh.data(), n, a.data());
      ref.f16_to_f32(xh.data(), n, b.data());
      EXPECT_EQ(a, b) << "f16_to_f32";

      // Rows of length n / 3 from scattered places, written with a gap (ld = len + 2).
      const int64_t len = std::max<int64_t>(1, n / 3);
      const uint16_t* rows[3] = {xh.data() + (n - len), xh.data(), xh.data() + (n - len) / 2};
      std::vector<float> ra(static_cast<size_t>(3 * (len + 2)), -7.0f), rb = ra;
      t.f16_rows_to_f32(rows, 3, len, ra.data(), len + 2);
      ref.f16_rows_to_f32(rows, 3, len, rb.data(), len + 2);
      EXPECT_EQ(ra, rb) << "f16_rows_to_f32";
      for (int r = 0; r < 3; ++r) {
        EXPECT_EQ(ra[static_cast<size_t>(r * (len + 2))], b[static_cast<size_t>(rows[r] - xh.data())]);
        EXPECT_EQ(ra[static_cast<size_t>(r * (len + 2) + len)], -7.0f);
      }
    }
  }
}

// The attention tiles: shapes around every path's register tile (rows 1-13, columns with and
// without a vector tail), A stored plainly and transposed, overwrite and accumulate.
TEST(Ops, GemmF32SimdPathsMatchScalar) {
  const std::vector<Isa> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "no SIMD path compiled in or supported by this CPU; skipping";
  const detail::OpsTable& ref = ops_table(Isa::Scalar);
  for (Isa isa : isas) {
    const detail::OpsTable& t = ops_table(isa);
    for (int64_t m : {1, 2, 3, 5, 6, 7, 13})
      for (int64_t n : {1, 8, 16, 24, 48, 64, 70})
        for (int64_t k : {1, 17, 64})
          for (bool transposed : {false, true})
            for (bool accumulate : {false, true}) {
              SCOPED_TRACE(std::string(isa_name(isa)) + " m=" + std::to_string(m) + " n=" +
                           std::to_string(n) + " k=" + std::to_string(k) +
                           (transposed ? " A^T" : "") + (accumulate ? " +=" : ""));
              const auto a = random_floats(static_cast<size_t>(m * k), 5);
              const auto b = random_floats(static_cast<size_t>(k * n + 3), 6);
              const auto c0 = random_floats(static_cast<size_t>(m * (n + 2)), 7);
              const int64_t a_row = transposed ? 1 : k, a_col = transposed ? m : 1;
              std::vector<float> c1 = c0, c2 = c0;  // ldc = n + 2: the gap must stay untouched
              t.gemm_f32(m, n, k, a.data(), a_row, a_col, b.data(), n, c1.data(), n + 2, accumulate);
              ref.gemm_f32(m, n, k, a.data(), a_row, a_col, b.data(), n, c2.data(), n + 2, accumulate);
              EXPECT_LT(normalized_error(c1, c2), kSimdBound);
              for (int64_t i = 0; i < m; ++i)
                for (int64_t g = n; g < n + 2; ++g)
                  ASSERT_EQ(c1[static_cast<size_t>(i * (n + 2) + g)], c0[static_cast<size_t>(i * (n + 2) + g)]);
            }
  }
}

// Two online steps over a split block give the softmax of the whole column; masked (-inf)
// scores give 0 and a column masked in the first block only still comes out right.
TEST(Ops, SoftmaxOnlineMatchesWholeSoftmaxOnEveryPath) {
  for (Isa isa : available_isas()) {
    const detail::OpsTable& t = ops_table(isa);
    for (int64_t n : {1, 7, 16, 21, 64}) {
      SCOPED_TRACE(std::string(isa_name(isa)) + " n=" + std::to_string(n));
      const int64_t rows = 11, ld = n + 1;
      auto s = random_floats(static_cast<size_t>(rows * ld), 8, 6.0f);
      for (int64_t j = 0; j < 5; ++j) s[static_cast<size_t>(j * ld)] = -INFINITY;  // column 0
      s[static_cast<size_t>(7 * ld + n - 1)] = -INFINITY;
      std::vector<float> want(static_cast<size_t>(rows * n));
      for (int64_t i = 0; i < n; ++i) {
        std::vector<float> col(static_cast<size_t>(rows));
        for (int64_t j = 0; j < rows; ++j) col[static_cast<size_t>(j)] = s[static_cast<size_t>(j * ld + i)];
        ops_table(Isa::Scalar).softmax(col.data(), rows);
        for (int64_t j = 0; j < rows; ++j) want[static_cast<size_t>(j * n + i)] = col[static_cast<size_t>(j)];
      }
      std::vector<float> mx(static_cast<size_t>(n), kSoftmaxFloor), sum(static_cast<size_t>(n), 0.0f),
          sc1(static_cast<size_t>(n)), sc2(static_cast<size_t>(n));
      t.softmax_online(s.data(), 5, n, ld, mx.data(), sum.data(), sc1.data());
      t.softmax_online(s.data() + 5 * ld, rows - 5, n, ld, mx.data(), sum.data(), sc2.data());
      std::vector<float> got(static_cast<size_t>(rows * n));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < rows; ++j) {
          const float e = s[static_cast<size_t>(j * ld + i)] * (j < 5 ? sc2[static_cast<size_t>(i)] : 1.0f);
          got[static_cast<size_t>(j * n + i)] = e / sum[static_cast<size_t>(i)];
        }
      EXPECT_LT(normalized_error(got, want), 1e-6);
      EXPECT_EQ(got[static_cast<size_t>(7 * n + n - 1)], 0.0f);
      for (float v : got) ASSERT_TRUE(std::isfinite(v));
    }
  }
}

TEST(Ops, SoftmaxHandlesMaskedScoresAndLargeValues) {
  for (Isa isa : available_isas()) {
    std::vector<float> x(37, -INFINITY);
    x[3] = 1000.0f;
    x[20] = 999.0f;
    ops_table(isa).softmax(x.data(), static_cast<int64_t>(x.size()));
    const double e = std::exp(-1.0);
    EXPECT_NEAR(x[3], 1.0 / (1.0 + e), 1e-6) << isa_name(isa);
    EXPECT_NEAR(x[20], e / (1.0 + e), 1e-6) << isa_name(isa);
    for (size_t i = 0; i < x.size(); ++i) {
      if (i == 3 || i == 20) continue;
      EXPECT_EQ(x[i], 0.0f) << isa_name(isa) << " index " << i;
    }
  }
}

TEST(Ops, GeluOfExtremesIsFinite) {
  for (Isa isa : available_isas()) {
    std::vector<float> x = {-200.0f, -10.0f, -1.0f, 0.0f, 1.0f, 10.0f, 200.0f, 0.5f};
    ops_table(isa).gelu(x.data(), 8);
    EXPECT_EQ(x[0], 0.0f) << isa_name(isa);
    EXPECT_NEAR(x[1], 0.0f, 1e-6) << isa_name(isa);
    EXPECT_EQ(x[3], 0.0f) << isa_name(isa);
    EXPECT_NEAR(x[5], 10.0f, 1e-5) << isa_name(isa);
    EXPECT_EQ(x[6], 200.0f) << isa_name(isa);
    EXPECT_NEAR(x[4], 0.8411920f, 1e-5) << isa_name(isa);
  }
}

TEST(Ops, SiluOfExtremesIsFinite) {
  for (Isa isa : available_isas()) {
    std::vector<float> x = {-200.0f, -90.0f, -20.0f, 0.0f, 20.0f, 90.0f, 200.0f, 1.0f};
    ops_table(isa).silu(x.data(), 8);
    EXPECT_NEAR(x[0], 0.0f, 1e-30) << isa_name(isa);
    EXPECT_NEAR(x[2], -20.0 / (1.0 + std::exp(20.0)), 1e-9) << isa_name(isa);
    EXPECT_EQ(x[3], 0.0f);
    EXPECT_NEAR(x[6], 200.0f, 1e-3) << isa_name(isa);
    EXPECT_NEAR(x[7], 1.0 / (1.0 + std::exp(-1.0)), 1e-6) << isa_name(isa);
  }
}

TEST(Ops, RmsNormMatchesFormula) {
  const std::vector<float> x = {1.0f, -2.0f, 3.0f, 0.5f};
  const std::vector<float> w = {1.0f, 2.0f, 0.5f, -1.0f};
  std::vector<float> out(4);
  rms_norm(x.data(), w.data(), 4, 1e-6f, out.data());
  const double rms = std::sqrt((1.0 + 4.0 + 9.0 + 0.25) / 4.0 + 1e-6);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i], x[i] / rms * w[i], 1e-6);
}

TEST(Ops, LayerNormMatchesFormula) {
  const std::vector<float> x = {1.0f, 2.0f, 4.0f, 9.0f};
  const std::vector<float> w = {1.0f, 2.0f, 0.5f, -1.0f}, b = {0.1f, 0.2f, 0.3f, 0.4f};
  std::vector<float> out(4);
  layer_norm(x.data(), w.data(), b.data(), 4, 1e-5f, out.data());
  const double mean = 4.0, var = (9.0 + 4.0 + 0.0 + 25.0) / 4.0;
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(out[i], (x[i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i], 1e-5);
  layer_norm(x.data(), nullptr, nullptr, 4, 1e-5f, out.data());
  EXPECT_NEAR(out[3], 5.0 / std::sqrt(var + 1e-5), 1e-5);
}

TEST(Ops, RopeRotatesNormalAndNeoxPairs) {
  const int64_t heads = 2, head_dim = 8, rot = 4, pos = 3;
  const float base = 10000.0f;
  const auto src = random_floats(static_cast<size_t>(heads * head_dim), 5);
  for (RopeStyle style : {RopeStyle::Normal, RopeStyle::NeoX}) {
    auto x = src;
    const float factors[2] = {1.0f, 2.0f};
    rope(x.data(), heads, head_dim, rot, pos, base, 0.5f, factors, 1.25f, style);
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < rot / 2; ++i) {
        const double freq = std::pow(base, -2.0 * i / rot) / factors[i];
        const double ang = pos * freq * 0.5;
        const int64_t a = h * head_dim + (style == RopeStyle::Normal ? 2 * i : i);
        const int64_t b = h * head_dim + (style == RopeStyle::Normal ? 2 * i + 1 : i + rot / 2);
        EXPECT_NEAR(x[a], 1.25 * (src[a] * std::cos(ang) - src[b] * std::sin(ang)), 1e-5);
        EXPECT_NEAR(x[b], 1.25 * (src[a] * std::sin(ang) + src[b] * std::cos(ang)), 1e-5);
      }
      // Dimensions past rot_dims are untouched.
      for (int64_t k = rot; k < head_dim; ++k) EXPECT_EQ(x[h * head_dim + k], src[h * head_dim + k]);
    }
  }
}

TEST(Ops, ActivationsAndElementwiseMatchFormulas) {
  const auto g = random_floats(19, 8, 2.0f), u = random_floats(19, 9);
  std::vector<float> out(19), x = g;
  gelu(x.data(), 19);
  geglu(g.data(), u.data(), 19, out.data());
  for (int i = 0; i < 19; ++i) {
    const double v = g[i];
    const double ref = 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(x[i], ref, 1e-5);
    EXPECT_NEAR(out[i], ref * u[i], 1e-5);
  }
  swiglu(g.data(), u.data(), 19, out.data());
  for (int i = 0; i < 19; ++i) EXPECT_NEAR(out[i], g[i] / (1.0 + std::exp(-g[i])) * u[i], 1e-5);
  add(g.data(), u.data(), 19, out.data());
  for (int i = 0; i < 19; ++i) EXPECT_EQ(out[i], g[i] + u[i]);
  mul(g.data(), u.data(), 19, out.data());
  for (int i = 0; i < 19; ++i) EXPECT_EQ(out[i], g[i] * u[i]);
  x = g;
  scale(x.data(), 19, 0.5f);
  for (int i = 0; i < 19; ++i) EXPECT_EQ(x[i], g[i] * 0.5f);
  double dot = 0.0;
  for (int i = 0; i < 19; ++i) dot += static_cast<double>(g[i]) * u[i];
  EXPECT_NEAR(dot_f32(g.data(), u.data(), 19), dot, 1e-5);
  x = u;
  axpy(2.0f, g.data(), 19, x.data());
  for (int i = 0; i < 19; ++i) EXPECT_FLOAT_EQ(x[i], u[i] + 2.0f * g[i]);
}

}  // namespace
}  // namespace tandem::kernels
