#include "bandwidth_probe.h"

#include <immintrin.h>

#include <atomic>

#include "util/cpu_features.h"

namespace tandem::bench {

namespace {
// Eight independent accumulators per iteration: enough loads in flight that the loop is limited
// by memory, not by the add latency. The widest loads the CPU has (SSE2 reads measured ~30% below
// AVX2 on 2 threads, which would flatter every ratio against this probe).
uint64_t sum_range_sse2(const uint8_t* p, size_t bytes) {
  __m128i acc[8];
  for (auto& a : acc) a = _mm_setzero_si128();
  for (size_t i = 0; i < bytes; i += 128)
    for (int k = 0; k < 8; ++k)
      acc[k] = _mm_add_epi64(acc[k], _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 16 * k)));
  __m128i s = acc[0];
  for (int k = 1; k < 8; ++k) s = _mm_add_epi64(s, acc[k]);
  alignas(16) uint64_t lanes[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), s);
  return lanes[0] + lanes[1];
}

__attribute__((target("avx2"))) uint64_t sum_range_avx2(const uint8_t* p, size_t bytes) {
  __m256i acc[8];
  for (auto& a : acc) a = _mm256_setzero_si256();
  for (size_t i = 0; i < bytes; i += 256)
    for (int k = 0; k < 8; ++k)
      acc[k] = _mm256_add_epi64(acc[k], _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32 * k)));
  __m256i s = acc[0];
  for (int k = 1; k < 8; ++k) s = _mm256_add_epi64(s, acc[k]);
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

uint64_t sum_range(const uint8_t* p, size_t bytes) {
  static const bool avx2 = CpuFeatures::get().avx2;
  return avx2 ? sum_range_avx2(p, bytes) : sum_range_sse2(p, bytes);
}
}  // namespace

uint64_t stream_read(const uint8_t* data, size_t bytes, ThreadPool& pool) {
  std::atomic<uint64_t> total{0};
  pool.run([&](int t, int nt) {
    const size_t chunk = bytes / 256 / static_cast<size_t>(nt) * 256;
    const size_t begin = chunk * static_cast<size_t>(t);
    const size_t end = t == nt - 1 ? bytes / 256 * 256 : begin + chunk;
    total.fetch_add(sum_range(data + begin, end - begin), std::memory_order_relaxed);
  });
  return total.load();
}

}  // namespace tandem::bench
