#pragma once
// Server metrics in Prometheus text format (GET /metrics). Thread-safe; recording is cheap
// enough for the /health fast path (a few atomic adds or one short lock).
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/backend.h"

namespace tandem::server {

// A Prometheus histogram with fixed bucket bounds (seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  void render(const std::string& name, const std::string& help, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> counts_;  // per bucket (non-cumulative), last = +Inf
  std::atomic<std::uint64_t> total_count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  Metrics();

  // `route` must be a fixed route name ("/v1/chat/completions", "/v1/models/{id}", "other"),
  // never the raw path, so label cardinality stays bounded.
  void record_request(const std::string& route, int status);
  void record_tokens(std::int64_t prompt, std::int64_t completion);
  void observe_time_to_first_token(double seconds) { ttft_.observe(seconds); }
  void observe_time_per_token(double seconds) { per_token_.observe(seconds); }
  void connection_opened() { connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { connections_.fetch_sub(1, std::memory_order_relaxed); }
  void generation_started() { generations_.fetch_add(1, std::memory_order_relaxed); }
  void generation_ended() { generations_.fetch_sub(1, std::memory_order_relaxed); }
  void connection_refused() { refused_.fetch_add(1, std::memory_order_relaxed); }

  std::string render(const BackendStats& stats) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::atomic<std::int64_t> prompt_tokens_{0};
  std::atomic<std::int64_t> completion_tokens_{0};
  std::atomic<std::int64_t> connections_{0};
  std::atomic<std::int64_t> generations_{0};
  std::atomic<std::uint64_t> refused_{0};
  Histogram ttft_;
  Histogram per_token_;
};

}  // namespace tandem::server
