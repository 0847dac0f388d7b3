// The matmul driver: converts activations once into the kernel's format, splits weight rows
// across the thread pool and, for several activation rows, blocks them so each thread's weight
// tiles are reused from cache while activations stream.
#include "kernels/matmul.h"

#include <algorithm>
#include <string>

#include "kernels/gemm_table.h"
#include "kernels/scratch_buffer.h"
#include "util/error.h"

namespace tandem::kernels {

namespace {

using detail::kernel_table;
using detail::WeightKernel;

// Rows per parallel chunk: a multiple of every kernel's row tile, so tiles never straddle threads.
constexpr int64_t kRowGrain = 16;
// Below this many weight bytes x activation rows, the pool's wake-up costs more than it saves.
constexpr size_t kSerialWorkBytes = 48 * 1024;
// Quantized activation rows of one pass through a thread's weight rows: sized to stay in L2.
constexpr size_t kActivationBlockBytes = 512 * 1024;
// Activation conversion runs in parallel above this many elements.
constexpr int64_t kParallelConvertElements = 64 * 1024;
// TANDEM_PANEL=0 turns the panel kernels off (side-by-side benchmarks, bisecting a difference).
bool panel_enabled() {
  static const bool on = detail::env_switch_on("TANDEM_PANEL");
  return on;
}

detail::GemmFn gemm_for(const WeightKernel& k, const Matrix& w, int64_t n_act) {
  if (w.interleaved) return k.interleaved;
  return k.panel != nullptr && n_act >= k.panel_min_acts && panel_enabled() ? k.panel : k.gemm;
}

const WeightKernel& kernel_for(const Matrix& w, Isa isa) {
  const auto id = static_cast<uint32_t>(w.type);
  if (id >= static_cast<uint32_t>(detail::kMaxTypeId) || !tensor::type_info(id))
    throw InvalidArgument("matmul: unknown weight type id " + std::to_string(id));
  if (!kernel_table(isa)[w.type].gemm)
    throw InvalidArgument("matmul: weight type " + std::string(tensor::type_name(w.type)) +
                          " is not supported");
  if (w.interleaved && !kernel_table(isa)[w.type].interleaved)
    throw InvalidArgument("matmul: weight type " + std::string(tensor::type_name(w.type)) +
                          " has no interleaved layout");
  return kernel_table(isa)[w.type];
}

}  // namespace

bool matmul_supports(tensor::Type t) {
  const auto id = static_cast<uint32_t>(t);
  return id < static_cast<uint32_t>(detail::kMaxTypeId) &&
         kernel_table(Isa::Scalar)[t].gemm != nullptr;
}

void matmul(const Matrix& w, const float* x, int64_t batch, float* y, ThreadPool& pool) {
  matmul(w, x, batch, y, pool, best_isa());
}

namespace {

// Checks w against kernel k; false when there is nothing to do.
bool check_shape(const Matrix& w, const WeightKernel& k, int64_t batch) {
  const int64_t wbs = tensor::info(w.type).block_size;
  const int64_t act_bs = tensor::info(k.act_type).block_size;
  if (w.cols <= 0 || w.cols % wbs != 0 || w.cols % act_bs != 0)
    throw InvalidArgument("matmul: " + std::to_string(w.cols) + " columns is not a multiple of " +
                          std::string(tensor::type_name(w.type)) + "'s block size");
  if (w.rows < 0 || batch < 0) throw InvalidArgument("matmul: negative rows or batch");
  if (w.interleaved && w.rows % kRowGrain != 0)
    throw InvalidArgument("matmul: an interleaved matrix needs a multiple of 16 rows");
  return w.rows != 0 && batch != 0;
}

// The activations in the kernel's format (x itself for F32 kernels), once per call.
const void* convert_activations(const WeightKernel& k, Isa isa, const float* x, int64_t cols,
                                int64_t batch, ThreadPool& pool) {
  if (k.act_type == tensor::Type::F32) return x;
  thread_local detail::ScratchBuffer scratch;  // per calling thread
  const size_t a_stride = tensor::row_bytes(k.act_type, cols);
  uint8_t* dst = scratch.get(a_stride * static_cast<size_t>(batch));
  auto convert = [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      detail::convert_activation_row(isa, k.act_type, x + b * cols, dst + b * a_stride, cols);
  };
  if (batch > 1 && batch * cols >= kParallelConvertElements)
    pool.parallel_for(batch, 1, convert);
  else
    convert(0, batch);
  return dst;
}

// Weight rows [r0, r1) of w against all activation rows, in L2-sized activation blocks.
void run_rows(const WeightKernel& k, const Matrix& w, const uint8_t* a, size_t a_stride,
              int64_t batch, float* y, int64_t r0, int64_t r1) {
  const size_t w_stride = tensor::row_bytes(w.type, w.cols);
  const auto* wb = static_cast<const uint8_t*>(w.data);
  const int64_t act_block = std::max<int64_t>(1, static_cast<int64_t>(kActivationBlockBytes / a_stride));
  for (int64_t c0 = 0; c0 < batch; c0 += act_block) {
    const int64_t nc = std::min(act_block, batch - c0);
    gemm_for(k, w, nc)(w.cols, wb + r0 * w_stride, w_stride, r1 - r0, a + c0 * a_stride, a_stride, nc,
                    y + c0 * w.rows + r0, static_cast<size_t>(w.rows));
  }
}

// matmul_group runs its targets in one region up to this many activation rows; beyond, each
// call is long enough that a wake-up per matrix costs nothing.
constexpr int64_t kGroupMaxBatch = 16;

}  // namespace

void matmul(const Matrix& w, const float* x, int64_t batch, float* y, ThreadPool& pool, Isa isa) {
  const WeightKernel& k = kernel_for(w, isa);
  if (!check_shape(w, k, batch)) return;
  const size_t a_stride = tensor::row_bytes(k.act_type, w.cols);
  const auto* ab = static_cast<const uint8_t*>(convert_activations(k, isa, x, w.cols, batch, pool));

  // Weight rows across threads; within a thread, activations in L2-sized blocks.
  const size_t w_stride = tensor::row_bytes(w.type, w.cols);
  const auto* wb = static_cast<const uint8_t*>(w.data);
  const size_t work = w_stride * static_cast<size_t>(w.rows) * static_cast<size_t>(batch);
  if (work < kSerialWorkBytes || pool.size() == 1) {
    run_rows(k, w, ab, a_stride, batch, y, 0, w.rows);
  } else if (w.rows >= kRowGrain * pool.size() || batch == 1) {
    // parallel_for hands out contiguous row chunks, a few per thread, from a shared counter: a
    // thread another process preempts mid-call delays the call by one chunk, not a whole share.
    pool.parallel_for(w.rows, kRowGrain,
                      [&](int64_t r0, int64_t r1) { run_rows(k, w, ab, a_stride, batch, y, r0, r1); });
  } else {
    // Too few rows to give every thread a share (a small matrix against a long prompt): split
    // the activation rows instead, each thread running all weight rows on its share.
    pool.parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
      gemm_for(k, w, b1 - b0)(w.cols, wb, w_stride, w.rows, ab + b0 * a_stride, a_stride, b1 - b0,
                           y + b0 * w.rows, static_cast<size_t>(w.rows));
    });
  }
}

void matmul_group(std::span<const MatmulTarget> targets, const float* x, int64_t batch,
                  ThreadPool& pool) {
  const Isa isa = best_isa();
  bool together = batch <= kGroupMaxBatch && targets.size() > 1;
  int64_t total_rows = 0;
  bool any_interleaved = false, all_grain_rows = true;
  for (const MatmulTarget& t : targets) {
    const WeightKernel& k = kernel_for(t.w, isa);
    together = together && t.w.cols == targets[0].w.cols &&
               k.act_type == kernel_for(targets[0].w, isa).act_type;
    any_interleaved = any_interleaved || t.w.interleaved;
    all_grain_rows = all_grain_rows && t.w.rows % kRowGrain == 0;
    check_shape(t.w, k, batch);
    total_rows += t.w.rows;
  }
  // One region splits the targets' rows as one range: an interleaved target must then start
  // on a group boundary, i.e. every target before it hold whole groups.
  together = together && (!any_interleaved || all_grain_rows);
  if (!together) {
    for (const MatmulTarget& t : targets) matmul(t.w, x, batch, t.y, pool, isa);
    return;
  }
  if (total_rows == 0 || batch == 0) return;
  const WeightKernel& k0 = kernel_for(targets[0].w, isa);
  const int64_t cols = targets[0].w.cols;
  const size_t a_stride = tensor::row_bytes(k0.act_type, cols);
  const auto* ab = static_cast<const uint8_t*>(convert_activations(k0, isa, x, cols, batch, pool));
  // Global row r is row r - offset of the target whose [offset, offset + rows) holds it.
  auto run_range = [&](int64_t g0, int64_t g1) {
    int64_t offset = 0;
    for (const MatmulTarget& t : targets) {
      const int64_t r0 = std::max(g0 - offset, int64_t{0}), r1 = std::min(g1 - offset, t.w.rows);
      if (r0 < r1) run_rows(kernel_for(t.w, isa), t.w, ab, a_stride, batch, t.y, r0, r1);
      offset += t.w.rows;
    }
  };
  pool.parallel_for(total_rows, kRowGrain, run_range);
}

}  // namespace tandem::kernels
