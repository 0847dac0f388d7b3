#include "bandwidth_probe.h"

#include <emmintrin.h>

#include <atomic>

namespace tandem::bench {

namespace {
// Eight independent 16-byte accumulators per 128 bytes: enough loads in flight that the loop is
// limited by memory, not by the add latency.
uint64_t sum_range(const uint8_t* p, size_t bytes) {
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
}  // namespace

uint64_t stream_read(const uint8_t* data, size_t bytes, ThreadPool& pool) {
  std::atomic<uint64_t> total{0};
  pool.run([&](int t, int nt) {
    const size_t chunk = bytes / 128 / static_cast<size_t>(nt) * 128;
    const size_t begin = chunk * static_cast<size_t>(t);
    const size_t end = t == nt - 1 ? bytes / 128 * 128 : begin + chunk;
    total.fetch_add(sum_range(data + begin, end - begin), std::memory_order_relaxed);
  });
  return total.load();
}

}  // namespace tandem::bench
