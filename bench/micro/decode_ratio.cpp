// Decode matmul bandwidth as a share of the machine's read bandwidth, measured in pairs.
//
// On a shared host the memory bandwidth a VM gets moves by 2x within seconds, so a probe timed
// once before a series of matmuls (bench_matmul's summary) often meets other conditions than
// they do: the same kernel then reads 60% or 127% "of the probe". Here every round times a
// streaming-read probe slice and then one single-row matmul of each type back to back (each
// from DRAM: weights and probe slices cycle through buffers far larger than the last-level
// cache), and the ratio is taken per round. Reported: the median ratio per type and its
// quartiles, and the median of the rounds where the probe itself ran at its best quartile
// (the host quiet).
//
// Usage: bench_decode_ratio [rounds [probe slice MB]] (default 300, 256); 2 threads
// (TANDEM_BENCH_THREADS overrides).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bandwidth_probe.h"
#include "bench_weights.h"
#include "kernels/interleave.h"
#include "kernels/matmul.h"
#include "util/cpu_features.h"
#include "util/thread_pool.h"

namespace tandem::bench {
namespace {

using tensor::Type;
using Clock = std::chrono::steady_clock;

constexpr int64_t kRows = 8192, kCols = 2048;     // the decode shape
constexpr size_t kFootprint = size_t{512} << 20;  // per type: well past any L3 we run on
constexpr size_t kProbeBytes = size_t{1} << 30;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

struct Series {
  Type type;
  size_t matrix_bytes, copies;
  Buffer weights;
  std::vector<double> ratio, gbps;
  bool interleaved = false;
};

int run(int rounds, size_t probe_slice) {
  const char* env = std::getenv("TANDEM_BENCH_THREADS");
  const int threads = env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 2;
  ThreadPool pool(threads);
  Buffer probe = aligned_buffer(kProbeBytes);
  std::memset(probe.get(), 1, kProbeBytes);
  std::vector<Series> series;
  for (Type t : {Type::Q4_0, Type::Q4_K, Type::Q8_0, Type::Q5_0, Type::Q6_K}) {
    const size_t bytes = tensor::row_bytes(t, kCols) * kRows;
    const size_t copies = std::max<size_t>(2, kFootprint / bytes);
    series.push_back({t, bytes, copies, make_weights(t, kRows, kCols, copies), {}, {}});
  }
  // Q8_0 and Q5_0 as the loader stores them where interleaving pays (kernels/interleave.h).
  for (size_t i = 0, n = series.size(); i < n; ++i) {
    const Series& plain = series[i];
    if (!kernels::can_interleave(kernels::Matrix{plain.type, kRows, kCols, plain.weights.get()}) ||
        !kernels::interleave_pays(plain.type, kernels::best_isa()))
      continue;
    Series s{plain.type, plain.matrix_bytes, plain.copies, aligned_buffer(plain.matrix_bytes * plain.copies),
             {}, {}, true};
    for (size_t c = 0; c < s.copies; ++c)
      kernels::interleave(kernels::Matrix{plain.type, kRows, kCols, plain.weights.get() + c * s.matrix_bytes},
                          s.weights.get() + c * s.matrix_bytes);
    series.push_back(std::move(s));
  }
  const auto x = random_floats(kCols, 2);
  std::vector<float> y(kRows);
  std::vector<double> probe_gbps;
  uint64_t sink = 0;
  for (int r = -3; r < rounds; ++r) {  // 3 warm-up rounds
    const size_t slice = static_cast<size_t>(r + 3) % (kProbeBytes / probe_slice);
    const auto t0 = Clock::now();
    sink += stream_read(probe.get() + slice * probe_slice, probe_slice, pool);
    const double probe_rate = static_cast<double>(probe_slice) / seconds_since(t0) / 1e9;
    if (r >= 0) probe_gbps.push_back(probe_rate);
    for (Series& s : series) {
      const kernels::Matrix m{s.type, kRows, kCols,
                              s.weights.get() + static_cast<size_t>(r + 3) % s.copies * s.matrix_bytes,
                              s.interleaved};
      const auto t1 = Clock::now();
      kernels::matmul(m, x.data(), 1, y.data(), pool);
      const double rate = static_cast<double>(s.matrix_bytes) / seconds_since(t1) / 1e9;
      if (r < 0) continue;
      s.gbps.push_back(rate);
      s.ratio.push_back(rate / probe_rate);
    }
  }
  const double quiet = quantile(probe_gbps, 0.75);  // the host's better moments
  std::printf("CPU: %s; %d threads; %d rounds; probe slice %zu MB: median %.1f GB/s, "
              "quartiles %.1f-%.1f\n",
              CpuFeatures::get().model_name.c_str(), threads, rounds, probe_slice >> 20,
              quantile(probe_gbps, 0.5), quantile(probe_gbps, 0.25), quantile(probe_gbps, 0.75));
  std::printf("%-7s %8s %14s %9s %22s\n", "type", "GB/s", "ratio median", "IQR", "ratio when probe >= Q3");
  for (const Series& s : series) {
    std::vector<double> quiet_ratio;
    for (size_t i = 0; i < s.ratio.size(); ++i)
      if (probe_gbps[i] >= quiet) quiet_ratio.push_back(s.ratio[i]);
    const std::string name = std::string(tensor::type_name(s.type)) + (s.interleaved ? "/il" : "");
    std::printf("%-7s %8.1f %13.1f%% %4.0f-%3.0f%% %21.1f%%\n", name.c_str(),
                quantile(s.gbps, 0.5), 100 * quantile(s.ratio, 0.5), 100 * quantile(s.ratio, 0.25),
                100 * quantile(s.ratio, 0.75), 100 * quantile(quiet_ratio, 0.5));
  }
  return sink == 42 ? 1 : 0;  // (keeps the probe's sums alive)
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(10, std::atoi(argv[1])) : 300;
  const int slice_mb = argc > 2 ? std::clamp(std::atoi(argv[2]), 16, 512) : 256;
  return tandem::bench::run(rounds, static_cast<size_t>(slice_mb) << 20);
}
