#pragma once
// Pieces without vector registers shared by the panel GEMM kernels of every x86 instruction set
// (panel_*_avx512.cpp, panel_legacy_avx2.cpp): scratch memory and weight prefetching.
#include <xmmintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/scratch_buffer.h"

namespace tandem::kernels::detail::panel {
namespace {

// Per-thread scratch: the unpacked panel of the current tile and the activation-side sums of the
// current call.
using Scratch = ScratchBuffer;

// Software prefetch of the next tile's weights, spread over the steps that unpack the current
// tile. Unpacking reads a tile's rows in lockstep: 8 or 16 short streams at a row's stride,
// which the hardware prefetchers follow poorly from DRAM (AVX-512, 16 rows: measured 3x slower
// than one row at a time for 2 activation rows). The next tile's rows are one contiguous range:
// fetch it into L2 ahead.
class TilePrefetcher {
 public:
  TilePrefetcher(const uint8_t* begin, const uint8_t* end, int64_t steps)
      : p_(begin),
        end_(end),
        per_step_(static_cast<int64_t>((end > begin ? end - begin : 0) / 64) /
                      std::max<int64_t>(steps, 1) +
                  1) {}
  void step() {
    const int64_t n = std::min<int64_t>(per_step_, (end_ - p_ + 63) / 64);
    for (int64_t i = 0; i < n; ++i)
      _mm_prefetch(reinterpret_cast<const char*>(p_ + 64 * i), _MM_HINT_T1);
    if (n > 0) p_ += 64 * n;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  int64_t per_step_;
};

// The prefetcher of the tile of `tile_rows` rows starting at row r0 (of n_rows): it fetches the
// next tile's rows over `steps` steps. (Two or four tiles ahead measured slower: the fetched
// lines leave L2 first.)
inline TilePrefetcher prefetch_next_tile(const uint8_t* w, size_t w_stride, int64_t r0,
                                         int64_t n_rows, int64_t tile_rows, int64_t steps) {
  auto row = [&](int64_t r) { return w + std::min(r, n_rows) * static_cast<int64_t>(w_stride); };
  return TilePrefetcher(row(r0 + tile_rows), row(r0 + 2 * tile_rows), steps);
}

inline size_t round64(size_t n) { return (n + 63) / 64 * 64; }

// Runs pass.template operator()<N>(j0) over n_act activation rows in passes of kMax rows, then
// one pass of the remaining 1 .. kMax - 1 (N is a template argument so each pass count gets its
// own register tile).
template <int N, class Pass>
inline void remainder_pass(int64_t rest, int64_t j0, Pass& pass) {
  if constexpr (N > 0) {
    if (rest == N)
      pass.template operator()<N>(j0);
    else
      remainder_pass<N - 1>(rest, j0, pass);
  }
}

template <int kMax, class Pass>
inline void for_act_passes(int64_t n_act, Pass&& pass) {
  int64_t j0 = 0;
  for (; j0 + kMax <= n_act; j0 += kMax) pass.template operator()<kMax>(j0);
  remainder_pass<kMax - 1>(n_act - j0, j0, pass);
}

}  // namespace
}  // namespace tandem::kernels::detail::panel
