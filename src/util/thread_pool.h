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

  // Splits [0, n) into ranges that are multiples of `grain` (except the last) and calls
  // fn(begin, end) for each, in parallel. Threads take ranges from a shared counter, a few per
  // thread, so a thread the OS preempts (a busy laptop) delays the region by one small range
  // instead of a whole static share.
  template <typename F>
  void parallel_for(int64_t n, int64_t grain, F&& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    const int64_t units = (n + grain - 1) / grain;
    if (n_threads_ == 1 || units == 1) {
      fn(int64_t{0}, n);
      return;
    }
    const int64_t per_chunk = std::max<int64_t>(1, units / (int64_t{n_threads_} * kChunksPerThread));
    const int64_t chunk = per_chunk * grain;
    const int64_t n_chunks = (n + chunk - 1) / chunk;
    std::atomic<int64_t> next{0};
    run([&](int, int) {
      for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < n_chunks;) {
        const int64_t b = c * chunk;
        fn(b, std::min(n, b + chunk));
      }
    });
  }

  // Ranges per thread that parallel_for aims at: enough to even out a slow thread, few enough
  // that the shared counter costs nothing next to the work.
  static constexpr int kChunksPerThread = 4;

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
