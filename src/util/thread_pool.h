#pragma once
// Persistent thread pool for the compute kernels. The calling thread takes part as thread 0, so a
// pool of N threads starts N-1 workers once. Workers spin briefly on a generation counter before
// sleeping on a futex, because a decode step issues hundreds of short parallel regions
// and a condition-variable wake-up per region would cost more than the work.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace tandem {

class ThreadPool {
 public:
  // n_threads <= 0 picks the number of physical cores.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(thread_index, n_threads) once on every thread and returns when all have finished.
  // Not re-entrant: fn must not call run() on the same pool.
  template <typename F>
  void run(F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run_raw([](void* ctx, int i, int n) { (*static_cast<Fn*>(ctx))(i, n); }, &fn);
  }

  // Splits [0, n) into contiguous ranges, one per thread, each a multiple of `grain` (except the
  // last), and calls fn(begin, end) for every non-empty range.
  template <typename F>
  void parallel_for(int64_t n, int64_t grain, F&& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    const int64_t chunks = (n + grain - 1) / grain;
    if (n_threads_ == 1 || chunks == 1) {
      fn(int64_t{0}, n);
      return;
    }
    run([&](int t, int nt) {
      const int64_t c0 = chunks * t / nt, c1 = chunks * (t + 1) / nt;
      const int64_t b = c0 * grain, e = std::min(n, c1 * grain);
      if (b < e) fn(b, e);
    });
  }

  // Number of physical cores (falls back to hardware_concurrency).
  static int physical_cores();

 private:
  using RawFn = void (*)(void*, int, int);
  void run_raw(RawFn fn, void* ctx);
  void worker_loop(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  RawFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint32_t> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace tandem
