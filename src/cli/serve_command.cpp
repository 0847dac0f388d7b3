// `tandem serve [MODEL.gguf] --host 127.0.0.1 --port 8080 --parallel N -t THREADS -c CTX`: the
// OpenAI-compatible HTTP server over the local engine (continuous batching, server::LocalBackend).
// With `--models-dir DIR [--memory-budget SIZE] [--max-models N]` it serves every DIR/NAME.gguf
// (plus MODEL, the default) through server::CatalogBackend: each loaded on first use, the least
// recently used idle ones unloaded to stay within the budget.
// SIGTERM / SIGINT drain: stop accepting, let running requests finish up to --drain-timeout.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "server/catalog_backend.h"
#include "server/local_backend.h"
#include "server/server.h"
#include "util/error.h"
#include "util/memory_info.h"

namespace tandem::cli {

namespace {

struct ServeArgs {
  std::string model;
  std::string alias;
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 4;
  int64_t prefill_chunk = 256;
  size_t max_queue = 64;
  int io_threads = 2;
  int drain_seconds = 30;
  int prefix_cache = 8;
  std::string models_dir;     // set: serve a catalog (CatalogBackend)
  std::string memory_budget;  // "8G"; empty: 75% of MemAvailable at start
  int max_models = 0;
  ModelOptions model_options;
};

server::LocalBackendOptions engine_options(const ServeArgs& a, const runtime::SessionOptions& session) {
  server::LocalBackendOptions lo;
  lo.model_id = a.alias;
  lo.scheduler.n_slots = a.parallel;
  lo.scheduler.n_ctx = session.n_ctx;
  lo.scheduler.prefill_chunk = a.prefill_chunk;
  lo.scheduler.max_queue = a.max_queue;
  lo.scheduler.threads = a.model_options.threads;
  lo.scheduler.kv_type = session.kv_type;
  lo.scheduler.prefix_cache_entries = a.prefix_cache;
  return lo;
}

server::ServerOptions server_options(const ServeArgs& a) {
  server::ServerOptions so;
  so.host = a.host;
  so.port = static_cast<std::uint16_t>(a.port);
  so.io_threads = a.io_threads;
  so.drain_timeout = std::chrono::seconds(a.drain_seconds);
  return so;
}

// Several models from a directory, loaded on demand under a memory budget.
void serve_catalog(ServeArgs& a) {
  const runtime::SessionOptions session = a.model_options.session_options();
  server::CatalogBackendOptions co;
  co.models_dir = a.models_dir;
  co.pinned_model = a.model;  // may be empty: the directory alone
  co.pinned_id = a.alias;
  co.local = engine_options(a, session);
  co.local.model_id.clear();
  co.max_waiting = a.max_queue;
  co.max_models = a.max_models;
  if (!a.memory_budget.empty()) {
    co.memory_budget_bytes = server::parse_byte_size(a.memory_budget);
  } else {
    co.memory_budget_bytes = available_memory_bytes() / 4 * 3;  // 0 (no budget) if unknown
  }
  co.log = [](const std::string& message) {
    std::fprintf(stderr, "tandem serve: %s\n", message.c_str());
    std::fflush(stderr);
  };
  server::CatalogBackend backend(std::move(co));

  server::Server http(server_options(a), backend);
  const auto models = backend.models();
  std::string names;
  for (const auto& m : models) names += (names.empty() ? "" : ", ") + m.id;
  std::fprintf(stderr,
               "tandem serve: %zu model(s) in catalog %s (%s); memory budget %s, max models %s; "
               "listening on http://%s:%u\n",
               models.size(), a.models_dir.c_str(), names.empty() ? "none yet" : names.c_str(),
               backend.memory_budget() ? human_bytes(static_cast<double>(backend.memory_budget())).c_str()
                                       : "unlimited",
               a.max_models > 0 ? std::to_string(a.max_models).c_str() : "unlimited", a.host.c_str(),
               static_cast<unsigned>(http.port()));
  std::fflush(stderr);
  http.run(/*handle_signals=*/true);  // returns after SIGTERM/SIGINT and the server's drain
  backend.drain(std::chrono::seconds(1));
  std::fprintf(stderr, "tandem serve: stopped\n");
}

void serve(ServeArgs& a) {
  if (!a.models_dir.empty()) return serve_catalog(a);
  if (a.model.empty()) a.model = default_model_path();
  const runtime::SessionOptions session = a.model_options.session_options();
  auto model = load_model(a.model, session.n_ctx);

  server::LocalBackend backend(std::move(model), engine_options(a, session));
  server::Server http(server_options(a), backend);
  const auto info = backend.models().front();
  std::fprintf(stderr,
               "tandem serve: model '%s' (context %lld per sequence, %d parallel, KV %lld cells) "
               "listening on http://%s:%u\n",
               info.id.c_str(), static_cast<long long>(backend.scheduler().n_ctx()), a.parallel,
               static_cast<long long>(backend.stats().kv_cache_total), a.host.c_str(),
               static_cast<unsigned>(http.port()));
  std::fflush(stderr);
  http.run(/*handle_signals=*/true);  // returns after SIGTERM/SIGINT and the server's drain
  backend.drain(std::chrono::seconds(1));
  std::fprintf(stderr, "tandem serve: stopped\n");
}

}  // namespace

void register_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server (continuous batching)");
  cmd->add_option("model", a->model, "Model file (.gguf); default: the installed demo model")
      ->check(CLI::ExistingFile);
  cmd->add_option("--alias", a->alias, "Model name clients use (default: file name without .gguf)");
  cmd->add_option("--host", a->host, "Address to listen on");
  cmd->add_option("--port", a->port, "Port (0: any free port)")->check(CLI::Range(0, 65535));
  cmd->add_option("-P,--parallel", a->parallel, "Sequences decoded together (KV: ctx-size each)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--prefill-chunk", a->prefill_chunk, "Prompt tokens per engine step")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  cmd->add_option("--max-queue", a->max_queue, "Requests waiting for a slot before 429");
  cmd->add_option("--prefix-cache", a->prefix_cache,
                  "Finished sequences kept for prompt-prefix reuse (0: off)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--io-threads", a->io_threads, "HTTP I/O threads")->check(CLI::Range(1, 64));
  cmd->add_option("--drain-timeout", a->drain_seconds, "Seconds to finish requests on SIGTERM")
      ->check(CLI::Range(0, 3600));
  auto* dir = cmd->add_option("--models-dir", a->models_dir,
                              "Serve every NAME.gguf in this directory (model id NAME), loaded on first "
                              "use; MODEL, if given, is the default");
  cmd->add_option("--memory-budget", a->memory_budget,
                  "With --models-dir: memory for loaded models (file + KV cache), e.g. 8G; least "
                  "recently used idle models are unloaded to stay within it (default: 75% of "
                  "available memory at start)")
      ->needs(dir);
  cmd->add_option("--max-models", a->max_models, "With --models-dir: models loaded at once (0: no limit)")
      ->check(CLI::Range(0, 1024))
      ->needs(dir);
  a->model_options.add_to(*cmd);
  cmd->callback([a] { serve(*a); });
}

}  // namespace tandem::cli
