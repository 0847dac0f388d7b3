// Standalone check of the NEON kernels against the scalar reference, for cross builds where
// GoogleTest is not available for the target (aarch64 under qemu-aarch64). Links only
// tandem_kernels; prints the worst normalized error per kernel and exits non-zero when any
// exceeds the bound the GoogleTest suite uses (tests/kernels/*_test.cpp). The same comparisons
// run in kernels_test on a native aarch64 build (they iterate over available_isas()).
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "kernels/gemm_table.h"
#include "kernels/isa.h"
#include "kernels/kquant_kernels.h"
#include "kernels/matmul.h"
#include "kernels/ops_table.h"
#include "test_util.h"
#include "util/cpu_features.h"
#include "util/thread_pool.h"

namespace {

using namespace tandem;
using namespace tandem::kernels;
using tensor::Type;
using testing::make_weights;
using testing::normalized_error;
using testing::random_floats;

int g_failures = 0;
std::map<std::string, double> g_worst;  // kernel -> worst normalized error seen

void record(const std::string& kernel, double err, double bound, const std::string& where) {
  double& worst = g_worst[kernel];
  if (err > worst) worst = err;
  if (!(err <= bound)) {
    ++g_failures;
    std::printf("FAIL %s %s: normalized error %.3g > %.3g\n", kernel.c_str(), where.c_str(), err,
                bound);
  }
}

// Activation quantization must match the scalar bytes exactly.
void check_act_quant() {
  for (Type t : {Type::Q8_0, Type::Q8_1, Type::Q8_K}) {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
      const int64_t n = 256 * (1 + seed % 4);
      auto x = random_floats(static_cast<size_t>(n), seed, seed % 3 == 0 ? 1e-3f : 2.0f);
      if (seed == 7)
        for (int i = 0; i < 32; ++i) x[static_cast<size_t>(i)] = 0.0f;  // an all-zero block
      std::vector<uint8_t> want(tensor::row_bytes(t, n)), got(want.size());
      detail::convert_activation_row(Isa::Scalar, t, x.data(), want.data(), n);
      detail::convert_activation_row(Isa::Neon, t, x.data(), got.data(), n);
      const bool same = want == got;
      record(std::string("act_quant ") + std::string(tensor::type_name(t)), same ? 0.0 : 1.0, 0.0,
             "seed " + std::to_string(seed));
    }
  }
}

void check_ops() {
  const detail::OpsTable& ref = detail::ops_table(Isa::Scalar);
  const detail::OpsTable& t = detail::ops_table(Isa::Neon);
  constexpr double kBound = 2e-6;  // ops_test.cpp's kSimdBound
  for (int64_t n : {1, 3, 4, 7, 8, 15, 16, 17, 33, 64, 100, 4096 + 5}) {
    const size_t un = static_cast<size_t>(n);
    const std::string where = "n=" + std::to_string(n);
    const auto x = random_floats(un, 1, 3.0f), w = random_floats(un, 2), u = random_floats(un, 3);
    std::vector<float> a(un), b(un);
    t.rms_norm(x.data(), w.data(), n, 1e-5f, a.data());
    ref.rms_norm(x.data(), w.data(), n, 1e-5f, b.data());
    record("rms_norm", normalized_error(a, b), kBound, where);
    a = x, b = x;
    t.softmax(a.data(), n);
    ref.softmax(b.data(), n);
    record("softmax", normalized_error(a, b), kBound, where);
    a = x, b = x;
    t.silu(a.data(), n);
    ref.silu(b.data(), n);
    record("silu", normalized_error(a, b), kBound, where);
    t.swiglu(x.data(), u.data(), n, a.data());
    ref.swiglu(x.data(), u.data(), n, b.data());
    record("swiglu", normalized_error(a, b), kBound, where);
    a = x, b = x;
    t.gelu(a.data(), n);
    ref.gelu(b.data(), n);
    record("gelu", normalized_error(a, b), kBound, where);
    t.geglu(x.data(), u.data(), n, a.data());
    ref.geglu(x.data(), u.data(), n, b.data());
    record("geglu", normalized_error(a, b), kBound, where);
    record("dot_f32", normalized_error({t.dot_f32(x.data(), u.data(), n)}, {ref.dot_f32(x.data(), u.data(), n)}),
           1e-5, where);
    a = w, b = w;
    t.axpy(0.75f, x.data(), n, a.data());
    ref.axpy(0.75f, x.data(), n, b.data());
    record("axpy", normalized_error(a, b), kBound, where);
    std::vector<uint16_t> h(un), h_ref(un);
    t.f32_to_f16(x.data(), n, h.data());
    ref.f32_to_f16(x.data(), n, h_ref.data());
    record("f32_to_f16", h == h_ref ? 0.0 : 1.0, 0.0, where);
    record("dot_f16_f32",
           normalized_error({t.dot_f16_f32(h_ref.data(), u.data(), n)}, {ref.dot_f16_f32(h_ref.data(), u.data(), n)}),
           1e-5, where);
    a = w, b = w;
    t.axpy_f16(-1.5f, h_ref.data(), n, a.data());
    ref.axpy_f16(-1.5f, h_ref.data(), n, b.data());
    record("axpy_f16", normalized_error(a, b), kBound, where);
  }
}

// matmul through the driver, every type, against Isa::Scalar (matmul_test.cpp's
// check_against_scalar: integer dots are exact, only float summation order differs).
void check_matmul() {
  constexpr double kBound = 1e-4;
  ThreadPool pool(2);
  for (Type t : {Type::Q4_0, Type::Q4_1, Type::Q5_0, Type::Q5_1, Type::Q8_0, Type::IQ4_NL,
                 Type::Q4_K, Type::Q5_K, Type::Q6_K, Type::Q2_K, Type::Q3_K, Type::IQ4_XS,
                 Type::F32, Type::F16, Type::BF16}) {
    const bool is_float = t == Type::F32 || t == Type::F16 || t == Type::BF16;
    if (!matmul_supports(t) || !(is_float || tensor::can_quantize(t))) continue;
    const int64_t bs = tensor::info(t).block_size;
    for (int64_t rows : {1, 5, 16, 37}) {
      for (int64_t cols : {bs, 3 * bs, 640 / bs * bs + bs}) {
        const auto w = make_weights(t, rows, cols, static_cast<uint32_t>(rows * 31 + cols), nullptr);
        const auto x = random_floats(static_cast<size_t>(17 * cols), 3);
        for (int64_t batch : {1, 2, 3, 4, 5, 8, 9, 17}) {
          std::vector<float> ref(static_cast<size_t>(rows * batch)), got(ref.size());
          const Matrix m{t, rows, cols, w.data()};
          matmul(m, x.data(), batch, ref.data(), pool, Isa::Scalar);
          matmul(m, x.data(), batch, got.data(), pool, Isa::Neon);
          record("matmul " + std::string(tensor::type_name(t)), normalized_error(got, ref), kBound,
                 "rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) +
                     " batch=" + std::to_string(batch));
        }
      }
    }
  }
}

// The k-quant kernels on raw random bytes (every scale / value bit pattern) with activations at
// the int8 extremes, as kquant_test.cpp's ExtremeActivationsDoNotSaturate does.
// Both NEON variants are checked directly (the SDOT one only when the CPU has dotprod).
void check_kquant_random_bytes(const detail::KQuantGemms& neon, const char* variant) {
  const detail::KQuantGemms scalar = detail::kquant_gemms_scalar();
  for (Type t : {Type::Q4_K, Type::Q5_K, Type::Q6_K}) {
    const int64_t rows = 9, acts = 5, cols = 512;
    const size_t row_bytes = tensor::row_bytes(t, cols);
    std::vector<uint8_t> w(row_bytes * rows);
    std::mt19937 rng(77);
    for (auto& byte : w) byte = static_cast<uint8_t>(rng());
    // Keep the fp16 scales finite and small: overwrite every block's d (and dmin) fields.
    const size_t block_bytes = tensor::info(t).block_bytes;
    for (size_t off = 0; off < w.size(); off += block_bytes) {
      const uint16_t half = tensor::fp32_to_fp16(0.01f);
      const size_t d_at = t == Type::Q6_K ? block_bytes - 2 : 0;
      std::memcpy(&w[off + d_at], &half, 2);
      if (t != Type::Q6_K) std::memcpy(&w[off + 2], &half, 2);
    }
    for (int value : {-128, 127, 0}) {
      std::vector<tensor::BlockQ8_K> a(static_cast<size_t>(acts * cols / 256));
      for (auto& blk : a) {
        blk.d = 0.02f;
        for (int8_t& q : blk.qs) q = static_cast<int8_t>(value != 0 ? value : static_cast<int>(rng() % 255) - 127);
        for (int g = 0; g < 16; ++g) {
          int s = 0;
          for (int i = 0; i < 16; ++i) s += blk.qs[16 * g + i];
          blk.bsums[g] = static_cast<int16_t>(s);
        }
      }
      std::vector<float> want(static_cast<size_t>(rows * acts)), got(want.size());
      const size_t a_stride = sizeof(tensor::BlockQ8_K) * static_cast<size_t>(cols / 256);
      scalar.get(t)(cols, w.data(), row_bytes, rows, a.data(), a_stride, acts, want.data(), rows);
      neon.get(t)(cols, w.data(), row_bytes, rows, a.data(), a_stride, acts, got.data(), rows);
      record(std::string("kquant bytes ") + variant + " " + std::string(tensor::type_name(t)),
             normalized_error(got, want), 1e-5,
             "value " + std::to_string(value));
    }
  }
}

}  // namespace

int main() {
  std::printf("isas:");
  for (Isa isa : available_isas()) std::printf(" %s", std::string(isa_name(isa)).c_str());
  std::printf("  (best %s)\n", std::string(isa_name(best_isa())).c_str());
  std::printf("int8 dot products of the NEON tables: %s\n",
              CpuFeatures::get().dotprod ? "SDOT (CPU has dotprod)" : "SMULL + SADALP (ARMv8.0)");
  if (!testing::isa_available(Isa::Neon)) {
    std::printf("NEON path not available in this build\n");
    return 1;
  }
  check_act_quant();
  check_ops();
  check_matmul();
  check_kquant_random_bytes(detail::kquant_gemms_neon(), "armv8.0");
  if (CpuFeatures::get().dotprod) check_kquant_random_bytes(detail::kquant_gemms_neon_dotprod(), "sdot");
  for (const auto& [kernel, err] : g_worst) std::printf("%-24s max normalized error %.3g\n", kernel.c_str(), err);
  std::printf("%s: %d failure(s)\n", g_failures == 0 ? "PASS" : "FAIL", g_failures);
  return g_failures == 0 ? 0 : 1;
}
