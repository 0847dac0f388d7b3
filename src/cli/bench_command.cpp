// `tandem bench`: prompt processing (pp) and generation (tg) speed of a model, for a list of
// thread counts, with repetitions (mean ± stddev), as a table or JSON. `--shape S --type T`
// synthesizes a random-weight model of a public shape (cached, or saved with --write) so any
// machine can be compared without downloads, and another engine can run the very same file.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/synthetic_model.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "kernels/isa.h"
#include "runtime/session.h"
#include "util/cpu_features.h"
#include "util/error.h"
#include "util/timer.h"

namespace tandem::cli {

namespace {

// Tokens run once before measuring, so weights and scratch buffers are touched.
constexpr int64_t kWarmupTokens = 8;

struct BenchArgs {
  std::string model;
  std::string shape;
  std::string type = "q4_k_m";
  std::string write;
  std::string vocab;  // tokenizer of the synthesized model from this GGUF file
  bool write_only = false;
  std::vector<int> threads;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int reps = 3;
  bool json = false;
  ModelOptions model_options;
};

struct Stat {
  double mean = 0, stddev = 0;
};

Stat stats_of(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return s;
}

std::string cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/tandem";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/tandem";
  return "/tmp/tandem-cache";
}

// Path of the synthesized model: --write FILE, or a cache entry reused across runs.
std::string synthesize(const BenchArgs& a) {
  const auto& shape = bench::find_shape(a.shape);
  const auto& mix = bench::find_mix(a.type);
  std::string path = a.write;
  if (path.empty()) {
    std::filesystem::create_directories(cache_dir() + "/synthetic");
    path = cache_dir() + "/synthetic/" + shape.name + "-" + mix.name +
           (a.vocab.empty() ? "" : "-" + std::filesystem::path(a.vocab).stem().string()) + ".gguf";
    if (std::filesystem::exists(path)) return path;
  }
  std::fprintf(stderr, "bench: writing %s %s with random weights to %s ...\n", shape.name.c_str(),
               mix.name.c_str(), path.c_str());
  ThreadPool pool(0);
  Timer t;
  const int64_t params = bench::write_synthetic_model(shape, mix, path, pool, 1234, a.vocab);
  std::fprintf(stderr, "bench: %.2fB parameters written in %.1f s\n", static_cast<double>(params) / 1e9,
               t.seconds());
  return path;
}

// Deterministic token ids spread over the vocabulary (what they are does not change the cost).
std::vector<int32_t> bench_tokens(int64_t n, int32_t n_vocab) {
  std::vector<int32_t> ids(n);
  uint64_t s = 88172645463325252ull;
  for (auto& id : ids) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    id = static_cast<int32_t>(s % static_cast<uint64_t>(n_vocab));
  }
  return ids;
}

void run(BenchArgs& a) {
  if (a.shape.empty() == a.model.empty())
    throw InvalidArgument("give a MODEL file or --shape (not both)");
  if (!a.write.empty() && a.shape.empty()) throw InvalidArgument("--write needs --shape");
  if (!a.vocab.empty() && a.shape.empty()) throw InvalidArgument("--vocab needs --shape");
  const std::string path = a.shape.empty() ? a.model : synthesize(a);
  if (a.write_only) return;
  if (a.threads.empty())
    a.threads.push_back(a.model_options.threads > 0 ? a.model_options.threads : ThreadPool::physical_cores());

  auto session_options = a.model_options.session_options();
  session_options.n_ctx = std::max<int64_t>({a.n_prompt, a.n_gen, kWarmupTokens}) + 1;
  session_options.n_batch = std::max<int64_t>(session_options.n_batch, a.n_prompt);
  auto model = load_model(path, session_options.n_ctx);
  const auto& hp = model->model->hparams();
  const int32_t n_vocab = model->tokenizer->n_vocab();
  const auto prompt = bench_tokens(a.n_prompt, n_vocab);
  const auto gen = bench_tokens(a.n_gen, n_vocab);

  nlohmann::json results = nlohmann::json::array();
  size_t kv_bytes = 0;
  const auto& cpu = CpuFeatures::get();
  if (!a.json) {
    std::printf("model: %s (%s, %s, %s)\ncpu: %s, kernels: %s\n\n", path.c_str(), hp.arch.c_str(),
                human_bytes(static_cast<double>(model->file->file_size())).c_str(),
                a.shape.empty() ? "file" : a.type.c_str(), cpu.model_name.c_str(),
                std::string(kernels::isa_name(kernels::best_isa())).c_str());
    std::printf("| threads | test  |          t/s |\n|--------:|:------|-------------:|\n");
  }
  for (int threads : a.threads) {
    ThreadPool pool(threads);
    runtime::Session session(*model, pool, session_options);
    kv_bytes = session.kv().bytes();
    // Warm-up: touches weights and scratch buffers once.
    const auto warm = bench_tokens(kWarmupTokens, n_vocab);
    session.append(warm);
    session.truncate(0);
    auto measure = [&](const char* name, int64_t n, auto&& body) {
      if (n <= 0) return;
      std::vector<double> rates;
      for (int r = 0; r < a.reps; ++r) {
        session.truncate(0);
        Timer t;
        body();
        rates.push_back(static_cast<double>(n) / t.seconds());
      }
      const Stat s = stats_of(rates);
      const std::string test = std::string(name) + std::to_string(n);
      if (a.json) {
        results.push_back({{"threads", threads}, {"test", test}, {"tokens_per_second", s.mean},
                           {"stddev", s.stddev}, {"samples", rates}});
      } else {
        std::printf("| %7d | %-5s | %6.1f ± %4.1f |\n", threads, test.c_str(), s.mean, s.stddev);
        std::fflush(stdout);
      }
    };
    measure("pp", a.n_prompt, [&] { session.append(prompt); });
    measure("tg", a.n_gen, [&] {
      for (int64_t i = 0; i < a.n_gen; ++i) session.append(std::span<const int32_t>(&gen[i], 1));
    });
  }
  const size_t rss = peak_rss_bytes();
  if (a.json) {
    nlohmann::json out = {
        {"model", path},
        {"shape", a.shape},
        {"type", a.shape.empty() ? "" : a.type},
        {"architecture", hp.arch},
        {"file_bytes", model->file->file_size()},
        {"kv_cache_bytes", kv_bytes},
        {"peak_rss_bytes", rss},
        {"cpu", cpu.model_name},
        {"kernels", std::string(kernels::isa_name(kernels::best_isa()))},
        {"n_prompt", a.n_prompt},
        {"n_gen", a.n_gen},
        {"repetitions", a.reps},
        {"results", results}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("\npeak memory %s (model file %s)\n", human_bytes(static_cast<double>(rss)).c_str(),
                human_bytes(static_cast<double>(model->file->file_size())).c_str());
  }
}

}  // namespace

void register_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Measure prompt (pp) and generation (tg) tokens/s");
  cmd->add_option("model", a->model, "Model file (.gguf)")->check(CLI::ExistingFile);
  std::string shapes, types;
  for (const auto& s : bench::known_shapes()) shapes += (shapes.empty() ? "" : ", ") + s.name;
  for (const auto& m : bench::known_mixes()) types += (types.empty() ? "" : ", ") + m.name;
  cmd->add_option("--shape", a->shape, "Synthesize a random-weight model of this shape: " + shapes);
  cmd->add_option("--type", a->type, "Quantization of the synthesized model: " + types);
  cmd->add_option("--write", a->write, "Save the synthesized model to this file");
  cmd->add_option("--vocab", a->vocab,
                  "Give the synthesized model the tokenizer of this GGUF file (e.g. a vocab-only "
                  "file), padded to the shape's vocabulary size")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--write-only", a->write_only, "Only write the model (with --write), do not benchmark");
  cmd->add_option("--threads-list", a->threads, "Thread counts to measure (default: physical cores)")
      ->delimiter(',');
  cmd->add_option("-p,--n-prompt", a->n_prompt, "Prompt tokens (pp test; 0 skips)");
  cmd->add_option("-n,--n-gen", a->n_gen, "Generated tokens (tg test; 0 skips)");
  cmd->add_option("-r,--repetitions", a->reps, "Repetitions per test")->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", a->json, "JSON output");
  a->model_options.add_to(*cmd);
  cmd->callback([a] { run(*a); });
}

}  // namespace tandem::cli
