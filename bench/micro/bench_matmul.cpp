// Matmul micro-benchmarks: weights streamed (GB/s) and GFLOP/s per weight type and shape, for one
// activation row (decode, memory-bound) and 64 (prompt, compute-bound), on 2 threads; plus a
// streaming-read probe so each matmul's share of the machine's read bandwidth comes from one run
// (printed as a summary at the end).
//
// Weights are cycled through enough copies to exceed the last-level cache, as in a real decode
// step where every matrix comes from DRAM (matmul_hot/ reuses one copy instead: the kernel's
// compute ceiling from cache). Usage: bench_matmul [--benchmark_filter=...]
// The summary's ratios take one probe run against matmuls timed seconds later; when the host's
// bandwidth moves, bench_decode_ratio (decode_ratio.cpp) times them in pairs instead.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bandwidth_probe.h"
#include "bench_weights.h"
#include "kernels/interleave.h"
#include "kernels/matmul.h"
#include "tensor/convert.h"
#include "util/thread_pool.h"

namespace tandem::bench {
namespace {

using tensor::Type;

// 2 threads as the acceptance bar asks; TANDEM_BENCH_THREADS overrides it for diagnosis.
int threads() {
  static const int n = [] {
    const char* env = std::getenv("TANDEM_BENCH_THREADS");
    return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 2;
  }();
  return n;
}
constexpr size_t kColdFootprint = size_t{512} << 20;  // well past any L3 we run on
constexpr size_t kProbeBytes = size_t{1} << 30;

ThreadPool& pool() {
  static ThreadPool p(threads());
  return p;
}

// `footprint`: bytes of weight copies to cycle through (kColdFootprint: from DRAM; 0: one copy,
// which stays in L2/L3 when small, measuring the kernel's compute ceiling).
void run_matmul(benchmark::State& state, Type t, int64_t rows, int64_t cols, int64_t batch,
                size_t footprint, bool interleaved = false) {
  if (!kernels::matmul_supports(t)) {
    state.SkipWithError("type not supported by matmul in this build");
    return;
  }
  const size_t matrix_bytes = tensor::row_bytes(t, cols) * static_cast<size_t>(rows);
  const size_t copies = std::max<size_t>(1, footprint / matrix_bytes);
  Buffer w = make_weights(t, rows, cols, copies);
  if (interleaved) {  // every copy repacked as the model loader would (kernels/interleave.h)
    Buffer packed = aligned_buffer(matrix_bytes * copies);
    for (size_t c = 0; c < copies; ++c)
      kernels::interleave(kernels::Matrix{t, rows, cols, w.get() + c * matrix_bytes},
                          packed.get() + c * matrix_bytes);
    w = std::move(packed);
  }
  const auto x = random_floats(static_cast<size_t>(batch * cols), 2);
  std::vector<float> y(static_cast<size_t>(batch * rows));
  size_t i = 0;
  for (auto _ : state) {
    const kernels::Matrix m{t, rows, cols, w.get() + (i++ % copies) * matrix_bytes, interleaved};
    kernels::matmul(m, x.data(), batch, y.data(), pool());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(matrix_bytes) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * rows * cols * batch / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_matmul(benchmark::State& state, Type t, int64_t rows, int64_t cols, int64_t batch) {
  run_matmul(state, t, rows, cols, batch, kColdFootprint);
}

void BM_matmul_interleaved(benchmark::State& state, Type t, int64_t rows, int64_t cols,
                           int64_t batch) {
  run_matmul(state, t, rows, cols, batch, kColdFootprint, true);
}

void BM_matmul_hot_interleaved(benchmark::State& state, Type t, int64_t rows, int64_t cols,
                               int64_t batch) {
  run_matmul(state, t, rows, cols, batch, 0, true);
}

void BM_matmul_hot(benchmark::State& state, Type t, int64_t rows, int64_t cols, int64_t batch) {
  run_matmul(state, t, rows, cols, batch, 0);
}

void BM_read_bandwidth(benchmark::State& state) {
  Buffer buf = aligned_buffer(kProbeBytes);
  std::memset(buf.get(), 1, kProbeBytes);  // touch every page before timing
  for (auto _ : state) benchmark::DoNotOptimize(stream_read(buf.get(), kProbeBytes, pool()));
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(kProbeBytes) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// The cost of one parallel region: decode runs hundreds per token.
void BM_pool_run_empty(benchmark::State& state) {
  for (auto _ : state) pool().run([](int, int) {});
}

// Collects GB/s of every run and prints matmul / probe ratios at the end. On a shared machine
// other processes steal time from some runs, so with --benchmark_repetitions the summary keeps
// each benchmark's best run (the least disturbed one) for both sides of the ratio.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type == Run::RT_Aggregate) continue;
      auto it = r.counters.find("GB/s");
      if (it == r.counters.end()) continue;
      double& best = gbps_[r.run_name.function_name];
      best = std::max(best, it->second.value);
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    double probe = 0.0;
    for (const auto& [name, v] : gbps_)
      if (name.find("read_bandwidth") != std::string::npos) probe = std::max(probe, v);
    if (probe <= 0.0) return;
    std::printf("\nbest runs; streaming-read probe: %.2f GB/s (%d threads)\n", probe, threads());
    for (const auto& [name, v] : gbps_)  // (matmul_hot/ reads from cache: no ratio to DRAM)
      if (name.find("matmul") != std::string::npos && name.find("matmul_hot") == std::string::npos)
        std::printf("%-40s %7.2f GB/s  %5.1f%% of probe\n", name.c_str(), v, 100.0 * v / probe);
  }

 private:
  std::map<std::string, double> gbps_;
};

void register_all() {
  benchmark::RegisterBenchmark("read_bandwidth/1GiB", BM_read_bandwidth)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("pool_run_empty", BM_pool_run_empty)->UseRealTime();
  const Type types[] = {Type::Q4_0, Type::Q4_K, Type::Q6_K, Type::Q8_0, Type::F16};
  const int64_t shapes[][2] = {{2048, 2048}, {8192, 2048}, {2048, 8192}};
  for (int64_t batch : {1, 64})
    for (Type t : types)
      for (const auto& s : shapes) {
        const std::string name = "matmul/" + std::string(tensor::type_name(t)) + "/" +
                                 std::to_string(s[0]) + "x" + std::to_string(s[1]) + "/b" +
                                 std::to_string(batch);
        benchmark::RegisterBenchmark(name.c_str(), BM_matmul, t, s[0], s[1], batch)
            ->Unit(benchmark::kMicrosecond)->UseRealTime();
      }
  // The other 32-element block types at the large decode shape, and the matrices of
  // Qwen2.5-0.5B (896 columns; its "Q4_K_M" files store most of them as Q5_0): attention
  // 896x896, K/V 128x896 (small enough that pool wake-up and chunking show), FFN 4864x896 and
  // 896x4864.
  auto add = [](Type t, int64_t rows, int64_t cols, int64_t batch) {
    const std::string name = "matmul/" + std::string(tensor::type_name(t)) + "/" +
                             std::to_string(rows) + "x" + std::to_string(cols) + "/b" +
                             std::to_string(batch);
    benchmark::RegisterBenchmark(name.c_str(), BM_matmul, t, rows, cols, batch)
        ->Unit(benchmark::kMicrosecond)->UseRealTime();
  };
  for (Type t : {Type::Q5_0, Type::Q4_1, Type::Q5_1, Type::IQ4_NL}) add(t, 8192, 2048, 1);
  const int64_t qwen_shapes[][2] = {{896, 896}, {128, 896}, {4864, 896}, {896, 4864}};
  for (Type t : {Type::Q5_0, Type::Q4_0, Type::Q8_0})
    for (const auto& s : qwen_shapes) add(t, s[0], s[1], 1);
  for (const auto& s : qwen_shapes) add(Type::Q5_0, s[0], s[1], 64);
  // Batched decode (2..8 sequences) and a short prompt on Qwen2.5-0.5B Q4_K_M's matrices (Q5_0
  // attention/FFN, Q6_K ffn_down, Q8_0 tied output) and Llama-3.2-1B's Q4_K FFN: weights are read
  // once per step, so the time should stay near the 1-row time up to 8 rows.
  struct BatchShape { Type t; int64_t rows, cols; };
  const BatchShape batch_shapes[] = {{Type::Q5_0, 4864, 896}, {Type::Q6_K, 896, 4864},
                                     {Type::Q8_0, 151936, 896}, {Type::Q4_K, 8192, 2048}};
  for (const BatchShape& s : batch_shapes)
    for (int64_t batch : {1, 2, 4, 5, 6, 8, 32}) {
      const std::string name = "matmul_batch/" + std::string(tensor::type_name(s.t)) + "/" +
                               std::to_string(s.rows) + "x" + std::to_string(s.cols) + "/b" +
                               std::to_string(batch);
      benchmark::RegisterBenchmark(name.c_str(), BM_matmul, s.t, s.rows, s.cols, batch)
          ->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
  // The Q8_0, Q5_0, Q4_0 and IQ4_NL shapes above repacked row-interleaved (what the loader does on CPUs whose
  // kernels gain from it): a batched decode step's vocabulary projection and FFN, the decode
  // shape, and from cache (4096 x 896 is 2.4-3.9 MB, in L3) the kernels' compute ceilings side by
  // side with the plain rows'.
  for (const BatchShape& s : batch_shapes) {
    if (!kernels::interleave_pays(s.t, kernels::best_isa())) continue;
    for (int64_t batch : {1, 2, 4, 5, 6, 8, 32}) {
      const std::string name = "matmul_batch_interleaved/" + std::string(tensor::type_name(s.t)) + "/" +
                               std::to_string(s.rows) + "x" + std::to_string(s.cols) + "/b" +
                               std::to_string(batch);
      benchmark::RegisterBenchmark(name.c_str(), BM_matmul_interleaved, s.t, s.rows, s.cols, batch)
          ->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
  }
  for (Type t : {Type::Q8_0, Type::Q5_0, Type::Q4_0, Type::IQ4_NL}) {
    if (!kernels::interleave_pays(t, kernels::best_isa())) continue;
    const std::string type = std::string(tensor::type_name(t));
    for (int64_t batch : {1, 64})
      benchmark::RegisterBenchmark(("matmul_interleaved/" + type + "/8192x2048/b" + std::to_string(batch)).c_str(),
                                   BM_matmul_interleaved, t, 8192, 2048, batch)
          ->Unit(benchmark::kMicrosecond)->UseRealTime();
    for (int64_t batch : {1, 4, 8, 64}) {
      const std::string suffix = "/" + type + "/4096x896/b" + std::to_string(batch);
      benchmark::RegisterBenchmark(("matmul_hot" + suffix).c_str(), BM_matmul_hot, t, 4096, 896, batch)
          ->Unit(benchmark::kMicrosecond)->UseRealTime();
      benchmark::RegisterBenchmark(("matmul_hot_interleaved" + suffix).c_str(),
                                   BM_matmul_hot_interleaved, t, 4096, 896, batch)
          ->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
  }
  // Hot cache: one copy re-read, so the kernel's compute ceiling shows rather than DRAM's. 256 rows
  // of 2048 columns (~0.3-0.6 MB) fit in the two cores' L2 halves; 2048 rows sit in L3.
  for (Type t : {Type::Q8_0, Type::Q4_0, Type::Q5_0, Type::Q4_K, Type::Q6_K})
    for (int64_t rows : {256, 2048}) {
      const std::string name = "matmul_hot/" + std::string(tensor::type_name(t)) + "/" +
                               std::to_string(rows) + "x2048/b1";
      benchmark::RegisterBenchmark(name.c_str(), BM_matmul_hot, t, rows, 2048, 1)
          ->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
  benchmark::RegisterBenchmark("read_bandwidth/1GiB/again", BM_read_bandwidth)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  tandem::bench::register_all();
  benchmark::Initialize(&argc, argv);
  tandem::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
