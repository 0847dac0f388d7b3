// k-quant tile kernels by instruction-set path, called directly (no driver, no threads), so each
// path's cost per weight block is visible on its own:
//   kquant/<type>/<isa>/hot/a<N>  - 128 x 2048 weights (L2-resident) x N activation rows:
//                                   compute cost, reported as ns per (weight block x activation row)
//   kquant/<type>/<isa>/cold/a1   - weights cycled through copies past the last-level cache:
//                                   single-thread decode, GB/s of weights streamed
// Usage: bench_kquant [--benchmark_filter=q4_K]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_weights.h"
#include "kernels/isa.h"
#include "kernels/kquant_kernels.h"
#include "tensor/convert.h"

namespace tandem::bench {
namespace {

using kernels::Isa;
using kernels::detail::GemmFn;
using tensor::Type;

constexpr int64_t kCols = 2048;
constexpr int64_t kHotRows = 128;
constexpr int64_t kColdRows = 8192;
constexpr size_t kColdFootprint = size_t{256} << 20;

// `copies` x rows quantized rows (16 distinct random rows repeated).
Buffer make_weights(Type t, int64_t rows, size_t copies) {
  return bench::make_weights(t, rows, kCols, copies);
}

std::vector<uint8_t> make_activations(int64_t n) {
  const size_t rb = tensor::row_bytes(Type::Q8_K, kCols);
  const auto x = random_floats(static_cast<size_t>(n * kCols), 2);
  std::vector<uint8_t> a(rb * static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j)
    tensor::quantize(Type::Q8_K, x.data() + j * kCols, a.data() + j * rb, kCols);
  return a;
}

GemmFn gemm_for(Type t, Isa isa) {
#if defined(__x86_64__)
  if (isa == Isa::Avx2) return kernels::detail::kquant_gemms_avx2().get(t);
  if (isa == Isa::Avx512) return kernels::detail::kquant_gemms_avx512().get(t);
#endif
  return kernels::detail::kquant_gemms_scalar().get(t);
}

void BM_hot(benchmark::State& state, Type t, Isa isa, int64_t n_act) {
  const GemmFn gemm = gemm_for(t, isa);
  const Buffer w = make_weights(t, kHotRows, 1);
  const auto a = make_activations(n_act);
  std::vector<float> out(static_cast<size_t>(kHotRows * n_act));
  const size_t rb = tensor::row_bytes(t, kCols), ab = tensor::row_bytes(Type::Q8_K, kCols);
  for (auto _ : state) {
    gemm(kCols, w.get(), rb, kHotRows, a.data(), ab, n_act, out.data(), kHotRows);
    benchmark::DoNotOptimize(out.data());
  }
  const double block_acts = static_cast<double>(kHotRows) * (kCols / tensor::kQK_K) * n_act;
  state.counters["ns/block"] = benchmark::Counter(
      block_acts * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_cold(benchmark::State& state, Type t, Isa isa) {
  const GemmFn gemm = gemm_for(t, isa);
  const size_t rb = tensor::row_bytes(t, kCols), ab = tensor::row_bytes(Type::Q8_K, kCols);
  const size_t matrix = rb * kColdRows;
  const size_t copies = std::max<size_t>(2, kColdFootprint / matrix);
  const Buffer w = make_weights(t, kColdRows, copies);
  const auto a = make_activations(1);
  std::vector<float> out(kColdRows);
  size_t i = 0;
  for (auto _ : state) {
    gemm(kCols, w.get() + (i++ % copies) * matrix, rb, kColdRows, a.data(), ab, 1, out.data(),
         kColdRows);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(matrix) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  const Type types[] = {Type::Q4_K, Type::Q6_K, Type::Q5_K, Type::Q3_K, Type::Q2_K, Type::IQ4_XS};
  for (Type t : types) {
    for (Isa isa : kernels::available_isas()) {
      const std::string base =
          "kquant/" + std::string(tensor::type_name(t)) + "/" + std::string(kernels::isa_name(isa));
      for (int64_t n : {1, 4, 8, 64})
        benchmark::RegisterBenchmark((base + "/hot/a" + std::to_string(n)).c_str(), BM_hot, t, isa, n);
      if (isa != Isa::Scalar)
        benchmark::RegisterBenchmark((base + "/cold/a1").c_str(), BM_cold, t, isa)
            ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  tandem::bench::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
