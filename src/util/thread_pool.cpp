#include "util/thread_pool.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TANDEM_PAUSE() _mm_pause()
#else
#define TANDEM_PAUSE() ((void)0)
#endif

namespace tandem {

namespace {
// How many times a waiting thread polls before it sleeps: about 50-100 microseconds.
constexpr int kSpinIterations = 20000;
// Every this many polls a waiting thread yields its core. When the machine is oversubscribed
// (other processes, or both our threads placed on one core) a pure spinner burns its whole time
// slice while the thread it waits for cannot run: measured 4x slower parallel regions on a busy
// 2-core machine. With nothing else runnable, sched_yield returns at once.
constexpr int kYieldEvery = 32;
inline void spin_pause(int spins) {
  if (spins % kYieldEvery == 0)
    sched_yield();
  else
    TANDEM_PAUSE();
}

// Direct futex calls: GCC 12's std::atomic::wait/notify can lose wake-ups in this pattern.
void futex_wait(std::atomic<uint32_t>& word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
}
void futex_wake_all(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr,
          nullptr, 0);
}
}  // namespace

int ThreadPool::physical_cores() {
  // Count distinct (physical id, core id) pairs in /proc/cpuinfo; SMT siblings share one.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  std::string line;
  int phys = 0;
  while (std::getline(in, line)) {
    auto value = [&] { return std::stoi(line.substr(line.find(':') + 1)); };
    if (line.rfind("physical id", 0) == 0) phys = value();
    if (line.rfind("core id", 0) == 0) cores.insert({phys, value()});
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : physical_cores()) {
  workers_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  futex_wake_all(generation_);
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_raw(RawFn fn, void* ctx) {
  if (n_threads_ == 1) {
    fn(ctx, 0, 1);
    return;
  }
  fn_ = fn;
  ctx_ = ctx;
  pending_.store(static_cast<uint32_t>(n_threads_ - 1), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  futex_wake_all(generation_);
  fn(ctx, 0, n_threads_);
  // Wait for the workers; spin first, they usually finish at about the same time.
  int spins = 0;
  while (pending_.load(std::memory_order_acquire) != 0) {
    if (++spins < kSpinIterations) {
      spin_pause(spins);
    } else {
      uint32_t p = pending_.load(std::memory_order_acquire);
      if (p != 0) futex_wait(pending_, p);
    }
  }
}

void ThreadPool::worker_loop(int index) {
  // Start from the generation the pool was built with, not a fresh load: run() may already have
  // advanced it before this thread got scheduled.
  uint32_t seen = 0;
  for (;;) {
    int spins = 0;
    uint32_t g;
    while ((g = generation_.load(std::memory_order_acquire)) == seen) {
      if (++spins < kSpinIterations) {
        spin_pause(spins);
      } else {
        futex_wait(generation_, seen);
      }
    }
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    fn_(ctx_, index, n_threads_);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) futex_wake_all(pending_);
  }
}

}  // namespace tandem
