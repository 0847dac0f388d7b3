#include "cli/model_options.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "tensor/types.h"
#include "util/error.h"

namespace tandem::cli {

void ModelOptions::add_to(CLI::App& cmd) {
  cmd.add_option("-t,--threads", threads, "Compute threads (default: one per physical core)")
      ->check(CLI::Range(0, 1024));
  cmd.add_option("-c,--ctx-size", ctx_size, "Context size in tokens (default: min(model, 4096))")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  cmd.add_option("-b,--batch-size", batch_size, "Prompt tokens per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  cmd.add_option("--kv-type", kv_type, "KV cache element type: f16, f32 or q8_0")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}));
}

runtime::SessionOptions ModelOptions::session_options() const {
  runtime::SessionOptions o;
  o.n_ctx = ctx_size;
  o.n_batch = batch_size;
  auto t = tensor::parse_type(kv_type);
  if (!t) throw InvalidArgument("unknown KV cache type '" + kv_type + "'");
  o.kv_type = *t;
  return o;
}

namespace {
void draw_progress(size_t done, size_t total, void*) {
  const int width = 40;
  const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int filled = static_cast<int>(frac * width);
  std::fprintf(stderr, "\rloading [%.*s%*s] %3d%%", filled, "========================================",
               width - filled, "", static_cast<int>(frac * 100));
  if (done >= total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}
}  // namespace

std::unique_ptr<runtime::LoadedModel> load_model(const std::string& path, int64_t n_ctx) {
  auto m = runtime::LoadedModel::open(path, n_ctx);
  constexpr size_t kShowProgressAbove = 64u << 20;
  const bool show = isatty(STDERR_FILENO) && m->file->file_size() > kShowProgressAbove;
  runtime::prefault(*m->file, show ? draw_progress : nullptr, nullptr);
  return m;
}

std::string default_model_path() {
#if defined(TANDEM_DEFAULT_MODEL) && defined(TANDEM_INSTALLED_DEFAULT_MODEL)
  for (const char* path : {TANDEM_DEFAULT_MODEL, TANDEM_INSTALLED_DEFAULT_MODEL})
    if (access(path, R_OK) == 0) return path;
  throw IoError(std::string("no model given and the demo model is missing (looked at ") +
                TANDEM_DEFAULT_MODEL + " and " + TANDEM_INSTALLED_DEFAULT_MODEL + ")");
#else
  throw InvalidArgument("no model given (this build has no embedded demo model)");
#endif
}

size_t peak_rss_bytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<size_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

}  // namespace tandem::cli
