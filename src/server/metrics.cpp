#include "server/metrics.h"

#include <fmt/format.h>

namespace tandem::server {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  total_count_.fetch_add(1, std::memory_order_relaxed);
  const double micros = value > 0 ? value * 1e6 : 0.0;
  sum_micros_.fetch_add(static_cast<std::uint64_t>(micros), std::memory_order_relaxed);
}

void Histogram::render(const std::string& name, const std::string& help, std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  cumulative += counts_.back().load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  out += fmt::format("{}_sum {}\n", name, static_cast<double>(sum_micros_.load()) / 1e6);
  out += fmt::format("{}_count {}\n", name, total_count_.load());
}

Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      per_token_({0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 1}) {}

void Metrics::record_request(const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::record_tokens(std::int64_t prompt, std::int64_t completion) {
  prompt_tokens_.fetch_add(prompt, std::memory_order_relaxed);
  completion_tokens_.fetch_add(completion, std::memory_order_relaxed);
}

namespace {
void gauge(std::string& out, const char* name, const char* help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
}
void counter(std::string& out, const char* name, const char* help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
}
}  // namespace

std::string Metrics::render(const BackendStats& stats) const {
  std::string out;
  out += "# HELP tandem_http_requests_total HTTP requests by route and status.\n"
         "# TYPE tandem_http_requests_total counter\n";
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, count] : requests_) {
      out += fmt::format("tandem_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first,
                         key.second, count);
    }
  }
  counter(out, "tandem_prompt_tokens_total", "Prompt tokens processed.",
          static_cast<double>(prompt_tokens_.load()));
  counter(out, "tandem_generation_tokens_total", "Tokens generated.",
          static_cast<double>(completion_tokens_.load()));
  counter(out, "tandem_http_connections_refused_total",
          "Connections refused because the connection limit was reached.",
          static_cast<double>(refused_.load()));
  gauge(out, "tandem_http_connections", "Open HTTP connections.",
        static_cast<double>(connections_.load()));
  gauge(out, "tandem_generations_in_flight", "Generations the server is waiting on.",
        static_cast<double>(generations_.load()));
  ttft_.render("tandem_time_to_first_token_seconds",
               "Time from request arrival to the first generated token.", out);
  per_token_.render("tandem_time_per_output_token_seconds",
                    "Time between generated tokens after the first.", out);
  // Engine numbers are shown only when the backend reports them.
  if (stats.queue_depth >= 0) {
    gauge(out, "tandem_queue_depth", "Requests waiting for a batch slot.",
          static_cast<double>(stats.queue_depth));
  }
  if (stats.running >= 0) {
    gauge(out, "tandem_requests_running", "Requests in the running batch.",
          static_cast<double>(stats.running));
  }
  if (stats.batch_size >= 0) {
    gauge(out, "tandem_batch_size_tokens", "Tokens in the last engine step.",
          static_cast<double>(stats.batch_size));
  }
  if (stats.kv_cache_used >= 0 && stats.kv_cache_total > 0) {
    gauge(out, "tandem_kv_cache_used_cells", "KV cache cells in use.",
          static_cast<double>(stats.kv_cache_used));
    gauge(out, "tandem_kv_cache_usage_ratio", "Fraction of the KV cache in use.",
          static_cast<double>(stats.kv_cache_used) / static_cast<double>(stats.kv_cache_total));
  }
  return out;
}

}  // namespace tandem::server
